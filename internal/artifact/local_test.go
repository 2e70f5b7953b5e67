package artifact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/posml/posml"
)

// openLocal opens a Local store in a new temporary directory and returns it
// with that directory.
func openLocal(t testing.TB) (*Local, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	l, err := OpenLocal(LocalConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, dir
}

func mustPut(t testing.TB, s Store, p, content string) {
	t.Helper()
	if _, err := s.Put(context.Background(), p, strings.NewReader(content)); err != nil {
		t.Fatalf("Put(%q): %v", p, err)
	}
}

func readAll(t testing.TB, s Store, p string) string {
	t.Helper()
	rc, _, err := s.Open(context.Background(), p)
	if err != nil {
		t.Fatalf("Open(%q): %v", p, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", p, err)
	}
	return string(b)
}

func wantKind(t testing.TB, what string, err error, want posml.Kind) {
	t.Helper()
	if err == nil || posml.KindOf(err) != want {
		t.Errorf("%s: error %v; want kind %v", what, err, want)
	}
}

func TestLocalPutOpen(t *testing.T) {
	ctx := context.Background()
	l, dir := openLocal(t)

	n, err := l.Put(ctx, "1/r/artifacts/model/MLmodel", strings.NewReader("flavors: {}\n"))
	if err != nil || n != 12 {
		t.Fatalf("Put = %d, %v; want 12, nil", n, err)
	}
	rc, info, err := l.Open(ctx, "1/r/artifacts/model/MLmodel")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "flavors: {}\n" || info != (FileInfo{Path: "MLmodel", Size: 12}) {
		t.Errorf("Open = %q, %+v", b, info)
	}
	if _, err := os.Stat(filepath.Join(dir, "1", "r", "artifacts", "model", "MLmodel")); err != nil {
		t.Errorf("file not where expected: %v", err)
	}

	// Overwrite, shorter: no trailing bytes of the old content.
	mustPut(t, l, "1/r/artifacts/model/MLmodel", "x")
	if got := readAll(t, l, "1/r/artifacts/model/MLmodel"); got != "x" {
		t.Errorf("after overwrite: %q", got)
	}
	// An empty file.
	mustPut(t, l, "empty", "")
	if fi, err := l.Stat(ctx, "empty"); err != nil || fi != (FileInfo{Path: "empty"}) {
		t.Errorf("Stat(empty) = %+v, %v", fi, err)
	}
	// Unnormalized paths name the same file.
	if got := readAll(t, l, "./1//r/artifacts/model/MLmodel"); got != "x" {
		t.Errorf("unnormalized path: %q", got)
	}
}

func TestLocalErrors(t *testing.T) {
	ctx := context.Background()
	l, _ := openLocal(t)
	mustPut(t, l, "d/f", "data")

	_, err := l.Put(ctx, "d", strings.NewReader("x"))
	wantKind(t, "Put over a directory", err, posml.KindInvalid)
	_, err = l.Put(ctx, "d/f/g", strings.NewReader("x"))
	wantKind(t, "Put below a file", err, posml.KindInvalid)
	_, err = l.Put(ctx, "", strings.NewReader("x"))
	wantKind(t, "Put at the root", err, posml.KindInvalid)
	_, err = l.Put(ctx, "d/"+tmpPrefix+"x", strings.NewReader("x"))
	wantKind(t, "Put of a reserved name", err, posml.KindInvalid)
	_, err = l.Put(ctx, "d/"+strings.Repeat("n", 300), strings.NewReader("x"))
	wantKind(t, "Put of a too long name", err, posml.KindInvalid)

	_, _, err = l.Open(ctx, "d")
	wantKind(t, "Open of a directory", err, posml.KindInvalid)
	_, _, err = l.Open(ctx, "")
	wantKind(t, "Open of the root", err, posml.KindInvalid)
	_, _, err = l.Open(ctx, "d/missing")
	wantKind(t, "Open of a missing file", err, posml.KindNotFound)
	_, _, err = l.Open(ctx, "d/f/below-a-file")
	wantKind(t, "Open below a file", err, posml.KindNotFound)
	if !errors.Is(err, posml.ErrNotFound) {
		t.Errorf("errors.Is(%v, posml.ErrNotFound) = false", err)
	}
	_, err = l.Stat(ctx, "nope")
	wantKind(t, "Stat of a missing path", err, posml.KindNotFound)

	if got := readAll(t, l, "d/f"); got != "data" {
		t.Errorf("d/f changed to %q", got)
	}
}

func TestLocalConfinement(t *testing.T) {
	ctx := context.Background()
	l, dir := openLocal(t)
	outside := filepath.Join(filepath.Dir(dir), "secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, p := range []string{"../secret", "a/../../secret", "/etc/passwd", outside, `..\secret`, "a\x00b"} {
		_, err := l.Put(ctx, p, strings.NewReader("x"))
		wantKind(t, fmt.Sprintf("Put(%q)", p), err, posml.KindInvalid)
		_, _, err = l.Open(ctx, p)
		wantKind(t, fmt.Sprintf("Open(%q)", p), err, posml.KindInvalid)
		_, err = l.List(ctx, p)
		wantKind(t, fmt.Sprintf("List(%q)", p), err, posml.KindInvalid)
		err = l.Delete(ctx, p)
		wantKind(t, fmt.Sprintf("Delete(%q)", p), err, posml.KindInvalid)
	}

	// A symbolic link inside the tree that leads out of it is not followed.
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Skipf("no symlinks: %v", err)
	}
	if err := os.Symlink("..", filepath.Join(dir, "up")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Open(ctx, "link"); err == nil {
		t.Error("Open through an escaping link succeeded")
	}
	if _, _, err := l.Open(ctx, "up/secret"); err == nil {
		t.Error("Open through an escaping directory link succeeded")
	}
	if _, err := l.Put(ctx, "up/secret", strings.NewReader("pwned")); err == nil {
		t.Error("Put through an escaping directory link succeeded")
	}
	if infos, err := l.List(ctx, ""); err != nil || len(infos) != 0 {
		t.Errorf("List(root) = %+v, %v; want escaping links left out", infos, err)
	}
	if b, _ := os.ReadFile(outside); string(b) != "secret" {
		t.Errorf("file outside the root changed to %q", b)
	}
}

func TestLocalList(t *testing.T) {
	ctx := context.Background()
	l, dir := openLocal(t)
	mustPut(t, l, "1/r/artifacts/model/MLmodel", "abc")
	mustPut(t, l, "1/r/artifacts/model/data/weights.bin", "0123456789")
	mustPut(t, l, "1/r/artifacts/b.txt", "")
	mustPut(t, l, "1/r/artifacts/a.txt", "hello")
	// A leftover temporary file is never listed.
	if err := os.WriteFile(filepath.Join(dir, "1", "r", "artifacts", tmpPrefix+"0123"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		dir  string
		want []FileInfo
	}{
		{"1/r/artifacts", []FileInfo{{Path: "a.txt", Size: 5}, {Path: "b.txt"}, {Path: "model", IsDir: true}}},
		{"1/r/artifacts/model", []FileInfo{{Path: "MLmodel", Size: 3}, {Path: "data", IsDir: true}}},
		{"1/r/artifacts/model/data/", []FileInfo{{Path: "weights.bin", Size: 10}}},
		{"", []FileInfo{{Path: "1", IsDir: true}}},
		{"1/r/artifacts/a.txt", []FileInfo{}},       // a file
		{"1/r/artifacts/missing", []FileInfo{}},     // nothing
		{"1/r/artifacts/a.txt/below", []FileInfo{}}, // below a file
	}
	for _, tc := range tests {
		got, err := l.List(ctx, tc.dir)
		if err != nil {
			t.Errorf("List(%q): %v", tc.dir, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("List(%q) (-want +got):\n%s", tc.dir, diff)
		}
	}
}

func TestLocalDelete(t *testing.T) {
	ctx := context.Background()
	l, _ := openLocal(t)
	mustPut(t, l, "a/b/c.txt", "c")
	mustPut(t, l, "a/b/d/e.txt", "e")
	mustPut(t, l, "a/keep.txt", "k")

	if err := l.Delete(ctx, "a/b/c.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Stat(ctx, "a/b/c.txt"); posml.KindOf(err) != posml.KindNotFound {
		t.Errorf("deleted file: Stat error %v", err)
	}
	if err := l.Delete(ctx, "a/b"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Stat(ctx, "a/b/d/e.txt"); posml.KindOf(err) != posml.KindNotFound {
		t.Errorf("deleted tree: Stat error %v", err)
	}
	if got := readAll(t, l, "a/keep.txt"); got != "k" {
		t.Errorf("sibling changed: %q", got)
	}
	wantKind(t, "Delete of a missing path", l.Delete(ctx, "a/b"), posml.KindNotFound)
	wantKind(t, "Delete of the root", l.Delete(ctx, ""), posml.KindInvalid)
	wantKind(t, "Delete of the root, spelled .", l.Delete(ctx, "./"), posml.KindInvalid)
}

// failingReader yields some data, then fails.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection reset")
	}
	n := min(len(p), f.n)
	f.n -= n
	return n, nil
}

func TestLocalPutIsAtomic(t *testing.T) {
	ctx := context.Background()
	l, dir := openLocal(t)
	mustPut(t, l, "d/f", "old")

	if _, err := l.Put(ctx, "d/f", &failingReader{n: 1 << 20}); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	if got := readAll(t, l, "d/f"); got != "old" {
		t.Errorf("after a failed Put: %q; want the old content", got)
	}
	if _, err := l.Put(ctx, "d/new", &failingReader{n: 10}); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Put(canceled, "d/new", strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a canceled context: %v", err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "d"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "f" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v; want only f (no partial or temporary files)", names)
	}
}

func TestLocalConcurrentPutSamePath(t *testing.T) {
	ctx := context.Background()
	l, err := OpenLocal(LocalConfig{Dir: t.TempDir(), Fsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const writers, size = 8, 64 << 10
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			content := bytes.Repeat([]byte{byte('a' + i)}, size)
			if _, err := l.Put(ctx, "same/file", bytes.NewReader(content)); err != nil {
				t.Errorf("Put: %v", err)
			}
		})
		wg.Go(func() {
			rc, _, err := l.Open(ctx, "same/file")
			if err != nil {
				return // not written yet
			}
			defer rc.Close()
			b, _ := io.ReadAll(rc)
			if len(b) != size || !bytes.Equal(b, bytes.Repeat(b[:1], size)) {
				t.Errorf("read a mixed or partial file: %d bytes", len(b))
			}
		})
	}
	wg.Wait()
	got := readAll(t, l, "same/file")
	if len(got) != size || strings.Count(got, got[:1]) != size {
		t.Errorf("final file is mixed or partial")
	}
}
