package gitrepo

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posml/posml"
)

// hangingServer accepts connections and never answers; it returns its
// base URL.
func hangingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() { // ends when ln is closed by the cleanup below
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// gitHTTPServer serves the bare repositories under root with git
// http-backend (smart HTTP), requiring basic auth user:token when token
// is not "". It returns its base URL.
func gitHTTPServer(t *testing.T, root, user, token string) string {
	t.Helper()
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + root},
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+token))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" && r.Header.Get("Authorization") != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// spyGit writes a git wrapper that records its arguments and environment
// in log, then runs the real git.
func spyGit(t *testing.T) (path, log string) {
	t.Helper()
	dir := t.TempDir()
	real, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	log = filepath.Join(dir, "calls.log")
	path = filepath.Join(dir, "git")
	script := fmt.Sprintf("#!/bin/sh\n{ echo \"ARGS: $*\"; env; ls -la \"$HOME\"; } >> %s\nexec %s \"$@\"\n", log, real)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, log
}

func TestHTTPSToken(t *testing.T) {
	const token = "glpat-Zx81-secret-T0ken"
	src := newSource(t)
	c1 := src.commit("first", sampleFiles())
	root := t.TempDir()
	gitT(t, root, nil, "clone", "--quiet", "--bare", src.dir, filepath.Join(root, "iris.git"))
	base := gitHTTPServer(t, root, "oauth2", token)
	spy, calls := spyGit(t)
	g := &Git{Path: spy}
	ctx := testCtx(t)

	r, err := g.Clone(ctx, base+"/iris.git", filepath.Join(t.TempDir(), "c.git"), Auth{Token: token})
	if err != nil {
		t.Fatalf("Clone with the token: %v", err)
	}
	if head, err := r.Fetch(ctx, "main"); err != nil || head != c1 {
		t.Fatalf("Fetch with the token = %q, %v", head, err)
	}
	if err := r.Checkout(ctx, c1, filepath.Join(t.TempDir(), "w")); err != nil {
		t.Fatal(err)
	}

	// The token never reached an argument list or an environment, nor the
	// clone's config, and the private directory is gone.
	log, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(log, []byte(token)) {
		t.Errorf("the token appears in git's arguments or environment:\n%s", log)
	}
	for _, want := range []string{"GIT_ASKPASS=", "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"} {
		if !bytes.Contains(log, []byte(want)) {
			t.Errorf("git's environment lacks %s", want)
		}
	}
	if !bytes.Contains(log, []byte("-rw------- ")) || !bytes.Contains(log, []byte(" password")) {
		t.Errorf("credential files are not private:\n%s", log)
	}
	cfg, _ := os.ReadFile(filepath.Join(r.Dir(), "config"))
	if bytes.Contains(cfg, []byte(token)) {
		t.Errorf("the token is in the clone's config")
	}
	leftovers, _ := filepath.Glob(filepath.Join(os.TempDir(), "posml-git-*", "password"))
	for _, p := range leftovers {
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(token)) {
			t.Errorf("credentials left in %s", p)
		}
	}

	// A wrong token fails, and the error shows neither token.
	_, err = g.Clone(ctx, base+"/iris.git", filepath.Join(t.TempDir(), "c2.git"), Auth{Token: "wrong-" + token})
	if err == nil {
		t.Fatal("Clone with a wrong token succeeded")
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error shows the token: %v", err)
	}
	if !strings.Contains(err.Error(), "git clone "+base+"/iris.git") {
		t.Errorf("error %q does not name the repository", err)
	}
	// No token: git does not prompt, it fails.
	if _, err := g.Clone(ctx, base+"/iris.git", filepath.Join(t.TempDir(), "c3.git"), Auth{}); err == nil {
		t.Error("Clone without credentials succeeded")
	}
}

func TestCredentialsInURLAreRedacted(t *testing.T) {
	const secret = "hunter2-very-secret"
	srv := gitHTTPServer(t, t.TempDir(), "u", "other")
	url := strings.Replace(srv, "http://", "http://deploy:"+secret+"@", 1) + "/x.git"
	_, err := (&Git{}).Clone(testCtx(t), url, filepath.Join(t.TempDir(), "c.git"), Auth{})
	if err == nil {
		t.Fatal("Clone succeeded")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error shows the password: %v", err)
	}
	if !strings.Contains(err.Error(), "deploy:xxxxx@") {
		t.Errorf("error %q does not name the redacted repository", err)
	}
}

