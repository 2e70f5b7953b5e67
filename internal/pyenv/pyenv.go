package pyenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Cache builds and keeps the virtual environments of projects. Set its
// fields before the first call; its methods may then be called
// concurrently.
type Cache struct {
	// Dir holds the environments, one directory per key.
	Dir string
	// Base is the interpreter environments are made from: a path, or a
	// name looked up in posml's PATH; "" means "python3".
	Base string
	// Env is the complete environment of python -m venv and pip: PATH,
	// HOME (pip's cache), PIP_INDEX_URL and the proxy variables for a
	// private index, .... nil means DefaultEnv(os.Environ()).
	Env []string

	mu      sync.Mutex
	flights map[string]*flight
	bases   map[string]baseInfo
}

// Env is an interpreter to run a project with.
type Env struct {
	// Python is the interpreter to run.
	Python string
	// Venv is the environment's directory; "" when Python is the base
	// interpreter (no requirements).
	Venv string
	// Key is the cache key; "" without a Venv.
	Key string
	// Built is true when this call built the environment; false for a
	// cache hit or the base interpreter.
	Built bool
}

// BuildError is a failed environment build. Its message ends with the
// tool's own explanation (pip's "ERROR: ..." lines, or its last lines), so
// that a run that fails on it shows what pip said; Output has the tool's
// whole output (its last 64 KiB) for the run's log.
type BuildError struct {
	Step   string // "venv" or "pip"
	Output string
	Err    error
}

func (e *BuildError) Error() string {
	what := "python -m venv failed"
	if e.Step == "pip" {
		what = "pip install -r requirements.txt failed"
	}
	msg := fmt.Sprintf("build python environment: %s (%v)", what, e.Err)
	if s := summary(e.Output); s != "" {
		msg += ":\n" + s
	}
	return msg
}

func (e *BuildError) Unwrap() error { return e.Err }

// ErrPythonNotFound: the base interpreter does not run.
var ErrPythonNotFound = errors.New("python interpreter not found")

// maxOutput is how much of a tool's output a BuildError keeps.
const maxOutput = 64 << 10

// readyFile marks a complete environment.
const readyFile = ".posml-ready"

// DefaultEnv picks from an environment (os.Environ(), or a test's list)
// what venv and pip need: PATH, HOME (pip's cache), TMPDIR, the locale,
// the proxy and TLS variables, and every PIP_* setting.
func DefaultEnv(environ []string) []string {
	keep := map[string]bool{
		"PATH": true, "HOME": true, "TMPDIR": true, "LANG": true, "LC_ALL": true, "XDG_CACHE_HOME": true,
		"http_proxy": true, "HTTP_PROXY": true, "https_proxy": true, "HTTPS_PROXY": true,
		"no_proxy": true, "NO_PROXY": true, "SSL_CERT_FILE": true, "SSL_CERT_DIR": true, "REQUESTS_CA_BUNDLE": true,
	}
	var env []string
	hasPath := false
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if keep[name] || strings.HasPrefix(name, "PIP_") {
			env = append(env, kv)
			hasPath = hasPath || name == "PATH"
		}
	}
	if !hasPath {
		env = append(env, "PATH=/usr/local/bin:/usr/bin:/bin")
	}
	return env
}

func (c *Cache) env() []string {
	if c.Env != nil {
		return c.Env
	}
	return DefaultEnv(os.Environ())
}

func (c *Cache) base() string {
	if c.Base == "" {
		return "python3"
	}
	return c.Base
}

// HasRequirements reports whether a requirements file names anything:
// it is not empty, blank or comments only.
func HasRequirements(requirements []byte) bool {
	for _, line := range strings.Split(string(requirements), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			return true
		}
	}
	return false
}

// Ensure returns the interpreter for a project whose requirements.txt has
// the content requirements (nil when it has none): the base interpreter
// when nothing is required, else the cached environment for them, built
// first when missing. A build runs under ctx; callers waiting for another
// caller's build share its outcome.
func (c *Cache) Ensure(ctx context.Context, requirements []byte) (Env, error) {
	if !HasRequirements(requirements) {
		return Env{Python: c.base()}, nil
	}
	base, err := c.probe(ctx)
	if err != nil {
		return Env{}, err
	}
	key := Key(requirements, base.Executable, base.Version)
	venv := filepath.Join(c.Dir, key)
	env := Env{Python: filepath.Join(venv, "bin", "python"), Venv: venv, Key: key}
	if ready(venv) {
		return env, nil
	}
	for {
		c.mu.Lock()
		if c.flights == nil {
			c.flights = map[string]*flight{}
		}
		f, waiting := c.flights[key]
		if !waiting {
			f = &flight{done: make(chan struct{})}
			c.flights[key] = f
		}
		c.mu.Unlock()

		if waiting {
			select {
			case <-f.done:
			case <-ctx.Done():
				return Env{}, ctx.Err()
			}
			if f.err != nil && isContextErr(f.err) && ctx.Err() == nil {
				continue // the builder's caller gave up; this one has not
			}
			return env, f.err
		}

		built, err := c.build(ctx, venv, base, requirements)
		f.err = err
		c.mu.Lock()
		delete(c.flights, key)
		c.mu.Unlock()
		close(f.done)
		env.Built = built
		return env, err
	}
}

