package slurm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml/internal/executor"
)

// fakeCluster is a directory of stand-in Slurm commands that read the
// job's squeue and sacct lines from files the test writes: the
// supervision logic without a cluster.
type fakeCluster struct {
	t   *testing.T
	dir string
}

func newFakeCluster(t *testing.T, squeue, sacct string) *fakeCluster {
	t.Helper()
	c := &fakeCluster{t: t, dir: t.TempDir()}
	d := c.dir
	scripts := map[string]string{
		"sbatch": "echo \"$@\" > " + d + "/sbatch.args\necho 77\n",
		"squeue": "cat " + d + "/squeue.out\n",
		"sacct":  "cat " + d + "/sacct.out\n",
		"scontrol": "[ -f " + d + "/scontrol.out ] && exec cat " + d + "/scontrol.out\n" +
			"echo 'slurm_load_jobs error: Invalid job id specified' >&2\nexit 1\n",
		"scancel": "echo \"$@\" >> " + d + "/scancel.log\n" +
			"echo 'CANCELLED|None' > " + d + "/squeue.new && mv " + d + "/squeue.new " + d + "/squeue.out\n" +
			"echo 'CANCELLED by 0|0:15|None' > " + d + "/sacct.out\n",
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(d, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c.set(squeue, sacct)
	return c
}

// set writes what squeue and sacct say next.
func (c *fakeCluster) set(squeue, sacct string) {
	c.t.Helper()
	for name, text := range map[string]string{"sacct": sacct, "squeue": squeue} {
		tmp := filepath.Join(c.dir, name+".new")
		name += ".out"
		if err := os.WriteFile(tmp, []byte(text+"\n"), 0o644); err != nil {
			c.t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(c.dir, name)); err != nil {
			c.t.Fatal(err)
		}
	}
}

func (c *fakeCluster) scancels() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "scancel.log"))
	return strings.TrimSpace(string(b))
}

func (c *fakeCluster) start(t *testing.T, mod func(*Config)) (executor.Handle, executor.Spec) {
	t.Helper()
	cfg := Config{SharedDir: t.TempDir(), Bin: c.dir, PollInterval: 20 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := executor.Spec{
		AttemptID: "a1", Dir: cfg.SharedDir, Python: "python3", KillGrace: time.Second,
		LogPath: filepath.Join(t.TempDir(), "a1.log"),
	}
	h, err := b.Start(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Cancel("test ended")
		h.Wait()
	})
	if h.Ref() != "slurm:77" {
		t.Fatalf("Ref %q; want slurm:77", h.Ref())
	}
	return h, s
}

func footerOf(t *testing.T, s executor.Spec) string {
	t.Helper()
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[1:], "\n")
}

func TestFakePendingTimeout(t *testing.T) {
	c := newFakeCluster(t, "PENDING|PartitionNodeLimit", "PENDING|0:0|PartitionNodeLimit")
	h, s := c.start(t, func(cfg *Config) { cfg.PendingTimeout = 200 * time.Millisecond })
	r := waitFor(t, h, 10*time.Second)
	if r.State != executor.Failed || r.ExitCode != -1 || r.Err == nil || !strings.Contains(r.Err.Error(), "PartitionNodeLimit") {
		t.Errorf("result %+v; want failed for PartitionNodeLimit", r)
	}
	if got := c.scancels(); got != "77" {
		t.Errorf("scancel calls %q; want a plain scancel of a pending job", got)
	}
	if got, want := footerOf(t, s), "posml: failed: slurm job 77 cannot start: pending for 200ms (PartitionNodeLimit)"; got != want {
		t.Errorf("log after the header %q; want %q", got, want)
	}
}

func TestFakeCancelPending(t *testing.T) {
	c := newFakeCluster(t, "PENDING|Priority", "PENDING|0:0|Priority")
	h, _ := c.start(t, func(cfg *Config) { cfg.PendingTimeout = 50 * time.Millisecond })
	time.Sleep(300 * time.Millisecond) // not hopeless: still pending
	h.Cancel("no longer wanted")
	r := waitFor(t, h, 10*time.Second)
	if r.State != executor.Canceled || !errors.Is(r.Err, executor.ErrCanceled) || r.ExitCode != -1 {
		t.Errorf("result %+v; want canceled", r)
	}
	if got := c.scancels(); got != "77" {
		t.Errorf("scancel calls %q; want 77", got)
	}
}

func TestFakeCancelRunning(t *testing.T) {
	c := newFakeCluster(t, "RUNNING|None", "RUNNING|0:0|None")
	h, _ := c.start(t, nil)
	time.Sleep(100 * time.Millisecond)
	h.Cancel("stop")
	r := waitFor(t, h, 10*time.Second)
	if r.State != executor.Canceled || r.Signal != "SIGTERM" {
		t.Errorf("result %+v; want canceled by SIGTERM", r)
	}
	if got := c.scancels(); got != "--full --signal=TERM 77" {
		t.Errorf("scancel calls %q", got)
	}
}

func TestFakeEnds(t *testing.T) {
	tests := []struct {
		name, squeue, sacct string
		state               executor.State
		err, log            string
	}{
		{"node fail", "NODE_FAIL|NodeDown", "NODE_FAIL|1:0|NodeDown", executor.Failed,
			"slurm job 77 NODE_FAIL (NodeDown) (exit 1)", "posml: slurm job 77 NODE_FAIL (NodeDown) (exit 1)\nposml: exit 1 after "},
		{"oom", "OUT_OF_MEMORY|OutOfMemory", "OUT_OF_MEMORY|0:125|OutOfMemory", executor.Failed,
			"slurm job 77 OUT_OF_MEMORY (OutOfMemory) (signal 125)", "posml: slurm job 77 OUT_OF_MEMORY"},
		{"cancelled outside", "CANCELLED|None", "CANCELLED by 1000|0:15|None", executor.Failed,
			"slurm job 77 cancelled outside posml (by uid 1000)", "posml: slurm job 77 cancelled outside posml (by uid 1000)\nposml: killed by SIGTERM after "},
		{"slurm timeout", "TIMEOUT|TimeLimit", "TIMEOUT|0:15|TimeLimit", executor.TimedOut,
			"timed out: slurm job 77 reached its time limit", "posml: timed out after "},
		{"completed, sacct lagging", "COMPLETED|None", "RUNNING|0:0|None", executor.Succeeded, "", "posml: exit 0 after "},
		{"purged", "", "FAILED|2:0|None", executor.Failed, "slurm job 77 FAILED (exit 2)", "posml: exit 2 after "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeCluster(t, "RUNNING|None", "RUNNING|0:0|None")
			h, s := c.start(t, nil)
			time.Sleep(100 * time.Millisecond)
			c.set(tt.squeue, tt.sacct)
			r := waitFor(t, h, 10*time.Second)
			gotErr := ""
			if r.Err != nil {
				gotErr = r.Err.Error()
			}
			if r.State != tt.state || gotErr != tt.err {
				t.Errorf("result %s %q; want %s %q", r.State, gotErr, tt.state, tt.err)
			}
			if got := footerOf(t, s); !strings.HasPrefix(got, tt.log) {
				t.Errorf("log after the header %q; want it to start %q", got, tt.log)
			}
		})
	}
}
