package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Local runs attempts as child processes of posml. The zero value is ready
// to use.
type Local struct{}

var _ Backend = (*Local)(nil)

// pumpBound is how long the log pump may go on after the process group is
// gone: the time to drain the pipe. Only a process that escaped the group
// (setsid) and kept the pipe open makes it matter.
const pumpBound = 2 * time.Second

// Start starts the attempt (see Backend.Start).
func (l *Local) Start(ctx context.Context, s Spec) (Handle, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sink, err := openLog(s.LogPath)
	if err != nil {
		return nil, err
	}
	h := &localHandle{
		spec:    s,
		sink:    sink,
		cancels: make(chan string, 1),
		done:    make(chan struct{}),
	}

	pr, pw, err := os.Pipe()
	if err != nil {
		sink.close()
		return nil, fmt.Errorf("executor: pipe: %w", err)
	}
	cmd := exec.Command(s.Python, s.Args...)
	cmd.Dir = s.Dir
	cmd.Env = append(make([]string, 0, len(s.Env)), s.Env...) // never nil: nil would inherit posml's
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	started := time.Now()
	err = cmd.Start()
	pw.Close() // the child has its copy
	if err != nil {
		pr.Close()
		sink.line(h.header(0, started))
		res := Result{State: Failed, ExitCode: -1, Started: started, Ended: time.Now(), Err: startError(s, err)}
		sink.line(footer(res, 0, false))
		if lerr := sink.close(); lerr != nil {
			res.Err = errors.Join(res.Err, lerr)
		}
		h.result = res
		close(h.done)
		return h, nil
	}
	h.pid = cmd.Process.Pid
	h.proc, _ = LookupProcess(h.pid) // zero if /proc is unreadable: Ref is then pid only
	sink.line(h.header(h.pid, started))

	pumped := make(chan struct{})
	go func() { // the log pump; supervise waits for it
		defer close(pumped)
		io.Copy(sink, pr)
		pr.Close()
	}()
	go h.supervise(cmd, started, pr, pumped) // owns the attempt until done is closed
	return h, nil
}

// startError explains why the process could not start.
func startError(s Spec, err error) error {
	if errors.Is(err, exec.ErrNotFound) || (errors.Is(err, fs.ErrNotExist) && strings.Contains(s.Python, "/")) {
		if _, serr := os.Stat(s.Dir); serr != nil {
			return fmt.Errorf("working directory %s: %w", s.Dir, serr)
		}
		return fmt.Errorf("%w: %q (give the interpreter with --python, or install python3)", ErrPythonNotFound, s.Python)
	}
	if _, serr := os.Stat(s.Dir); serr != nil {
		return fmt.Errorf("working directory %s: %w", s.Dir, serr)
	}
	return fmt.Errorf("start %s: %w", s.Python, err)
}

type localHandle struct {
	spec Spec
	sink *logSink
	pid  int
	proc Process

	cancelOnce sync.Once
	cancels    chan string // the first Cancel's reason

	done   chan struct{} // closed when result is final
	result Result
}

func (h *localHandle) header(pid int, started time.Time) string {
	args := make([]string, 0, len(h.spec.Args)+1)
	for _, a := range append([]string{h.spec.Python}, h.spec.Args...) {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\") {
			a = strconv.Quote(a)
		}
		args = append(args, a)
	}
	id := h.spec.AttemptID
	if id == "" {
		id = "-"
	}
	p := ""
	if pid != 0 {
		p = fmt.Sprintf(" (pid %d)", pid)
	}
	return fmt.Sprintf("posml: attempt %s started %s in %s: %s%s",
		id, started.UTC().Format(time.RFC3339), h.spec.Dir, strings.Join(args, " "), p)
}

