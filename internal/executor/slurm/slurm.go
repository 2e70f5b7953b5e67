package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/executor"
)

// Config configures a Backend.
type Config struct {
	// SharedDir is a directory on a filesystem shared with the nodes, at
	// the same path there; required.
	SharedDir string
	// Python is the interpreter on the nodes; "" means Spec.Python.
	Python string
	// Partition is the partition of attempts whose Placement names none;
	// "" means the cluster's default.
	Partition string
	// Bin is the directory of the Slurm commands; "" means posml's PATH.
	Bin string
	// PollInterval is how often squeue is asked about each running
	// attempt; 0 means DefaultPollInterval.
	PollInterval time.Duration
	// PendingTimeout ends an attempt whose job has been pending this long
	// for a reason waiting does not fix (PartitionNodeLimit,
	// ReqNodeNotAvail, BadConstraints, ...); 0 means never.
	PendingTimeout time.Duration
}

// DefaultPollInterval is the PollInterval of a Config that sets none.
const DefaultPollInterval = 250 * time.Millisecond

// commandTimeout bounds each call of a Slurm command.
const commandTimeout = 30 * time.Second

// Backend runs attempts as Slurm batch jobs. It is safe for concurrent use.
type Backend struct {
	cfg Config
}

var (
	_ executor.RemoteBackend = (*Backend)(nil)
	_ executor.Attacher      = (*Backend)(nil)
	_ executor.Detacher      = (*handle)(nil)
)

// New returns a Backend after checking that sbatch can be found and that
// cfg.SharedDir is a writable directory.
func New(cfg Config) (*Backend, error) {
	if cfg.SharedDir == "" {
		return nil, &posml.Error{Kind: posml.KindInvalid, Msg: "slurm: no shared directory"}
	}
	dir, err := filepath.Abs(cfg.SharedDir)
	if err != nil {
		return nil, fmt.Errorf("slurm: shared directory: %w", err)
	}
	cfg.SharedDir = dir
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	b := &Backend{cfg: cfg}
	if _, err := exec.LookPath(b.command("sbatch")); err != nil {
		return nil, fmt.Errorf("slurm: sbatch: %w", err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("slurm: shared directory: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("slurm: shared directory %s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".posml-probe-*")
	if err != nil {
		return nil, fmt.Errorf("slurm: shared directory is not writable: %w", err)
	}
	f.Close()
	os.Remove(f.Name())
	return b, nil
}

func (b *Backend) command(name string) string {
	if b.cfg.Bin != "" {
		return filepath.Join(b.cfg.Bin, name)
	}
	return name
}

// run runs a Slurm command and returns its stdout; its error carries the
// command's stderr.
func (b *Backend) run(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, b.command(name), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return stdout.String(), fmt.Errorf("%s: %w", name, err)
		}
		return stdout.String(), &commandError{name: name, msg: msg, err: err}
	}
	return stdout.String(), nil
}

// commandError is a Slurm command that failed with a message.
type commandError struct {
	name, msg string
	err       error
}

func (e *commandError) Error() string {
	lines := strings.Split(e.msg, "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		for _, p := range []string{e.name + ": error: ", e.name + ": fatal: ", e.name + ": "} {
			l = strings.TrimPrefix(l, p)
		}
		lines[i] = l
	}
	return e.name + ": " + strings.Join(lines, "; ")
}

func (e *commandError) Unwrap() error { return e.err }

// invalidJob reports whether err says the job is unknown to slurmctld.
func invalidJob(err error) bool {
	var ce *commandError
	return errors.As(err, &ce) && strings.Contains(ce.msg, "Invalid job id")
}

