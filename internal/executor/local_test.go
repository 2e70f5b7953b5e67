package executor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posml/posml"
)

func TestExitStates(t *testing.T) {
	tests := []struct {
		name       string
		code       string
		wantState  State
		wantCode   int
		wantSignal string
		wantFooter string // regexp
		wantInLog  string
	}{
		{"success", "print('ok')", Succeeded, 0, "", `^posml: exit 0 after \d+ms$`, "ok"},
		{"exit 3", "import sys; sys.exit(3)", Failed, 3, "", `^posml: exit 3 after \d+ms$`, ""},
		{"exception", "raise ValueError('boom')", Failed, 1, "", `^posml: exit 1 after`, "ValueError: boom"},
		{"segfault", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", Failed, -1, "SIGSEGV", `^posml: killed by SIGSEGV after`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(t, tt.code)
			h := start(t, s)
			r := waitFor(t, h, 10*time.Second)
			if r.State != tt.wantState || r.ExitCode != tt.wantCode || r.Signal != tt.wantSignal || r.Err != nil {
				t.Errorf("Result = %+v; want state %s, exit %d, signal %q, no error", r, tt.wantState, tt.wantCode, tt.wantSignal)
			}
			if r.Started.IsZero() || r.Ended.Before(r.Started) {
				t.Errorf("Started %v, Ended %v", r.Started, r.Ended)
			}
			body, foot := logLines(t, s)
			if !regexp.MustCompile(tt.wantFooter).MatchString(foot) {
				t.Errorf("footer %q; want %s", foot, tt.wantFooter)
			}
			if !strings.Contains(strings.Join(body, "\n"), tt.wantInLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantInLog, readLog(t, s))
			}
		})
	}
}

func TestEnvironmentIsExact(t *testing.T) {
	env := []string{"PYTHONUNBUFFERED=1", "POSML_RUN_ID=r-42", "MLFLOW_TRACKING_URI=http://127.0.0.1:5000", "KOREAN=학습 파이프라인", "EMPTY="}
	os.Setenv("POSML_TEST_LEAK", "must-not-be-inherited")
	defer os.Unsetenv("POSML_TEST_LEAK")

	// env(1) shows the environment as the kernel hands it over.
	s := spec(t, "")
	s.Python, s.Args, s.Env = "/usr/bin/env", nil, env
	if r := waitFor(t, start(t, s), 10*time.Second); r.State != Succeeded {
		t.Fatalf("Result = %+v\n%s", r, readLog(t, s))
	}
	body, _ := logLines(t, s)
	if diff := cmp.Diff(env, body); diff != "" {
		t.Errorf("child environment (-want +got):\n%s", diff)
	}

	// Python sees the same (plus LC_CTYPE, which its PEP 538 locale
	// coercion adds under the C locale), the directory, no stdin, the args.
	s = spec(t, `
import json, os, sys
print(json.dumps({"env": dict(os.environ), "cwd": os.getcwd(), "stdin": sys.stdin.read(), "argv": sys.argv[1:]}))
`)
	s.Args = append(s.Args, "--flag", "with space")
	s.Env = env
	if r := waitFor(t, start(t, s), 10*time.Second); r.State != Succeeded {
		t.Fatalf("Result = %+v\n%s", r, readLog(t, s))
	}
	body, _ = logLines(t, s)
	var got struct {
		Env   map[string]string
		Cwd   string
		Stdin string
		Argv  []string
	}
	if err := json.Unmarshal([]byte(body[0]), &got); err != nil {
		t.Fatalf("%v in %q", err, body)
	}
	delete(got.Env, "LC_CTYPE")
	want := map[string]string{"PYTHONUNBUFFERED": "1", "POSML_RUN_ID": "r-42", "MLFLOW_TRACKING_URI": "http://127.0.0.1:5000", "KOREAN": "학습 파이프라인", "EMPTY": ""}
	if diff := cmp.Diff(want, got.Env); diff != "" {
		t.Errorf("python's os.environ (-want +got):\n%s", diff)
	}
	if got.Cwd != s.Dir || got.Stdin != "" || !cmp.Equal(got.Argv, []string{"--flag", "with space"}) {
		t.Errorf("cwd %q stdin %q argv %q; want %q, \"\", [--flag, with space]", got.Cwd, got.Stdin, got.Argv, s.Dir)
	}
}

