package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static templates
var embedded embed.FS

// Assets returns the embedded templates/ and static/ directories.
func Assets() fs.FS { return embedded }

// theme is the parsed templates and the hashed static files of one assets
// filesystem.
type theme struct {
	pages  map[string]*template.Template // by page file name, each with layout.html
	hashes map[string]string             // static path → content hash
	files  map[string][]byte             // static path → content
}

// load parses every page under templates/ with the layout and hashes every
// file under static/.
func load(fsys fs.FS, navHas func(page string) bool) (*theme, error) {
	th := &theme{pages: map[string]*template.Template{}, hashes: map[string]string{}, files: map[string][]byte{}}
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		rel := strings.TrimPrefix(p, "static/")
		th.hashes[rel] = hex.EncodeToString(sum[:6])
		th.files[rel] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web assets: %w", err)
	}
	funcs := templateFuncs()
	funcs["asset"] = th.assetURL
	funcs["navHas"] = navHas
	names, err := fs.Glob(fsys, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(fsys, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("web templates: %w", err)
		}
		th.pages[base] = t
	}
	return th, nil
}

// assetURL is the content-hashed URL of a static file.
func (th *theme) assetURL(p string) (string, error) {
	h, ok := th.hashes[p]
	if !ok {
		return "", fmt.Errorf("no static file %q", p)
	}
	return "/static/" + h + "/" + p, nil
}

// execute renders page name: its "page" template when the page defines
// the layout's blocks.
func (th *theme) execute(w io.Writer, name string, data any) error {
	t, ok := th.pages[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	return t.ExecuteTemplate(w, "layout", data)
}

// executeFragment renders one named template of a page alone (for htmx
// requests that replace part of a page).
func (th *theme) executeFragment(w io.Writer, page, fragment string, data any) error {
	t, ok := th.pages[page]
	if !ok {
		return fmt.Errorf("no template %q", page)
	}
	return t.ExecuteTemplate(w, fragment, data)
}

// static serves a file of static/. A URL whose hash matches the content is
// cacheable forever; an old hash still gets the current file, uncached.
func (h *handler) static(w http.ResponseWriter, r *http.Request) {
	th, err := h.theme()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	p := r.PathValue("path")
	b, ok := th.files[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.PathValue("hash") == th.hashes[p] && !h.dev {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, path.Base(p), time.Time{}, bytes.NewReader(b))
}
