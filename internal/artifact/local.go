package artifact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/posml/posml"
)

// tmpPrefix starts the names of the temporary files that Put writes before
// renaming them into place. List hides them, and Put refuses such names.
const tmpPrefix = ".posml-upload-"

// copyBufSize is the size of the buffer Put copies through; larger than
// io.Copy's 32 KiB to cut the number of write system calls.
const copyBufSize = 256 << 10

// LocalConfig configures a Local store.
type LocalConfig struct {
	// Dir is the root directory; OpenLocal creates it if it is missing.
	Dir string
	// Fsync makes Put flush the file and its directory to stable storage
	// before it returns. Without it a crash may lose a recent upload, but
	// never exposes a partial file.
	Fsync bool
}

// Local is a Store that keeps artifacts as files below a root directory.
// Every access goes through an os.Root, so neither a crafted path nor a
// symbolic link inside the tree can reach outside it. Put writes to a
// temporary file in the destination directory and renames it into place.
// A Local is safe for concurrent use; Close it when done.
type Local struct {
	root  *os.Root
	fsync bool
	bufs  sync.Pool // *[]byte of copyBufSize
}

var _ Store = (*Local)(nil)

// OpenLocal opens (creating it if needed) the directory cfg.Dir as a Local
// store.
func OpenLocal(cfg LocalConfig) (*Local, error) {
	if cfg.Dir == "" {
		return nil, errors.New("artifact: open local store: no directory given")
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("artifact: open local store: %w", err)
	}
	root, err := os.OpenRoot(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("artifact: open local store: %w", err)
	}
	l := &Local{root: root, fsync: cfg.Fsync}
	l.bufs.New = func() any {
		b := make([]byte, copyBufSize)
		return &b
	}
	return l, nil
}

// Close releases the root directory. No call may be in flight or follow.
func (l *Local) Close() error {
	return l.root.Close()
}

// name validates the store path p and returns it in OS form, relative to the
// root: "." for the root itself.
func (l *Local) name(p string) (clean, name string, err error) {
	clean, err = cleanStorePath(p)
	if err != nil {
		return "", "", err
	}
	if clean == "" {
		return "", ".", nil
	}
	name = filepath.FromSlash(clean)
	if !filepath.IsLocal(name) { // a lexical second check; os.Root is the third
		return "", "", invalidPath()
	}
	return clean, name, nil
}

// Put implements Store.
func (l *Local) Put(ctx context.Context, p string, r io.Reader) (int64, error) {
	clean, name, err := l.name(p)
	if err != nil {
		return 0, err
	}
	if clean == "" {
		return 0, &posml.Error{Kind: posml.KindInvalid, Msg: "Cannot write a file at the artifact root"}
	}
	if strings.HasPrefix(path.Base(clean), tmpPrefix) {
		return 0, &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf("Artifact name '%s' is reserved", path.Base(clean))}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	dir := filepath.Dir(name)
	if dir != "." {
		if err := l.root.MkdirAll(dir, 0o755); err != nil {
			if errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTDIR) {
				return 0, &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf("Cannot write '%s': a parent is a file", clean), Err: err}
			}
			return 0, l.putError(clean, err)
		}
	}
	if fi, err := l.root.Lstat(name); err == nil && fi.IsDir() {
		return 0, isDirError(clean)
	}

	f, tmp, err := l.createTemp(dir)
	if err != nil {
		return 0, l.putError(clean, err)
	}
	n, err := l.write(ctx, f, r)
	if err == nil && l.fsync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = l.root.Rename(tmp, name)
	}
	if err == nil && l.fsync {
		err = l.syncDir(dir)
	}
	if err != nil {
		_ = l.root.Remove(tmp) // best effort; gone already after a rename
		return 0, l.putError(clean, err)
	}
	return n, nil
}

// createTemp creates a new, empty temporary file in dir.
func (l *Local) createTemp(dir string) (*os.File, string, error) {
	for range 100 {
		name := filepath.Join(dir, fmt.Sprintf("%s%016x", tmpPrefix, rand.Uint64()))
		f, err := l.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", errors.New("cannot create a temporary file")
}

// write copies r to f, stopping early once ctx is done.
func (l *Local) write(ctx context.Context, f *os.File, r io.Reader) (int64, error) {
	buf := l.bufs.Get().(*[]byte)
	defer l.bufs.Put(buf)
	// The wrappers hide os.File's ReadFrom, which would copy through a
	// 32 KiB buffer of its own, and check ctx between reads.
	return io.CopyBuffer(struct{ io.Writer }{f}, ctxReader{ctx, r}, *buf)
}

func (l *Local) syncDir(dir string) error {
	d, err := l.root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// putError classifies a failure of Put. A posml error (such as one from the
// reader) passes through with its kind.
func (l *Local) putError(p string, err error) error {
	var pe *posml.Error
	switch {
	case errors.As(err, &pe):
		return fmt.Errorf("put artifact %s: %w", p, err)
	case errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.ENOTEMPTY):
		return isDirError(p) // replaced by a directory meanwhile
	case errors.Is(err, syscall.ENAMETOOLONG):
		return &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf("Artifact path '%s' is too long", p), Err: err}
	}
	return fmt.Errorf("put artifact %s: %w", p, err)
}