func TestEmptyEnvIsNotInherited(t *testing.T) {
	s := spec(t, "")
	s.Python, s.Args, s.Env = "/usr/bin/env", nil, nil
	h := start(t, s)
	waitFor(t, h, 10*time.Second)
	if body, _ := logLines(t, s); len(body) != 0 {
		t.Errorf("child with Env nil sees %q; want []", body)
	}
}

func TestLogOrderAndFraming(t *testing.T) {
	s := spec(t, `
import sys
for i in range(5):
    print("out", i)
    print("err", i, file=sys.stderr)
sys.stdout.write("no newline at the end")
sys.exit(1)
`)
	h := start(t, s)
	r := waitFor(t, h, 10*time.Second)
	body, foot := logLines(t, s)
	var want []string
	for i := range 5 {
		want = append(want, fmt.Sprint("out ", i), fmt.Sprint("err ", i))
	}
	want = append(want, "no newline at the end")
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("log body (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(foot, "posml: exit 1 after ") {
		t.Errorf("footer %q", foot)
	}
	header := strings.SplitN(readLog(t, s), "\n", 2)[0]
	wantHeader := fmt.Sprintf("posml: attempt a1 started %s in %s: %s -c %q (pid %d)",
		r.Started.UTC().Format(time.RFC3339), s.Dir, s.Python, s.Args[1], h.PID())
	if header != wantHeader {
		t.Errorf("header\n %q; want\n %q", header, wantHeader)
	}

	// A second attempt appends to the same log.
	s2 := s
	s2.AttemptID = "a2"
	s2.Args = []string{"-c", "print('second')"}
	waitFor(t, start(t, s2), 10*time.Second)
	log := readLog(t, s)
	if n := strings.Count(log, "posml: attempt a"); n != 2 || !strings.Contains(log, "\nposml: attempt a2 started") || !strings.HasSuffix(log, "\n") {
		t.Errorf("appended log:\n%s", log)
	}
}

func TestTimeoutKillsProcessTree(t *testing.T) {
	s := spec(t, `
import subprocess, sys, time
p = subprocess.Popen(["sleep", "300"])
print("grandchild", p.pid, flush=True)
time.sleep(300)
`)
	s.Timeout = 700 * time.Millisecond
	h := start(t, s)
	r := waitFor(t, h, 10*time.Second)
	if r.State != TimedOut || !errors.Is(r.Err, ErrTimedOut) || r.Signal != "SIGTERM" {
		t.Errorf("Result = %+v; want timed_out by SIGTERM", r)
	}
	if d := r.Duration(); d < s.Timeout || d > s.Timeout+time.Second {
		t.Errorf("ran %v; want about %v", d, s.Timeout)
	}
	body, foot := logLines(t, s)
	if len(body) == 0 || !strings.HasPrefix(body[0], "grandchild ") {
		t.Fatalf("log:\n%s", readLog(t, s))
	}
	gpid, _ := strconv.Atoi(strings.TrimPrefix(body[0], "grandchild "))
	if alive(gpid) {
		t.Errorf("grandchild %d survives the timeout", gpid)
	}
	if groupAlive(h.PID()) {
		t.Errorf("process group %d survives", h.PID())
	}
	if !regexp.MustCompile(`^posml: timed out after \d+ms; stopped with SIGTERM \(killed by SIGTERM\)$`).MatchString(foot) {
		t.Errorf("footer %q", foot)
	}
}

func TestCancel(t *testing.T) {
	s := spec(t, "import time\nprint('started', flush=True)\ntime.sleep(300)")
	h := start(t, s)
	f := h.Follow(context.Background(), 0)
	defer f.Close()
	br := bufio.NewReader(f)
	br.ReadString('\n') // header
	if line, err := br.ReadString('\n'); err != nil || line != "started\n" {
		t.Fatalf("first output %q, %v", line, err)
	}
	h.Cancel("canceled by kim via the API")
	h.Cancel("a second reason is ignored")
	r := waitFor(t, h, 5*time.Second)
	if r.State != Canceled || !errors.Is(r.Err, ErrCanceled) || !strings.Contains(r.Err.Error(), "by kim") {
		t.Errorf("Result = %+v; want canceled with the first reason", r)
	}
	_, foot := logLines(t, s)
	if !strings.HasPrefix(foot, "posml: canceled: canceled by kim via the API after ") {
		t.Errorf("footer %q", foot)
	}
	h.Cancel("after the end") // no effect, no panic
	if r2 := h.Wait(); r2 != r {
		t.Errorf("Wait changed after a late Cancel: %+v", r2)
	}
}

