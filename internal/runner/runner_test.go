package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml/internal/executor"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/pyenv"
)

type fakeTokens struct{ revoked chan pipeline.RunID }

func (f *fakeTokens) Issue(_ context.Context, run pipeline.Run) (string, error) {
	return "tok-" + run.ID.String(), nil
}

func (f *fakeTokens) Revoke(_ context.Context, id pipeline.RunID) error {
	f.revoked <- id
	return nil
}

type fakePromoter struct{ promoted chan pipeline.Run }

func (f *fakePromoter) Promote(_ context.Context, run pipeline.Run) error {
	f.promoted <- run
	return nil
}

// TestTrainRun: a manual train run gets the checkout, the system config
// and exactly the environment of issue 5 item 3; it succeeds, its token is
// revoked and it is promoted.
func TestTrainRun(t *testing.T) {
	e := newEnv(t)
	p := e.project("iris", map[string]string{
		"config.yaml":     "mlflow:\n  tracking_uri: http://repo-own/\nminio: {key: x}\n",
		"src/config.yaml": configYAML("iris", "mlflow:\n  target_metric: accuracy_score\n  experiment_name: iris-exp\n"),
		"src/train.py": trainHeader + `
def train():
    for k in sorted(os.environ):
        print("ENV %s=%s" % (k, os.environ[k]))
    print("CONFIG<<" + open(os.path.join(SRC_HOME, "..", "config.yaml")).read() + ">>")
    print("CWD " + os.getcwd())

if __name__ == "__main__":
    train()
`,
	})
	toks := &fakeTokens{revoked: make(chan pipeline.RunID, 4)}
	prom := &fakePromoter{promoted: make(chan pipeline.Run, 4)}
	ended := make(chan pipeline.Run, 4)
	pool := e.pool(Deps{Tokens: toks, Promoter: prom}, func(c *Config) {
		c.SDKDir = "/opt/posml-sdk"
		c.EndedFunc = func(r pipeline.Run) { ended <- r }
	})
	start(t, pool)
	logical := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	run, err := pool.Enqueue(context.Background(), pipeline.Run{ProjectID: p.ID, LogicalDate: logical,
		DataInterval: pipeline.Interval{Start: logical.Add(-time.Hour), End: logical},
		Conf:         map[string]any{"epochs": 5, "mlflow": map[string]any{"tracking_uri": "x", "auto_alias": true}}})
	if err != nil {
		t.Fatal(err)
	}
	if run.Commit != p.ActiveCommit || run.MaxAttempts != 2 || run.Cause != pipeline.CauseManual {
		t.Errorf("enqueued %+v", run)
	}
	got := e.wait(run.ID, 20*time.Second)
	atts := e.attempts(run.ID)
	log := readLog(t, atts[0])
	if got.State != pipeline.Succeeded || len(atts) != 1 || atts[0].ExitCode != 0 {
		t.Fatalf("run %s, attempts %+v\n%s", got.State, atts, log)
	}
	var envs []string
	for _, line := range strings.Split(log, "\n") {
		if v, ok := strings.CutPrefix(line, "ENV "); ok {
			envs = append(envs, v)
		}
	}
	want := []string{
		"HOME=" + e.home,
		"LANG=C.UTF-8",
		"MLFLOW_EXPERIMENT_NAME=iris-exp",
		"MLFLOW_TRACKING_TOKEN=tok-" + run.ID.String(),
		"MLFLOW_TRACKING_URI=http://127.0.0.1:5999",
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"POSML_DATA_INTERVAL_END=2026-03-02T01:00:00Z",
		"POSML_DATA_INTERVAL_START=2026-03-02T00:00:00Z",
		"POSML_GIT_COMMIT=" + p.ActiveCommit,
		"POSML_LOGICAL_DATE=2026-03-02T01:00:00Z",
		"POSML_PROJECT=iris",
		"POSML_RUN_ID=" + run.ID.String(),
		"PYTHONPATH=/opt/posml-sdk",
		"PYTHONUNBUFFERED=1",
	}
	// Python itself may add LC_CTYPE (PEP 538 locale coercion).
	envs = slices.DeleteFunc(envs, func(s string) bool { return strings.HasPrefix(s, "LC_CTYPE=") })
	if !slices.Equal(envs, want) {
		t.Errorf("environment:\n got %q\nwant %q", envs, want)
	}
	wantCfg := `mlflow:
  tracking_uri: "http://127.0.0.1:5999"
  experiment_name: "iris-exp"
  register_model: "iris_model"
  "auto_alias": true
"epochs": 5
`
	if !strings.Contains(log, wantCfg) || strings.Contains(log, "minio") {
		t.Errorf("system config not as expected:\n%s", log)
	}
	if !strings.Contains(log, "CWD "+filepath.Join(e.runsDir, run.ID.String())) {
		t.Errorf("not run in runs/<id>:\n%s", log)
	}
	if id := <-toks.revoked; id != run.ID {
		t.Errorf("revoked %s", id)
	}
	if r := <-prom.promoted; r.ID != run.ID || r.State != pipeline.Running {
		t.Errorf("promoted %+v", r)
	}
	if r := <-ended; r.ID != run.ID {
		t.Errorf("EndedFunc %+v", r)
	}
	if _, err := os.Stat(filepath.Join(e.runsDir, run.ID.String())); !os.IsNotExist(err) {
		t.Errorf("work directory kept: %v", err)
	}
}

