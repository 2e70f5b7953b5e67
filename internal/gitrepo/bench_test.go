package gitrepo

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkCheckout compares ways to materialise a commit of a small
// project (12 files, like the template) into a fresh directory. Checkout
// uses the one that measured fastest, readtree.
//
//	readtree       git read-tree -u --reset (throwaway index)   1 process
//	checkout       git --work-tree=D checkout -f SHA -- .        1 process
//	checkoutindex  git read-tree SHA && git checkout-index -a    2 processes
//	archive        git archive SHA, untarred in Go               1 process
//	worktree       git worktree add --detach D SHA               1 process, metadata in the clone
func BenchmarkCheckout(b *testing.B) {
	src := newSource(b)
	sha := src.commit("first", sampleFiles())
	g := &Git{}
	r, err := g.Clone(testCtx(b), src.dir, filepath.Join(b.TempDir(), "c.git"), Auth{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := testCtx(b)
	strategies := []struct {
		name string
		run  func(dest string) error
	}{
		{"readtree", func(dest string) error { return r.Checkout(ctx, sha, dest) }},
		{"checkout", func(dest string) error {
			if err := os.Mkdir(dest, 0o755); err != nil {
				return err
			}
			_, err := g.run(ctx, invocation{op: "checkout", repo: r.url, indexFile: true,
				args: []string{"--git-dir=" + r.dir, "--work-tree=" + dest, "checkout", "-q", "-f", sha, "--", "."}})
			return err
		}},
		{"checkoutindex", func(dest string) error {
			if err := os.Mkdir(dest, 0o755); err != nil {
				return err
			}
			idx := []string{"GIT_INDEX_FILE=" + dest + ".index"}
			if _, err := g.run(ctx, invocation{op: "read-tree", repo: r.url, env: idx,
				args: []string{"--git-dir=" + r.dir, "read-tree", sha}}); err != nil {
				return err
			}
			_, err := g.run(ctx, invocation{op: "checkout-index", repo: r.url, env: idx,
				args: []string{"--git-dir=" + r.dir, "--work-tree=" + dest, "checkout-index", "-a"}})
			return err
		}},
		{"archive", func(dest string) error {
			if err := os.Mkdir(dest, 0o755); err != nil {
				return err
			}
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() { // waited for below
				err := untar(pr, dest)
				io.Copy(io.Discard, pr) // the archive's padding
				done <- err
			}()
			_, err := g.run(ctx, invocation{op: "archive", repo: r.url, stdout: pw,
				args: []string{"--git-dir=" + r.dir, "archive", "--format=tar", sha}})
			pw.CloseWithError(err)
			if uerr := <-done; err == nil {
				err = uerr
			}
			return err
		}},
		{"worktree", func(dest string) error {
			_, err := g.run(ctx, invocation{op: "worktree", repo: r.url,
				args: []string{"--git-dir=" + r.dir, "worktree", "add", "--quiet", "--detach", dest, sha}})
			return err
		}},
	}
	for _, s := range strategies {
		b.Run(s.name, func(b *testing.B) {
			base := b.TempDir()
			i := 0
			for b.Loop() {
				i++
				if err := s.run(filepath.Join(base, fmt.Sprint(i))); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if got, _ := os.ReadFile(filepath.Join(base, "1", "src", "train.py")); string(got) != sampleFiles()["src/train.py"] {
				b.Fatalf("%s wrote train.py %q", s.name, got)
			}
		})
	}
}

// untar extracts regular files, directories and symlinks of a git archive.
func untar(r io.Reader, dest string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(dest, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, p)
		case tar.TypeReg:
			var f *os.File
			if f, err = os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, os.FileMode(h.Mode)&0o777); err == nil {
				_, err = io.Copy(f, tr)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
		}
		if err != nil {
			return err
		}
	}
}