func TestCancelGracefulExit(t *testing.T) {
	s := spec(t, `
import signal, sys, time
def stop(*_):
    print("saving checkpoint", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
time.sleep(300)
`)
	h := start(t, s)
	waitForLine(t, h, "ready")
	h.Cancel("user")
	r := waitFor(t, h, 5*time.Second)
	if r.State != Canceled || r.ExitCode != 0 || r.Signal != "" {
		t.Errorf("Result = %+v; want canceled with exit 0", r)
	}
	if !strings.Contains(readLog(t, s), "saving checkpoint") {
		t.Errorf("log lacks the handler's output:\n%s", readLog(t, s))
	}
}

func TestSIGTERMIgnoredGetsSIGKILL(t *testing.T) {
	s := spec(t, `
import signal, subprocess, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
p = subprocess.Popen(["python3", "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"])
print("ready", p.pid, flush=True)
time.sleep(300)
`)
	s.KillGrace = 400 * time.Millisecond
	h := start(t, s)
	line := waitForLine(t, h, "ready")
	gpid, _ := strconv.Atoi(strings.TrimPrefix(line, "ready "))
	t0 := time.Now()
	h.Cancel("stop")
	r := waitFor(t, h, 5*time.Second)
	if d := time.Since(t0); d < s.KillGrace {
		t.Errorf("ended %v after Cancel; want the %v grace first", d, s.KillGrace)
	}
	if r.State != Canceled || r.Signal != "SIGKILL" {
		t.Errorf("Result = %+v; want canceled by SIGKILL", r)
	}
	if alive(gpid) || groupAlive(h.PID()) {
		t.Errorf("a process of the group survives SIGKILL (grandchild alive: %v)", alive(gpid))
	}
	if _, foot := logLines(t, s); !strings.Contains(foot, "SIGTERM, then SIGKILL after 400ms (killed by SIGKILL)") {
		t.Errorf("footer %q", foot)
	}
}

func TestLeftoverProcessesAreStopped(t *testing.T) {
	s := spec(t, `
import subprocess
p = subprocess.Popen(["sleep", "300"])
print(p.pid)
`)
	h := start(t, s)
	r := waitFor(t, h, 5*time.Second)
	if r.State != Succeeded {
		t.Errorf("Result = %+v", r)
	}
	body, _ := logLines(t, s)
	gpid, _ := strconv.Atoi(body[0])
	if gpid == 0 || alive(gpid) {
		t.Errorf("background child %d survives its attempt", gpid)
	}
}

func TestEscapedProcessDoesNotHangTheAttempt(t *testing.T) {
	s := spec(t, `
import subprocess
p = subprocess.Popen(["sleep", "300"], start_new_session=True)  # leaves the group, keeps the log pipe
print(p.pid, flush=True)
`)
	h := start(t, s)
	r := waitFor(t, h, 10*time.Second)
	body, foot := logLines(t, s)
	if len(body) == 0 {
		t.Fatalf("log:\n%s", readLog(t, s))
	}
	gpid, _ := strconv.Atoi(body[0])
	t.Cleanup(func() { syscall.Kill(gpid, syscall.SIGKILL) })
	if r.State != Succeeded || !strings.HasPrefix(foot, "posml: exit 0 after ") {
		t.Errorf("Result = %+v, footer %q", r, foot)
	}
	if d := time.Since(r.Ended); d > pumpBound+time.Second {
		t.Errorf("Wait returned %v after the process ended", d)
	}
}

// waitForLine follows h until a line starting with prefix and returns it.
func waitForLine(t *testing.T, h Handle, prefix string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f := h.Follow(ctx, 0)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			return sc.Text()
		}
	}
	t.Fatalf("no line %q: %v", prefix, sc.Err())
	return ""
}

