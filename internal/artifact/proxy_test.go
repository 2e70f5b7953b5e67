package artifact

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/posml/posml"
)

const (
	apiArtifacts  = "/api/2.0/mlflow-artifacts/artifacts/"
	ajaxArtifacts = "/ajax-api/2.0/mlflow-artifacts/artifacts/"
	invalidBody   = `{"error_code":"INVALID_PARAMETER_VALUE","message":"Invalid path"}`
)

// failOnError fails the test if the handler logs at error level, which it
// must do only for failures of the store itself.
type failOnError struct {
	slog.Handler
	t testing.TB
}

func (h failOnError) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.t.Errorf("unexpected error log: %s", r.Message)
	}
	return h.Handler.Handle(ctx, r)
}

// newProxy serves Handler over a Local store in a temporary directory and
// returns the server, the store and the store's directory.
func newProxy(t testing.TB) (*httptest.Server, *Local, string) {
	t.Helper()
	l, dir := openLocal(t)
	log := slog.New(failOnError{slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}), t})
	srv := httptest.NewServer(Handler(l, log))
	t.Cleanup(srv.Close)
	return srv, l, dir
}

// do sends a request for the raw path (which may hold "..", "%2e" and the
// like: Go's client sends it as written) and returns the response with its
// body read.
func do(t testing.TB, srv *httptest.Server, method, rawPath string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+rawPath, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func wantResponse(t testing.TB, what string, resp *http.Response, body string, status int, wantBody string) {
	t.Helper()
	if resp.StatusCode != status || body != wantBody {
		t.Errorf("%s = %d %s; want %d %s", what, resp.StatusCode, body, status, wantBody)
	}
	if status != http.StatusOK || strings.HasPrefix(wantBody, "{") {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q; want application/json", what, ct)
		}
	}
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	var s [32]byte
	s[0] = byte(seed)
	rand.NewChaCha8(s).Read(b)
	return b
}

func TestProxyRoundTrip(t *testing.T) {
	srv, _, dir := newProxy(t)
	payload := randomBytes(3<<20+17, 1)

	for i, prefix := range []string{apiArtifacts, ajaxArtifacts, "/static" + ajaxArtifacts} {
		p := fmt.Sprintf("1/run%d/artifacts/model/model.pkl", i)
		resp, body := do(t, srv, http.MethodPut, prefix+p, bytes.NewReader(payload))
		wantResponse(t, "PUT "+prefix, resp, body, http.StatusOK, "{}")

		stored, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil || !bytes.Equal(stored, payload) {
			t.Fatalf("stored file: %d bytes, %v; want the %d bytes sent", len(stored), err, len(payload))
		}

		resp, body = do(t, srv, http.MethodGet, prefix+p, nil)
		if resp.StatusCode != http.StatusOK || body != string(payload) {
			t.Fatalf("GET %s = %d, %d bytes; want 200 and the payload", prefix, resp.StatusCode, len(body))
		}
		for k, want := range map[string]string{
			"Content-Type":           "application/octet-stream",
			"Content-Disposition":    "attachment; filename=model.pkl",
			"X-Content-Type-Options": "nosniff",
			"Content-Length":         fmt.Sprint(len(payload)),
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("GET %s: %s = %q; want %q", prefix, k, got, want)
			}
		}
	}

	// Overwrite with something shorter.
	p := apiArtifacts + "1/run0/artifacts/model/model.pkl"
	resp, body := do(t, srv, http.MethodPut, p, strings.NewReader("short"))
	wantResponse(t, "PUT overwrite", resp, body, http.StatusOK, "{}")
	if resp, body = do(t, srv, http.MethodGet, p, nil); body != "short" {
		t.Errorf("GET after overwrite = %d %q; want \"short\"", resp.StatusCode, body)
	}

	// HEAD: the headers, no body.
	resp, body = do(t, srv, http.MethodHead, p, nil)
	if resp.StatusCode != http.StatusOK || body != "" || resp.ContentLength != 5 {
		t.Errorf("HEAD = %d, %q, length %d", resp.StatusCode, body, resp.ContentLength)
	}
}

// genReader yields n pseudo-random bytes, hashing them as it goes, without
// ever holding more than one read's worth.
type genReader struct {
	src  *rand.ChaCha8
	left int64
	sum  hash.Hash
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.left)]
	g.src.Read(p)
	g.sum.Write(p)
	g.left -= int64(len(p))
	return len(p), nil
}

