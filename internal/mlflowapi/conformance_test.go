package mlflowapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// The request sequences of spec §4 that the official client sends.

func TestSetExperiment(t *testing.T) {
	c := testServer(t)
	// get_experiment_by_name → 404 → create → get.
	c.fail("GET", "experiments/get-by-name?experiment_name=iris", nil, 404, "RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name 'iris'")
	id := str(c.post("experiments/create", obj{"name": "iris"})["experiment_id"])
	if id != "1" {
		t.Fatalf("experiment_id = %q; want \"1\"", id)
	}
	e := c.get("experiments/get", q("experiment_id", id))
	if at(e, "experiment", "lifecycle_stage") != "active" || at(e, "experiment", "artifact_location") != "mlflow-artifacts:/1" || at(e, "experiment", "name") != "iris" {
		t.Fatalf("experiment = %v", e)
	}
	// A concurrent creator gets RESOURCE_ALREADY_EXISTS (400) and re-reads.
	c.fail("POST", "experiments/create", obj{"name": "iris"}, 400, "RESOURCE_ALREADY_EXISTS", "Experiment(name=iris) already exists.")
	e = c.get("experiments/get-by-name", q("experiment_name", "iris"))
	if at(e, "experiment", "experiment_id") != "1" {
		t.Fatalf("get-by-name = %v", e)
	}
	// The default experiment exists from the start.
	e = c.get("experiments/get", q("experiment_id", "0"))
	if at(e, "experiment", "name") != "Default" || at(e, "experiment", "artifact_location") != "mlflow-artifacts:/0" {
		t.Fatalf("default experiment = %v", e)
	}
	// The same routes answer under /ajax-api.
	e = c.get("/ajax-api/2.0/mlflow/experiments/get", q("experiment_id", "1"))
	if at(e, "experiment", "name") != "iris" {
		t.Fatalf("ajax get = %v", e)
	}
}