func TestFollowers(t *testing.T) {
	s := spec(t, `
import sys, time
for i in range(300):
    print("line %03d %s" % (i, "x" * 200))
    if i % 30 == 0:
        time.sleep(0.02)
`)
	h := start(t, s)

	// A fast follower reads as it comes.
	fast := make(chan []byte, 1)
	go func() { // ends at the attempt's EOF
		f := h.Follow(context.Background(), 0)
		defer f.Close()
		b, _ := io.ReadAll(f)
		fast <- b
	}()
	// A slow follower reads a few bytes now and then.
	slow := make(chan []byte, 1)
	go func() { // ends at the attempt's EOF
		f := h.Follow(context.Background(), 0)
		defer f.Close()
		var out []byte
		buf := make([]byte, 64)
		for {
			n, err := f.Read(buf)
			out = append(out, buf[:n]...)
			if err != nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
		slow <- out
	}()
	// A follower that never reads.
	stuck := h.Follow(context.Background(), 0)
	defer stuck.Close()

	r := waitFor(t, h, 10*time.Second)
	if r.State != Succeeded {
		t.Fatalf("Result = %+v", r)
	}
	if d := r.Duration(); d > 3*time.Second {
		t.Errorf("attempt took %v with a slow and a stuck follower", d)
	}
	want := readLog(t, s)
	for name, ch := range map[string]chan []byte{"fast": fast, "slow": slow} {
		select {
		case got := <-ch:
			if string(got) != want {
				t.Errorf("%s follower read %d bytes; want the %d of the log", name, len(got), len(want))
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s follower did not reach EOF", name)
		}
	}

	// After the end: from an offset, straight to EOF.
	f := h.Follow(context.Background(), 100)
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil || string(b) != want[100:] {
		t.Errorf("Follow(100) after the end = %d bytes, %v; want %d", len(b), err, len(want)-100)
	}
}

func TestFollowContext(t *testing.T) {
	s := spec(t, "import time\nprint('x', flush=True)\ntime.sleep(300)")
	h := start(t, s)
	waitForLine(t, h, "x")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	f := h.Follow(ctx, 0)
	defer f.Close()
	b, err := io.ReadAll(f)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(string(b), "\nx\n") {
		t.Errorf("ReadAll = %q, %v; want the output so far and DeadlineExceeded", b, err)
	}
	// Close unblocks a waiting Read.
	f2 := h.Follow(context.Background(), 1<<20)
	errc := make(chan error, 1)
	go func() { _, err := f2.Read(make([]byte, 10)); errc <- err }() // ends at Close below
	time.Sleep(50 * time.Millisecond)
	f2.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("Read after Close = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
}

func TestStartFailures(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Spec)
		wantErr error
		wantMsg string
	}{
		{"missing path", func(s *Spec) { s.Python = "/nonexistent/bin/python3" }, ErrPythonNotFound, `python interpreter not found: "/nonexistent/bin/python3"`},
		{"not in PATH", func(s *Spec) { s.Python = "python3-no-such-version" }, ErrPythonNotFound, "python interpreter not found"},
		{"missing dir", func(s *Spec) { s.Dir = filepath.Join(s.Dir, "gone") }, os.ErrNotExist, "working directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(t, "pass")
			tt.edit(&s)
			h := start(t, s)
			r := waitFor(t, h, 5*time.Second)
			if r.State != Failed || r.ExitCode != -1 || !errors.Is(r.Err, tt.wantErr) || !strings.Contains(r.Err.Error(), tt.wantMsg) {
				t.Errorf("Result = %+v; want failed with %v (%q)", r, tt.wantErr, tt.wantMsg)
			}
			if h.PID() != 0 || h.Ref() != "" {
				t.Errorf("PID %d Ref %q for a process that never started", h.PID(), h.Ref())
			}
			_, foot := logLines(t, s)
			if foot != "posml: failed: "+r.Err.Error() {
				t.Errorf("footer %q", foot)
			}
			b, err := io.ReadAll(h.Follow(context.Background(), 0))
			if err != nil || string(b) != readLog(t, s) {
				t.Errorf("Follow = %q, %v", b, err)
			}
		})
	}
}

func TestInvalidSpec(t *testing.T) {
	for name, edit := range map[string]func(*Spec){
		"no python":   func(s *Spec) { s.Python = "" },
		"no dir":      func(s *Spec) { s.Dir = "" },
		"no log":      func(s *Spec) { s.LogPath = "" },
		"neg timeout": func(s *Spec) { s.Timeout = -1 },
	} {
		s := spec(t, "pass")
		edit(&s)
		if _, err := (&Local{}).Start(context.Background(), s); posml.KindOf(err) != posml.KindInvalid {
			t.Errorf("%s: Start = %v; want KindInvalid", name, err)
		}
	}
	s := spec(t, "pass")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&Local{}).Start(ctx, s); !errors.Is(err, context.Canceled) {
		t.Errorf("Start(canceled ctx) = %v", err)
	}
}

