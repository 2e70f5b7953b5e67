package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/posml/posml"
)

// Repo is posml's bare clone of a project repository. Its methods may be
// called concurrently: fetches of one Repo take turns, and checkouts, which
// only read, run alongside each other and alongside a fetch.
type Repo struct {
	git  *Git
	dir  string
	url  string
	auth Auth

	fetchMu sync.Mutex
}

// Dir returns the directory of the bare clone.
func (r *Repo) Dir() string { return r.dir }

// URL returns the repository's remote URL, as given to Clone (local paths
// made absolute). It may carry credentials: show Redact(r.URL()).
func (r *Repo) URL() string { return r.url }

// Clone makes a bare clone of the repository at url in dir, which must not
// exist or be empty, and returns it. url is anything git clones: https://,
// ssh://, scp-like user@host:path, file:// or a local path (made absolute,
// so the clone keeps working from any directory). All branches are
// fetched, tags are not. On failure, a dir that Clone created is removed.
func (g *Git) Clone(ctx context.Context, url, dir string, auth Auth) (*Repo, error) {
	url = absLocal(url)
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, &Error{Op: "clone", Repo: Redact(url), Err: err}
	}
	created, err := prepareDir(dir)
	if err != nil {
		return nil, &Error{Op: "clone", Repo: Redact(url), Kind: posml.KindOf(err), Err: err}
	}
	_, err = g.run(ctx, invocation{
		op: "clone", repo: url, auth: &auth,
		args: []string{"clone", "--bare", "--no-tags", "--quiet", "--", url, dir},
	})
	if err != nil {
		if created {
			os.RemoveAll(dir)
		} else {
			clearDir(dir)
		}
		classifyRemote(err)
		return nil, err
	}
	return &Repo{git: g, dir: dir, url: url, auth: auth}, nil
}

// Open returns the bare clone in dir that Clone made, with the credentials
// to use from now on (they may have changed since the clone).
func (g *Git) Open(ctx context.Context, dir string, auth Auth) (*Repo, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, &Error{Op: "open", Repo: dir, Err: err}
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, &Error{Op: "open", Repo: dir, Kind: posml.KindNotFound, Err: fmt.Errorf("no repository clone at %s", dir)}
	}
	out, err := g.run(ctx, invocation{
		op: "open", repo: dir,
		args: []string{"--git-dir=" + dir, "config", "--get", "remote.origin.url"},
	})
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Kind = posml.KindNotFound
			if e.Stderr == "" {
				e.Stderr = "not a clone made by posml (no remote.origin.url)"
			}
		}
		return nil, err
	}
	return &Repo{git: g, dir: dir, url: strings.TrimSpace(string(out)), auth: auth}, nil
}

// Fetch brings the branch up to date with the remote, force-updating the
// local branch (a force-push upstream is followed), and returns its head
// commit. A branch the remote does not have is a KindNotFound error.
func (r *Repo) Fetch(ctx context.Context, branch string) (head string, err error) {
	branch = strings.TrimPrefix(branch, "refs/heads/")
	if err := checkBranch(branch); err != nil {
		return "", &Error{Op: "fetch", Repo: Redact(r.url), Kind: posml.KindInvalid, Err: err}
	}
	r.fetchMu.Lock()
	defer r.fetchMu.Unlock()
	ref := "refs/heads/" + branch
	_, err = r.git.run(ctx, invocation{
		op: "fetch", repo: r.url, auth: &r.auth,
		args: []string{"--git-dir=" + r.dir, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
			"origin", "+" + ref + ":" + ref},
	})
	if err != nil {
		classifyRemote(err)
		return "", err
	}
	return r.Resolve(ctx, ref)
}