// totalAlloc returns the bytes allocated so far by the process.
func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

func TestProxyLargeStreamed(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB transfer")
	}
	const size = 64 << 20
	const maxAlloc = 16 << 20 // far below size: nothing buffers the whole body
	srv, _, dir := newProxy(t)
	p := "7/big/artifacts/data/blob.bin"

	gen := &genReader{src: rand.NewChaCha8([32]byte{42}), left: size, sum: sha256.New()}
	req, err := http.NewRequest(http.MethodPut, srv.URL+apiArtifacts+p, gen) // chunked: no length
	if err != nil {
		t.Fatal(err)
	}
	before := totalAlloc()
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "{}" {
		t.Fatalf("PUT = %d %s", resp.StatusCode, body)
	}
	alloc := totalAlloc() - before
	t.Logf("upload of %d MiB allocated %d KiB", size>>20, alloc>>10)
	if alloc > maxAlloc {
		t.Errorf("upload allocated %d MiB; want < %d MiB", alloc>>20, maxAlloc>>20)
	}
	want := gen.sum.Sum(nil)

	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(p)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	disk := sha256.New()
	if n, err := io.Copy(disk, f); err != nil || n != size {
		t.Fatalf("stored file: %d bytes, %v; want %d", n, err, size)
	}
	if !bytes.Equal(disk.Sum(nil), want) {
		t.Fatal("stored file differs from what was sent")
	}

	before = totalAlloc()
	resp, err = srv.Client().Get(srv.URL + apiArtifacts + p)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := sha256.New()
	n, err := io.Copy(got, resp.Body)
	if err != nil || n != size || resp.ContentLength != size {
		t.Fatalf("GET: read %d bytes (Content-Length %d), %v; want %d", n, resp.ContentLength, err, size)
	}
	alloc = totalAlloc() - before
	t.Logf("download of %d MiB allocated %d KiB", size>>20, alloc>>10)
	if alloc > maxAlloc {
		t.Errorf("download allocated %d MiB; want < %d MiB", alloc>>20, maxAlloc>>20)
	}
	if !bytes.Equal(got.Sum(nil), want) {
		t.Error("downloaded file differs from what was sent")
	}
}

func TestProxyList(t *testing.T) {
	srv, l, _ := newProxy(t)
	mustPut(t, l, "1/r/artifacts/a.txt", "hello")
	mustPut(t, l, "1/r/artifacts/empty.txt", "")
	mustPut(t, l, "1/r/artifacts/model/MLmodel", "abc")
	mustPut(t, l, "1/r/artifacts/model/sub/deep/x.bin", "0123456789")

	const list = "/api/2.0/mlflow-artifacts/artifacts"
	tests := []struct{ query, want string }{
		{"?path=1/r/artifacts", `{"files":[{"path":"a.txt","is_dir":false,"file_size":5},{"path":"empty.txt","is_dir":false,"file_size":0},{"path":"model","is_dir":true}]}`},
		{"?path=1%2Fr%2Fartifacts%2Fmodel", `{"files":[{"path":"MLmodel","is_dir":false,"file_size":3},{"path":"sub","is_dir":true}]}`},
		{"?path=1/r/artifacts/model/sub/deep/", `{"files":[{"path":"x.bin","is_dir":false,"file_size":10}]}`},
		{"?path=1/r/artifacts/model/sub", `{"files":[{"path":"deep","is_dir":true}]}`},
		{"", `{"files":[{"path":"1","is_dir":true}]}`},       // no path: the root
		{"?path=", `{"files":[{"path":"1","is_dir":true}]}`}, // empty path: the root
		{"?path=1/r/artifacts/a.txt", `{}`},                  // a file: nothing
		{"?path=1/r/artifacts/missing", `{}`},                // nothing there
		{"?path=1/r/artifacts/a.txt/below", `{}`},            // below a file
		{"?path=9", `{}`},         // an unknown experiment
		{"?path=..", invalidBody}, // traversal
		{"?path=1/r/../../..", invalidBody},
		{"?path=%252e%252e", invalidBody},
		{"?path=/etc", invalidBody},
		{"?path=a%2500", invalidBody},
	}
	for _, tc := range tests {
		status := http.StatusOK
		if tc.want == invalidBody {
			status = http.StatusBadRequest
		}
		resp, body := do(t, srv, http.MethodGet, list+tc.query, nil)
		wantResponse(t, "list "+tc.query, resp, body, status, tc.want)
	}

	// The ajax-api prefix serves the same.
	resp, body := do(t, srv, http.MethodGet, "/ajax-api/2.0/mlflow-artifacts/artifacts?path=1/r/artifacts/model/sub", nil)
	wantResponse(t, "ajax list", resp, body, http.StatusOK, `{"files":[{"path":"deep","is_dir":true}]}`)
}

