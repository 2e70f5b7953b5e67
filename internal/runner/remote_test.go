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
	"github.com/posml/posml/internal/sqlstore"
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

// noAttach hides a backend's Attach: a backend that cannot take attempts
// back.
type noAttach struct{ executor.RemoteBackend }

// TestRecoverRemote: after a restart, an attempt whose Slurm job still
// runs, on a backend that cannot take it back, is stopped (scancel) and
// the run retried.
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
	pool := e.pool(Deps{Backend: &executor.Router{Local: &executor.Local{}, Remote: map[string]executor.RemoteBackend{"slurm": noAttach{b}}}}, func(c *Config) {
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

// TestAdoptRemote: a server that stops while a train attempt runs on Slurm
// leaves the job running (the attempt stays running in the database); the
// next server takes it back, and the run ends with that one attempt, its
// log telling both sides of the restart and the script's last line.
func TestAdoptRemote(t *testing.T) {
	b := slurmBackend(t)
	if _, ok := executor.RemoteBackend(b).(executor.Attacher); !ok {
		t.Skip("the slurm backend cannot take attempts back yet")
	}
	e := newEnv(t)
	ctx := context.Background()
	p := e.project("adopt", map[string]string{
		"src/config.yaml": configYAML("adopt", "retries: 0\nexecutor:\n  backend: slurm\n"),
		"src/train.py":    trainHeader + "print('before', flush=True)\ntime.sleep(4)\nprint('after the restart')\n",
	})
	router := &executor.Router{Local: &executor.Local{}, Remote: map[string]executor.RemoteBackend{"slurm": b}}
	policy := func(c *Config) { c.Executor = pipeline.ExecutorPolicy{Allowed: []string{"local", "slurm"}} }
	first := e.pool(Deps{Backend: router}, policy)
	rctx, stopFirst := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- first.Run(rctx) }()
	r, err := e.store.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual})
	if err != nil {
		t.Fatal(err)
	}
	first.Wake()
	var ref string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if atts := e.attempts(r.ID); len(atts) == 1 && strings.HasPrefix(atts[0].Handle, "slurm:") {
			if log, _ := os.ReadFile(atts[0].LogPath); strings.Contains(string(log), "before") {
				ref = atts[0].Handle
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the attempt did not start on slurm within 30 s")
		}
	}
	stopFirst()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, _ := e.store.PipelineRun(ctx, r.ID); got.State != pipeline.Running {
		t.Fatalf("after the first server stopped the run is %s; want still running", got.State)
	}
	if alive, err := b.Alive(ref); !alive || err != nil {
		t.Fatalf("job %s alive %v, %v after the server stopped; want it running on", ref, alive, err)
	}
	second := e.pool(Deps{Backend: router}, policy)
	start(t, second)
	got := e.wait(r.ID, 60*time.Second)
	atts := e.attempts(r.ID)
	log := readLog(t, atts[0])
	if got.State != pipeline.Succeeded || len(atts) != 1 || atts[0].Handle != ref {
		t.Fatalf("run %s (%s), attempts %+v; want succeeded with the one attempt %s\n%s", got.State, got.Reason, atts, ref, log)
	}
	for _, want := range []string{"before", "detached from slurm job", "reattached to slurm job", "after the restart", "posml: exit 0"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// TestAdoptRemoteAcrossReplicas: two replicas on one PostgreSQL database;
// replica a starts a train attempt on Slurm and goes away; when its lease
// expires, replica b takes the lease over and the job back (instead of
// failing it "replica lost"), and the run ends with that one attempt.
func TestAdoptRemoteAcrossReplicas(t *testing.T) {
	b := slurmBackend(t)
	u := postgresURL(t)
	e := newEnv(t)
	e.store = openURL(t, u)
	ctx := context.Background()
	p := e.project("adoptlease", map[string]string{
		"src/config.yaml": configYAML("adoptlease", "retries: 0\nexecutor:\n  backend: slurm\n"),
		"src/train.py":    trainHeader + "print('before', flush=True)\ntime.sleep(5)\nprint('after the take-over')\n",
	})
	router := &executor.Router{Local: &executor.Local{}, Remote: map[string]executor.RemoteBackend{"slurm": b}}
	const lease = 2 * time.Second
	replica := func(id string) *Pool {
		st := openURL(t, u)
		r := sqlstore.Replica{ID: id, Host: "test", PID: os.Getpid(), StartedAt: time.Now(), LeaseTimeout: lease}
		return e.pool(Deps{Store: st, Leases: testLeases{st, r}, Backend: router}, func(c *Config) {
			c.ReplicaID, c.LeaseTimeout, c.Shared = id, lease, true
			c.RunsDir = filepath.Join(e.runsDir, id)
			c.Executor = pipeline.ExecutorPolicy{Allowed: []string{"local", "slurm"}}
		})
	}
	a := replica("a")
	actx, stopA := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	r, err := e.store.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual})
	if err != nil {
		t.Fatal(err)
	}
	a.Wake()
	var ref string
	for deadline := time.Now().Add(30 * time.Second); ref == ""; time.Sleep(100 * time.Millisecond) {
		if atts := e.attempts(r.ID); len(atts) == 1 && strings.HasPrefix(atts[0].Handle, "slurm:") {
			if log, _ := os.ReadFile(atts[0].LogPath); strings.Contains(string(log), "before") {
				ref = atts[0].Handle
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the attempt did not start on slurm within 30 s")
		}
	}
	stopA() // replica a goes away: its lease is no longer renewed
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	start(t, replica("b"))
	got := e.wait(r.ID, 60*time.Second)
	atts := e.attempts(r.ID)
	log := readLog(t, atts[0])
	if got.State != pipeline.Succeeded || len(atts) != 1 || atts[0].Handle != ref {
		t.Fatalf("run %s (%s), attempts %+v; want succeeded with the one attempt %s\n%s", got.State, got.Reason, atts, ref, log)
	}
	for _, want := range []string{"before", "reattached to slurm job", "after the take-over", "posml: exit 0"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}