func TestSSHKey(t *testing.T) {
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----" // no final newline
	bin := t.TempDir()
	record := filepath.Join(t.TempDir(), "ssh.log")
	// A fake ssh: records its arguments, the key file's mode and content.
	fake := fmt.Sprintf(`#!/bin/sh
{
  echo "ARGS: $*"
  while [ $# -gt 0 ]; do
    if [ "$1" = -i ]; then echo "KEYPATH: $2"; stat -c 'MODE: %%a' "$2"; cat "$2"; fi
    shift
  done
} > %s
echo "ssh: connect to host example.invalid port 22: Connection refused" >&2
exit 255
`, record)
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	g := &Git{Env: []string{"PATH=" + bin + ":" + os.Getenv("PATH")}, KnownHosts: "/var/lib/posml/known_hosts"}
	_, err := g.Clone(testCtx(t), "git@example.invalid:ml/iris.git", filepath.Join(t.TempDir(), "c.git"), Auth{SSHKey: []byte(key)})
	if err == nil {
		t.Fatal("Clone through the failing fake ssh succeeded")
	}
	if !strings.Contains(err.Error(), "git clone git@example.invalid:ml/iris.git") || !strings.Contains(err.Error(), "Connection refused") {
		t.Errorf("error %q does not name the repository and quote ssh", err)
	}
	if strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("error shows the key: %v", err)
	}
	b, err := os.ReadFile(record)
	if err != nil {
		t.Fatalf("fake ssh did not run: %v", err)
	}
	log := string(b)
	for _, want := range []string{
		"-o BatchMode=yes", "-o StrictHostKeyChecking=accept-new", "-o IdentitiesOnly=yes",
		"-o UserKnownHostsFile=/var/lib/posml/known_hosts", "git@example.invalid", "MODE: 600", key + "\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("ssh call lacks %q:\n%s", want, log)
		}
	}
	_, keyPath, _ := strings.Cut(log, "KEYPATH: ")
	keyPath, _, _ = strings.Cut(keyPath, "\n")
	if _, err := os.Stat(keyPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("key file %s still exists after the command (%v)", keyPath, err)
	}
}

