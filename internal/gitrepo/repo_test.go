package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posml/posml"
)

func cloneT(t *testing.T, g *Git, url string) *Repo {
	t.Helper()
	r, err := g.Clone(testCtx(t), url, filepath.Join(t.TempDir(), "clone.git"), Auth{})
	if err != nil {
		t.Fatalf("Clone(%s): %v", url, err)
	}
	return r
}

func TestCloneFetchResolve(t *testing.T) {
	ctx := testCtx(t)
	src := newSource(t)
	c1 := src.commit("first", sampleFiles())
	g := &Git{}
	r := cloneT(t, g, src.dir)

	if r.URL() != src.dir {
		t.Errorf("URL() = %q; want %q", r.URL(), src.dir)
	}
	if b, err := r.DefaultBranch(ctx); err != nil || b != "main" {
		t.Errorf("DefaultBranch = %q, %v; want main", b, err)
	}
	head, err := r.Fetch(ctx, "main")
	if err != nil || head != c1 {
		t.Fatalf("Fetch(main) = %q, %v; want %s", head, err, c1)
	}

	c2 := src.commit("second", map[string]string{"src/train.py": "print(2)\n"})
	if head, err = r.Fetch(ctx, "main"); err != nil || head != c2 {
		t.Fatalf("Fetch(main) after a commit = %q, %v; want %s", head, err, c2)
	}
	if head, err = r.Fetch(ctx, "refs/heads/main"); err != nil || head != c2 {
		t.Fatalf("Fetch(refs/heads/main) = %q, %v; want %s", head, err, c2)
	}

	for rev, want := range map[string]string{
		"main": c2, "refs/heads/main": c2, "HEAD": c2, c1: c1, c1[:10]: c1, "main~1": c1,
	} {
		if got, err := r.Resolve(ctx, rev); err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %s", rev, got, err, want)
		}
	}
	for _, rev := range []string{"nope", "deadbeef", "--all", "main~5", c1[:10] + "^{tree}"} {
		got, err := r.Resolve(ctx, rev)
		if !errors.Is(err, posml.ErrNotFound) {
			t.Errorf("Resolve(%q) = %q, %v; want a not-found error", rev, got, err)
		}
	}
}

func TestCloneFileURL(t *testing.T) {
	src := newSource(t)
	c1 := src.commit("first", sampleFiles())
	r := cloneT(t, &Git{}, "file://"+src.dir)
	if head, err := r.Fetch(testCtx(t), "main"); err != nil || head != c1 {
		t.Fatalf("Fetch = %q, %v; want %s", head, err, c1)
	}
}

func TestCloneRelativePath(t *testing.T) {
	src := newSource(t)
	c1 := src.commit("first", sampleFiles())
	t.Chdir(filepath.Dir(src.dir))
	r := cloneT(t, &Git{}, "./"+filepath.Base(src.dir))
	if r.URL() != src.dir {
		t.Errorf("URL() = %q; want the absolute %q", r.URL(), src.dir)
	}
	t.Chdir(t.TempDir())
	if head, err := r.Fetch(testCtx(t), "main"); err != nil || head != c1 {
		t.Fatalf("Fetch from another directory = %q, %v; want %s", head, err, c1)
	}
}

func TestFetchBranches(t *testing.T) {
	ctx := testCtx(t)
	src := newSource(t)
	c1 := src.commit("first", sampleFiles())
	r := cloneT(t, &Git{}, src.dir)

	// A branch made after the clone.
	gitT(t, src.dir, nil, "checkout", "--quiet", "-b", "feature/knn-5")
	f1 := src.commit("k=5", map[string]string{"src/modeling.py": "K = 5\n"})
	if head, err := r.Fetch(ctx, "feature/knn-5"); err != nil || head != f1 {
		t.Fatalf("Fetch(feature/knn-5) = %q, %v; want %s", head, err, f1)
	}
	if head, err := r.Fetch(ctx, "main"); err != nil || head != c1 {
		t.Fatalf("Fetch(main) = %q, %v; want %s (the feature branch must not move main)", head, err, c1)
	}

	// A force-push: the branch is rewritten.
	gitT(t, src.dir, nil, "reset", "--quiet", "--hard", c1)
	f2 := src.commit("k=7 instead", map[string]string{"src/modeling.py": "K = 7\n"})
	if head, err := r.Fetch(ctx, "feature/knn-5"); err != nil || head != f2 {
		t.Fatalf("Fetch after a force-push = %q, %v; want %s", head, err, f2)
	}
	// The rewritten commit is still readable: runs pinned to it still check out.
	if err := r.Checkout(ctx, f1, filepath.Join(t.TempDir(), "old")); err != nil {
		t.Errorf("Checkout of a commit rewritten away: %v", err)
	}

	// A missing branch.
	_, err := r.Fetch(ctx, "no-such-branch")
	if !errors.Is(err, posml.ErrNotFound) {
		t.Fatalf("Fetch(no-such-branch) = %v; want a not-found error", err)
	}
	for _, want := range []string{"git fetch", src.dir, "no-such-branch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Fetch error %q does not contain %q", err, want)
		}
	}
}

