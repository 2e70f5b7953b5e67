package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/datamart"
	"github.com/posml/posml/internal/mlflowapi"
	"github.com/posml/posml/internal/projects"
	"github.com/posml/posml/internal/restapi"
	"github.com/posml/posml/internal/runner"
	"github.com/posml/posml/internal/server"
	"github.com/posml/posml/internal/sqlstore"
	"github.com/posml/posml/internal/tracking"
	"github.com/posml/posml/internal/web"
)

// Sizes of the seeded store.
const (
	seedRuns    = 30     // runs of the "churn" experiment
	longHistory = 100000 // points of the long metric
)

// fixture is a running server over a seeded store.
type fixture struct {
	URL     string
	Store   *sqlstore.Store
	ExpID   string
	RunIDs  []string // of "churn", oldest first
	LongRun string   // the run with the long metric history
	Model   string
	Pipes   pipes // the seeded projects, pipeline runs and mart
}

// newFixture starts posml's real HTTP server (API, artifact proxy and UI)
// over a SQLite store seeded through sqlstore methods.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(dir, "posml.db") + "?synchronous=normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	art, err := artifact.OpenLocal(artifact.LocalConfig{Dir: filepath.Join(dir, "artifacts")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { art.Close() })
	f := &fixture{Store: store, Model: "churn-model"}
	seed(t, ctx, f, art)
	marts := datamart.New(store, datamart.Config{Dir: filepath.Join(dir, "marts")})
	seedPipelines(t, ctx, f, marts, filepath.Join(dir, "runs"))
	// The services of posml server: the project registry, the runner pool
	// (not running: queued runs stay queued), the REST API for the logs.
	projs := projects.New(store, store, projects.Config{Dir: filepath.Join(dir, "repos")}, nil)
	pool := runner.New(runner.Deps{Store: store}, runner.Config{RunsDir: filepath.Join(dir, "runs")}, nil)
	srv := server.New(server.Config{
		Tracking:  mlflowapi.Handler(store, art, nil),
		Artifacts: artifact.Handler(art, nil),
		Native: restapi.Handler(restapi.Config{Projects: projs, Runs: store, PollInterval: 50 * time.Millisecond,
			OutputsFunc: store.RunOutputs, DecisionsFunc: store.PromotionDecisionsOfRun}),
		UI: web.Handler(web.Deps{Store: store, Artifacts: art, Pipelines: store, Projects: projs, Runs: pool, Marts: marts}, web.Options{}),
	})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	f.URL = ts.URL
	return f
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func seed(t testing.TB, ctx context.Context, f *fixture, art artifact.Store) {
	t.Helper()
	s := f.Store
	f.ExpID = must[string](t)(s.CreateExperiment(ctx, "churn", "", nil))
	statuses := []tracking.RunStatus{tracking.RunFinished, tracking.RunFinished, tracking.RunFailed, tracking.RunRunning, tracking.RunKilled}
	const t0 = int64(1767225600000) // 2026-01-01
	for i := range seedRuns {
		run := must[tracking.Run](t)(s.CreateRun(ctx, sqlstore.NewRun{ExperimentID: f.ExpID, RunName: fmt.Sprintf("run-%02d", i),
			StartTime: t0 + int64(i)*60000, UserID: "alice", Tags: []tracking.Tag{{Key: "team", Value: "growth"}}}))
		id := run.Info.RunID
		f.RunIDs = append(f.RunIDs, id)
		alpha := []string{"0.1", "0.5", "1.0"}[i%3]
		metrics := []tracking.Metric{{Key: "rmse", Value: 1 - float64(i)/100, Timestamp: t0, Step: 0}, {Key: "auc", Value: 0.5 + float64(i)/100, Timestamp: t0, Step: 0}}
		for step := range int64(20) {
			metrics = append(metrics, tracking.Metric{Key: "loss", Value: 1 / float64(step+1+int64(i)), Timestamp: t0 + step, Step: step})
		}
		if err := s.LogBatch(ctx, id, metrics, []tracking.Param{{Key: "alpha", Value: alpha}, {Key: "model", Value: "xgboost"}}, nil); err != nil {
			t.Fatal(err)
		}
		st, end := statuses[i%len(statuses)], t0+int64(i)*60000+45000
		if st == tracking.RunRunning {
			continue
		}
		if _, err := s.UpdateRun(ctx, id, sqlstore.RunUpdate{Status: &st, EndTime: &end}); err != nil {
			t.Fatal(err)
		}
	}
	// The newest run has a 100 000-point history with one spike.
	f.LongRun = f.RunIDs[len(f.RunIDs)-1]
	batch := make([]tracking.Metric, 0, 1000)
	for step := range int64(longHistory) {
		v := 1 / float64(step+1)
		if step == 54321 {
			v = 42 // the spike a naive stride would miss
		}
		batch = append(batch, tracking.Metric{Key: "train_loss", Value: v, Timestamp: t0 + step, Step: step})
		if len(batch) == cap(batch) {
			if err := s.LogBatch(ctx, f.LongRun, batch, nil, nil); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	// Artifacts of the long run.
	root := artifact.RunRoot(f.ExpID, f.LongRun)
	files := map[string][]byte{
		"notes.txt":       []byte("hello <b>artifacts</b>\n"),
		"model/MLmodel":   []byte("flavors:\n  sklearn: {}\n"),
		"plots/curve.png": pngBytes,
		"plots/bad.svg":   []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`),
		"blob.bin":        {0, 1, 2, 255},
	}
	for p, b := range files {
		if _, err := art.Put(ctx, root+"/"+p, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	// A registered model: three versions; the champion moves from 1 to 2.
	if _, err := s.CreateRegisteredModel(ctx, f.Model, nil, "Predicts churn."); err != nil {
		t.Fatal(err)
	}
	for _, id := range f.RunIDs[:3] {
		if _, err := s.CreateModelVersion(ctx, sqlstore.NewModelVersion{Name: f.Model, Source: "runs:/" + id + "/model", RunID: id}); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []int64{1, 2} {
		if err := s.SetRegisteredModelAlias(ctx, f.Model, "champion", v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.TransitionModelVersionStage(ctx, f.Model, 2, "Production", false); err != nil {
		t.Fatal(err)
	}
	// A name that needs escaping in a path.
	if _, err := s.CreateRegisteredModel(ctx, "team/churn 50%?", nil, ""); err != nil {
		t.Fatal(err)
	}
}

// pngBytes is a 1×1 PNG.
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")

// get fetches a path and returns the status, the headers and the body.
func (f *fixture) get(t testing.TB, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(f.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// page fetches a path and fails unless the status is want.
func (f *fixture) page(t testing.TB, path string, want int) string {
	t.Helper()
	status, _, body := f.get(t, path)
	if status != want {
		t.Fatalf("GET %s = %d; want %d\n%s", path, status, want, truncate(body))
	}
	return body
}

func truncate(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

// contains fails for each want that body lacks.
func contains(t testing.TB, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}