func TestStartAndEndRun(t *testing.T) {
	c := testServer(t)
	o := c.post("runs/create", obj{"experiment_id": "0", "user_id": "alice", "start_time": 1700000000123, "run_name": "knn-2",
		"tags": []obj{{"key": "mlflow.user", "value": "alice"}, {"key": "mlflow.source.name", "value": "src/train.py"}, {"key": "mlflow.source.type", "value": "LOCAL"}, {"key": "mlflow.runName", "value": "knn-2"}}})
	info := at(o, "run", "info")
	id := str(at(info, "run_id"))
	if len(id) != 32 || at(info, "run_uuid") != id {
		t.Fatalf("run_id %q, run_uuid %v", id, at(info, "run_uuid"))
	}
	want := obj{"run_name": "knn-2", "experiment_id": "0", "user_id": "alice", "status": "RUNNING",
		"start_time": 1700000000123.0, "artifact_uri": "mlflow-artifacts:/0/" + id + "/artifacts", "lifecycle_stage": "active"}
	for k, v := range want {
		if at(info, k) != v {
			t.Errorf("info.%s = %v; want %v", k, at(info, k), v)
		}
	}
	if _, ok := info.(map[string]any)["end_time"]; ok {
		t.Errorf("end_time present while RUNNING: %v", info)
	}
	if kv(o, "run", "data", "tags")["mlflow.runName"] != "knn-2" {
		t.Errorf("tags = %v", at(o, "run", "data", "tags"))
	}
	// A generated name when none is given; run_name and tag must agree.
	o = c.post("runs/create", obj{"experiment_id": "0"})
	if name := str(at(o, "run", "info", "run_name")); name == "" || kv(o, "run", "data", "tags")["mlflow.runName"] != name {
		t.Errorf("generated name: %v", at(o, "run"))
	}
	c.fail("POST", "runs/create", obj{"run_name": "a", "tags": []obj{{"key": "mlflow.runName", "value": "b"}}}, 400, "INVALID_PARAMETER_VALUE",
		"Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='a', mlflow.runName='b').")
	c.fail("POST", "runs/create", obj{"experiment_id": "99"}, 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=99 exists")
	// end_run: runs/update {run_id, run_uuid, status, end_time}.
	o = c.post("runs/update", obj{"run_id": id, "run_uuid": id, "status": "FINISHED", "end_time": 1700000009999})
	if at(o, "run_info", "status") != "FINISHED" || at(o, "run_info", "end_time") != 1700000009999.0 || at(o, "run_info", "run_name") != "knn-2" {
		t.Fatalf("run_info = %v", o)
	}
	// Renaming without changing the status; enum as a number.
	o = c.post("runs/update", obj{"run_id": id, "run_name": "renamed"})
	if at(o, "run_info", "status") != "FINISHED" || at(o, "run_info", "run_name") != "renamed" {
		t.Fatalf("rename: %v", o)
	}
	o = c.post("runs/update", obj{"run_uuid": id, "status": 4})
	if at(o, "run_info", "status") != "FAILED" {
		t.Fatalf("status 4: %v", o)
	}
	r := c.get("runs/get", q("run_id", id, "run_uuid", id))
	if kv(r, "run", "data", "tags")["mlflow.runName"] != "renamed" {
		t.Fatalf("tag after rename: %v", at(r, "run", "data", "tags"))
	}
	c.fail("POST", "runs/update", obj{"run_id": id, "status": "BOGUS"}, 400, "INVALID_PARAMETER_VALUE", `Invalid value "BOGUS" for parameter 'status' supplied.`)
}

func TestLogParamMetricTagAndBatch(t *testing.T) {
	c := testServer(t)
	id := c.createRun("0")
	c.post("runs/log-parameter", obj{"run_id": id, "run_uuid": id, "key": "k", "value": "3"})
	c.post("runs/log-parameter", obj{"run_id": id, "key": "k", "value": "3"}) // same value: fine
	c.post("runs/log-parameter", obj{"run_id": id, "key": "empty", "value": ""})
	c.fail("POST", "runs/log-parameter", obj{"run_id": id, "key": "k", "value": "5"}, 400, "INVALID_PARAMETER_VALUE",
		"Changing param values is not allowed. Param with key='k' was already logged with value='3' for run ID='"+id+"'. Attempted logging new value '5'.")
	c.post("runs/log-metric", obj{"run_id": id, "run_uuid": id, "key": "acc", "value": 0.5, "timestamp": 1000, "step": 0})
	c.post("runs/log-metric", obj{"run_uuid": id, "key": "acc", "value": 0.7, "timestamp": "1001", "step": "1"}) // run_uuid only, int64 strings
	c.post("runs/log-metric", obj{"run_id": id, "key": "nodefault", "value": 1, "timestamp": 5})                 // step defaults to 0
	c.post("runs/set-tag", obj{"run_id": id, "run_uuid": id, "key": "t", "value": "v"})
	c.post("runs/set-tag", obj{"run_id": id, "key": "t", "value": "multi\nline"}) // tags upsert
	c.post("runs/set-tag", obj{"run_id": id, "key": "e", "value": ""})
	// log_params / log_metrics use log-batch.
	c.post("runs/log-batch", obj{"run_id": id,
		"metrics": []obj{{"key": "loss", "value": 1.0, "timestamp": 1, "step": 0}, {"key": "loss", "value": 0.5, "timestamp": 2, "step": 1}, {"key": "nostep", "value": 1, "timestamp": 3}},
		"params":  []obj{{"key": "alpha", "value": "0.1"}, {"key": "k", "value": "3"}},
		"tags":    []obj{{"key": "estimator_name", "value": "KNN"}, {"key": "mlflow.runName", "value": "via-batch"}}})
	c.fail("POST", "runs/log-batch", obj{"run_id": id, "params": []obj{{"key": "alpha", "value": "0.2"}}}, 400, "INVALID_PARAMETER_VALUE",
		"Changing param values is not allowed. Params were already logged='[{'key': 'alpha', 'old_value': '0.1', 'new_value': '0.2'}]' for run ID='"+id+"'.")
	r := c.get("runs/get", q("run_id", id))
	params, tags, metrics := kv(r, "run", "data", "params"), kv(r, "run", "data", "tags"), map[string]obj{}
	for _, m := range list(r, "run", "data", "metrics") {
		metrics[str(at(m, "key"))] = m.(obj)
	}
	if params["k"] != "3" || params["alpha"] != "0.1" || params["empty"] != "" {
		t.Errorf("params = %v", params)
	}
	if tags["t"] != "multi\nline" || tags["e"] != "" || tags["estimator_name"] != "KNN" || tags["mlflow.runName"] != "via-batch" {
		t.Errorf("tags = %v", tags)
	}
	if at(r, "run", "info", "run_name") != "via-batch" {
		t.Errorf("run_name = %v", at(r, "run", "info", "run_name"))
	}
	if m := metrics["acc"]; m["value"] != 0.7 || m["step"] != 1.0 || m["timestamp"] != 1001.0 {
		t.Errorf("latest acc = %v", m)
	}
	if m := metrics["loss"]; m["value"] != 0.5 {
		t.Errorf("latest loss = %v", m)
	}
	if m := metrics["nodefault"]; m["step"] != 0.0 {
		t.Errorf("default step = %v", m)
	}
	// Metric history: every value, ordered by timestamp, step, value.
	h := c.get("metrics/get-history", q("run_id", id, "run_uuid", id, "metric_key", "acc"))
	if n := len(list(h, "metrics")); n != 2 || at(h, "metrics", 0, "value") != 0.5 {
		t.Errorf("history = %v", h)
	}
	if _, ok := h["next_page_token"]; ok {
		t.Errorf("next_page_token on the only page: %v", h)
	}
	if h := c.get("metrics/get-history", q("run_id", id, "metric_key", "unknown")); len(h) != 0 {
		t.Errorf("unknown key history = %v; want {}", h)
	}
	// delete-tag
	c.post("runs/delete-tag", obj{"run_id": id, "key": "t"})
	c.fail("POST", "runs/delete-tag", obj{"run_id": id, "key": "fakeTag"}, 404, "RESOURCE_DOES_NOT_EXIST", "No tag with name: fakeTag in run with id "+id)
	c.fail("POST", "runs/delete-tag", obj{"run_id": "0123456789abcdef0123456789abcdef", "key": "t"}, 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=0123456789abcdef0123456789abcdef not found")
	// Writes to a deleted run fail; restore makes it writable again.
	c.post("runs/delete", obj{"run_id": id})
	notActive := "The run " + id + " must be in the 'active' state. Current state is deleted."
	c.fail("POST", "runs/log-metric", obj{"run_id": id, "key": "x", "value": 1, "timestamp": 1}, 400, "INVALID_PARAMETER_VALUE", notActive)
	c.fail("POST", "runs/log-batch", obj{"run_id": id, "params": []obj{{"key": "x", "value": "1"}}}, 400, "INVALID_PARAMETER_VALUE", notActive)
	c.fail("POST", "runs/set-tag", obj{"run_id": id, "key": "x", "value": "1"}, 400, "INVALID_PARAMETER_VALUE", notActive)
	c.fail("POST", "runs/delete-tag", obj{"run_id": id, "key": "e"}, 400, "INVALID_PARAMETER_VALUE", notActive)
	if at(c.get("runs/get", q("run_id", id)), "run", "info", "lifecycle_stage") != "deleted" {
		t.Error("deleted run is not deleted")
	}
	c.post("runs/restore", obj{"run_id": id})
	c.post("runs/log-metric", obj{"run_id": id, "key": "x", "value": 1, "timestamp": 1})
}

func TestNaNAndInfinityRoundTrip(t *testing.T) {
	c := testServer(t)
	id := c.createRun("0")
	c.post("runs/log-metric", obj{"run_id": id, "key": "nan", "value": "NaN", "timestamp": 1})
	c.post("runs/log-metric", obj{"run_id": id, "key": "inf", "value": "Infinity", "timestamp": 1})
	c.post("runs/log-batch", obj{"run_id": id, "metrics": []obj{{"key": "ninf", "value": "-Infinity", "timestamp": 1, "step": 0}}})
	_, _, raw := c.do("GET", "runs/get?run_id="+id, nil)
	for _, want := range []string{`"key":"nan","value":"NaN"`, `"key":"inf","value":"Infinity"`, `"key":"ninf","value":"-Infinity"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("runs/get lacks %s: %s", want, raw)
		}
	}
	_, _, raw = c.do("GET", "metrics/get-history?run_id="+id+"&metric_key=inf", nil)
	if !strings.Contains(raw, `"value":"Infinity"`) {
		t.Errorf("history: %s", raw)
	}
	// A NaN latest value sorts last and never matches a filter.
	o := c.post("runs/search", obj{"experiment_ids": []string{"0"}, "filter": "metrics.nan >= 0"})
	if len(list(o, "runs")) != 0 {
		t.Errorf("NaN matched a filter: %v", o)
	}
	o = c.post("runs/search", obj{"experiment_ids": []string{"0"}, "filter": "metrics.inf > 1e300"})
	if len(list(o, "runs")) != 1 {
		t.Errorf("Infinity did not match > 1e300: %v", o)
	}
}

func TestSklearnAutologAndLogModel2x(t *testing.T) {
	c := testServer(t)
	exp := str(c.post("experiments/create", obj{"name": "iris"})["experiment_id"])
	id := c.createRun(exp)
	// Params in chunks of ≤100, estimator tags.
	var params []obj
	for i := range 100 {
		params = append(params, obj{"key": fmt.Sprintf("p%03d", i), "value": fmt.Sprint(i)})
	}
	c.post("runs/log-batch", obj{"run_id": id, "params": params, "tags": []obj{{"key": "estimator_name", "value": "KNeighborsClassifier"}, {"key": "estimator_class", "value": "sklearn.neighbors._classification.KNeighborsClassifier"}}})
	// Dataset inputs.
	ds := obj{"tags": []obj{{"key": "mlflow.data.context", "value": "train"}},
		"dataset": obj{"name": "dataset", "digest": "0a1b2c3d", "source_type": "code", "source": `{"tags": {}}`, "schema": `{"mlflow_tensorspec": {}}`, "profile": `{"features_shape": [120, 4]}`}}
	c.post("runs/log-inputs", obj{"run_id": id, "datasets": []obj{ds}})
	c.post("runs/log-inputs", obj{"run_id": id, "datasets": []obj{ds}}) // idempotent
	r := c.get("runs/get", q("run_id", id))
	if n := len(list(r, "run", "inputs", "dataset_inputs")); n != 1 {
		t.Fatalf("dataset_inputs = %v", at(r, "run", "inputs"))
	}
	if at(r, "run", "inputs", "dataset_inputs", 0, "dataset", "digest") != "0a1b2c3d" || kv(r, "run", "inputs", "dataset_inputs", 0, "tags")["mlflow.data.context"] != "train" {
		t.Fatalf("dataset input = %v", at(r, "run", "inputs", "dataset_inputs", 0))
	}
	// Artifacts through the proxy, under the run's artifact URI.
	root := "/api/2.0/mlflow-artifacts/artifacts/" + exp + "/" + id + "/artifacts/"
	for _, f := range []string{"training_confusion_matrix.png", "estimator.html", "model/MLmodel", "model/model.pkl", "model/conda.yaml", "model/python_env.yaml", "model/requirements.txt"} {
		c.ok("PUT", root+f, "content of "+f)
	}
	// log-model twice: the history accumulates.
	for _, path := range []string{"model", "models"} {
		mj, _ := json.Marshal(obj{"artifact_path": path, "run_id": id, "utc_time_created": "2024-01-01 00:00:00.000000",
			"flavors": obj{"sklearn": obj{"pickled_model": "model.pkl"}}, "signature": obj{"inputs": "[]"}, "model_uuid": "abc"})
		c.post("runs/log-model", obj{"run_id": id, "model_json": string(mj)})
	}
	r = c.get("runs/get", q("run_id", id))
	var hist []obj
	if err := json.Unmarshal([]byte(str(kv(r, "run", "data", "tags")["mlflow.log-model.history"])), &hist); err != nil || len(hist) != 2 {
		t.Fatalf("log-model history = %v (%v)", kv(r, "run", "data", "tags")["mlflow.log-model.history"], err)
	}
	if hist[1]["artifact_path"] != "models" || hist[0]["signature"] != nil {
		t.Errorf("history = %v", hist)
	}
	c.fail("POST", "runs/log-model", obj{"run_id": id, "model_json": `{"artifact_path": "m"}`}, 400, "INVALID_PARAMETER_VALUE",
		"Model json is missing mandatory fields: {'flavors', 'run_id', 'utc_time_created'}")
	c.fail("POST", "runs/log-model", obj{"run_id": id, "model_json": `not json`}, 400, "INVALID_PARAMETER_VALUE", "Malformed model info.")
	// Training metrics.
	c.post("runs/log-batch", obj{"run_id": id, "metrics": []obj{{"key": "training_accuracy_score", "value": 0.97, "timestamp": 1, "step": 0}}})
	// get_artifact_uri → runs/get → info.artifact_uri; artifacts/list.
	if at(r, "run", "info", "artifact_uri") != "mlflow-artifacts:/"+exp+"/"+id+"/artifacts" {
		t.Fatalf("artifact_uri = %v", at(r, "run", "info", "artifact_uri"))
	}
	l := c.get("artifacts/list", q("run_id", id))
	if l["root_uri"] != at(r, "run", "info", "artifact_uri") {
		t.Errorf("root_uri = %v", l["root_uri"])
	}
	var names []string
	for _, f := range list(l, "files") {
		names = append(names, str(at(f, "path")))
	}
	if strings.Join(names, ",") != "estimator.html,model,training_confusion_matrix.png" {
		t.Errorf("list root = %v", names)
	}
	l = c.get("artifacts/list", q("run_id", id, "path", "model"))
	if at(l, "files", 0, "path") != "model/MLmodel" || at(l, "files", 0, "is_dir") != false || at(l, "files", 0, "file_size") == nil {
		t.Errorf("list model = %v", l)
	}
	// A file path lists as empty.
	if l := c.get("artifacts/list", q("run_id", id, "path", "model/MLmodel")); len(list(l, "files")) != 0 {
		t.Errorf("list of a file = %v", l)
	}
}

func TestEvaluateFlow(t *testing.T) {
	c := testServer(t)
	id := c.createRun("0")
	root := "0/" + id + "/artifacts"
	c.ok("PUT", "/api/2.0/mlflow-artifacts/artifacts/"+root+"/models/MLmodel", "flavors: {}")
	c.ok("PUT", "/api/2.0/mlflow-artifacts/artifacts/"+root+"/models/model.pkl", "pickle")
	// The client lists the model directory through the proxy, then downloads.
	l := c.get("/api/2.0/mlflow-artifacts/artifacts", q("path", root+"/models"))
	if len(list(l, "files")) != 2 || at(l, "files", 0, "path") != "MLmodel" {
		t.Fatalf("proxy list = %v", l)
	}
	st, _, body := c.do("GET", "/api/2.0/mlflow-artifacts/artifacts/"+root+"/models/model.pkl", nil)
	if st != 200 || body != "pickle" {
		t.Fatalf("download: %d %q", st, body)
	}
	c.post("runs/log-inputs", obj{"run_id": id, "datasets": []obj{{"tags": []obj{{"key": "mlflow.data.context", "value": "eval"}},
		"dataset": obj{"name": "eval", "digest": "d1", "source_type": "code", "source": "{}"}}}})
	c.post("runs/log-batch", obj{"run_id": id, "metrics": []obj{{"key": "accuracy_score", "value": 0.96, "timestamp": 1, "step": 0}}})
	c.post("runs/log-batch", obj{"run_id": id, "metrics": []obj{{"key": "f1_score", "value": 0.95, "timestamp": 1, "step": 0}}})
	c.ok("PUT", "/api/2.0/mlflow-artifacts/artifacts/"+root+"/roc_curve_plot.png", "png")
	r := c.get("runs/get", q("run_id", id))
	if len(list(r, "run", "data", "metrics")) != 2 {
		t.Fatalf("metrics = %v", at(r, "run", "data"))
	}
	// Searching runs by dataset.
	o := c.post("runs/search", obj{"experiment_ids": []string{"0"}, "filter": "dataset.context = 'eval'"})
	if len(list(o, "runs")) != 1 {
		t.Errorf("dataset filter: %v", o)
	}
}

func TestLogModel3x(t *testing.T) {
	c := testServer(t)
	exp := str(c.post("experiments/create", obj{"name": "e3"})["experiment_id"])
	id := c.createRun(exp)
	c.post("runs/log-batch", obj{"run_id": id, "params": []obj{{"key": "n_neighbors", "value": "3"}}, "metrics": []obj{{"key": "acc", "value": 0.9, "timestamp": 10, "step": 0}}})
	// 1. runs/get; 2. create the logged model.
	c.get("runs/get", q("run_id", id))
	m := c.post("logged-models", obj{"experiment_id": exp, "name": "model", "source_run_id": id, "model_type": "",
		"params": []obj{{"key": "n_neighbors", "value": "3"}}, "tags": []obj{{"key": "mlflow.source.name", "value": "train.py"}}})
	mid := str(at(m, "model", "info", "model_id"))
	if !strings.HasPrefix(mid, "m-") || at(m, "model", "info", "status") != "LOGGED_MODEL_PENDING" ||
		at(m, "model", "info", "artifact_uri") != "mlflow-artifacts:/"+exp+"/models/"+mid+"/artifacts" || at(m, "model", "info", "source_run_id") != id {
		t.Fatalf("created model = %v", m)
	}
	// 3. runs/outputs.
	c.post("runs/outputs", obj{"run_id": id, "models": []obj{{"model_id": mid, "step": 0}}})
	// 4. link metrics: get-history, then log-batch with model_id.
	h := c.get("metrics/get-history", q("run_id", id, "metric_key", "acc", "max_results", "25000"))
	c.post("runs/log-batch", obj{"run_id": id, "metrics": []obj{{"key": "acc", "value": at(h, "metrics", 0, "value"), "timestamp": 10, "step": 0, "model_id": mid}}})
	// 5. GET the model, PUT its files under models/<id>/artifacts.
	c.get("logged-models/"+mid, nil)
	c.ok("PUT", "/api/2.0/mlflow-artifacts/artifacts/"+exp+"/models/"+mid+"/artifacts/MLmodel", "flavors: {}")
	// 6. finalize.
	m = c.ok("PATCH", "logged-models/"+mid, obj{"model_id": mid, "status": "LOGGED_MODEL_READY"})
	if at(m, "model", "info", "status") != "LOGGED_MODEL_READY" {
		t.Fatalf("finalized = %v", m)
	}
	if kv(m, "model", "data", "params")["n_neighbors"] != "3" || at(m, "model", "data", "metrics", 0, "key") != "acc" || at(m, "model", "data", "metrics", 0, "run_id") != id {
		t.Errorf("model data = %v", at(m, "model", "data"))
	}
	// GetRun carries outputs (register_model picks the model from them).
	r := c.get("runs/get", q("run_id", id))
	if at(r, "run", "outputs", "model_outputs", 0, "model_id") != mid || at(r, "run", "outputs", "model_outputs", 0, "step") != 0.0 {
		t.Fatalf("outputs = %v", at(r, "run", "outputs"))
	}
	// register_model: search, then tag the model.
	s := c.post("logged-models/search", obj{"experiment_ids": []string{exp}, "filter": "source_run_id = '" + id + "'", "max_results": 50})
	if len(list(s, "models")) != 1 || at(s, "models", 0, "info", "name") != "model" {
		t.Fatalf("search = %v", s)
	}
	c.ok("PATCH", "logged-models/"+mid+"/tags", obj{"tags": []obj{{"key": "mlflow.modelVersions", "value": `[{"name": "m", "version": 1}]`}}})
	m = c.get("logged-models/"+mid, nil)
	if kv(m, "model", "info", "tags")["mlflow.modelVersions"] == nil {
		t.Errorf("tags = %v", at(m, "model", "info", "tags"))
	}
	// More than 100 params go through /params.
	c.post("logged-models/"+mid+"/params", obj{"model_id": mid, "params": []obj{{"key": "extra", "value": "1"}}})
	// Tags delete, delete, 404s.
	c.ok("DELETE", "logged-models/"+mid+"/tags/mlflow.modelVersions", nil)
	c.fail("DELETE", "logged-models/"+mid+"/tags/nope", nil, 404, "RESOURCE_DOES_NOT_EXIST", "No tag with key 'nope'")
	c.ok("DELETE", "logged-models/"+mid, obj{"model_id": mid})
	c.fail("GET", "logged-models/"+mid, nil, 404, "RESOURCE_DOES_NOT_EXIST", "Logged model with ID '"+mid+"' not found.")
	if m := c.get("logged-models/"+mid, q("allow_deleted", "True")); at(m, "model", "info", "model_id") != mid {
		t.Errorf("allow_deleted = %v", m)
	}
	c.fail("GET", "logged-models/m-unknown", nil, 404, "RESOURCE_DOES_NOT_EXIST", "Logged model with ID 'm-unknown' not found.")
	c.fail("POST", "logged-models", obj{"name": "x"}, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'experiment_id'.")
	// A generated name.
	m = c.post("logged-models", obj{"experiment_id": exp})
	if at(m, "model", "info", "name") == "" {
		t.Errorf("no generated name: %v", m)
	}
	c.fail("PATCH", "logged-models/"+str(at(m, "model", "info", "model_id")), obj{"status": "WHATEVER"}, 400, "INVALID_PARAMETER_VALUE", "for parameter 'status'")
}

func TestSearchRuns(t *testing.T) {
	c := testServer(t)
	exp := str(c.post("experiments/create", obj{"name": "s"})["experiment_id"])
	var ids []string
	for i := range 10 {
		o := c.post("runs/create", obj{"experiment_id": exp, "start_time": 1000, "run_name": fmt.Sprintf("run-%d", i)})
		id := str(at(o, "run", "info", "run_id"))
		ids = append(ids, id)
		c.post("runs/log-batch", obj{"run_id": id, "metrics": []obj{{"key": "acc", "value": float64(i) / 10, "timestamp": 1, "step": 0}},
			"params": []obj{{"key": "k", "value": fmt.Sprint(i % 3)}}, "tags": []obj{{"key": "group", "value": fmt.Sprintf("G%d", i%2)}}})
	}
	// Equal start_time: ordered by run_id; pages 4/4/2, last token absent.
	var got []string
	token := ""
	var pages []int
	for {
		body := obj{"experiment_ids": []string{exp}, "max_results": 4}
		if token != "" {
			body["page_token"] = token
		}
		o := c.post("runs/search", body)
		pages = append(pages, len(list(o, "runs")))
		for _, r := range list(o, "runs") {
			got = append(got, str(at(r, "info", "run_id")))
		}
		token = str(o["next_page_token"])
		if token == "" {
			break
		}
	}
	if fmt.Sprint(pages) != "[4 4 2]" {
		t.Fatalf("pages = %v", pages)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1] > got[i] {
			t.Fatalf("not ordered by run_id: %v", got)
		}
	}
	for _, tc := range []struct {
		filter string
		want   int
	}{
		{"metrics.acc > 0.45", 5},
		{"metrics.acc >= 0.5 and params.k = '0'", 2},
		{"params.k != '0'", 6},
		{"tags.group = 'G1'", 5},
		{"tags.group LIKE 'g%'", 0},
		{"tags.group ILIKE 'g%'", 10},
		{"attributes.run_name = 'run-3'", 1},
		{"tags.`mlflow.runName` LIKE 'run-1%'", 1},
		{"attribute.status = 'RUNNING'", 10},
		{"attributes.start_time >= 1000", 10},
		{"attributes.end_time > 0", 0},
		{"run_id IN ('" + ids[0] + "', '" + ids[1] + "')", 2},
		{"metrics.missing > 0", 0},
	} {
		o := c.post("runs/search", obj{"experiment_ids": []string{exp}, "filter": tc.filter})
		if n := len(list(o, "runs")); n != tc.want {
			t.Errorf("filter %q: %d runs; want %d", tc.filter, n, tc.want)
		}
	}
	o := c.post("runs/search", obj{"experiment_ids": []string{exp}, "order_by": []string{"metrics.acc DESC"}, "max_results": 3})
	if at(o, "runs", 0, "info", "run_id") != ids[9] || at(o, "runs", 2, "info", "run_id") != ids[7] {
		t.Errorf("order by metric: %v", o)
	}
	if len(list(o, "runs", 0, "data", "metrics")) != 1 || len(list(o, "runs", 0, "data", "params")) != 1 {
		t.Errorf("search runs lack data: %v", at(o, "runs", 0, "data"))
	}
	o = c.post("runs/search", obj{"experiment_ids": []string{exp}, "order_by": []string{"params.k ASC", "attributes.run_name DESC"}})
	if at(o, "runs", 0, "info", "run_name") != "run-9" {
		t.Errorf("order by param, name: first %v", at(o, "runs", 0, "info", "run_name"))
	}
	// View types.
	c.post("runs/delete", obj{"run_id": ids[0]})
	for view, want := range map[any]int{"ACTIVE_ONLY": 9, "DELETED_ONLY": 1, "ALL": 10, 2: 1} {
		o := c.post("runs/search", obj{"experiment_ids": []string{exp}, "run_view_type": view})
		if n := len(list(o, "runs")); n != want {
			t.Errorf("run_view_type %v: %d runs; want %d", view, n, want)
		}
	}
	// An empty result is {}.
	if o := c.post("runs/search", obj{"experiment_ids": []string{exp}, "filter": "metrics.acc > 5"}); len(o) != 0 {
		t.Errorf("empty search = %v; want {}", o)
	}
	// Bad input is a 400, never a 5xx.
	c.fail("POST", "runs/search", obj{"experiment_ids": []string{exp}, "max_results": 123456789}, 400, "INVALID_PARAMETER_VALUE", "Invalid value 123456789 for parameter 'max_results' supplied")
	c.fail("POST", "runs/search", obj{"experiment_ids": []string{exp}, "filter": "metrics.acc > 1 OR metrics.acc < 0"}, 400, "INVALID_PARAMETER_VALUE", "Invalid clause(s) in filter string")
	c.fail("POST", "runs/search", obj{"experiment_ids": []string{exp}, "page_token": "garbage!"}, 400, "INVALID_PARAMETER_VALUE", "Invalid page token")
	c.fail("POST", "runs/search", obj{"experiment_ids": []string{exp}, "order_by": []string{"metrics.acc", "metrics.acc"}}, 400, "INVALID_PARAMETER_VALUE", "")
}

func TestExperimentsCRUDAndSearch(t *testing.T) {
	c := testServer(t)
	a := str(c.post("experiments/create", obj{"name": "alpha", "artifact_location": "s3://bucket/alpha", "tags": []obj{{"key": "team", "value": "ml"}}})["experiment_id"])
	b := str(c.post("experiments/create", obj{"name": "beta"})["experiment_id"])
	e := c.get("experiments/get", q("experiment_id", a))
	if at(e, "experiment", "artifact_location") != "s3://bucket/alpha" || kv(e, "experiment", "tags")["team"] != "ml" {
		t.Fatalf("alpha = %v", e)
	}
	c.post("experiments/set-experiment-tag", obj{"experiment_id": b, "key": "team", "value": "data"})
	c.post("experiments/set-experiment-tag", obj{"experiment_id": b, "key": "team", "value": "ml\nops"})
	c.post("experiments/update", obj{"experiment_id": b, "new_name": "gamma"})
	e = c.get("experiments/get", q("experiment_id", b))
	if at(e, "experiment", "name") != "gamma" || kv(e, "experiment", "tags")["team"] != "ml\nops" {
		t.Fatalf("gamma = %v", e)
	}
	c.post("experiments/delete-experiment-tag", obj{"experiment_id": b, "key": "team"})
	// Search: default order newest first; GET and POST; paging.
	names := func(o obj) string {
		var ns []string
		for _, e := range list(o, "experiments") {
			ns = append(ns, str(at(e, "name")))
		}
		return strings.Join(ns, ",")
	}
	if got := names(c.post("experiments/search", obj{"view_type": "ACTIVE_ONLY"})); got != "gamma,alpha,Default" && got != "alpha,gamma,Default" {
		// Created in the same millisecond, ties break by experiment_id.
		t.Errorf("search = %s", got)
	}
	if got := names(c.get("experiments/search", q("filter", "name LIKE 'a%'", "max_results", "10"))); got != "alpha" {
		t.Errorf("LIKE = %s", got)
	}
	if got := names(c.post("experiments/search", obj{"filter": "tags.team = 'ml'"})); got != "alpha" {
		t.Errorf("tag filter = %s", got)
	}
	if got := names(c.get("experiments/search", q("order_by", "name DESC"))); got != "gamma,alpha,Default" {
		t.Errorf("order_by name DESC = %s", got)
	}
	p1 := c.post("experiments/search", obj{"max_results": 2, "order_by": []string{"name"}})
	if names(p1) != "Default,alpha" || p1["next_page_token"] == nil {
		t.Fatalf("page 1 = %v", p1)
	}
	p2 := c.post("experiments/search", obj{"max_results": 2, "order_by": []string{"name"}, "page_token": p1["next_page_token"]})
	if names(p2) != "gamma" || p2["next_page_token"] != nil {
		t.Fatalf("page 2 = %v", p2)
	}
	// MLflow 2.0 removed experiments/list; old clients get ENDPOINT_NOT_FOUND.
	c.fail("GET", "experiments/list", nil, 404, "ENDPOINT_NOT_FOUND", "")
	// Delete, view types, restore.
	runID := c.createRun(a)
	c.post("experiments/delete", obj{"experiment_id": a})
	if at(c.get("experiments/get", q("experiment_id", a)), "experiment", "lifecycle_stage") != "deleted" {
		t.Fatal("not deleted")
	}
	if at(c.get("runs/get", q("run_id", runID)), "run", "info", "lifecycle_stage") != "deleted" {
		t.Error("runs of a deleted experiment stay active")
	}
	if got := names(c.post("experiments/search", obj{"view_type": "DELETED_ONLY"})); got != "alpha" {
		t.Errorf("DELETED_ONLY = %s", got)
	}
	if got := names(c.post("experiments/search", obj{"view_type": 3, "order_by": []string{"name"}})); got != "Default,alpha,gamma" {
		t.Errorf("ALL = %s", got)
	}
	c.fail("POST", "runs/create", obj{"experiment_id": a}, 400, "INVALID_PARAMETER_VALUE", "The experiment "+a+" must be in the 'active' state. Current state is deleted.")
	c.fail("POST", "experiments/update", obj{"experiment_id": a, "new_name": "x"}, 400, "INVALID_PARAMETER_VALUE", "Cannot rename a non-active experiment.")
	c.fail("POST", "experiments/delete", obj{"experiment_id": a}, 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id="+a+" exists")
	c.post("experiments/restore", obj{"experiment_id": a})
	if at(c.get("runs/get", q("run_id", runID)), "run", "info", "lifecycle_stage") != "active" {
		t.Error("restore left runs deleted")
	}
	c.fail("POST", "experiments/restore", obj{"experiment_id": a}, 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id="+a+" exists")
	c.fail("POST", "experiments/update", obj{"experiment_id": a, "new_name": "gamma"}, 400, "RESOURCE_ALREADY_EXISTS", "Experiment(name=gamma) already exists")
	c.fail("GET", "experiments/get?experiment_id=abc", nil, 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=abc exists")
	c.fail("POST", "experiments/create", obj{"name": "x", "artifact_location": "s3://b/x?a=1"}, 400, "INVALID_PARAMETER_VALUE", "'artifact_location' URL can't include fragments or params.")
}

func TestMetricHistoryPagingAndBulkInterval(t *testing.T) {
	c := testServer(t)
	a, b := c.createRun("0"), c.createRun("0")
	var ms []obj
	for i := range 30 {
		ms = append(ms, obj{"key": "loss", "value": float64(30 - i), "timestamp": 100 + i, "step": i})
	}
	c.post("runs/log-batch", obj{"run_id": a, "metrics": ms})
	c.post("runs/log-batch", obj{"run_id": b, "metrics": ms[:10]})
	var all []any
	token := ""
	for range 10 {
		qv := q("run_id", a, "metric_key", "loss", "max_results", "12")
		if token != "" {
			qv.Set("page_token", token)
		}
		o := c.get("metrics/get-history", qv)
		all = append(all, list(o, "metrics")...)
		token = str(o["next_page_token"])
		if token == "" {
			break
		}
	}
	if len(all) != 30 || at(all, 29, "step") != 29.0 {
		t.Fatalf("paged history: %d values", len(all))
	}
	o := c.get("metrics/get-history-bulk-interval", q("run_ids", a, "run_ids", b, "metric_key", "loss", "max_results", "5"))
	byRun := map[string][]float64{}
	for _, m := range list(o, "metrics") {
		byRun[str(at(m, "run_id"))] = append(byRun[str(at(m, "run_id"))], at(m, "step").(float64))
	}
	// Sampled steps plus each run's first and last step.
	if sa := byRun[a]; len(sa) < 5 || sa[0] != 0 || sa[len(sa)-1] != 29 {
		t.Errorf("run a steps = %v", sa)
	}
	if sb := byRun[b]; len(sb) == 0 || sb[len(sb)-1] != 9 {
		t.Errorf("run b steps = %v", sb)
	}
	o = c.get("metrics/get-history-bulk-interval", q("run_ids", a, "metric_key", "loss", "start_step", "10", "end_step", "12"))
	if n := len(list(o, "metrics")); n != 3 {
		t.Errorf("steps 10..12: %d values", n)
	}
	c.fail("GET", "metrics/get-history-bulk-interval?run_ids="+a+"&metric_key=loss&start_step=3", nil, 400, "INVALID_PARAMETER_VALUE", "If either start step or end step are specified, both must be specified.")
	c.fail("GET", "metrics/get-history-bulk-interval?run_ids="+a+"&metric_key=loss&start_step=3&end_step=1", nil, 400, "INVALID_PARAMETER_VALUE", "end_step must be greater than start_step. Found start_step=3 and end_step=1.")
	c.fail("GET", "metrics/get-history-bulk-interval?run_ids="+a+"&metric_key=loss&max_results=0", nil, 400, "INVALID_PARAMETER_VALUE", "max_results must be between 1 and 2500.")
	c.fail("GET", "metrics/get-history-bulk-interval?metric_key=loss", nil, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'run_ids'.")
	var many []string
	for i := range 101 {
		many = append(many, fmt.Sprintf("run_ids=r%d", i))
	}
	c.fail("GET", "metrics/get-history-bulk-interval?metric_key=loss&"+strings.Join(many, "&"), nil, 400, "INVALID_PARAMETER_VALUE", "GetMetricHistoryBulkInterval request must specify at most 100 run_ids. Received 101 run_ids.")
}

func TestWireConventions(t *testing.T) {
	c := testServer(t)
	// Unknown routes: 404 ENDPOINT_NOT_FOUND as JSON, under both prefixes.
	c.fail("GET", "/api/2.0/mlflow/no/such/thing", nil, 404, "ENDPOINT_NOT_FOUND", "")
	c.fail("POST", "/ajax-api/2.0/mlflow/traces", obj{}, 404, "ENDPOINT_NOT_FOUND", "")
	c.fail("POST", "/api/3.0/mlflow/traces", obj{}, 404, "ENDPOINT_NOT_FOUND", "")
	c.fail("GET", "runs/create", nil, 404, "ENDPOINT_NOT_FOUND", "") // wrong method
	// Empty body is {}; a double-encoded body is decoded twice; unknown fields
	// are ignored.
	c.fail("POST", "experiments/create", "", 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'name'.")
	enc, _ := json.Marshal(`{"name": "double"}`)
	c.post("experiments/create", string(enc))
	c.post("experiments/create", obj{"name": "extra", "future_field": obj{"x": 1}})
	o := c.get("experiments/get-by-name", q("experiment_name", "double"))
	if at(o, "experiment", "name") != "double" {
		t.Fatalf("double-encoded: %v", o)
	}
	// Empty responses are {} with a JSON content type.
	id := c.createRun("0")
	st, o, raw := c.do("POST", "runs/set-tag", obj{"run_id": id, "key": "a", "value": "b"})
	if st != 200 || raw != "{}" || o == nil {
		t.Fatalf("set-tag answer: %d %q", st, raw)
	}
	// Type errors in MLflow's words; malformed JSON is a 400.
	c.fail("POST", "experiments/create", obj{"name": 123}, 400, "INVALID_PARAMETER_VALUE", "Invalid value 123 for parameter 'name' supplied. Hint: Value was of type 'int'. See the API docs for more information about request parameters.")
	c.fail("POST", "runs/log-metric", obj{"run_id": id, "key": "k", "value": "abc", "timestamp": 1}, 400, "INVALID_PARAMETER_VALUE", `Invalid value "abc" for parameter 'value' supplied. Hint: Value was of type 'str'.`)
	c.fail("POST", "runs/create", obj{"start_time": "soon"}, 400, "INVALID_PARAMETER_VALUE", `Invalid value "soon" for parameter 'start_time'`)
	c.fail("POST", "runs/create", "{not json", 400, "BAD_REQUEST", "Malformed request")
	c.fail("GET", "runs/get?run_id=", nil, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'run_id'.")
	// /health, /version, /metrics.
	if st, _, body := c.do("GET", "/health", nil); st != 200 || body != "OK" {
		t.Errorf("/health = %d %q", st, body)
	}
	if st, _, body := c.do("GET", "/version", nil); st != 200 || body != "test" {
		t.Errorf("/version = %d %q", st, body)
	}
	// The counts are per replica: the one that served the set-tag has it.
	served := 0
	for _, base := range c.bases {
		st, _, body := c.do("GET", base+"/metrics", nil)
		if st != 200 {
			t.Errorf("/metrics = %d %s", st, body)
		}
		if strings.Contains(body, `posml_http_requests_total{route="POST /api/2.0/mlflow/runs/set-tag",code="200"} 1`) {
			served++
		}
	}
	if served != 1 {
		t.Errorf("/metrics: %d of %d replicas count the set-tag once; want 1", served, c.replicas())
	}
}

func TestArtifactsPathValidation(t *testing.T) {
	c := testServer(t)
	id := c.createRun("0")
	for _, p := range []string{"../x", "a/../../x", "/etc/passwd", "a%00b", "%2e%2e/x"} {
		c.fail("GET", "artifacts/list?run_id="+id+"&path="+p, nil, 400, "INVALID_PARAMETER_VALUE", "Invalid path")
	}
	for _, p := range []string{"/api/2.0/mlflow-artifacts/artifacts/0/../../etc/passwd", "/api/2.0/mlflow-artifacts/artifacts/%2e%2e/x"} {
		st, o, raw := c.do("GET", p, nil)
		if st != 400 || o["message"] != "Invalid path" {
			t.Errorf("GET %s: %d %s", p, st, raw)
		}
	}
	// Multipart upload is refused on a local store so that clients fall
	// back to PUT; S3 serves it with a presigned URL per part.
	st, o, _ := c.do("POST", "/api/2.0/mlflow-artifacts/mpu/create/0/"+id+"/artifacts", obj{"path": "/tmp/big.bin", "num_parts": 2})
	switch {
	case c.s3:
		if st != http.StatusOK || str(o["upload_id"]) == "" || len(list(o, "credentials")) != 2 || !strings.Contains(str(at(o, "credentials", 1, "url")), "/artifacts/big.bin?") {
			t.Errorf("mpu on S3: %d %v", st, o)
		}
		c.ok("POST", "/api/2.0/mlflow-artifacts/mpu/abort/0/"+id+"/artifacts", obj{"path": "/tmp/big.bin", "upload_id": str(o["upload_id"])})
	case st != http.StatusNotImplemented || !strings.HasPrefix(str(o["message"]), "Multipart upload is not supported for the current artifact repository"):
		t.Errorf("mpu: %d %v", st, o)
	}
	// An unknown run.
	c.fail("GET", "artifacts/list?run_id=deadbeef", nil, 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=deadbeef not found")
	// A missing directory lists as {}.
	if o := c.get("artifacts/list", q("run_id", id, "path", "nothing/here")); len(list(o, "files")) != 0 {
		t.Errorf("missing dir = %v", o)
	}
}
