package projectconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/posml/posml"
)

// Load reads dir/src/config.yaml and merges dir/config.yaml over it. Every
// problem found is a Diagnostic; err is only for I/O failures other than a
// missing file (a missing src/config.yaml is a Diagnostic).
//
// The Config is returned whenever err is nil. When the diagnostics hold an
// error it is filled only as far as the valid fields go, and must not be
// scheduled.
func Load(dir string) (*Config, []posml.Diagnostic, error) {
	user, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(UserFile)))
	if errors.Is(err, fs.ErrNotExist) {
		c := &Config{Dir: dir}
		(&validator{}).validate(nil, c) // the defaults
		return c, []posml.Diagnostic{{
			File: UserFile, Severity: posml.SeverityError, Rule: "config",
			Msg: "is missing", Fix: "create it: posml init writes a template to fill in",
		}}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	system, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(SystemFile)))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		system = nil
	}
	c, diags := parse(user, system)
	c.Dir = dir
	return c, diags, nil
}

// parse checks the contents of src/config.yaml and of config.yaml (nil when
// the project has none).
func parse(userData, systemData []byte) (*Config, []posml.Diagnostic) {
	c := &Config{}
	user, diags := parseFile(UserFile, userData)
	if user == nil && posml.HasErrors(diags) {
		// src/config.yaml could not be read as YAML: its fields can't be
		// checked, and reporting each as missing would only add noise.
		(&validator{}).validate(nil, c)
		return c, diags
	}
	var system *node
	if systemData != nil {
		var d []posml.Diagnostic
		system, d = parseFile(SystemFile, systemData)
		diags = append(diags, d...)
	}
	switch {
	case system == nil || system.tag == tagNull:
		system = nil
	case system.tag != tagMap:
		diags = append(diags, posml.Diagnostic{
			File: SystemFile, Line: system.line(), Col: system.col(), Severity: posml.SeverityError, Rule: "config",
			Msg: fmt.Sprintf("must be a mapping of field: value, not %s", system.describe()), Fix: "the platform writes this file: rewrite it as a mapping",
		})
		system = nil
	}
	root := user
	switch {
	case user != nil && user.tag == tagMap:
		root = merge(user, system)
	case user == nil || user.tag == tagNull:
		root = system
	}
	v := &validator{}
	v.validate(root, c)
	diags = append(diags, v.diags...)
	sortDiagnostics(diags)
	return c, diags
}