// TestTimeoutAndRetries: a failing attempt is retried after retry_delay; a
// run past train_timeout ends timed_out once its retries are spent.
func TestTimeoutAndRetries(t *testing.T) {
	e := newEnv(t)
	flaky := e.project("flaky", map[string]string{
		"src/config.yaml": configYAML("flaky", "retries: 2\nretry_delay: 300ms\n"),
		"src/train.py": trainHeader + `
marker = os.path.join(os.environ["HOME"], "flaky-" + os.environ["POSML_RUN_ID"])
n = int(open(marker).read()) if os.path.exists(marker) else 0
open(marker, "w").write(str(n + 1))
if n < 1:
    print("failing on purpose")
    sys.exit(3)
print("ok on attempt", n + 1)
`,
	})
	slow := e.project("slow", map[string]string{
		"src/config.yaml": configYAML("slow", "retries: 1\nretry_delay: 0s\ntrain_timeout: 700ms\n"),
		"src/train.py":    trainHeader + "print('sleeping', flush=True)\ntime.sleep(30)\n",
	})
	pool := e.pool(Deps{}, nil)
	start(t, pool)
	ctx := context.Background()
	r1, err := pool.Enqueue(ctx, pipeline.Run{ProjectID: flaky.ID})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := pool.Enqueue(ctx, pipeline.Run{ProjectID: slow.ID})
	if err != nil {
		t.Fatal(err)
	}
	got := e.wait(r1.ID, 20*time.Second)
	atts := e.attempts(r1.ID)
	if got.State != pipeline.Succeeded || len(atts) != 2 || atts[0].State != pipeline.Failed || atts[0].ExitCode != 3 || atts[1].ExitCode != 0 {
		t.Errorf("flaky: run %s attempts %+v", got.State, atts)
	}
	if len(atts) == 2 {
		if gap := atts[1].StartedAt.Sub(atts[0].EndedAt); gap < 250*time.Millisecond {
			t.Errorf("retry after %s; want retry_delay 300ms", gap)
		}
		if log := readLog(t, atts[0]); !strings.Contains(log, "failing on purpose") || !strings.Contains(log, "retrying after 300ms") {
			t.Errorf("attempt 1 log:\n%s", log)
		}
	}
	got = e.wait(r2.ID, 20*time.Second)
	atts = e.attempts(r2.ID)
	if got.State != pipeline.TimedOut || len(atts) != 2 || atts[0].State != pipeline.TimedOut || atts[1].State != pipeline.TimedOut {
		t.Errorf("slow: run %s (%s) attempts %+v", got.State, got.Reason, atts)
	}
	if len(atts) > 0 && !strings.Contains(atts[0].Error, "timed out after 700ms") {
		t.Errorf("slow: attempt error %q", atts[0].Error)
	}
}

