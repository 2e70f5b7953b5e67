package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/auth"
	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/sealed"
	"github.com/posml/posml/internal/sqlstore"
)

func TestAuthRequired(t *testing.T) {
	for _, tc := range []struct {
		addr            string
		require, noAuth bool
		want            bool
	}{
		{"127.0.0.1:5000", false, false, false},
		{"localhost:5000", false, false, false},
		{"[::1]:5000", false, false, false},
		{"127.0.0.2:80", false, false, false},
		{"0.0.0.0:5000", false, false, true},
		{":5000", false, false, true},
		{"[::]:5000", false, false, true},
		{"10.1.2.3:5000", false, false, true},
		{"posml.example.com:443", false, false, true},
		{"127.0.0.1:5000", true, false, true},
		{"0.0.0.0:5000", false, true, false},
	} {
		got, err := authRequired(tc.addr, tc.require, tc.noAuth)
		if err != nil || got != tc.want {
			t.Errorf("authRequired(%q, %v, %v) = %v, %v; want %v", tc.addr, tc.require, tc.noAuth, got, err, tc.want)
		}
	}
	if _, err := authRequired("0.0.0.0:0", true, true); err == nil {
		t.Error("--require-auth with --no-auth: want an error")
	}
}

// runIn runs the posml command line with env and stdin, failing the test
// on an error.
func runIn(t *testing.T, env map[string]string, stdin string, args ...string) (string, string) {
	t.Helper()
	var out, errOut strings.Builder
	if err := Run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] }); err != nil {
		t.Fatalf("posml %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), errOut.String()
}

// TestServerRequiresAuth creates users and a token with the CLI, then
// talks to `posml server --require-auth` over HTTP: the MLflow API, the
// native API, the mart data and the UI's login.
func TestServerRequiresAuth(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	data := filepath.Join(dir, "data")
	env := map[string]string{"POSML_DATA_DIR": data}

	// Users and a token, before the server runs.
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("alice-secret-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _ := runIn(t, env, "", "user", "add", "alice", "--admin", "--password-file", pwFile); out != "added admin alice\n" {
		t.Errorf("user add: %q", out)
	}
	runIn(t, env, "bob-secret-22\n", "user", "add", "bob")
	if err := Run(context.Background(), []string{"user", "add", "carol"}, strings.NewReader("short\n"), io.Discard, io.Discard, func(k string) string { return env[k] }); err == nil {
		t.Error("user add with a short password: want an error")
	}
	if out, _ := runIn(t, env, "", "user", "list"); !strings.Contains(out, "alice  true") || !strings.Contains(out, "bob    false") {
		t.Errorf("user list:\n%s", out)
	}
	out, _ := runIn(t, env, "", "token", "create", "--user", "alice", "--name", "laptop", "--expires", "90d")
	tok := strings.TrimSpace(out)
	if !strings.HasPrefix(tok, auth.UserTokenPrefix) {
		t.Fatalf("token create printed %q", out)
	}
	out, _ = runIn(t, env, "", "token", "create", "--user", "bob")
	bobTok := strings.TrimSpace(out)
	if out, _ := runIn(t, env, "", "token", "list"); !strings.Contains(out, "laptop") || strings.Contains(out, tok) {
		t.Errorf("token list:\n%s", out)
	}

	// Only hashes are stored; and a run token for the run-token checks.
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(data, "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.UserTokenUser(ctx, tok, time.Now()); posml.KindOf(err) != posml.KindNotFound {
		t.Errorf("the token's text finds a row: %v", err)
	}
	if u, _, err := store.UserTokenUser(ctx, auth.Hash(tok), time.Now()); err != nil || u.Name != "alice" {
		t.Errorf("the token's hash: %v, %v", u, err)
	}
	if _, h, err := store.UserPassword(ctx, "alice"); err != nil || !strings.HasPrefix(h, "$2") || strings.Contains(h, "alice-secret-1") {
		t.Errorf("password hash %q, %v: want bcrypt", h, err)
	}
	runTok, err := auth.New(store, auth.Config{}).IssueCaller(ctx, lineage.Caller{ProjectID: 1, Project: "p", PipelineRunID: 1, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	store.Close()

	// Revoke bob's token.
	out, _ = runIn(t, env, "", "token", "list", "--user", "bob")
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	runIn(t, env, "", "token", "revoke", id)
	out, _ = runIn(t, env, "", "token", "create", "--user", "bob", "--name", "second")
	bobTok2 := strings.TrimSpace(out)

	sctx, cancel := context.WithCancel(ctx)
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(sctx, []string{"server", "--require-auth", "--addr", addr, "--no-scheduler"}, strings.NewReader(""), io.Discard, &stderr, func(k string) string { return env[k] })
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server: %v\n%s", err, stderr.String())
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not stop")
		}
	}()
	base := "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v\n%s", err, stderr.String())
		}
	}

	// The CLI's client commands: refused without a token, served with POSML_TOKEN.
	anon := func(k string) string { return map[string]string{"POSML_URL": base}[k] }
	var errOut strings.Builder
	if err := Run(context.Background(), []string{"project", "list"}, strings.NewReader(""), io.Discard, &errOut, anon); err == nil {
		t.Error("posml project list without POSML_TOKEN succeeded against a server with auth on")
	}
	withTok := func(k string) string { return map[string]string{"POSML_URL": base, "POSML_TOKEN": tok}[k] }
	errOut.Reset()
	if err := Run(context.Background(), []string{"project", "list", "--json"}, strings.NewReader(""), io.Discard, &errOut, withTok); err != nil {
		t.Errorf("posml project list with POSML_TOKEN: %v\n%s", err, errOut.String())
	}

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(c *http.Client, method, path, body string, hdr ...string) (int, string, http.Header) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	basic := func(user, pw string) string {
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth(user, pw)
		return r.Header.Get("Authorization")
	}
	errorCode := func(body string) string {
		var e struct {
			ErrorCode string `json:"error_code"`
			Error     struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		json.Unmarshal([]byte(body), &e)
		return e.ErrorCode + e.Error.Code
	}

	// The MLflow API.
	for _, tc := range []struct {
		name, authz string
		status      int
		code        string
	}{
		{"basic auth", basic("alice", "alice-secret-1"), 200, ""},
		{"wrong password", basic("alice", "nope-nope-nope"), 401, "UNAUTHENTICATED"},
		{"unknown user", basic("mallory", "alice-secret-1"), 401, "UNAUTHENTICATED"},
		{"no auth", "", 401, "UNAUTHENTICATED"},
		{"user token", "Bearer " + tok, 200, ""},
		{"revoked user token", "Bearer " + bobTok, 401, "UNAUTHENTICATED"},
		{"run token", "Bearer " + runTok, 200, ""},
		{"bad run token", "Bearer " + auth.TokenPrefix + "xxxx", 401, "UNAUTHENTICATED"},
	} {
		st, body, _ := do(http.DefaultClient, "GET", "/api/2.0/mlflow/experiments/search?max_results=5", "", "Authorization", tc.authz)
		if st != tc.status || (tc.code != "" && errorCode(body) != tc.code) {
			t.Errorf("MLflow API, %s: %d %s; want %d %s", tc.name, st, body, tc.status, tc.code)
		}
	}
	if st, body, _ := do(http.DefaultClient, "POST", "/api/2.0/mlflow/experiments/create", `{"name":"auth"}`, "Authorization", basic("bob", "bob-secret-22"), "Content-Type", "application/json"); st != 200 {
		t.Errorf("create experiment with basic auth: %d %s", st, body)
	}
	// The artifact proxy.
	if st, body, _ := do(http.DefaultClient, "GET", "/api/2.0/mlflow-artifacts/artifacts?path=1", ""); st != 401 || errorCode(body) != "UNAUTHENTICATED" {
		t.Errorf("artifacts without auth: %d %s", st, body)
	}
	if st, body, _ := do(http.DefaultClient, "PUT", "/api/2.0/mlflow-artifacts/artifacts/1/r/a.txt", "hello", "Authorization", "Bearer "+tok); st != 200 {
		t.Errorf("artifact upload with a user token: %d %s", st, body)
	}

	// The native API.
	if st, body, _ := do(http.DefaultClient, "GET", "/api/posml/projects", "", "Authorization", "Bearer "+tok); st != 200 {
		t.Errorf("native API with a user token: %d %s", st, body)
	}
	if st, body, _ := do(http.DefaultClient, "GET", "/api/posml/projects", ""); st != 401 || errorCode(body) != "unauthorized" {
		t.Errorf("native API without auth: %d %s", st, body)
	}
	if st, body, _ := do(http.DefaultClient, "GET", "/api/posml/projects", "", "Authorization", "Bearer "+runTok); st != 401 {
		t.Errorf("native API with a run token: %d %s", st, body)
	}
	// Roles: every user reads and runs; only an admin changes the projects
	// and sources (bob is not one, alice is).
	if st, body, _ := do(http.DefaultClient, "GET", "/api/posml/projects", "", "Authorization", "Bearer "+bobTok2); st != 200 {
		t.Errorf("a user lists projects: %d %s", st, body)
	}
	for _, tc := range []struct{ method, path, body, what string }{
		{"POST", "/api/posml/projects", `{"repo": "/nowhere"}`, "add a project"},
		{"PATCH", "/api/posml/projects/x", `{"branch": "dev"}`, "change a project's repository, branch or credentials"},
		{"DELETE", "/api/posml/projects/x", "", "remove a project"},
		{"POST", "/api/posml/sources", `{"name": "s", "kind": "postgres", "dsn": "postgres://x"}`, "add a mart source"},
		{"DELETE", "/api/posml/marts/m9", "", "remove a mart"},
	} {
		st, body, _ := do(http.DefaultClient, tc.method, tc.path, tc.body, "Authorization", "Bearer "+bobTok2, "Content-Type", "application/json")
		if st != 403 || errorCode(body) != "forbidden" || !strings.Contains(body, "only an admin may "+tc.what+"; bob is not one") {
			t.Errorf("bob %s %s: %d %s; want 403: only an admin may %s", tc.method, tc.path, st, body, tc.what)
		}
	}
	if st, body, _ := do(http.DefaultClient, "DELETE", "/api/posml/projects/x", "", "Authorization", "Bearer "+tok); st != 404 {
		t.Errorf("alice (admin) removes a project that does not exist: %d %s; want 404", st, body)
	}
	// Marts: a user creates one; a user token and a run token read it.
	if st, body, _ := do(http.DefaultClient, "PUT", "/api/posml/marts/m1/file?name=m1.csv", "a,b\n1,x\n2,y\n", "Authorization", "Bearer "+tok); st/100 != 2 {
		t.Fatalf("upload mart: %d %s", st, body)
	}
	for _, authz := range []string{"Bearer " + tok, "Bearer " + runTok} {
		if st, body, _ := do(http.DefaultClient, "GET", "/api/posml/marts/m1/data?format=csv", "", "Authorization", authz); st != 200 || !strings.Contains(body, "2,y") {
			t.Errorf("mart data with %.12s…: %d %s", authz, st, body)
		}
	}
	if st, body, _ := do(http.DefaultClient, "GET", "/api/posml/marts/m1/data?format=csv", ""); st != 401 {
		t.Errorf("mart data without auth: %d %s", st, body)
	}
	if st, body, _ := do(http.DefaultClient, "GET", "/api/posml/marts/m1/data?format=csv", "", "Authorization", "Bearer "+bobTok); st != 401 {
		t.Errorf("mart data with a revoked token: %d %s", st, body)
	}

	// The UI: pages redirect to the login page.
	st, _, h := do(noRedirect, "GET", "/models?x=1", "")
	if st != http.StatusSeeOther || h.Get("Location") != "/login?next="+url.QueryEscape("/models?x=1") {
		t.Errorf("page without a session: %d, Location %q", st, h.Get("Location"))
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: noRedirect.CheckRedirect}
	csrfOf := func(body string) string {
		m := regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no csrf field in\n%s", body)
		}
		return m[1]
	}
	st, body, _ := do(browser, "GET", "/login?next=/models", "")
	if st != 200 || !strings.Contains(body, `type="password"`) {
		t.Fatalf("login page: %d %s", st, body)
	}
	csrf := csrfOf(body)
	form := func(v url.Values) string { return v.Encode() }
	ct := "application/x-www-form-urlencoded"
	// A wrong password shows an error.
	st, body, _ = do(browser, "POST", "/login", form(url.Values{"csrf": {csrf}, "name": {"alice"}, "password": {"wrong-password"}, "next": {"/models"}}), "Content-Type", ct)
	if st != 401 || !strings.Contains(body, "Wrong user name or password") {
		t.Errorf("login with a wrong password: %d %s", st, body)
	}
	// No CSRF token: refused.
	if st, _, _ := do(browser, "POST", "/login", form(url.Values{"name": {"alice"}, "password": {"alice-secret-1"}}), "Content-Type", ct); st != 403 {
		t.Errorf("login without a csrf token: %d", st)
	}
	st, _, h = do(browser, "POST", "/login", form(url.Values{"csrf": {csrf}, "name": {"alice"}, "password": {"alice-secret-1"}, "next": {"/models"}}), "Content-Type", ct)
	if st != http.StatusSeeOther || h.Get("Location") != "/models" {
		t.Fatalf("login: %d, Location %q", st, h.Get("Location"))
	}
	var session string
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "posml_session" {
			session = c.Value
		}
	}
	sc := strings.Join(h.Values("Set-Cookie"), "\n")
	if !strings.Contains(sc, "posml_session=") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
		t.Errorf("session cookie: %s", sc)
	}
	if st, body, _ := do(browser, "GET", "/models", ""); st != 200 || !strings.Contains(body, `href="/login">Account`) {
		t.Errorf("page after login: %d", st)
	}
	if st, body, _ := do(browser, "GET", "/api/posml/projects", ""); st != 200 {
		t.Errorf("native API with the session cookie: %d %s", st, body)
	}
	if st, _, _ := do(browser, "POST", "/api/posml/projects/x/pause", "", "Origin", "http://evil.example"); st != 403 {
		t.Errorf("cross-origin POST with the session cookie: %d; want 403", st)
	}
	st, body, _ = do(browser, "GET", "/login", "")
	if st != 200 || !strings.Contains(body, "Signed in as <strong>alice</strong>") {
		t.Errorf("account page: %d %s", st, body)
	}
	if st, _, h := do(browser, "POST", "/logout", form(url.Values{"csrf": {csrfOf(body)}}), "Content-Type", ct); st != http.StatusSeeOther || h.Get("Location") != "/login" {
		t.Errorf("logout: %d %q", st, h.Get("Location"))
	}
	if st, _, _ := do(browser, "GET", "/models", ""); st != http.StatusSeeOther {
		t.Errorf("page after logout: %d; want a redirect", st)
	}
	// The session's row is gone: the old cookie value is refused too.
	if st, _, _ := do(noRedirect, "GET", "/models", "", "Cookie", "posml_session="+session); session == "" || st != http.StatusSeeOther {
		t.Errorf("page with the logged-out session: %d; want a redirect", st)
	}
	u, _ := url.Parse(base)
	for _, c := range jar.Cookies(u) {
		if c.Name == "posml_session" {
			t.Errorf("session cookie still set: %v", c)
		}
	}
	// Password guessing is throttled per name, on the MLflow API and the
	// login page alike; other names are not affected.
	for i := 0; i < auth.FreeFailures; i++ {
		if st, _, _ := do(http.DefaultClient, "GET", "/api/2.0/mlflow/experiments/search?max_results=5", "", "Authorization", basic("bob", "guess-guess")); st != 401 {
			t.Fatalf("guess %d for bob: %d; want 401", i+1, st)
		}
	}
	st, body, h = do(http.DefaultClient, "GET", "/api/2.0/mlflow/experiments/search?max_results=5", "", "Authorization", basic("bob", "bob-secret-22"))
	if st != http.StatusTooManyRequests || errorCode(body) != "REQUEST_LIMIT_EXCEEDED" || h.Get("Retry-After") == "" {
		t.Errorf("bob after %d wrong passwords: %d %s (Retry-After %q); want 429 REQUEST_LIMIT_EXCEEDED", auth.FreeFailures, st, body, h.Get("Retry-After"))
	}
	_, body, _ = do(browser, "GET", "/login", "")
	st, body, _ = do(browser, "POST", "/login", form(url.Values{"csrf": {csrfOf(body)}, "name": {"bob"}, "password": {"bob-secret-22"}}), "Content-Type", ct)
	if st != http.StatusTooManyRequests || !strings.Contains(body, "Too many wrong passwords for this user: try again in") {
		t.Errorf("login page for a throttled name: %d %s", st, body)
	}
	if st, body, _ := do(http.DefaultClient, "GET", "/api/2.0/mlflow/experiments/search?max_results=5", "", "Authorization", basic("alice", "alice-secret-1")); st != 200 {
		t.Errorf("alice while bob is throttled: %d %s", st, body)
	}

	// Unauthenticated health checks still answer.
	if st, _, _ := do(http.DefaultClient, "GET", "/health", ""); st != 200 {
		t.Errorf("/health: %d", st)
	}
}

