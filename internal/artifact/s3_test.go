package artifact

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/posml/posml"
)

// The S3 tests run against the S3 server at POSML_TEST_S3_ENDPOINT (with
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or else against moto's
// standalone server, which they start on a free loopback port with the
// first Python that can import moto.server (pip package moto[server];
// Debian has no package of it, the machine's own Python has it) among
// POSML_TEST_MOTO_PYTHON, python3 on PATH and ~/.pyenv/shims/python3 (see
// motoPython). If neither is at hand they skip.

// testS3 is the S3 server the tests use, started at most once.
var testS3 struct {
	once     sync.Once
	endpoint string
	key      string
	secret   string
	cmd      *exec.Cmd
	skip     string // why there is none
	buckets  atomic.Int64
}

// motoSysProcAttr is set where the system can kill moto with its parent.
var motoSysProcAttr *syscall.SysProcAttr

func TestMain(m *testing.M) {
	code := m.Run()
	if c := testS3.cmd; c != nil {
		_ = c.Process.Kill()
		_ = c.Wait()
	}
	os.Exit(code)
}

// s3Endpoint returns the endpoint of the test S3 server, starting moto if
// needed, or skips the test.
func s3Endpoint(tb testing.TB) (endpoint, key, secret string) {
	tb.Helper()
	testS3.once.Do(startTestS3)
	if testS3.skip != "" {
		tb.Skip(testS3.skip)
	}
	return testS3.endpoint, testS3.key, testS3.secret
}

