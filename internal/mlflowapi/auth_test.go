package mlflowapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/auth"
	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/mlflowapi"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/server"
	"github.com/posml/posml/internal/sqlstore"
)

// authEnv is a server with run-token attribution over real SQLite, two
// projects (iris owns experiment iris-exp and model knn; wine owns wine-exp
// and model wine-model) and a train run of each.
type authEnv struct {
	t          *testing.T
	store      *sqlstore.Store
	base       string
	iris, wine pipeline.Run
	irisTok    string
	wineTok    string
}

func newAuthEnv(t *testing.T, requireAuth bool) *authEnv {
	t.Helper()
	store, art := openBackend(t)
	is := auth.New(store, auth.Config{})
	cfg := mlflowapi.AuthConfig{Tokens: is, Lineage: store, Store: store, RequireAuth: requireAuth}
	tracking := mlflowapi.Handler(store, art, nil) // attribution installed by itself
	if requireAuth {
		tracking = mlflowapi.WithAuth(tracking, cfg)
	}
	srv := server.New(server.Config{
		Version:   "test",
		Tracking:  tracking,
		Artifacts: mlflowapi.WithAuth(artifact.Handler(art, nil), cfg),
	})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e := &authEnv{t: t, store: store, base: ts.URL}
	e.iris, e.irisTok = e.project("iris", "iris-exp", "knn", is)
	e.wine, e.wineTok = e.project("wine", "wine-exp", "wine-model", is)
	return e
}

func (e *authEnv) project(name, exp, model string, is *auth.Issuer) (pipeline.Run, string) {
	e.t.Helper()
	ctx := context.Background()
	p, err := e.store.CreateProject(ctx, pipeline.Project{Name: name, RepoURL: "/tmp/" + name}, pipeline.Credentials{})
	if err != nil {
		e.t.Fatal(err)
	}
	st := pipeline.Settings{ExperimentName: exp, ModelNames: []string{model}, RegisterModel: model, TrainTimeout: time.Hour}
	if _, err := e.store.AddCommit(ctx, pipeline.Commit{ProjectID: p.ID, SHA: "sha-" + name, Valid: true, Settings: st}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.ActivateCommit(ctx, p.ID, "sha-"+name); err != nil {
		e.t.Fatal(err)
	}
	run, err := e.store.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual,
		LogicalDate: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		e.t.Fatal(err)
	}
	run.Project = name
	tok, err := is.Issue(ctx, run)
	if err != nil {
		e.t.Fatal(err)
	}
	return run, tok
}

// call sends a request with an optional bearer token and returns the status
// and the decoded JSON answer.
func (e *authEnv) call(tok, method, path string, body any) (int, obj) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, _ := json.Marshal(b)
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var o obj
	_ = json.Unmarshal(raw, &o)
	return resp.StatusCode, o
}

func (e *authEnv) ok(tok, method, path string, body any) obj {
	e.t.Helper()
	status, o := e.call(tok, method, path, body)
	if status != http.StatusOK {
		e.t.Fatalf("%s %s: status %d %v; want 200", method, path, status, o)
	}
	return o
}

func (e *authEnv) denied(tok, method, path string, body any, status int, code string) {
	e.t.Helper()
	got, o := e.call(tok, method, path, body)
	if got != status || o["error_code"] != code || o["message"] == "" {
		e.t.Errorf("%s %s: got %d %v; want %d %s", method, path, got, o, status, code)
	}
}

const api = "/api/2.0/mlflow/"

func runTags(o obj) map[string]string {
	tags := map[string]string{}
	list, _ := at(o, "run", "data", "tags").([]any)
	for _, t := range list {
		kv := t.(map[string]any)
		tags[kv["key"].(string)] = kv["value"].(string)
	}
	return tags
}