func TestFetchInvalidBranch(t *testing.T) {
	src := newSource(t)
	src.commit("first", sampleFiles())
	r := cloneT(t, &Git{}, src.dir)
	for _, b := range []string{"", "-x", "--upload-pack=touch /tmp/pwned", "a..b", "a b", "a:b", "x.lock", "/a", "a/", "a//b", ".hidden", "@", "a@{1}", "a\x00b"} {
		if _, err := r.Fetch(testCtx(t), b); posml.KindOf(err) != posml.KindInvalid {
			t.Errorf("Fetch(%q) = %v; want a KindInvalid error", b, err)
		}
	}
}

func TestConcurrentFetches(t *testing.T) {
	src := newSource(t)
	src.commit("first", sampleFiles())
	c2 := src.commit("second", map[string]string{"a.txt": "a\n"})
	r := cloneT(t, &Git{}, src.dir)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			head, err := r.Fetch(testCtx(t), "main")
			if err == nil && head != c2 {
				err = fmt.Errorf("head %s; want %s", head, c2)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestCheckout(t *testing.T) {
	ctx := testCtx(t)
	src := newSource(t)
	files := sampleFiles()
	files["link.txt"] = "-> README.md"
	c1 := src.commit("first", files)
	c2 := src.commit("second", map[string]string{"src/train.py": "print('v2')\n", "README.md": ""})
	r := cloneT(t, &Git{}, src.dir)

	dest := filepath.Join(t.TempDir(), "runs", "r1", "work") // parents are made
	if err := r.Checkout(ctx, c1, dest); err != nil {
		t.Fatalf("Checkout(c1): %v", err)
	}
	if diff := cmp.Diff(files, readTree(t, dest)); diff != "" {
		t.Errorf("checkout of c1 (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(filepath.Join(dest, "scripts/run.sh"))
	if err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("scripts/run.sh mode = %v, %v; want executable", fi.Mode(), err)
	}

	// By branch name, into an existing empty directory.
	dest2 := t.TempDir()
	if err := r.Checkout(ctx, "main", dest2); err != nil {
		t.Fatalf("Checkout(main): %v", err)
	}
	got := readTree(t, dest2)
	if got["src/train.py"] != "print('v2')\n" || got["README.md"] != "" {
		t.Errorf("checkout of main = %v; want c2's tree", got)
	}
	if sha, _ := r.Resolve(ctx, "main"); sha != c2 {
		t.Fatalf("main = %s; want %s", sha, c2)
	}

	// The run may change its copy; the clone is not affected.
	if err := os.WriteFile(filepath.Join(dest, "src/train.py"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	dest3 := filepath.Join(t.TempDir(), "again")
	if err := r.Checkout(ctx, c1, dest3); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, dest3)["src/train.py"]; got != files["src/train.py"] {
		t.Errorf("second checkout of c1 has train.py %q; want the committed one", got)
	}
}

func TestCheckoutErrors(t *testing.T) {
	ctx := testCtx(t)
	src := newSource(t)
	c1 := src.commit("first", sampleFiles())
	r := cloneT(t, &Git{}, src.dir)

	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Checkout(ctx, c1, full); posml.KindOf(err) != posml.KindExists {
		t.Errorf("Checkout into a non-empty directory = %v; want KindExists", err)
	}

	missing := strings.Repeat("ab", 20)
	dest := filepath.Join(t.TempDir(), "w")
	if err := r.Checkout(ctx, missing, dest); err == nil {
		t.Errorf("Checkout(unknown commit) succeeded")
	}
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed Checkout left %s behind (%v)", dest, err)
	}
	if err := r.Checkout(ctx, "no-such-branch", dest); !errors.Is(err, posml.ErrNotFound) {
		t.Errorf("Checkout(no-such-branch) = %v; want not found", err)
	}
}

func TestCheckoutConcurrent(t *testing.T) {
	src := newSource(t)
	c1 := src.commit("first", sampleFiles())
	c2 := src.commit("second", map[string]string{"src/train.py": "print(2)\n"})
	r := cloneT(t, &Git{}, src.dir)
	var wg sync.WaitGroup
	base := t.TempDir()
	for i := range 6 {
		sha := []string{c1, c2}[i%2]
		dest := filepath.Join(base, fmt.Sprint(i))
		wg.Go(func() {
			if err := r.Checkout(testCtx(t), sha, dest); err != nil {
				t.Errorf("Checkout %d: %v", i, err)
			}
		})
	}
	wg.Go(func() {
		if _, err := r.Fetch(testCtx(t), "main"); err != nil {
			t.Errorf("Fetch during checkouts: %v", err)
		}
	})
	wg.Wait()
	if got := readTree(t, filepath.Join(base, "1"))["src/train.py"]; got != "print(2)\n" {
		t.Errorf("checkout 1 train.py = %q", got)
	}
}

func TestLog(t *testing.T) {
	ctx := testCtx(t)
	src := newSource(t)
	msg := "train: k 범위를 2..5로 변경\n\nmodeling.py의 k_range를 바꿈.\nSigned-off-by: Kim Minji <minji@example.com>"
	c1 := src.commit(msg, sampleFiles())
	r := cloneT(t, &Git{}, src.dir)
	got, err := r.Log(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	want := Commit{
		SHA: c1, Author: "Kim Minji", AuthorEmail: "minji@example.com",
		Time:    time.Date(2024, 3, 12, 1, 15, 1, 0, time.UTC),
		Subject: "train: k 범위를 2..5로 변경", Message: msg,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Log (-want +got):\n%s", diff)
	}
	if _, err := r.Log(ctx, "nope"); !errors.Is(err, posml.ErrNotFound) {
		t.Errorf("Log(nope) = %v; want not found", err)
	}
}

func TestOpen(t *testing.T) {
	ctx := testCtx(t)
	src := newSource(t)
	c1 := src.commit("first", sampleFiles())
	g := &Git{}
	r := cloneT(t, g, src.dir)
	r2, err := g.Open(ctx, r.Dir(), Auth{})
	if err != nil {
		t.Fatal(err)
	}
	if r2.URL() != src.dir {
		t.Errorf("Open: URL = %q; want %q", r2.URL(), src.dir)
	}
	if head, err := r2.Fetch(ctx, "main"); err != nil || head != c1 {
		t.Errorf("Fetch after Open = %q, %v", head, err)
	}
	for _, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "missing")} {
		if _, err := g.Open(ctx, dir, Auth{}); !errors.Is(err, posml.ErrNotFound) {
			t.Errorf("Open(%s) = %v; want not found", dir, err)
		}
	}
}

func TestCloneErrors(t *testing.T) {
	ctx := testCtx(t)
	g := &Git{}
	missing := filepath.Join(t.TempDir(), "no-such-repo")
	dir := filepath.Join(t.TempDir(), "c.git")
	_, err := g.Clone(ctx, missing, dir, Auth{})
	if !errors.Is(err, posml.ErrNotFound) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Clone(missing path) = %v; want a not-found error naming it", err)
	}
	if _, serr := os.Stat(dir); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("failed Clone left %s behind", dir)
	}

	src := newSource(t)
	src.commit("first", sampleFiles())
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	if _, err := g.Clone(ctx, src.dir, full, Auth{}); posml.KindOf(err) != posml.KindExists {
		t.Errorf("Clone into a non-empty directory = %v; want KindExists", err)
	}

	// Transports that run commands are refused.
	pwned := filepath.Join(t.TempDir(), "pwned")
	_, err = g.Clone(ctx, "ext::sh -c touch% "+pwned, filepath.Join(t.TempDir(), "e.git"), Auth{})
	if err == nil {
		t.Errorf("Clone(ext::...) succeeded")
	}
	if _, serr := os.Stat(pwned); serr == nil {
		t.Errorf("Clone(ext::...) ran its command")
	}
}

func TestCloneTimeout(t *testing.T) {
	srv := hangingServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := (&Git{}).Clone(ctx, srv+"/slow.git", filepath.Join(t.TempDir(), "c.git"), Auth{Token: "tok-secret-1234"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Clone from a hanging server = %v; want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Clone took %v after its deadline", d)
	}
}
