package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/posml/posml"
)

//go:embed all:template all:lite
var files embed.FS

// Options selects a variant of the template.
type Options struct {
	// Lite writes the variant that logs through posml.tracking, the
	// Python SDK's zero-dependency MLflow client, instead of the mlflow
	// package: lite/ replaces the files of template/ it also holds.
	Lite bool
}

// renamed maps template paths to the paths they are written to.
var renamed = map[string]string{"gitignore": ".gitignore"}

// nameRE is a DNS label (RFC 1123): the project name is used in pipeline,
// experiment and model names, URLs and, on a cluster, Kubernetes objects.
var nameRE = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

// Write creates a new project called name in dir (dir must not exist or be
// empty). It returns the paths written, relative to dir, slash-separated and
// sorted. On error nothing is left behind.
func Write(dir, name string) ([]string, error) {
	return WriteWith(dir, name, Options{})
}

// WriteWith is Write for the template variant opts selects.
func WriteWith(dir, name string, opts Options) ([]string, error) {
	if !nameRE.MatchString(name) {
		return nil, posml.Errorf(posml.KindInvalid, fmt.Sprintf(
			"invalid project name %q: use 1 to 63 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit (e.g. iris-knn)", name))
	}
	out, err := render(name, opts)
	if err != nil {
		return nil, err
	}
	created, err := prepare(dir)
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(out))
	for p := range out {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var written []string
	for _, p := range paths {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(p)), out[p]); err != nil {
			cleanup(dir, created, written)
			return nil, fmt.Errorf("scaffold: %w", err)
		}
		written = append(written, p)
	}
	return paths, nil
}

// render returns the project's files by path: the templates executed with
// the project name; for a lite project, lite/'s files replace template/'s.
func render(name string, opts Options) (map[string][]byte, error) {
	out := map[string][]byte{}
	roots := []string{"template"}
	if opts.Lite {
		roots = append(roots, "lite")
	}
	for _, root := range roots {
		if err := renderDir(out, root, name, opts.Lite); err != nil {
			return nil, fmt.Errorf("scaffold: %s: %w", root, err) // a bug in the embedded template
		}
	}
	return out, nil
}

// renderDir executes the templates under root into out, by path relative to
// root. Templates see .Name and .Lite (small differences of the lite variant
// live in template/ as {{if .Lite}}; lite/ holds only files that differ a lot).
func renderDir(out map[string][]byte, root, name string, lite bool) error {
	data := struct {
		Name string
		Lite bool
	}{name, lite}
	return fs.WalkDir(files, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "__pycache__" {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".pyc") {
			return nil
		}
		text, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, root+"/")
		t, err := template.New(rel).Option("missingkey=error").Parse(string(text))
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return err
		}
		if to, ok := renamed[rel]; ok {
			rel = to
		}
		out[rel] = b.Bytes()
		return nil
	})
}

// prepare makes sure dir exists and is empty; created says whether it made dir.
func prepare(dir string) (created bool, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return false, fmt.Errorf("scaffold: %w", err)
		}
		return true, nil
	case err != nil:
		if fi, statErr := os.Stat(dir); statErr == nil && !fi.IsDir() {
			return false, posml.Errorf(posml.KindExists, fmt.Sprintf("%s exists and is not a directory: choose another directory for the new project", dir))
		}
		return false, fmt.Errorf("scaffold: %w", err)
	case len(entries) > 0:
		return false, posml.Errorf(posml.KindExists, fmt.Sprintf("directory %s is not empty: a new project goes into a new or empty directory", dir))
	}
	return false, nil
}

func writeFile(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p) // we created it: don't leave half a file
	}
	return err
}

// cleanup removes what a failed Write left: dir itself if Write created it,
// else the files it wrote and the directories that became empty.
func cleanup(dir string, created bool, written []string) {
	if created {
		os.RemoveAll(dir) // best effort: Write already reports the first error
		return
	}
	for _, p := range written {
		os.Remove(filepath.Join(dir, filepath.FromSlash(p)))
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			os.Remove(filepath.Join(dir, filepath.FromSlash(d))) // fails, harmlessly, unless empty
		}
	}
}