func TestProxyDownloadErrors(t *testing.T) {
	srv, l, _ := newProxy(t)
	mustPut(t, l, "1/r/artifacts/model/MLmodel", "abc")

	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"1/r/artifacts/nope.txt", 404, `{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Artifact '1/r/artifacts/nope.txt' does not exist"}`},
		{"1/r/artifacts/model/MLmodel/x", 404, `{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Artifact '1/r/artifacts/model/MLmodel/x' does not exist"}`},
		{"1/r/artifacts/model", 400, `{"error_code":"INVALID_PARAMETER_VALUE","message":"Artifact path '1/r/artifacts/model' is a directory"}`},
		{"1/r/artifacts/model/", 400, `{"error_code":"INVALID_PARAMETER_VALUE","message":"Artifact path '1/r/artifacts/model' is a directory"}`},
		{"", 400, invalidBody}, // the root
		{".", 400, invalidBody},
	}
	for _, tc := range tests {
		resp, body := do(t, srv, http.MethodGet, apiArtifacts+tc.path, nil)
		wantResponse(t, "GET "+tc.path, resp, body, tc.status, tc.body)
	}
}

func TestProxyContentTypes(t *testing.T) {
	srv, l, _ := newProxy(t)
	tests := []struct{ name, contentType, disposition string }{
		{"MLmodel", "text/plain", "attachment; filename=MLmodel"},
		{"conda.yaml", "text/plain", "attachment; filename=conda.yaml"},
		{"requirements.txt", "text/plain", "attachment; filename=requirements.txt"},
		{"metrics.json", "text/plain", "attachment; filename=metrics.json"},
		{"table.csv", "text/plain", "attachment; filename=table.csv"},
		{"model.pkl", "application/octet-stream", "attachment; filename=model.pkl"},
		{"plot.png", "image/png", "attachment; filename=plot.png"},
		{"photo.JPG", "image/jpeg", "attachment; filename=photo.JPG"},
		{"chart.svg", "image/svg+xml", "attachment; filename=chart.svg"},
		{"report.html", "text/html", "attachment; filename=report.html"},
		{"paper.pdf", "application/pdf", "attachment; filename=paper.pdf"},
		{"noext", "application/octet-stream", "attachment; filename=noext"},
		{".hidden", "application/octet-stream", "attachment; filename=.hidden"},
		{"my plot.png", "image/png", `attachment; filename="my plot.png"`},
		{"grafik-ü.png", "image/png", "attachment; filename*=utf-8''grafik-%C3%BC.png"},
	}
	for _, tc := range tests {
		mustPut(t, l, "c/"+tc.name, "x")
		resp, _ := do(t, srv, http.MethodGet, apiArtifacts+"c/"+strings.ReplaceAll(tc.name, " ", "%20"), nil)
		ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition")
		if resp.StatusCode != http.StatusOK || ct != tc.contentType || cd != tc.disposition {
			t.Errorf("GET %s = %d, %q, %q; want 200, %q, %q", tc.name, resp.StatusCode, ct, cd, tc.contentType, tc.disposition)
		}
	}
}

func TestProxyDelete(t *testing.T) {
	srv, l, _ := newProxy(t)
	mustPut(t, l, "1/r/artifacts/a.txt", "a")
	mustPut(t, l, "1/r/artifacts/model/MLmodel", "m")
	mustPut(t, l, "1/r/artifacts/model/data/w.bin", "w")

	steps := []struct {
		method, path string
		status       int
		body         string
	}{
		{http.MethodDelete, apiArtifacts + "1/r/artifacts/a.txt", 200, "{}"},
		{http.MethodGet, apiArtifacts + "1/r/artifacts/a.txt", 404, `{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Artifact '1/r/artifacts/a.txt' does not exist"}`},
		{http.MethodDelete, ajaxArtifacts + "1/r/artifacts/model", 200, "{}"},
		{http.MethodGet, "/api/2.0/mlflow-artifacts/artifacts?path=1/r/artifacts", 200, "{}"},
		{http.MethodDelete, apiArtifacts + "1/r/artifacts/model", 200, "{}"}, // missing: fine, as in MLflow
		{http.MethodDelete, apiArtifacts + "1/r/artifacts/", 200, "{}"},      // what delete_artifacts() sends
		{http.MethodDelete, apiArtifacts, 400, invalidBody},                  // never the root
		{http.MethodDelete, apiArtifacts + ".", 400, invalidBody},
		{http.MethodDelete, apiArtifacts + "%2e/", 400, invalidBody},
	}
	for _, s := range steps {
		resp, body := do(t, srv, s.method, s.path, nil)
		wantResponse(t, s.method+" "+s.path, resp, body, s.status, s.body)
	}
}

