package web_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/datamart"
	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/sqlstore"
	"github.com/posml/posml/internal/tracking"
	"github.com/posml/posml/internal/web"
)

// Size of the pipeline part of the benchmark store.
const (
	benchProjects      = 100
	benchPipelineRuns  = 100000
	benchModelVersions = 10
	benchMarts         = 10
	benchPipesBasename = "posml-web-bench-pipes-v1.db"
)

// benchPipes is what seedBenchPipes made, found again on later runs.
type benchPipes struct {
	Project string         // a project with runs of every state
	Run     pipeline.RunID // a succeeded train run with outputs, a decision and a mart read
	Failed  pipeline.RunID
	Model   string // its model version 1.. were made by pipeline runs
	Mart    string
}

// benchPipesStore opens (seeding it on first use) a copy of the MLflow
// benchmark store that also holds 100 projects with 100 000 pipeline runs,
// their attempts and outputs, promotion decisions, model versions made by
// pipeline runs, and marts with snapshots (kept next to the file).
func benchPipesStore(b *testing.B) (*sqlstore.Store, *datamart.Service, benchPipes) {
	b.Helper()
	ctx := context.Background()
	dir := os.Getenv("POSML_BENCH_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	file := filepath.Join(dir, benchPipesBasename)
	martDir := file + ".marts"
	if _, err := os.Stat(file); err != nil {
		seedBenchPipes(b, dir, file, martDir)
	}
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: file + "?synchronous=normal"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	marts := datamart.New(s, datamart.Config{Dir: martDir})
	bp := benchPipes{Project: "proj-042", Model: "bench-model", Mart: "mart-03"}
	mv, err := s.GetModelVersion(ctx, bp.Model, 1)
	if err != nil {
		b.Fatal(err)
	}
	if bp.Run, err = s.PipelineRunOf(ctx, mv.RunID); err != nil {
		b.Fatal(err)
	}
	p, err := s.ProjectByName(ctx, bp.Project)
	if err != nil {
		b.Fatal(err)
	}
	failed, err := s.PipelineRuns(ctx, pipeline.RunFilter{ProjectID: p.ID, States: []pipeline.State{pipeline.Failed}, Limit: 1})
	if err != nil || len(failed) == 0 {
		b.Fatal("no failed run", err)
	}
	bp.Failed = failed[0].ID
	return s, marts, bp
}

func seedBenchPipes(b *testing.B, dir, file, martDir string) {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	// The MLflow part: a copy of the (cached) store of BenchmarkPages.
	base, _ := benchStore(b)
	base.Close()
	seeding := file + ".seeding"
	for _, f := range []string{seeding, seeding + "-wal", seeding + "-shm"} {
		os.Remove(f)
	}
	os.RemoveAll(martDir)
	src, err := os.ReadFile(filepath.Join(dir, benchStoreBasename))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(seeding, src, 0o644); err != nil {
		b.Fatal(err)
	}
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: seeding + "?synchronous=normal"})
	if err != nil {
		b.Fatal(err)
	}
	must := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	exps, _, err := s.ExperimentSummaries(ctx, 10, 0)
	must(err)
	var exp string
	for _, e := range exps {
		if e.Name == "bench" {
			exp = e.ID
		}
	}
	mlRuns, _, err := s.SearchRuns(ctx, sqlstore.RunQuery{ExperimentIDs: []string{exp}, MaxResults: benchModelVersions, View: tracking.ViewActiveOnly})
	must(err)

	// Projects, each with an active commit and a newer invalid head.
	st := pipeline.Settings{
		Train:         pipeline.Spec{Expr: "@daily", TimeZone: "Europe/Berlin", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Mode: "trigger"},
		Trigger:       pipeline.Spec{Expr: "0 */6 * * *", TimeZone: "UTC", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Mode: "trigger"},
		MaxActiveRuns: 2, Retries: 1, RetryDelay: time.Minute, TrainTimeout: time.Hour,
		ModelNames: []string{"bench-model"}, ExperimentName: "bench", RegisterModel: "bench-model", TargetMetric: "auc", Direction: "maximize",
	}
	valid := `{"valid":true,"errors":0,"warnings":1,"diagnostics":[{"file":"config.yaml","line":3,"severity":1,"rule":"retries","message":"retries is high"}]}`
	invalid := `{"valid":false,"errors":1,"warnings":0,"diagnostics":[{"file":"src/train.py","line":12,"severity":0,"rule":"train-main-guard","message":"train.py runs training at import"}]}`
	var pids []pipeline.ProjectID
	for i := range benchProjects {
		p, err := s.CreateProject(ctx, pipeline.Project{Name: fmt.Sprintf("proj-%03d", i), RepoURL: fmt.Sprintf("https://git.example.com/ml/p%03d.git", i)}, pipeline.Credentials{})
		must(err)
		active, head := sha(1), sha(2)
		_, err = s.AddCommit(ctx, pipeline.Commit{ProjectID: p.ID, SHA: active, Valid: true, Validation: json.RawMessage(valid), Settings: st,
			Author: "alice", Message: "Train daily", CommittedAt: time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)})
		must(err)
		must(s.ActivateCommit(ctx, p.ID, active))
		_, err = s.AddCommit(ctx, pipeline.Commit{ProjectID: p.ID, SHA: head, Valid: false, Validation: json.RawMessage(invalid),
			Author: "bob", Message: "Broken refactor", CommittedAt: time.Date(2026, 1, 3, 9, 0, 0, 0, time.UTC)})
		must(err)
		must(s.SetProjectSynced(ctx, p.ID, head, time.Now(), ""))
		if i%10 == 9 {
			must(s.SetProjectPaused(ctx, p.ID, true))
		}
		pids = append(pids, p.ID)
	}
	_, err = s.CreateRegisteredModel(ctx, "bench-model", nil, "")
	must(err)
	for _, r := range mlRuns {
		_, err := s.CreateModelVersion(ctx, sqlstore.NewModelVersion{Name: "bench-model", Source: "runs:/" + r.Info.RunID + "/model", RunID: r.Info.RunID})
		must(err)
	}
	s.Close()

	// The pipeline runs, attempts and outputs in one transaction: runs
	// 1..N round-robin over the projects, one an hour; one in 20 failed
	// (two attempts), one in 100 canceled, one in 200 timed out, the
	// newest few queued or running, the rest succeeded; every succeeded
	// train run has an MLflow run output.
	db, err := sql.Open("sqlite", seeding)
	must(err)
	t0 := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	first := int64(pids[0])
	stmts := []string{
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %[1]d)
		INSERT INTO pipeline_runs (id, project_id, pipeline, commit_sha, state, cause, logical_date, interval_start, interval_end,
			fire_at, queued_at, started_at, ended_at, attempts, max_attempts)
		SELECT i, %[2]d + i %% %[3]d, CASE WHEN i %% 4 = 0 THEN 'trigger' ELSE 'train' END, '%[4]s',
			CASE WHEN i > %[1]d - 20 THEN 'queued' WHEN i > %[1]d - 40 THEN 'running' WHEN i %% 23 = 7 THEN 'failed'
				WHEN i %% 101 = 3 THEN 'canceled' WHEN i %% 203 = 11 THEN 'timed_out' WHEN i %% 4 = 0 AND i %% 3 = 0 THEN 'skipped' ELSE 'succeeded' END,
			CASE WHEN i %% 50 = 0 THEN 'manual' ELSE 'schedule' END,
			%[5]d + i * 3600000, %[5]d + i * 3600000 - 86400000, %[5]d + i * 3600000, %[5]d + i * 3600000, %[5]d + i * 3600000,
			CASE WHEN i > %[1]d - 20 THEN 0 ELSE %[5]d + i * 3600000 + 1000 END,
			CASE WHEN i > %[1]d - 40 THEN 0 ELSE %[5]d + i * 3600000 + 600000 END,
			CASE WHEN i > %[1]d - 20 THEN 0 WHEN i %% 23 = 7 THEN 2 ELSE 1 END, 2
		FROM n`, benchPipelineRuns, first, benchProjects, sha(1), t0),
		`INSERT INTO run_attempts (run_id, n, state, pid, started_at, ended_at, exit_code, log_path, error)
		SELECT id, 1, CASE WHEN state = 'failed' THEN 'failed' ELSE state END, 1000 + id % 30000, started_at,
			CASE WHEN state = 'failed' THEN started_at + 60000 ELSE ended_at END,
			CASE WHEN state IN ('succeeded', 'skipped') THEN 0 WHEN state = 'running' THEN -1 ELSE 1 END,
			'/var/lib/posml/runs/logs/' || id || '-1.log', CASE WHEN state IN ('failed', 'timed_out', 'canceled') THEN 'exit status 1' ELSE '' END
		FROM pipeline_runs WHERE state <> 'queued'`,
		`INSERT INTO run_attempts (run_id, n, state, pid, started_at, ended_at, exit_code, log_path, error)
		SELECT id, 2, 'failed', 2000 + id % 30000, started_at + 120000, ended_at, 1, '/var/lib/posml/runs/logs/' || id || '-2.log', 'exit status 1'
		FROM pipeline_runs WHERE state = 'failed'`,
		`INSERT INTO run_outputs (run_id, mlflow_run_id, created_at)
		SELECT id, printf('%032x', id), ended_at FROM pipeline_runs WHERE state = 'succeeded' AND pipeline = 'train'`,
	}
	tx, err := db.BeginTx(ctx, nil)
	must(err)
	for _, q := range stmts {
		_, err := tx.ExecContext(ctx, q)
		must(err)
	}
	must(tx.Commit()) // no ANALYZE: servers never run it, so the planner works without statistics
	must(db.Close())

	// Lineage of the model versions (pipeline runs of proj-042), promotion
	// decisions (one a day of every project's train runs for the last
	// 100 runs each), marts and their reads, through sqlstore again.
	s, err = sqlstore.Open(ctx, sqlstore.Config{URL: seeding + "?synchronous=normal"})
	must(err)
	marts := datamart.New(s, datamart.Config{Dir: martDir})
	var snaps []datamart.Snapshot
	for m := range benchMarts {
		for v := range 3 {
			var csv strings.Builder
			csv.WriteString("x,label,note\n")
			for i := range 200 {
				fmt.Fprintf(&csv, "%.2f,l-%d,v%d\n", float64(i)/7, i%5, v)
			}
			_, snap, _, err := marts.Upload(ctx, fmt.Sprintf("mart-%02d", m), "data.csv", "", strings.NewReader(csv.String()))
			must(err)
			snaps = append(snaps, snap)
		}
	}
	p42, err := s.ProjectByName(ctx, "proj-042")
	must(err)
	trains, err := s.PipelineRuns(ctx, pipeline.RunFilter{ProjectID: p42.ID, Pipeline: pipeline.Train, States: []pipeline.State{pipeline.Succeeded}, Limit: benchModelVersions})
	must(err)
	for i, r := range mlRuns {
		prun := trains[i].ID
		v := int64(i + 1)
		must(s.AddRunOutput(ctx, pipeline.Output{RunID: prun, MLflowRunID: r.Info.RunID}))
		must(s.AddRunOutput(ctx, pipeline.Output{RunID: prun, MLflowRunID: r.Info.RunID, ModelName: "bench-model", ModelVersion: int(v)}))
		cand, champ := 0.6+float64(i)/100, 0.6
		_, err := s.AddPromotionDecision(ctx, lineage.Decision{ProjectID: p42.ID, PipelineRunID: prun, ModelName: "bench-model",
			Metric: "auc", Direction: "maximize", CandidateRunID: r.Info.RunID, CandidateValue: &cand, ChampionVersion: v - 1,
			ChampionValue: &champ, Outcome: lineage.Registered, Reason: "auc beats the champion", NewVersion: v, AliasMoved: true, DecidedAt: time.Now()})
		must(err)
		for _, sn := range snaps[:3] {
			must(s.AddMartRead(ctx, datamart.Read{PipelineRunID: int64(prun), MartID: sn.MartID, Version: sn.Version, Digest: sn.Digest, MLflowRunID: r.Info.RunID, ReadAt: time.Now()}))
		}
	}
	// Rejected candidates: a few hundred decisions over all projects.
	for i, pid := range pids {
		runs, err := s.PipelineRuns(ctx, pipeline.RunFilter{ProjectID: pid, Pipeline: pipeline.Train, States: []pipeline.State{pipeline.Succeeded}, Limit: 5})
		must(err)
		for _, r := range runs {
			cand, champ := 0.5, 0.6
			_, err := s.AddPromotionDecision(ctx, lineage.Decision{ProjectID: pid, PipelineRunID: r.ID, ModelName: "bench-model",
				Metric: "auc", Direction: "maximize", CandidateRunID: fmt.Sprintf("%032x", int64(r.ID)), CandidateValue: &cand, ChampionVersion: 1,
				ChampionValue: &champ, Outcome: lineage.Held, Reason: fmt.Sprintf("auc 0.5 does not beat the champion's 0.6 (%d)", i), DecidedAt: time.Now()})
			must(err)
		}
	}
	s.Close()
	if err := os.Rename(seeding, file); err != nil {
		b.Fatal(err)
	}
	os.Remove(seeding + "-wal")
	os.Remove(seeding + "-shm")
	b.Logf("seeded %d pipeline runs in %v", benchPipelineRuns, time.Since(start).Round(time.Second))
}

// BenchmarkPipelinePages measures the server time of the pipeline pages
// over real HTTP with 100 projects and 100 000 pipeline runs in the store
// (besides the 100 000 MLflow runs of BenchmarkPages).
func BenchmarkPipelinePages(b *testing.B) {
	s, marts, bp := benchPipesStore(b)
	art, err := artifact.OpenLocal(artifact.LocalConfig{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer art.Close()
	ts := httptest.NewServer(web.Handler(web.Deps{Store: s, Artifacts: art, Pipelines: s, Marts: marts}, web.Options{}))
	defer ts.Close()
	for _, bc := range []struct{ name, path string }{
		{"projects", "/projects"},
		{"project", "/projects/" + bp.Project},
		{"project-old-page", "/projects/" + bp.Project + "?before=2000"},
		{"pipeline-runs", "/pipeline-runs"},
		{"pipeline-runs-old-page", "/pipeline-runs?before=1000"},
		{"pipeline-runs-project", "/pipeline-runs?project=" + bp.Project},
		{"pipeline-runs-succeeded", "/pipeline-runs?state=succeeded"},
		{"pipeline-runs-failed", "/pipeline-runs?state=failed"},
		{"pipeline-runs-failed-old-page", "/pipeline-runs?state=failed&before=5000"},
		{"pipeline-runs-running", "/pipeline-runs?state=running"},
		{"pipeline-runs-project-failed", "/pipeline-runs?project=" + bp.Project + "&state=failed"},
		{"pipeline-runs-project-timed-out", "/pipeline-runs?project=" + bp.Project + "&state=timed_out"},
		{"pipeline-run", "/pipeline-runs/" + bp.Run.String()},
		{"pipeline-run-failed", "/pipeline-runs/" + bp.Failed.String()},
		{"lineage", "/models/" + bp.Model + "/versions/1/lineage"},
		{"model", "/models/" + bp.Model},
		{"marts", "/marts"},
		{"mart", "/marts/" + bp.Mart},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := http.Get(ts.URL + bc.path)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s = %d", bc.path, resp.StatusCode)
				}
			}
		})
	}
}