// TestServerTrustProxy: behind a TLS proxy (--trust-proxy) the cookies of a
// request forwarded as https are Secure; others are not.
func TestServerTrustProxy(t *testing.T) {
	base := e2eServer(t, "--data-dir", t.TempDir(), "--require-auth", "--no-scheduler", "--trust-proxy")
	for proto, want := range map[string]bool{"https": true, "": false} {
		req, _ := http.NewRequest("GET", base+"/login", nil)
		if proto != "" {
			req.Header.Set("X-Forwarded-Proto", proto)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cookies := resp.Cookies()
		if len(cookies) == 0 {
			t.Fatalf("GET /login (X-Forwarded-Proto %q) set no cookie", proto)
		}
		for _, c := range cookies {
			if c.Secure != want {
				t.Errorf("X-Forwarded-Proto %q: cookie %s Secure %v; want %v", proto, c.Name, c.Secure, want)
			}
		}
	}
}

// TestServerSealsCredentials: with SQLite the server makes its key file
// (0600) on first start and stores secrets sealed; they still work (a
// source's DSN reads back through the API), and a restart with the same
// data directory reads them.
func TestServerSealsCredentials(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	srcDB := filepath.Join(dir, "src.db")
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: srcDB})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	for round := 0; round < 2; round++ {
		func() {
			base, stop := e2eServerStop(t, "--data-dir", data, "--no-scheduler")
			defer stop()
			if round == 0 {
				out, errOut, code := run(t, "source", "add", "warehouse", "--kind", "sqlite", "--dsn", srcDB, "--url", base)
				if code != 0 {
					t.Fatalf("source add: exit %d\n%s%s", code, out, errOut)
				}
			}
			out, errOut, code := run(t, "source", "list", "--url", base)
			if code != 0 || !strings.Contains(out, "warehouse") {
				t.Fatalf("round %d: source list: exit %d\n%s%s", round, code, out, errOut)
			}
		}()
	}
	fi, err := os.Stat(filepath.Join(data, "secret.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	st, err = sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(data, "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.MartSource(context.Background(), "warehouse"); !errors.Is(err, sealed.ErrNoKey) {
		t.Errorf("the source's DSN read without the key: %v; want sealed.ErrNoKey (it is stored sealed)", err)
	}
}