func TestProxyTraversal(t *testing.T) {
	srv, l, dir := newProxy(t)
	mustPut(t, l, "1/r/artifacts/a.txt", "a")
	parent := filepath.Dir(dir)
	if err := os.WriteFile(filepath.Join(parent, "secret"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}

	const mlflow = "/api/2.0/mlflow-artifacts/"
	cases := []struct{ method, path string }{
		{http.MethodGet, apiArtifacts + "../secret"},
		{http.MethodGet, apiArtifacts + "../../../../etc/passwd"},
		{http.MethodGet, apiArtifacts + "%2e%2e/secret"},
		{http.MethodGet, apiArtifacts + "%2E%2E%2Fsecret"},
		{http.MethodGet, apiArtifacts + "%252e%252e/secret"},
		{http.MethodGet, apiArtifacts + "1/r/artifacts/../../../../secret"},
		{http.MethodGet, apiArtifacts + "a/../../b"},
		{http.MethodGet, apiArtifacts + "/etc/passwd"},
		{http.MethodGet, apiArtifacts + "%2Fetc%2Fpasswd"},
		{http.MethodGet, apiArtifacts + "1/r/artifacts/a.txt%00.png"},
		{http.MethodGet, apiArtifacts + "1/r/artifacts/a.txt%2500"},
		{http.MethodGet, apiArtifacts + `..%5Csecret`},
		{http.MethodGet, apiArtifacts + "file:%2F%2F%2Fetc%2Fpasswd"},
		{http.MethodGet, apiArtifacts + "C:/Windows/win.ini"},
		{http.MethodGet, apiArtifacts + "a%23b"},
		{http.MethodHead, apiArtifacts + "../secret"},
		{http.MethodGet, ajaxArtifacts + "../secret"},
		{http.MethodPut, apiArtifacts + "../escape.txt"},
		{http.MethodPut, apiArtifacts + "a/../../escape.txt"},
		{http.MethodPut, apiArtifacts + "%2e%2e/escape.txt"},
		{http.MethodPut, apiArtifacts + "/tmp/escape.txt"},
		{http.MethodPut, apiArtifacts + "esc%00ape.txt"},
		{http.MethodPut, ajaxArtifacts + "..%2Fescape.txt"},
		{http.MethodDelete, apiArtifacts + "../root"},
		{http.MethodDelete, apiArtifacts + "1/.."},
		{http.MethodDelete, apiArtifacts + "%2e%2e"},
		{http.MethodGet, mlflow + "artifacts?path=../"},
		{http.MethodGet, mlflow + "artifacts?path=%2e%2e%2f"},
		{http.MethodGet, mlflow + "artifacts?path=a/../../b"},
		{http.MethodGet, mlflow + "artifacts?path=/etc"},
		{http.MethodGet, mlflow + "artifacts?path=%00"},
		{http.MethodPost, mlflow + "mpu/create/../escape.txt"},
		{http.MethodPost, mlflow + "mpu/complete/%2e%2e/escape.txt"},
		{http.MethodPost, mlflow + "mpu/abort//etc/passwd"},
		{http.MethodGet, mlflow + "presigned/../secret"},
	}
	for _, tc := range cases {
		var body io.Reader
		if tc.method == http.MethodPut {
			body = strings.NewReader("pwned")
		}
		resp, got := do(t, srv, tc.method, tc.path, body)
		want := invalidBody
		if tc.method == http.MethodHead {
			want = ""
		}
		wantResponse(t, tc.method+" "+tc.path, resp, got, http.StatusBadRequest, want)
	}

	// Nothing was written, changed or removed outside the root or in it.
	entries, _ := os.ReadDir(parent)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "root,secret" {
		t.Errorf("the root's parent holds %v; want [root secret]", names)
	}
	if b, _ := os.ReadFile(filepath.Join(parent, "secret")); string(b) != "secret" {
		t.Errorf("secret changed to %q", b)
	}
	if got := readAll(t, l, "1/r/artifacts/a.txt"); got != "a" {
		t.Errorf("a.txt changed to %q", got)
	}
}

func TestProxyMultipartAndPresigned(t *testing.T) {
	srv, _, _ := newProxy(t)
	const mlflow = "/api/2.0/mlflow-artifacts/"
	const notImplemented = `{"error_code":"NOT_IMPLEMENTED","message":"` + mpuUnsupported + `"}`
	for _, op := range []string{"create", "complete", "abort"} {
		for _, prefix := range []string{mlflow, "/ajax-api/2.0/mlflow-artifacts/"} {
			resp, body := do(t, srv, http.MethodPost, prefix+"mpu/"+op+"/1/r/artifacts/big.bin",
				strings.NewReader(`{"path":"/tmp/big.bin","num_parts":3}`))
			wantResponse(t, "POST mpu/"+op, resp, body, http.StatusNotImplemented, notImplemented)
		}
	}
	if !strings.HasPrefix(mpuUnsupported, "Multipart upload is not supported for the current artifact repository") {
		t.Error("the client falls back to PUT only on this exact prefix")
	}
	resp, body := do(t, srv, http.MethodGet, mlflow+"mpu/create/1/r/artifacts/big.bin", nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET mpu/create = %d %s, Allow %q", resp.StatusCode, body, resp.Header.Get("Allow"))
	}
	resp, body = do(t, srv, http.MethodPost, mlflow+"mpu/create/", nil)
	wantResponse(t, "POST mpu/create/ (no path)", resp, body, http.StatusBadRequest, invalidBody)

	resp, body = do(t, srv, http.MethodGet, mlflow+"presigned/1/r/artifacts/model.pkl", nil)
	if resp.StatusCode != http.StatusNotImplemented || !strings.Contains(body, `"error_code":"NOT_IMPLEMENTED"`) {
		t.Errorf("GET presigned = %d %s; want 501 NOT_IMPLEMENTED", resp.StatusCode, body)
	}
}

func TestProxyRoutes(t *testing.T) {
	srv, _, _ := newProxy(t)
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/api/2.0/mlflow-artifacts/nope", 404, "ENDPOINT_NOT_FOUND"},
		{http.MethodGet, "/api/2.0/mlflow-artifacts/", 404, "ENDPOINT_NOT_FOUND"},
		{http.MethodGet, "/api/2.0/mlflow/runs/get", 404, "ENDPOINT_NOT_FOUND"},
		{http.MethodGet, "/api/2.0/mlflow-artifacts/mpu/other/x", 404, "ENDPOINT_NOT_FOUND"},
		{http.MethodPost, "/api/2.0/mlflow-artifacts/artifacts/x", 405, "BAD_REQUEST"},
		{http.MethodPatch, "/api/2.0/mlflow-artifacts/artifacts/x", 405, "BAD_REQUEST"},
		{http.MethodPut, "/api/2.0/mlflow-artifacts/artifacts", 405, "BAD_REQUEST"},
		{http.MethodDelete, "/api/2.0/mlflow-artifacts/artifacts?path=x", 405, "BAD_REQUEST"},
	}
	for _, tc := range tests {
		resp, body := do(t, srv, tc.method, tc.path, nil)
		if resp.StatusCode != tc.status || !strings.Contains(body, `"error_code":"`+tc.code+`"`) {
			t.Errorf("%s %s = %d %s; want %d %s", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.code)
		}
		if tc.status == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: no Allow header", tc.method, tc.path)
		}
	}
}