// sortDiagnostics orders diagnostics by file (the user's first), line and
// column; whole-file findings come first in their file.
func sortDiagnostics(ds []posml.Diagnostic) {
	rank := func(f string) int {
		if f == UserFile {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(ds, func(a, b posml.Diagnostic) int {
		if r := rank(a.File) - rank(b.File); r != 0 {
			return r
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
}

// parseFile parses one config file, rel. It returns nil for an empty
// document, and the diagnostics of YAML that cannot be read.
func parseFile(rel string, data []byte) (*node, []posml.Diagnostic) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, []posml.Diagnostic{syntaxDiagnostic(rel, data, err)}
	}
	var diags []posml.Diagnostic
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		diags = append(diags, posml.Diagnostic{
			File: rel, Line: next.Line, Col: max(next.Column, 1), Severity: posml.SeverityError, Rule: "yaml",
			Msg: "a second YAML document starts here; Python's yaml.safe_load reads only files with one",
			Fix: "remove this --- line and merge what follows into the first document",
		})
	case !errors.Is(err, io.EOF):
		diags = append(diags, syntaxDiagnostic(rel, data, err))
	}
	if len(doc.Content) == 0 {
		return nil, diags
	}
	b := &builder{file: rel}
	n := b.build(doc.Content[0], "", 0)
	return n, append(diags, b.diags...)
}

var (
	yamlLineRE   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	yamlAnchorRE = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// parserProblems are yaml.v3's parser (not scanner) errors. yaml.v3 reports
// their line numbers 0-based (and scanner errors 1-based), so those need
// one added.
var parserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// syntaxDiagnostic turns a yaml.v3 parse error into a Diagnostic at the
// line it names, recognising the usual mistake of an unquoted value that
// starts with a character YAML reserves (@daily, %Y-%m-%d, */5 * * * *).
func syntaxDiagnostic(rel string, data []byte, err error) posml.Diagnostic {
	d := posml.Diagnostic{File: rel, Line: 1, Col: 1, Severity: posml.SeverityError, Rule: "yaml"}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	lines := strings.Split(string(data), "\n")
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		d.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if slices.Contains(parserProblems, msg) {
			d.Line++
		}
	} else if m := yamlAnchorRE.FindStringSubmatch(err.Error()); m != nil {
		for i, l := range lines {
			if j := strings.Index(l, "*"+m[1]); j >= 0 {
				d.Line, d.Col = i+1, j+1
				break
			}
		}
		d.Msg = fmt.Sprintf("invalid YAML: the alias *%s names no anchor", m[1])
		d.Fix = fmt.Sprintf("define &%s before it, or quote the value if it is not an alias", m[1])
		return d
	}
	d.Line = min(max(d.Line, 1), len(lines))
	line := lines[d.Line-1]
	d.Msg = "invalid YAML: " + msg
	d.Fix = "check the indentation and quoting of this line and the one before it"
	if i := strings.IndexFunc(line, func(r rune) bool { return r != ' ' }); i >= 0 {
		d.Col = i + 1
	}
	if strings.HasPrefix(strings.TrimLeft(line, " "), "\t") {
		d.Fix = "indent with spaces: YAML does not allow tabs"
		return d
	}
	if key, col, value, ok := reservedValue(line); ok {
		d.Col = col
		if key != "" {
			d.Rule = keyPath(lines, d.Line-1, key)
		}
		switch value[0] {
		case '*':
			d.Msg = fmt.Sprintf("invalid YAML: the unquoted value %s is read as an alias because it starts with '*'", value)
		case '&', '!':
			d.Msg = fmt.Sprintf("invalid YAML: the unquoted value %s starts with %q, which YAML reserves", value, value[0])
		default:
			d.Msg = fmt.Sprintf("invalid YAML: an unquoted value cannot start with %q", value[0])
		}
		d.Fix = "quote the value: " + quote(value)
	}
	return d
}

// reservedValue finds, on a line of the form "key: value" or "- value", a
// value starting with a character that YAML reserves for something else.
// It returns the key ("" for a list item), the value's column and the value
// without a trailing comment.
func reservedValue(line string) (key string, col int, value string, ok bool) {
	rest := strings.TrimLeft(line, " ")
	off := len(line) - len(rest)
	for strings.HasPrefix(rest, "- ") {
		trimmed := strings.TrimLeft(rest[2:], " ")
		off += len(rest) - len(trimmed)
		rest = trimmed
	}
	if i := strings.Index(rest, ": "); i > 0 && !strings.ContainsAny(rest[:i], "@`%*&!\"'") {
		key = strings.TrimSpace(rest[:i])
		after := rest[i+1:]
		trimmed := strings.TrimLeft(after, " \t")
		off += i + 1 + len(after) - len(trimmed)
		rest = trimmed
	}
	if rest == "" || !strings.ContainsRune("@`%*&!", rune(rest[0])) {
		return "", 0, "", false
	}
	if j := strings.Index(rest, " #"); j >= 0 {
		rest = rest[:j]
	}
	return key, off + 1, strings.TrimRight(rest, " \t\r"), true
}

// quote writes s as a YAML double-quoted scalar, or single-quoted when that
// needs no escapes.
func quote(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// keyPath prefixes key, found on lines[i], with the keys of the mappings
// that hold it, found by walking up to lines of smaller indentation.
func keyPath(lines []string, i int, key string) string {
	indent := func(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }
	path := key
	cur := indent(lines[i])
	for j := i - 1; j >= 0 && cur > 0; j-- {
		l := lines[j]
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "- ") || indent(l) >= cur {
			continue
		}
		k, _, found := strings.Cut(t, ":")
		if !found {
			break
		}
		path = strings.TrimSpace(k) + "." + path
		cur = indent(l)
	}
	return path
}
