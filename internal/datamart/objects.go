package datamart

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"github.com/posml/posml"
)

// Objects is an object store that keeps the marts' snapshot files and
// uploaded files for every replica of the server (the server's artifact
// store on S3); the local directory (Config.Dir) is then a cache, filled on
// a replica's first read of a file. Keys are slash-separated paths.
// ObjectFuncs adapts an artifact.Store.
type Objects interface {
	// Put stores the content of r, read to EOF, at key, replacing what is
	// there.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Get opens the object at key; a missing key is a posml.ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes the object at key, or every object below the
	// "directory" key; a missing key is a posml.ErrNotFound.
	Delete(ctx context.Context, key string) error
}

// ObjectFuncs is an Objects made of functions; over an artifact.Store:
//
//	datamart.ObjectFuncs{
//		PutFunc: art.Put,
//		GetFunc: func(ctx context.Context, key string) (io.ReadCloser, error) {
//			rc, _, err := art.Open(ctx, key)
//			return rc, err
//		},
//		DeleteFunc: art.Delete,
//	}
type ObjectFuncs struct {
	PutFunc    func(ctx context.Context, key string, r io.Reader) (int64, error)
	GetFunc    func(ctx context.Context, key string) (io.ReadCloser, error)
	DeleteFunc func(ctx context.Context, key string) error
}

func (o ObjectFuncs) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	return o.PutFunc(ctx, key, r)
}

func (o ObjectFuncs) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	return o.GetFunc(ctx, key)
}

func (o ObjectFuncs) Delete(ctx context.Context, key string) error { return o.DeleteFunc(ctx, key) }

// ObjectPrefix is the directory of the object store below which the marts'
// files are kept: marts/<id>/<digest>.parquet for a snapshot (named by its
// content, so that a snapshot is stored before its version is known and a
// retried store is harmless) and marts/<id>/upload/<name> for an uploaded
// file.
const ObjectPrefix = "marts"

func martKey(id string) string { return path.Join(ObjectPrefix, id) }

func snapshotKey(id, digest string) string { return path.Join(ObjectPrefix, id, digest+".parquet") }

func uploadKey(id, name string) string { return path.Join(ObjectPrefix, id, "upload", name) }

// putObject stores the local file at name under key, when there is an
// object store.
func (s *Service) putObject(ctx context.Context, key, name string) error {
	if s.objects == nil {
		return nil
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := s.objects.Put(ctx, key, f); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

// deleteObjects removes key (a file or everything below it) from the object
// store, if there is one; a missing key is no error.
func (s *Service) deleteObjects(ctx context.Context, key string) error {
	if s.objects == nil {
		return nil
	}
	if err := s.objects.Delete(ctx, key); err != nil && !errors.Is(err, posml.ErrNotFound) && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// cached returns the local file name, which is there when this replica
// wrote or read it before (and, with fresh, fetched again: a file that
// may have been replaced); else, with an object store, it fetches key into
// it first. Without one, it returns name as it is.
func (s *Service) cached(ctx context.Context, name, key string, fresh bool) (string, error) {
	if s.objects == nil {
		return name, nil
	}
	if _, err := os.Stat(name); err == nil && !fresh {
		return name, nil
	}
	rc, err := s.objects.Get(ctx, key)
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", key, err)
	}
	defer rc.Close()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return "", err
	}
	// A temporary name, then a rename: a concurrent reader never sees part
	// of the file, and of two fetches the last rename wins (same content).
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(name), ".fetch-"+hex.EncodeToString(rnd[:]))
	f, err := os.Create(tmp)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("fetch %s: %w", key, err)
	}
	return name, nil
}

// snapshotFile returns the local file of a snapshot, fetched from the
// object store if this replica has not got it yet. A snapshot made before
// the server had an object store is only in this replica's directory,
// under its version's name: it is used from there, and stored for the
// other replicas on the way.
func (s *Service) snapshotFile(snap Snapshot) (string, error) {
	ctx := context.Background()
	name, err := s.cached(ctx, s.Path(snap), snapshotKey(snap.MartID, snap.Digest), false)
	if err == nil || !errors.Is(err, posml.ErrNotFound) && !errors.Is(err, fs.ErrNotExist) {
		return name, err
	}
	legacy := filepath.Join(s.dir, snap.MartID, strconv.Itoa(snap.Version)+".parquet")
	if _, serr := os.Stat(legacy); serr != nil {
		return "", err
	}
	if perr := s.putObject(ctx, snapshotKey(snap.MartID, snap.Digest), legacy); perr != nil {
		s.log.Warn("datamart: store a snapshot made before the object store", "mart", snap.MartID, "version", snap.Version, "err", perr)
	}
	return legacy, nil
}
