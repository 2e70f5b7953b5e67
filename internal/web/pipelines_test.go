package web_test

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml/internal/datamart"
	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/projectconfig"
	"github.com/posml/posml/internal/sqlstore"
	"github.com/posml/posml/internal/web"
)

var _ web.Pipelines = (*sqlstore.Store)(nil)

// pipes is what seedPipelines made.
type pipes struct {
	Project   pipeline.Project // "churn": active, with runs, findings, a mart read
	Paused    pipeline.Project // "batch": paused, many queued runs
	Succeeded pipeline.RunID   // churn's train run that produced model version 2
	Failed    pipeline.RunID
	Running   pipeline.RunID // its log grows while the test runs
	Batch     int            // runs of "batch"
	Mart      string
	Active    string // SHAs
	Head      string
}

func sha(n int) string { return fmt.Sprintf("%x", sha1.Sum([]byte{byte(n)})) }

// seedPipelines adds two projects with commits, pipeline runs with
// attempts and logs, lineage (outputs, a mart read) and a promotion
// decision through sqlstore, and a mart with a snapshot through the
// datamart service.
func seedPipelines(t testing.TB, ctx context.Context, f *fixture, marts *datamart.Service, runsDir string) {
	t.Helper()
	s := f.Store
	ps := &f.Pipes
	ps.Active, ps.Head, ps.Mart = sha(1), sha(2), "iris"
	st := pipeline.Settings{
		// Monthly in Berlin: ten fires always cross a DST change.
		Train:         pipeline.Spec{Expr: "@monthly", TimeZone: "Europe/Berlin", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Mode: "trigger"},
		Trigger:       pipeline.Spec{Expr: "0 */6 * * *", TimeZone: "Europe/Berlin", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Mode: "trigger"},
		MaxActiveRuns: 2, Retries: 1, RetryDelay: time.Minute, TrainTimeout: time.Hour,
		ModelNames: []string{f.Model}, ExperimentName: "churn", RegisterModel: f.Model, TargetMetric: "auc", Direction: "maximize",
		Executor: projectconfig.Executor{Backend: "slurm", Partition: "gpu", GPU: 2},
	}
	project := func(name string) pipeline.Project {
		p := must[pipeline.Project](t)(s.CreateProject(ctx, pipeline.Project{Name: name, RepoURL: "https://git.example.com/ml/" + name + ".git", Branch: "main"}, pipeline.Credentials{}))
		valid := `{"valid":true,"errors":0,"warnings":1,"diagnostics":[{"file":"config.yaml","line":3,"severity":1,"rule":"retries","message":"retries is high for a daily job"}]}`
		must[bool](t)(s.AddCommit(ctx, pipeline.Commit{ProjectID: p.ID, SHA: ps.Active, Valid: true, Validation: json.RawMessage(valid), Settings: st,
			Author: "alice", Message: "Train on the iris mart\n\nlonger body", CommittedAt: time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)}))
		if err := s.ActivateCommit(ctx, p.ID, ps.Active); err != nil {
			t.Fatal(err)
		}
		invalid := `{"valid":false,"errors":1,"warnings":0,"diagnostics":[{"file":"src/train.py","line":12,"severity":0,"rule":"train-main-guard","message":"train.py runs training at import","fix":"wrap it in if __name__ == \"__main__\":"}]}`
		must[bool](t)(s.AddCommit(ctx, pipeline.Commit{ProjectID: p.ID, SHA: ps.Head, Valid: false, Validation: json.RawMessage(invalid),
			Author: "bob", Message: "Broken refactor", CommittedAt: time.Date(2026, 1, 3, 9, 0, 0, 0, time.UTC)}))
		if err := s.SetProjectSynced(ctx, p.ID, ps.Head, time.Now(), ""); err != nil {
			t.Fatal(err)
		}
		return must[pipeline.Project](t)(s.ProjectByName(ctx, name))
	}
	ps.Project = project("churn")
	ps.Paused = project("batch")
	if err := s.SetProjectPaused(ctx, ps.Paused.ID, true); err != nil {
		t.Fatal(err)
	}
	ps.Paused = must[pipeline.Project](t)(s.ProjectByName(ctx, "batch"))

	logDir := filepath.Join(runsDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// run starts a train run of churn and writes its log.
	run := func(lines ...string) (pipeline.Run, pipeline.Attempt) {
		r := must[pipeline.Run](t)(s.CreatePipelineRun(ctx, pipeline.Run{ProjectID: ps.Project.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual}))
		_, a, ok, err := s.StartAttempt(ctx, r.ID, time.Now(), func(n int) string { return filepath.Join(logDir, fmt.Sprintf("%d-%d.log", r.ID, n)) })
		if err != nil || !ok {
			t.Fatalf("StartAttempt = %v, %v", ok, err)
		}
		if err := os.WriteFile(a.LogPath, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return r, a
	}
	finish := func(a pipeline.Attempt, st pipeline.State, code int, why string) {
		a.State, a.ExitCode, a.Error = st, code, why
		if _, err := s.FinishAttempt(ctx, a, st, why, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	r, a := run("loading mart iris v1", "epoch 1 auc=0.50", "epoch 2 auc=0.51", "registered churn-model version 2")
	if err := s.SetAttemptProcess(ctx, r.ID, a.N, 0, "slurm:4711"); err != nil {
		t.Fatal(err)
	}
	finish(a, pipeline.Succeeded, 0, "")
	ps.Succeeded = r.ID
	r, a = run("loading mart iris v1", "Traceback (most recent call last):", "ValueError: <bad> input")
	finish(a, pipeline.Failed, 1, "exit status 1")
	ps.Failed = r.ID
	r, _ = run("loading mart iris v1", "epoch 1 auc=0.49")
	ps.Running = r.ID

	// Lineage of the succeeded run: the MLflow run of version 2, the version, the mart read.
	for _, o := range []pipeline.Output{{RunID: ps.Succeeded, MLflowRunID: f.RunIDs[1]}, {RunID: ps.Succeeded, MLflowRunID: f.RunIDs[1], ModelName: f.Model, ModelVersion: 2}} {
		if err := s.AddRunOutput(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	cand, champ := 0.51, 0.5
	if _, err := s.AddPromotionDecision(ctx, lineage.Decision{ProjectID: ps.Project.ID, PipelineRunID: ps.Succeeded, ModelName: f.Model,
		Metric: "auc", Direction: "maximize", CandidateRunID: f.RunIDs[1], CandidateValue: &cand, ChampionVersion: 1, ChampionRunID: f.RunIDs[0],
		ChampionValue: &champ, Outcome: lineage.Registered, Reason: "auc 0.51 beats the champion's 0.5", NewVersion: 2, AliasMoved: true, DecidedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("sepal_length,species,note\n")
	for i := range 30 {
		note := ""
		if i%7 == 0 {
			note = "<b>x</b>"
		}
		fmt.Fprintf(&csv, "%.1f,setosa-%d,%s\n", 4.5+float64(i)/10, i, note)
	}
	_, snap, _, err := marts.Upload(ctx, ps.Mart, "iris.csv", "", strings.NewReader(csv.String()))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddMartRead(ctx, datamart.Read{PipelineRunID: int64(ps.Succeeded), MartID: ps.Mart, Version: snap.Version, Digest: snap.Digest, MLflowRunID: f.RunIDs[1], ReadAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// Many queued runs of the paused project, for paging.
	ps.Batch = 55
	for range ps.Batch {
		must[pipeline.Run](t)(s.CreatePipelineRun(ctx, pipeline.Run{ProjectID: ps.Paused.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual}))
	}
}

func TestPipelinePages(t *testing.T) {
	f := newFixture(t)
	ps := f.Pipes
	id := func(r pipeline.RunID) string { return r.String() }
	for _, tc := range []struct {
		name, path string
		status     int
		wants      []string
	}{
		{"nav", "/", 200, []string{`href="/projects"`, `href="/pipeline-runs"`, `href="/marts"`}},
		{"projects", "/projects", 200, []string{`href="/projects/churn"`, "chip-ok\">active", "chip-off\">paused", sha(1)[:10], "Train on the iris mart",
			"invalid</span>: 1 error, 0 warnings", "train: ", " UTC)", "trigger: ", `href="/pipeline-runs/` + id(ps.Failed) + `"`, ">failed</a>", ">succeeded</a>", ">running</a>", `aria-current="page">Projects`}},
		{"project", "/projects/churn", 200, []string{"<h1>churn", "https://git.example.com/ml/churn.git", "@monthly", "Europe/Berlin", "auc (maximize)",
			`href="/models/churn-model"`, "train-main-guard", "train.py runs training at import", "⚠ DST change (UTC", "Pause</button>", "Run train now", "Run trigger now",
			`name="csrf" value="`, "#" + id(ps.Running), "Broken refactor", "UTC</td>", "slurm on partition gpu, 2 GPU"}},
		{"paused project", "/projects/batch", 200, []string{"Resume</button>", "Paused: nothing fires", `rel="next"`}},
		{"succeeded run", "/pipeline-runs/" + id(ps.Succeeded), 200, []string{"Pipeline run #" + id(ps.Succeeded), "chip-ok\">succeeded", "manual",
			`data-log="/api/posml/runs/` + id(ps.Succeeded) + `/logs?follow=1"`, `href="/runs/` + f.RunIDs[1] + `"`, "churn-model v2", "<td>slurm job 4711</td>",
			`href="/marts/iris?version=1"`, "auc 0.51 beats the champion", "0.51", "0.5", "@champion", "Train on the iris mart"}},
		{"failed run", "/pipeline-runs/" + id(ps.Failed), 200, []string{"chip-bad\">failed", "exit status 1", `<td class="num">1</td>`, "Retry</button>"}},
		{"running run", "/pipeline-runs/" + id(ps.Running), 200, []string{"chip-busy\">running", "Cancel</button>", "Following the log"}},
		{"pipeline runs", "/pipeline-runs", 200, []string{"#" + id(ps.Running), `rel="next"`, `<option value="churn">churn</option>`}},
		{"pipeline runs by project and state", "/pipeline-runs?project=churn&state=failed", 200, []string{"#" + id(ps.Failed), `<option value="failed" selected>`}},
		{"bad state", "/pipeline-runs?state=nope", 400, []string{"Unknown state"}},
		{"unknown project", "/projects/nope", 404, nil},
		{"unknown run", "/pipeline-runs/999999", 404, nil},
		{"bad run id", "/pipeline-runs/x", 404, nil},
		{"lineage", "/models/churn-model/versions/2/lineage", 200, []string{"Lineage of churn-model v2", `href="/runs/` + f.RunIDs[1] + `">run-01</a>`,
			`href="/pipeline-runs/` + id(ps.Succeeded) + `"`, sha(1)[:10], "Train on the iris mart", `href="/marts/iris?version=1"`, "Promotion decision"}},
		{"lineage outside posml", "/models/churn-model/versions/3/lineage", 200, []string{"logged from outside posml"}},
		{"model links lineage", "/models/churn-model", 200, []string{`href="/models/churn-model/versions/2/lineage"`}},
		{"model shows promotion decisions with both scores", "/models/churn-model", 200, []string{"Promotion decisions", "auc 0.51 beats the champion", "0.51", "0.5", "v1"}},
		{"marts", "/marts", 200, []string{`href="/marts/iris"`, "uploaded file <code>iris.csv</code>", "v1: 30 rows, 3 columns"}},
		{"mart", "/marts/iris", 200, []string{"sepal_length", "float64", "species", "20 of 30 rows", "setosa-19", "&lt;b&gt;x&lt;/b&gt;"}},
		{"mart version", "/marts/iris?version=1", 200, []string{"Schema of v1"}},
		{"mart missing version", "/marts/iris?version=9", 404, nil},
		{"unknown mart", "/marts/nope", 404, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := f.page(t, tc.path, tc.status)
			contains(t, tc.path, body, tc.wants...)
			if strings.Contains(body, "<b>x</b>") {
				t.Errorf("%s: unescaped data in the page", tc.path)
			}
			if tc.name == "mart" && strings.Contains(body, "setosa-20") {
				t.Error("mart preview shows more than 20 rows")
			}
		})
	}
}

func TestPipelineRunsPaging(t *testing.T) {
	f := newFixture(t)
	want := f.Pipes.Batch + 3
	seen := map[string]bool{}
	next := "/pipeline-runs"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		body := f.page(t, next, 200)
		rows := runRows.FindAllStringSubmatch(body, -1)
		if len(rows) > 50 {
			t.Fatalf("%s: %d rows; want at most 50", next, len(rows))
		}
		for _, m := range rows {
			seen[m[1]] = true
		}
		next = ""
		if m := nextLink.FindStringSubmatch(body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(seen) != want {
		t.Errorf("paging showed %d runs; want %d", len(seen), want)
	}
}
