package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/posml/posml"
)

// Git runs the git program. The zero value runs "git" from PATH with the
// environment DefaultEnv(os.Environ()) and temporary files in os.TempDir().
type Git struct {
	// Path is the git executable; "" means "git", looked up in PATH.
	Path string
	// Env is the base environment of every git command: PATH, proxies,
	// TLS trust (see DefaultEnv). nil means DefaultEnv(os.Environ()). Variables
	// that would let the surroundings change git's behaviour (GIT_*, HOME,
	// XDG_CONFIG_HOME, LC_*, SSH_ASKPASS) are dropped from it and set by the
	// package.
	Env []string
	// TempDir is where the per-command private directory (askpass helper,
	// key file, HOME) is made; "" means os.TempDir(). It must allow
	// executing files (not mounted noexec) when HTTPS tokens are used.
	TempDir string
	// KnownHosts is the ssh known_hosts file new host keys are added to
	// (StrictHostKeyChecking=accept-new); "" means ssh's default
	// (~/.ssh/known_hosts of the user posml runs as).
	KnownHosts string
}

// killDelay bounds the wait for git's output after ctx ended and its
// process group was killed.
const killDelay = 5 * time.Second

// maxStderr is how much of git's stderr an Error keeps.
const maxStderr = 8 << 10

// DefaultEnv picks from an environment (os.Environ(), or a test's list)
// the variables git needs to reach a server: PATH, TMPDIR, the proxy
// variables and the TLS trust settings.
func DefaultEnv(environ []string) []string {
	keep := map[string]bool{
		"PATH": true, "TMPDIR": true,
		"http_proxy": true, "HTTP_PROXY": true, "https_proxy": true, "HTTPS_PROXY": true,
		"all_proxy": true, "ALL_PROXY": true, "no_proxy": true, "NO_PROXY": true,
		"SSL_CERT_FILE": true, "SSL_CERT_DIR": true,
		"GIT_SSL_CAINFO": true, "GIT_SSL_CAPATH": true, "GIT_PROXY_SSL_CAINFO": true,
	}
	var env []string
	hasPath := false
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if keep[name] {
			env = append(env, kv)
			hasPath = hasPath || name == "PATH"
		}
	}
	if !hasPath {
		env = append(env, "PATH=/usr/local/bin:/usr/bin:/bin")
	}
	return env
}

// allowedFromBase reports whether a variable of Git.Env is passed on.
func allowedFromBase(kv string) bool {
	name, _, _ := strings.Cut(kv, "=")
	switch {
	case name == "GIT_SSL_CAINFO", name == "GIT_SSL_CAPATH", name == "GIT_PROXY_SSL_CAINFO":
		return true
	case strings.HasPrefix(name, "GIT_"), strings.HasPrefix(name, "LC_"), strings.HasPrefix(name, "SSH_"):
		return false
	case name == "HOME", name == "XDG_CONFIG_HOME", name == "LANG", name == "LANGUAGE", name == "EMAIL":
		return false
	}
	return true
}

// hardeningArgs come before every git subcommand. The environment does the
// rest (see session.env).
var hardeningArgs = []string{
	"-c", "core.hooksPath=/dev/null",
	"-c", "credential.helper=",
	"-c", "core.askPass=",
	"-c", "gc.autoDetach=false",
}

// invocation is one git command.
type invocation struct {
	op     string // what the caller was doing: "clone", "fetch", ...
	repo   string // the repository the error names (redacted on output)
	auth   *Auth  // nil: no credentials
	args   []string
	env    []string  // extra variables
	stdout io.Writer // nil: collected and returned
	scrub  []string  // further strings to hide in errors
	// indexFile gives the command a throwaway index (GIT_INDEX_FILE) in its
	// private directory, so that concurrent checkouts never share one.
	indexFile bool
}