// TestCancel: canceling a running run stops its process group; a queued
// one ends at once.
func TestCancel(t *testing.T) {
	e := newEnv(t)
	p := e.project("sleepy", map[string]string{
		"src/config.yaml": configYAML("sleepy", ""),
		"src/train.py":    trainHeader + "print('started', flush=True)\ntime.sleep(60)\n",
	})
	pool := e.pool(Deps{}, nil)
	start(t, pool)
	ctx := context.Background()
	r1, _ := pool.Enqueue(ctx, pipeline.Run{ProjectID: p.ID})
	r2, _ := pool.Enqueue(ctx, pipeline.Run{ProjectID: p.ID}) // held by max_active_runs 1
	e.waitState(r1.ID, pipeline.Running, 10*time.Second)
	waitLog(t, e, r1.ID, "started")
	if got, err := pool.Cancel(ctx, r2.ID, "not needed"); err != nil || got.State != pipeline.Canceled {
		t.Fatalf("cancel queued: %+v %v", got, err)
	}
	t0 := time.Now()
	if _, err := pool.Cancel(ctx, r1.ID, "stop it"); err != nil {
		t.Fatal(err)
	}
	got := e.wait(r1.ID, 10*time.Second)
	if got.State != pipeline.Canceled || time.Since(t0) > 3*time.Second {
		t.Errorf("run %s after %s", got.State, time.Since(t0))
	}
	if atts := e.attempts(r1.ID); len(atts) != 1 || atts[0].State != pipeline.Canceled {
		t.Errorf("attempts %+v", atts)
	}
	// Retry: the canceled run runs again (and is canceled through the store,
	// as another server's API would).
	if _, err := pool.Retry(ctx, r1.ID); err != nil {
		t.Fatal(err)
	}
	e.waitState(r1.ID, pipeline.Running, 10*time.Second)
	if _, err := e.store.RequestCancel(ctx, r1.ID, "via store"); err != nil {
		t.Fatal(err)
	}
	if got := e.wait(r1.ID, 10*time.Second); got.State != pipeline.Canceled || got.Attempts != 2 {
		t.Errorf("after retry and cancel: %+v", got)
	}
}

