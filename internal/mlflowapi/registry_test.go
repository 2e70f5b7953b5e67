package mlflowapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/mlflowapi"
	"github.com/posml/posml/internal/registry"
	"github.com/posml/posml/internal/sqlstore"
)

// registryServer is testServer that also hands out the store, for checks
// the API does not expose (the event history).
func registryServer(t *testing.T) (*client, *sqlstore.Store) {
	t.Helper()
	return testServers(t)
}

// versions lists the version numbers of a list of model versions.
func versions(v any, path ...any) []string {
	var out []string
	for _, mv := range list(v, path...) {
		out = append(out, str(at(mv, "version")))
	}
	return out
}

func TestRegistryRoutesUnderBothPrefixes(t *testing.T) {
	c := testServer(t)
	for _, rt := range mlflowapi.RegistryRoutes() {
		for _, p := range []string{"/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"} {
			var body any
			if rt.Method != "GET" {
				body = obj{}
			}
			st, o, raw := c.do(rt.Method, p+rt.Path, body)
			if st == 404 && o["error_code"] == "ENDPOINT_NOT_FOUND" || o == nil {
				t.Errorf("%s %s%s: %d %s", rt.Method, p, rt.Path, st, raw)
			}
		}
	}
	// The preview routes of MLflow 1.x are not served.
	c.fail("GET", "/api/2.0/preview/mlflow/registered-models/get?name=x", nil, 404, "ENDPOINT_NOT_FOUND", "")
}