func TestIsProxyPath(t *testing.T) {
	tests := map[string]bool{
		"/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/x":    true,
		"/api/2.0/mlflow-artifacts/artifacts":                    true,
		"/ajax-api/2.0/mlflow-artifacts/mpu/create/x":            true,
		"/static/ajax-api/2.0/mlflow-artifacts/artifacts/a/../b": true,
		"/api/2.0/mlflow/runs/get":                               false,
		"/api/2.0/mlflow-artifacts":                              false,
		"/get-artifact":                                          false,
		"/api/2.0/mlflow/artifacts/list":                         false,
	}
	for p, want := range tests {
		if got := IsProxyPath(p); got != want {
			t.Errorf("IsProxyPath(%q) = %v; want %v", p, got, want)
		}
	}
}

func TestProxyConcurrentUploads(t *testing.T) {
	srv, _, _ := newProxy(t)
	const n, size = 16, 256 << 10
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			p := fmt.Sprintf("%s1/r/artifacts/part-%02d.bin", apiArtifacts, i)
			payload := randomBytes(size, uint64(i))
			req, _ := http.NewRequest(http.MethodPut, srv.URL+p, bytes.NewReader(payload))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("PUT %s = %d", p, resp.StatusCode)
			}
		})
	}
	wg.Wait()
	for i := range n {
		p := fmt.Sprintf("%s1/r/artifacts/part-%02d.bin", apiArtifacts, i)
		if _, body := do(t, srv, http.MethodGet, p, nil); body != string(randomBytes(size, uint64(i))) {
			t.Errorf("GET %s: %d bytes, not what was uploaded", p, len(body))
		}
	}
	_, body := do(t, srv, http.MethodGet, "/api/2.0/mlflow-artifacts/artifacts?path=1/r/artifacts", nil)
	if got := strings.Count(body, `"is_dir":false`); got != n {
		t.Errorf("list holds %d files; want %d: %s", got, n, body)
	}
}

