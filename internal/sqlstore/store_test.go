package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/search"
	"github.com/posml/posml/internal/tracking"
)

// eachDialect runs f against a fresh SQLite database and, when
// POSML_TEST_POSTGRES_URL is set, against a fresh PostgreSQL schema.
func eachDialect(t *testing.T, f func(t *testing.T, s *Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		f(t, openSQLite(t))
	})
	if u := os.Getenv("POSML_TEST_POSTGRES_URL"); u != "" {
		t.Run("postgres", func(t *testing.T) {
			f(t, openPostgres(t, u))
		})
	}
}

func openSQLite(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{URL: filepath.Join(t.TempDir(), "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openPostgres creates a schema of its own for the test and drops it after.
func openPostgres(t testing.TB, base string) *Store {
	t.Helper()
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
		a, err := sql.Open("pgx", base)
		if err == nil {
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
	s, err := Open(context.Background(), Config{URL: u.String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func kindOf(t *testing.T, err error, want posml.Kind, msgPart string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error; want %v %q", want, msgPart)
	}
	if got := posml.KindOf(err); got != want {
		t.Fatalf("error %q has kind %v; want %v", err, got, want)
	}
	if !strings.Contains(err.Error(), msgPart) {
		t.Fatalf("error %q does not contain %q", err, msgPart)
	}
}

func TestDefaultExperiment(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		e, err := s.GetExperiment(ctx, "0")
		if err != nil {
			t.Fatal(err)
		}
		if e.Name != "Default" || e.ArtifactLocation != "mlflow-artifacts:/0" || e.LifecycleStage != tracking.StageActive {
			t.Fatalf("default experiment = %+v", e)
		}
		id, err := s.CreateExperiment(ctx, "exp", "", []tracking.Tag{{Key: "a", Value: "1"}})
		if err != nil {
			t.Fatal(err)
		}
		if id != "1" {
			t.Fatalf("first experiment id = %q; want 1", id)
		}
		e, err = s.GetExperimentByName(ctx, "exp")
		if err != nil {
			t.Fatal(err)
		}
		if e.ArtifactLocation != "mlflow-artifacts:/1" || len(e.Tags) != 1 {
			t.Fatalf("exp = %+v", e)
		}
		_, err = s.CreateExperiment(ctx, "exp", "", nil)
		kindOf(t, err, posml.KindExists, "Experiment(name=exp) already exists")
		_, err = s.GetExperiment(ctx, "42")
		kindOf(t, err, posml.KindNotFound, "No Experiment with id=42 exists")
		if !errors.Is(err, posml.ErrNotFound) {
			t.Fatalf("errors.Is(%v, ErrNotFound) = false", err)
		}
		_, err = s.GetExperimentByName(ctx, "nope")
		kindOf(t, err, posml.KindNotFound, "Could not find experiment with name 'nope'")
	})
}

func TestRunLifecycle(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		run, err := s.CreateRun(ctx, NewRun{ExperimentID: "0", UserID: "u", StartTime: 1000, Tags: []tracking.Tag{{Key: "x", Value: "y"}}})
		if err != nil {
			t.Fatal(err)
		}
		id := run.Info.RunID
		if len(id) != 32 || run.Info.RunName == "" || run.Info.ArtifactURI != "mlflow-artifacts:/0/"+id+"/artifacts" {
			t.Fatalf("run = %+v", run.Info)
		}
		ms := []tracking.Metric{
			{Key: "acc", Value: 0.5, Timestamp: 10, Step: 0},
			{Key: "acc", Value: 0.7, Timestamp: 5, Step: 1},
			{Key: "acc", Value: 0.9, Timestamp: 1, Step: 0},
			{Key: "nan", Value: math.NaN(), Timestamp: 1},
			{Key: "inf", Value: math.Inf(1), Timestamp: 1},
			{Key: "acc", Value: 0.5, Timestamp: 10, Step: 0}, // exact duplicate
		}
		if err := s.LogBatch(ctx, id, ms, []tracking.Param{{Key: "p", Value: "1"}}, []tracking.Tag{{Key: "t", Value: "v"}}); err != nil {
			t.Fatal(err)
		}
		if err := s.LogMetric(ctx, id, tracking.Metric{Key: "acc", Value: 0.1, Timestamp: 1, Step: 1}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetRun(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		latest := map[string]tracking.Metric{}
		for _, m := range got.Metrics {
			latest[m.Key] = m
		}
		if m := latest["acc"]; m.Value != 0.7 || m.Step != 1 || m.Timestamp != 5 {
			t.Errorf("latest acc = %+v; want 0.7 at step 1 ts 5", m)
		}
		if !math.IsNaN(latest["nan"].Value) || !math.IsInf(latest["inf"].Value, 1) {
			t.Errorf("nan/inf = %v %v", latest["nan"].Value, latest["inf"].Value)
		}
		hist, more, err := s.GetMetricHistory(ctx, id, "acc", 0, -1)
		if err != nil || more || len(hist) != 4 {
			t.Fatalf("history = %v %v %v; want 4 values", hist, more, err)
		}
		page, more, err := s.GetMetricHistory(ctx, id, "acc", 1, 2)
		if err != nil || !more || len(page) != 2 || page[0] != hist[1] {
			t.Fatalf("page = %v %v %v", page, more, err)
		}
		// Params are immutable.
		if err := s.LogParam(ctx, id, tracking.Param{Key: "p", Value: "1"}); err != nil {
			t.Fatal(err)
		}
		err = s.LogParam(ctx, id, tracking.Param{Key: "p", Value: "2"})
		kindOf(t, err, posml.KindInvalid, "Changing param values is not allowed. Param with key='p' was already logged with value='1' for run ID='"+id+"'. Attempted logging new value '2'.")
		err = s.LogBatch(ctx, id, nil, []tracking.Param{{Key: "p", Value: "3"}}, nil)
		kindOf(t, err, posml.KindInvalid, "Params were already logged='[{'key': 'p', 'old_value': '1', 'new_value': '3'}]'")
		// Renaming through the tag.
		if err := s.SetTag(ctx, id, tracking.Tag{Key: tracking.TagRunName, Value: "renamed"}); err != nil {
			t.Fatal(err)
		}
		st := tracking.RunFinished
		end := int64(2000)
		info, err := s.UpdateRun(ctx, id, RunUpdate{Status: &st, EndTime: &end})
		if err != nil {
			t.Fatal(err)
		}
		if info.RunName != "renamed" || info.Status != tracking.RunFinished || info.EndTime != 2000 {
			t.Fatalf("info = %+v", info)
		}
		err = s.DeleteTag(ctx, id, "nope")
		kindOf(t, err, posml.KindNotFound, "No tag with name: nope in run with id "+id)
		if err := s.DeleteRun(ctx, id); err != nil {
			t.Fatal(err)
		}
		err = s.LogMetric(ctx, id, tracking.Metric{Key: "x", Timestamp: 1})
		kindOf(t, err, posml.KindInvalid, "The run "+id+" must be in the 'active' state. Current state is deleted.")
		if err := s.RestoreRun(ctx, id); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetRun(ctx, "nope")
		kindOf(t, err, posml.KindNotFound, "Run with id=nope not found")
	})
}

func TestInputsOutputsModels(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		run, err := s.CreateRun(ctx, NewRun{RunName: "r"})
		if err != nil {
			t.Fatal(err)
		}
		id := run.Info.RunID
		ds := tracking.DatasetInput{Tags: []tracking.Tag{{Key: tracking.TagDatasetContext, Value: "train"}}, Dataset: tracking.Dataset{Name: "iris", Digest: "abc", SourceType: "local", Source: "{}"}}
		for range 2 {
			if err := s.LogInputs(ctx, id, []tracking.DatasetInput{ds}, nil); err != nil {
				t.Fatal(err)
			}
		}
		m, err := s.CreateLoggedModel(ctx, NewLoggedModel{ExperimentID: "0", Name: "model", SourceRunID: id, Params: []tracking.Param{{Key: "a", Value: "b"}}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(m.ModelID, "m-") || m.Status != tracking.ModelStatusPending || m.ArtifactURI != "mlflow-artifacts:/0/models/"+m.ModelID+"/artifacts" {
			t.Fatalf("model = %+v", m)
		}
		if err := s.LogOutputs(ctx, id, []tracking.ModelOutput{{ModelID: m.ModelID, Step: 0}}); err != nil {
			t.Fatal(err)
		}
		if err := s.LogBatch(ctx, id, []tracking.Metric{{Key: "acc", Value: 1, Timestamp: 1, ModelID: m.ModelID}}, nil, nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetRun(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]tracking.DatasetInput{ds}, got.DatasetInputs); diff != "" {
			t.Errorf("inputs (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]tracking.ModelOutput{{ModelID: m.ModelID}}, got.ModelOutputs); diff != "" {
			t.Errorf("outputs (-want +got):\n%s", diff)
		}
		m, err = s.FinalizeLoggedModel(ctx, m.ModelID, tracking.ModelStatusReady)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != tracking.ModelStatusReady || len(m.Metrics) != 1 || len(m.Params) != 1 {
			t.Fatalf("model = %+v", m)
		}
		ms, more, err := s.SearchLoggedModels(ctx, ModelQuery{ExperimentIDs: []string{"0"}, MaxResults: 10,
			Filter: []search.Clause{{Type: search.KeyAttribute, Key: "source_run_id", Op: search.OpEq, Str: id}}})
		if err != nil || more || len(ms) != 1 {
			t.Fatalf("search = %v %v %v", ms, more, err)
		}
		if err := s.RecordLoggedModel(ctx, id, map[string]any{"artifact_path": "model"}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordLoggedModel(ctx, id, map[string]any{"artifact_path": "model2"}); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetRun(ctx, id)
		for _, tg := range got.Tags {
			if tg.Key == tracking.TagLoggedModels && tg.Value != `[{"artifact_path":"model"},{"artifact_path":"model2"}]` {
				t.Errorf("history = %s", tg.Value)
			}
		}
		if err := s.DeleteLoggedModel(ctx, m.ModelID); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetLoggedModel(ctx, m.ModelID, false)
		kindOf(t, err, posml.KindNotFound, "Logged model with ID '"+m.ModelID+"' not found.")
	})
}

func TestSearchRuns(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var ids []string
		for i := range 10 {
			r, err := s.CreateRun(ctx, NewRun{StartTime: int64(i % 3), UserID: "u"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.Info.RunID)
			if err := s.LogBatch(ctx, r.Info.RunID, []tracking.Metric{{Key: "m", Value: float64(i), Timestamp: 1}}, []tracking.Param{{Key: "p", Value: string(rune('a' + i))}}, nil); err != nil {
				t.Fatal(err)
			}
		}
		q := RunQuery{ExperimentIDs: []string{"0"}, View: tracking.ViewActiveOnly, MaxResults: 4,
			Filter: []search.Clause{{Type: search.KeyMetric, Key: "m", Op: search.OpGe, Num: 3, Str: "3", IsNumeric: true}}}
		var got []string
		for {
			runs, more, err := s.SearchRuns(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range runs {
				got = append(got, r.Info.RunID)
			}
			if !more {
				break
			}
			q.Offset += q.MaxResults
		}
		if len(got) != 7 {
			t.Fatalf("got %d runs; want 7", len(got))
		}
		q = RunQuery{ExperimentIDs: []string{"0"}, View: tracking.ViewActiveOnly, MaxResults: 100,
			OrderBy: []search.OrderBy{{Type: search.KeyMetric, Key: "m", Desc: true}},
			Filter:  []search.Clause{{Type: search.KeyParam, Key: "p", Op: search.OpLike, Str: "%"}}}
		runs, _, err := s.SearchRuns(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 10 || runs[0].Info.RunID != ids[9] || runs[9].Info.RunID != ids[0] {
			t.Fatalf("order by metric desc: first %s last %s", runs[0].Info.RunID, runs[len(runs)-1].Info.RunID)
		}
		q.Filter = []search.Clause{{Type: search.KeyParam, Key: "p", Op: search.OpLike, Str: "A"}}
		runs, _, _ = s.SearchRuns(ctx, q)
		if len(runs) != 0 {
			t.Fatalf("LIKE is case-insensitive: %d runs", len(runs))
		}
		q.Filter = []search.Clause{{Type: search.KeyParam, Key: "p", Op: search.OpILike, Str: "A"}}
		runs, _, _ = s.SearchRuns(ctx, q)
		if len(runs) != 1 {
			t.Fatalf("ILIKE 'A': %d runs; want 1", len(runs))
		}
		q.Filter = []search.Clause{{Type: search.KeyAttribute, Key: "status", Op: search.OpEq, Str: "RUNNING"}, {Type: search.KeyAttribute, Key: "run_id", Op: search.OpIn, List: ids[:2]}}
		runs, _, _ = s.SearchRuns(ctx, q)
		if len(runs) != 2 {
			t.Fatalf("status/run_id IN: %d runs; want 2", len(runs))
		}
	})
}

func TestBadValuesAreClientErrors(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		r, err := s.CreateRun(ctx, NewRun{})
		if err != nil {
			t.Fatal(err)
		}
		err = s.SetTag(ctx, r.Info.RunID, tracking.Tag{Key: "k", Value: "a\x00b"})
		if err != nil && posml.KindOf(err) != posml.KindInvalid {
			t.Fatalf("NUL in a tag value: %v (kind %v); want success or an invalid-value error", err, posml.KindOf(err))
		}
	})
}
