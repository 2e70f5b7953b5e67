package promotion_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/notify"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/promotion"
	"github.com/posml/posml/internal/runner"
	"github.com/posml/posml/internal/sqlstore"
	"github.com/posml/posml/internal/tracking"
)

type events struct {
	mu  sync.Mutex
	evs []notify.Event
}

func (e *events) Notify(_ context.Context, ev notify.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
}

type env struct {
	t       *testing.T
	ctx     context.Context
	s       *sqlstore.Store
	project pipeline.Project
	exp     string
	p       *promotion.Promoter
	ev      *events
	day     int
}

// opener opens a fresh, empty store.
type opener func(t *testing.T) *sqlstore.Store

// dialects runs f on SQLite and, when POSML_TEST_POSTGRES_URL is set, on a
// PostgreSQL schema of its own.
func dialects(t *testing.T, f func(t *testing.T, open opener)) {
	t.Run("sqlite", func(t *testing.T) {
		f(t, func(t *testing.T) *sqlstore.Store {
			s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "posml.db")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
	base := os.Getenv("POSML_TEST_POSTGRES_URL")
	if base == "" {
		return
	}
	t.Run("postgres", func(t *testing.T) {
		f(t, func(t *testing.T) *sqlstore.Store {
			var b [6]byte
			_, _ = rand.Read(b[:])
			schema := "t_" + hex.EncodeToString(b[:])
			admin, err := sql.Open("pgx", base)
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if a, err := sql.Open("pgx", base); err == nil {
					a.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
					a.Close()
				}
			})
			u, err := url.Parse(base)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: u.String()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

func newEnv(t *testing.T, open opener, st pipeline.Settings) *env {
	t.Helper()
	ctx := context.Background()
	s := open(t)
	p, err := s.CreateProject(ctx, pipeline.Project{Name: "iris", RepoURL: "/tmp/iris"}, pipeline.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddCommit(ctx, pipeline.Commit{ProjectID: p.ID, SHA: "c1", Valid: true, Settings: st}); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivateCommit(ctx, p.ID, "c1"); err != nil {
		t.Fatal(err)
	}
	exp, err := s.CreateExperiment(ctx, "iris", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range append([]string{st.RegisterModel}, st.ModelNames...) {
		if _, err := s.GetRegisteredModel(ctx, m); err != nil {
			if _, err := s.CreateRegisteredModel(ctx, m, nil, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	ev := &events{}
	return &env{t: t, ctx: ctx, s: s, project: p, exp: exp, p: promotion.New(s, ev, nil), ev: ev}
}

// trainRun creates a pipeline run.
func (e *env) trainRun() pipeline.Run {
	e.t.Helper()
	e.day++
	r, err := e.s.CreatePipelineRun(e.ctx, pipeline.Run{ProjectID: e.project.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual,
		LogicalDate: time.Date(2026, 1, e.day, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		e.t.Fatal(err)
	}
	r.Project = "iris"
	return r
}

// mlflowRun logs an MLflow run of pipeline run pr with metrics, a logged
// model at artifactPath ("" for none) and tags.
func (e *env) mlflowRun(pr pipeline.Run, metrics map[string]float64, artifactPath string, tags ...tracking.Tag) string {
	e.t.Helper()
	r, err := e.s.CreateRun(e.ctx, sqlstore.NewRun{ExperimentID: e.exp, StartTime: 1, Tags: tags})
	if err != nil {
		e.t.Fatal(err)
	}
	id := r.Info.RunID
	var ms []tracking.Metric
	for k, v := range metrics {
		ms = append(ms, tracking.Metric{Key: k, Value: v, Timestamp: 1})
	}
	if err := e.s.LogBatch(e.ctx, id, ms, nil, nil); err != nil {
		e.t.Fatal(err)
	}
	if artifactPath != "" {
		model := map[string]any{"artifact_path": artifactPath, "flavors": map[string]any{}, "utc_time_created": "2026-01-01 00:00:00.000000", "run_id": id}
		if err := e.s.RecordLoggedModel(e.ctx, id, model); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := e.s.AddRunOutput(e.ctx, pipeline.Output{RunID: pr.ID, MLflowRunID: id}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) decide(pr pipeline.Run, st promotion.Settings) []lineage.Decision {
	e.t.Helper()
	ds, err := e.p.Decide(e.ctx, pr, st)
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

// aliases returns alias → version of a model.
func (e *env) aliases(model string) map[string]int64 {
	e.t.Helper()
	rm, err := e.s.GetRegisteredModel(e.ctx, model)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, a := range rm.Aliases {
		out[a.Alias] = a.Version
	}
	return out
}

func val(_ lineage.Decision, p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}

func one(t *testing.T, ds []lineage.Decision) lineage.Decision {
	t.Helper()
	if len(ds) != 1 {
		t.Fatalf("decisions = %+v; want one", ds)
	}
	return ds[0]
}

func TestChampionChallenger(t *testing.T) { dialects(t, testChampionChallenger) }

func testChampionChallenger(t *testing.T, open opener) {
	st := pipeline.Settings{ModelNames: []string{"knn"}, RegisterModel: "knn", TargetMetric: "accuracy_score", Direction: "maximize"}
	e := newEnv(t, open, st)
	ps := promotion.SettingsOf(st)

	// Run 1: three candidates (as the seed logs k = 2, 3, 4); the best
	// becomes version 1 and champion.
	r1 := e.trainRun()
	e.mlflowRun(r1, map[string]float64{"accuracy_score": 0.9333}, "models")
	best := e.mlflowRun(r1, map[string]float64{"accuracy_score": 0.9667}, "models")
	e.mlflowRun(r1, map[string]float64{"accuracy_score": 0.95}, "models")
	e.mlflowRun(r1, map[string]float64{"accuracy_score": 0.99}, "") // logged no model: no candidate
	d := one(t, e.decide(r1, ps))
	if d.Outcome != lineage.Registered || d.NewVersion != 1 || d.CandidateRunID != best || val(d, d.CandidateValue) != 0.9667 ||
		d.ChampionVersion != 0 || d.ChampionValue != nil || !strings.Contains(d.Reason, "first version") || !d.AliasMoved {
		t.Fatalf("run 1 decision = %+v", d)
	}
	mv, err := e.s.GetModelVersion(e.ctx, "knn", 1)
	if err != nil {
		t.Fatal(err)
	}
	if mv.RunID != best || !strings.HasSuffix(mv.Source, "/"+best+"/artifacts/models") {
		t.Errorf("version 1 = %+v; want the best run's models/", mv)
	}
	if got := e.aliases("knn"); got["champion"] != 1 {
		t.Errorf("aliases = %v; want champion 1", got)
	}
	outs, _ := e.s.RunOutputs(e.ctx, r1.ID)
	if last := outs[len(outs)-1]; last.ModelName != "knn" || last.ModelVersion != 1 {
		t.Errorf("run outputs end with %+v; want knn version 1", last)
	}

	// Calling again changes nothing.
	if again := one(t, e.decide(r1, ps)); again.ID != d.ID {
		t.Errorf("second Decide = %+v; want the stored decision", again)
	}

	// Run 2: worse → held, both values stored.
	r2 := e.trainRun()
	e.mlflowRun(r2, map[string]float64{"accuracy_score": 0.9}, "models")
	d = one(t, e.decide(r2, ps))
	if d.Outcome != lineage.Held || d.NewVersion != 0 || val(d, d.CandidateValue) != 0.9 || val(d, d.ChampionValue) != 0.9667 ||
		d.ChampionVersion != 1 || d.ChampionRunID != best || d.Direction != "maximize" {
		t.Fatalf("run 2 decision = %+v", d)
	}

	// Run 3: better → version 2, champion moves, previous-champion kept.
	r3 := e.trainRun()
	e.mlflowRun(r3, map[string]float64{"accuracy_score": 0.98}, "models")
	d = one(t, e.decide(r3, ps))
	if d.Outcome != lineage.Registered || d.NewVersion != 2 || d.ChampionVersion != 1 || val(d, d.ChampionValue) != 0.9667 {
		t.Fatalf("run 3 decision = %+v", d)
	}
	if got := e.aliases("knn"); got["champion"] != 2 || got["previous-champion"] != 1 {
		t.Errorf("aliases = %v; want champion 2, previous-champion 1", got)
	}

	// Run 4: a candidate without the metric is held, with the reason.
	r4 := e.trainRun()
	e.mlflowRun(r4, map[string]float64{"f1_score": 0.99}, "models")
	d = one(t, e.decide(r4, ps))
	if d.Outcome != lineage.Held || !strings.Contains(d.Reason, "accuracy_score") {
		t.Errorf("run 4 decision = %+v", d)
	}

	// The store lists them for the API.
	all, err := e.s.PromotionDecisionsOfProject(e.ctx, e.project.ID, 0)
	if err != nil || len(all) != 4 {
		t.Errorf("PromotionDecisionsOfProject = %d decisions, %v; want 4", len(all), err)
	}
	kinds := map[notify.Kind]int{}
	for _, ev := range e.ev.evs {
		kinds[ev.Kind]++
	}
	if kinds[notify.Promotion] != 2 || kinds[notify.Hold] != 2 {
		t.Errorf("notifications = %v; want 2 promotions and 2 holds", kinds)
	}
}

func TestLowerIsBetter(t *testing.T) { dialects(t, testLowerIsBetter) }

func testLowerIsBetter(t *testing.T, open opener) {
	st := pipeline.Settings{ModelNames: []string{"knn"}, RegisterModel: "knn", TargetMetric: "log_loss", Direction: "minimize"}
	e := newEnv(t, open, st)
	ps := promotion.SettingsOf(st)
	r1 := e.trainRun()
	e.mlflowRun(r1, map[string]float64{"log_loss": 0.5}, "models")
	low := e.mlflowRun(r1, map[string]float64{"log_loss": 0.3}, "models")
	if d := one(t, e.decide(r1, ps)); d.Outcome != lineage.Registered || d.CandidateRunID != low {
		t.Fatalf("run 1 = %+v; want the lower log_loss registered", d)
	}
	r2 := e.trainRun()
	e.mlflowRun(r2, map[string]float64{"log_loss": 0.4}, "models") // higher: worse
	if d := one(t, e.decide(r2, ps)); d.Outcome != lineage.Held || val(d, d.ChampionValue) != 0.3 || d.Direction != "minimize" {
		t.Fatalf("run 2 = %+v; want held", d)
	}
	r3 := e.trainRun()
	e.mlflowRun(r3, map[string]float64{"log_loss": 0.1}, "models")
	// Promote, as the runner calls it, reads the settings of the run's commit.
	if err := e.p.Promote(e.ctx, r3); err != nil {
		t.Fatal(err)
	}
	ds, err := e.s.PromotionDecisionsOfRun(e.ctx, r3.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := one(t, ds); d.Outcome != lineage.Registered || d.NewVersion != 2 || d.Metric != "log_loss" {
		t.Fatalf("run 3 = %+v; want registered", d)
	}
}

func TestScriptRegistered(t *testing.T) { dialects(t, testScriptRegistered) }

func testScriptRegistered(t *testing.T, open opener) {
	st := pipeline.Settings{ModelNames: []string{"knn"}, RegisterModel: "knn", TargetMetric: "accuracy_score", Direction: "maximize"}
	for _, autoAlias := range []bool{false, true} {
		e := newEnv(t, open, st)
		ps := promotion.SettingsOf(st)
		ps.AutoAlias = autoAlias
		r1 := e.trainRun()
		id := e.mlflowRun(r1, map[string]float64{"accuracy_score": 0.9}, "models")
		// The script registers version 1 itself (seen through its token).
		mv, err := e.s.CreateModelVersion(e.ctx, sqlstore.NewModelVersion{Name: "knn", Source: "mlflow-artifacts:/1/" + id + "/artifacts/models", RunID: id})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.s.AddRunOutput(e.ctx, pipeline.Output{RunID: r1.ID, MLflowRunID: id, ModelName: "knn", ModelVersion: int(mv.Version)}); err != nil {
			t.Fatal(err)
		}
		d := one(t, e.decide(r1, ps))
		if d.Outcome != lineage.Recorded || d.NewVersion != 1 || d.AliasMoved != autoAlias || val(d, d.CandidateValue) != 0.9 {
			t.Errorf("auto_alias %v: decision = %+v", autoAlias, d)
		}
		if _, err := e.s.GetModelVersion(e.ctx, "knn", 2); err == nil {
			t.Errorf("auto_alias %v: posml registered a second version", autoAlias)
		}
		if got := e.aliases("knn"); (got["champion"] == 1) != autoAlias {
			t.Errorf("auto_alias %v: aliases = %v", autoAlias, got)
		}
		if d.ChampionVersion != 0 {
			t.Errorf("auto_alias %v: champion version %d; want none", autoAlias, d.ChampionVersion)
		}
		// The seed's second run registers nothing and scores the same: held,
		// against version 1 whether or not it is the champion.
		r2 := e.trainRun()
		e.mlflowRun(r2, map[string]float64{"accuracy_score": 0.9}, "models")
		d = one(t, e.decide(r2, ps))
		if d.Outcome != lineage.Held || d.ChampionVersion != 1 || val(d, d.ChampionValue) != 0.9 {
			t.Errorf("auto_alias %v: run 2 decision = %+v; want held against version 1", autoAlias, d)
		}
	}
}

func TestSeveralModels(t *testing.T) { dialects(t, testSeveralModels) }

func testSeveralModels(t *testing.T, open opener) {
	st := pipeline.Settings{ModelNames: []string{"knn", "svm", "tree"}, RegisterModel: "knn", TargetMetric: "accuracy_score", Direction: "maximize"}
	e := newEnv(t, open, st)
	ps := promotion.SettingsOf(st)
	r1 := e.trainRun()
	knn := e.mlflowRun(r1, map[string]float64{"accuracy_score": 0.8}, "models", tracking.Tag{Key: lineage.TagModel, Value: "knn"})
	e.mlflowRun(r1, map[string]float64{"accuracy_score": 0.99}, "svm") // by artifact path
	svm := e.mlflowRun(r1, map[string]float64{"accuracy_score": 0.7}, "svm")
	_ = svm
	ds := e.decide(r1, ps)
	if len(ds) != 3 {
		t.Fatalf("decisions = %+v; want one per model", ds)
	}
	byModel := map[string]lineage.Decision{}
	for _, d := range ds {
		byModel[d.ModelName] = d
	}
	if d := byModel["knn"]; d.Outcome != lineage.Registered || d.CandidateRunID != knn {
		t.Errorf("knn = %+v", d)
	}
	if d := byModel["svm"]; d.Outcome != lineage.Registered || val(d, d.CandidateValue) != 0.99 {
		t.Errorf("svm = %+v", d)
	}
	if d := byModel["tree"]; d.Outcome != lineage.Held || !strings.Contains(d.Reason, "no MLflow run") {
		t.Errorf("tree = %+v", d)
	}
	mv, _ := e.s.GetModelVersion(e.ctx, "svm", 1)
	if !strings.HasSuffix(mv.Source, "/artifacts/svm") {
		t.Errorf("svm version source = %q; want the svm artifact path", mv.Source)
	}
}

// The runner calls a Promoter after each succeeded train run.
var _ runner.Promoter = (*promotion.Promoter)(nil)
