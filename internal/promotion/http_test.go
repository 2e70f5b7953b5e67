package promotion_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/posml/posml/internal/auth"
	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/mlflowapi"
	"github.com/posml/posml/internal/pipeline"
)

// TestOverHTTP runs the whole chain: a run token, the train script's
// requests through the real MLflow API, and promotion from the lineage
// they left.
func TestOverHTTP(t *testing.T) { dialects(t, testOverHTTP) }

func testOverHTTP(t *testing.T, open opener) {
	st := pipeline.Settings{ExperimentName: "iris", ModelNames: []string{"knn"}, RegisterModel: "knn", TargetMetric: "accuracy_score", Direction: "maximize"}
	e := newEnv(t, open, st)
	ts := httptest.NewServer(mlflowapi.Handler(e.s, nil, nil))
	t.Cleanup(ts.Close)
	is := auth.New(e.s, auth.Config{})

	post := func(tok, path string, body any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", ts.URL+"/api/2.0/mlflow/"+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %d %v", path, resp.StatusCode, out)
		}
		return out
	}
	// train is one pipeline run whose script logs one run per accuracy.
	train := func(accs ...float64) lineage.Decision {
		t.Helper()
		run := e.trainRun()
		run.Commit = "c1"
		tok, err := is.Issue(e.ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		for _, acc := range accs {
			r := post(tok, "runs/create", map[string]any{"experiment_id": e.exp, "start_time": 1})
			id := r["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
			post(tok, "runs/log-metric", map[string]any{"run_id": id, "key": "accuracy_score", "value": acc, "timestamp": 1})
			mj, _ := json.Marshal(map[string]any{"artifact_path": "models", "flavors": map[string]any{"sklearn": map[string]any{}},
				"utc_time_created": "2026-01-01 00:00:00.000000", "run_id": id})
			post(tok, "runs/log-model", map[string]any{"run_id": id, "model_json": string(mj)})
			post(tok, "runs/update", map[string]any{"run_id": id, "status": "FINISHED", "end_time": 2})
		}
		if err := e.p.Promote(e.ctx, run); err != nil {
			t.Fatal(err)
		}
		ds, err := e.s.PromotionDecisionsOfRun(e.ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		return one(t, ds)
	}
	if d := train(0.9333, 0.9667, 0.95); d.Outcome != lineage.Registered || val(d, d.CandidateValue) != 0.9667 || d.NewVersion != 1 {
		t.Fatalf("first run: %+v", d)
	}
	if d := train(0.9); d.Outcome != lineage.Held || val(d, d.ChampionValue) != 0.9667 || val(d, d.CandidateValue) != 0.9 {
		t.Fatalf("second run: %+v", d)
	}
	if got := e.aliases("knn"); got["champion"] != 1 {
		t.Errorf("aliases = %v", got)
	}
}
