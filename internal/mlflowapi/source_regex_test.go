package mlflowapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/posml/posml/internal/sqlstore"
)

// TestSourceRegex: with Options.SourceRegex (MLflow's
// MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX) a model version
// whose source it does not match anywhere is refused as MLflow refuses it.
func TestSourceRegex(t *testing.T) {
	store, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ts := httptest.NewServer(HandlerWith(store, nil, nil, Options{SourceRegex: regexp.MustCompile(`^s3://models-bucket/`)}))
	defer ts.Close()
	post := func(path, body string) (int, string) {
		t.Helper()
		resp, err := http.Post(ts.URL+"/api/2.0/mlflow/"+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := post("registered-models/create", `{"name": "m"}`); st != 200 {
		t.Fatalf("create model: %d %s", st, body)
	}
	st, body := post("model-versions/create", `{"name": "m", "source": "s3://other-bucket/m"}`)
	if st != 400 || !strings.Contains(body, `"INVALID_PARAMETER_VALUE"`) || !strings.Contains(body, `Invalid model version source: 's3://other-bucket/m'.`) {
		t.Errorf("a source the regex does not match: %d %s", st, body)
	}
	if st, body := post("model-versions/create", `{"name": "m", "source": "s3://models-bucket/m/1"}`); st != 200 || !strings.Contains(body, `"version":"1"`) {
		t.Errorf("a source the regex matches: %d %s; want version 1 (the refused one took no number)", st, body)
	}
}
