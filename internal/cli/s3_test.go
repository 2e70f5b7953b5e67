package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/sqlstore"
)

// motoProcAttr is set where the system can kill moto with the test binary.
var motoProcAttr *syscall.SysProcAttr

// testS3Bucket starts moto's standalone S3 server for the test (with the
// first Python that can import moto.server among POSML_TEST_MOTO_PYTHON,
// python3 and ~/.pyenv/shims/python3), stopped after it, or uses the
// server at POSML_TEST_S3_ENDPOINT; it creates a bucket there and returns
// its name and the environment of the S3 settings. Without a server it
// returns "" and why.
func testS3Bucket(t *testing.T) (bucket string, env map[string]string, why string) {
	t.Helper()
	endpoint, key, secret := os.Getenv("POSML_TEST_S3_ENDPOINT"), os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if endpoint == "" {
		python := ""
		cands := []string{os.Getenv("POSML_TEST_MOTO_PYTHON"), "python3"}
		if home, err := os.UserHomeDir(); err == nil {
			cands = append(cands, filepath.Join(home, ".pyenv", "shims", "python3"))
		}
		for _, c := range cands {
			if c != "" && exec.Command(c, "-c", "import moto.server").Run() == nil {
				python = c
				break
			}
		}
		if python == "" {
			return "", nil, "no Python with moto[server] (POSML_TEST_MOTO_PYTHON) and no POSML_TEST_S3_ENDPOINT"
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		cmd := exec.Command(python, "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		cmd.SysProcAttr = motoProcAttr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		t.Logf("moto's S3 server with %s", python)
		endpoint, key, secret = fmt.Sprintf("http://127.0.0.1:%d", port), "testing", "testing"
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			resp, err := http.Get(endpoint + "/")
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("moto did not start: %v", err)
			}
		}
	}
	client, err := minio.New(strings.TrimPrefix(strings.TrimPrefix(endpoint, "http://"), "https://"), &minio.Options{
		Creds:        credentials.NewStaticV4(key, secret, ""),
		Secure:       strings.HasPrefix(endpoint, "https://"),
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	bucket = fmt.Sprintf("posml-cli-%d-%d", os.Getpid(), time.Now().UnixNano())
	if err := client.MakeBucket(context.Background(), bucket, minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		t.Fatal(err)
	}
	return bucket, map[string]string{
		"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1",
		"MLFLOW_S3_ENDPOINT_URL": endpoint,
	}, ""
}

// TestReadinessPingsS3: /health's check asks the S3 bucket (at most every
// 5 s while it answers, at once after a failure).
func TestReadinessPingsS3(t *testing.T) {
	bucket, env, why := testS3Bucket(t)
	if bucket == "" {
		t.Skip(why)
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(t.TempDir(), "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s3, err := artifact.OpenS3(ctx, artifact.S3Config{Bucket: bucket, Endpoint: env["MLFLOW_S3_ENDPOINT_URL"],
		AccessKeyID: env["AWS_ACCESS_KEY_ID"], SecretAccessKey: env["AWS_SECRET_ACCESS_KEY"]})
	if err != nil {
		t.Fatal(err)
	}
	ready := readiness(st, s3)
	if err := ready(ctx); err != nil {
		t.Fatalf("ready with the bucket there: %v", err)
	}
	u, _ := url.Parse(env["MLFLOW_S3_ENDPOINT_URL"])
	mc, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], ""), Secure: u.Scheme == "https"})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.RemoveBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	var last error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if last = ready(ctx); last != nil {
			break
		}
	}
	if last == nil || !strings.Contains(last.Error(), "bucket "+bucket+" does not exist") {
		t.Errorf("ready after the bucket was removed: %v", last)
	}
}
