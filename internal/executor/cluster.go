package executor

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Log is an attempt's log file, for backends outside this package: they
// write what the remote attempt printed into it, between a header and a
// footer line of their own, and followers read it as they read a local
// attempt's log.
type Log struct{ s *logSink }

// OpenLog creates (with its directory) or appends to the log at path.
func OpenLog(path string) (*Log, error) {
	s, err := openLog(path)
	if err != nil {
		return nil, err
	}
	return &Log{s: s}, nil
}

// Write appends p and wakes the followers (see logSink.Write: after an
// error it drops output and reports the error from Close).
func (l *Log) Write(p []byte) (int, error) { return l.s.Write(p) }

// Line writes text as a line of its own ("posml: ...").
func (l *Log) Line(text string) { l.s.line(text) }

// Follow returns a reader of the log from byte offset from (see
// Handle.Follow).
func (l *Log) Follow(ctx context.Context, from int64) io.ReadCloser { return l.s.follow(ctx, from) }

// Close ends the log: followers read to the end and get io.EOF.
func (l *Log) Close() error { return l.s.close() }

// Footer is the last line of a remote attempt's log, as Local writes it
// for a local one ("posml: exit 1 after 3.2s", "posml: timed out after
// 1m0s; ...").
func Footer(r Result) string { return footer(r, 0, false) }

// Router is the runner's backend: it starts each attempt on the backend
// its Spec.Placement names, and sends a Ref back to the backend that made
// it (the text before the first colon, "kubernetes:ns/job",
// "slurm:1234"; a Ref without a registered prefix is Local's).
type Router struct {
	Local *Local
	// Remote maps a backend name ("kubernetes", "slurm") to its backend;
	// the same name prefixes its Refs.
	Remote map[string]RemoteBackend
}

// RemoteBackend is a backend that runs attempts elsewhere than in posml's
// process tree. Its Refs start with its name and a colon; after a restart
// of posml, Alive and Stop take such a Ref.
type RemoteBackend interface {
	Backend
	Alive(ref string) (bool, error)
	Stop(ctx context.Context, ref string, grace time.Duration) error
}

// Start starts s on the backend its Placement names.
func (r *Router) Start(ctx context.Context, s Spec) (Handle, error) {
	switch s.Placement.Backend {
	case "", "local":
		return r.Local.Start(ctx, s)
	}
	b, ok := r.Remote[s.Placement.Backend]
	if !ok {
		return nil, fmt.Errorf("executor: backend %q is not configured on this server", s.Placement.Backend)
	}
	return b.Start(ctx, s)
}

func (r *Router) remote(ref string) (RemoteBackend, bool) {
	name, _, ok := strings.Cut(ref, ":")
	if !ok {
		return nil, false
	}
	b, ok := r.Remote[name]
	return b, ok
}

// Alive reports whether the attempt ref names still runs.
func (r *Router) Alive(ref string) (bool, error) {
	if b, ok := r.remote(ref); ok {
		return b.Alive(ref)
	}
	return r.Local.Alive(ref)
}

// Stop ends the attempt ref names, if it still runs.
func (r *Router) Stop(ctx context.Context, ref string, grace time.Duration) error {
	if b, ok := r.remote(ref); ok {
		return b.Stop(ctx, ref, grace)
	}
	return r.Local.Stop(ctx, ref, grace)
}

// DescribeRef names where the attempt of a Ref runs, for people: "local pid
// 4242", "kubernetes job ml/posml-1a2b-1-x7k2p", "slurm job 17"; "-" for no
// Ref.
func DescribeRef(ref string) string {
	backend, rest, ok := strings.Cut(ref, ":")
	switch {
	case !ok || rest == "":
		return "-"
	case backend == "local":
		pid, _, _ := strings.Cut(rest, ":")
		return "local pid " + pid
	}
	return backend + " job " + rest
}

// Attacher is a RemoteBackend that can take an attempt back after posml
// restarted: its job kept running in the cluster, and the new server
// supervises it again instead of stopping and retrying it.
type Attacher interface {
	// Attach returns a Handle of the attempt ref names, whose job must
	// still exist. The Handle behaves as Start's does (Wait, Cancel,
	// Follow, Ref; PID 0). Attach appends to s.LogPath, starting with a
	// line "posml: reattached to <what> after a restart of posml", then
	// the job's output from about where the previous server stopped
	// copying it (a few lines may repeat or be missing), and the footer.
	// Only s.AttemptID, s.LogPath, s.Timeout (the time the attempt has
	// left; 0: none) and s.KillGrace are used. An error means the attempt
	// cannot be taken back (the job is gone); the caller then fails it.
	Attach(ctx context.Context, ref string, s Spec) (Handle, error)
}

// Detacher is a Handle whose attempt can outlive posml: Detach stops
// supervising it without touching its job, which runs on; Wait then
// returns a Result of state Detached. A later server takes the attempt
// back with Attacher.Attach. Detach after the end does nothing.
type Detacher interface {
	Detach()
}

// Detached is the State of an attempt whose Handle was detached (see
// Detacher): it has not ended; its job runs on without posml.
const Detached State = "detached"

// Attach takes back the attempt ref names on the backend that made it.
func (r *Router) Attach(ctx context.Context, ref string, s Spec) (Handle, error) {
	b, ok := r.remote(ref)
	if !ok {
		return nil, fmt.Errorf("executor: %q is not an attempt of a remote backend configured here", ref)
	}
	a, ok := b.(Attacher)
	if !ok {
		return nil, fmt.Errorf("executor: the %s backend cannot take attempts back", strings.SplitN(ref, ":", 2)[0])
	}
	return a.Attach(ctx, ref, s)
}

// Attachable reports whether the backend that made ref can take its
// attempt back (Attach).
func (r *Router) Attachable(ref string) bool {
	b, ok := r.remote(ref)
	if !ok {
		return false
	}
	_, ok = b.(Attacher)
	return ok
}
