package artifact

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/posml/posml"
)

// testStore is the conformance suite every Store implementation passes:
// the observable behaviour the proxy, the tracking API and the UI rely on.
// newStore returns a new, empty store.
func testStore(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()

	t.Run("PutOpenStat", func(t *testing.T) {
		s := newStore(t)
		n, err := s.Put(ctx, "1/r/artifacts/model/MLmodel", strings.NewReader("flavors: {}\n"))
		if err != nil || n != 12 {
			t.Fatalf("Put = %d, %v; want 12, nil", n, err)
		}
		rc, info, err := s.Open(ctx, "1/r/artifacts/model/MLmodel")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != "flavors: {}\n" || info != (FileInfo{Path: "MLmodel", Size: 12}) {
			t.Errorf("Open = %q, %+v", b, info)
		}
		mustPut(t, s, "1/r/artifacts/model/MLmodel", "v2") // replaces
		if got := readAll(t, s, "1/r/artifacts/model/MLmodel"); got != "v2" {
			t.Errorf("after a second Put: %q", got)
		}
		mustPut(t, s, "1/r/artifacts/empty", "")
		for _, tc := range []struct {
			p    string
			want FileInfo
		}{
			{"1/r/artifacts/model/MLmodel", FileInfo{Path: "MLmodel", Size: 2}},
			{"1/r/artifacts/empty", FileInfo{Path: "empty"}},
			{"1/r/artifacts/model", FileInfo{Path: "model", IsDir: true}},
			{"1/r/artifacts/model/", FileInfo{Path: "model", IsDir: true}},
			{"1", FileInfo{Path: "1", IsDir: true}},
			{"", FileInfo{IsDir: true}},
		} {
			got, err := s.Stat(ctx, tc.p)
			if err != nil || got != tc.want {
				t.Errorf("Stat(%q) = %+v, %v; want %+v", tc.p, got, err, tc.want)
			}
		}
		if got := readAll(t, s, "1/r/artifacts/empty"); got != "" {
			t.Errorf("empty file reads %q", got)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "d/f", "data")
		_, err := s.Put(ctx, "d", strings.NewReader("x"))
		wantKind(t, "Put over a directory", err, posml.KindInvalid)
		_, err = s.Put(ctx, "d/f/g", strings.NewReader("x"))
		wantKind(t, "Put below a file", err, posml.KindInvalid)
		_, err = s.Put(ctx, "d/f/g/h", strings.NewReader("x"))
		wantKind(t, "Put two levels below a file", err, posml.KindInvalid)
		_, err = s.Put(ctx, "", strings.NewReader("x"))
		wantKind(t, "Put at the root", err, posml.KindInvalid)
		_, err = s.Put(ctx, "d/"+tmpPrefix+"x", strings.NewReader("x"))
		wantKind(t, "Put of a reserved name", err, posml.KindInvalid)

		_, _, err = s.Open(ctx, "d")
		wantKind(t, "Open of a directory", err, posml.KindInvalid)
		_, _, err = s.Open(ctx, "")
		wantKind(t, "Open of the root", err, posml.KindInvalid)
		_, _, err = s.Open(ctx, "d/missing")
		wantKind(t, "Open of a missing file", err, posml.KindNotFound)
		_, _, err = s.Open(ctx, "d/f/below-a-file")
		wantKind(t, "Open below a file", err, posml.KindNotFound)
		if !errors.Is(err, posml.ErrNotFound) {
			t.Errorf("errors.Is(%v, posml.ErrNotFound) = false", err)
		}
		_, err = s.Stat(ctx, "nope")
		wantKind(t, "Stat of a missing path", err, posml.KindNotFound)
		_, err = s.Stat(ctx, "d/f/below")
		wantKind(t, "Stat below a file", err, posml.KindNotFound)
		if got := readAll(t, s, "d/f"); got != "data" {
			t.Errorf("d/f changed to %q", got)
		}
	})

	t.Run("Confinement", func(t *testing.T) {
		s := newStore(t)
		for _, p := range []string{"../secret", "a/../../secret", "/etc/passwd", `..\secret`, "a\x00b", "s3://other/x", "a#b"} {
			_, err := s.Put(ctx, p, strings.NewReader("x"))
			wantKind(t, fmt.Sprintf("Put(%q)", p), err, posml.KindInvalid)
			_, _, err = s.Open(ctx, p)
			wantKind(t, fmt.Sprintf("Open(%q)", p), err, posml.KindInvalid)
			_, err = s.Stat(ctx, p)
			wantKind(t, fmt.Sprintf("Stat(%q)", p), err, posml.KindInvalid)
			_, err = s.List(ctx, p)
			wantKind(t, fmt.Sprintf("List(%q)", p), err, posml.KindInvalid)
			err = s.Delete(ctx, p)
			wantKind(t, fmt.Sprintf("Delete(%q)", p), err, posml.KindInvalid)
		}
	})

	t.Run("List", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "1/r/artifacts/model/MLmodel", "abc")
		mustPut(t, s, "1/r/artifacts/model/data/weights.bin", "0123456789")
		mustPut(t, s, "1/r/artifacts/b.txt", "")
		mustPut(t, s, "1/r/artifacts/a.txt", "hello")
		mustPut(t, s, "1/r/artifacts/a-b", "x") // sorts before "a/" as a key, after "a" as a name
		mustPut(t, s, "1/r/artifacts/a/x", "x")
		tests := []struct {
			dir  string
			want []FileInfo
		}{
			{"1/r/artifacts", []FileInfo{{Path: "a", IsDir: true}, {Path: "a-b", Size: 1}, {Path: "a.txt", Size: 5}, {Path: "b.txt"}, {Path: "model", IsDir: true}}},
			{"1/r/artifacts/model", []FileInfo{{Path: "MLmodel", Size: 3}, {Path: "data", IsDir: true}}},
			{"1/r/artifacts/model/data/", []FileInfo{{Path: "weights.bin", Size: 10}}},
			{"./1/r//artifacts/model/data", []FileInfo{{Path: "weights.bin", Size: 10}}},
			{"", []FileInfo{{Path: "1", IsDir: true}}},
			{"1/r/artifacts/a.txt", []FileInfo{}},       // a file
			{"1/r/artifacts/missing", []FileInfo{}},     // nothing
			{"1/r/artifacts/a.txt/below", []FileInfo{}}, // below a file
			{"1/r/artifacts/mod", []FileInfo{}},         // a prefix of a name is not a directory
		}
		for _, tc := range tests {
			got, err := s.List(ctx, tc.dir)
			if err != nil {
				t.Errorf("List(%q): %v", tc.dir, err)
				continue
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("List(%q) (-want +got):\n%s", tc.dir, diff)
			}
		}
	})

	t.Run("ListMany", func(t *testing.T) {
		// More entries than one page of S3's listing (1,000 keys).
		if testing.Short() {
			t.Skip("1,100 files")
		}
		s := newStore(t)
		const n = 1100
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for i := range n {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				mustPut(t, s, fmt.Sprintf("many/f%04d", i), "x")
			})
		}
		wg.Wait()
		got, err := s.List(ctx, "many")
		if err != nil || len(got) != n || got[0].Path != "f0000" || got[n-1].Path != fmt.Sprintf("f%04d", n-1) {
			t.Fatalf("List = %d entries, %v; want %d", len(got), err, n)
		}
		if err := s.Delete(ctx, "many"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.List(ctx, "many"); err != nil || len(got) != 0 {
			t.Errorf("after Delete: List = %d entries, %v", len(got), err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "a/b/c.txt", "c")
		mustPut(t, s, "a/b/d/e.txt", "e")
		mustPut(t, s, "a/keep.txt", "k")
		mustPut(t, s, "a/bb", "sibling sharing a prefix")
		if err := s.Delete(ctx, "a/b/c.txt"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(ctx, "a/b/c.txt"); posml.KindOf(err) != posml.KindNotFound {
			t.Errorf("deleted file: Stat error %v", err)
		}
		if err := s.Delete(ctx, "a/b"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(ctx, "a/b/d/e.txt"); posml.KindOf(err) != posml.KindNotFound {
			t.Errorf("deleted tree: Stat error %v", err)
		}
		if _, err := s.Stat(ctx, "a/b"); posml.KindOf(err) != posml.KindNotFound {
			t.Errorf("deleted tree: Stat of its root: %v", err)
		}
		if got := readAll(t, s, "a/keep.txt"); got != "k" {
			t.Errorf("sibling changed: %q", got)
		}
		if got := readAll(t, s, "a/bb"); got != "sibling sharing a prefix" {
			t.Errorf("sibling changed: %q", got)
		}
		wantKind(t, "Delete of a missing path", s.Delete(ctx, "a/b"), posml.KindNotFound)
		wantKind(t, "Delete of the root", s.Delete(ctx, ""), posml.KindInvalid)
		wantKind(t, "Delete of the root, spelled .", s.Delete(ctx, "./"), posml.KindInvalid)
		// Not asserted: whether a directory outlives its last file. In an
		// object store it cannot; Local leaves the empty directory behind.
	})

	t.Run("PutIsAtomic", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "d/f", "old")
		for _, size := range []int{10, 3 << 20, 12 << 20} { // one request; parts
			if _, err := s.Put(ctx, "d/f", &failingReader{n: size}); err == nil {
				t.Fatalf("Put with a reader failing after %d bytes succeeded", size)
			}
			if got := readAll(t, s, "d/f"); got != "old" {
				t.Errorf("after a failed Put: %q; want the old content", got)
			}
			if _, err := s.Put(ctx, "d/new", &failingReader{n: size}); err == nil {
				t.Fatal("Put with a failing reader succeeded")
			}
		}
		bodyErr := &posml.Error{Kind: posml.KindInvalid, Msg: "Failed to read the request body"}
		_, err := s.Put(ctx, "d/new", io.MultiReader(strings.NewReader("x"), errReader{bodyErr}))
		wantKind(t, "Put with a reader failing with a posml error", err, posml.KindInvalid)
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Put(canceled, "d/new", strings.NewReader("x")); !errors.Is(err, context.Canceled) {
			t.Errorf("Put with a canceled context: %v", err)
		}
		got, err := s.List(ctx, "d")
		if diff := cmp.Diff([]FileInfo{{Path: "f", Size: 3}}, got); err != nil || diff != "" {
			t.Errorf("List(d) after failed Puts (-want +got):\n%s %v", diff, err)
		}
	})

	t.Run("LargeFile", func(t *testing.T) {
		if testing.Short() {
			t.Skip("20 MiB")
		}
		s := newStore(t)
		const size = 20<<20 + 3 // several parts and a short last one
		gen := &genReader{src: rand.NewChaCha8([32]byte{7}), left: size, sum: sha256.New()}
		n, err := s.Put(ctx, "big/blob.bin", gen)
		if err != nil || n != size {
			t.Fatalf("Put = %d, %v; want %d", n, err, size)
		}
		rc, info, err := s.Open(ctx, "big/blob.bin")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		h := sha256.New()
		if got, err := io.Copy(h, rc); err != nil || got != size || info.Size != size {
			t.Fatalf("read %d bytes (size %d), %v; want %d", got, info.Size, err, size)
		}
		if !bytes.Equal(h.Sum(nil), gen.sum.Sum(nil)) {
			t.Error("read back different content")
		}
	})

	t.Run("ConcurrentPutSamePath", func(t *testing.T) {
		s := newStore(t)
		const writers, size = 6, 64 << 10
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				content := bytes.Repeat([]byte{byte('a' + i)}, size)
				if _, err := s.Put(ctx, "same/file", bytes.NewReader(content)); err != nil {
					t.Errorf("Put: %v", err)
				}
			})
			wg.Go(func() {
				rc, _, err := s.Open(ctx, "same/file")
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
		got := readAll(t, s, "same/file")
		if len(got) != size || strings.Count(got, got[:1]) != size {
			t.Errorf("final file is mixed or partial")
		}
	})

	t.Run("Proxy", func(t *testing.T) {
		s := newStore(t)
		srv := httptest.NewServer(Handler(s, nil))
		defer srv.Close()
		payload := randomBytes(2<<20+5, 3)
		resp, body := do(t, srv, http.MethodPut, apiArtifacts+"1/r/artifacts/model/model.pkl", bytes.NewReader(payload))
		wantResponse(t, "PUT", resp, body, http.StatusOK, "{}")
		resp, body = do(t, srv, http.MethodGet, apiArtifacts+"1/r/artifacts/model/model.pkl", nil)
		if resp.StatusCode != http.StatusOK || body != string(payload) || resp.ContentLength != int64(len(payload)) {
			t.Errorf("GET = %d, %d bytes (Content-Length %d)", resp.StatusCode, len(body), resp.ContentLength)
		}
		resp, body = do(t, srv, http.MethodGet, "/api/2.0/mlflow-artifacts/artifacts?path=1/r/artifacts", nil)
		wantResponse(t, "list", resp, body, http.StatusOK, `{"files":[{"path":"model","is_dir":true}]}`)
		resp, body = do(t, srv, http.MethodGet, "/api/2.0/mlflow-artifacts/artifacts?path=1/r/artifacts/model/model.pkl", nil)
		wantResponse(t, "list of a file", resp, body, http.StatusOK, `{}`)
		resp, body = do(t, srv, http.MethodGet, apiArtifacts+"1/r/artifacts/model", nil)
		wantResponse(t, "GET of a directory", resp, body, http.StatusBadRequest,
			`{"error_code":"INVALID_PARAMETER_VALUE","message":"Artifact path '1/r/artifacts/model' is a directory"}`)
		resp, body = do(t, srv, http.MethodGet, apiArtifacts+"1/r/artifacts/nope", nil)
		wantResponse(t, "GET of a missing file", resp, body, http.StatusNotFound,
			`{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Artifact '1/r/artifacts/nope' does not exist"}`)
		resp, body = do(t, srv, http.MethodDelete, apiArtifacts+"1/r/artifacts/model", nil)
		wantResponse(t, "DELETE", resp, body, http.StatusOK, "{}")
		resp, body = do(t, srv, http.MethodDelete, apiArtifacts+"1/r/artifacts/model", nil)
		wantResponse(t, "DELETE again", resp, body, http.StatusOK, "{}")
	})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestLocalConformance(t *testing.T) {
	testStore(t, func(t *testing.T) Store {
		l, _ := openLocal(t)
		return l
	})
}
