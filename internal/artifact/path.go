package artifact

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/posml/posml"
)

// URIScheme is the scheme of the artifact URIs the tracking server hands
// out; the MLflow client resolves it to the proxy served by Handler.
const URIScheme = "mlflow-artifacts"

// proxyArtifactsPath is the route of the proxy's artifacts API below the
// /api/2.0 and /ajax-api/2.0 prefixes.
const proxyArtifactsPath = "/mlflow-artifacts/artifacts"

// ErrNotProxied is wrapped by the error PathFromURI returns for a URI that
// does not point into the artifact proxy (a file:, s3: or other URI).
var ErrNotProxied = errors.New("not a proxied artifact URI")

// invalidPath returns the error MLflow answers a path it refuses with.
func invalidPath() error {
	return &posml.Error{Kind: posml.KindInvalid, Msg: "Invalid path"}
}

// CleanPath turns a path received from a client into a store path, the way
// MLflow's validate_path_is_safe does: it percent-decodes p until it stops
// changing (a path may arrive encoded more than once), refuses anything that
// could leave the root, and drops empty and "." segments and trailing
// slashes, which MLflow's normpath ignores too. "" (or ".") is the root.
//
// It refuses, with a posml.KindInvalid error whose message is "Invalid path":
// a ".." segment; an absolute path; control characters, NUL included (MLflow
// escapes them instead); backslashes; '#'; a leading drive letter or URI
// scheme such as "C:" or "file:"; invalid UTF-8; and a path still changing
// after ten rounds of decoding.
//
// CleanPath(CleanPath(p)) == CleanPath(p).
func CleanPath(p string) (string, error) {
	d, ok := decode(p)
	if !ok {
		return "", invalidPath()
	}
	return cleanStorePath(d)
}

// cleanStorePath is CleanPath without the decoding: it validates and
// normalizes a path that is already decoded. Stores call it on every path,
// so that a caller that skipped CleanPath still cannot escape the root.
func cleanStorePath(p string) (string, error) {
	if !utf8.ValidString(p) || strings.HasPrefix(p, "/") || hasScheme(p) {
		return "", invalidPath()
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' || c == '#' {
			return "", invalidPath()
		}
	}
	if !strings.Contains(p, "//") && !strings.Contains(p, ".") && !strings.HasSuffix(p, "/") {
		return p, nil // the common case: nothing to normalize
	}
	segs := strings.Split(p, "/")
	kept := segs[:0]
	for _, s := range segs {
		switch s {
		case "", ".":
			continue
		case "..":
			return "", invalidPath()
		}
		kept = append(kept, s)
	}
	return strings.Join(kept, "/"), nil
}

// hasScheme reports whether p starts with a URI scheme or a drive letter:
// letters, digits, '+', '-' or '.' after a leading letter, then ':', all
// before the first slash.
func hasScheme(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return true
		default:
			return false
		}
	}
	return false
}

// decode percent-decodes s until it stops changing, at most ten times, like
// MLflow's _decode; ok is false if it is still changing after that.
func decode(s string) (decoded string, ok bool) {
	for range 10 {
		d := unquote(s)
		if d == s {
			return s, true
		}
		s = d
	}
	return "", false
}

// unquote decodes the %XX escapes in s and leaves any other '%' alone, like
// Python's urllib.parse.unquote ('+' stays '+').
func unquote(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// RunRoot returns the store path of a run's artifacts, <exp>/<run>/artifacts,
// the layout MLflow uses below an experiment's artifact location.
func RunRoot(expID, runID string) string {
	return expID + "/" + runID + "/artifacts"
}

// ModelRoot returns the store path of a logged model's artifacts (MLflow 3),
// <exp>/models/<model>/artifacts.
func ModelRoot(expID, modelID string) string {
	return expID + "/models/" + modelID + "/artifacts"
}

// URIForPath returns the artifact URI of the store path p,
// mlflow-artifacts:/<p>; p must be a clean store path (see CleanPath).
func URIForPath(p string) string {
	return URIScheme + ":/" + p
}

// PathFromURI maps an artifact URI that points into the proxy back onto a
// store path: mlflow-artifacts:/x/y, mlflow-artifacts://host:port/x/y and
// http(s)://host/api/2.0/mlflow-artifacts/artifacts/x/y all give "x/y". The
// path is checked like CleanPath. A URI of another kind gives a
// posml.KindInvalid error wrapping ErrNotProxied.
func PathFromURI(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf("Invalid artifact URI '%s'", uri), Err: err}
	}
	var p string
	switch strings.ToLower(u.Scheme) {
	case URIScheme:
		p = u.Path
		if u.Opaque != "" { // mlflow-artifacts:x/y
			p = u.Opaque
		}
	case "http", "https":
		_, after, ok := strings.Cut(u.Path, proxyArtifactsPath)
		if !ok || after != "" && after[0] != '/' {
			return "", notProxied(uri)
		}
		p = after
	default:
		return "", notProxied(uri)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", invalidPath()
	}
	return CleanPath(strings.TrimLeft(p, "/"))
}

func notProxied(uri string) error {
	return &posml.Error{
		Kind: posml.KindInvalid,
		Msg:  fmt.Sprintf("Artifact URI '%s' is not served by the artifact proxy", uri),
		Err:  ErrNotProxied,
	}
}