// Start submits the attempt (see executor.Backend.Start).
func (b *Backend) Start(ctx context.Context, s executor.Spec) (executor.Handle, error) {
	python := b.cfg.Python
	if python == "" {
		python = s.Python
	}
	switch {
	case python == "":
		return nil, invalid("executor: spec has no interpreter")
	case s.Dir == "":
		return nil, invalid("executor: spec has no working directory")
	case s.LogPath == "":
		return nil, invalid("executor: spec has no log path")
	case s.Timeout < 0 || s.KillGrace < 0:
		return nil, invalid("executor: negative timeout or kill grace")
	}
	if _, err := sbatchArgs(s, "x", "", "/", "/"); err != nil { // an invalid Placement
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	log, err := executor.OpenLog(s.LogPath)
	if err != nil {
		return nil, err
	}
	partition := s.Placement.Partition
	if partition == "" {
		partition = b.cfg.Partition
	}
	h := newHandle(b, s, log)
	h.python, h.partition = python, partition
	if err := h.submit(ctx); err != nil {
		h.fail(err)
		return h, nil
	}
	go h.supervise() // owns the attempt until done is closed
	return h, nil
}

// submit prepares the attempt's directory and submits the job.
func (h *handle) submit(ctx context.Context) error {
	s := &h.spec
	h.submitted = time.Now()
	h.workDir = s.Dir
	dir, name, err := makeAttemptDir(h.b.cfg.SharedDir, sanitize(s.AttemptID))
	if err != nil {
		return err
	}
	h.dir, h.out = dir, filepath.Join(dir, "out.log")
	src, err := filepath.Abs(s.Dir)
	if err != nil {
		return fmt.Errorf("working directory %s: %w", s.Dir, err)
	}
	env := s.Env
	if !within(src, h.b.cfg.SharedDir) {
		if _, err := os.Stat(src); err != nil {
			return fmt.Errorf("working directory %s: %w", s.Dir, err)
		}
		h.workDir = filepath.Join(dir, "work")
		if err := copyTree(src, h.workDir); err != nil {
			return fmt.Errorf("slurm: copy %s to the shared directory: %w", s.Dir, err)
		}
		env = rewriteEnv(env, src, h.workDir)
	}
	job := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(job, []byte(script(s.AttemptID, h.workDir, h.python, s.Args, env)), 0o700); err != nil {
		return fmt.Errorf("slurm: write %s: %w", job, err)
	}
	args, err := sbatchArgs(*s, name, h.partition, dir, h.workDir)
	if err != nil {
		return err
	}
	h.submitted = time.Now()
	out, err := h.b.run(ctx, "sbatch", args...)
	if err != nil {
		return err
	}
	id, _, _ := strings.Cut(firstLine(out), ";") // "12" or "12;cluster"
	if _, err := ParseRef(refPrefix + id); err != nil {
		return fmt.Errorf("sbatch: unexpected output %q", out)
	}
	h.job = id
	h.Log.Line(h.header())
	return nil
}

func (h *handle) header() string {
	id := h.spec.AttemptID
	if id == "" {
		id = "-"
	}
	part := h.partition
	if part == "" {
		part = "default partition"
	} else {
		part = "partition " + part
	}
	cmd := []string{quote(h.python)}
	for _, a := range h.spec.Args {
		cmd = append(cmd, quote(a))
	}
	at := h.submitted.UTC().Format(time.RFC3339)
	if h.job == "" {
		return fmt.Sprintf("posml: attempt %s could not be submitted to slurm (%s) at %s in %s: %s",
			id, part, at, h.workDir, strings.Join(cmd, " "))
	}
	return fmt.Sprintf("posml: attempt %s submitted to slurm as job %s (%s) at %s in %s: %s",
		id, h.job, part, at, h.workDir, strings.Join(cmd, " "))
}

// fail ends an attempt that could not be submitted.
func (h *handle) fail(err error) {
	h.Log.Line(h.header())
	now := time.Now()
	res := executor.Result{State: executor.Failed, ExitCode: -1, Started: h.submitted, Ended: now, Err: err}
	if h.submitted.IsZero() {
		res.Started = now
	}
	h.Log.Line(executor.Footer(res))
	if h.dir != "" {
		os.Remove(filepath.Join(h.dir, "job.sh"))
	}
	h.Publish(res)
}

// status asks squeue about job; found is false when slurmctld no longer
// knows it.
func (b *Backend) status(ctx context.Context, job string) (st jobStatus, found bool, err error) {
	out, err := b.run(ctx, "squeue", "-h", "-t", "all", "-j", job, "-o", "%T|%r")
	if err != nil {
		if invalidJob(err) {
			return jobStatus{}, false, nil
		}
		return jobStatus{}, false, err
	}
	st, found = parseSqueue(out)
	return st, found, nil
}

// final is how job ended: sacct's word once it has caught up with the
// end squeue saw (within sacctLag), else scontrol's, else q.
func (b *Backend) final(ctx context.Context, job string, q jobStatus) jobStatus {
	deadline := time.Now().Add(sacctLag)
	for {
		out, err := b.run(ctx, "sacct", "-n", "-P", "-X", "-j", job, "-o", "State,ExitCode,Reason")
		if err != nil {
			break // no sacct, or no accounting storage
		}
		if st, ok := parseSacct(out); ok && terminal[st.State] {
			return st
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, err := b.run(ctx, "scontrol", "show", "job", "-o", job); err == nil {
		if st, ok := parseScontrol(out); ok && terminal[st.State] {
			return st
		}
	}
	q.Exit, q.Known = -1, false
	return q
}

// sacctLag is how long sacct may trail squeue at a job's end.
const sacctLag = 3 * time.Second

// terminate sends SIGTERM to all of a running job's steps, or cancels a
// job that has not started.
func (b *Backend) terminate(ctx context.Context, job string, running bool) {
	if running {
		if _, err := b.run(ctx, "scancel", "--full", "--signal=TERM", job); err == nil {
			return
		}
	}
	b.run(ctx, "scancel", job) // an error: the job is gone already
}

// kill sends SIGKILL to all of the job's steps and cancels it.
func (b *Backend) kill(ctx context.Context, job string) {
	b.run(ctx, "scancel", "--full", "--signal=KILL", job)
	b.run(ctx, "scancel", job)
}

// Alive reports whether the job ref names is still queued or running.
func (b *Backend) Alive(ref string) (bool, error) {
	job, err := ParseRef(ref)
	if err != nil {
		return false, err
	}
	st, found, err := b.status(context.Background(), job)
	if err != nil {
		return false, err
	}
	return found && !terminal[st.State], nil
}

// Stop ends the job ref names, if it is still queued or running: SIGTERM
// to its steps, then SIGKILL after grace. It returns once the job has
// ended, or with ctx's error.
func (b *Backend) Stop(ctx context.Context, ref string, grace time.Duration) error {
	job, err := ParseRef(ref)
	if err != nil {
		return err
	}
	st, found, err := b.status(ctx, job)
	if err != nil {
		return err
	}
	if !found || terminal[st.State] {
		return nil
	}
	b.terminate(ctx, job, st.State != "PENDING")
	deadline := time.Now().Add(grace)
	killed := false
	for {
		st, found, err := b.status(ctx, job)
		if err == nil && (!found || terminal[st.State]) {
			return nil
		}
		if !killed && time.Now().After(deadline) {
			b.kill(ctx, job)
			killed = true
		}
		t := time.NewTimer(b.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