func TestSessionEnv(t *testing.T) {
	g := &Git{Env: []string{
		"PATH=/usr/bin", "HTTPS_PROXY=http://proxy:3128", "GIT_DIR=/elsewhere", "GIT_SSH_COMMAND=evil",
		"HOME=/root", "LC_ALL=de_DE.UTF-8", "SSH_AUTH_SOCK=/tmp/agent", "GIT_SSL_CAINFO=/etc/ca.pem",
	}}
	s, err := g.newSession(&Auth{Token: "t0ken-abc"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	env := s.env(g)
	has := map[string]bool{}
	for _, kv := range env {
		has[kv] = true
		if strings.Contains(kv, "t0ken-abc") {
			t.Errorf("environment carries the token: %s", kv)
		}
	}
	for _, want := range []string{"PATH=/usr/bin", "HTTPS_PROXY=http://proxy:3128", "GIT_SSL_CAINFO=/etc/ca.pem",
		"HOME=" + s.dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_ASKPASS=" + s.askpass} {
		if !has[want] {
			t.Errorf("env lacks %s: %v", want, env)
		}
	}
	for _, bad := range []string{"GIT_DIR=/elsewhere", "GIT_SSH_COMMAND=evil", "HOME=/root", "LC_ALL=de_DE.UTF-8", "SSH_AUTH_SOCK=/tmp/agent"} {
		if has[bad] {
			t.Errorf("env keeps %s", bad)
		}
	}
	out, err := exec.Command(s.askpass, "Username for 'https://gitlab.example.com': ").Output()
	if err != nil || string(out) != "oauth2\n" {
		t.Errorf("askpass username = %q, %v", out, err)
	}
	out, err = exec.Command(s.askpass, "Password for 'https://oauth2@gitlab.example.com': ").Output()
	if err != nil || string(out) != "t0ken-abc\n" {
		t.Errorf("askpass password = %q, %v", out, err)
	}
	dir := s.dir
	s.close()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("private directory %s survives close", dir)
	}
}

func TestAuthNeverPrinted(t *testing.T) {
	a := Auth{Username: "deploy", Token: "ghp_SECRETSECRET", SSHKey: []byte("-----BEGIN KEY-----SECRETKEY")}
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("sync", "auth", a)
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%v %+v %#v %s", a, a, a, a), logBuf.String()} {
		if strings.Contains(s, "SECRET") {
			t.Errorf("printed Auth shows a secret: %s", s)
		}
	}
	if got := a.String(); got != "https token and ssh key" {
		t.Errorf("String() = %q", got)
	}
	if !(Auth{}).IsZero() || a.IsZero() {
		t.Error("IsZero wrong")
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://oauth2:glpat-abc@gitlab.example.com/g/p.git", "https://oauth2:xxxxx@gitlab.example.com/g/p.git"},
		{"https://ghp_tokenonly@github.com/o/r.git", "https://xxxxx@github.com/o/r.git"},
		{"https://github.com/o/r.git", "https://github.com/o/r.git"},
		{"ssh://git@host:2222/g/p.git", "ssh://git@host:2222/g/p.git"},
		{"ssh://git:pw@host/g/p.git", "ssh://git:xxxxx@host/g/p.git"},
		{"git@github.com:o/r.git", "git@github.com:o/r.git"},
		{"/srv/git/p.git", "/srv/git/p.git"},
		{"file:///srv/git/p.git", "file:///srv/git/p.git"},
		{"http://u:p%40ss@h/x", "http://u:xxxxx@h/x"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestScrub(t *testing.T) {
	tests := []struct {
		text    string
		secrets []string
		want    string
	}{
		{"fatal: unable to access 'https://oauth2:glpat-1@h/p.git/': 403", nil, "fatal: unable to access 'https://xxxxx@h/p.git/': 403"},
		{"fatal: Authentication failed for 'https://ghp_x@github.com/o/r.git/'", nil, "fatal: Authentication failed for 'https://xxxxx@github.com/o/r.git/'"},
		{"remote: token glpat-SECRET is expired", []string{"glpat-SECRET"}, "remote: token xxxxx is expired"},
		{"fatal: repository 'https://h/p.git/' not found", []string{"https://h/p.git"}, "fatal: repository 'https://h/p.git/' not found"},
		{"ssh: connect to host h port 22", []string{"ab"}, "ssh: connect to host h port 22"},
	}
	for _, tt := range tests {
		if got := scrub(tt.text, tt.secrets...); got != tt.want {
			t.Errorf("scrub(%q) = %q; want %q", tt.text, got, tt.want)
		}
	}
}

func TestCheckBranch(t *testing.T) {
	for _, ok := range []string{"main", "feature/knn-5", "release-2024.03", "user/kim/실험", "v1"} {
		if err := checkBranch(ok); err != nil {
			t.Errorf("checkBranch(%q) = %v", ok, err)
		}
	}
}

func TestErrorKinds(t *testing.T) {
	e := &Error{Op: "fetch", Repo: "https://h/p.git", Stderr: "fatal: couldn't find remote ref refs/heads/x", Kind: posml.KindNotFound, Err: errors.New("exit status 128")}
	if !errors.Is(e, posml.ErrNotFound) || posml.KindOf(e) != posml.KindNotFound {
		t.Errorf("errors.Is(NotFound) = %v, KindOf = %v", errors.Is(e, posml.ErrNotFound), posml.KindOf(e))
	}
	if want := "git fetch https://h/p.git: fatal: couldn't find remote ref refs/heads/x"; e.Error() != want {
		t.Errorf("Error() = %q; want %q", e.Error(), want)
	}
}

func TestDefaultEnv(t *testing.T) {
	got := DefaultEnv([]string{"PATH=/bin", "HOME=/root", "HTTPS_PROXY=http://p:3128", "GIT_DIR=/x", "GIT_SSL_CAINFO=/ca.pem", "AWS_SECRET_ACCESS_KEY=s"})
	want := []string{"PATH=/bin", "HTTPS_PROXY=http://p:3128", "GIT_SSL_CAINFO=/ca.pem"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("DefaultEnv = %q; want %q", got, want)
	}
	if got := DefaultEnv(nil); len(got) != 1 || !strings.HasPrefix(got[0], "PATH=") {
		t.Errorf("DefaultEnv(nil) = %q", got)
	}
}
