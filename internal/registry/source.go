package registry

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/posml/posml"
)

// uriParts is a URI split the way Python's urllib.parse.urlsplit splits it.
type uriParts struct {
	scheme, netloc, path, query, fragment string
}

// hostname is urlsplit's hostname: the netloc without user info and port,
// in lower case; "" when there is none.
func (u uriParts) hostname() string {
	h := u.netloc
	if i := strings.LastIndexByte(h, '@'); i >= 0 {
		h = h[i+1:]
	}
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i >= 0 {
			return strings.ToLower(h[1:i])
		}
	}
	if i := strings.IndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	return strings.ToLower(h)
}

// splitURI splits s like urlsplit: a scheme is a letter followed by
// letters, digits, "+", "-" or "." before the first ":".
func splitURI(s string, fragments bool) uriParts {
	var u uriParts
	if i := strings.IndexByte(s, ':'); i > 0 && isASCIILetter(s[0]) {
		ok := true
		for j := 1; j < i; j++ {
			c := s[j]
			if !isASCIILetter(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.' {
				ok = false
				break
			}
		}
		if ok {
			u.scheme, s = strings.ToLower(s[:i]), s[i+1:]
		}
	}
	if strings.HasPrefix(s, "//") {
		rest := s[2:]
		end := len(rest)
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			end = i
		}
		u.netloc, s = rest[:end], rest[end:]
	}
	if fragments {
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s, u.fragment = s[:i], s[i+1:]
		}
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s, u.query = s[:i], s[i+1:]
	}
	u.path = s
	return u
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// Scheme returns the scheme of a URI as MLflow's urlparse sees it, in lower
// case; "" for a plain path.
func Scheme(uri string) string { return splitURI(uri, true).scheme }

// IsLocalURI reports whether uri names a file on the server's disk, as
// MLflow's is_local_uri decides: a plain path, or a file: URI without a
// remote host. A file: URI with a remote host is an error.
func IsLocalURI(uri string) (bool, error) {
	if uri == "databricks" {
		return false, nil
	}
	u := splitURI(uri, true)
	if u.scheme == "" {
		return true, nil
	}
	host := u.hostname()
	remote := host != "" && host != "." && !strings.HasPrefix(host, "localhost") && !strings.HasPrefix(host, "127.0.0.1")
	if u.scheme == "file" {
		if remote {
			return false, posml.Errorf(posml.KindInvalid, uri+" is not a valid remote uri. For remote access on windows, please consider using a different scheme such as SMB (e.g. smb://<hostname>/<path>).")
		}
		return true, nil
	}
	return false, nil
}

// localPath is MLflow's local_file_uri_to_path: the path of a file: URI or
// of a plain path, percent-decoded.
func localPath(uri string) string {
	p := uri
	if strings.HasPrefix(uri, "file:") {
		p = splitURI(uri, true).path
	}
	return unquote(p)
}

// resolvePath makes p absolute and clean, as pathlib's resolve does for a
// path whose parts do not exist (symbolic links are not followed).
func resolvePath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return path.Clean("/" + p)
}

// SourceOwner is what a local model version source must lie under: the
// artifacts of a run or of a logged model.
type SourceOwner int

// The source owners.
const (
	OwnedByRun SourceOwner = iota
	OwnedByModel
)

// ValidateSource checks a model version source the way MLflow's server
// does before creating the version (handlers._validate_source_run and
// _validate_source_model). id is the run ID (or, for OwnedByModel, the
// logged model ID) given with the request; artifactURI returns that run's or
// model's artifact URI, or its not-found error.
//
// A local source (a path or a file: URI) needs an id and must lie inside the
// owner's artifact directory, which must itself be local. Any other source
// must be an absolute path without "." or ".." segments, NUL bytes or
// percent-encoded tricks.
func ValidateSource(source, id string, owner SourceOwner, artifactURI func(id string) (string, error)) error {
	local, err := IsLocalURI(source)
	if err != nil {
		return err
	}
	if !local {
		return checkRelativePaths(source)
	}
	shown := source
	if id != "" {
		loc, err := artifactURI(id)
		if err != nil {
			return err
		}
		src := resolvePath(localPath(source))
		shown = src
		if ok, _ := IsLocalURI(loc); ok {
			dir := resolvePath(localPath(loc))
			if src == dir || strings.HasPrefix(src, strings.TrimSuffix(dir, "/")+"/") {
				return nil
			}
		}
	}
	param, what := "run_id", "run specified by the run_id"
	if owner == OwnedByModel {
		param, what = "model_id", "run specified by the model_id"
	}
	return posml.Errorf(posml.KindInvalid, fmt.Sprintf("Invalid model version source: '%s'. To use a local path as a model version source, "+
		"the %s request parameter has to be specified and the local path has to be contained within the artifact directory of the %s.",
		shown, param, what))
}

