package web_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var runBoxes = regexp.MustCompile(`name="run" value="([^"]+)"`)

func TestPages(t *testing.T) {
	f := newFixture(t)
	q := url.QueryEscape
	for _, tc := range []struct {
		name, path string
		status     int
		wants      []string
	}{
		{"experiments", "/", 200, []string{"<h1>Experiments</h1>", ">churn</a>", `<td class="num">30</td>`, `aria-current="page">Experiments`}},
		{"runs", "/experiments/" + f.ExpID, 200, []string{"run-29", "chip-ok", "chip-bad", "metrics</span> rmse", "params</span> alpha", `aria-sort="descending"`}},
		{"run", "/runs/" + f.LongRun, 200, []string{"run-29", "train_loss", `data-chart="/runs/` + f.LongRun + `/series?key=train_loss"`, "alpha", "xgboost", "team", "notes.txt", "plots/"}},
		{"run preview via query", "/runs/" + f.LongRun + "?file=notes.txt", 200, []string{"hello &lt;b&gt;artifacts&lt;/b&gt;"}},
		{"run registered as a model version", "/runs/" + f.RunIDs[1], 200, []string{`href="/models/churn-model">churn-model v2</a>`, "@champion"}},
		{"compare", "/compare?run=" + f.RunIDs[0] + "&run=" + f.RunIDs[1], 200, []string{"Compare 2 runs", "run-00", "run-01", `class="differ"`, "/compare/series?key=loss&amp;run="}},
		{"compare one run", "/compare?run=" + f.RunIDs[0], 400, []string{"Select between 2 and 10 runs"}},
		{"compare eleven runs", "/compare?run=" + strings.Join(f.RunIDs[:11], "&run="), 400, []string{"Select between 2 and 10 runs"}},
		{"models", "/models", 200, []string{"churn-model", "@champion → v2", "Production", `href="/models/team%2Fchurn%2050%25%3F"`}},
		{"model", "/models/" + f.Model, 200, []string{"Predicts churn.", "Champion timeline", "@champion → version 2 (was version 1)", "@champion → version 1", "Stage of version 2: None → Production", "/runs/" + f.RunIDs[0]}},
		{"model name with a slash", "/models/" + url.PathEscape("team/churn 50%?"), 200, []string{"<h1>team/churn 50%?</h1>"}},
		{"unknown run", "/runs/nope", 404, []string{"404"}},
		{"unknown model", "/models/nope", 404, nil},
		{"unknown experiment", "/experiments/999", 404, nil},
		{"unknown page", "/no/such/page", 404, []string{"No page here."}},
		{"filter error", "/experiments/" + f.ExpID + "?filter=" + q("metrics.rmse <<< 1"), 400, []string{`role="alert"`, "Invalid comparator &#39;&lt;&lt;&lt;&#39;", `aria-invalid="true"`}},
		{"order error", "/experiments/" + f.ExpID + "?order=" + q("nope.x DESC"), 400, []string{`role="alert"`}},
		{"html escaped filter", "/experiments/" + f.ExpID + "?filter=" + q("params.alpha = '<script>'"), 200, []string{"No run matches the filter.", "&lt;script&gt;"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := f.page(t, tc.path, tc.status)
			contains(t, tc.path, body, tc.wants...)
			if strings.Contains(body, "<script>'") {
				t.Errorf("%s: unescaped input in the page", tc.path)
			}
		})
	}
}