func waitLog(t *testing.T, e *env, id pipeline.RunID, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if atts := e.attempts(id); len(atts) > 0 {
			if b, err := os.ReadFile(atts[len(atts)-1].LogPath); err == nil && strings.Contains(string(b), text) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("run %s never logged %q", id, text)
}

// TestQueueing: at most MaxParallel processes at once, at most
// max_active_runs per pipeline, and runs start in fire order.
func TestQueueing(t *testing.T) {
	e := newEnv(t)
	script := trainHeader + `
t0 = time.time()
time.sleep(0.3)
open(os.path.join(os.environ["HOME"], "span-" + os.environ["POSML_RUN_ID"]), "w").write("%s %f %f" % (os.environ["POSML_PROJECT"], t0, time.time()))
`
	a := e.project("a", map[string]string{"src/config.yaml": configYAML("a", "max_active_runs: 2\n"), "src/train.py": script})
	b := e.project("b", map[string]string{"src/config.yaml": configYAML("b", ""), "src/train.py": script})
	c := e.project("c", map[string]string{"src/config.yaml": configYAML("c", ""), "src/train.py": script})
	pool := e.pool(Deps{}, func(c *Config) { c.MaxParallel = 3 })
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	var ids []pipeline.RunID
	for i := range 4 {
		for _, p := range []pipeline.Project{a, b, c} {
			r, err := pool.Enqueue(ctx, pipeline.Run{ProjectID: p.ID, FireAt: base.Add(time.Duration(i) * time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
		}
	}
	start(t, pool)
	type span struct {
		proj       string
		start, end float64
		id         pipeline.RunID
	}
	var spans []span
	for _, id := range ids {
		if r := e.wait(id, 60*time.Second); r.State != pipeline.Succeeded {
			t.Fatalf("run %s %s", id, r.State)
		}
		b, err := os.ReadFile(filepath.Join(e.home, "span-"+id.String()))
		if err != nil {
			t.Fatal(err)
		}
		var s span
		fmt.Sscanf(string(b), "%s %f %f", &s.proj, &s.start, &s.end)
		s.id = id
		spans = append(spans, s)
	}
	maxAll, maxPer := 0, map[string]int{}
	for _, s := range spans {
		all, per := 0, 0
		for _, o := range spans {
			if o.start <= s.start && s.start < o.end {
				all++
				if o.proj == s.proj {
					per++
				}
			}
		}
		maxAll = max(maxAll, all)
		maxPer[s.proj] = max(maxPer[s.proj], per)
	}
	if maxAll > 3 || maxPer["a"] > 2 || maxPer["b"] > 1 || maxPer["c"] > 1 {
		t.Errorf("overlap: %d at once (max 3), per project %v (max a:2 b:1 c:1)", maxAll, maxPer)
	}
	if maxAll < 3 {
		t.Errorf("never 3 at once: the pool does not use its slots")
	}
	// Per project, runs start in fire order.
	for _, proj := range []string{"a", "b", "c"} {
		var ps []span
		for _, s := range spans {
			if s.proj == proj {
				ps = append(ps, s)
			}
		}
		if !sort.SliceIsSorted(ps, func(i, j int) bool { return ps[i].start < ps[j].start }) {
			t.Errorf("project %s: runs did not start in fire order: %+v", proj, ps)
		}
	}
}

// TestRecover simulates kill -9 of the server: attempts recorded as running
// whose process is gone (or still there) are ended "server restarted" and
// retried if attempts remain, else failed.
func TestRecover(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.project("crash", map[string]string{
		"src/config.yaml": configYAML("crash", "retries: 1\nmax_active_runs: 3\n"),
		"src/train.py":    trainHeader + "print('attempt ran')\n",
	})
	// The "previous server": three runs with a running attempt each.
	mk := func(maxAttempts int) (pipeline.Run, pipeline.Attempt) {
		r, err := e.store.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual, MaxAttempts: maxAttempts})
		if err != nil {
			t.Fatal(err)
		}
		_, a, ok, err := e.store.StartAttempt(ctx, r.ID, time.Now(), func(n int) string {
			return filepath.Join(e.runsDir, "logs", r.ID.String(), strconv.Itoa(n)+".log")
		})
		if err != nil || !ok {
			t.Fatalf("StartAttempt: %v %v", ok, err)
		}
		return r, a
	}
	// 1: its process was killed with the server (kill -9 of the group).
	gone, ga := mk(2)
	h, err := (&executor.Local{}).Start(ctx, executor.Spec{Dir: t.TempDir(), Python: "/bin/sleep", Args: []string{"60"}, LogPath: ga.LogPath})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetAttemptProcess(ctx, gone.ID, ga.N, h.PID(), h.Ref()); err != nil {
		t.Fatal(err)
	}
	if err := killGroup(h.PID()); err != nil {
		t.Fatal(err)
	}
	h.Wait()
	// 2: its process still runs (orphaned): stopped, then retried.
	alive, aa := mk(2)
	h2, err := (&executor.Local{}).Start(ctx, executor.Spec{Dir: t.TempDir(), Python: "/bin/sleep", Args: []string{"60"}, LogPath: aa.LogPath})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetAttemptProcess(ctx, alive.ID, aa.N, h2.PID(), h2.Ref()); err != nil {
		t.Fatal(err)
	}
	// 3: no attempt left: fails.
	last, _ := mk(1)

	pool := e.pool(Deps{}, nil)
	start(t, pool)
	for _, id := range []pipeline.RunID{gone.ID, alive.ID} {
		got := e.wait(id, 20*time.Second)
		atts := e.attempts(id)
		if got.State != pipeline.Succeeded || len(atts) != 2 || atts[0].State != pipeline.Failed || atts[0].Error != "server restarted" {
			t.Errorf("run %s: %s, attempts %+v", id, got.State, atts)
		}
		if log := readLog(t, atts[0]); !strings.Contains(log, "server restarted") {
			t.Errorf("attempt 1 log:\n%s", log)
		}
	}
	if res := h2.Wait(); res.State == executor.Succeeded {
		t.Errorf("leftover process not stopped: %+v", res)
	}
	if got := e.wait(last.ID, 5*time.Second); got.State != pipeline.Failed || got.Reason != "server restarted" || got.Attempts != 1 {
		t.Errorf("run without attempts left: %+v", got)
	}
}

// TestTrigger: train_trigger False until trigger_timeout → skipped; True →
// a train run (cause trigger) whose outcome the trigger run takes; an
// exception → failed with the traceback in the log.
func TestTrigger(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	proj := func(name, body string) pipeline.Project {
		return e.project(name, map[string]string{
			"src/config.yaml": configYAML(name, "train_trigger_start_date: \"2026-03-01 00:00:00\"\ntrain_trigger_schedule_interval: \"@hourly\"\n"+
				"trigger_timeout: 1500ms\ntrigger_poke_interval: 400ms\nretries: 0\n"),
			"src/train.py":         trainHeader + "print('trained')\n",
			"src/train_trigger.py": trainHeader + body,
		})
	}
	no := proj("nope", "def train_trigger(**conf):\n    print('poke', conf['proj_name'], conf['mlflow']['tracking_uri'])\n    return False\n")
	yes := proj("yep", "def train_trigger(proj_name, **conf):\n    return proj_name == 'yep'\n")
	boom := proj("boom", "def train_trigger(**conf):\n    raise ValueError('no data mart')\n")
	pool := e.pool(Deps{}, nil)
	start(t, pool)
	enq := func(p pipeline.Project) pipeline.Run {
		r, err := pool.Enqueue(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Trigger})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	rNo, rYes, rBoom := enq(no), enq(yes), enq(boom)

	got := e.wait(rNo.ID, 20*time.Second)
	log := readLog(t, e.attempts(rNo.ID)[0])
	if got.State != pipeline.Skipped || strings.Count(log, "poke nope http://127.0.0.1:5999") < 3 {
		t.Errorf("False: run %s (%s); want skipped after 3+ pokes\n%s", got.State, got.Reason, log)
	}

	got = e.wait(rYes.ID, 20*time.Second)
	children, _ := e.store.PipelineRuns(ctx, pipeline.RunFilter{ParentRunID: rYes.ID})
	if got.State != pipeline.Succeeded || len(children) != 1 {
		t.Fatalf("True: run %s (%s), children %+v", got.State, got.Reason, children)
	}
	c := children[0]
	if c.Pipeline != pipeline.Train || c.Cause != pipeline.CauseTrigger || c.State != pipeline.Succeeded || !c.LogicalDate.Equal(rYes.LogicalDate) {
		t.Errorf("train run %+v", c)
	}
	if log := readLog(t, e.attempts(c.ID)[0]); !strings.Contains(log, "trained") {
		t.Errorf("train log:\n%s", log)
	}

	got = e.wait(rBoom.ID, 20*time.Second)
	log = readLog(t, e.attempts(rBoom.ID)[0])
	if got.State != pipeline.Failed || !strings.Contains(log, "Traceback") || !strings.Contains(log, "ValueError: no data mart") || !strings.Contains(got.Reason, "train_trigger raised") {
		t.Errorf("exception: run %s (%s)\n%s", got.State, got.Reason, log)
	}
}

// TestShutdown: stopping the pool stops its attempts; their runs are queued
// again with the attempt given back, and the next pool runs them.
func TestShutdown(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.project("long", map[string]string{
		"src/config.yaml": configYAML("long", "retries: 0\n"),
		"src/train.py": trainHeader + `
marker = os.path.join(os.environ["HOME"], "long-" + os.environ["POSML_RUN_ID"])
if not os.path.exists(marker):
    open(marker, "w").write("1")
    print("first", flush=True)
    time.sleep(60)
print("second")
`,
	})
	pool := e.pool(Deps{}, nil)
	pctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- pool.Run(pctx) }()
	r, err := pool.Enqueue(ctx, pipeline.Run{ProjectID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, e, r.ID, "first")
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, _ := e.store.PipelineRun(ctx, r.ID)
	if got.State != pipeline.Queued || got.MaxAttempts != 2 {
		t.Fatalf("after shutdown: %+v; want queued with a second attempt", got)
	}
	start(t, e.pool(Deps{}, nil))
	got = e.wait(r.ID, 20*time.Second)
	atts := e.attempts(r.ID)
	if got.State != pipeline.Succeeded || len(atts) != 2 || atts[0].Error != "server stopped" {
		t.Errorf("run %s, attempts %+v", got.State, atts)
	}
}

// TestRequirements: with Deps.Envs, a project's requirements.txt selects a
// cached virtual environment; a failed build fails the run with pip's
// message in its log.
func TestRequirements(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a virtual environment")
	}
	e := newEnv(t)
	ctx := context.Background()
	script := trainHeader + "print('python', sys.prefix)\n"
	good := e.project("good", map[string]string{
		"src/config.yaml":  configYAML("good", "retries: 0\n"),
		"src/train.py":     script,
		"requirements.txt": "# nothing to fetch\n--no-index\n",
	})
	bad := e.project("bad", map[string]string{
		"src/config.yaml":  configYAML("bad", "retries: 0\n"),
		"src/train.py":     script,
		"requirements.txt": "--no-index\nposml-no-such-package==1.0\n",
	})
	envs := &pyenv.Cache{Dir: filepath.Join(e.runsDir, "..", "envs"), Base: python(t)}
	pool := e.pool(Deps{Envs: envs}, nil)
	start(t, pool)
	r1, _ := pool.Enqueue(ctx, pipeline.Run{ProjectID: good.ID})
	r2, _ := pool.Enqueue(ctx, pipeline.Run{ProjectID: bad.ID})
	got := e.wait(r1.ID, 60*time.Second)
	log := readLog(t, e.attempts(r1.ID)[0])
	if got.State != pipeline.Succeeded || !strings.Contains(log, "python "+filepath.Clean(filepath.Join(e.runsDir, "..", "envs"))) || !strings.Contains(log, "built the python environment") {
		t.Errorf("good: %s\n%s", got.State, log)
	}
	got = e.wait(r2.ID, 60*time.Second)
	log = readLog(t, e.attempts(r2.ID)[0])
	if got.State != pipeline.Failed || !strings.Contains(got.Reason, "pip install -r requirements.txt failed") || !strings.Contains(log, "posml-no-such-package") {
		t.Errorf("bad: %s (%s)\n%s", got.State, got.Reason, log)
	}
}

// TestFollow: Follow streams a running attempt's log until it ends, and
// reads an ended attempt's log from its file.
func TestFollow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.project("talk", map[string]string{
		"src/config.yaml": configYAML("talk", ""),
		"src/train.py":    trainHeader + "for i in range(5):\n    print('line', i, flush=True)\n    time.sleep(0.1)\n",
	})
	pool := e.pool(Deps{}, nil)
	start(t, pool)
	r, _ := pool.Enqueue(ctx, pipeline.Run{ProjectID: p.ID})
	waitLog(t, e, r.ID, "line 0")
	rc, err := pool.Follow(ctx, r.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !strings.Contains(string(b), "line 4") || !strings.Contains(string(b), "posml: exit 0") {
		t.Errorf("followed log (%v):\n%s", err, b)
	}
	e.wait(r.ID, 10*time.Second)
	rc, err = pool.Follow(ctx, r.ID, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := io.ReadAll(rc)
	rc.Close()
	if string(b2) != string(b[10:]) {
		t.Errorf("ended log from offset 10:\n%s\nwant\n%s", b2, b[10:])
	}
	if _, err := pool.Follow(ctx, r.ID, 2, 0); err == nil {
		t.Error("Follow of a missing attempt: no error")
	}
}

// TestRecoverTrigger: a trigger run whose server died while it waited for
// its train run waits for that same run after the restart; no second train
// run is started, even with no attempt left.
func TestRecoverTrigger(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.project("trig", map[string]string{
		"src/config.yaml":      configYAML("trig", "train_trigger_start_date: \"2026-03-01 00:00:00\"\ntrain_trigger_schedule_interval: \"@hourly\"\nretries: 0\n"),
		"src/train.py":         trainHeader + "print('trained')\n",
		"src/train_trigger.py": trainHeader + "def train_trigger(**conf):\n    raise RuntimeError('must not be called again')\n",
	})
	trig, err := e.store.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Trigger, Cause: pipeline.CauseSchedule})
	if err != nil {
		t.Fatal(err)
	}
	_, _, ok, err := e.store.StartAttempt(ctx, trig.ID, time.Now(), func(n int) string {
		return filepath.Join(e.runsDir, "logs", trig.ID.String(), strconv.Itoa(n)+".log")
	})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	child, err := e.store.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseTrigger, ParentRunID: trig.ID})
	if err != nil {
		t.Fatal(err)
	}
	start(t, e.pool(Deps{}, nil))
	got := e.wait(trig.ID, 20*time.Second)
	children, _ := e.store.PipelineRuns(ctx, pipeline.RunFilter{ParentRunID: trig.ID})
	if got.State != pipeline.Succeeded || len(children) != 1 || children[0].ID != child.ID || children[0].State != pipeline.Succeeded {
		t.Errorf("trigger run %s (%s); children %+v", got.State, got.Reason, children)
	}
	if atts := e.attempts(trig.ID); len(atts) != 2 || atts[0].Error != "server restarted" {
		t.Errorf("trigger attempts %+v", atts)
	}
}

// TestFollowTrigger: following a trigger run's attempt goes on across its
// pokes until the attempt ends.
func TestFollowTrigger(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.project("poky", map[string]string{
		"src/config.yaml": configYAML("poky", "train_trigger_start_date: \"2026-03-01 00:00:00\"\ntrain_trigger_schedule_interval: \"@hourly\"\n"+
			"trigger_timeout: 1s\ntrigger_poke_interval: 300ms\n"),
		"src/train.py":         trainHeader,
		"src/train_trigger.py": trainHeader + "def train_trigger(**conf):\n    print('poking', flush=True)\n    return False\n",
	})
	pool := e.pool(Deps{}, nil)
	start(t, pool)
	r, _ := pool.Enqueue(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Trigger})
	e.waitState(r.ID, pipeline.Running, 10*time.Second)
	waitLog(t, e, r.ID, "poking")
	rc, err := pool.Follow(ctx, r.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || strings.Count(string(b), "poking") < 3 || !strings.Contains(string(b), "skipped") {
		t.Errorf("followed trigger log (%v):\n%s", err, b)
	}
}