func TestProxyUploadBodyError(t *testing.T) {
	l, _ := openLocal(t)
	log := slog.New(failOnError{slog.NewTextHandler(io.Discard, nil), t})
	h := Handler(l, log)
	req := httptest.NewRequest(http.MethodPut, apiArtifacts+"1/r/artifacts/x.bin", &failingReader{n: 100 << 10})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"error_code":"INVALID_PARAMETER_VALUE"`) {
		t.Errorf("PUT with a broken body = %d %s; want 400 INVALID_PARAMETER_VALUE", rec.Code, rec.Body)
	}
	if _, err := l.Stat(context.Background(), "1/r/artifacts/x.bin"); posml.KindOf(err) != posml.KindNotFound {
		t.Errorf("a partial upload is visible: Stat error %v", err)
	}
}

// brokenStore fails every call, as a store whose disk went away would.
type brokenStore struct{}

var errBroken = errors.New("disk on fire")

func (brokenStore) Put(context.Context, string, io.Reader) (int64, error) { return 0, errBroken }
func (brokenStore) Open(context.Context, string) (io.ReadCloser, FileInfo, error) {
	return nil, FileInfo{}, errBroken
}
func (brokenStore) Stat(context.Context, string) (FileInfo, error)   { return FileInfo{}, errBroken }
func (brokenStore) List(context.Context, string) ([]FileInfo, error) { return nil, errBroken }
func (brokenStore) Delete(context.Context, string) error             { return errBroken }

func TestProxyStoreFailure(t *testing.T) {
	var logged bytes.Buffer
	h := Handler(brokenStore{}, slog.New(slog.NewTextHandler(&logged, nil)))
	req := httptest.NewRequest(http.MethodGet, apiArtifacts+"1/r/artifacts/x.bin", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	want := `{"error_code":"INTERNAL_ERROR","message":"Internal error in the artifact store"}`
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != want {
		t.Errorf("GET on a broken store = %d %s; want 500 %s", rec.Code, rec.Body, want)
	}
	if !strings.Contains(logged.String(), "disk on fire") || strings.Count(logged.String(), "\n") != 1 {
		t.Errorf("log = %q; want the cause logged once", logged.String())
	}
}

func benchmarkPayload(b *testing.B) []byte {
	b.Helper()
	return randomBytes(16<<20, 9)
}

func BenchmarkProxyUpload(b *testing.B) {
	srv, _, _ := newProxy(b)
	payload := benchmarkPayload(b)
	url := srv.URL + apiArtifacts + "1/r/artifacts/bench.bin"
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(payload))
		resp, err := srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("PUT = %d", resp.StatusCode)
		}
	}
}

func BenchmarkProxyDownload(b *testing.B) {
	srv, l, _ := newProxy(b)
	payload := benchmarkPayload(b)
	if _, err := l.Put(context.Background(), "1/r/artifacts/bench.bin", bytes.NewReader(payload)); err != nil {
		b.Fatal(err)
	}
	url := srv.URL + apiArtifacts + "1/r/artifacts/bench.bin"
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for b.Loop() {
		resp, err := srv.Client().Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n != int64(len(payload)) {
			b.Fatalf("GET read %d bytes", n)
		}
	}
}