func TestRegistryRegisteredModelsHTTP(t *testing.T) {
	c := testServer(t)
	o := c.post("registered-models/create", obj{"name": "m", "description": "first", "tags": []obj{{"key": "team", "value": "a"}}})
	rm := at(o, "registered_model")
	if at(rm, "name") != "m" || at(rm, "description") != "first" || kv(rm, "tags")["team"] != "a" ||
		at(rm, "creation_timestamp") == nil || at(rm, "creation_timestamp") != at(rm, "last_updated_timestamp") || at(rm, "latest_versions") != nil {
		t.Fatalf("created = %v", o)
	}
	c.fail("POST", "registered-models/create", obj{"name": "m"}, 400, "RESOURCE_ALREADY_EXISTS", "Registered Model (name=m) already exists.")
	c.fail("POST", "registered-models/create", obj{}, 400, "INVALID_PARAMETER_VALUE",
		"Missing value for required parameter 'name'. See the API docs for more information about request parameters.")
	c.fail("POST", "registered-models/create", obj{"name": 5}, 400, "INVALID_PARAMETER_VALUE", "Invalid value 5 for parameter 'name' supplied.")
	c.fail("POST", "registered-models/create", obj{"name": "t", "tags": []obj{{"key": "a:b", "value": "x"}}}, 400, "INVALID_PARAMETER_VALUE", "Invalid tag name: 'a:b'.")
	c.fail("GET", "registered-models/get?name=nope", nil, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=nope not found")
	c.fail("GET", "registered-models/get", nil, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'name'.")
	if o := c.get("registered-models/get", q("name", "m")); at(o, "registered_model", "name") != "m" {
		t.Fatalf("get = %v", o)
	}

	o = c.ok("PATCH", "registered-models/update", obj{"name": "m", "description": "second"})
	if at(o, "registered_model", "description") != "second" {
		t.Fatalf("update = %v", o)
	}
	c.post("registered-models/set-tag", obj{"name": "m", "key": "stage", "value": "beta"})
	c.post("registered-models/set-tag", obj{"name": "m", "key": "team", "value": "b"})
	c.ok("DELETE", "registered-models/delete-tag", obj{"name": "m", "key": "stage"})
	c.ok("DELETE", "registered-models/delete-tag", obj{"name": "m", "key": "stage"}) // a missing tag is fine
	c.fail("DELETE", "registered-models/delete-tag", obj{"name": "nope", "key": "k"}, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=nope not found")
	c.fail("POST", "registered-models/set-tag", obj{"name": "m"}, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'key'.")
	c.fail("POST", "registered-models/set-tag", obj{"name": "m", "key": "k", "value": strings.Repeat("v", 5001)}, 400, "INVALID_PARAMETER_VALUE",
		"Registered model value '"+strings.Repeat("v", 250)+"' had length 5001, which exceeded length limit of 5000")
	if tags := kv(c.get("registered-models/get", q("name", "m")), "registered_model", "tags"); len(tags) != 1 || tags["team"] != "b" {
		t.Fatalf("tags = %v", tags)
	}

	c.post("model-versions/create", obj{"name": "m", "source": "s3://bucket/m"})
	o = c.post("registered-models/rename", obj{"name": "m", "new_name": "m2"})
	if at(o, "registered_model", "name") != "m2" || at(o, "registered_model", "latest_versions", 0, "name") != "m2" {
		t.Fatalf("rename = %v", o)
	}
	c.get("model-versions/get", q("name", "m2", "version", "1"))
	c.post("registered-models/create", obj{"name": "other"})
	c.fail("POST", "registered-models/rename", obj{"name": "m2", "new_name": "other"}, 400, "RESOURCE_ALREADY_EXISTS", "Registered Model (name=other) already exists.")
	c.fail("POST", "registered-models/rename", obj{"name": "m2"}, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'new_name'.")
	c.fail("POST", "registered-models/rename", obj{"name": "zz", "new_name": "yy"}, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=zz not found")

	c.ok("DELETE", "registered-models/delete", obj{"name": "m2"})
	c.fail("DELETE", "registered-models/delete", obj{"name": "m2"}, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=m2 not found")
	c.fail("GET", "model-versions/get?name=m2&version=1", nil, 404, "RESOURCE_DOES_NOT_EXIST", "Model Version (name=m2, version=1) not found")
	// The /ajax-api prefix serves the same.
	if o := c.get("/ajax-api/2.0/mlflow/registered-models/get", q("name", "other")); at(o, "registered_model", "name") != "other" {
		t.Fatalf("ajax get = %v", o)
	}
}

func TestRegistrySearchRegisteredModelsHTTP(t *testing.T) {
	c := testServer(t)
	for i := range 7 {
		tags := []obj{{"key": "parity", "value": []string{"even", "odd"}[i%2]}}
		c.post("registered-models/create", obj{"name": fmt.Sprintf("RM%02d", i), "tags": tags})
	}
	c.post("registered-models/create", obj{"name": "prompt", "tags": []obj{{"key": "mlflow.prompt.is_prompt", "value": "true"}}})
	names := func(o obj) string {
		var ns []string
		for _, rm := range list(o, "registered_models") {
			ns = append(ns, str(at(rm, "name")))
		}
		return strings.Join(ns, ",")
	}
	// No filter: every model but the prompt, by name; no token on the last page.
	o := c.get("registered-models/search", nil)
	if names(o) != "RM00,RM01,RM02,RM03,RM04,RM05,RM06" {
		t.Fatalf("search = %s", names(o))
	}
	if _, ok := o["next_page_token"]; ok {
		t.Errorf("token on the last page: %v", o)
	}
	// Paging with the filter and order_by (repeated query keys).
	var got []string
	token := ""
	for range 10 {
		v := q("filter", "tags.parity = 'even'", "max_results", "2", "order_by", "name DESC")
		if token != "" {
			v.Set("page_token", token)
		}
		o := c.get("registered-models/search", v)
		got = append(got, names(o))
		token = str(o["next_page_token"])
		if token == "" {
			break
		}
	}
	if strings.Join(got, "|") != "RM06,RM04|RM02,RM00" {
		t.Fatalf("pages = %v", got)
	}
	o = c.get("registered-models/search", q("filter", "name LIKE 'RM0%' AND tags.parity != 'even'", "order_by", "name DESC"))
	if names(o) != "RM05,RM03,RM01" {
		t.Errorf("LIKE and tag = %s", names(o))
	}
	if o := c.get("registered-models/search", q("filter", "name ILIKE 'rm01'")); names(o) != "RM01" {
		t.Errorf("ILIKE = %s", names(o))
	}
	if o := c.get("registered-models/search", q("filter", "tags.`mlflow.prompt.is_prompt` = 'true'")); names(o) != "prompt" {
		t.Errorf("prompts = %s", names(o))
	}
	// Errors, all 400 INVALID_PARAMETER_VALUE.
	for f, msg := range map[string]string{
		"name = 'a' OR name = 'b'": "Invalid clause(s) in filter string",
		"run_id = 'x'":             "Invalid attribute key 'run_id' specified.",
		"name!=something":          "Parameter value is either not quoted or unidentified quote types used for string value something",
		"evilhax = true":           "Invalid clause(s) in filter string",
	} {
		c.fail("GET", "registered-models/search?"+q("filter", f).Encode(), nil, 400, "INVALID_PARAMETER_VALUE", msg)
	}
	c.fail("GET", "registered-models/search?max_results=1001", nil, 400, "INVALID_PARAMETER_VALUE", "Invalid value 1001 for parameter 'max_results' supplied.")
	c.fail("GET", "registered-models/search?page_token=evilhax", nil, 400, "INVALID_PARAMETER_VALUE", "Invalid page token, could not base64-decode")
	c.fail("GET", "registered-models/search?"+q("order_by", "name ASC", "order_by", "last_updated_timestamp DESC blah").Encode(), nil, 400,
		"INVALID_PARAMETER_VALUE", "Invalid order_by clause 'last_updated_timestamp DESC blah'")
	c.fail("GET", "registered-models/search?"+q("order_by", "timestamp", "order_by", "last_updated_timestamp").Encode(), nil, 400,
		"INVALID_PARAMETER_VALUE", "`order_by` contains duplicate fields")
}

// TestRegistrySeedSequence replays the registry calls of the seed's
// model_evaluate.py under the 2.x client: get_latest_versions(M,
// stages=["None"]) is registered-models/get then POST get-latest-versions,
// and the first run registers version 1 with create_model_version.
func TestRegistrySeedSequence(t *testing.T) {
	c := testServer(t)
	const model = "knn_model_1"
	// Without a registered model the seed fails exactly like on MLflow.
	c.fail("GET", "registered-models/get?name="+model, nil, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name="+model+" not found")
	c.fail("POST", "model-versions/create", obj{"name": model, "source": "s3://x/y"}, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name="+model+" not found")
	// The platform creates it when the project is registered.
	c.post("registered-models/create", obj{"name": model})

	exp := str(c.post("experiments/create", obj{"name": "seed"})["experiment_id"])
	best := c.createRun(exp)
	// Run 1: nothing in stage None yet.
	c.get("experiments/get-by-name", q("experiment_name", "seed"))
	c.get("runs/get", q("run_id", best, "run_uuid", best))
	if o := c.get("registered-models/get", q("name", model)); at(o, "registered_model", "name") != model {
		t.Fatalf("get = %v", o)
	}
	o := c.post("registered-models/get-latest-versions", obj{"name": model, "stages": []string{"None"}})
	if len(o) != 0 {
		t.Fatalf("latest versions of an empty model = %v; want {}", o)
	}
	source := "mlflow-artifacts:/" + exp + "/" + best + "/artifacts/models"
	o = c.post("model-versions/create", obj{"name": model, "source": source, "run_id": best, "description": "accuracy 0.9667"})
	mv := at(o, "model_version")
	want := obj{"name": model, "version": "1", "status": "READY", "current_stage": "None", "source": source, "run_id": best,
		"description": "accuracy 0.9667"}
	for k, v := range want {
		if at(mv, k) != v {
			t.Errorf("model_version.%s = %v; want %v", k, at(mv, k), v)
		}
	}
	// The 2.x client polls model-versions/get until READY: it is at once.
	if o := c.get("model-versions/get", q("name", model, "version", "1")); at(o, "model_version", "status") != "READY" {
		t.Fatalf("get = %v", o)
	}
	// Run 2: version 1 is the latest in stage None; its run is read.
	c.get("registered-models/get", q("name", model))
	o = c.post("registered-models/get-latest-versions", obj{"name": model, "stages": []string{"None"}})
	if v := versions(o, "model_versions"); len(v) != 1 || v[0] != "1" || at(o, "model_versions", 0, "run_id") != best {
		t.Fatalf("latest = %v", o)
	}
	c.get("runs/get", q("run_id", best, "run_uuid", best))
	// If the platform moves version 1 out of None, the seed sees nothing.
	c.post("model-versions/transition-stage", obj{"name": model, "version": "1", "stage": "Production", "archive_existing_versions": false})
	if o := c.post("registered-models/get-latest-versions", obj{"name": model, "stages": []string{"None"}}); len(o) != 0 {
		t.Fatalf("latest None after promotion = %v", o)
	}
}

func TestRegistryLatestVersionsHTTP(t *testing.T) {
	c := testServer(t)
	c.post("registered-models/create", obj{"name": "lv"})
	for range 4 {
		c.post("model-versions/create", obj{"name": "lv", "source": "s3://b/m"})
	}
	c.post("model-versions/transition-stage", obj{"name": "lv", "version": "2", "stage": "Production", "archive_existing_versions": false})
	c.post("model-versions/transition-stage", obj{"name": "lv", "version": "3", "stage": "production", "archive_existing_versions": "false"})
	c.post("model-versions/transition-stage", obj{"name": "lv", "version": 4, "stage": "STAGING"})
	stages := func(o obj) map[string]string {
		m := map[string]string{}
		for _, mv := range list(o, "model_versions") {
			m[str(at(mv, "current_stage"))] = str(at(mv, "version"))
		}
		return m
	}
	all := map[string]string{"None": "1", "Production": "3", "Staging": "4"}
	for _, c2 := range []struct {
		method string
		body   any
		path   string
		want   map[string]string
	}{
		{"POST", obj{"name": "lv"}, "", all},
		{"POST", obj{"name": "lv", "stages": []string{}}, "", all},
		{"POST", obj{"name": "lv", "stages": []string{"pROduction"}}, "", map[string]string{"Production": "3"}},
		{"POST", obj{"name": "lv", "stages": []string{"None", "Production"}}, "", map[string]string{"None": "1", "Production": "3"}},
		{"GET", nil, "?name=lv", all},
		{"GET", nil, "?name=lv&stages=Staging&stages=None", map[string]string{"None": "1", "Staging": "4"}},
		{"GET", nil, "?name=lv&stages=Archived", map[string]string{}},
	} {
		o := c.ok(c2.method, "registered-models/get-latest-versions"+c2.path, c2.body)
		if got := stages(o); fmt.Sprint(got) != fmt.Sprint(c2.want) {
			t.Errorf("%s %v%s = %v; want %v", c2.method, c2.body, c2.path, got, c2.want)
		}
	}
	// RegisteredModel.latest_versions is the same, in MLflow's order.
	if v := versions(c.get("registered-models/get", q("name", "lv")), "registered_model", "latest_versions"); strings.Join(v, ",") != "1,3,4" {
		t.Errorf("latest_versions = %v", v)
	}
	// Deleting the latest Production falls back to the previous one.
	c.ok("DELETE", "model-versions/delete", obj{"name": "lv", "version": "3"})
	if got := stages(c.post("registered-models/get-latest-versions", obj{"name": "lv", "stages": []string{"Production"}})); got["Production"] != "2" {
		t.Errorf("after delete = %v", got)
	}
	c.fail("POST", "registered-models/get-latest-versions", obj{"name": "lv", "stages": []string{"unknown"}}, 400, "INVALID_PARAMETER_VALUE",
		"Invalid Model Version stage: unknown. Value must be one of None, Staging, Production, Archived.")
	c.fail("POST", "registered-models/get-latest-versions", obj{"name": "nope"}, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=nope not found")
	c.fail("POST", "registered-models/get-latest-versions", obj{}, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'name'.")
}

func TestRegistryModelVersionsHTTP(t *testing.T) {
	c := testServer(t)
	c.post("registered-models/create", obj{"name": "mv"})
	run := c.createRun("0")
	o := c.post("model-versions/create", obj{"name": "mv", "source": "runs:/" + run + "/model", "run_id": run, "run_link": "http://x/r",
		"tags": []obj{{"key": "k", "value": "v"}}, "description": "d"})
	mv := at(o, "model_version")
	if at(mv, "version") != "1" || at(mv, "status") != "READY" || at(mv, "run_link") != "http://x/r" || kv(mv, "tags")["k"] != "v" ||
		at(mv, "creation_timestamp") != at(mv, "last_updated_timestamp") {
		t.Fatalf("created = %v", o)
	}
	c.post("model-versions/create", obj{"name": "mv", "source": "s3://b/2"})
	c.post("model-versions/create", obj{"name": "mv", "source": "s3://b/3"})
	// get / update.
	o = c.ok("PATCH", "model-versions/update", obj{"name": "mv", "version": "2", "description": "better"})
	if at(o, "model_version", "description") != "better" || at(o, "model_version", "version") != "2" {
		t.Fatalf("update = %v", o)
	}
	for _, bad := range []struct {
		method, path string
		body         any
	}{
		{"GET", "model-versions/get?name=mv&version=x", nil},
		{"PATCH", "model-versions/update", obj{"name": "mv", "version": "x"}},
		{"DELETE", "model-versions/delete", obj{"name": "mv", "version": "x"}},
		{"POST", "model-versions/transition-stage", obj{"name": "mv", "version": "x", "stage": "None"}},
		{"POST", "model-versions/set-tag", obj{"name": "mv", "version": "x", "key": "k", "value": "v"}},
		{"DELETE", "model-versions/delete-tag", obj{"name": "mv", "version": "x", "key": "k"}},
		{"GET", "model-versions/get-download-uri?name=mv&version=x", nil},
		{"POST", "registered-models/alias", obj{"name": "mv", "alias": "a", "version": "x"}},
	} {
		c.fail(bad.method, bad.path, bad.body, 400, "INVALID_PARAMETER_VALUE", "Model version must be an integer, got 'x'")
	}
	c.fail("GET", "model-versions/get?name=mv", nil, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'version'.")
	c.fail("GET", "model-versions/get?name=mv&version=9", nil, 404, "RESOURCE_DOES_NOT_EXIST", "Model Version (name=mv, version=9) not found")
	c.fail("GET", "model-versions/get?name=nope&version=1", nil, 404, "RESOURCE_DOES_NOT_EXIST", "Model Version (name=nope, version=1) not found")

	// Stages.
	c.fail("POST", "model-versions/transition-stage", obj{"name": "mv", "version": "1", "stage": "unknown", "archive_existing_versions": false}, 400,
		"INVALID_PARAMETER_VALUE", "Invalid Model Version stage: unknown. Value must be one of None, Staging, Production, Archived.")
	c.fail("POST", "model-versions/transition-stage", obj{"name": "mv", "version": "1", "stage": "archived", "archive_existing_versions": true}, 400,
		"INVALID_PARAMETER_VALUE", "Model version transition cannot archive existing model versions because 'archived' is not an Active stage. Valid stages are ['Staging', 'Production']")
	c.fail("POST", "model-versions/transition-stage", obj{"name": "mv", "version": "1"}, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'stage'.")
	c.post("model-versions/transition-stage", obj{"name": "mv", "version": "1", "stage": "Staging", "archive_existing_versions": false})
	c.post("model-versions/transition-stage", obj{"name": "mv", "version": "2", "stage": "Production", "archive_existing_versions": false})
	o = c.post("model-versions/transition-stage", obj{"name": "mv", "version": "3", "stage": "staging", "archive_existing_versions": true})
	if at(o, "model_version", "current_stage") != "Staging" {
		t.Fatalf("transition = %v", o)
	}
	stageOf := func(v string) any {
		return at(c.get("model-versions/get", q("name", "mv", "version", v)), "model_version", "current_stage")
	}
	if stageOf("1") != "Archived" || stageOf("2") != "Production" {
		t.Fatalf("after archive: %v %v", stageOf("1"), stageOf("2"))
	}
	c.post("model-versions/transition-stage", obj{"name": "mv", "version": "3", "stage": "Production", "archive_existing_versions": "True"})
	if stageOf("2") != "Archived" || stageOf("3") != "Production" {
		t.Fatalf("after archive into Production: %v %v", stageOf("2"), stageOf("3"))
	}

	// Tags.
	c.post("model-versions/set-tag", obj{"name": "mv", "version": "1", "key": "k", "value": "over"})
	c.post("model-versions/set-tag", obj{"name": "mv", "version": "1", "key": "k2", "value": ""})
	c.ok("DELETE", "model-versions/delete-tag", obj{"name": "mv", "version": "1", "key": "k2"})
	c.ok("DELETE", "model-versions/delete-tag", obj{"name": "mv", "version": "1", "key": "k2"})
	if tags := kv(c.get("model-versions/get", q("name", "mv", "version", "1")), "model_version", "tags"); len(tags) != 1 || tags["k"] != "over" {
		t.Fatalf("tags = %v", tags)
	}
	c.fail("POST", "model-versions/set-tag", obj{"name": "mv", "version": "9", "key": "k", "value": "v"}, 404, "RESOURCE_DOES_NOT_EXIST", "Model Version (name=mv, version=9) not found")

	// Soft delete: numbers are never reused.
	c.ok("DELETE", "model-versions/delete", obj{"name": "mv", "version": "3"})
	c.fail("DELETE", "model-versions/delete", obj{"name": "mv", "version": "3"}, 404, "RESOURCE_DOES_NOT_EXIST", "Model Version (name=mv, version=3) not found")
	c.fail("GET", "model-versions/get?name=mv&version=3", nil, 404, "RESOURCE_DOES_NOT_EXIST", "Model Version (name=mv, version=3) not found")
	c.fail("GET", "model-versions/get-download-uri?name=mv&version=3", nil, 404, "RESOURCE_DOES_NOT_EXIST", "Model Version (name=mv, version=3) not found")
	if v := at(c.post("model-versions/create", obj{"name": "mv", "source": "s3://b/4"}), "model_version", "version"); v != "4" {
		t.Fatalf("version after deleting 3 = %v; want 4", v)
	}
	c.ok("DELETE", "model-versions/delete", obj{"name": "mv", "version": "4"})
	if v := at(c.post("model-versions/create", obj{"name": "mv", "source": "s3://b/5"}), "model_version", "version"); v != "5" {
		t.Fatalf("version after deleting the highest = %v; want 5", v)
	}
	// Download URIs: runs:/ resolves through the run.
	if o := c.get("model-versions/get-download-uri", q("name", "mv", "version", "1")); o["artifact_uri"] != "mlflow-artifacts:/0/"+run+"/artifacts/model" {
		t.Errorf("download uri = %v", o)
	}
	if o := c.get("model-versions/get-download-uri", q("name", "mv", "version", "2")); o["artifact_uri"] != "s3://b/2" {
		t.Errorf("download uri = %v", o)
	}
	c.fail("GET", "model-versions/get-download-uri?version=1", nil, 400, "INVALID_PARAMETER_VALUE", "Registered model name cannot be empty.")
}

func TestRegistrySearchModelVersionsHTTP(t *testing.T) {
	c := testServer(t)
	c.post("registered-models/create", obj{"name": "s1"})
	c.post("registered-models/create", obj{"name": "s2"})
	r1, r2 := c.createRun("0"), c.createRun("0")
	// Distinct milliseconds, so that the default order (last update first)
	// is the creation order reversed.
	for _, body := range []obj{
		{"name": "s1", "source": "s3://b/A/B", "run_id": r1, "tags": []obj{{"key": "t", "value": "abc"}}},
		{"name": "s1", "source": "s3://b/A/C", "run_id": r2, "tags": []obj{{"key": "t", "value": "xyz"}}},
		{"name": "s2", "source": "s3://b/A/C", "run_id": r2},
		{"name": "s2", "source": "s3://b/A/D", "run_id": r1},
	} {
		c.post("model-versions/create", body)
		time.Sleep(3 * time.Millisecond)
	}
	c.ok("DELETE", "model-versions/delete", obj{"name": "s2", "version": "2"})
	ids := func(o obj) string {
		var out []string
		for _, mv := range list(o, "model_versions") {
			out = append(out, str(at(mv, "name"))+"/"+str(at(mv, "version")))
		}
		return strings.Join(out, ",")
	}
	for f, want := range map[string]string{
		"":                                          "s2/1,s1/2,s1/1",
		"name = 's1'":                               "s1/2,s1/1",
		"name LIKE 's%' AND version_number >= 2":    "s1/2",
		"version_number = 1":                        "s2/1,s1/1",
		"run_id = '" + r2 + "'":                     "s2/1,s1/2",
		"run_id IN ('" + r1 + "', '" + r2 + "')":    "s2/1,s1/2,s1/1",
		"source_path = 's3://b/A/C'":                "s2/1,s1/2",
		"source_path = 's3://b/A/D'":                "",
		"tags.t = 'xyz'":                            "s1/2",
		"tag.t ILIKE 'A%'":                          "s1/1",
		"name = 's1' and tag.t LIKE '%'":            "s1/2,s1/1",
		"run_id = '" + strings.ToUpper(r1) + "'":    "",
		"run_id IN ('" + strings.ToUpper(r1) + "')": "",
	} {
		if got := ids(c.get("model-versions/search", q("filter", f))); got != want {
			t.Errorf("%q = %q; want %q", f, got, want)
		}
	}
	if got := ids(c.get("model-versions/search", q("order_by", "name ASC", "order_by", "version_number ASC"))); got != "s1/1,s1/2,s2/1" {
		t.Errorf("ordered = %q", got)
	}
	// Paging.
	var pages []string
	token := ""
	for range 5 {
		v := q("max_results", "1")
		if token != "" {
			v.Set("page_token", token)
		}
		o := c.get("model-versions/search", v)
		pages = append(pages, ids(o))
		if token = str(o["next_page_token"]); token == "" {
			break
		}
	}
	if strings.Join(pages, "|") != "s2/1|s1/2|s1/1" {
		t.Errorf("pages = %v", pages)
	}
	for f, msg := range map[string]string{
		"run_id IN (1,2,3)":      "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list",
		"run_id IN ()":           "While parsing a list in the query, expected a non-empty list of string values, but got empty list",
		"name IN ('a')":          "Only the 'run_id' attribute supports comparison with a list of quoted string values.",
		"version_number > 'abc'": "Expected numeric value type for numeric attribute: version_number. Found 'abc'",
		"tags.t > 'a'":           "Invalid comparator for tag: >",
		"current_stage = 'None'": "Invalid attribute key 'current_stage' specified.",
		"name = 'a' or name='b'": "Invalid clause(s) in filter string",
		"name LIKE":              "Invalid clause(s) in filter string",
		"run_id IN (":            "Invalid clause(s) in filter string",
		"run_id IN ('a',,'b')":   "expected a non-empty list of string values, but got ill-formed list",
		"metrics.acc > 0.5":      "Invalid entity type 'metrics'",
		"name = 'x'; DROP TABLE": "Search filter contained multiple expression",
	} {
		c.fail("GET", "model-versions/search?"+q("filter", f).Encode(), nil, 400, "INVALID_PARAMETER_VALUE", msg)
	}
	c.fail("GET", "model-versions/search?"+q("order_by", "run_id DESC").Encode(), nil, 400, "INVALID_PARAMETER_VALUE", "Invalid attribute key 'run_id' specified.")
	c.fail("GET", "model-versions/search?max_results=200001", nil, 400, "INVALID_PARAMETER_VALUE", "Invalid value 200001 for parameter 'max_results' supplied.")
	c.fail("GET", "model-versions/search?max_results=0", nil, 400, "INVALID_PARAMETER_VALUE", "Invalid value for max_results. It must be a positive integer, but got 0")
	c.fail("GET", "model-versions/search?page_token=evilhax", nil, 400, "INVALID_PARAMETER_VALUE", "Invalid page token, could not base64-decode")
	// The tables survive a filter that tries SQL.
	c.do("GET", "model-versions/search?"+q("filter", "name = 'x''; DROP TABLE model_versions; --'").Encode(), nil)
	c.get("model-versions/search", q("filter", "name = 'x; DROP TABLE model_versions; --'"))
	if got := ids(c.get("model-versions/search", nil)); got != "s2/1,s1/2,s1/1" {
		t.Errorf("after the injection attempt = %q", got)
	}
}

func TestRegistryAliasesHTTP(t *testing.T) {
	c := testServer(t)
	c.post("registered-models/create", obj{"name": "al"})
	c.post("model-versions/create", obj{"name": "al", "source": "s3://b/1"})
	c.post("model-versions/create", obj{"name": "al", "source": "s3://b/2"})
	c.post("registered-models/alias", obj{"name": "al", "alias": "champion", "version": "1"})
	c.post("registered-models/alias", obj{"name": "al", "alias": "challenger", "version": "2"})
	c.post("registered-models/alias", obj{"name": "al", "alias": "champion", "version": "2"}) // overwrite
	o := c.get("registered-models/alias", q("name", "al", "alias", "champion"))
	if at(o, "model_version", "version") != "2" || fmt.Sprint(at(o, "model_version", "aliases")) != "[challenger champion]" {
		t.Fatalf("by alias = %v", o)
	}
	rm := c.get("registered-models/get", q("name", "al"))
	if fmt.Sprint(list(rm, "registered_model", "aliases")) != "[map[alias:challenger version:2] map[alias:champion version:2]]" {
		t.Errorf("model aliases = %v", at(rm, "registered_model", "aliases"))
	}
	if fmt.Sprint(at(c.get("model-versions/get", q("name", "al", "version", "2")), "model_version", "aliases")) != "[challenger champion]" {
		t.Errorf("version aliases missing")
	}
	// A missing alias is a 400 INVALID_PARAMETER_VALUE, not a 404.
	c.fail("GET", "registered-models/alias?name=al&alias=nope", nil, 400, "INVALID_PARAMETER_VALUE", "Registered model alias nope not found.")
	c.fail("GET", "registered-models/alias?name=other&alias=nope", nil, 400, "INVALID_PARAMETER_VALUE", "Registered model alias nope not found.")
	for alias, msg := range map[string]string{
		"latest":                 "'latest' alias name (case insensitive) is reserved.",
		"Latest":                 "'latest' alias name (case insensitive) is reserved.",
		"v1":                     "Version alias name 'v1' is reserved.",
		"V22":                    "Version alias name 'V22' is reserved.",
		"bad alias":              "Invalid alias name: 'bad alias'. Names may only contain alphanumerics, underscores (_), and dashes (-).",
		"a.b":                    "Invalid alias name: 'a.b'.",
		strings.Repeat("a", 256): "Registered model alias name '" + strings.Repeat("a", 250) + "' had length 256, which exceeded length limit of 255",
	} {
		c.fail("POST", "registered-models/alias", obj{"name": "al", "alias": alias, "version": "1"}, 400, "INVALID_PARAMETER_VALUE", msg)
	}
	c.fail("POST", "registered-models/alias", obj{"name": "al", "alias": "x", "version": "7"}, 404, "RESOURCE_DOES_NOT_EXIST", "Model Version (name=al, version=7) not found")
	c.fail("POST", "registered-models/alias", obj{"name": "al", "alias": "x"}, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'version'.")
	// DELETE carries its body; a missing alias is fine, a missing model not.
	c.ok("DELETE", "registered-models/alias", obj{"name": "al", "alias": "champion"})
	c.ok("DELETE", "registered-models/alias", obj{"name": "al", "alias": "champion"})
	c.fail("DELETE", "registered-models/alias", obj{"name": "nope", "alias": "champion"}, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=nope not found")
	c.fail("GET", "registered-models/alias?name=al&alias=champion", nil, 400, "INVALID_PARAMETER_VALUE", "Registered model alias champion not found.")
	// Deleting a version drops its aliases.
	c.ok("DELETE", "model-versions/delete", obj{"name": "al", "version": "2"})
	c.fail("GET", "registered-models/alias?name=al&alias=challenger", nil, 400, "INVALID_PARAMETER_VALUE", "Registered model alias challenger not found.")
	if a := at(c.get("registered-models/get", q("name", "al")), "registered_model", "aliases"); a != nil {
		t.Errorf("aliases after delete = %v", a)
	}
}

func TestRegistrySourceValidationHTTP(t *testing.T) {
	c := testServer(t)
	c.post("registered-models/create", obj{"name": "src"})
	run := c.createRun("0")
	for _, ok := range []obj{
		{"source": "runs:/" + run + "/models", "run_id": run},
		{"source": "mlflow-artifacts:/0/" + run + "/artifacts/models", "run_id": run},
		{"source": "mlflow-artifacts://host:9000/models"},
		{"source": "s3://bucket/path/to/model"},
		{"source": "https://host/api/2.0/mlflow-artifacts/artifacts/0/models"},
		// Prompts are not checked.
		{"source": "/etc/passwd", "tags": []obj{{"key": "mlflow.prompt.is_prompt", "value": "true"}}},
	} {
		ok["name"] = "src"
		c.post("model-versions/create", ok)
	}
	remote := "If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path."
	local := "To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id."
	for src, msg := range map[string]string{
		"mlflow-artifacts:/models/artifacts/../../../":                       remote,
		"mlflow-artifacts://host:9000/../../../../":                          remote,
		"http://host:9000/api/2.0/mlflow-artifacts/artifacts/../../../":      remote,
		"https://host/api/2.0/mlflow-artifacts/artifacts/..%2f..%2f..%2fetc": remote,
		"mlflow-artifacts://host:port/%252e%252e%252f%252e%252e%252fetc":     remote,
		"http://host:port/api/2.0/mlflow-artifacts/artifacts%00":             remote,
		"s3:/my_bucket/models/path/../../other/path":                         remote,
		"/etc/passwd":                local,
		"file:///etc/passwd":         local,
		"relative/path":              local,
		"file://10.0.0.1/etc/passwd": "is not a valid remote uri.",
	} {
		c.fail("POST", "model-versions/create", obj{"name": "src", "source": src, "run_id": run}, 400, "INVALID_PARAMETER_VALUE", msg)
	}
	c.fail("POST", "model-versions/create", obj{"name": "src", "source": "/etc/passwd"}, 400, "INVALID_PARAMETER_VALUE", "Invalid model version source: '/etc/passwd'. "+local)
	c.fail("POST", "model-versions/create", obj{"name": "src", "source": "/x", "run_id": "nope"}, 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=nope not found")
	c.fail("POST", "model-versions/create", obj{"name": "src", "source": "/x", "model_id": "m-nope"}, 404, "RESOURCE_DOES_NOT_EXIST", "Logged model with ID 'm-nope' not found.")
	c.fail("POST", "model-versions/create", obj{"name": "src", "source": "models:/m-nope"}, 400, "INVALID_PARAMETER_VALUE",
		"Unable to fetch model from model URI source artifact location 'models:/m-nope'.")
	c.fail("POST", "model-versions/create", obj{"name": "src"}, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'source'.")
	// None of the refused sources took a version number.
	if v := at(c.post("model-versions/create", obj{"name": "src", "source": "s3://b/last"}), "model_version", "version"); v != "7" {
		t.Errorf("next version = %v; want 7", v)
	}
}

// fetchArtifacts downloads everything under an artifact URI the way the
// client's HTTP artifact repository does for an mlflow-artifacts: URI: list
// the directory through the proxy, recurse into directories, GET files.
func fetchArtifacts(c *client, uri string) map[string]string {
	c.t.Helper()
	p, err := artifact.PathFromURI(uri)
	if err != nil {
		c.t.Fatalf("download URI %q is not served by the proxy: %v", uri, err)
	}
	out := map[string]string{}
	var walk func(dir, rel string)
	walk = func(dir, rel string) {
		l := c.get("/api/2.0/mlflow-artifacts/artifacts", url.Values{"path": {dir}})
		for _, f := range list(l, "files") {
			name := str(at(f, "path"))
			if at(f, "is_dir") == true {
				walk(dir+"/"+name, rel+name+"/")
				continue
			}
			st, _, body := c.do("GET", "/api/2.0/mlflow-artifacts/artifacts/"+dir+"/"+name, nil)
			if st != http.StatusOK {
				c.t.Fatalf("download %s/%s: %d", dir, name, st)
			}
			out[rel+name] = body
		}
	}
	walk(p, "")
	return out
}

// resolveModelsURI resolves a models:/ URI to an artifact URI the way the
// client's ModelsArtifactRepository does: a version directly, an alias
// through registered-models/alias, "latest" or a stage through
// get-latest-versions; then get-download-uri.
func resolveModelsURI(c *client, uri string) string {
	c.t.Helper()
	u, err := registry.ParseModelsURI(uri)
	if err != nil {
		c.t.Fatal(err)
	}
	version := u.Version
	switch {
	case u.Alias != "":
		version = str(at(c.get("registered-models/alias", q("name", u.Name, "alias", u.Alias)), "model_version", "version"))
	case version == "":
		body := obj{"name": u.Name}
		if u.Stage != "" {
			body["stages"] = []string{u.Stage}
		}
		best := 0
		for _, v := range versions(c.post("registered-models/get-latest-versions", body), "model_versions") {
			var n int
			fmt.Sscan(v, &n)
			best = max(best, n)
		}
		version = fmt.Sprint(best)
	}
	return str(c.get("model-versions/get-download-uri", q("name", u.Name, "version", version))["artifact_uri"])
}

// TestRegistryClientFlow is the whole flow of the official client with raw
// HTTP: log a model in a run, register it (runs:/ and 2.x-style
// mlflow-artifacts: sources, and a 3.x logged model), alias it, and load it
// back by models:/name/1, models:/name@champion and models:/name/latest.
func TestRegistryClientFlow(t *testing.T) {
	c, store := registryServer(t)
	exp := str(c.post("experiments/create", obj{"name": "flow"})["experiment_id"])
	run := c.createRun(exp)
	files := map[string]string{
		"MLmodel":           "artifact_path: models\nflavors:\n  sklearn: {pickled_model: model.pkl}\n",
		"model.pkl":         "\x80\x04pickle bytes\x00\xff",
		"conda.yaml":        "name: mlflow-env\n",
		"python_env.yaml":   "python: 3.10\n",
		"requirements.txt":  "scikit-learn==1.2.1\n",
		"metadata/info.txt": "nested file",
	}
	root := "/api/2.0/mlflow-artifacts/artifacts/" + exp + "/" + run + "/artifacts/models/"
	for name, body := range files {
		c.ok("PUT", root+name, body)
	}
	mj, _ := json.Marshal(obj{"artifact_path": "models", "run_id": run, "utc_time_created": "2024-01-01 00:00:00.000000",
		"flavors": obj{"sklearn": obj{"pickled_model": "model.pkl"}}})
	c.post("runs/log-model", obj{"run_id": run, "model_json": string(mj)})

	// mlflow.register_model: create the model (ignoring RESOURCE_ALREADY_EXISTS), then the version.
	c.post("registered-models/create", obj{"name": "flow-model"})
	c.fail("POST", "registered-models/create", obj{"name": "flow-model"}, 400, "RESOURCE_ALREADY_EXISTS", "already exists")
	mv1 := c.post("model-versions/create", obj{"name": "flow-model", "source": "runs:/" + run + "/models", "run_id": run})
	if at(mv1, "model_version", "version") != "1" || at(mv1, "model_version", "status") != "READY" {
		t.Fatalf("version 1 = %v", mv1)
	}
	mv2 := c.post("model-versions/create", obj{"name": "flow-model", "source": "mlflow-artifacts:/" + exp + "/" + run + "/artifacts/models", "run_id": run})
	if at(mv2, "model_version", "version") != "2" {
		t.Fatalf("version 2 = %v", mv2)
	}
	// set_registered_model_alias / get_model_version_by_alias.
	c.post("registered-models/alias", obj{"name": "flow-model", "alias": "champion", "version": "1"})
	if v := at(c.get("registered-models/alias", q("name", "flow-model", "alias", "champion")), "model_version", "version"); v != "1" {
		t.Fatalf("champion = %v", v)
	}
	wantURI := "mlflow-artifacts:/" + exp + "/" + run + "/artifacts/models"
	for _, uri := range []string{"models:/flow-model/1", "models:/flow-model@champion", "models:/flow-model/latest", "models:/flow-model/2", "models:/flow-model/None"} {
		got := resolveModelsURI(c, uri)
		if got != wantURI {
			t.Fatalf("%s resolves to %q; want %q", uri, got, wantURI)
		}
		if dl := fetchArtifacts(c, got); fmt.Sprint(dl) != fmt.Sprint(files) {
			t.Fatalf("%s downloads %v; want %v", uri, dl, files)
		}
	}

	// MLflow 3: log_model(name=...) makes a logged model; register_model
	// sends source models:/<model_id> with model_id.
	lm := c.post("logged-models", obj{"experiment_id": exp, "name": "model", "source_run_id": run})
	mid := str(at(lm, "model", "info", "model_id"))
	for name, body := range files {
		c.ok("PUT", "/api/2.0/mlflow-artifacts/artifacts/"+exp+"/models/"+mid+"/artifacts/"+name, body)
	}
	c.ok("PATCH", "logged-models/"+mid, obj{"model_id": mid, "status": "LOGGED_MODEL_READY"})
	mv3 := c.post("model-versions/create", obj{"name": "flow-model", "source": "models:/" + mid, "model_id": mid})
	if at(mv3, "model_version", "version") != "3" || at(mv3, "model_version", "model_id") != mid || at(mv3, "model_version", "run_id") != run ||
		at(mv3, "model_version", "source") != "models:/"+mid {
		t.Fatalf("version 3 = %v", mv3)
	}
	if tags := kv(c.get("logged-models/"+mid, nil), "model", "info", "tags"); tags["mlflow.modelVersions"] != `[{"name": "flow-model", "version": 3}]` {
		t.Errorf("logged model tags = %v", tags)
	}
	c.post("registered-models/alias", obj{"name": "flow-model", "alias": "champion", "version": "3"})
	for _, uri := range []string{"models:/flow-model/3", "models:/flow-model@champion", "models:/flow-model/latest"} {
		got := resolveModelsURI(c, uri)
		if got != "mlflow-artifacts:/"+exp+"/models/"+mid+"/artifacts" {
			t.Fatalf("%s resolves to %q", uri, got)
		}
		if dl := fetchArtifacts(c, got); fmt.Sprint(dl) != fmt.Sprint(files) {
			t.Fatalf("%s downloads %v", uri, dl)
		}
	}

	// The registry's history of this model, with the basic-auth user.
	req, _ := http.NewRequest("POST", c.api+"model-versions/set-tag", strings.NewReader(`{"name":"flow-model","version":"3","key":"validated","value":"yes"}`))
	req.SetBasicAuth("alice", "secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("set-tag with basic auth: %v %v", resp, err)
	}
	resp.Body.Close()
	evs, err := store.RegistryEvents(context.Background(), "flow-model", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range evs {
		actions = append(actions, fmt.Sprintf("%s@%d", e.Action, e.Version))
	}
	want := "registered_model.created@0 model_version.created@1 model_version.created@2 alias.set@1 model_version.created@3 alias.set@3 model_version.tag_set@3"
	if strings.Join(actions, " ") != want {
		t.Errorf("events = %v\nwant     %s", actions, want)
	}
	if last := evs[len(evs)-1]; last.Actor.UserID != "alice" || evs[0].Actor.UserID != "" {
		t.Errorf("actors = %+v, %+v", evs[0].Actor, last.Actor)
	}
	// Deleting a version leaves the others loadable and the number unused.
	c.ok("DELETE", "model-versions/delete", obj{"name": "flow-model", "version": "3"})
	if got := resolveModelsURI(c, "models:/flow-model/latest"); got != wantURI {
		t.Errorf("latest after delete = %q", got)
	}
}
