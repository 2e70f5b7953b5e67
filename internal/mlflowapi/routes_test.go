package mlflowapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posml/posml/internal/sqlstore"
)

// TestEveryRouteUnderBothPrefixes sends an empty request to every endpoint
// under both prefixes: each must be routed (no ENDPOINT_NOT_FOUND), answer
// JSON, and never blame the server (no 5xx) for a client's empty request.
func TestEveryRouteUnderBothPrefixes(t *testing.T) {
	store, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h := Handler(store, nil, nil)
	for _, rt := range (&handler{}).routes() {
		for _, prefix := range Prefixes {
			path := prefix + strings.NewReplacer("{model_id}", "m-1", "{tag_key...}", "k").Replace(rt.path)
			var body *strings.Reader
			if rt.method != http.MethodGet {
				body = strings.NewReader("")
			}
			req := httptest.NewRequest(rt.method, path, nil)
			if body != nil {
				req = httptest.NewRequest(rt.method, path, body)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var o map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &o); err != nil {
				t.Errorf("%s %s: not JSON: %q", rt.method, path, rec.Body.String())
				continue
			}
			if rec.Code >= 500 || o["error_code"] == "ENDPOINT_NOT_FOUND" {
				t.Errorf("%s %s: %d %v", rt.method, path, rec.Code, o)
			}
		}
	}
}
