package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/posml/posml"
)

// Spec describes one attempt.
type Spec struct {
	// AttemptID names the attempt in the log header.
	AttemptID string
	// Dir is the working directory: the root of the project's checkout.
	Dir string
	// Python is the interpreter: a path, or a name looked up in posml's
	// PATH (not in Env's).
	Python string
	// Args follow the interpreter: ["src/train.py"].
	Args []string
	// Env is the complete environment of the process, built by the caller;
	// nothing of posml's own environment is inherited.
	Env []string
	// Timeout ends the attempt as timed out; 0 means none.
	Timeout time.Duration
	// KillGrace is how long the process group has between SIGTERM and
	// SIGKILL; 0 means DefaultKillGrace.
	KillGrace time.Duration
	// LogPath is the attempt's log file. It is created (with its
	// directory) or appended to.
	LogPath string
	// Placement says where the attempt runs on a cluster backend
	// (Kubernetes, Slurm); Local ignores it.
	Placement Placement
}

// Placement is the project's executor section as one attempt needs it,
// after the server's defaults and limits were applied. Fields a backend
// has no use for are ignored by it (Image by Slurm, Partition by
// Kubernetes).
type Placement struct {
	// Backend names the backend: "local" (or empty), "kubernetes", "slurm".
	Backend string
	// Image is the container image of a Kubernetes attempt.
	Image string
	// CPU and Memory are Kubernetes quantities ("500m", "2", "4Gi"); a
	// Slurm attempt asks for ceil(CPU) cpus and Memory in MiB.
	CPU, Memory string
	// GPU is the number of GPUs: nvidia.com/gpu on Kubernetes, --gres=gpu:N
	// on Slurm.
	GPU int
	// NodeSelector, Tolerations, Namespace and ServiceAccount are the
	// pod's.
	NodeSelector   map[string]string
	Tolerations    []Toleration
	Namespace      string
	ServiceAccount string
	// Partition is the Slurm partition.
	Partition string
	// ExtraArgs are extra sbatch options (Slurm), or extra arguments after
	// the script (Kubernetes: the container's args).
	ExtraArgs []string
}

// Toleration is a Kubernetes pod toleration.
type Toleration struct {
	Key      string `json:"key,omitempty" yaml:"key"`
	Operator string `json:"operator,omitempty" yaml:"operator"` // Equal (default) or Exists
	Value    string `json:"value,omitempty" yaml:"value"`
	Effect   string `json:"effect,omitempty" yaml:"effect"` // NoSchedule, PreferNoSchedule, NoExecute, or empty for all
	// Seconds is tolerationSeconds of a NoExecute toleration; nil: forever.
	Seconds *int64 `json:"tolerationSeconds,omitempty" yaml:"toleration_seconds"`
}

// DefaultKillGrace is the KillGrace of a Spec that sets none.
const DefaultKillGrace = 10 * time.Second

func (s *Spec) validate() error {
	switch {
	case s.Python == "":
		return &posml.Error{Kind: posml.KindInvalid, Msg: "executor: spec has no interpreter"}
	case s.Dir == "":
		return &posml.Error{Kind: posml.KindInvalid, Msg: "executor: spec has no working directory"}
	case s.LogPath == "":
		return &posml.Error{Kind: posml.KindInvalid, Msg: "executor: spec has no log path"}
	case s.Timeout < 0 || s.KillGrace < 0:
		return &posml.Error{Kind: posml.KindInvalid, Msg: "executor: negative timeout or kill grace"}
	}
	return nil
}

func (s *Spec) killGrace() time.Duration {
	if s.KillGrace > 0 {
		return s.KillGrace
	}
	return DefaultKillGrace
}

// State is how an attempt ended.
type State string

// The end states of an attempt. The runner maps them onto its run states.
const (
	Succeeded State = "succeeded" // exit status 0
	Failed    State = "failed"    // non-zero exit, killed by a signal posml did not send, or never started
	TimedOut  State = "timed_out" // Spec.Timeout passed
	Canceled  State = "canceled"  // Handle.Cancel
)

// Result is the outcome of an attempt.
type Result struct {
	State State
	// ExitCode is the process's exit status; -1 when a signal ended it or
	// it never started.
	ExitCode int
	// Signal names the signal that ended the process ("SIGKILL"), if any.
	Signal string
	// Started and Ended bound the main process's life.
	Started, Ended time.Time
	// Err explains an attempt that did not end by itself with a status:
	// it could not start (ErrPythonNotFound, a missing directory), was
	// canceled (ErrCanceled with the reason), timed out (ErrTimedOut), or
	// its log could not be written. It is nil for a plain exit status.
	Err error
}

// Duration is how long the main process ran.
func (r Result) Duration() time.Duration { return r.Ended.Sub(r.Started) }

// Errors in Result.Err, wrapped with details.
var (
	ErrPythonNotFound = errors.New("python interpreter not found")
	ErrCanceled       = errors.New("canceled")
	ErrTimedOut       = errors.New("timed out")
)

// Backend starts attempts.
type Backend interface {
	// Start starts the attempt s and returns at once. ctx bounds the start
	// only: the attempt then runs until it ends, times out, or is
	// canceled through the Handle. Start returns an error only when it
	// cannot record the attempt at all (an invalid Spec, an unwritable
	// log); a process that cannot be started is an attempt that failed,
	// with a Handle whose Wait reports it.
	Start(ctx context.Context, s Spec) (Handle, error)
}

// Handle is a started attempt. Its methods may be called from any
// goroutine, any number of times.
type Handle interface {
	// Wait blocks until the attempt has ended, its process group is gone
	// and its log is complete, and returns the result.
	Wait() Result
	// Cancel ends the attempt as Canceled (SIGTERM, then SIGKILL after the
	// grace period). The first reason is kept; after the end it does
	// nothing.
	Cancel(reason string)
	// Follow reads the log from byte offset from: what is there, then new
	// output as it comes, then io.EOF once the attempt has ended and its
	// footer is written. A Read waiting for output returns ctx's error when
	// ctx ends. The caller closes the reader.
	Follow(ctx context.Context, from int64) io.ReadCloser
	// PID is the main process's id; 0 if it never started.
	PID() int
	// Ref identifies the attempt's process durably, for the runner to store:
	// after a restart of posml, the backend's Alive and Stop take it.
	Ref() string
}

// footer is the last line of an attempt's log.
func footer(r Result, grace time.Duration, killed bool) string {
	d := formatDuration(r.Duration())
	end := fmt.Sprintf("exit %d", r.ExitCode)
	if r.Signal != "" {
		end = "killed by " + r.Signal
	}
	switch r.State {
	case TimedOut, Canceled:
		how := "stopped with SIGTERM"
		if killed {
			how = fmt.Sprintf("stopped with SIGTERM, then SIGKILL after %s", formatDuration(grace))
		}
		what := "timed out"
		if r.State == Canceled {
			what = r.Err.Error()
		}
		return fmt.Sprintf("posml: %s after %s; %s (%s)", what, d, how, end)
	}
	if r.Err != nil && r.ExitCode == -1 && r.Signal == "" {
		return fmt.Sprintf("posml: failed: %v", r.Err)
	}
	return fmt.Sprintf("posml: %s after %s", end, d)
}

// formatDuration shows d to a tenth of a second ("3.2s", "1m0.5s"), or in
// milliseconds below one second.
func formatDuration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
