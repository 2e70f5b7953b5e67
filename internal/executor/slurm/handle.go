package slurm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/posml/posml/internal/executor"
)

// tailInterval is how often the job's output file is checked for more.
const tailInterval = 100 * time.Millisecond

// handle is a submitted or reattached attempt.
type handle struct {
	executor.Control // the log, Wait, Cancel, Detach, Follow

	b         *Backend
	spec      executor.Spec
	python    string
	partition string
	dir       string // the attempt's directory in the shared one
	out       string // the job's output file, <dir>/out.log
	from      int64  // where copying out.log starts
	workDir   string // the job's working directory
	job       string // the job id; "" if never submitted
	submitted time.Time

	// jobStart and jobEnd are when the job started and ended as Slurm
	// says, for a reattached job: zero when unknown or not yet.
	jobStart, jobEnd time.Time
	ran              bool // a reattached job had started
}

var _ executor.Detacher = (*handle)(nil)

func newHandle(b *Backend, s executor.Spec, log *executor.Log) *handle {
	h := &handle{b: b, spec: s}
	h.Init(log)
	return h
}

// started are the states of a job whose batch script has started.
var started = map[string]bool{
	"RUNNING": true, "COMPLETING": true, "SUSPENDED": true, "STOPPED": true,
	"SIGNALING": true, "STAGE_OUT": true,
}

// supervise polls the job until it ends or the handle is detached,
// enforces the timeout, cancels and PendingTimeout, copies the job's
// output into the log, and publishes the result. Start and Attach both
// hand the attempt to it.
func (h *handle) supervise() {
	ctx := context.Background()
	stopTail := make(chan struct{})
	tailed := make(chan struct{})
	t := &tail{path: h.out, w: h.Log, off: h.from}
	go func() { // supervise waits for it below
		defer close(tailed)
		t.run(stopTail)
	}()

	poll := time.NewTicker(h.b.cfg.PollInterval)
	defer poll.Stop()
	var (
		timer     *time.Timer
		timeout   <-chan time.Time
		killTimer <-chan time.Time
		cause     executor.State
		causeErr  error
		running   bool
		began     time.Time
		last      jobStatus
		detached  bool
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
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
	markRunning := func() {
		running, began = true, time.Now()
		if !h.jobStart.IsZero() {
			began = h.jobStart
		}
		if h.spec.Timeout > 0 && cause == "" {
			timer = time.NewTimer(h.spec.Timeout)
			timeout = timer.C
		}
	}
	if h.ran { // Attach saw it started
		markRunning()
	}
	// check polls the job once and reports whether it has ended.
	check := func() bool {
		st, found, err := h.b.status(ctx, h.job)
		if err != nil {
			return false // slurmctld busy or away: ask again
		}
		if !found {
			return true
		}
		last = st
		// A job seen ended that posml did not end while pending ran
		// between two polls.
		if !running && (started[st.State] || terminal[st.State] && cause == "") {
			markRunning()
		}
		if terminal[st.State] {
			return true
		}
		if st.State == "PENDING" && h.b.cfg.PendingTimeout > 0 && isHopeless(st.Reason) &&
			time.Since(h.submitted) > h.b.cfg.PendingTimeout {
			terminate(executor.Failed, fmt.Errorf("slurm job %s cannot start: pending for %s (%s)",
				h.job, h.b.cfg.PendingTimeout, st.Reason))
		}
		return false
	}
	over := check() // at once: a reattached job may have ended already
wait:
	for !over {
		select {
		case <-poll.C:
			over = check()
		case <-timeout:
			terminate(executor.TimedOut, fmt.Errorf("%w after %s", executor.ErrTimedOut, h.spec.Timeout))
		case c := <-h.Requests():
			if !c.Detach {
				terminate(executor.Canceled, fmt.Errorf("%w: %s", executor.ErrCanceled, c.Reason))
			} else if cause == "" { // else posml is ending the job: finish that
				detached = true
				break wait
			}
		case <-killTimer:
			h.b.kill(ctx, h.job)
			killTimer = time.After(grace) // again, should slurmctld have missed it
		}
	}
	ended := time.Now()
	if !h.jobEnd.IsZero() { // set only when the job had ended before Attach
		ended = h.jobEnd
	}
	if !running || began.After(ended) {
		began = ended
	}
	if detached {
		close(stopTail)
		<-tailed
		// Where the next server resumes copying out.log (see Attach).
		_ = os.WriteFile(filepath.Join(h.dir, copiedFile), []byte(strconv.FormatInt(t.off, 10)), 0o600)
		res := executor.Result{State: executor.Detached, ExitCode: -1, Started: began, Ended: ended, Err: t.err}
		h.Log.Line(fmt.Sprintf("posml: detached from slurm job %s: it runs on; the next posml server takes it back", h.job))
		h.Publish(res) // job.sh stays: the attempt has not ended
		return
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
		h.Log.Line("posml: " + res.Err.Error()) // the footer shows only the exit
	}
	h.Log.Line(executor.Footer(res))
	os.Remove(filepath.Join(h.dir, "job.sh")) // it holds the environment's secrets
	h.Publish(res)
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
