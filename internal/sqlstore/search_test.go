package sqlstore

import (
	"context"
	"strings"
	"testing"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/search"
	"github.com/posml/posml/internal/tracking"
)

func TestSearchExperiments(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for i, name := range []string{"alpha", "Beta", "gamma"} {
			id, err := s.CreateExperiment(ctx, name, "", []tracking.Tag{{Key: "i", Value: string(rune('a' + i))}})
			if err != nil {
				t.Fatal(err)
			}
			if name == "gamma" {
				if err := s.DeleteExperiment(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
		}
		names := func(filter string, order []string, view tracking.ViewType) string {
			t.Helper()
			f, err := search.ParseExperimentFilter(filter)
			if err != nil {
				t.Fatal(err)
			}
			o, err := search.ParseExperimentOrderBy(order)
			if err != nil {
				t.Fatal(err)
			}
			exps, _, err := s.SearchExperiments(ctx, ExperimentQuery{Filter: f, OrderBy: o, View: view, MaxResults: 100})
			if err != nil {
				t.Fatal(err)
			}
			var ns []string
			for _, e := range exps {
				ns = append(ns, e.Name)
			}
			return strings.Join(ns, ",")
		}
		for _, tc := range []struct {
			filter string
			order  []string
			view   tracking.ViewType
			want   string
		}{
			{"", []string{"name"}, tracking.ViewActiveOnly, "Beta,Default,alpha"},
			{"", []string{"experiment_id DESC"}, tracking.ViewAll, "gamma,Beta,alpha,Default"},
			{"", nil, tracking.ViewDeletedOnly, "gamma"},
			{"name ILIKE 'b%'", nil, tracking.ViewActiveOnly, "Beta"},
			{"name LIKE 'b%'", nil, tracking.ViewActiveOnly, ""},
			{"name != 'alpha'", []string{"name"}, tracking.ViewActiveOnly, "Beta,Default"},
			{"tags.i = 'b'", nil, tracking.ViewActiveOnly, "Beta"},
			{"tags.i IS NULL", nil, tracking.ViewActiveOnly, "Default"},
			{"creation_time > 0", []string{"name"}, tracking.ViewActiveOnly, "Beta,Default,alpha"},
		} {
			if got := names(tc.filter, tc.order, tc.view); got != tc.want {
				t.Errorf("filter %q order %v view %v = %q; want %q", tc.filter, tc.order, tc.view, got, tc.want)
			}
		}
	})
}

func TestSearchRunsFilters(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var ids []string
		for i := range 4 {
			r, err := s.CreateRun(ctx, NewRun{StartTime: int64(1000 * i), RunName: "run-" + string(rune('a'+i))})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.Info.RunID)
			if err := s.LogBatch(ctx, r.Info.RunID, []tracking.Metric{{Key: "m", Value: float64(i) + 0.5, Timestamp: 1}}, nil, []tracking.Tag{{Key: "odd", Value: string(rune('0' + i%2))}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.LogInputs(ctx, ids[1], []tracking.DatasetInput{{Tags: []tracking.Tag{{Key: tracking.TagDatasetContext, Value: "train"}}, Dataset: tracking.Dataset{Name: "iris", Digest: "d"}}}, nil); err != nil {
			t.Fatal(err)
		}
		st := tracking.RunFinished
		end := int64(5)
		if _, err := s.UpdateRun(ctx, ids[2], RunUpdate{Status: &st, EndTime: &end}); err != nil {
			t.Fatal(err)
		}
		count := func(filter string, order ...string) []string {
			t.Helper()
			f, err := search.ParseRunFilter(filter)
			if err != nil {
				t.Fatal(err)
			}
			o, err := search.ParseRunOrderBy(order)
			if err != nil {
				t.Fatal(err)
			}
			runs, _, err := s.SearchRuns(ctx, RunQuery{ExperimentIDs: []string{"0"}, Filter: f, OrderBy: o, View: tracking.ViewActiveOnly, MaxResults: 100})
			if err != nil {
				t.Fatalf("%q: %v", filter, err)
			}
			var out []string
			for _, r := range runs {
				out = append(out, r.Info.RunName)
			}
			return out
		}
		for _, tc := range []struct {
			filter string
			order  []string
			want   string
		}{
			{"metrics.m > 1.5", nil, "run-d,run-c"},
			{"metrics.m = 2.5", nil, "run-c"},
			{"metrics.m <= 1", []string{"metrics.m"}, "run-a"},
			{"tags.odd = '1'", []string{"start_time ASC"}, "run-b,run-d"},
			{"attributes.status = 'FINISHED'", nil, "run-c"},
			{"attributes.status IN ('FINISHED')", nil, ""}, // only run_id takes IN: parse error handled below
			{"attributes.end_time = 5", nil, "run-c"},
			{"attributes.start_time >= 2000", nil, "run-d,run-c"},
			{"attributes.run_name ILIKE 'RUN-A'", nil, "run-a"},
			{"dataset.name = 'iris' AND dataset.context = 'train'", nil, "run-b"},
			{"dataset.digest IN ('d', 'x')", nil, "run-b"},
			{"tags.missing IS NULL", nil, "run-d,run-c,run-b,run-a"},
			{"run_id NOT IN ('" + ids[0] + "')", []string{"attributes.run_name DESC"}, "run-d,run-c,run-b"},
		} {
			f, err := search.ParseRunFilter(tc.filter)
			if err != nil {
				continue // refused by the parser; the parser's own tests cover it
			}
			_ = f
			if got := strings.Join(count(tc.filter, tc.order...), ","); got != tc.want {
				t.Errorf("%q %v = %q; want %q", tc.filter, tc.order, got, tc.want)
			}
		}
	})
}

