package restapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml/internal/auth"
	"github.com/posml/posml/internal/datamart"
	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/sqlstore"
)

type martEnv struct {
	srv   *httptest.Server
	store *sqlstore.Store
	svc   *datamart.Service
}

func newMartEnv(t testing.TB, requireAuth bool) *martEnv {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := datamart.New(st, datamart.Config{Dir: filepath.Join(t.TempDir(), "marts"), Tracking: st})
	h := Handler(Config{Marts: &MartsConfig{Service: svc, Tokens: auth.New(st, auth.Config{}), RequireAuth: requireAuth}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &martEnv{srv: srv, store: st, svc: svc}
}

// do sends a request and returns the response with its body read.
func (e *martEnv) do(t *testing.T, method, path, token string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func jsonBody(t *testing.T, v any) io.Reader {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func TestMartsAPI(t *testing.T) {
	e := newMartEnv(t, false)
	iris, err := os.ReadFile("../datamart/testdata/iris.csv")
	if err != nil {
		t.Fatal(err)
	}
	const id = "dm_f_20085_2212_142"
	resp, body := e.do(t, "PUT", "/api/posml/marts/"+id+"/file?name=iris.csv", "", bytes.NewReader(iris))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %s %s", resp.Status, body)
	}
	var up MartSnapshot
	if err := json.Unmarshal([]byte(body), &up); err != nil || !up.Created || up.Snapshot.Version != 1 || up.Snapshot.Rows != 150 || up.Mart.ID != id {
		t.Fatalf("upload answer %s (%v)", body, err)
	}
	resp, body = e.do(t, "PUT", "/api/posml/marts/"+id+"/file?name=iris.csv", "", bytes.NewReader(iris))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"created": false`) {
		t.Errorf("re-upload: %s %s", resp.Status, body)
	}

	// The data, as CSV, with the contract's headers.
	resp, body = e.do(t, "GET", "/api/posml/marts/"+id+"/data", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("data: %s %s", resp.Status, body)
	}
	h := resp.Header
	if h.Get("X-Posml-Snapshot") != "1" || h.Get("X-Posml-Rows") != "150" || h.Get("X-Posml-Digest") != up.Snapshot.Digest ||
		h.Get("Content-Type") != "text/csv; charset=utf-8" || h.Get("X-Posml-Mart") != id {
		t.Errorf("data headers: %v", h)
	}
	if want := `[{"name":"sepal_length","type":"float64","nullable":false},{"name":"sepal_width","type":"float64","nullable":false},{"name":"petal_length","type":"float64","nullable":false},{"name":"petal_width","type":"float64","nullable":false},{"name":"variety","type":"string","nullable":false}]`; h.Get("X-Posml-Schema") != want {
		t.Errorf("X-Posml-Schema = %s\nwant %s", h.Get("X-Posml-Schema"), want)
	}
	if !strings.HasPrefix(body, "sepal_length,sepal_width,petal_length,petal_width,variety\n5.1,3.5,1.4,0.2,setosa\n") || strings.Count(body, "\n") != 151 {
		t.Errorf("data body starts %q, %d lines", body[:80], strings.Count(body, "\n"))
	}
	// As Parquet: the snapshot file.
	resp, body = e.do(t, "GET", "/api/posml/marts/"+id+"/data?format=parquet&version=1", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "PAR1") || int64(len(body)) != up.Snapshot.Size || resp.Header.Get("X-Posml-Schema") == "" {
		t.Errorf("parquet: %s, %d bytes, %v", resp.Status, len(body), resp.Header)
	}

	for _, tc := range []struct {
		path string
		code int
		msg  string
	}{
		{"/api/posml/marts/nope/data", 404, "no mart nope"},
		{"/api/posml/marts/" + id + "/data?version=9", 404, "no version 9"},
		{"/api/posml/marts/" + id + "/data?version=x", 400, "version"},
		{"/api/posml/marts/" + id + "/data?format=xml", 400, "format"},
		{"/api/posml/marts/nope", 404, "no mart nope"},
	} {
		resp, body := e.do(t, "GET", tc.path, "", nil)
		var eb ErrorBody
		if resp.StatusCode != tc.code || json.Unmarshal([]byte(body), &eb) != nil || !strings.Contains(eb.Error.Message, tc.msg) {
			t.Errorf("GET %s = %s %s; want %d with %q", tc.path, resp.Status, body, tc.code, tc.msg)
		}
	}

	// Metadata.
	resp, body = e.do(t, "GET", "/api/posml/marts/"+id, "", nil)
	var m Mart
	if err := json.Unmarshal([]byte(body), &m); err != nil || len(m.Snapshots) != 1 || m.Latest == nil || m.Latest.Digest != up.Snapshot.Digest || m.File != "iris.csv" {
		t.Errorf("GET mart: %s %s", resp.Status, body)
	}
	resp, body = e.do(t, "GET", "/api/posml/marts", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"id": "`+id+`"`) {
		t.Errorf("list: %s %s", resp.Status, body)
	}
	resp, _ = e.do(t, "POST", "/api/posml/marts/"+id+"/refresh", "", nil)
	if resp.StatusCode != 200 {
		t.Errorf("refresh: %s", resp.Status)
	}
	resp, _ = e.do(t, "DELETE", "/api/posml/marts/"+id, "", nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("delete: %s", resp.Status)
	}
	resp, _ = e.do(t, "GET", "/api/posml/marts/"+id+"/data", "", nil)
	if resp.StatusCode != 404 {
		t.Errorf("data after delete: %s", resp.Status)
	}
}

func TestSourcesAPINeverShowDSN(t *testing.T) {
	e := newMartEnv(t, false)
	const secret = "s3cr3t-PASSWORD"
	dir := filepath.Join(t.TempDir(), "pw-"+secret)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a.csv"), []byte("x\n1\n2\n"), 0o644)
	var all strings.Builder
	check := func(method, path string, body io.Reader, want int) {
		t.Helper()
		resp, b := e.do(t, method, path, "", body)
		all.WriteString(b)
		if resp.StatusCode != want {
			t.Errorf("%s %s = %s %s; want %d", method, path, resp.Status, b, want)
		}
	}
	check("POST", "/api/posml/sources", jsonBody(t, AddSource{Name: "lake", Kind: "files", DSN: dir}), 201)
	check("POST", "/api/posml/sources", jsonBody(t, AddSource{Name: "lake", Kind: "files", DSN: dir}), 409)
	check("POST", "/api/posml/sources", jsonBody(t, AddSource{Name: "pg", Kind: "postgres", DSN: "postgres://u:" + secret + "@127.0.0.1:1/db"}), 400)
	check("POST", "/api/posml/sources", jsonBody(t, AddSource{Name: "x", Kind: "oracle", DSN: secret}), 400)
	check("GET", "/api/posml/sources", nil, 200)
	check("GET", "/api/posml/sources/lake", nil, 200)
	check("POST", "/api/posml/marts", jsonBody(t, CreateMart{ID: "a", Source: "lake", File: "a.csv"}), 201)
	check("POST", "/api/posml/marts", jsonBody(t, CreateMart{ID: "b", Source: "lake", File: "missing.csv"}), 400)
	check("GET", "/api/posml/marts/a", nil, 200)
	check("DELETE", "/api/posml/sources/lake", nil, 409)
	check("DELETE", "/api/posml/marts/a", nil, 204)
	check("DELETE", "/api/posml/sources/lake", nil, 204)
	if strings.Contains(all.String(), secret) {
		t.Errorf("a response contains the secret:\n%s", all.String())
	}
}

func TestMartReadLineage(t *testing.T) {
	ctx := context.Background()
	e := newMartEnv(t, true)
	st := e.store
	if _, _, _, err := e.svc.Upload(ctx, "m", "m.csv", "", strings.NewReader("a,b\n1,x\n2,\n")); err != nil {
		t.Fatal(err)
	}
	p, err := st.CreateProject(ctx, pipeline.Project{Name: "proj", RepoURL: "/tmp/proj"}, pipeline.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddCommit(ctx, pipeline.Commit{ProjectID: p.ID, SHA: "c1", Valid: true, Validation: json.RawMessage(`{"valid":true}`),
		Settings: pipeline.Settings{Train: pipeline.Spec{Expr: "@daily", TimeZone: "UTC", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, MaxActiveRuns: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := st.ActivateCommit(ctx, p.ID, "c1"); err != nil {
		t.Fatal(err)
	}
	run, err := st.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual, LogicalDate: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.New(st, auth.Config{}).IssueCaller(ctx, lineage.Caller{ProjectID: p.ID, Project: p.Name, PipelineRunID: run.ID, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// Without a token on a server that needs one: 401; a bad token: 401.
	if resp, _ := e.do(t, "GET", "/api/posml/marts/m/data", "", nil); resp.StatusCode != 401 {
		t.Errorf("no token: %s", resp.Status)
	}
	if resp, _ := e.do(t, "GET", "/api/posml/marts/m/data", "bogus", nil); resp.StatusCode != 401 {
		t.Errorf("bad token: %s", resp.Status)
	}
	// A run token reads; it does not change the catalog.
	if resp, _ := e.do(t, "POST", "/api/posml/marts/m/refresh", tok, nil); resp.StatusCode != 403 {
		t.Errorf("refresh with a run token: %s", resp.Status)
	}
	if resp, _ := e.do(t, "GET", "/api/posml/marts/m", tok, nil); resp.StatusCode != 200 {
		t.Errorf("GET mart with a run token: %s", resp.Status)
	}
	// Before any MLflow run: recorded on the pipeline run only.
	resp, body := e.do(t, "GET", "/api/posml/marts/m/data", tok, nil)
	if resp.StatusCode != 200 || body != "a,b\n1,x\n2,\n" {
		t.Fatalf("data: %s %q", resp.Status, body)
	}
	mr, err := st.CreateRun(ctx, sqlstore.NewRun{RunName: "train"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddRunOutput(ctx, pipeline.Output{RunID: run.ID, MLflowRunID: mr.Info.RunID}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.do(t, "GET", "/api/posml/marts/m/data?format=parquet", tok, nil); resp.StatusCode != 200 {
		t.Fatalf("data: %s", resp.Status)
	}
	reads, err := e.svc.Reads(ctx, run.ID)
	if err != nil || len(reads) != 1 || reads[0].MartID != "m" || reads[0].Version != 1 || reads[0].MLflowRunID != mr.Info.RunID {
		t.Errorf("reads = %+v, %v", reads, err)
	}
	got, err := st.GetRun(ctx, mr.Info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := e.svc.Latest(ctx, "m")
	if len(got.DatasetInputs) != 1 {
		t.Fatalf("MLflow run inputs = %+v", got.DatasetInputs)
	}
	d := got.DatasetInputs[0].Dataset
	if d.Name != "m" || d.Digest != snap.Digest[:36] || d.SourceType != "posml-mart" || !strings.Contains(d.Source, "/api/posml/marts/m/data?version=1") {
		t.Errorf("dataset = %+v", d)
	}

	// An MLflow run started after the read gets it when the tracking
	// server attaches the pipeline run's reads.
	mr2, err := st.CreateRun(ctx, sqlstore.NewRun{RunName: "train-2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AttachReads(ctx, run.ID, mr2.Info.RunID); err != nil {
		t.Fatal(err)
	}
	if got, err := st.GetRun(ctx, mr2.Info.RunID); err != nil || len(got.DatasetInputs) != 1 || got.DatasetInputs[0].Dataset.Digest != snap.Digest[:36] {
		t.Errorf("inputs of the later run = %+v, %v", got.DatasetInputs, err)
	}
}