// checkRelativePaths is MLflow's
// _validate_non_local_source_contains_relative_paths.
func checkRelativePaths(source string) error {
	bad := posml.Errorf(posml.KindInvalid, "Invalid model version source: '"+source+"'. If supplying a source as an http, https, "+
		"local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path "+
		"references present. Please provide an absolute path.")
	s := source
	for range 100 {
		u := unquote(strings.ReplaceAll(s, "+", " "))
		if u == s {
			break
		}
		s = u
	}
	p := splitURI(s, true).path
	p = collapseSlashes(strings.TrimRight(p, "/"))
	if strings.Contains(p, "\x00") {
		return bad
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == ".." {
			return bad
		}
	}
	if p == "" || !strings.HasPrefix(p, "/") || path.Clean(p) != p {
		return bad
	}
	return nil
}

func collapseSlashes(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return p
}

// unquote decodes %XX escapes like Python's urllib.parse.unquote: other
// '%' signs stay, and invalid UTF-8 becomes U+FFFD.
func unquote(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

// ParseRunsURI splits runs:/<run_id>/<path> into the run ID and the path
// inside the run's artifacts ("" for the root); ok is false for anything
// else.
func ParseRunsURI(uri string) (runID, artifactPath string, ok bool) {
	u := splitURI(uri, true)
	if u.scheme != "runs" || !strings.HasPrefix(u.path, "/") || len(u.path) <= 1 {
		return "", "", false
	}
	runID, artifactPath, _ = strings.Cut(u.path[1:], "/")
	if runID == "" {
		return "", "", false
	}
	return runID, artifactPath, true
}

// JoinURI appends a relative path to an artifact URI.
func JoinURI(base, p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return base
	}
	return strings.TrimRight(base, "/") + "/" + p
}

// ModelsURI is a parsed models:/ URI. Exactly one form is set: ModelID
// (models:/<model_id>, MLflow 3), Version (models:/<name>/<n>), Alias
// (models:/<name>@<alias>), Stage (models:/<name>/<stage>), or none of them
// (models:/<name>/latest).
type ModelsURI struct {
	ModelID string
	Name    string
	Version string
	Stage   string
	Alias   string
}

// ParseModelsURI parses a models:/ URI the way MLflow 3's client does.
func ParseModelsURI(uri string) (ModelsURI, error) {
	bad := func() (ModelsURI, error) {
		return ModelsURI{}, posml.Errorf(posml.KindInvalid, "Not a proper models:/ URI: "+uri+". Models URIs must be of the form "+
			"'models:/name/suffix' or 'models:/name@alias' where suffix is a version, stage, or the string 'latest' and where "+
			"alias is a registered model alias. Only one of suffix or alias can be defined at a time.")
	}
	u := splitURI(uri, false)
	if u.scheme != "models" || !strings.HasPrefix(u.path, "/") || len(u.path) <= 1 {
		return bad()
	}
	parts := strings.Split(strings.TrimLeft(u.path, "/"), "/")
	if len(parts) > 2 || strings.TrimSpace(parts[0]) == "" {
		return bad()
	}
	if len(parts) == 2 {
		name, suffix := parts[0], parts[1]
		switch {
		case strings.TrimSpace(suffix) == "":
			return bad()
		case isDigits(suffix):
			return ModelsURI{Name: name, Version: suffix}, nil
		case strings.EqualFold(suffix, "latest"):
			return ModelsURI{Name: name}, nil
		default:
			return ModelsURI{Name: name, Stage: suffix}, nil
		}
	}
	if strings.Contains(u.path, "@") {
		i := strings.LastIndexByte(parts[0], '@')
		if i < 0 || strings.TrimSpace(parts[0][i+1:]) == "" {
			return bad()
		}
		return ModelsURI{Name: parts[0][:i], Alias: parts[0][i+1:]}, nil
	}
	return ModelsURI{ModelID: parts[0]}, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
