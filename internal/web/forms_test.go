package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/posml/posml/internal/pipeline"
)

var (
	csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`)
	runRows   = regexp.MustCompile(`<a href="/pipeline-runs/(\d+)">#`)
	nextLink  = regexp.MustCompile(`href="([^"]+)" rel="next"`)
)

// browser is an HTTP client with a cookie jar that does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (f *fixture) token(t *testing.T, c *http.Client, path string) string {
	t.Helper()
	resp, err := c.Get(f.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(b)
	if m == nil {
		t.Fatalf("GET %s: no csrf field", path)
	}
	return string(m[1])
}

func post(t *testing.T, c *http.Client, u string, form url.Values, header map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location") + string(b)
}

func TestFormsNeedCSRF(t *testing.T) {
	f := newFixture(t)
	c := browser(t)
	tok := f.token(t, c, "/projects/churn")
	pause := f.URL + "/projects/churn/pause"
	for _, tc := range []struct {
		name   string
		client *http.Client
		form   url.Values
		header map[string]string
	}{
		{"missing token", c, url.Values{}, nil},
		{"bad token", c, url.Values{"csrf": {strings.Repeat("0", 64)}}, nil},
		{"token without its cookie", browser(t), url.Values{"csrf": {tok}}, nil},
		{"other origin", c, url.Values{"csrf": {tok}}, map[string]string{"Origin": "https://evil.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, tc.client, pause, tc.form, tc.header)
			if status != http.StatusForbidden || !strings.Contains(body, "reload the page") {
				t.Errorf("POST pause = %d; want 403\n%s", status, truncate(body))
			}
		})
	}
	p, _ := f.Store.ProjectByName(t.Context(), "churn")
	if p.Paused {
		t.Fatal("a refused form paused the project")
	}
	// Every form of the pages refuses a missing token.
	for _, path := range []string{"/projects/churn/resume", "/projects/churn/run", "/projects/churn/backfill", "/pipeline-runs/" + f.Pipes.Running.String() + "/cancel", "/pipeline-runs/" + f.Pipes.Failed.String() + "/retry"} {
		if status, _ := post(t, c, f.URL+path, url.Values{}, nil); status != http.StatusForbidden {
			t.Errorf("POST %s without a token = %d; want 403", path, status)
		}
	}
}

func TestForms(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	c := browser(t)
	tok := f.token(t, c, "/projects/churn")
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf": {tok}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	expect := func(path string, v url.Values, location string) string {
		t.Helper()
		status, body := post(t, c, f.URL+path, v, map[string]string{"Origin": f.URL})
		if status != http.StatusSeeOther || !strings.HasPrefix(body, location) {
			t.Fatalf("POST %s = %d %q; want 303 to %s", path, status, truncate(body), location)
		}
		return body
	}
	expect("/projects/churn/pause", form(), "/projects/churn")
	if p, _ := f.Store.ProjectByName(ctx, "churn"); !p.Paused {
		t.Error("pause did not pause")
	}
	expect("/projects/churn/resume", form(), "/projects/churn")
	if p, _ := f.Store.ProjectByName(ctx, "churn"); p.Paused {
		t.Error("resume did not resume")
	}
	loc := expect("/projects/churn/run", form("pipeline", "train"), "/pipeline-runs/")
	id, err := pipeline.ParseRunID(strings.TrimPrefix(loc, "/pipeline-runs/"))
	if err != nil {
		t.Fatal(err)
	}
	run, err := f.Store.PipelineRun(ctx, id)
	if err != nil || run.State != pipeline.Queued || run.Cause != pipeline.CauseManual || run.Commit != f.Pipes.Active || run.MaxAttempts != 2 {
		t.Errorf("run now queued %+v, %v", run, err)
	}
	expect("/pipeline-runs/"+id.String()+"/cancel", form(), "/pipeline-runs/"+id.String())
	if run, _ := f.Store.PipelineRun(ctx, id); run.State != pipeline.Canceled {
		t.Errorf("cancel of a queued run: state %s", run.State)
	}
	expect("/pipeline-runs/"+f.Pipes.Failed.String()+"/retry", form(), "/pipeline-runs/"+f.Pipes.Failed.String())
	if run, _ := f.Store.PipelineRun(ctx, f.Pipes.Failed); run.State != pipeline.Queued {
		t.Errorf("retry: state %s", run.State)
	}
	// Backfill: monthly from 2026-01-01 00:00 UTC, so February and March.
	loc = expect("/projects/churn/backfill", form("pipeline", "train", "from", "2026-01-01", "to", "2026-03-31"), "/pipeline-runs?")
	if !strings.Contains(loc, "queued=2") {
		t.Errorf("backfill went to %s; want queued=2", loc)
	}
	runs, err := f.Store.PipelineRuns(ctx, pipeline.RunFilter{ProjectID: f.Pipes.Project.ID, Cause: pipeline.CauseBackfill})
	if err != nil || len(runs) != 2 || runs[1].LogicalDate.Month() != 1 || runs[0].LogicalDate.Month() != 2 {
		t.Errorf("backfill runs = %+v, %v", runs, err) // Feb 1 00:00 in Berlin is Jan 31 23:00 UTC
	}
	if loc = expect("/projects/churn/backfill", form("pipeline", "train", "from", "2026-01-01", "to", "2026-03-31"), "/pipeline-runs?"); !strings.Contains(loc, "queued=0") {
		t.Errorf("second backfill went to %s; want queued=0", loc)
	}
	if status, _ := post(t, c, f.URL+"/projects/churn/backfill", form("pipeline", "train", "from", "2026-03-01", "to", "2026-01-01"), nil); status != 400 {
		t.Errorf("backfill of a reversed range = %d; want 400", status)
	}
	// A project without the pipeline, or a run that cannot be retried: the error page.
	if status, body := post(t, c, f.URL+"/pipeline-runs/"+f.Pipes.Succeeded.String()+"/retry", form(), nil); status < 400 || status == 403 {
		t.Errorf("retry of a succeeded run = %d %s", status, truncate(body))
	}
	if status, _ := post(t, c, f.URL+"/projects/churn/run", form("pipeline", "nope"), nil); status != 400 {
		t.Errorf("run of an unknown pipeline = %d; want 400", status)
	}
	// The cookie is HttpOnly and SameSite=Strict.
	resp, err := http.Get(f.URL + "/projects/churn")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ck := resp.Header.Get("Set-Cookie")
	if !strings.Contains(ck, "posml_csrf=") || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") {
		t.Errorf("Set-Cookie = %q", ck)
	}
}