func TestRunTokenAttribution(t *testing.T) {
	e := newAuthEnv(t, false)
	ctx := context.Background()

	// The seed's flow: get-by-name 404, create, create runs.
	e.denied(e.irisTok, "GET", api+"experiments/get-by-name?experiment_name=iris-exp", nil, 404, "RESOURCE_DOES_NOT_EXIST")
	exp := e.ok(e.irisTok, "POST", api+"experiments/create", obj{"name": "iris-exp"})["experiment_id"].(string)
	run := e.ok(e.irisTok, "POST", api+"runs/create", obj{"experiment_id": exp, "tags": []obj{
		{"key": "mlflow.source.git.commit", "value": "forged"}, {"key": "mlflow.user", "value": "alice"}}})
	tags := runTags(run)
	want := map[string]string{
		"posml.pipeline_run_id": e.iris.ID.String(), "posml.project": "iris",
		"mlflow.source.git.commit": "sha-iris", "mlflow.source.name": "src/train.py", "mlflow.user": "alice",
	}
	for k, v := range want {
		if tags[k] != v {
			t.Errorf("tag %s = %q; want %q (tags %v)", k, tags[k], v, tags)
		}
	}
	runID := at(run, "run", "info", "run_id").(string)
	// mlflow.source.name sent by the client is kept.
	run2 := e.ok(e.irisTok, "POST", api+"runs/create", obj{"experiment_id": exp, "tags": []obj{{"key": "mlflow.source.name", "value": "train.py"}}})
	if got := runTags(run2)["mlflow.source.name"]; got != "train.py" {
		t.Errorf("mlflow.source.name = %q; want the client's", got)
	}
	e.ok(e.irisTok, "POST", api+"runs/log-metric", obj{"run_id": runID, "key": "accuracy_score", "value": 0.9, "timestamp": 1})
	e.ok(e.irisTok, "POST", api+"runs/set-tag", obj{"run_id": runID, "key": "posml.model", "value": "knn"})
	// The attribution tags are posml's.
	e.denied(e.irisTok, "POST", api+"runs/set-tag", obj{"run_id": runID, "key": "posml.pipeline_run_id", "value": "1"}, http.StatusForbidden, "PERMISSION_DENIED")
	e.denied(e.irisTok, "POST", api+"runs/delete-tag", obj{"run_id": runID, "key": "posml.project"}, http.StatusForbidden, "PERMISSION_DENIED")
	e.denied(e.irisTok, "POST", api+"runs/log-batch", obj{"run_id": runID, "tags": []obj{{"key": "posml.project", "value": "x"}}}, http.StatusForbidden, "PERMISSION_DENIED")

	// Model versions the token creates are outputs too, and the registry
	// events name the pipeline run.
	e.ok("", "POST", api+"registered-models/create", obj{"name": "knn"}) // as project activation does
	e.ok(e.irisTok, "POST", api+"model-versions/create", obj{"name": "knn", "source": "mlflow-artifacts:/1/" + runID + "/artifacts/models", "run_id": runID})
	outs, err := e.store.RunOutputs(ctx, e.iris.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 3 || outs[0].MLflowRunID != runID || outs[2].ModelName != "knn" || outs[2].ModelVersion != 1 {
		t.Errorf("RunOutputs = %+v; want 2 runs and knn version 1", outs)
	}
	evs, err := e.store.RegistryEvents(ctx, "knn", 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; last.Actor.PipelineRunID != e.iris.ID.String() {
		t.Errorf("version event actor = %+v; want pipeline run %s", last.Actor, e.iris.ID)
	}
	if evs[0].Actor.PipelineRunID != "" {
		t.Errorf("anonymous create event actor = %+v", evs[0].Actor)
	}

	// A new experiment or model the token creates becomes its project's.
	e.ok(e.irisTok, "POST", api+"experiments/create", obj{"name": "iris-scratch"})
	if owner, err := e.store.ResourceOwner(ctx, lineage.Experiment, "iris-scratch"); err != nil || owner != e.iris.ProjectID {
		t.Errorf("owner of iris-scratch = %v, %v", owner, err)
	}
	e.ok(e.irisTok, "POST", api+"registered-models/create", obj{"name": "iris-extra"})
	e.ok(e.irisTok, "POST", api+"registered-models/set-tag", obj{"name": "iris-extra", "key": "k", "value": "v"})

	// Token requests keep their route in the server's metrics.
	resp, err := http.Get(e.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m, _ := io.ReadAll(resp.Body)
	if !bytes.Contains(m, []byte(`route="POST /api/2.0/mlflow/runs/create",code="200"} 2`)) {
		t.Errorf("metrics lack the token requests' route:\n%s", m)
	}
}

func TestRunTokenCrossProject(t *testing.T) {
	e := newAuthEnv(t, false)
	wineExp := e.ok(e.wineTok, "POST", api+"experiments/create", obj{"name": "wine-exp"})["experiment_id"].(string)
	wineRun := at(e.ok(e.wineTok, "POST", api+"runs/create", obj{"experiment_id": wineExp}), "run", "info", "run_id").(string)
	e.ok("", "POST", api+"registered-models/create", obj{"name": "wine-model"})
	e.ok("", "POST", api+"experiments/create", obj{"name": "nobodys"})

	const pd = "PERMISSION_DENIED"
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"POST", api + "experiments/create", obj{"name": "wine-exp"}},
		{"POST", api + "runs/create", obj{"experiment_id": wineExp}},
		{"POST", api + "runs/create", obj{}}, // the Default experiment is nobody's
		{"POST", api + "runs/log-metric", obj{"run_id": wineRun, "key": "m", "value": 1, "timestamp": 1}},
		{"POST", api + "runs/set-tag", obj{"run_id": wineRun, "key": "k", "value": "v"}},
		{"POST", api + "runs/update", obj{"run_id": wineRun, "status": "FAILED"}},
		{"POST", api + "experiments/set-experiment-tag", obj{"experiment_id": wineExp, "key": "k", "value": "v"}},
		{"POST", api + "experiments/delete", obj{"experiment_id": wineExp}},
		{"POST", api + "experiments/update", obj{"experiment_id": wineExp, "new_name": "mine"}},
		{"POST", "/ajax-api/2.0/mlflow/runs/create", obj{"experiment_id": wineExp}},
		{"POST", api + "registered-models/create", obj{"name": "wine-model"}},
		{"POST", api + "model-versions/create", obj{"name": "wine-model", "source": "s"}},
		{"DELETE", api + "registered-models/delete", obj{"name": "wine-model"}},
		{"POST", api + "registered-models/alias", obj{"name": "wine-model", "alias": "champion", "version": "1"}},
		{"POST", api + "registered-models/rename", obj{"name": "wine-model", "new_name": "stolen"}},
		{"POST", api + "model-versions/create", obj{"name": "nobody-model", "source": "s"}},
		{"PUT", "/api/2.0/mlflow-artifacts/artifacts/" + wineExp + "/" + wineRun + "/artifacts/x.txt", []byte("x")},
	} {
		e.denied(e.irisTok, tc.method, tc.path, tc.body, http.StatusForbidden, pd)
	}
	// Reads are allowed.
	e.ok(e.irisTok, "GET", api+"runs/get?run_id="+wineRun, nil)
	e.ok(e.irisTok, "POST", api+"runs/search", obj{"experiment_ids": []string{wineExp}})
	// The owner may; and so may an anonymous caller (loopback default).
	e.ok(e.wineTok, "POST", api+"runs/set-tag", obj{"run_id": wineRun, "key": "k", "value": "v"})
	e.ok("", "POST", api+"runs/set-tag", obj{"run_id": wineRun, "key": "k", "value": "v"})
	status, _ := e.call(e.wineTok, "PUT", "/api/2.0/mlflow-artifacts/artifacts/"+wineExp+"/"+wineRun+"/artifacts/x.txt", []byte("x"))
	if status != http.StatusOK {
		t.Errorf("owner's artifact upload: status %d", status)
	}
}

func TestRunTokenUnauthenticated(t *testing.T) {
	e := newAuthEnv(t, false)
	e.denied("posml_rt_bogus", "POST", api+"experiments/create", obj{"name": "x"}, http.StatusUnauthorized, "UNAUTHENTICATED")
	e.denied("posml_rt_bogus", "GET", api+"experiments/search", nil, http.StatusUnauthorized, "UNAUTHENTICATED")
	if err := auth.New(e.store, auth.Config{Grace: time.Nanosecond}).Revoke(context.Background(), e.iris.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	e.denied(e.irisTok, "POST", api+"experiments/create", obj{"name": "x"}, http.StatusUnauthorized, "UNAUTHENTICATED")
	e.ok("", "POST", api+"experiments/create", obj{"name": "x"})

	strict := newAuthEnv(t, true)
	strict.denied("", "GET", api+"experiments/search", nil, http.StatusUnauthorized, "UNAUTHENTICATED")
	strict.ok(strict.wineTok, "GET", api+"experiments/search", nil)
}
