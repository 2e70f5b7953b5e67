package datamart_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/datamart"
)

// memObjects is an object store in memory that counts its calls.
type memObjects struct {
	mu         sync.Mutex
	m          map[string][]byte
	puts, gets int
}

func (o *memObjects) Put(_ context.Context, key string, r io.Reader) (int64, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.m[key] = b
	o.puts++
	return int64(len(b)), nil
}

func (o *memObjects) Get(_ context.Context, key string) (io.ReadCloser, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b, ok := o.m[key]
	if !ok {
		return nil, posml.Errorf(posml.KindNotFound, "no object "+key)
	}
	o.gets++
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (o *memObjects) Delete(_ context.Context, key string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for k := range o.m {
		if k == key || strings.HasPrefix(k, key+"/") {
			delete(o.m, k)
			n++
		}
	}
	if n == 0 {
		return posml.Errorf(posml.KindNotFound, "no object "+key)
	}
	return nil
}

func (o *memObjects) keys() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var ks []string
	for k := range o.m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (o *memObjects) counts() (puts, gets int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.puts, o.gets
}

// files lists the regular files below dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

// TestObjectsReplicas: two replicas (services with their own directories)
// on one catalog and one object store: what one materialises the other
// reads, its refreshes read the uploads the other stored, and its cache
// never serves a replaced upload or a removed mart's files.
func TestObjectsReplicas(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	objs := &memObjects{m: map[string][]byte{}}
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	a := datamart.New(store, datamart.Config{Dir: dirA, Objects: objs})
	b := datamart.New(store, datamart.Config{Dir: dirB, Objects: objs})

	_, v1, created, err := a.Upload(ctx, "dm_x", "x.csv", "", strings.NewReader("k,v\n1,one\n2,two\n"))
	if err != nil || !created || v1.Version != 1 {
		t.Fatalf("upload: %+v %v %v", v1, created, err)
	}
	wantKeys := []string{"marts/dm_x/" + v1.Digest + ".parquet", "marts/dm_x/upload/x.csv"}
	if got := objs.keys(); strings.Join(got, " ") != strings.Join(wantKeys, " ") {
		t.Errorf("objects %v; want %v", got, wantKeys)
	}
	if got := files(t, dirB); len(got) != 0 {
		t.Fatalf("replica b has files before reading: %v", got)
	}
	want1 := "k,v\n1,one\n2,two\n"
	if got := csvOf(t, b, v1); got != want1 {
		t.Errorf("b reads %q; want %q", got, want1)
	}
	_, gets := objs.counts()
	if got := csvOf(t, b, v1); got != want1 {
		t.Errorf("b reads again %q", got)
	}
	f, err := b.OpenFile(v1)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, g := objs.counts(); g != gets || gets != 1 {
		t.Errorf("%d fetches, then %d; want 1: the second read and OpenFile from the cache", gets, g)
	}

	// A refresh on b reads the upload from the store: unchanged, nothing
	// new, and nothing stored again.
	puts, _ := objs.counts()
	if snap, created, err := b.Refresh(ctx, "dm_x"); err != nil || created || snap.Version != 1 {
		t.Errorf("refresh on b: %+v %v %v", snap, created, err)
	}
	if p, _ := objs.counts(); p != puts {
		t.Errorf("an unchanged refresh stored %d objects", p-puts)
	}

	// a replaces the upload (same name); b's refresh reads the new one, not
	// its cached copy of the old one.
	_, v2, created, err := a.Upload(ctx, "dm_x", "x.csv", "", strings.NewReader("k,v\n3,three\n"))
	if err != nil || !created || v2.Version != 2 {
		t.Fatalf("second upload: %+v %v %v", v2, created, err)
	}
	if snap, created, err := b.Refresh(ctx, "dm_x"); err != nil || created || snap.Version != 2 {
		t.Errorf("refresh on b after the new upload: %+v %v %v; want version 2, unchanged", snap, created, err)
	}
	if got := csvOf(t, b, v2); got != "k,v\n3,three\n" {
		t.Errorf("b reads version 2 as %q", got)
	}
	if got := csvOf(t, b, v1); got != want1 {
		t.Errorf("b reads version 1 as %q", got)
	}

	// Removed on a: gone from the store; a new mart with the same id is
	// read right by b, whose cache holds the old mart's files.
	if err := a.Remove(ctx, "dm_x"); err != nil {
		t.Fatal(err)
	}
	if got := objs.keys(); len(got) != 0 {
		t.Errorf("objects after the removal: %v", got)
	}
	_, n1, _, err := a.Upload(ctx, "dm_x", "x.csv", "", strings.NewReader("k,v\n9,nine\n"))
	if err != nil || n1.Version != 1 {
		t.Fatalf("upload after the removal: %+v %v", n1, err)
	}
	if got := csvOf(t, b, n1); got != "k,v\n9,nine\n" {
		t.Errorf("b reads the new mart's version 1 as %q", got)
	}

	// A failed materialisation of a new mart leaves nothing in the store.
	if _, _, _, err := a.Upload(ctx, "dm_bad", "bad.csv", "", strings.NewReader("a,b\n1\n")); err == nil {
		t.Error("upload of a ragged CSV succeeded")
	}
	for _, k := range objs.keys() {
		if strings.HasPrefix(k, "marts/dm_bad") {
			t.Errorf("object %s left by a failed upload", k)
		}
	}
}

// TestObjectsArtifactStore: the object store is an artifact.Store (the
// server's, S3 in production; a directory here, the same API) through
// ObjectFuncs.
func TestObjectsArtifactStore(t *testing.T) {
	ctx := context.Background()
	art, err := artifact.OpenLocal(artifact.LocalConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer art.Close()
	objs := datamart.ObjectFuncs{
		PutFunc: art.Put,
		GetFunc: func(ctx context.Context, key string) (io.ReadCloser, error) {
			rc, _, err := art.Open(ctx, key)
			return rc, err
		},
		DeleteFunc: art.Delete,
	}
	store := openStore(t)
	a := datamart.New(store, datamart.Config{Dir: t.TempDir(), Objects: objs})
	b := datamart.New(store, datamart.Config{Dir: t.TempDir(), Objects: objs})
	_, snap, _, err := a.Upload(ctx, "dm_art", "y.csv", "", strings.NewReader("n\n1\n2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := art.Stat(ctx, "marts/dm_art/"+snap.Digest+".parquet"); err != nil || fi.Size != snap.Size {
		t.Errorf("snapshot object: %+v %v; want %d bytes", fi, err, snap.Size)
	}
	if got := csvOf(t, b, snap); got != "n\n1\n2\n" {
		t.Errorf("b reads %q", got)
	}
	if err := a.Remove(ctx, "dm_art"); err != nil {
		t.Fatal(err)
	}
	if _, err := art.Stat(ctx, "marts/dm_art"); err == nil {
		t.Error("the mart's objects are still there after its removal")
	}
	if err := b.Remove(ctx, "dm_art"); err == nil {
		t.Error("removing a removed mart succeeded")
	}
}

// TestObjectsLegacySnapshot: a snapshot made before the server had an
// object store is read from the replica's directory and stored on the way,
// so that the other replicas read it too.
func TestObjectsLegacySnapshot(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	dirA := t.TempDir()
	old := datamart.New(store, datamart.Config{Dir: dirA})
	_, snap, _, err := old.Upload(ctx, "dm_old", "o.csv", "", strings.NewReader("x\n1\n"))
	if err != nil {
		t.Fatal(err)
	}
	objs := &memObjects{m: map[string][]byte{}}
	a := datamart.New(store, datamart.Config{Dir: dirA, Objects: objs})
	b := datamart.New(store, datamart.Config{Dir: t.TempDir(), Objects: objs})
	if _, err := b.Open(snap); err == nil {
		t.Error("b read a snapshot that is only in a's directory")
	}
	if got := csvOf(t, a, snap); got != "x\n1\n" {
		t.Errorf("a reads %q", got)
	}
	if got := csvOf(t, b, snap); got != "x\n1\n" {
		t.Errorf("b reads %q after a stored it", got)
	}
}