func TestMetricHistoryBulkInterval(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		r, err := s.CreateRun(ctx, NewRun{})
		if err != nil {
			t.Fatal(err)
		}
		var ms []tracking.Metric
		for i := range 50 {
			ms = append(ms, tracking.Metric{Key: "loss", Value: float64(i), Timestamp: int64(i), Step: int64(i)})
		}
		if err := s.LogBatch(ctx, r.Info.RunID, ms, nil, nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.MetricHistoryBulkInterval(ctx, []string{r.Info.RunID, "unknown"}, "loss", nil, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) < 10 || got[0].Step != 0 || got[len(got)-1].Step != 49 || got[0].RunID != r.Info.RunID {
			t.Fatalf("sampled = %v", got)
		}
		lo, hi := int64(5), int64(7)
		got, err = s.MetricHistoryBulkInterval(ctx, []string{r.Info.RunID}, "loss", &lo, &hi, 10)
		if err != nil || len(got) != 3 {
			t.Fatalf("range = %v %v", got, err)
		}
	})
}

func TestExperimentLifecycle(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		id, err := s.CreateExperiment(ctx, "e", "file:///tmp/e", nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.CreateRun(ctx, NewRun{ExperimentID: id})
		if err != nil {
			t.Fatal(err)
		}
		if r.Info.ArtifactURI != "file:///tmp/e/"+r.Info.RunID+"/artifacts" {
			t.Errorf("artifact uri = %s", r.Info.ArtifactURI)
		}
		if err := s.SetExperimentTag(ctx, id, tracking.Tag{Key: "k", Value: "v"}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteExperimentTag(ctx, id, "k"); err != nil {
			t.Fatal(err)
		}
		kindOf(t, s.DeleteExperimentTag(ctx, id, "k"), posml.KindNotFound, "No tag with name: k")
		if err := s.RenameExperiment(ctx, id, "e2"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteExperiment(ctx, id); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetRun(ctx, r.Info.RunID)
		if got.Info.LifecycleStage != tracking.StageDeleted {
			t.Errorf("run of deleted experiment: %v", got.Info.LifecycleStage)
		}
		kindOf(t, s.RenameExperiment(ctx, id, "e3"), posml.KindInvalid, "Cannot rename a non-active experiment.")
		kindOf(t, s.SetExperimentTag(ctx, id, tracking.Tag{Key: "k"}), posml.KindInvalid, "must be in the 'active' state")
		_, err = s.CreateRun(ctx, NewRun{ExperimentID: id})
		kindOf(t, err, posml.KindInvalid, "The experiment "+id+" must be in the 'active' state. Current state is deleted.")
		_, err = s.CreateLoggedModel(ctx, NewLoggedModel{ExperimentID: id})
		kindOf(t, err, posml.KindInvalid, "must be in the 'active' state")
		if err := s.RestoreExperiment(ctx, id); err != nil {
			t.Fatal(err)
		}
		kindOf(t, s.RestoreExperiment(ctx, id), posml.KindNotFound, "No Experiment with id="+id+" exists")
		got, _ = s.GetRun(ctx, r.Info.RunID)
		if got.Info.LifecycleStage != tracking.StageActive {
			t.Errorf("run after restore: %v", got.Info.LifecycleStage)
		}
	})
}

func TestReopenKeepsData(t *testing.T) {
	path := t.TempDir() + "/db.sqlite"
	ctx := context.Background()
	s, err := Open(ctx, Config{URL: "sqlite:///" + path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateExperiment(ctx, "kept", "", nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, Config{URL: "sqlite:///" + path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetExperimentByName(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	// The default experiment is not created twice, and migrations are recorded once.
	ms, err := loadMigrations("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
		t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, len(ms))
	}
	var exps int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM experiments`).Scan(&exps); err != nil || exps != 2 {
		t.Fatalf("experiments = %d, %v; want 2", exps, err)
	}
}

func TestSQLitePath(t *testing.T) {
	for in, want := range map[string]string{
		"sqlite:///rel/x.db":   "rel/x.db",
		"sqlite:////abs/x.db":  "/abs/x.db",
		"plain.db":             "plain.db",
		"sqlite:///a%20b.db":   "a b.db",
		"sqlite:///x.db?mode=": "x.db",
	} {
		got, err := sqlitePath(in)
		if err != nil || got != want {
			t.Errorf("sqlitePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"sqlite://x.db", "mysql://h/db", ""} {
		if _, err := sqlitePath(bad); err == nil {
			t.Errorf("sqlitePath(%q): no error", bad)
		}
	}
	for in, want := range map[string]string{"sqlite:///x.db": "FULL", "sqlite:///x.db?synchronous=normal": "NORMAL", "x.db": "FULL"} {
		if _, got, err := sqliteConfig(in); err != nil || got != want {
			t.Errorf("sqliteConfig(%q) synchronous = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, _, err := sqliteConfig("sqlite:///x.db?synchronous=fast"); err == nil {
		t.Error("synchronous=fast accepted")
	}
}
