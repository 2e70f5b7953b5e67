package web_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/posml/posml/internal/web"
)

func TestDevAssets(t *testing.T) {
	f := newFixture(t)
	get := func(h http.Handler, path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}
	// Templates and styles read from the source tree on every request.
	dev := web.Handler(web.Deps{Store: f.Store}, web.Options{Assets: os.DirFS("."), Dev: true})
	if code, body := get(dev, "/models"); code != 200 || !strings.Contains(body, "churn-model") {
		t.Errorf("dev /models = %d", code)
	}
	// Broken templates: every page says why.
	broken := fstest.MapFS{
		"templates/layout.html": {Data: []byte(`{{define "layout"}}{{template "content" .}}{{end}}`)},
		"templates/models.html": {Data: []byte(`{{define "content"}}{{.Nope}`)},
	}
	h := web.Handler(web.Deps{Store: f.Store}, web.Options{Assets: broken})
	if code, body := get(h, "/models"); code != 500 || !strings.Contains(body, "templates:") {
		t.Errorf("broken templates: /models = %d %q", code, body)
	}
	// Without an artifact store the run page says so.
	plain := web.Handler(web.Deps{Store: f.Store}, web.Options{})
	if code, body := get(plain, "/runs/"+f.LongRun); code != 200 || !strings.Contains(body, "This server has no artifact store.") {
		t.Errorf("no artifact store: /runs = %d", code)
	}
}
