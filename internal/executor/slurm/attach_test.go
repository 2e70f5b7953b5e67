package slurm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/executor"
)

// setScontrol writes what scontrol show job says about job 77, whose
// attempt directory is <shared>/a1.
func (c *fakeCluster) setScontrol(state, shared string) {
	c.t.Helper()
	line := fmt.Sprintf("JobId=77 JobName=posml-a1 UserId=root(0) JobState=%s Reason=None ExitCode=0:0 "+
		"SubmitTime=2026-01-02T03:04:05 StartTime=2026-01-02T03:04:06 EndTime=Unknown "+
		"Socks/Node=* WorkDir=%s StdErr=%s StdIn=/dev/null StdOut=%s Power= \n",
		state, shared, filepath.Join(shared, "a1", "out.log"), filepath.Join(shared, "a1", "out.log"))
	if err := os.WriteFile(filepath.Join(c.dir, "scontrol.out"), []byte(line), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// newServer is the Backend of the next posml server on the same shared
// directory.
func (c *fakeCluster) newServer(t *testing.T, shared string) *Backend {
	t.Helper()
	b, err := New(Config{SharedDir: shared, Bin: c.dir, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func readLog(t *testing.T, s executor.Spec) string {
	t.Helper()
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFakeDetachAttach(t *testing.T) {
	c := newFakeCluster(t, "RUNNING|None", "RUNNING|0:0|None")
	h, s := c.start(t, nil)
	out := filepath.Join(s.Dir, "a1", "out.log")
	appendFile(t, out, "before\n")
	waitLine(t, h, "before", 10*time.Second)

	h.(executor.Detacher).Detach()
	r := waitFor(t, h, 10*time.Second)
	if r.State != executor.Detached || r.ExitCode != -1 || r.Err != nil || r.Ended.Before(r.Started) {
		t.Fatalf("result %+v; want detached", r)
	}
	h.Cancel("after detach") // does nothing
	h.(executor.Detacher).Detach()
	if got := c.scancels(); got != "" {
		t.Errorf("scancel calls %q after Detach; want none", got)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "a1", "job.sh")); err != nil {
		t.Errorf("job.sh removed by Detach: %v", err)
	}
	detachLine := "posml: detached from slurm job 77: it runs on; the next posml server takes it back"
	if log := readLog(t, s); !strings.HasSuffix(log, "before\n"+detachLine+"\n") {
		t.Errorf("log after Detach:\n%s", log)
	}

	if b, err := os.ReadFile(filepath.Join(s.Dir, "a1", "copied")); err != nil || string(b) != "7" {
		t.Errorf("copied offset %q, %v; want 7 (len \"before\\n\")", b, err)
	}
	appendFile(t, out, "while away\n") // the job wrote on with no server: copied from the offset
	c.setScontrol("RUNNING", s.Dir)
	s2 := executor.Spec{AttemptID: "a1", LogPath: s.LogPath, KillGrace: time.Second}
	h2, err := c.newServer(t, s.Dir).Attach(context.Background(), "slurm:77", s2)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	t.Cleanup(func() { h2.Cancel("test ended"); h2.Wait() })
	if h2.Ref() != "slurm:77" || h2.PID() != 0 {
		t.Errorf("Ref %q PID %d", h2.Ref(), h2.PID())
	}
	appendFile(t, out, "after\n")
	waitLine(t, h2, "after", 10*time.Second)
	c.set("COMPLETED|None", "COMPLETED|0:0|None")
	r = waitFor(t, h2, 10*time.Second)
	if r.State != executor.Succeeded || r.ExitCode != 0 || r.Err != nil {
		t.Errorf("result %+v; want succeeded", r)
	}
	if want := time.Date(2026, 1, 2, 3, 4, 6, 0, time.Local); !r.Started.Equal(want) {
		t.Errorf("Started %v; want the job's StartTime %v", r.Started, want)
	}
	log := readLog(t, s)
	_, rest, ok := strings.Cut(log, detachLine+"\nposml: reattached to slurm job 77 after a restart of posml\nwhile away\nafter\nposml: exit 0 after ")
	if !ok || strings.Count(rest, "\n") != 1 {
		t.Errorf("log:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "a1", "job.sh")); !os.IsNotExist(err) {
		t.Errorf("job.sh left behind: %v", err)
	}
}

func TestFakeAttachEnded(t *testing.T) {
	c := newFakeCluster(t, "", "FAILED|3:0|NonZeroExitCode") // purged from squeue
	shared := t.TempDir()
	c.setScontrol("FAILED", shared)
	s := executor.Spec{AttemptID: "a1", LogPath: filepath.Join(t.TempDir(), "a1.log")}
	t0 := time.Now()
	h, err := c.newServer(t, shared).Attach(context.Background(), "slurm:77", s)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	r := waitFor(t, h, 10*time.Second)
	if r.State != executor.Failed || r.ExitCode != 3 || time.Since(t0) > time.Second {
		t.Errorf("result %+v after %v; want failed, exit 3, at once", r, time.Since(t0))
	}
	if log := readLog(t, s); !strings.HasPrefix(log, "posml: reattached to slurm job 77 after a restart of posml\nposml: exit 3 after ") {
		t.Errorf("log:\n%s", log)
	}
}

func TestFakeAttachTimeout(t *testing.T) {
	c := newFakeCluster(t, "RUNNING|None", "RUNNING|0:0|None")
	shared := t.TempDir()
	c.setScontrol("RUNNING", shared)
	s := executor.Spec{AttemptID: "a1", LogPath: filepath.Join(t.TempDir(), "a1.log"), Timeout: 200 * time.Millisecond}
	h, err := c.newServer(t, shared).Attach(context.Background(), "slurm:77", s)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	r := waitFor(t, h, 10*time.Second)
	if r.State != executor.TimedOut || !errors.Is(r.Err, executor.ErrTimedOut) {
		t.Errorf("result %+v; want timed out", r)
	}
	if got := c.scancels(); got != "--full --signal=TERM 77" {
		t.Errorf("scancel calls %q", got)
	}
}

func TestFakeAttachRefused(t *testing.T) {
	c := newFakeCluster(t, "", "")
	b := c.newServer(t, t.TempDir())
	s := executor.Spec{AttemptID: "a1", LogPath: filepath.Join(t.TempDir(), "a1.log")}
	_, err := b.Attach(context.Background(), "slurm:77", s)
	var pe *posml.Error
	if !errors.As(err, &pe) || pe.Kind != posml.KindNotFound {
		t.Errorf("Attach of an unknown job: %v; want not found", err)
	}
	if _, err := b.Attach(context.Background(), "local:1", s); err == nil {
		t.Error("Attach of a local ref: no error")
	}
	os.WriteFile(filepath.Join(c.dir, "scontrol.out"), []byte("JobId=77 JobName=someone-else JobState=RUNNING\n"), 0o644)
	if _, err := b.Attach(context.Background(), "slurm:77", s); err == nil || !strings.Contains(err.Error(), "not a posml attempt") {
		t.Errorf("Attach of another's job: %v", err)
	}
	if _, err := os.Stat(s.LogPath); !os.IsNotExist(err) {
		t.Errorf("refused Attach wrote the log: %v", err)
	}
}

func TestFakeCancelThenDetach(t *testing.T) {
	c := newFakeCluster(t, "RUNNING|None", "RUNNING|0:0|None")
	h, _ := c.start(t, nil)
	h.Cancel("first")
	h.(executor.Detacher).Detach()
	if r := waitFor(t, h, 10*time.Second); r.State != executor.Canceled {
		t.Errorf("result %+v; want canceled: the first of Cancel and Detach wins", r)
	}
}

func TestScontrolFields(t *testing.T) {
	f := scontrolFields("JobId=7 JobName=posml-a1 Socks/Node=* WorkDir=/a b/c StdOut=/a b/c/out.log Power= TRES=cpu=1,mem=2")
	want := map[string]string{"JobId": "7", "JobName": "posml-a1", "Socks/Node": "*", "WorkDir": "/a b/c",
		"StdOut": "/a b/c/out.log", "Power": "", "TRES": "cpu=1,mem=2"}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s=%q; want %q", k, f[k], v)
		}
	}
	info := jobInfo{name: "posml-a1-2"}
	if got := info.output("/shared", "a1"); got != "/shared/a1-2/out.log" {
		t.Errorf("output from the job name: %s", got)
	}
	if got := (jobInfo{}).output("/shared", "a/1"); got != "/shared/a_1/out.log" {
		t.Errorf("output from the attempt id: %s", got)
	}
}