// run runs git with the hardened environment and returns its stdout.
func (g *Git) run(ctx context.Context, inv invocation) ([]byte, error) {
	s, err := g.newSession(inv.auth)
	if err != nil {
		return nil, &Error{Op: inv.op, Repo: Redact(inv.repo), Err: err}
	}
	defer s.close()

	path := g.Path
	if path == "" {
		path = "git"
	}
	cmd := exec.CommandContext(ctx, path, append(append([]string(nil), hardeningArgs...), inv.args...)...)
	cmd.Env = append(s.env(g), inv.env...)
	if inv.indexFile {
		cmd.Env = append(cmd.Env, "GIT_INDEX_FILE="+filepath.Join(s.dir, "index"))
	}
	var stdout bytes.Buffer
	stderr := &limitedBuffer{max: maxStderr}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if inv.stdout != nil {
		cmd.Stdout = inv.stdout
	}
	setProcessGroup(cmd)
	cmd.WaitDelay = killDelay
	err = cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	} else if errors.Is(err, exec.ErrNotFound) {
		err = fmt.Errorf("git not found: install git 2.39 or later: %w", err)
	}
	secrets := inv.scrub
	if strings.Contains(inv.repo, "://") {
		secrets = append(secrets, inv.repo)
	}
	if inv.auth != nil {
		secrets = append(secrets, inv.auth.Token)
	}
	return stdout.Bytes(), &Error{
		Op:     inv.op,
		Repo:   Redact(inv.repo),
		Stderr: scrub(strings.TrimSpace(stderr.String()), secrets...),
		Err:    err,
	}
}

// session holds the private directory of one git command.
type session struct {
	dir     string
	askpass string // helper script; "" without a token
	keyFile string // ssh key; "" without one
}

func (g *Git) newSession(a *Auth) (*session, error) {
	dir, err := os.MkdirTemp(g.TempDir, "posml-git-")
	if err != nil {
		return nil, fmt.Errorf("make private directory for git: %w", err)
	}
	s := &session{dir: dir}
	if a != nil {
		if err := a.install(s); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

func (s *session) close() { os.RemoveAll(s.dir) }

// env is the complete environment of a git command.
func (s *session) env(g *Git) []string {
	base := g.Env
	if base == nil {
		base = DefaultEnv(os.Environ())
	}
	env := make([]string, 0, len(base)+16)
	for _, kv := range base {
		if allowedFromBase(kv) {
			env = append(env, kv)
		}
	}
	env = append(env,
		"HOME="+s.dir,
		"XDG_CONFIG_HOME="+s.dir,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ALLOW_PROTOCOL=file:git:http:https:ssh",
		"GIT_SSH_VARIANT=ssh",
		"GIT_SSH_COMMAND="+s.sshCommand(g.KnownHosts),
		"SSH_ASKPASS_REQUIRE=never",
		"LC_ALL=C",
	)
	if s.askpass != "" {
		env = append(env, "GIT_ASKPASS="+s.askpass)
	}
	return env
}

// sshCommand is GIT_SSH_COMMAND: run by git through the shell, so every
// path is quoted.
func (s *session) sshCommand(knownHosts string) string {
	c := []string{"ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new"}
	if knownHosts != "" {
		c = append(c, "-o", shellQuote("UserKnownHostsFile="+knownHosts))
	}
	if s.keyFile != "" {
		c = append(c, "-i", shellQuote(s.keyFile), "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none")
	}
	return strings.Join(c, " ")
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string { return b.buf.String() }

// Error is a failed git command. Its message names the operation and the
// repository (with credentials removed) and quotes git's stderr, which is
// scrubbed of credentials too.
type Error struct {
	Op     string // "clone", "fetch", "resolve", "checkout", "log", ...
	Repo   string // the repository's URL or path, redacted
	Stderr string // git's stderr, trimmed and scrubbed; may be ""
	Kind   posml.Kind
	Err    error // the cause: *exec.ExitError, a context error, ...
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("git ")
	b.WriteString(e.Op)
	if e.Repo != "" {
		b.WriteString(" ")
		b.WriteString(e.Repo)
	}
	b.WriteString(": ")
	switch {
	case e.Stderr != "" && e.Err != nil && isContextErr(e.Err):
		b.WriteString(e.Err.Error() + ": " + e.Stderr)
	case e.Stderr != "":
		b.WriteString(e.Stderr)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("failed")
	}
	return b.String()
}

// Unwrap returns the cause and, for a classified error, a *posml.Error of
// its kind, so that posml.KindOf and errors.Is(err, posml.ErrNotFound) see
// it.
func (e *Error) Unwrap() []error {
	errs := []error{}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.Kind != posml.KindInternal {
		errs = append(errs, &posml.Error{Kind: e.Kind, Msg: e.Kind.String()})
	}
	return errs
}

func isContextErr(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