// flight is a build in progress in this process.
type flight struct {
	done chan struct{}
	err  error // set before done is closed
}

// Key is the cache key of an environment: hex SHA-256 (first 32 digits)
// of the requirements and the base interpreter's real path and version.
func Key(requirements []byte, executable, version string) string {
	h := sha256.New()
	fmt.Fprintf(h, "posml-pyenv-1\x00%s\x00%s\x00", executable, version)
	h.Write(requirements)
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// ready reports whether venv is a complete environment whose interpreter
// still runs (its base may have been removed since).
func ready(venv string) bool {
	if _, err := os.Stat(filepath.Join(venv, readyFile)); err != nil {
		return false
	}
	_, err := os.Stat(filepath.Join(venv, "bin", "python")) // follows the symlink to the base
	return err == nil
}

// build makes the environment under the cross-process lock; built is false
// when another process finished it meanwhile.
func (c *Cache) build(ctx context.Context, venv string, base baseInfo, requirements []byte) (built bool, err error) {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return false, fmt.Errorf("python environment cache: %w", err)
	}
	unlock, err := lockFile(ctx, venv+".lock")
	if err != nil {
		return false, err
	}
	defer unlock()
	if ready(venv) {
		return false, nil
	}
	if err := os.RemoveAll(venv); err != nil { // an interrupted earlier build
		return false, fmt.Errorf("python environment cache: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(venv)
		}
	}()

	if out, err := c.run(ctx, "", base.Executable, "-m", "venv", "--system-site-packages", venv); err != nil {
		return false, &BuildError{Step: "venv", Output: out, Err: err}
	}
	reqPath := filepath.Join(venv, "requirements.txt")
	if err := os.WriteFile(reqPath, requirements, 0o644); err != nil {
		return false, fmt.Errorf("python environment: %w", err)
	}
	py := filepath.Join(venv, "bin", "python")
	if out, err := c.run(ctx, venv, py, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
		"--no-warn-script-location", "-r", reqPath); err != nil {
		return false, &BuildError{Step: "pip", Output: out, Err: err}
	}
	meta, _ := json.Marshal(map[string]string{
		"base": base.Executable, "version": base.Version, "built": time.Now().UTC().Format(time.RFC3339),
	})
	if err := os.WriteFile(filepath.Join(venv, readyFile), append(meta, '\n'), 0o644); err != nil {
		return false, fmt.Errorf("python environment: %w", err)
	}
	return true, nil
}

// run runs a tool of the build in its own process group (pip starts
// children of its own) and returns its combined output, cut to its last
// maxOutput bytes.
func (c *Cache) run(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{}, c.env()...)
	var out tailBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return out.String(), err
}

type baseInfo struct {
	Executable string // sys.executable, symlinks resolved
	Version    string // sys.version
}

// probe asks the base interpreter for its real path and version, once per
// Cache.
func (c *Cache) probe(ctx context.Context) (baseInfo, error) {
	name := c.base()
	c.mu.Lock()
	b, ok := c.bases[name]
	c.mu.Unlock()
	if ok {
		return b, nil
	}
	out, err := c.run(ctx, "", name, "-I", "-c", "import os, sys; print(os.path.realpath(sys.executable)); print(sys.version)")
	if err != nil {
		if isContextErr(err) {
			return baseInfo{}, err
		}
		return baseInfo{}, fmt.Errorf("%w: %q: %v %s", ErrPythonNotFound, name, err, strings.TrimSpace(out))
	}
	exe, version, _ := strings.Cut(strings.TrimSpace(out), "\n")
	if exe == "" || version == "" {
		return baseInfo{}, fmt.Errorf("%w: %q printed %q", ErrPythonNotFound, name, out)
	}
	b = baseInfo{Executable: exe, Version: strings.TrimSpace(version)}
	c.mu.Lock()
	if c.bases == nil {
		c.bases = map[string]baseInfo{}
	}
	c.bases[name] = b
	c.mu.Unlock()
	return b, nil
}

// lockFile takes an exclusive flock on path, polling so that ctx can end
// the wait, and returns its release.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("python environment lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("python environment lock: %w", err)
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, ctx.Err()
		}
	}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// tailBuffer keeps the last maxOutput bytes written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 2*maxOutput {
		t.b = append(t.b[:0], t.b[len(t.b)-maxOutput:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	if len(t.b) > maxOutput {
		return string(t.b[len(t.b)-maxOutput:])
	}
	return string(t.b)
}

// summary picks the lines that explain a failure from a tool's output:
// pip's "ERROR:" lines, else the last ten lines.
func summary(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	var errs []string
	for _, l := range lines {
		if strings.HasPrefix(l, "ERROR:") || strings.HasPrefix(l, "error:") {
			errs = append(errs, l)
		}
	}
	if len(errs) == 0 {
		errs = lines[max(0, len(lines)-10):]
	}
	return strings.TrimSpace(strings.Join(errs, "\n"))
}
