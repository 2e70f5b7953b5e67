package mlflowapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/mlflowapi"
	"github.com/posml/posml/internal/server"
	"github.com/posml/posml/internal/sqlstore"
)

// testServer starts the real server handler over real storage (see
// openBackend): SQLite and a local artifact store in t.TempDir(), or
// PostgreSQL and S3 below TestOnPostgresS3 — there, with several replicas
// on one database and bucket, the client sends each request to the next.
func testServer(t *testing.T) *client {
	t.Helper()
	c, _ := testServers(t)
	return c
}

// testServers is testServer that also hands out (the first replica's)
// store.
func testServers(t *testing.T) (*client, *sqlstore.Store) {
	t.Helper()
	open := backendFor(t)
	c := &client{t: t}
	var first *sqlstore.Store
	for range replicasOf(t) {
		store, art := open()
		srv := server.New(server.Config{
			Version:   "test",
			Tracking:  mlflowapi.Handler(store, art, nil),
			Artifacts: artifact.Handler(art, nil),
		})
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(ts.Close)
		c.bases = append(c.bases, ts.URL)
		if first == nil {
			first = store
			_, c.s3 = art.(*artifact.S3)
		}
	}
	c.base, c.api = c.bases[0], c.bases[0]+"/api/2.0/mlflow/"
	return c, first
}

type client struct {
	t     *testing.T
	base  string // the first replica's URL
	api   string // its MLflow API
	bases []string
	next  atomic.Int64 // requests sent
	s3    bool         // the artifacts are in S3
}

// replicas is how many servers the client spreads its requests over.
func (c *client) replicas() int { return len(c.bases) }

// obj is a decoded JSON object.
type obj = map[string]any

// do sends a request and decodes a JSON object answer; body may be nil, a
// string (sent as is) or a value (sent as JSON).
func (c *client) do(method, path string, body any) (int, obj, string) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		base := c.base
		if len(c.bases) > 1 {
			base = c.bases[int(c.next.Add(1))%len(c.bases)]
		}
		if strings.HasPrefix(path, "/") {
			u = base + path
		} else {
			u = base + "/api/2.0/mlflow/" + path
		}
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var o obj
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &o); err != nil {
			c.t.Fatalf("%s %s: answer is not a JSON object: %q", method, path, raw)
		}
	}
	return resp.StatusCode, o, string(raw)
}

// ok sends a request that must succeed with a JSON object.
func (c *client) ok(method, path string, body any) obj {
	c.t.Helper()
	status, o, raw := c.do(method, path, body)
	if status != http.StatusOK || o == nil {
		c.t.Fatalf("%s %s: status %d, body %s; want 200 and a JSON object", method, path, status, raw)
	}
	return o
}

func (c *client) get(path string, q url.Values) obj {
	c.t.Helper()
	return c.ok("GET", path+"?"+q.Encode(), nil)
}

func (c *client) post(path string, body any) obj {
	c.t.Helper()
	return c.ok("POST", path, body)
}

// fail sends a request that must fail with status, code and a message
// containing msg.
func (c *client) fail(method, path string, body any, status int, code, msg string) {
	c.t.Helper()
	got, o, raw := c.do(method, path, body)
	if got != status || o["error_code"] != code || !strings.Contains(str(o["message"]), msg) {
		c.t.Fatalf("%s %s: got %d %s; want %d %s with message containing %q", method, path, got, raw, status, code, msg)
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// at walks a decoded JSON value: keys for objects, ints for arrays.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func list(v any, path ...any) []any {
	a, _ := at(v, path...).([]any)
	return a
}

// kv turns a list of {key, value} objects into a map.
func kv(v any, path ...any) map[string]any {
	out := map[string]any{}
	for _, e := range list(v, path...) {
		out[str(at(e, "key"))] = at(e, "value")
	}
	return out
}

func q(kvs ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kvs); i += 2 {
		v.Add(kvs[i], kvs[i+1])
	}
	return v
}

// createRun creates a run the way the client's start_run does.
func (c *client) createRun(expID string) string {
	c.t.Helper()
	o := c.post("runs/create", obj{"experiment_id": expID, "user_id": "tester", "start_time": 1700000000000,
		"tags": []obj{{"key": "mlflow.user", "value": "tester"}, {"key": "mlflow.source.name", "value": "train.py"}, {"key": "mlflow.source.type", "value": "LOCAL"}}})
	return str(at(o, "run", "info", "run_id"))
}
