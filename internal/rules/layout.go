package rules

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// module is a local module: a file under src/ that `import` finds through
// src/ on sys.path.
type module struct {
	Name string // dotted name: "config", "pkg.sub"
	File string // slash-separated, relative to the project root: "src/pkg/sub.py", "src/pkg/__init__.py"
}

// isPackage reports whether m is a package (its file is __init__.py).
func (m module) isPackage() bool { return path.Base(m.File) == "__init__.py" }

// inPackage reports whether m is a package or belongs to one.
func (m module) inPackage() bool { return m.isPackage() || strings.Contains(m.Name, ".") }

// pkg is the package relative imports in m start from ("" for a top-level module).
func (m module) pkg() string {
	if m.isPackage() {
		return m.Name
	}
	return parent(m.Name)
}

func parent(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i]
	}
	return ""
}

// layout answers which files exist under the project root, by exact name
// (also on case-insensitive file systems, where os.Stat("src/train.py")
// would find src/Train.py). Directory listings are cached.
type layout struct {
	root string
	dirs map[string]map[string]bool // slash dir → name → is a regular file (symlinks followed)
}

func newLayout(root string) *layout { return &layout{root: root, dirs: map[string]map[string]bool{}} }

// entries lists dir (slash-separated, relative to the root); a missing or
// unreadable directory has no entries.
func (l *layout) entries(dir string) map[string]bool {
	if e, ok := l.dirs[dir]; ok {
		return e
	}
	e := map[string]bool{}
	list, _ := os.ReadDir(filepath.Join(l.root, filepath.FromSlash(dir))) // missing dir: no entries
	for _, d := range list {
		regular := d.Type().IsRegular()
		if d.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(filepath.Join(l.root, filepath.FromSlash(dir), d.Name())); err == nil {
				regular = fi.Mode().IsRegular()
			}
		}
		e[d.Name()] = regular
	}
	l.dirs[dir] = e
	return e
}

// isFile reports whether rel names a regular file, with exactly that name.
func (l *layout) isFile(rel string) bool { return l.entries(path.Dir(rel))[path.Base(rel)] }

// lookalikes lists the files in dir whose name differs from name only in case.
func (l *layout) lookalikes(dir, name string) []string {
	var out []string
	for n, regular := range l.entries(dir) {
		if regular && n != name && strings.EqualFold(n, name) {
			out = append(out, path.Join(dir, n))
		}
	}
	return out
}

// find resolves a dotted module name the way Python's path finder does with
// src/ on sys.path: a package (dir/__init__.py) before a module (name.py).
func (l *layout) find(name string) (module, bool) {
	parts := strings.Split(name, ".")
	dir := "src"
	for i, p := range parts {
		if p == "" {
			return module{}, false
		}
		last := i == len(parts)-1
		if init := dir + "/" + p + "/__init__.py"; l.isFile(init) {
			if last {
				return module{Name: name, File: init}, true
			}
			dir += "/" + p
			continue
		}
		if f := dir + "/" + p + ".py"; last && l.isFile(f) {
			return module{Name: name, File: f}, true
		}
		return module{}, false
	}
	return module{}, false
}

// chain returns the local modules that importing name loads: name's
// packages from the top down, then name itself, as far as they exist.
func (l *layout) chain(name string) []module {
	var out []module
	parts := strings.Split(name, ".")
	for i := range parts {
		m, ok := l.find(strings.Join(parts[:i+1], "."))
		if !ok {
			break
		}
		out = append(out, m)
	}
	return out
}

// Reasons a relative import cannot work.
const (
	relNoPackage = "no-package"
	relTooHigh   = "too-high"
)

// base returns the module a from-import in cur reads from, with level
// resolved; rel is set when the relative import cannot work.
func base(cur module, im pyImport) (name, rel string) {
	if im.Level == 0 {
		return im.Module, ""
	}
	pkg := cur.pkg()
	if pkg == "" {
		return "", relNoPackage
	}
	for i := 1; i < im.Level; i++ {
		if pkg = parent(pkg); pkg == "" {
			return "", relTooHigh
		}
	}
	if im.Module != "" {
		pkg += "." + im.Module
	}
	return pkg, ""
}

// resolve returns the local modules the import statement im in cur loads,
// in the order Python loads them.
func (l *layout) resolve(cur module, im pyImport) (mods []module, rel string) {
	if !im.From {
		for _, n := range im.Names {
			mods = append(mods, l.chain(n[0])...)
		}
		return mods, ""
	}
	name, rel := base(cur, im)
	if rel != "" {
		return nil, rel
	}
	mods = l.chain(name)
	if len(mods) == 0 || mods[len(mods)-1].Name != name || !mods[len(mods)-1].isPackage() {
		return mods, ""
	}
	for _, n := range im.Names { // from pkg import sub: sub may be a module of the package
		if sub, ok := l.find(name + "." + n[0]); ok {
			mods = append(mods, sub)
		}
	}
	return mods, ""
}

// binding is what an import binds a name to: a local module (attr == "")
// or the attribute attr of one.
type binding struct {
	mod  module
	attr string
}

// bindings returns the names cur's imports bind to local modules or to
// attributes of local modules; later imports win.
func (l *layout) bindings(cur module, imports []pyImport) map[string]binding {
	b := map[string]binding{}
	for _, im := range imports {
		if !im.From {
			for _, n := range im.Names {
				if n[1] == "" { // import a.b.c binds a
					if m, ok := l.find(strings.SplitN(n[0], ".", 2)[0]); ok {
						b[m.Name] = binding{mod: m}
					}
				} else if m, ok := l.find(n[0]); ok {
					b[n[1]] = binding{mod: m}
				}
			}
			continue
		}
		name, rel := base(cur, im)
		if rel != "" {
			continue
		}
		m, ok := l.find(name)
		if !ok {
			continue
		}
		for _, n := range im.Names {
			if n[0] == "*" {
				continue
			}
			as := n[1]
			if as == "" {
				as = n[0]
			}
			if sub, ok := l.find(name + "." + n[0]); ok { // a submodule of package m
				b[as] = binding{mod: sub}
			} else {
				b[as] = binding{mod: m, attr: n[0]}
			}
		}
	}
	return b
}
