package mlflowapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/pgtest"
	"github.com/posml/posml/internal/sqlstore"
)

// The tracking and registry conformance tests run on SQLite and a local
// artifact directory in t.TempDir() by default. TestOnPostgresS3 runs them
// again on a fresh PostgreSQL schema (POSML_TEST_POSTGRES_URL, else it
// skips) and an S3 bucket (POSML_TEST_S3_ENDPOINT, else moto's standalone
// server started with the first Python that has it among
// POSML_TEST_MOTO_PYTHON, python3 and ~/.pyenv/shims/python3; else a local
// directory, and the test says so): openBackend picks the storage by the
// test's name.

// pgS3Test is the test whose subtests run on PostgreSQL and S3.
const pgS3Test = "TestOnPostgresS3"

// TestOnPostgresS3 is the acceptance run of the conformance suite on the
// storage of a scaled-out deployment: PostgreSQL and S3.
func TestOnPostgresS3(t *testing.T) {
	if os.Getenv("POSML_TEST_POSTGRES_URL") == "" {
		t.Skip("POSML_TEST_POSTGRES_URL is not set")
	}
	for _, tc := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"SetExperiment", TestSetExperiment},
		{"StartAndEndRun", TestStartAndEndRun},
		{"LogParamMetricTagAndBatch", TestLogParamMetricTagAndBatch},
		{"NaNAndInfinityRoundTrip", TestNaNAndInfinityRoundTrip},
		{"SklearnAutologAndLogModel2x", TestSklearnAutologAndLogModel2x},
		{"EvaluateFlow", TestEvaluateFlow},
		{"LogModel3x", TestLogModel3x},
		{"SearchRuns", TestSearchRuns},
		{"ExperimentsCRUDAndSearch", TestExperimentsCRUDAndSearch},
		{"MetricHistoryPagingAndBulkInterval", TestMetricHistoryPagingAndBulkInterval},
		{"WireConventions", TestWireConventions},
		{"ArtifactsPathValidation", TestArtifactsPathValidation},
		{"ValidationMessages", TestValidationMessages},
		{"RegistryRoutesUnderBothPrefixes", TestRegistryRoutesUnderBothPrefixes},
		{"RegistryRegisteredModelsHTTP", TestRegistryRegisteredModelsHTTP},
		{"RegistrySearchRegisteredModelsHTTP", TestRegistrySearchRegisteredModelsHTTP},
		{"RegistrySeedSequence", TestRegistrySeedSequence},
		{"RegistryLatestVersionsHTTP", TestRegistryLatestVersionsHTTP},
		{"RegistryModelVersionsHTTP", TestRegistryModelVersionsHTTP},
		{"RegistrySearchModelVersionsHTTP", TestRegistrySearchModelVersionsHTTP},
		{"RegistryAliasesHTTP", TestRegistryAliasesHTTP},
		{"RegistrySourceValidationHTTP", TestRegistrySourceValidationHTTP},
		{"RegistryClientFlow", TestRegistryClientFlow},
		{"RunTokenAttribution", TestRunTokenAttribution},
		{"RunTokenCrossProject", TestRunTokenCrossProject},
		{"RunTokenUnauthenticated", TestRunTokenUnauthenticated},
	} {
		for _, n := range []int{1, 3} {
			t.Run(fmt.Sprintf("replicas=%d/%s", n, tc.name), tc.f)
		}
	}
}

// openBackend opens the store and the artifact store of a test server,
// closed after the test: SQLite and a local directory, or PostgreSQL and
// S3 below TestOnPostgresS3.
func openBackend(t *testing.T) (*sqlstore.Store, artifact.Store) {
	t.Helper()
	return backendFor(t)()
}

// backendFor makes the storage of a test (a database, an artifact
// directory or bucket) and returns how to open it (again, for each
// replica), closed after the test.
func backendFor(t *testing.T) func() (*sqlstore.Store, artifact.Store) {
	t.Helper()
	dir := t.TempDir()
	pgS3 := strings.HasPrefix(t.Name(), pgS3Test+"/")
	dbURL := filepath.Join(dir, "posml.db")
	if pgS3 {
		dbURL = postgresURL(t)
	}
	bucket := ""
	if pgS3 && s3Available(t) {
		bucket = newTestBucket(t)
	}
	return func() (*sqlstore.Store, artifact.Store) {
		t.Helper()
		store, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: dbURL})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		if bucket != "" {
			return store, openTestS3(t, bucket)
		}
		local, err := artifact.OpenLocal(artifact.LocalConfig{Dir: filepath.Join(dir, "artifacts")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { local.Close() })
		return store, local
	}
}