func startTestS3() {
	if ep := os.Getenv("POSML_TEST_S3_ENDPOINT"); ep != "" {
		testS3.endpoint, testS3.key, testS3.secret = ep, os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		return
	}
	python, why := motoPython()
	if python == "" {
		testS3.skip = "no S3 server: set POSML_TEST_S3_ENDPOINT, or POSML_TEST_MOTO_PYTHON to a Python " +
			"that has moto's server (pip package moto[server]; Debian has none); " + why
		return
	}
	fmt.Fprintf(os.Stderr, "artifact tests: moto's S3 server with %s\n", python)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		testS3.skip = "no free port for moto: " + err.Error()
		return
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(python, "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = motoSysProcAttr
	if os.Getenv("POSML_TEST_S3_VERBOSE") != "" {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		testS3.skip = "cannot start moto: " + err.Error()
		return
	}
	testS3.cmd = cmd
	testS3.endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
	testS3.key, testS3.secret = "testing", "testing"
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get(testS3.endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			testS3.skip = "moto did not start listening within 30 s: " + err.Error()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// motoPython returns the first Python that can import moto.server among
// $POSML_TEST_MOTO_PYTHON, python3 on PATH and pyenv's python3 (the
// machine's own Python with moto, which a CI's PATH may lack); else "" and
// why each failed.
func motoPython() (python, why string) {
	var cands []string
	if p := os.Getenv("POSML_TEST_MOTO_PYTHON"); p != "" {
		cands = append(cands, p)
	}
	cands = append(cands, "python3")
	if home, err := os.UserHomeDir(); err == nil {
		cands = append(cands, filepath.Join(home, ".pyenv", "shims", "python3"))
	}
	cands = append(cands, "/root/.pyenv/shims/python3")
	var whys []string
	seen := map[string]bool{}
	for _, c := range cands {
		if seen[c] {
			continue
		}
		seen[c] = true
		out, err := exec.Command(c, "-c", "import moto.server").CombinedOutput()
		if err == nil {
			return c, ""
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		whys = append(whys, fmt.Sprintf("%s: %v %s", c, err, lines[len(lines)-1]))
	}
	return "", strings.Join(whys, "; ")
}

// newTestBucket creates a new bucket on the test server and returns its
// name with a client for it.
func newTestBucket(tb testing.TB) (bucket string, client *minio.Client) {
	tb.Helper()
	endpoint, key, secret := s3Endpoint(tb)
	client, err := minio.New(strings.TrimPrefix(strings.TrimPrefix(endpoint, "http://"), "https://"), &minio.Options{
		Creds:        credentials.NewStaticV4(key, secret, ""),
		Secure:       strings.HasPrefix(endpoint, "https://"),
		Region:       defaultS3Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		tb.Fatal(err)
	}
	bucket = fmt.Sprintf("posml-test-%d-%d", os.Getpid(), testS3.buckets.Add(1))
	if err := client.MakeBucket(context.Background(), bucket, minio.MakeBucketOptions{Region: defaultS3Region}); err != nil {
		tb.Fatal(err)
	}
	return bucket, client
}

// openTestS3 opens an S3 store on a new bucket below the prefix "root/".
func openTestS3(tb testing.TB, partSize int64) (*S3, *minio.Client, string) {
	tb.Helper()
	bucket, client := newTestBucket(tb)
	endpoint, key, secret := s3Endpoint(tb)
	s, err := OpenS3(context.Background(), S3Config{
		Bucket: bucket, Prefix: "/root/", Endpoint: endpoint,
		AccessKeyID: key, SecretAccessKey: secret, PartSize: partSize,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s, client, bucket
}

func TestS3Conformance(t *testing.T) {
	testStore(t, func(t *testing.T) Store {
		s, _, _ := openTestS3(t, 5<<20)
		return s
	})
}

func TestS3Layout(t *testing.T) {
	ctx := context.Background()
	s, client, bucket := openTestS3(t, 0)
	mustPut(t, s, "1/r/artifacts/model/MLmodel", "m")
	info, err := client.StatObject(ctx, bucket, "root/1/r/artifacts/model/MLmodel", minio.StatObjectOptions{})
	if err != nil || info.Size != 1 {
		t.Fatalf("object root/1/r/artifacts/model/MLmodel: %+v, %v", info, err)
	}
	mustPut(t, s, "1/r/artifacts/plot.png", "png")
	if info, _ := client.StatObject(ctx, bucket, "root/1/r/artifacts/plot.png", minio.StatObjectOptions{}); info.ContentType != "image/png" {
		t.Errorf("Content-Type %q; want image/png", info.ContentType)
	}
	// Objects outside the prefix are invisible, and a marker object for a
	// directory (as some tools create) is not an entry of it.
	for _, k := range []string{"rootless", "other/x", "root/1/r/artifacts/"} {
		if _, err := client.PutObject(ctx, bucket, k, strings.NewReader(""), 0, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List(ctx, "")
	if err != nil || len(got) != 1 || got[0] != (FileInfo{Path: "1", IsDir: true}) {
		t.Errorf("List(root) = %+v, %v", got, err)
	}
	got, err = s.List(ctx, "1/r/artifacts")
	if err != nil || len(got) != 2 {
		t.Errorf("List(1/r/artifacts) = %+v, %v", got, err)
	}
	if err := s.Delete(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.StatObject(ctx, bucket, "rootless", minio.StatObjectOptions{}); err != nil {
		t.Errorf("Delete below the prefix removed an object outside it: %v", err)
	}
}

func TestOpenS3Errors(t *testing.T) {
	endpoint, key, secret := s3Endpoint(t)
	_, err := OpenS3(context.Background(), S3Config{Bucket: "no-such-bucket-posml", Endpoint: endpoint, AccessKeyID: key, SecretAccessKey: secret})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("OpenS3 of a missing bucket: %v", err)
	}
	_, err = OpenS3(context.Background(), S3Config{Bucket: "b", Endpoint: "127.0.0.1:9000"})
	if err == nil {
		t.Error("OpenS3 with an endpoint without a scheme succeeded")
	}
}

func TestParseS3URI(t *testing.T) {
	tests := []struct {
		uri, bucket, prefix string
		ok                  bool
	}{
		{"s3://bucket", "bucket", "", true},
		{"s3://bucket/", "bucket", "", true},
		{"s3://bucket/mlflow/artifacts/", "bucket", "mlflow/artifacts", true},
		{"s3://", "", "", false},
		{"file:///tmp/x", "", "", false},
		{"s3://bucket/a/../b", "", "", false},
		{"s3://bucket/a//b", "", "", false},
		{"s3://bucket/x?y=1", "", "", false},
	}
	for _, tc := range tests {
		b, p, err := ParseS3URI(tc.uri)
		if (err == nil) != tc.ok || b != tc.bucket || p != tc.prefix {
			t.Errorf("ParseS3URI(%q) = %q, %q, %v; want %q, %q, ok %v", tc.uri, b, p, err, tc.bucket, tc.prefix, tc.ok)
		}
	}
}

// testWriter sends what is written to it to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// mpuPost posts an mpu request to the proxy and decodes the answer into v.
func mpuPost(t *testing.T, srv *httptest.Server, op, dir string, req any, v any) (int, string) {
	t.Helper()
	var r io.Reader
	if req != nil {
		b, _ := json.Marshal(req)
		r = bytes.NewReader(b)
	}
	resp, body := do(t, srv, http.MethodPost, "/api/2.0/mlflow-artifacts/mpu/"+op+"/"+dir, r)
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(body), v); err != nil {
			t.Fatalf("mpu/%s answer %s: %v", op, body, err)
		}
	}
	return resp.StatusCode, body
}

// TestS3ProxyMultipartUpload drives the proxy's multipart upload the way
// MLflow's HttpArtifactRepository does: create, PUT each part to its
// presigned URL, complete with the ETags; and abort.
func TestS3ProxyMultipartUpload(t *testing.T) {
	s, _, _ := openTestS3(t, 0)
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	srv := httptest.NewServer(Handler(s, log))
	defer srv.Close()
	const partSize = 5 << 20
	payload := randomBytes(2*partSize+123, 9)

	var created struct {
		UploadID    string `json:"upload_id"`
		Credentials []struct {
			URL        string            `json:"url"`
			PartNumber int               `json:"part_number"`
			Headers    map[string]string `json:"headers"`
		} `json:"credentials"`
	}
	status, body := mpuPost(t, srv, "create", "1/r/artifacts/data", map[string]any{"path": "/home/me/big.bin", "num_parts": 3}, &created)
	if status != http.StatusOK || created.UploadID == "" || len(created.Credentials) != 3 {
		t.Fatalf("mpu/create = %d %s", status, body)
	}
	type part struct {
		PartNumber int    `json:"part_number"`
		ETag       string `json:"etag"`
		URL        string `json:"url"`
	}
	var parts []part
	for i, c := range created.Credentials {
		if c.PartNumber != i+1 || c.Headers == nil {
			t.Errorf("credential %d: %+v", i, c)
		}
		chunk := payload[i*partSize : min(len(payload), (i+1)*partSize)]
		req, _ := http.NewRequest(http.MethodPut, c.URL, bytes.NewReader(chunk))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT part %d = %d %s", c.PartNumber, resp.StatusCode, b)
		}
		parts = append(parts, part{c.PartNumber, resp.Header.Get("ETag"), c.URL})
	}
	// Not there before it is completed.
	if _, err := s.Stat(context.Background(), "1/r/artifacts/data/big.bin"); posml.KindOf(err) != posml.KindNotFound {
		t.Errorf("Stat before completing: %v", err)
	}
	status, body = mpuPost(t, srv, "complete", "1/r/artifacts/data",
		map[string]any{"path": "/home/me/big.bin", "upload_id": created.UploadID, "parts": parts}, nil)
	if status != http.StatusOK || body != "{}" {
		t.Fatalf("mpu/complete = %d %s", status, body)
	}
	if got := readAll(t, s, "1/r/artifacts/data/big.bin"); got != string(payload) {
		t.Errorf("uploaded file: %d bytes, differs from the %d sent", len(got), len(payload))
	}

	// Abort, then completing is refused.
	status, body = mpuPost(t, srv, "create", "1/r/artifacts", map[string]any{"path": `C:\Users\me\x.bin`, "num_parts": "1"}, &created)
	if status != http.StatusOK || len(created.Credentials) != 1 {
		t.Fatalf("mpu/create = %d %s", status, body)
	}
	status, body = mpuPost(t, srv, "abort", "1/r/artifacts", map[string]any{"path": "x.bin", "upload_id": created.UploadID}, nil)
	if status != http.StatusOK || body != "{}" {
		t.Fatalf("mpu/abort = %d %s", status, body)
	}
	if _, err := s.Stat(context.Background(), "1/r/artifacts/x.bin"); posml.KindOf(err) != posml.KindNotFound {
		t.Errorf("Stat after aborting: %v", err)
	}

	// Bad requests.
	for _, tc := range []struct {
		op, dir string
		req     any
		status  int
		msg     string
	}{
		{"create", "1/r/artifacts", map[string]any{"num_parts": 1}, 400, "Missing value for required parameter 'path'"},
		{"create", "1/r/artifacts", nil, 400, "Missing value for required parameter 'path'"},
		{"create", "1/r/artifacts", map[string]any{"path": "d/", "num_parts": 1}, 400, "Invalid path"},
		{"create", "1/r/artifacts", map[string]any{"path": "..", "num_parts": 1}, 400, "Invalid path"},
		{"create", "1/r/artifacts/data/big.bin", map[string]any{"path": "x", "num_parts": 1}, 400, "a parent is a file"},
		{"create", "1/r/artifacts", map[string]any{"path": "data", "num_parts": 1}, 400, "is a directory"},
		{"create", "1/r/artifacts", map[string]any{"path": "x", "num_parts": 10001}, 400, "num_parts"},
		{"create", "1/r/artifacts", map[string]any{"path": "x", "num_parts": "many"}, 400, "Malformed"},
		{"complete", "1/r/artifacts", map[string]any{"path": "x", "upload_id": "u"}, 400, "Missing value for required parameter 'parts'"},
		{"abort", "1/r/artifacts", map[string]any{"path": "x", "upload_id": "no-such-upload"}, 404, "does not exist"},
	} {
		status, body := mpuPost(t, srv, tc.op, tc.dir, tc.req, nil)
		if status != tc.status || !strings.Contains(body, tc.msg) {
			t.Errorf("mpu/%s/%s %v = %d %s; want %d with %q", tc.op, tc.dir, tc.req, status, body, tc.status, tc.msg)
		}
	}
}

// TestS3Ping: the readiness check sees the bucket, and sees it gone.
func TestS3Ping(t *testing.T) {
	ctx := context.Background()
	s, client, bucket := openTestS3(t, 0)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := client.RemoveBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err == nil || !strings.Contains(err.Error(), "bucket "+bucket+" does not exist") {
		t.Errorf("Ping of a removed bucket: %v", err)
	}
}