// Open implements Store.
func (l *Local) Open(ctx context.Context, p string) (io.ReadCloser, FileInfo, error) {
	clean, name, err := l.name(p)
	if err != nil {
		return nil, FileInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, FileInfo{}, err
	}
	// Stat first, so that a FIFO or device is never opened (and blocked on).
	fi, err := l.root.Stat(name)
	if err != nil {
		return nil, FileInfo{}, readError(clean, err)
	}
	if fi.IsDir() {
		return nil, FileInfo{}, isDirError(clean)
	}
	if !fi.Mode().IsRegular() {
		return nil, FileInfo{}, notFound(clean, nil)
	}
	f, err := l.root.Open(name)
	if err != nil {
		return nil, FileInfo{}, readError(clean, err)
	}
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() { // replaced meanwhile
		f.Close()
		return nil, FileInfo{}, readError(clean, err)
	}
	return f, FileInfo{Path: path.Base(clean), Size: fi.Size()}, nil
}

// Stat implements Store.
func (l *Local) Stat(ctx context.Context, p string) (FileInfo, error) {
	clean, name, err := l.name(p)
	if err != nil {
		return FileInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return FileInfo{}, err
	}
	fi, err := l.root.Stat(name)
	if err != nil {
		return FileInfo{}, readError(clean, err)
	}
	info, ok := fileInfo(fi)
	if !ok {
		return FileInfo{}, notFound(clean, nil)
	}
	if clean == "" {
		info.Path = ""
	} else {
		info.Path = path.Base(clean)
	}
	return info, nil
}

// List implements Store.
func (l *Local) List(ctx context.Context, dir string) ([]FileInfo, error) {
	clean, name, err := l.name(dir)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d, err := l.root.Open(name)
	if err != nil {
		if isMissing(err) {
			return []FileInfo{}, nil
		}
		return nil, fmt.Errorf("list artifacts %s: %w", clean, err)
	}
	defer d.Close()
	if fi, err := d.Stat(); err != nil || !fi.IsDir() {
		return []FileInfo{}, nil
	}
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("list artifacts %s: %w", clean, err)
	}
	infos := make([]FileInfo, 0, len(entries))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		var fi fs.FileInfo
		if e.Type()&fs.ModeSymlink != 0 {
			// Follow it within the root; one that leads outside is left out.
			fi, err = l.root.Stat(filepath.Join(name, e.Name()))
		} else {
			fi, err = e.Info()
		}
		if err != nil {
			continue // removed meanwhile, or a dangling or escaping link
		}
		if info, ok := fileInfo(fi); ok {
			info.Path = e.Name()
			infos = append(infos, info)
		}
	}
	slices.SortFunc(infos, func(a, b FileInfo) int { return strings.Compare(a.Path, b.Path) })
	return infos, nil
}

// Delete implements Store.
func (l *Local) Delete(ctx context.Context, p string) error {
	clean, name, err := l.name(p)
	if err != nil {
		return err
	}
	if clean == "" {
		return &posml.Error{Kind: posml.KindInvalid, Msg: "Cannot delete the artifact root"}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := l.root.Lstat(name)
	if err != nil {
		return readError(clean, err)
	}
	if fi.IsDir() {
		err = l.root.RemoveAll(name)
	} else {
		err = l.root.Remove(name)
	}
	if err != nil {
		return readError(clean, err)
	}
	return nil
}

// fileInfo converts fi; ok is false for anything but a regular file or a
// directory.
func fileInfo(fi fs.FileInfo) (info FileInfo, ok bool) {
	switch {
	case fi.IsDir():
		return FileInfo{IsDir: true}, true
	case fi.Mode().IsRegular():
		return FileInfo{Size: fi.Size()}, true
	}
	return FileInfo{}, false
}

// isMissing reports whether err says that a path does not exist, counting a
// file where a directory was expected.
func isMissing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ENAMETOOLONG)
}

// readError classifies a failure to find or read p.
func readError(p string, err error) error {
	if err == nil || isMissing(err) {
		return notFound(p, err)
	}
	return fmt.Errorf("artifact %s: %w", p, err)
}

func notFound(p string, err error) error {
	return &posml.Error{Kind: posml.KindNotFound, Msg: fmt.Sprintf("Artifact '%s' does not exist", p), Err: err}
}

func isDirError(p string) error {
	return &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf("Artifact path '%s' is a directory", p)}
}

// ctxReader is a reader that fails once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
