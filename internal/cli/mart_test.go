package cli

import (
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

	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/auth"
	"github.com/posml/posml/internal/datamart"
	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/mlflowapi"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/restapi"
	"github.com/posml/posml/internal/sqlstore"
)

func TestMartAndSourceCommands(t *testing.T) {
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, mc := newMartServer(st, t.TempDir(), nil, nil)
	srv := httptest.NewServer(restapi.Handler(restapi.Config{Marts: mc}))
	defer srv.Close()

	dir := t.TempDir()
	csv := filepath.Join(dir, "iris.csv")
	if err := os.WriteFile(csv, []byte("sepal_length,variety\n5.1,setosa\n4.9,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const secret = "pa55-SECRET"
	srcDir := filepath.Join(dir, "lake-"+secret)
	os.MkdirAll(srcDir, 0o755)
	os.WriteFile(filepath.Join(srcDir, "a.csv"), []byte("x\n1\n"), 0o644)
	dsnFile := filepath.Join(dir, "dsn")
	os.WriteFile(dsnFile, []byte(srcDir+"\n"), 0o600)

	var all strings.Builder
	cmd := func(wantCode int, args ...string) string {
		t.Helper()
		out, errOut, code := run(t, append(args, "--url", srv.URL)...)
		all.WriteString(out + errOut)
		if code != wantCode {
			t.Fatalf("posml %s: exit %d; want %d\n%s%s", strings.Join(args, " "), code, wantCode, out, errOut)
		}
		return out + errOut
	}
	if out := cmd(0, "mart", "create", "dm_1", "--from", csv); !strings.Contains(out, "mart dm_1: version 1 (new), 2 rows, 2 columns") {
		t.Errorf("create: %s", out)
	}
	if out := cmd(0, "mart", "create", "dm_1", "--from", csv); !strings.Contains(out, "version 1 (unchanged)") {
		t.Errorf("create again: %s", out)
	}
	if out := cmd(0, "mart", "refresh", "dm_1"); !strings.Contains(out, "version 1 (unchanged)") {
		t.Errorf("refresh: %s", out)
	}
	if out := cmd(0, "mart", "list"); !strings.Contains(out, "dm_1") || !strings.Contains(out, "upload iris.csv") {
		t.Errorf("list: %s", out)
	}
	if out := cmd(0, "mart", "show", "dm_1"); !strings.Contains(out, "sepal_length  float64") || !strings.Contains(out, "variety       string   has nulls") {
		t.Errorf("show: %s", out)
	}
	if out := cmd(0, "mart", "snapshots", "dm_1", "--json"); !strings.Contains(out, `"version": 1`) {
		t.Errorf("snapshots: %s", out)
	}
	if out := cmd(0, "mart", "data", "dm_1"); out != "sepal_length,variety\n5.1,setosa\n4.9,\n" {
		t.Errorf("data: %q", out)
	}
	pq := filepath.Join(dir, "out.parquet")
	cmd(0, "mart", "data", "dm_1", "--version", "1", "--format", "parquet", "-o", pq)
	if b, err := os.ReadFile(pq); err != nil || !strings.HasPrefix(string(b), "PAR1") {
		t.Errorf("data --format parquet: %v", err)
	}
	cmd(1, "mart", "data", "dm_1", "--version", "7")
	cmd(1, "mart", "show", "nope")
	cmd(2, "mart", "create", "x", "--sql", "SELECT 1")
	cmd(0, "source", "add", "lake", "--kind", "files", "--dsn-file", dsnFile)
	if out := cmd(0, "source", "list"); !strings.Contains(out, "lake") || !strings.Contains(out, "files") {
		t.Errorf("source list: %s", out)
	}
	cmd(0, "source", "list", "--json")
	if out := cmd(0, "mart", "create", "a", "--source", "lake", "--file", "a.csv"); !strings.Contains(out, "version 1 (new), 1 rows") {
		t.Errorf("create from source: %s", out)
	}
	cmd(0, "mart", "show", "a", "--json")
	cmd(1, "source", "rm", "lake")
	cmd(0, "mart", "rm", "a")
	cmd(0, "source", "rm", "lake")
	cmd(0, "mart", "rm", "dm_1")
	if strings.Contains(all.String(), secret) {
		t.Errorf("CLI output shows the DSN:\n%s", all.String())
	}
}

// TestMartLineageThroughTracking: a pipeline run reads a mart with its run
// token, then creates an MLflow run through the tracking API; the MLflow
// run lists the snapshot as a dataset input (no user code involved).
func TestMartLineageThroughTracking(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(t.TempDir(), "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, mc := newMartServer(st, t.TempDir(), nil, nil)
	mux := http.NewServeMux()
	mux.Handle("/api/posml/", restapi.Handler(restapi.Config{Marts: mc}))
	mux.Handle("/", mlflowapi.Handler(martLineageStore{st, svc}, nil, nil))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	snap := func() datamart.Snapshot {
		_, s, _, err := svc.Upload(ctx, "dm_1", "d.csv", "", strings.NewReader("x,y\n1,a\n2,b\n"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
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
	call := func(method, path, body string) string {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
		}
		return string(b)
	}
	call("GET", "/api/posml/marts/dm_1/data", "")
	var created struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	var exp struct {
		ExperimentID string `json:"experiment_id"`
	}
	if err := json.Unmarshal([]byte(call("POST", "/api/2.0/mlflow/experiments/create", `{"name":"proj-exp"}`)), &exp); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(call("POST", "/api/2.0/mlflow/runs/create", `{"experiment_id":"`+exp.ExperimentID+`","run_name":"knn"}`)), &created); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetRun(ctx, created.Run.Info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.DatasetInputs) != 1 || got.DatasetInputs[0].Dataset.Name != "dm_1" || got.DatasetInputs[0].Dataset.Digest != snap.Digest[:36] ||
		got.DatasetInputs[0].Dataset.SourceType != datamart.SourceType {
		t.Errorf("dataset inputs of the MLflow run = %+v", got.DatasetInputs)
	}
	reads, err := svc.Reads(ctx, run.ID)
	if err != nil || len(reads) != 1 || reads[0].Version != snap.Version {
		t.Errorf("reads of the pipeline run = %+v, %v", reads, err)
	}
}

// TestMartSnapshotsOnS3: with an S3 artifact store, `posml server` keeps
// mart snapshots in the bucket, so a second replica with an empty data dir
// serves them.
func TestMartSnapshotsOnS3(t *testing.T) {
	bucket, env, why := testS3Bucket(t)
	if bucket == "" {
		t.Skip(why)
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(t.TempDir(), "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s3, err := artifact.OpenS3(ctx, artifact.S3Config{Bucket: bucket, Prefix: "artifacts", Endpoint: env["MLFLOW_S3_ENDPOINT_URL"],
		AccessKeyID: env["AWS_ACCESS_KEY_ID"], SecretAccessKey: env["AWS_SECRET_ACCESS_KEY"]})
	if err != nil {
		t.Fatal(err)
	}
	one, _ := newMartServer(st, t.TempDir(), s3, nil)
	if _, _, _, err := one.Upload(ctx, "dm_s3", "d.csv", "", strings.NewReader("x,y\n1,a\n2,b\n")); err != nil {
		t.Fatal(err)
	}
	files, err := s3.List(ctx, "marts/dm_s3")
	if err != nil || len(files) == 0 {
		t.Fatalf("bucket holds no snapshot under marts/dm_s3: %v, %v", files, err)
	}
	// A second replica: same catalog, empty data dir.
	_, mc := newMartServer(st, t.TempDir(), s3, nil)
	srv := httptest.NewServer(restapi.Handler(restapi.Config{Marts: mc}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/posml/marts/dm_s3/data")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "x,y\n1,a\n2,b\n" {
		t.Errorf("second replica served %d %q; want the snapshot", resp.StatusCode, body)
	}
}