func TestAliveAfterRestart(t *testing.T) {
	l := &Local{}
	s := spec(t, "import time\ntime.sleep(300)")
	h := start(t, s)
	ref := h.Ref()
	p, err := ParseProcess(ref)
	if err != nil || p.PID != h.PID() || p.Start == 0 || p.BootID == "" {
		t.Fatalf("Ref %q parses to %+v, %v", ref, p, err)
	}
	if ok, err := l.Alive(ref); !ok || err != nil {
		t.Errorf("Alive(own running attempt) = %v, %v", ok, err)
	}
	for name, other := range map[string]Process{
		"pid reused":    {PID: p.PID, Start: p.Start + 1, BootID: p.BootID},
		"another boot":  {PID: p.PID, Start: p.Start, BootID: "00000000-0000-0000-0000-000000000000"},
		"no such pid":   {PID: 1 << 22, Start: 1, BootID: p.BootID},
		"no pid at all": {},
	} {
		if other.Alive() {
			t.Errorf("%s: %v reported alive", name, other)
		}
	}
	h.Cancel("test")
	waitFor(t, h, 5*time.Second)
	if ok, _ := l.Alive(ref); ok {
		t.Errorf("Alive after the end = true")
	}
	for _, bad := range []string{"", "local:", "local:x:1:b", "k8s:job/x", "local:12"} {
		if _, err := l.Alive(bad); posml.KindOf(err) != posml.KindInvalid {
			t.Errorf("Alive(%q) = %v; want KindInvalid", bad, err)
		}
	}
}

// TestStopOrphan plays a restart: the attempt's process group was started
// by an earlier posml (here: directly), only its Ref was kept.
func TestStopOrphan(t *testing.T) {
	cmd := exec.Command(python(t), "-c", `
import signal, subprocess, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen(["sleep", "300"])
print("ready", flush=True)
time.sleep(300)`)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		t.Fatalf("orphan said %q, %v", line, err)
	}
	reaped := make(chan struct{})
	go func() { cmd.Wait(); close(reaped) }() // the "init" that reaps it; ends when it dies
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); <-reaped })
	p, err := LookupProcess(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	l := &Local{}
	if ok, _ := l.Alive(p.String()); !ok {
		t.Fatal("orphan not alive")
	}
	t0 := time.Now()
	if err := l.Stop(context.Background(), p.String(), 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < 300*time.Millisecond || d > 3*time.Second {
		t.Errorf("Stop took %v; want the grace, then SIGKILL", d)
	}
	if groupAlive(p.PID) {
		t.Error("group survives Stop")
	}
	if err := l.Stop(context.Background(), p.String(), time.Second); err != nil {
		t.Errorf("Stop of a dead process = %v", err)
	}
}

func TestParseStat(t *testing.T) {
	line := "4242 (python3 (train) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 10 2 0 0 20 0 3 0 987654 123456789 2345 18446744073709551615 1 1 0 0 0 0 0 16781312 2 0 0 0 17 1 0 0 0 0 0"
	st, err := parseStat([]byte(line))
	if err != nil || st.state != 'S' || st.pgrp != 4242 || st.start != 987654 {
		t.Errorf("parseStat = %+v, %v; want S, pgrp 4242, start 987654", st, err)
	}
	for _, bad := range []string{"", "1 (x", "1 (x) S 1 2"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
}

func TestAppendLog(t *testing.T) {
	s := spec(t, "import sys; sys.stdout.write('partial')")
	waitFor(t, start(t, s), 5*time.Second)
	if err := AppendLog(s.LogPath, "server restarted; attempt marked failed"); err != nil {
		t.Fatal(err)
	}
	log := readLog(t, s)
	if !regexp.MustCompile(`\npartial\nposml: exit 0 after \d+ms\nposml: server restarted; attempt marked failed\n$`).MatchString(log) {
		t.Errorf("log:\n%s", log)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		1234 * time.Microsecond:              "1ms",
		3240 * time.Millisecond:              "3.2s",
		61 * time.Second:                     "1m1s",
		90*time.Minute + 50*time.Millisecond: "1h30m0.1s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q; want %q", d, got, want)
		}
	}
}

func TestDescribeRef(t *testing.T) {
	for ref, want := range map[string]string{
		"":                              "-",
		"local:4242:123456:abc-def":     "local pid 4242",
		"kubernetes:ml/posml-1-1-x7k2p": "kubernetes job ml/posml-1-1-x7k2p",
		"slurm:17":                      "slurm job 17",
	} {
		if got := DescribeRef(ref); got != want {
			t.Errorf("DescribeRef(%q) = %q; want %q", ref, got, want)
		}
	}
}