// supervise waits for the main process, enforces the timeout and cancels,
// stops what is left of the group, finishes the log and publishes the
// result.
func (h *localHandle) supervise(cmd *exec.Cmd, started time.Time, pr *os.File, pumped <-chan struct{}) {
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // ends when the main process exits

	var timeout <-chan time.Time
	if h.spec.Timeout > 0 {
		t := time.NewTimer(h.spec.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	grace := h.spec.killGrace()
	var (
		cause     State // TimedOut or Canceled once posml decided to end the attempt
		causeErr  error
		termAt    time.Time // when SIGTERM went to the group
		killTimer <-chan time.Time
		killed    bool
		waitErr   error
	)
	terminate := func(st State, err error) {
		if cause != "" {
			return
		}
		cause, causeErr, termAt = st, err, time.Now()
		signalGroup(h.pid, syscall.SIGTERM)
		killTimer = time.After(grace)
	}
wait:
	for {
		select {
		case waitErr = <-exited:
			break wait
		case <-timeout:
			terminate(TimedOut, fmt.Errorf("%w after %s", ErrTimedOut, formatDuration(h.spec.Timeout)))
		case reason := <-h.cancels:
			terminate(Canceled, fmt.Errorf("%w: %s", ErrCanceled, reason))
		case <-killTimer:
			killed = true
			signalGroup(h.pid, syscall.SIGKILL)
		}
	}
	ended := time.Now()

	// The main process is gone; stop whatever it left in its group: SIGTERM
	// (unless already sent), then SIGKILL when the grace period since the
	// SIGTERM is over.
	if groupAlive(h.pid) {
		if cause == "" {
			termAt = time.Now()
			signalGroup(h.pid, syscall.SIGTERM)
		}
		if killed || !waitGroupGone(h.pid, termAt.Add(grace)) {
			killed = true
			signalGroup(h.pid, syscall.SIGKILL)
			waitGroupGone(h.pid, time.Now().Add(time.Second))
		}
	}
	pr.SetReadDeadline(time.Now().Add(pumpBound))
	<-pumped

	res := Result{Started: started, Ended: ended, ExitCode: -1}
	if st := cmd.ProcessState; st != nil {
		res.ExitCode = st.ExitCode()
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Signal = signalName(ws.Signal())
		}
	} else if waitErr != nil {
		res.Err = waitErr
	}
	switch {
	case cause != "":
		res.State, res.Err = cause, causeErr
	case res.ExitCode == 0:
		res.State = Succeeded
	default:
		res.State = Failed
	}
	h.sink.line(footer(res, grace, killed))
	if err := h.sink.close(); err != nil {
		res.Err = errors.Join(res.Err, err)
	}
	h.result = res
	close(h.done)
}

func (h *localHandle) Wait() Result {
	<-h.done
	return h.result
}

func (h *localHandle) Cancel(reason string) {
	reason = strings.Join(strings.Fields(reason), " ") // one line in the footer
	if reason == "" {
		reason = "canceled"
	}
	h.cancelOnce.Do(func() { h.cancels <- reason })
}

func (h *localHandle) Follow(ctx context.Context, from int64) io.ReadCloser {
	return h.sink.follow(ctx, from)
}

func (h *localHandle) PID() int { return h.pid }

func (h *localHandle) Ref() string {
	if h.proc.PID == 0 {
		if h.pid == 0 {
			return ""
		}
		return Process{PID: h.pid}.String()
	}
	return h.proc.String()
}

// Alive reports whether the process a Handle's Ref names is still running:
// the same pid, started at the same time, since the same boot, and not a
// zombie.
func (l *Local) Alive(ref string) (bool, error) {
	p, err := ParseProcess(ref)
	if err != nil {
		return false, err
	}
	return p.Alive(), nil
}

// Stop ends the process group of the attempt ref names, if it is still
// running: SIGTERM, then SIGKILL after grace. It is for attempts found
// running after a restart of posml, whose Handle is gone.
func (l *Local) Stop(ctx context.Context, ref string, grace time.Duration) error {
	p, err := ParseProcess(ref)
	if err != nil {
		return err
	}
	return p.Stop(ctx, grace)
}
