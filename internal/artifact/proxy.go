package artifact

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/posml/posml"
)

// The prefixes the proxy is served under; the rest of the request path
// selects the route.
var proxyPrefixes = [...]string{"/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow-artifacts/"}

// The message MLflow's client looks for (as a prefix) to fall back from a
// multipart upload to a plain PUT (mlflow/exceptions.py
// _UnsupportedMultipartUploadException).
const mpuUnsupported = "Multipart upload is not supported for the current artifact repository"

// Handler returns MLflow's artifact proxy (mlflow/protos/mlflow_artifacts.proto)
// over store. The server mounts it, without stripping anything, at both
// /api/2.0/mlflow-artifacts/ and /ajax-api/2.0/mlflow-artifacts/; anything
// before either prefix (a static prefix) is ignored. Below the prefix:
//
//	GET    artifacts/<path>           download, streamed, as an attachment
//	PUT    artifacts/<path>           upload the body, streamed → {}
//	DELETE artifacts/<path>           delete a file or a directory tree → {}
//	GET    artifacts?path=<dir>       list → {"files":[{"path","is_dir","file_size"}]}
//	POST   mpu/{create,complete,abort}/<dir>  multipart upload of <dir>/<base name of "path">
//	                                  if store is a MultipartStore, else 501
//	                                  NOT_IMPLEMENTED: clients fall back to PUT
//	GET    presigned/<path>           501 NOT_IMPLEMENTED
//
// Paths are checked with CleanPath; a path that is refused gets 400
// {"error_code":"INVALID_PARAMETER_VALUE","message":"Invalid path"}. Errors
// are MLflow's JSON {"error_code","message"}; only a failure of the store
// itself is a 5xx (which the client retries), and only those are logged.
//
// Route to it ahead of, not through, an http.ServeMux (see IsProxyPath): the
// mux answers a path with "..", "." or "//" segments with a 307 redirect to
// the cleaned path before the handler sees it, and the MLflow client, which
// does not follow redirects, takes that for success.
func Handler(store Store, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &proxy{store: store, log: log}
}

type proxy struct {
	store Store
	log   *slog.Logger
}

// apiError is an error answered with a status and an MLflow error code that
// no posml.Kind stands for.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func (h *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(w, r); err != nil {
		h.writeError(w, r, err)
	}
}

// serve routes the request; it returns an error only if nothing has been
// written yet.
func (h *proxy) serve(w http.ResponseWriter, r *http.Request) error {
	rest, ok := routePath(r.URL.Path)
	if !ok {
		return notFoundRoute(r)
	}
	switch {
	case rest == "artifacts":
		if err := allow(w, r, http.MethodGet, http.MethodHead); err != nil {
			return err
		}
		return h.list(w, r)
	case strings.HasPrefix(rest, "artifacts/"):
		p, err := filePath(strings.TrimPrefix(rest, "artifacts/"))
		if err != nil {
			return err
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			return h.download(w, r, p)
		case http.MethodPut:
			return h.upload(w, r, p)
		case http.MethodDelete:
			return h.delete(w, r, p)
		}
		return allow(w, r, http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete)
	case strings.HasPrefix(rest, "mpu/create/"), strings.HasPrefix(rest, "mpu/complete/"), strings.HasPrefix(rest, "mpu/abort/"):
		if err := allow(w, r, http.MethodPost); err != nil {
			return err
		}
		op, sub, _ := strings.Cut(strings.TrimPrefix(rest, "mpu/"), "/")
		dir, err := filePath(sub)
		if err != nil {
			return err
		}
		if mpu, ok := h.store.(MultipartStore); ok {
			return h.multipart(w, r, mpu, op, dir)
		}
		return &apiError{http.StatusNotImplemented, "NOT_IMPLEMENTED", mpuUnsupported}
	case strings.HasPrefix(rest, "presigned/"):
		if err := allow(w, r, http.MethodGet, http.MethodHead); err != nil {
			return err
		}
		if _, err := filePath(strings.TrimPrefix(rest, "presigned/")); err != nil {
			return err
		}
		return &apiError{http.StatusNotImplemented, "NOT_IMPLEMENTED",
			"Presigned download URLs are not supported for the current artifact repository"}
	}
	return notFoundRoute(r)
}

// IsProxyPath reports whether the request path p (a URL's Path) belongs to
// the proxy, so that a server can hand such requests to Handler before its
// http.ServeMux would redirect an unclean path.
func IsProxyPath(p string) bool {
	_, ok := routePath(p)
	return ok
}

// routePath returns what follows the first proxy prefix in the path p.
func routePath(p string) (rest string, ok bool) {
	at, end := -1, 0
	for _, prefix := range proxyPrefixes {
		if i := strings.Index(p, prefix); i >= 0 && (at < 0 || i < at) {
			at, end = i, i+len(prefix)
		}
	}
	if at < 0 {
		return "", false
	}
	return p[end:], true
}

// filePath cleans the path of a file route, which cannot be the root.
func filePath(raw string) (string, error) {
	p, err := CleanPath(raw)
	if err == nil && p == "" {
		err = invalidPath()
	}
	return p, err
}

