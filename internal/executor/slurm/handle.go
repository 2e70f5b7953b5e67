package slurm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/posml/posml/internal/executor"
)

// tailInterval is how often the job's output file is checked for more.
const tailInterval = 100 * time.Millisecond

// handle is a submitted attempt.
type handle struct {
	b         *Backend
	spec      executor.Spec
	log       *executor.Log
	python    string
	partition string
	dir       string // the attempt's directory in the shared one
	workDir   string // the job's working directory
	job       string // the job id; "" if never submitted
	submitted time.Time

	cancelOnce sync.Once
	cancels    chan string // the first Cancel's reason

	done   chan struct{} // closed when result is final
	result executor.Result
}

// started are the states of a job whose batch script has started.
var started = map[string]bool{
	"RUNNING": true, "COMPLETING": true, "SUSPENDED": true, "STOPPED": true,
	"SIGNALING": true, "STAGE_OUT": true,
}

// supervise polls the job until it ends, enforces the timeout, cancels and
// PendingTimeout, copies the job's output into the log, and publishes the
// result.
func (h *handle) supervise() {
	ctx := context.Background()
	stopTail := make(chan struct{})
	tailed := make(chan struct{})
	t := &tail{path: filepath.Join(h.dir, "out.log"), w: h.log}
	go func() { // supervise waits for it below
		defer close(tailed)
		t.run(stopTail)
	}()

	poll := time.NewTicker(h.b.cfg.PollInterval)
	defer poll.Stop()
	var (
		timeout   <-chan time.Time
		killTimer <-chan time.Time
		cause     executor.State
		causeErr  error
		running   bool
		began     time.Time
		last      jobStatus
	)
	grace := h.spec.KillGrace
	if grace == 0 {
		grace = executor.DefaultKillGrace
	}
	terminate := func(st executor.State, err error) {
		if cause != "" {
			return
		}
		cause, causeErr = st, err
		h.b.terminate(ctx, h.job, running)
		killTimer = time.After(grace)
	}
wait:
	for {
		select {
		case <-poll.C:
			st, found, err := h.b.status(ctx, h.job)
			if err != nil {
				continue // slurmctld busy or away: ask again
			}
			if !found {
				break wait
			}
			last = st
			// A job seen ended that posml did not end while pending ran
			// between two polls.
			if !running && (started[st.State] || terminal[st.State] && cause == "") {
				running, began = true, time.Now()
				if h.spec.Timeout > 0 && cause == "" {
					tm := time.NewTimer(h.spec.Timeout)
					defer tm.Stop()
					timeout = tm.C
				}
			}
			if terminal[st.State] {
				break wait
			}
			if st.State == "PENDING" && h.b.cfg.PendingTimeout > 0 && isHopeless(st.Reason) &&
				time.Since(h.submitted) > h.b.cfg.PendingTimeout {
				terminate(executor.Failed, fmt.Errorf("slurm job %s cannot start: pending for %s (%s)",
					h.job, h.b.cfg.PendingTimeout, st.Reason))
			}
		case <-timeout:
			terminate(executor.TimedOut, fmt.Errorf("%w after %s", executor.ErrTimedOut, h.spec.Timeout))
		case reason := <-h.cancels:
			terminate(executor.Canceled, fmt.Errorf("%w: %s", executor.ErrCanceled, reason))
		case <-killTimer:
			h.b.kill(ctx, h.job)
			killTimer = time.After(grace) // again, should slurmctld have missed it
		}
	}
	ended := time.Now()
	if !running {
		began = ended
	}
	st := h.b.final(ctx, h.job, last)
	close(stopTail)
	<-tailed

	res := result(h.job, st, cause, causeErr)
	res.Started, res.Ended = began, ended
	if !running { // it never started: no exit status
		res.ExitCode, res.Signal = -1, ""
	}
	if t.err != nil {
		res.Err = errors.Join(res.Err, t.err)
	}
	if res.State == executor.Failed && res.Err != nil && st.State != "FAILED" && (res.ExitCode != -1 || res.Signal != "") {
		h.log.Line("posml: " + res.Err.Error()) // the footer shows only the exit
	}
	h.log.Line(executor.Footer(res))
	if err := h.log.Close(); err != nil {
		res.Err = errors.Join(res.Err, err)
	}
	os.Remove(filepath.Join(h.dir, "job.sh")) // it holds the environment's secrets
	h.result = res
	close(h.done)
}

func (h *handle) Wait() executor.Result {
	<-h.done
	return h.result
}

func (h *handle) Cancel(reason string) {
	reason = strings.Join(strings.Fields(reason), " ") // one line in the footer
	if reason == "" {
		reason = "canceled"
	}
	h.cancelOnce.Do(func() { h.cancels <- reason })
}

func (h *handle) Follow(ctx context.Context, from int64) io.ReadCloser {
	return h.log.Follow(ctx, from)
}

// PID is 0: the process runs on a node.
func (h *handle) PID() int { return 0 }

// Ref is "slurm:<job id>", or "" if the job was never submitted.
func (h *handle) Ref() string {
	if h.job == "" {
		return ""
	}
	return refPrefix + h.job
}

// tail copies a growing file into w.
type tail struct {
	path string
	w    io.Writer
	f    *os.File
	off  int64
	buf  []byte
	err  error // the first read error other than a missing file
}

// run copies what the file gets every tailInterval until stop is closed,
// and then what is left.
func (t *tail) run(stop <-chan struct{}) {
	tk := time.NewTicker(tailInterval)
	defer tk.Stop()
	for {
		select {
		case <-tk.C:
			t.copy()
		case <-stop:
			t.copy()
			if t.f != nil {
				t.f.Close()
			}
			return
		}
	}
}

func (t *tail) copy() {
	if t.f == nil {
		f, err := os.Open(t.path)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) && t.err == nil {
				t.err = fmt.Errorf("read job output: %w", err)
			}
			return
		}
		t.f = f
	}
	if t.buf == nil {
		t.buf = make([]byte, 32<<10)
	}
	for {
		n, err := t.f.ReadAt(t.buf, t.off)
		if n > 0 {
			t.w.Write(t.buf[:n])
			t.off += int64(n)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && t.err == nil {
				t.err = fmt.Errorf("read job output: %w", err)
			}
			return
		}
	}
}