func TestRunsTable(t *testing.T) {
	f := newFixture(t)
	base := "/experiments/" + f.ExpID
	t.Run("pages never hold more than size rows", func(t *testing.T) {
		var all []string
		next := base + "?size=12"
		for pages := 0; next != ""; pages++ {
			if pages > 5 {
				t.Fatal("too many pages")
			}
			body := f.page(t, next, 200)
			ids := runBoxes.FindAllStringSubmatch(body, -1)
			if len(ids) > 12 {
				t.Fatalf("%s shows %d rows; want at most 12", next, len(ids))
			}
			for _, m := range ids {
				all = append(all, m[1])
			}
			next = ""
			if m := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(body); m != nil {
				next = strings.ReplaceAll(m[1], "&amp;", "&")
			}
		}
		if len(all) != seedRuns || all[0] != f.RunIDs[seedRuns-1] || all[seedRuns-1] != f.RunIDs[0] {
			t.Errorf("paging gave %d runs (first %s); want all %d, newest first", len(all), all[0], seedRuns)
		}
	})
	t.Run("size is capped", func(t *testing.T) {
		body := f.page(t, base+"?size=100000", 200)
		if n := len(runBoxes.FindAllString(body, -1)); n != seedRuns {
			t.Errorf("rows = %d; want %d", n, seedRuns)
		}
	})
	t.Run("filter", func(t *testing.T) {
		body := f.page(t, base+"?filter="+url.QueryEscape("params.alpha = '0.5' and metrics.rmse < 0.9"), 200)
		ids := runBoxes.FindAllStringSubmatch(body, -1)
		// alpha 0.5 for i%3 == 1; rmse = 1 - i/100 < 0.9 for i > 10: i = 13, 16, …, 28.
		if len(ids) != 6 {
			t.Errorf("filtered rows = %d; want 6", len(ids))
		}
	})
	t.Run("sort by metric", func(t *testing.T) {
		body := f.page(t, base+"?order="+url.QueryEscape("metrics.rmse DESC")+"&size=3", 200)
		ids := runBoxes.FindAllStringSubmatch(body, -1)
		if len(ids) != 3 || ids[0][1] != f.RunIDs[0] || ids[1][1] != f.RunIDs[1] {
			t.Errorf("sorted by rmse DESC: %v; want run-00, run-01, …", ids)
		}
		contains(t, "sorted page", html.UnescapeString(body), `aria-sort="descending"><a href="/experiments/`+f.ExpID+`?order=metrics.rmse+ASC`)
	})
	t.Run("chosen columns", func(t *testing.T) {
		body := f.page(t, base+"?cols=1&col=metrics.loss&col=tags.team&size=2", 200)
		contains(t, "columns page", body, "metrics</span> loss", "tags</span> team", "<td class=\"num\">growth</td>")
		if strings.Contains(body, "metrics</span> rmse") {
			t.Error("an unchosen column is shown")
		}
		body = f.page(t, base+"?cols=1&size=2", 200)
		if strings.Contains(body, "metrics</span>") {
			t.Error("cols=1 without col shows columns")
		}
	})
}

