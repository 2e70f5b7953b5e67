package pythonsdk

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// files holds the SDK's sources. Explicit patterns, not the directory:
// they keep __init__.py and _http.py (a directory pattern skips names
// starting with '_') and leave out __pycache__.
//
//go:embed posml/*.py workbenchPy.py
var files embed.FS

// FS returns the SDK's files: posml/*.py and workbenchPy.py.
func FS() fs.FS { return files }

// Version returns a short hash of the SDK's contents; Install names its
// directory after it.
func Version() string { return version }

var version = hashFiles()

func hashFiles() string {
	var paths []string
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		panic(err) // the embedded FS cannot fail to walk
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		b, _ := files.ReadFile(p) // cannot fail: p was just listed
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Install writes the SDK into dir/python-sdk-<Version()>, unless it is
// already there, and returns that directory: the entry to put on
// PYTHONPATH. Concurrent calls, from one process or several, are safe: the
// files are written to a temporary directory that is renamed into place,
// and an existing installation is never modified.
func Install(dir string) (string, error) {
	target := filepath.Join(dir, "python-sdk-"+version)
	if fi, err := os.Stat(target); err == nil && fi.IsDir() {
		return target, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("python sdk: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".python-sdk-tmp-")
	if err != nil {
		return "", fmt.Errorf("python sdk: %w", err)
	}
	if err := writeFiles(tmp); err != nil {
		os.RemoveAll(tmp) // best effort; the write error is the one to report
		return "", fmt.Errorf("python sdk: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it 0700
		os.RemoveAll(tmp)
		return "", fmt.Errorf("python sdk: %w", err)
	}
	if err := os.Rename(tmp, target); err != nil {
		os.RemoveAll(tmp)
		if fi, statErr := os.Stat(target); statErr == nil && fi.IsDir() {
			return target, nil // another installer won the race
		}
		return "", fmt.Errorf("python sdk: %w", err)
	}
	return target, nil
}

func writeFiles(root string) error {
	return fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(root, filepath.FromSlash(p))
		if d.IsDir() {
			if p == "." {
				return nil
			}
			return os.Mkdir(dst, 0o755)
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}
