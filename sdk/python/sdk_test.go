package pythonsdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/posml/posml/internal/scaffold"
)

// irisMart is the mart id of the seed's example project.
const irisMart = "dm_f_20085_2212_142"

func testPython(t *testing.T) string {
	t.Helper()
	py := os.Getenv("POSML_TEST_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if _, err := exec.LookPath(py); err != nil {
		t.Skipf("needs %s (POSML_TEST_PYTHON overrides): %v", py, err)
	}
	for _, m := range []string{"pandas", "sklearn", "yaml"} {
		if err := exec.Command(py, "-c", "import "+m).Run(); err != nil {
			t.Skipf("needs the Python module %s in %s (apt-get install python3-pandas python3-sklearn python3-yaml)", m, py)
		}
	}
	return py
}

func TestInstall(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	paths := make([]string, 4)
	errs := make([]error, 4)
	for i := range paths {
		wg.Add(1)
		go func() { // waited for just below
			defer wg.Done()
			paths[i], errs[i] = Install(dir)
		}()
	}
	wg.Wait()
	for i := range paths {
		if errs[i] != nil {
			t.Fatalf("Install: %v", errs[i])
		}
		if paths[i] != paths[0] {
			t.Fatalf("Install returned %s and %s", paths[0], paths[i])
		}
	}
	if want := filepath.Join(dir, "python-sdk-"+Version()); paths[0] != want {
		t.Errorf("Install = %s; want %s", paths[0], want)
	}
	var got []string
	err := filepath.WalkDir(paths[0], func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(paths[0], p)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "posml/__init__.py posml/_http.py posml/config.py posml/marts.py posml/tracking.py workbenchPy.py"
	if strings.Join(got, " ") != want {
		t.Errorf("installed files %v; want %s", got, want)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("Install left %d entries in %s; want 1 (no temporary directories)", len(entries), dir)
	}
	src, _ := os.ReadFile(filepath.Join("posml", "tracking.py"))
	inst, _ := os.ReadFile(filepath.Join(paths[0], "posml", "tracking.py"))
	if !bytes.Equal(src, inst) {
		t.Error("installed posml/tracking.py differs from the source")
	}
}

// TestPython runs the SDK's unittest suite (tests/) with the installed SDK
// against a real posml server holding the iris mart.
func TestPython(t *testing.T) {
	py := testPython(t)
	url := startServer(t)
	sdk, err := Install(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mart := createIrisMart(t, py, url)
	cmd := exec.Command(py, "-m", "unittest", "discover", "-v", "-s", "tests")
	cmd.Env = append(os.Environ(), "POSML_TEST_URL="+url, "POSML_TEST_MART="+mart, "POSML_TEST_SDK="+sdk,
		"PYTHONDONTWRITEBYTECODE=1", "POSML_URL=", "MLFLOW_TRACKING_URI=", "MLFLOW_TRACKING_TOKEN=", "POSML_TOKEN=")
	out, err := cmd.CombinedOutput()
	t.Logf("python -m unittest:\n%s", out)
	if err != nil {
		t.Fatalf("python -m unittest: %v", err)
	}
	// Only the mart test may be skipped, and only while the server has no marts API.
	for _, m := range regexp.MustCompile(`(?m)^(\S+ \(\S+\)).*\.\.\. skipped '(.*)'$`).FindAllStringSubmatch(string(out), -1) {
		if mart != "" || !strings.Contains(m[2], "no marts endpoint") {
			t.Errorf("%s skipped: %s", m[1], m[2])
		}
	}
}

// TestLiteTrainEndToEnd runs a `posml init --lite` project's src/train.py
// twice with the installed SDK against a real server: the first run
// registers version 1 as the champion, the second (same data, same
// scores) holds it.
func TestLiteTrainEndToEnd(t *testing.T) {
	py := testPython(t)
	url := startServer(t)
	sdk, err := Install(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mart := createIrisMart(t, py, url)
	dir := filepath.Join(t.TempDir(), "iris-lite")
	if _, err := scaffold.WriteWith(dir, "iris-lite", scaffold.Options{Lite: true}); err != nil {
		t.Fatal(err)
	}
	system := fmt.Sprintf("mart_id: %s\nmlflow:\n  tracking_uri: %s\n  experiment_name: iris-lite-exp\n  register_model: iris-lite-model\n", mart, url)
	if mart == "" {
		system = strings.Replace(system, "mart_id: \n", "", 1)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(system), 0o644); err != nil {
		t.Fatal(err)
	}
	train := func() string {
		t.Helper()
		cmd := exec.Command(py, "src/train.py")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PYTHONPATH="+sdk, "PYTHONDONTWRITEBYTECODE=1", "POSML_URL="+url,
			"MLFLOW_TRACKING_URI=", "MLFLOW_TRACKING_TOKEN=", "POSML_TOKEN=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("python src/train.py: %v\n%s", err, out)
		}
		return string(out)
	}
	out := train()
	t.Logf("run 1:\n%s", out)
	if n := len(regexp.MustCompile(`(?m)^run [0-9a-f]{32} `).FindAllString(out, -1)); n != 3 || !strings.Contains(out, "iris-lite-model: version 1 is the new champion") {
		t.Errorf("run 1 output: want 3 runs and version 1 as champion")
	}
	out = train()
	t.Logf("run 2:\n%s", out)
	if !strings.Contains(out, "iris-lite-model: the champion stays (version 1)") {
		t.Errorf("run 2 output: want the champion to stay")
	}

	var alias struct {
		ModelVersion struct {
			Version string `json:"version"`
			Source  string `json:"source"`
			RunID   string `json:"run_id"`
			Status  string `json:"status"`
		} `json:"model_version"`
	}
	getJSON(t, url+"/api/2.0/mlflow/registered-models/alias?name=iris-lite-model&alias=champion", &alias)
	mv := alias.ModelVersion
	if mv.Version != "1" || mv.Status != "READY" || !strings.HasPrefix(mv.Source, "mlflow-artifacts:/") || !strings.HasSuffix(mv.Source, "/"+mv.RunID+"/artifacts/models") {
		t.Errorf("champion = %+v; want version 1, READY, source <run artifacts>/models", mv)
	}
	var run struct {
		Run struct {
			Data struct {
				Params []struct{ Key, Value string } `json:"params"`
				Tags   []struct{ Key, Value string } `json:"tags"`
			} `json:"data"`
			Inputs struct {
				DatasetInputs []struct {
					Dataset struct{ Name, Digest string } `json:"dataset"`
				} `json:"dataset_inputs"`
			} `json:"inputs"`
		} `json:"run"`
	}
	getJSON(t, url+"/api/2.0/mlflow/runs/get?run_id="+mv.RunID, &run)
	if mart != "" {
		var names []string
		for _, in := range run.Run.Inputs.DatasetInputs {
			names = append(names, in.Dataset.Name)
		}
		if len(names) != 1 || names[0] != mart {
			t.Errorf("champion run's dataset inputs %v; want the mart %s", names, mart)
		}
	}
	params := map[string]string{}
	for _, p := range run.Run.Data.Params {
		params[p.Key] = p.Value
	}
	if params["n_neighbors"] == "" {
		t.Errorf("champion run params %v; want n_neighbors", params)
	}
	var files struct {
		Files []struct {
			Path string `json:"path"`
		} `json:"files"`
	}
	exp := strings.TrimPrefix(strings.TrimSuffix(mv.Source, "/models"), "mlflow-artifacts:/")
	getJSON(t, url+"/api/2.0/mlflow-artifacts/artifacts?path="+exp+"/models", &files)
	if len(files.Files) != 5 {
		t.Errorf("models/ holds %+v; want MLmodel, model.pkl, conda.yaml, python_env.yaml, requirements.txt", files.Files)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, b)
	}
}

// createIrisMart uploads scikit-learn's iris data set, in its order, as the
// mart irisMart and returns its id, or "" when the server has no marts API.
func createIrisMart(t *testing.T, py, url string) string {
	t.Helper()
	csv, err := exec.Command(py, "-c", `
import csv, sys
from sklearn.datasets import load_iris
b = load_iris()
w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow(["sepal_length", "sepal_width", "petal_length", "petal_width", "variety"])
for row, target in zip(b.data, b.target):
    w.writerow([repr(float(v)) for v in row] + [b.target_names[target]])
`).Output()
	if err != nil {
		t.Fatalf("iris CSV: %v", err)
	}
	req, err := http.NewRequest(http.MethodPut, url+"/api/posml/marts/"+irisMart+"/file?name=iris.csv", bytes.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNotFound && strings.Contains(string(body), "no endpoint") {
		t.Logf("the server has no marts API yet: the mart tests are skipped")
		return ""
	}
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT the iris mart: %s\n%s", resp.Status, body)
	}
	return irisMart
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.bin != "" {
		os.RemoveAll(filepath.Dir(build.bin)) // the binary buildPosml made
	}
	os.Exit(code)
}

var build struct {
	once sync.Once
	bin  string
	err  error
}

// buildPosml builds cmd/posml once for all the tests of the package.
func buildPosml(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "posml-sdk-test-")
		if err != nil {
			build.err = err
			return
		}
		build.bin = filepath.Join(dir, "posml")
		if out, err := exec.Command("go", "build", "-o", build.bin, "github.com/posml/posml/cmd/posml").CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/posml: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

// startServer builds cmd/posml, starts `posml server` on a free loopback
// port with a temporary data directory, waits until /health answers and
// returns its base URL. The server is stopped when the test ends.
func startServer(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	bin := buildPosml(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // the server binds it again just below
	logPath := filepath.Join(tmp, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "server", "--addr", addr, "--data-dir", filepath.Join(tmp, "data"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }() // received by the cleanup below
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("posml server did not stop within 10 s of SIGTERM")
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("posml server log:\n%s", b)
		}
	})
	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("posml server exited before answering /health: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("posml server did not answer %s/health within 30 s (last error %v)", url, err)
		}
	}
}