// replicasOf is how many server replicas test t runs: the N of
// TestOnPostgresS3/replicas=N/..., else 1.
func replicasOf(t *testing.T) int {
	parts := strings.Split(t.Name(), "/")
	if len(parts) > 1 && parts[0] == pgS3Test {
		if n, err := strconv.Atoi(strings.TrimPrefix(parts[1], "replicas=")); err == nil && n > 0 {
			return n
		}
	}
	return 1
}

// postgresURL is pgtest.URL.
func postgresURL(t *testing.T) string { return pgtest.URL(t) }

// motoSysProcAttr is set where the system can kill moto with its parent.
var motoSysProcAttr *syscall.SysProcAttr

// testS3 is the S3 server of the tests, started at most once.
var testS3 struct {
	once                  sync.Once
	endpoint, key, secret string
	cmd                   *exec.Cmd
	none                  string // why there is none
	buckets               atomic.Int64
}

func TestMain(m *testing.M) {
	code := m.Run()
	if c := testS3.cmd; c != nil {
		_ = c.Process.Kill()
		_ = c.Wait()
	}
	os.Exit(code)
}

// s3Available starts the test S3 server if needed and reports whether
// there is one; without, it logs why.
func s3Available(t *testing.T) bool {
	testS3.once.Do(startTestS3)
	if testS3.none != "" {
		t.Logf("local artifact store: no S3 server: %s", testS3.none)
		return false
	}
	return true
}

func startTestS3() {
	if ep := os.Getenv("POSML_TEST_S3_ENDPOINT"); ep != "" {
		testS3.endpoint, testS3.key, testS3.secret = ep, os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		return
	}
	var python string
	var whys []string
	cands := []string{os.Getenv("POSML_TEST_MOTO_PYTHON"), "python3"}
	if home, err := os.UserHomeDir(); err == nil {
		cands = append(cands, filepath.Join(home, ".pyenv", "shims", "python3"))
	}
	for _, c := range append(cands, "/root/.pyenv/shims/python3") {
		if c == "" {
			continue
		}
		out, err := exec.Command(c, "-c", "import moto.server").CombinedOutput()
		if err == nil {
			python = c
			break
		}
		whys = append(whys, fmt.Sprintf("%s: %v %s", c, err, lastLine(out)))
	}
	if python == "" {
		testS3.none = "set POSML_TEST_S3_ENDPOINT, or POSML_TEST_MOTO_PYTHON to a Python with moto[server] (" + strings.Join(whys, "; ") + ")"
		return
	}
	fmt.Fprintf(os.Stderr, "mlflowapi tests: moto's S3 server with %s\n", python)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		testS3.none = "no free port for moto: " + err.Error()
		return
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(python, "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = motoSysProcAttr
	if err := cmd.Start(); err != nil {
		testS3.none = "cannot start moto: " + err.Error()
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
			testS3.none = "moto did not start listening within 30 s: " + err.Error()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func lastLine(b []byte) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return string(lines[len(lines)-1])
}

// newTestBucket creates a new bucket on the test server.
func newTestBucket(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	host := strings.TrimPrefix(strings.TrimPrefix(testS3.endpoint, "http://"), "https://")
	client, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(testS3.key, testS3.secret, ""),
		Secure:       strings.HasPrefix(testS3.endpoint, "https://"),
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	bucket := fmt.Sprintf("posml-mlflowapi-%d-%d", os.Getpid(), testS3.buckets.Add(1))
	if err := client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		t.Fatal(err)
	}
	return bucket
}

// openTestS3 opens an S3 artifact store on bucket of the test server,
// below a prefix.
func openTestS3(t *testing.T, bucket string) *artifact.S3 {
	t.Helper()
	s, err := artifact.OpenS3(context.Background(), artifact.S3Config{
		Bucket: bucket, Prefix: "mlflow", Endpoint: testS3.endpoint,
		AccessKeyID: testS3.key, SecretAccessKey: testS3.secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
