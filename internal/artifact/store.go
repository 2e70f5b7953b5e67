package artifact

import (
	"context"
	"io"
)

// Store holds artifact files addressed by store paths (see CleanPath).
//
// Directories are implicit: Put creates the parents of the file it writes,
// and a directory exists as long as something lies beneath it. An object
// store reports any key prefix with a file beneath it as a directory.
//
// Errors are *posml.Error values (possibly wrapped): posml.KindNotFound when
// nothing exists at the path, posml.KindInvalid for a path that is not
// allowed or does not fit (the root where a file is needed, a file where a
// directory is needed), anything else for a failure of the store itself.
//
// Lifecycle and concurrency: a Store is ready when its constructor returns,
// and all methods are safe for concurrent use. Put is atomic: readers see the
// old content or the new one, never part of a file, and of two Puts to one
// path the last to finish wins. A Store that holds resources also implements
// io.Closer; call Close once every call on it has returned.
type Store interface {
	// Put writes the file at path with the content of r, read to EOF,
	// replacing any file already there, and returns the number of bytes
	// written. Nothing is left behind if it fails, and r's read error, if
	// any, is returned wrapped. It refuses the root and a path that is a
	// directory.
	Put(ctx context.Context, path string, r io.Reader) (written int64, err error)

	// Open opens the file at path for reading and describes it. The caller
	// must close the reader; reads may fail once ctx is done. Opening a
	// directory fails.
	Open(ctx context.Context, path string) (io.ReadCloser, FileInfo, error)

	// Stat describes the file or directory at path; "" is the root.
	Stat(ctx context.Context, path string) (FileInfo, error)

	// List describes the entries directly inside the directory dir, sorted
	// by name, with FileInfo.Path holding each entry's base name. For a path
	// that is a file or does not exist it returns an empty list and no
	// error, as MLflow's artifact repositories do.
	List(ctx context.Context, dir string) ([]FileInfo, error)

	// Delete removes the file at path, or the directory at path with
	// everything beneath it. A missing path is a not-found error; the root
	// cannot be deleted.
	Delete(ctx context.Context, path string) error
}

// FileInfo describes a file or directory in a Store.
type FileInfo struct {
	Path  string // base name; "" for the root
	IsDir bool
	Size  int64 // bytes; 0 for a directory
}

// Pinger is a Store that can tell whether its backend answers (S3); the
// server's /health asks it. A local store has nothing to ask.
type Pinger interface {
	Ping(ctx context.Context) error
}