func allow(w http.ResponseWriter, r *http.Request, methods ...string) error {
	for _, m := range methods {
		if r.Method == m {
			return nil
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	return &apiError{http.StatusMethodNotAllowed, "BAD_REQUEST",
		fmt.Sprintf("Method %s is not allowed on %s", r.Method, r.URL.Path)}
}

func notFoundRoute(r *http.Request) error {
	return &apiError{http.StatusNotFound, "ENDPOINT_NOT_FOUND",
		fmt.Sprintf("No endpoint %s %s", r.Method, r.URL.Path)}
}

// download streams the file at p, with the headers MLflow's
// _response_with_file_attachment_headers sets.
func (h *proxy) download(w http.ResponseWriter, r *http.Request, p string) error {
	rc, info, err := h.store.Open(r.Context(), p)
	if err != nil {
		return err
	}
	defer rc.Close()
	hdr := w.Header()
	hdr.Set("Content-Type", contentType(p))
	hdr.Set("Content-Disposition", contentDisposition(info.Path))
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if n, err := copyBody(w, rc); err != nil {
		// Too late for an error response; the client sees a short body.
		h.log.DebugContext(r.Context(), "artifact download interrupted",
			"path", p, "bytes", n, "err", err)
	}
	return nil
}

// downloadBufSize is the buffer a download from a store other than a local
// file is copied through: larger than io.Copy's 32 KiB, to cut the number
// of writes to the connection.
const downloadBufSize = 256 << 10

var downloadBufs = sync.Pool{New: func() any { b := make([]byte, downloadBufSize); return &b }}

// copyBody copies a download to w: an *os.File through io.Copy, which lets
// net/http use sendfile, anything else (an S3 object) through a pooled
// buffer of downloadBufSize.
func copyBody(w io.Writer, rc io.Reader) (int64, error) {
	if _, ok := rc.(*os.File); ok {
		return io.Copy(w, rc)
	}
	buf := downloadBufs.Get().(*[]byte)
	defer downloadBufs.Put(buf)
	// The wrapper hides w's ReadFrom, which would copy through 32 KiB.
	return io.CopyBuffer(struct{ io.Writer }{w}, rc, *buf)
}

// upload streams the request body into the file at p.
func (h *proxy) upload(w http.ResponseWriter, r *http.Request, p string) error {
	if _, err := h.store.Put(r.Context(), p, bodyReader{r.Body}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// delete removes the file or directory at p. Like MLflow, deleting what does
// not exist succeeds.
func (h *proxy) delete(w http.ResponseWriter, r *http.Request, p string) error {
	if err := h.store.Delete(r.Context(), p); err != nil && !errors.Is(err, posml.ErrNotFound) {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

type fileJSON struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *int64 `json:"file_size,omitempty"`
}

type listJSON struct {
	Files []fileJSON `json:"files,omitempty"`
}

// list answers the entries of the directory ?path= (the root if absent);
// like MLflow it answers {} for an empty directory, a file or nothing.
func (h *proxy) list(w http.ResponseWriter, r *http.Request) error {
	dir, err := CleanPath(r.URL.Query().Get("path"))
	if err != nil {
		return err
	}
	infos, err := h.store.List(r.Context(), dir)
	if err != nil {
		return err
	}
	var resp listJSON
	for _, fi := range infos {
		f := fileJSON{Path: fi.Path, IsDir: fi.IsDir}
		if !fi.IsDir {
			f.FileSize = &fi.Size
		}
		resp.Files = append(resp.Files, f)
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// bodyReader marks a failure to read the request body as the client's, so
// that it is answered with a 400 rather than a 500 the client would retry.
type bodyReader struct{ r io.Reader }

func (b bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = &posml.Error{Kind: posml.KindInvalid, Msg: "Failed to read the request body", Err: err}
	}
	return n, err
}

// errorCodes maps the posml kinds to MLflow error codes and statuses
// (mlflow/protos/databricks.proto, mlflow/exceptions.py).
var errorCodes = map[posml.Kind]struct {
	code   string
	status int
}{
	posml.KindInvalid:  {"INVALID_PARAMETER_VALUE", http.StatusBadRequest},
	posml.KindNotFound: {"RESOURCE_DOES_NOT_EXIST", http.StatusNotFound},
	posml.KindExists:   {"RESOURCE_ALREADY_EXISTS", http.StatusBadRequest},
	posml.KindConflict: {"RESOURCE_CONFLICT", http.StatusConflict},
}

// writeError answers err as MLflow's error JSON, and logs it if it is a
// failure of the server.
func (h *proxy) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if ae, ok := errors.AsType[*apiError](err); ok {
		writeJSON(w, ae.status, errorJSON{ae.code, ae.msg})
		return
	}
	if ec, ok := errorCodes[posml.KindOf(err)]; ok {
		msg := err.Error()
		if pe, ok := errors.AsType[*posml.Error](err); ok && pe.Msg != "" {
			msg = pe.Msg // without the cause, which may name server paths
		}
		writeJSON(w, ec.status, errorJSON{ec.code, msg})
		return
	}
	if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
		// The client went away; there is nobody to answer.
		h.log.DebugContext(r.Context(), "artifact request abandoned",
			"method", r.Method, "path", r.URL.Path, "err", err)
		return
	}
	h.log.ErrorContext(r.Context(), "artifact request failed",
		"method", r.Method, "path", r.URL.Path, "err", err)
	writeJSON(w, http.StatusInternalServerError, errorJSON{"INTERNAL_ERROR", "Internal error in the artifact store"})
}

type errorJSON struct {
	Code    string `json:"error_code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // cannot happen for the types used here
		b, status = []byte(`{"error_code":"INTERNAL_ERROR","message":"cannot encode the response"}`), http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
