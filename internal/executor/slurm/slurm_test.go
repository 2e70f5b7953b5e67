package slurm

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml/internal/executor"
)

// The tests below run on a real cluster: POSML_TEST_SLURM names its shared
// directory (eval "$(scripts/slurm.sh)" starts one and sets it, with
// SLURM_CONF). Each test works in a directory of its own in it.

// testBackend returns a Backend on the test cluster, or skips the test.
func testBackend(t testing.TB, mod func(*Config)) (*Backend, string) {
	t.Helper()
	shared := os.Getenv("POSML_TEST_SLURM")
	if shared == "" {
		t.Skip("POSML_TEST_SLURM is not set: no Slurm cluster to test on (eval \"$(scripts/slurm.sh)\" starts one)")
	}
	dir, err := os.MkdirTemp(shared, "test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg := Config{SharedDir: dir, PollInterval: 200 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b, dir
}

// project is a checkout outside the shared directory with a train script
// and an SDK module, so that Start copies it.
func project(t testing.TB, train string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []struct{ name, text string }{
		{"src/train.py", train},
		{".posml/sdk/posmlsdk.py", "VERSION = 'test'\n"},
	} {
		p := filepath.Join(dir, f.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testSpec(t testing.TB, dir string) executor.Spec {
	return executor.Spec{
		AttemptID: "a1",
		Dir:       dir,
		Python:    "/usr/bin/python3",
		Args:      []string{"src/train.py"},
		Env: []string{
			"PATH=/usr/local/bin:/usr/bin:/bin",
			"PYTHONUNBUFFERED=1",
			"LC_ALL=C.UTF-8",
			"PYTHONPATH=" + filepath.Join(dir, ".posml", "sdk"),
			"POSML_TOKEN=se cret 'q' \"d\" $HOME `x`",
		},
		KillGrace: 2 * time.Second,
		LogPath:   filepath.Join(t.TempDir(), "logs", "attempt-1.log"),
	}
}

func startJob(t testing.TB, b *Backend, s executor.Spec) executor.Handle {
	t.Helper()
	h, err := b.Start(context.Background(), s)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		h.Cancel("test ended")
		h.Wait()
	})
	return h
}

func waitFor(t testing.TB, h executor.Handle, limit time.Duration) executor.Result {
	t.Helper()
	ch := make(chan executor.Result, 1)
	go func() { ch <- h.Wait() }() // ends with the attempt; startJob's cleanup cancels it
	select {
	case r := <-ch:
		return r
	case <-time.After(limit):
		t.Fatalf("attempt %s still running after %v", h.Ref(), limit)
		return executor.Result{}
	}
}

// logBody returns the log's lines between header and footer, and the footer.
func logBody(t testing.TB, s executor.Spec) ([]string, string) {
	t.Helper()
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "posml: attempt a1 submitted to slurm as job ") {
		t.Fatalf("log lacks a header:\n%s", b)
	}
	return lines[1 : len(lines)-1], lines[len(lines)-1]
}

const printEnv = `
import json, os, posmlsdk
print("hello")
print("sdk", posmlsdk.VERSION)
print("ENV " + json.dumps(dict(os.environ)))
print("bye")
`

func envFromLog(t testing.TB, body []string) map[string]string {
	t.Helper()
	for _, l := range body {
		if j, ok := strings.CutPrefix(l, "ENV "); ok {
			var env map[string]string
			if err := json.Unmarshal([]byte(j), &env); err != nil {
				t.Fatal(err)
			}
			return env
		}
	}
	t.Fatalf("no ENV line in %q", body)
	return nil
}

func TestSucceeds(t *testing.T) {
	b, shared := testBackend(t, nil)
	s := testSpec(t, project(t, printEnv))
	h := startJob(t, b, s)
	if !strings.HasPrefix(h.Ref(), "slurm:") || h.PID() != 0 {
		t.Errorf("Ref %q PID %d; want slurm:<id>, 0", h.Ref(), h.PID())
	}
	r := waitFor(t, h, time.Minute)
	body, foot := logBody(t, s)
	if r.State != executor.Succeeded || r.ExitCode != 0 || r.Err != nil {
		t.Fatalf("result %+v; want succeeded\n%s", r, strings.Join(body, "\n"))
	}
	if !strings.HasPrefix(foot, "posml: exit 0 after ") {
		t.Errorf("footer %q", foot)
	}
	if body[0] != "hello" || body[1] != "sdk test" || body[len(body)-1] != "bye" {
		t.Errorf("log body %q", body)
	}

	// Exactly Spec.Env, with the checkout's path rewritten to the copy, plus
	// what Slurm set from passthrough.
	env := envFromLog(t, body)
	work := filepath.Join(shared, "a1", "work")
	for _, kv := range rewriteEnv(s.Env, s.Dir, work) {
		k, v, _ := strings.Cut(kv, "=")
		if env[k] != v {
			t.Errorf("%s=%q; want %q", k, env[k], v)
		}
		delete(env, k)
	}
	var extra []string
	for k := range env {
		if !slices.Contains(passthrough, k) {
			t.Errorf("leaked into the environment: %s=%q", k, env[k])
		}
		extra = append(extra, k)
	}
	slices.Sort(extra)
	t.Logf("Slurm's variables: %v", extra)
	if _, err := os.Stat(filepath.Join(shared, "a1", "job.sh")); !os.IsNotExist(err) {
		t.Errorf("job.sh left behind: %v", err)
	}
	if alive, err := b.Alive(h.Ref()); err != nil || alive {
		t.Errorf("Alive after the end = %v, %v", alive, err)
	}
}

func TestExitCode(t *testing.T) {
	b, _ := testBackend(t, nil)
	s := testSpec(t, project(t, "import sys\nprint('failing')\nsys.exit(3)\n"))
	r := waitFor(t, startJob(t, b, s), time.Minute)
	if r.State != executor.Failed || r.ExitCode != 3 || r.Err == nil || !strings.Contains(r.Err.Error(), "FAILED (exit 3)") {
		t.Errorf("result %+v; want failed, exit 3", r)
	}
	b2, _ := os.ReadFile(s.LogPath)
	t.Logf("log:\n%s", b2)
	body, foot := logBody(t, s)
	if !slices.Equal(body, []string{"failing"}) || !strings.HasPrefix(foot, "posml: exit 3 after ") {
		t.Errorf("log %q, footer %q", body, foot)
	}
}

// TestScontrolFallback runs without sacct (as on a cluster without
// slurmdbd): the exit code comes from scontrol.
func TestScontrolFallback(t *testing.T) {
	bin := t.TempDir()
	for _, name := range []string{"sbatch", "squeue", "scontrol", "scancel"} {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Skip(err)
		}
		if err := os.Symlink(p, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := testBackend(t, func(c *Config) { c.Bin = bin })
	s := testSpec(t, project(t, "import sys\nsys.exit(4)\n"))
	r := waitFor(t, startJob(t, b, s), time.Minute)
	if r.State != executor.Failed || r.ExitCode != 4 {
		t.Errorf("result %+v; want failed, exit 4", r)
	}
}

func TestGPU(t *testing.T) {
	b, _ := testBackend(t, nil)
	s := testSpec(t, project(t, printEnv))
	s.Placement = executor.Placement{GPU: 1, CPU: "500m", Memory: "256Mi"}
	r := waitFor(t, startJob(t, b, s), time.Minute)
	body, _ := logBody(t, s)
	if r.State != executor.Succeeded {
		t.Fatalf("result %+v\n%s", r, strings.Join(body, "\n"))
	}
	env := envFromLog(t, body)
	var got []string
	for _, k := range []string{"CUDA_VISIBLE_DEVICES", "SLURM_JOB_GPUS", "SLURM_GPUS_ON_NODE", "SLURM_STEP_GPUS", "GPU_DEVICE_ORDINAL"} {
		if v, ok := env[k]; ok {
			got = append(got, k+"="+v)
		}
	}
	t.Logf("GPU variables of a gpu:1 job on fake gres: %v", got)
	if len(got) == 0 {
		t.Error("no GPU variable in the environment")
	}
}

func TestGPUUnavailable(t *testing.T) {
	b, _ := testBackend(t, nil)
	s := testSpec(t, project(t, "print('never')\n"))
	s.Placement.GPU = 3 // the node has 2
	h := startJob(t, b, s)
	r := waitFor(t, h, 10*time.Second)
	if r.State != executor.Failed || r.Err == nil || !strings.Contains(r.Err.Error(), "Requested node configuration is not available") {
		t.Errorf("result %+v; want failed with sbatch's reason", r)
	}
	if h.Ref() != "" {
		t.Errorf("Ref %q; want none", h.Ref())
	}
	_, foot := logBody2(t, s)
	if !strings.HasPrefix(foot, "posml: failed: sbatch: ") {
		t.Errorf("footer %q", foot)
	}
}

func logBody2(t testing.TB, s executor.Spec) ([]string, string) {
	t.Helper()
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

func TestBadPartition(t *testing.T) {
	b, _ := testBackend(t, func(c *Config) { c.Partition = "nope" })
	s := testSpec(t, project(t, "print('never')\n"))
	r := waitFor(t, startJob(t, b, s), 10*time.Second)
	if r.State != executor.Failed || r.Err == nil || !strings.Contains(r.Err.Error(), "partition") {
		t.Errorf("result %+v; want failed with an invalid partition", r)
	}
}

func TestTimeout(t *testing.T) {
	b, _ := testBackend(t, nil)
	s := testSpec(t, project(t, "import time\nprint('sleeping')\ntime.sleep(60)\n"))
	s.Timeout = 2 * time.Second
	t0 := time.Now()
	r := waitFor(t, startJob(t, b, s), time.Minute)
	if r.State != executor.TimedOut || !errors.Is(r.Err, executor.ErrTimedOut) {
		t.Errorf("result %+v; want timed out", r)
	}
	if d := time.Since(t0); d > 15*time.Second {
		t.Errorf("took %v", d)
	}
	_, foot := logBody(t, s)
	if !strings.HasPrefix(foot, "posml: timed out after ") {
		t.Errorf("footer %q", foot)
	}
}

// waitLine follows h's log until a line equal to want.
func waitLine(t testing.TB, h executor.Handle, want string, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	r := h.Follow(ctx, 0)
	defer r.Close()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if sc.Text() == want {
			return
		}
	}
	t.Fatalf("no line %q in the log within %v: %v", want, limit, sc.Err())
}

func TestCancel(t *testing.T) {
	b, _ := testBackend(t, nil)
	s := testSpec(t, project(t, "import time\nprint('ready')\ntime.sleep(60)\n"))
	h := startJob(t, b, s)
	waitLine(t, h, "ready", 30*time.Second)
	h.Cancel("by the test")
	r := waitFor(t, h, 30*time.Second)
	if r.State != executor.Canceled || !errors.Is(r.Err, executor.ErrCanceled) || !strings.Contains(r.Err.Error(), "by the test") {
		t.Errorf("result %+v; want canceled", r)
	}
	if alive, err := b.Alive(h.Ref()); err != nil || alive {
		t.Errorf("Alive after Cancel = %v, %v", alive, err)
	}
	job, _ := ParseRef(h.Ref())
	if out, _ := exec.Command("squeue", "-h", "-j", job).Output(); len(out) != 0 {
		t.Errorf("squeue still lists the job: %s", out)
	}
	_, foot := logBody(t, s)
	if !strings.HasPrefix(foot, "posml: canceled: by the test after ") {
		t.Errorf("footer %q", foot)
	}
}

func TestAliveStop(t *testing.T) {
	b, _ := testBackend(t, nil)
	s := testSpec(t, project(t, "import time\nprint('ready')\ntime.sleep(60)\n"))
	h := startJob(t, b, s)
	waitLine(t, h, "ready", 30*time.Second)
	if alive, err := b.Alive(h.Ref()); err != nil || !alive {
		t.Fatalf("Alive = %v, %v; want true", alive, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Stop(ctx, h.Ref(), 2*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if alive, err := b.Alive(h.Ref()); err != nil || alive {
		t.Errorf("Alive after Stop = %v, %v", alive, err)
	}
	if err := b.Stop(ctx, h.Ref(), time.Second); err != nil {
		t.Errorf("Stop of a finished job: %v", err)
	}
	r := waitFor(t, h, 30*time.Second)
	if r.State != executor.Failed || r.Err == nil {
		t.Errorf("result %+v; want failed (stopped outside the handle)", r)
	}
	t.Logf("stopped by ref: %v", r.Err)
	if alive, err := b.Alive("slurm:99999999"); err != nil || alive {
		t.Errorf("Alive(unknown job) = %v, %v", alive, err)
	}
}

func TestFollowLive(t *testing.T) {
	b, shared := testBackend(t, nil)
	gate := filepath.Join(shared, "gate")
	s := testSpec(t, project(t, `
import os, time
print("first")
while not os.path.exists(`+"'"+gate+"'"+`):
    time.sleep(0.05)
print("second")
`))
	h := startJob(t, b, s)
	waitLine(t, h, "first", 30*time.Second) // the job waits for the gate
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitLine(t, h, "second", 30*time.Second)
	if r := waitFor(t, h, 30*time.Second); r.State != executor.Succeeded {
		t.Errorf("result %+v", r)
	}
}

// BenchmarkSubmitToRunning measures Start until squeue says RUNNING.
func BenchmarkSubmitToRunning(b *testing.B) {
	be, _ := testBackend(b, func(c *Config) { c.PollInterval = 50 * time.Millisecond })
	dir := project(b, "import time\ntime.sleep(60)\n")
	for i := 0; b.Loop(); i++ {
		s := testSpec(b, dir)
		h, err := be.Start(context.Background(), s)
		if err != nil {
			b.Fatal(err)
		}
		job, err := ParseRef(h.Ref())
		if err != nil {
			b.Fatalf("not submitted: %+v", h.Wait())
		}
		for {
			st, _, err := be.status(context.Background(), job)
			if err != nil {
				b.Fatal(err)
			}
			if st.State == "RUNNING" {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.StopTimer()
		h.Cancel("benchmark")
		h.Wait()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
}

// BenchmarkSubmitToSucceeded measures Start until Wait returns for a
// trivial script.
func BenchmarkSubmitToSucceeded(b *testing.B) {
	be, _ := testBackend(b, nil)
	dir := project(b, "print('hi')\n")
	for b.Loop() {
		s := testSpec(b, dir)
		h, err := be.Start(context.Background(), s)
		if err != nil {
			b.Fatal(err)
		}
		if r := h.Wait(); r.State != executor.Succeeded {
			b.Fatalf("result %+v", r)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
}

// TestDetachAttach detaches from a running job, as a server that shuts
// down does, and takes it back with a new Backend, as the next server
// does; then attaches to the job once more after its end.
func TestDetachAttach(t *testing.T) {
	b, shared := testBackend(t, nil)
	s := testSpec(t, project(t, "import time\nprint('before')\ntime.sleep(1)\nprint('between')\ntime.sleep(2)\nprint('after')\n"))
	h := startJob(t, b, s)
	waitLine(t, h, "before", 30*time.Second)
	h.(executor.Detacher).Detach()
	r := waitFor(t, h, 10*time.Second)
	if r.State != executor.Detached || r.ExitCode != -1 {
		t.Fatalf("result %+v; want detached", r)
	}
	job, _ := ParseRef(h.Ref())
	if out, _ := exec.Command("squeue", "-h", "-j", job, "-o", "%T").Output(); strings.TrimSpace(string(out)) != "RUNNING" {
		t.Fatalf("squeue after Detach: %q; want the job running", out)
	}

	// "between" is printed while no server follows the job.
	time.Sleep(1500 * time.Millisecond)
	b2, err := New(Config{SharedDir: shared, PollInterval: 200 * time.Millisecond}) // the next server
	if err != nil {
		t.Fatal(err)
	}
	s2 := executor.Spec{AttemptID: s.AttemptID, LogPath: s.LogPath, KillGrace: 2 * time.Second}
	h2, err := b2.Attach(context.Background(), h.Ref(), s2)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	t.Cleanup(func() { h2.Cancel("test ended"); h2.Wait() })
	r = waitFor(t, h2, 30*time.Second)
	body, foot := logBody(t, s)
	if r.State != executor.Succeeded || r.ExitCode != 0 || r.Err != nil {
		t.Fatalf("result %+v; want succeeded\n%s", r, strings.Join(body, "\n"))
	}
	want := []string{
		"before",
		"posml: detached from slurm job " + job + ": it runs on; the next posml server takes it back",
		"posml: reattached to slurm job " + job + " after a restart of posml",
		"between", // copied from where the detached server stopped
		"after",
	}
	if !slices.Equal(body, want) || !strings.HasPrefix(foot, "posml: exit 0 after ") {
		t.Errorf("log %q, footer %q", body, foot)
	}
	if _, err := os.Stat(filepath.Join(shared, "a1", "job.sh")); !os.IsNotExist(err) {
		t.Errorf("job.sh left behind: %v", err)
	}

	// The job has ended: Attach ends at once with its result.
	s3 := executor.Spec{AttemptID: s.AttemptID, LogPath: filepath.Join(t.TempDir(), "again.log")}
	t0 := time.Now()
	h3, err := b2.Attach(context.Background(), h.Ref(), s3)
	if err != nil {
		t.Fatalf("Attach of an ended job: %v", err)
	}
	if r := waitFor(t, h3, 30*time.Second); r.State != executor.Succeeded || time.Since(t0) > 5*time.Second {
		t.Errorf("result %+v after %v; want succeeded at once", r, time.Since(t0))
	}

	if _, err := b2.Attach(context.Background(), "slurm:99999999", s3); err == nil {
		t.Error("Attach of an unknown job: no error")
	}
}