// DefaultBranch returns the branch the remote's HEAD pointed to when the
// repository was cloned ("main").
func (r *Repo) DefaultBranch(ctx context.Context) (string, error) {
	out, err := r.git.run(ctx, invocation{
		op: "default-branch", repo: r.url,
		args: []string{"--git-dir=" + r.dir, "symbolic-ref", "--quiet", "--short", "HEAD"},
	})
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// Resolve returns the full commit id of rev: a branch, "refs/heads/x", a
// full or abbreviated commit id, "HEAD~2", .... A revision that does not
// name a commit is a KindNotFound error.
func (r *Repo) Resolve(ctx context.Context, rev string) (string, error) {
	if rev == "" || strings.ContainsAny(rev, "\x00\n") {
		return "", &Error{Op: "resolve", Repo: Redact(r.url), Kind: posml.KindInvalid, Err: fmt.Errorf("invalid revision %q", rev)}
	}
	out, err := r.git.run(ctx, invocation{
		op: "resolve", repo: r.url,
		args: []string{"--git-dir=" + r.dir, "rev-parse", "--verify", "--quiet", "--end-of-options", rev + "^{commit}"},
	})
	if err != nil {
		var e *Error
		if errors.As(err, &e) && !isContextErr(e.Err) {
			e.Kind = posml.KindNotFound
			e.Stderr = fmt.Sprintf("revision %q not found", rev)
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// Checkout writes the tree of commit rev into destDir, which must not exist
// or be empty; its parent is created as needed. The result is a plain
// directory: no .git, no index, nothing shared with the clone, so a run
// may change it freely. On failure, a destDir that Checkout created is
// removed.
//
// It runs one git process, `git read-tree -u --reset` with a throwaway
// index (BenchmarkCheckout compares it with checkout, checkout-index,
// archive and worktree). rev that is not a full commit id is resolved
// first, with one more process.
func (r *Repo) Checkout(ctx context.Context, rev, destDir string) error {
	sha := rev
	if !isFullSHA(rev) {
		var err error
		if sha, err = r.Resolve(ctx, rev); err != nil {
			return err
		}
	}
	dest, err := filepath.Abs(destDir)
	if err != nil {
		return &Error{Op: "checkout", Repo: Redact(r.url), Err: err}
	}
	created, err := prepareDir(dest)
	if err != nil {
		return &Error{Op: "checkout", Repo: Redact(r.url), Kind: posml.KindOf(err), Err: err}
	}
	_, err = r.git.run(ctx, invocation{
		op: "checkout", repo: r.url, indexFile: true,
		args: []string{"--git-dir=" + r.dir, "--work-tree=" + dest, "read-tree", "-u", "--reset", sha},
	})
	if err != nil {
		if created {
			os.RemoveAll(dest)
		} else {
			clearDir(dest)
		}
		var e *Error
		if errors.As(err, &e) && (strings.Contains(e.Stderr, "not a tree object") || strings.Contains(e.Stderr, "failed to unpack tree object")) {
			e.Kind = posml.KindNotFound
		}
		return err
	}
	return nil
}

// Commit is what Log reports about a commit.
type Commit struct {
	SHA         string
	Author      string
	AuthorEmail string
	Time        time.Time // author time
	Subject     string    // the message's first line
	Message     string    // the full message, without the final newline
}

// Log returns the author, time and message of commit rev.
func (r *Repo) Log(ctx context.Context, rev string) (Commit, error) {
	out, err := r.git.run(ctx, invocation{
		op: "log", repo: r.url,
		args: []string{"--git-dir=" + r.dir, "log", "-1", "--no-show-signature", "--no-color",
			"--format=%H%x00%an%x00%ae%x00%at%x00%B", "--end-of-options", rev, "--"},
	})
	if err != nil {
		var e *Error
		if errors.As(err, &e) && (strings.Contains(e.Stderr, "unknown revision") || strings.Contains(e.Stderr, "bad revision")) {
			e.Kind = posml.KindNotFound
		}
		return Commit{}, err
	}
	f := strings.SplitN(string(out), "\x00", 5)
	if len(f) != 5 {
		return Commit{}, &Error{Op: "log", Repo: Redact(r.url), Err: fmt.Errorf("unexpected output %q", out)}
	}
	secs, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return Commit{}, &Error{Op: "log", Repo: Redact(r.url), Err: fmt.Errorf("unexpected author time %q", f[3])}
	}
	msg := strings.TrimRight(f[4], "\n")
	subject, _, _ := strings.Cut(msg, "\n")
	return Commit{
		SHA: f[0], Author: f[1], AuthorEmail: f[2], Time: time.Unix(secs, 0).UTC(),
		Subject: strings.TrimSpace(subject), Message: msg,
	}, nil
}

// classifyRemote gives a failed clone or fetch its kind from git's
// message: a missing repository or branch is KindNotFound.
func classifyRemote(err error) {
	var e *Error
	if !errors.As(err, &e) || isContextErr(e.Err) {
		return
	}
	for _, s := range []string{
		"couldn't find remote ref", "not found", "does not appear to be a git repository",
		"does not exist", "No such file or directory",
	} {
		if strings.Contains(e.Stderr, s) {
			e.Kind = posml.KindNotFound
			return
		}
	}
}

// prepareDir makes sure dir is an empty directory, creating it (and its
// parents) when it does not exist; created reports whether it did.
func prepareDir(dir string) (created bool, err error) {
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return false, err
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			return false, err
		}
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && len(names) == 0 && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("%s: %w", dir, err)
	}
	if len(names) > 0 {
		return false, &posml.Error{Kind: posml.KindExists, Msg: fmt.Sprintf("%s exists and is not empty", dir)}
	}
	return false, nil
}

// clearDir removes the contents of dir, keeping dir.
func clearDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// absLocal makes a local-path URL absolute; URLs and scp-like addresses are
// returned unchanged.
func absLocal(url string) string {
	if strings.Contains(url, "://") {
		return url
	}
	colon := strings.IndexByte(url, ':')
	slash := strings.IndexByte(url, '/')
	if colon > 0 && (slash < 0 || colon < slash) {
		return url // scp-like user@host:path
	}
	if abs, err := filepath.Abs(url); err == nil {
		return abs
	}
	return url
}

// isFullSHA reports whether s is a full SHA-1 or SHA-256 commit id in
// lower-case hex.
func isFullSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// checkBranch applies git's ref-name rules (git check-ref-format) to a
// branch name, so that nothing odd reaches git's command line.
func checkBranch(b string) error {
	bad := func(why string) error { return fmt.Errorf("invalid branch name %q: %s", b, why) }
	switch {
	case b == "":
		return bad("empty")
	case b == "@":
		return bad(`"@" is not a branch`)
	case strings.HasPrefix(b, "-"):
		return bad("starts with '-'")
	case strings.HasPrefix(b, "/"), strings.HasSuffix(b, "/"), strings.Contains(b, "//"):
		return bad("empty path component")
	case strings.HasSuffix(b, "."), strings.Contains(b, ".."), strings.Contains(b, "@{"):
		return bad(`contains "..", "@{" or ends with "."`)
	}
	for _, c := range []byte(b) {
		if c < 0x20 || c == 0x7f || bytes.IndexByte([]byte(" ~^:?*[\\"), c) >= 0 {
			return bad(fmt.Sprintf("contains %q", c))
		}
	}
	for _, part := range strings.Split(b, "/") {
		if strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return bad(`a component starts with "." or ends with ".lock"`)
		}
	}
	return nil
}
