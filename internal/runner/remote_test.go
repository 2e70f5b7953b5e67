package runner

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml/internal/executor"
	"github.com/posml/posml/internal/executor/slurm"
	"github.com/posml/posml/internal/pipeline"
)

// slurmBackend returns the Slurm backend on the test cluster
// (scripts/slurm.sh exports POSML_TEST_SLURM), with a shared directory of
// the test's own.
func slurmBackend(t *testing.T) *slurm.Backend {
	t.Helper()
	shared := os.Getenv("POSML_TEST_SLURM")
	if shared == "" {
		t.Skip(`POSML_TEST_SLURM is not set (eval "$(scripts/slurm.sh)" starts a one-node Slurm cluster)`)
	}
	dir, err := os.MkdirTemp(shared, "runner-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	b, err := slurm.New(slurm.Config{SharedDir: dir, PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRemoteAttempt: a project whose executor section says slurm runs
// there, with the SDK copied into its checkout and on PYTHONPATH, the
// backend's tracking URI in the environment and in the system config, and
// its job recorded as the attempt's ref; the trigger would still run here.
func TestRemoteAttempt(t *testing.T) {
	b := slurmBackend(t)
	e := newEnv(t)
	sdk := t.TempDir()
	if err := os.WriteFile(filepath.Join(sdk, "posml_marker.py"), []byte("WHERE = 'sdk'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := e.project("onslurm", map[string]string{
		"src/config.yaml": configYAML("onslurm", "executor:\n  backend: slurm\n  resources: {cpu: 1, memory: 256Mi}\n"),
		"src/train.py": trainHeader + "import posml_marker\n" +
			"print('sdk', posml_marker.WHERE, 'job', os.environ.get('SLURM_JOB_ID', '-'))\n" +
			"print('uri', os.environ['MLFLOW_TRACKING_URI'])\n" +
			"print('config', open(os.path.join(SRC_HOME, '..', 'config.yaml')).read().split('tracking_uri: ')[1].split()[0])\n",
	})
	pool := e.pool(Deps{Backend: &executor.Router{Local: &executor.Local{}, Remote: map[string]executor.RemoteBackend{"slurm": b}}}, func(c *Config) {
		c.SDKDir = sdk
		c.Executor = pipeline.ExecutorPolicy{Allowed: []string{"local", "slurm"}}
		c.RemoteTrackingURI = map[string]string{"slurm": "http://posml.cluster:5000"}
	})
	start(t, pool)
	r, err := e.store.CreatePipelineRun(context.Background(), pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual})
	if err != nil {
		t.Fatal(err)
	}
	pool.Wake()
	got := e.wait(r.ID, 60*time.Second)
	atts := e.attempts(r.ID)
	log := readLog(t, atts[0])
	if got.State != pipeline.Succeeded || !strings.HasPrefix(atts[0].Handle, "slurm:") {
		t.Fatalf("run %s at %q; want succeeded on slurm\n%s", got.State, atts[0].Handle, log)
	}
	job := strings.TrimPrefix(atts[0].Handle, "slurm:")
	for _, want := range []string{"sdk sdk job " + job, "uri http://posml.cluster:5000", `config "http://posml.cluster:5000"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// TestRecoverRemote: after a restart, an attempt whose Slurm job still
// runs is stopped (scancel) and the run retried.
func TestRecoverRemote(t *testing.T) {
	b := slurmBackend(t)
	e := newEnv(t)
	ctx := context.Background()
	p := e.project("slurmcrash", map[string]string{
		"src/config.yaml": configYAML("slurmcrash", "retries: 1\nretry_delay: 0s\nexecutor:\n  backend: slurm\n"),
		"src/train.py":    trainHeader + "print('attempt ran')\n",
	})
	r, err := e.store.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, a, ok, err := e.store.StartAttempt(ctx, r.ID, time.Now(), func(n int) string {
		return filepath.Join(e.runsDir, "logs", r.ID.String(), strconv.Itoa(n)+".log")
	})
	if err != nil || !ok {
		t.Fatalf("StartAttempt: %v %v", ok, err)
	}
	// The "previous server" submitted a job that is still running.
	h, err := b.Start(ctx, executor.Spec{AttemptID: "left", Dir: t.TempDir(), Python: python(t), Args: []string{"-c", "import time; time.sleep(120)"},
		Env: []string{"PATH=/usr/bin:/bin"}, LogPath: filepath.Join(t.TempDir(), "left.log"), KillGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if alive, _ := b.Alive(h.Ref()); alive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s not alive after 20 s", h.Ref())
		}
	}
	if err := e.store.SetAttemptProcess(ctx, r.ID, a.N, 0, h.Ref()); err != nil {
		t.Fatal(err)
	}
	pool := e.pool(Deps{Backend: &executor.Router{Local: &executor.Local{}, Remote: map[string]executor.RemoteBackend{"slurm": b}}}, func(c *Config) {
		c.Executor = pipeline.ExecutorPolicy{Allowed: []string{"local", "slurm"}}
	})
	start(t, pool)
	got := e.wait(r.ID, 60*time.Second)
	atts := e.attempts(r.ID)
	if got.State != pipeline.Succeeded || len(atts) != 2 || atts[0].Error != "server restarted" {
		t.Errorf("run %s, attempts %+v; want the leftover attempt failed and the retry succeeded", got.State, atts)
	}
	if log := readLog(t, atts[0]); !strings.Contains(log, "its leftover process was stopped") {
		t.Errorf("attempt 1 log:\n%s", log)
	}
	if res := h.Wait(); res.State == executor.Succeeded {
		t.Errorf("leftover job not stopped: %+v", res)
	}
	if alive, err := b.Alive(h.Ref()); alive || err != nil {
		t.Errorf("leftover job %s alive %v, err %v", h.Ref(), alive, err)
	}
}
