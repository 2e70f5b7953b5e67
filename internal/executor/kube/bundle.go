package kube

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/posml/posml"
)

// unpackScript is the init container's program: python3 -c unpackScript
// BUNDLE DIR unpacks the bundle into DIR, with tarfile's "data" filter
// where the interpreter has it (3.12, and the security releases of 3.8 to
// 3.11), so an image needs no tar binary.
const unpackScript = `import sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
with tarfile.open(src, "r:gz") as t:
    if hasattr(tarfile, "data_filter"):
        t.extractall(dst, filter="data")
    else:
        t.extractall(dst)
`

// skipDirs are left out of a bundle wherever they are.
var skipDirs = map[string]bool{".git": true, "__pycache__": true}

// makeBundle packs the directory dir into a tar.gz of at most max bytes.
// Symbolic links to files inside dir stay links; links that lead out of
// dir are replaced by what they point to.
func makeBundle(dir string, max int64) ([]byte, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: bundle: %w", err)
	}
	out := &cappedBuffer{max: max}
	zw, _ := gzip.NewWriterLevel(out, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	p := packer{root: root, tw: tw, seen: map[string]bool{}}
	if err := p.addDir(root, ""); err != nil {
		return nil, fmt.Errorf("kubernetes: bundle %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("kubernetes: bundle: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("kubernetes: bundle: %w", err)
	}
	if out.n > max {
		return nil, posml.Errorf(posml.KindInvalid, fmt.Sprintf(
			"kubernetes: the project's files are %s compressed, more than the %s a bundle may hold (it travels in a Secret): keep data sets and models out of the repository and read them at run time",
			size(out.n), size(max)))
	}
	return out.buf.Bytes(), nil
}

type packer struct {
	root string
	tw   *tar.Writer
	seen map[string]bool // directories packed, by real path: no link cycles
}

// addDir packs the directory at the real path real as name ("" for the
// root).
func (p *packer) addDir(real, name string) error {
	if p.seen[real] {
		return nil
	}
	p.seen[real] = true
	defer delete(p.seen, real)
	entries, err := os.ReadDir(real)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := p.add(filepath.Join(real, e.Name()), path.Join(name, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// add packs the file at fsPath as name.
func (p *packer) add(fsPath, name string) error {
	fi, err := os.Lstat(fsPath)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(fsPath)
		if err != nil {
			return nil // a dangling link: nothing to ship
		}
		if rel, err := filepath.Rel(p.root, target); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && rel != "." {
			linkRel, err := filepath.Rel(filepath.Dir(filepath.Join(p.root, name)), target)
			if err == nil {
				return p.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: filepath.ToSlash(linkRel), Mode: 0o777, ModTime: fi.ModTime()})
			}
		}
		if fi, err = os.Stat(target); err != nil {
			return err
		}
		fsPath = target
	}
	switch {
	case fi.IsDir():
		if skipDirs[fi.Name()] || skipDirs[path.Base(name)] {
			return nil
		}
		if err := p.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime()}); err != nil {
			return err
		}
		return p.addDir(fsPath, name)
	case fi.Mode().IsRegular():
		f, err := os.Open(fsPath)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := p.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: fi.Size(), Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime()}); err != nil {
			return err
		}
		_, err = io.Copy(p.tw, f)
		return err
	}
	return nil // sockets, devices, pipes
}

// cappedBuffer keeps the first max bytes written to it and counts all.
type cappedBuffer struct {
	buf bytes.Buffer
	n   int64
	max int64
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.n; room > 0 {
		c.buf.Write(p[:min(int64(len(p)), room)])
	}
	c.n += int64(len(p))
	return len(p), nil
}

// size formats n bytes in KiB or MiB.
func size(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", (n+1023)/1024)
}