func TestSeries(t *testing.T) {
	f := newFixture(t)
	var got struct {
		Key    string
		Series []struct {
			Run   string
			Name  string
			X     []int64
			Y     []*float64
			Total int
		}
	}
	status, h, body := f.get(t, "/runs/"+f.LongRun+"/series?key=train_loss")
	if status != 200 || h.Get("Content-Type") != "application/json" {
		t.Fatalf("series = %d %s", status, h.Get("Content-Type"))
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	s := got.Series[0]
	if s.Total != longHistory || len(s.X) > 2000 || len(s.X) < 1000 || len(s.X) != len(s.Y) {
		t.Fatalf("series: total %d, %d points; want total %d, ≤ 2000 points", s.Total, len(s.X), longHistory)
	}
	if s.X[0] != 0 || s.X[len(s.X)-1] != longHistory-1 {
		t.Errorf("series spans steps %d…%d; want 0…%d", s.X[0], s.X[len(s.X)-1], longHistory-1)
	}
	spike := false
	for i, x := range s.X {
		if x == 54321 && s.Y[i] != nil && *s.Y[i] == 42 {
			spike = true
		}
		if i > 0 && x <= s.X[i-1] {
			t.Fatalf("steps not increasing at %d: %d after %d", i, x, s.X[i-1])
		}
	}
	if !spike {
		t.Error("downsampling lost the spike at step 54321")
	}

	// Small series come whole; compare returns one series per run.
	u := "/compare/series?key=loss&run=" + f.RunIDs[0] + "&run=" + f.RunIDs[1]
	if err := json.Unmarshal([]byte(f.page(t, u, 200)), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Series) != 2 || got.Series[0].Total != 20 || len(got.Series[1].X) != 20 || got.Series[1].Name != "run-01" {
		t.Errorf("compare series = %+v", got.Series)
	}
	f.page(t, "/runs/"+f.LongRun+"/series", 400)
}

func TestArtifacts(t *testing.T) {
	f := newFixture(t)
	run := "/runs/" + f.LongRun
	for _, tc := range []struct {
		name, path string
		status     int
		wants      []string
	}{
		{"folder", run + "/artifacts?dir=plots", 200, []string{"curve.png", "bad.svg", `?dir=plots`}},
		{"text preview", run + "/artifact?path=model/MLmodel", 200, []string{"sklearn", `href="/api/2.0/mlflow-artifacts/artifacts/` + f.ExpID + "/" + f.LongRun + `/artifacts/model/MLmodel"`}},
		{"image preview", run + "/artifact?path=plots/curve.png", 200, []string{`<img src="/runs/` + f.LongRun + `/artifact/raw?path=plots%2Fcurve.png"`}},
		{"binary", run + "/artifact?path=blob.bin", 200, []string{"No preview"}},
		{"escape", run + "/artifact?path=../../x.txt", 400, nil},
		{"escape folder", run + "/artifacts?dir=..", 400, nil},
		{"missing", run + "/artifact?path=none.txt", 404, nil},
		{"raw text refused", run + "/artifact/raw?path=notes.txt", 404, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			contains(t, tc.path, f.page(t, tc.path, tc.status), tc.wants...)
		})
	}
	// htmx requests get an error fragment, not a page.
	req, _ := http.NewRequest("GET", f.URL+run+"/artifact?path=none.txt", nil)
	req.Header.Set("HX-Request", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.HasPrefix(string(b), `<p class="error" role="alert">`) {
		t.Errorf("htmx error = %d %q", resp.StatusCode, b)
	}
	status, h, body := f.get(t, run+"/artifact/raw?path=plots/bad.svg")
	if status != 200 || h.Get("Content-Type") != "image/svg+xml" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("raw svg = %d %v", status, h)
	}
	if !strings.Contains(body, "<svg") {
		t.Errorf("raw svg body = %q", body)
	}
	// The download link goes through the artifact proxy.
	status, _, body = f.get(t, "/api/2.0/mlflow-artifacts/artifacts/"+f.ExpID+"/"+f.LongRun+"/artifacts/notes.txt")
	if status != 200 || !strings.HasPrefix(body, "hello") {
		t.Errorf("download = %d %q", status, body)
	}
}

func TestStaticAndMount(t *testing.T) {
	f := newFixture(t)
	body := f.page(t, "/", 200)
	assets := regexp.MustCompile(`(?:src|href)="(/static/[0-9a-f]{12}/[^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(assets) != 6 {
		t.Fatalf("found %d hashed assets in the layout; want 6", len(assets))
	}
	for _, a := range assets {
		status, h, b := f.get(t, a[1])
		if status != 200 || !strings.Contains(h.Get("Cache-Control"), "immutable") || len(b) == 0 {
			t.Errorf("GET %s = %d, Cache-Control %q", a[1], status, h.Get("Cache-Control"))
		}
	}
	status, h, _ := f.get(t, "/static/000000000000/app.css")
	if status != 200 || h.Get("Cache-Control") != "no-cache" {
		t.Errorf("stale hash = %d %q; want 200 no-cache", status, h.Get("Cache-Control"))
	}
	f.page(t, "/static/000000000000/nope.js", 404)
	// The MLflow API keeps its paths, errors included.
	status, h, b := f.get(t, "/api/2.0/mlflow/experiments/get?experiment_id="+f.ExpID)
	if status != 200 || !strings.Contains(b, `"name":"churn"`) {
		t.Errorf("API through the server = %d %s", status, b)
	}
	status, h, _ = f.get(t, "/api/2.0/mlflow/nope")
	if status != 404 || !strings.Contains(h.Get("Content-Type"), "json") {
		t.Errorf("unknown API path = %d %s; want the API's JSON 404", status, h.Get("Content-Type"))
	}
	_, h, _ = f.get(t, "/")
	if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("CSP = %q", h.Get("Content-Security-Policy"))
	}
}
