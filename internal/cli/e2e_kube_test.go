package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/posml/posml/internal/restapi"
)

// TestPipelineOnKubernetes is issue 9's acceptance test for the
// kubernetes backend "up to pod completion": the end-to-end test's
// project (posml init --lite), unchanged but for its executor: section,
// runs through `posml server --kube-config` against the test control plane
// (scripts/kube.sh: kube-apiserver, controller-manager, scheduler, etcd and
// kwok's fake nodes, one with 2 GPUs). kwok completes pods without running
// them, so the test checks what posml hands the cluster: a Job per attempt
// whose pod gets the checkout with the same train.py, the system config
// with the cluster-facing tracking URI, the run token as a Secret, the GPU
// limit, and the run's result from the Job; a 3-GPU project fails as
// unschedulable with the scheduler's reason.
func TestPipelineOnKubernetes(t *testing.T) {
	kubeconfig := os.Getenv("POSML_TEST_KUBECONFIG")
	if kubeconfig == "" {
		if os.Getenv("POSML_TEST_PYTHON") != "" && os.Getenv("CI") != "" {
			t.Fatal("POSML_TEST_KUBECONFIG is not set: scripts/test.sh starts the test control plane with scripts/kube.sh")
		}
		t.Skip(`POSML_TEST_KUBECONFIG is not set (eval "$(scripts/kube.sh)" starts a test control plane)`)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kc := kubernetes.NewForConfigOrDie(rc)
	ctx := context.Background()
	ns := fmt.Sprintf("posml-e2e-%d", time.Now().UnixNano()%1_000_000)
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kc.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		// Pods need the namespace's default service account.
		if _, err := kc.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("namespace %s has no default service account after 20 s: %v", ns, err)
		}
	}

	dir := t.TempDir()
	const image = "registry.example.com/ml/iris:1.4"
	section := func(gpu int) string {
		return fmt.Sprintf("executor:\n  backend: kubernetes\n  image: %s\n  namespace: %s\n  resources: {cpu: 500m, memory: 256Mi, gpu: %d}\n"+
			"  tolerations:\n    - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}\n", image, ns, gpu)
	}
	projects := map[string]int{"kiris": 1, "kbig": 3} // name → GPUs
	trainPy := map[string][]byte{}
	for name, gpu := range projects {
		repo := filepath.Join(dir, name)
		if out, errOut, code := run(t, "init", "--lite", name, "--dir", repo); code != 0 {
			t.Fatalf("posml init --lite %s: exit %d\n%s%s", name, code, out, errOut)
		}
		cfgPath := filepath.Join(repo, "src", "config.yaml")
		b, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		// No schedules: the runs below start by hand.
		cfg := strings.ReplaceAll(string(b), `: "2024-01-01 00:00:00"`, `: "2099-01-01 00:00:00"`)
		if cfg == string(b) {
			t.Fatalf("the scaffold's config has no start date 2024-01-01 00:00:00 to move:\n%s", b)
		}
		if gpu > 2 {
			cfg += "retries: 0\n" // no retry two minutes later: the node will not grow a GPU
		}
		writeFiles(t, repo, map[string]string{"src/config.yaml": cfg + section(gpu)})
		gitCommit(t, repo)
		if trainPy[name], err = os.ReadFile(filepath.Join(repo, "src", "train.py")); err != nil {
			t.Fatal(err)
		}
	}

	const clusterURI = "http://posml.posml-system.svc:5000"
	base := e2eServer(t, "--data-dir", filepath.Join(dir, "data"), "--python", testPython(),
		"--kube-config", kubeconfig, "--kube-tracking-uri", clusterURI, "--kube-unschedulable-timeout", "3s", "--max-gpus", "4")
	cli := func(args ...string) string {
		t.Helper()
		out, errOut, code := run(t, append(args, "--url", base)...)
		if code != 0 {
			t.Fatalf("posml %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	runOf := func(name string) restapi.Run {
		t.Helper()
		cli("project", "add", filepath.Join(dir, name))
		start := time.Now()
		out, errOut, code := run(t, "run", name, "--wait", "--json", "--url", base)
		var r restapi.Run
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("posml run %s --wait --json: exit %d, %v\n%s%s", name, code, err, out, errOut)
		}
		t.Logf("run of %s: %s in %v", name, r.State, time.Since(start).Round(time.Millisecond))
		return r
	}

	// ---- one GPU: the Job completes, the run succeeds ----
	r := runOf("kiris")
	if r.State != "succeeded" || len(r.AttemptList) != 1 {
		t.Fatalf("run of kiris: %s (%s), attempts %+v; want succeeded after one attempt", r.State, r.Reason, r.AttemptList)
	}
	where := r.AttemptList[0].Where
	jobNS, jobName, ok := strings.Cut(strings.TrimPrefix(where, "kubernetes:"), "/")
	if !strings.HasPrefix(where, "kubernetes:") || !ok || jobNS != ns {
		t.Fatalf("attempt ran at %q; want a Job in namespace %s", where, ns)
	}
	job, err := kc.BatchV1().Jobs(ns).Get(ctx, jobName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the attempt's Job %s: %v", where, err)
	}
	spec := job.Spec.Template.Spec
	if job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 0 || job.Spec.ActiveDeadlineSeconds == nil || *job.Spec.ActiveDeadlineSeconds != 3600 {
		t.Errorf("Job %s: backoffLimit %v, activeDeadlineSeconds %v; want 0 and 3600 (train_timeout 60m)", jobName, job.Spec.BackoffLimit, job.Spec.ActiveDeadlineSeconds)
	}
	if len(spec.Containers) != 1 || spec.Containers[0].Image != image {
		t.Fatalf("Job %s: containers %+v; want one of image %s", jobName, spec.Containers, image)
	}
	c := spec.Containers[0]
	if q := c.Resources.Limits["nvidia.com/gpu"]; q.Value() != 1 {
		t.Errorf("GPU limit %v; want 1", q.String())
	}
	if len(spec.Tolerations) != 1 || spec.Tolerations[0].Key != "nvidia.com/gpu" {
		t.Errorf("tolerations %+v; want the config's", spec.Tolerations)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if env["MLFLOW_TRACKING_URI"].Value != clusterURI || env["POSML_RUN_ID"].Value != r.ID || env["POSML_PROJECT"].Value != "kiris" {
		t.Errorf("pod env %+v; want the tracking URI %s and the run's ids", c.Env, clusterURI)
	}
	if tok := env["MLFLOW_TRACKING_TOKEN"]; tok.Value != "" || tok.ValueFrom == nil || tok.ValueFrom.SecretKeyRef == nil {
		t.Errorf("MLFLOW_TRACKING_TOKEN %+v; want it from a Secret, never in the pod spec", tok)
	}
	// The checkout the pod gets: the repository's own train.py, and the
	// system config that points it at the cluster-facing URI.
	secretName := tok(env["MLFLOW_TRACKING_TOKEN"])
	sec, err := kc.CoreV1().Secrets(ns).Get(ctx, secretName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the attempt's Secret %s: %v", secretName, err)
	}
	files := untar(t, sec.Data["bundle.tar.gz"])
	if !bytes.Equal(files["src/train.py"], trainPy["kiris"]) {
		t.Errorf("the bundle's src/train.py differs from the repository's (%d files: %v)", len(files), keys(files))
	}
	if !strings.Contains(string(files["config.yaml"]), `tracking_uri: "`+clusterURI+`"`) {
		t.Errorf("the bundle's system config.yaml does not point at %s:\n%s", clusterURI, files["config.yaml"])
	}

	// ---- three GPUs on a cluster whose node has two: unschedulable ----
	r = runOf("kbig")
	t.Logf("run of kbig: %s", r.Reason)
	if r.State != "failed" || !strings.Contains(r.Reason+fmt.Sprint(r.AttemptList), "Insufficient nvidia.com/gpu") {
		t.Errorf("run of kbig: %s (%s), attempts %+v; want failed: Insufficient nvidia.com/gpu", r.State, r.Reason, r.AttemptList)
	}
	for _, a := range r.AttemptList {
		if _, name, _ := strings.Cut(strings.TrimPrefix(a.Where, "kubernetes:"), "/"); name != "" {
			if _, err := kc.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
				t.Errorf("the unschedulable attempt's Job %s is still there", name)
			}
		}
	}
}

// tok is the Secret an env var is read from.
func tok(e corev1.EnvVar) string {
	if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
		return ""
	}
	return e.ValueFrom.SecretKeyRef.Name
}

// untar reads a .tar.gz into a map of regular files.
func untar(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("bundle: %v", err)
	}
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("bundle: %v", err)
		}
		if h.Typeflag == tar.TypeReg {
			out[strings.TrimPrefix(h.Name, "./")], _ = io.ReadAll(tr)
		}
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
