package artifact

import (
	"mime"
	"path"
	"strings"
)

// textNames are the extensions (or, for files without one, the names) that
// MLflow serves as text/plain (mlflow/utils/mime_type_utils.py); the match
// is case-sensitive there too.
var textNames = map[string]bool{
	"txt": true, "log": true, "err": true, "cfg": true, "conf": true, "cnf": true, "cf": true,
	"ini": true, "properties": true, "prop": true, "hocon": true, "toml": true, "yaml": true,
	"yml": true, "xml": true, "json": true, "js": true, "py": true, "py3": true, "csv": true,
	"tsv": true, "md": true, "rst": true, "MLmodel": true, "MLproject": true,
}

// knownTypes pins the types of common artifact files, so that they do not
// depend on the host's mime.types; the values are Python's.
var knownTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".svg": "image/svg+xml", ".bmp": "image/bmp", ".webp": "image/webp", ".tif": "image/tiff",
	".tiff": "image/tiff", ".ico": "image/vnd.microsoft.icon", ".html": "text/html",
	".htm": "text/html", ".css": "text/css", ".pdf": "application/pdf",
	".zip": "application/zip", ".tar": "application/x-tar", ".mp4": "video/mp4",
	".mp3": "audio/mpeg", ".wav": "audio/x-wav",
}

// contentType guesses the media type of the file at p the way MLflow's
// _guess_mime_type does: the text types first, then the extension's
// registered type, else application/octet-stream. Parameters such as
// charset are dropped, as Python's mimetypes has none.
func contentType(p string) string {
	name := path.Base(p)
	ext := extension(name)
	key := strings.TrimPrefix(ext, ".")
	if key == "" {
		key = name
	}
	if textNames[key] {
		return "text/plain"
	}
	if ext == "" {
		return "application/octet-stream"
	}
	if t, ok := knownTypes[strings.ToLower(ext)]; ok {
		return t
	}
	if t, _, err := mime.ParseMediaType(mime.TypeByExtension(ext)); err == nil {
		return t
	}
	return "application/octet-stream"
}

// extension returns name's extension with its dot, like Python's
// os.path.splitext: leading dots do not start one (".bashrc" has none).
func extension(name string) string {
	trimmed := strings.TrimLeft(name, ".")
	i := strings.LastIndexByte(trimmed, '.')
	if i < 0 {
		return ""
	}
	return trimmed[i:]
}

// contentDisposition returns the Content-Disposition of a download of the
// file called name: MLflow's "attachment; filename=<name>" when name is a
// plain token, else the quoted or RFC 2231 form, which MLflow would have
// sent broken.
func contentDisposition(name string) string {
	if isToken(name) {
		return "attachment; filename=" + name
	}
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	return "attachment"
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
