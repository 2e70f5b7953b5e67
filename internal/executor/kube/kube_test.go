package kube

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/executor"
)

// project makes a project checkout as the runner prepares it.
func project(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"src/train.py":                 "print('training')\n",
		"config.yaml":                  "run_id: 42\n",
		".posml/sdk/posml/__init__.py": "",
		".git/HEAD":                    "ref: refs/heads/main\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testSpec(t testing.TB) executor.Spec {
	dir := project(t)
	return executor.Spec{
		AttemptID: "42/1",
		Dir:       dir,
		Python:    "/usr/bin/python3",
		Args:      []string{"src/train.py"},
		Env:       []string{"PYTHONUNBUFFERED=1"},
		LogPath:   filepath.Join(t.TempDir(), "logs", "attempt.log"),
		Placement: executor.Placement{Backend: Name, Image: "python:3.12-slim"},
	}
}

func fakeBackend(cfg Config) (*Backend, *fake.Clientset) {
	cs := fake.NewClientset()
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	return newBackend(cfg, clientsetAPI{cs}), cs
}

// started starts s and returns its handle and its Job as the API server
// holds it.
func started(t *testing.T, b *Backend, cs *fake.Clientset, s executor.Spec) (*handle, *batchv1.Job) {
	t.Helper()
	h, err := b.Start(context.Background(), s)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		h.Cancel("test over")
		h.Wait()
	})
	kh := h.(*handle)
	job, err := cs.BatchV1().Jobs(kh.ns).Get(context.Background(), kh.name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get job: %v", err)
	}
	return kh, job
}

func TestRender(t *testing.T) {
	b, cs := fakeBackend(Config{Namespace: "ml", TrackingURI: "http://posml.posml.svc:5000", TTLAfterFinished: 10 * time.Minute})
	s := testSpec(t)
	s.Timeout = 90500 * time.Millisecond
	s.KillGrace = 5 * time.Second
	s.Args = []string{"src/train.py", "--out=" + s.Dir + "/out"}
	s.Env = []string{
		"PATH=/usr/local/bin:/usr/bin",
		"HOME=/var/lib/posml",
		"MLFLOW_TRACKING_URI=http://127.0.0.1:5000",
		"MLFLOW_TRACKING_TOKEN=tok-123",
		"DB_PASSWORD=pw",
		"api_secret=s3",
		"PYTHONPATH=" + s.Dir + "/.posml/sdk:" + s.Dir,
		"SIBLING=" + s.Dir + "-old/x",
		"PYTHONUNBUFFERED=1",
		"LANG=C",
		"LANG=C.UTF-8",
	}
	s.Placement = executor.Placement{
		Backend:        Name,
		Image:          "ghcr.io/acme/train:1",
		CPU:            "1500m",
		Memory:         "2Gi",
		GPU:            2,
		NodeSelector:   map[string]string{"gpu": "a100"},
		Tolerations:    []executor.Toleration{{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoSchedule"}},
		Namespace:      "team-a",
		ServiceAccount: "trainer",
		ExtraArgs:      []string{"--epochs", "3"},
	}
	h, job := started(t, b, cs, s)

	if h.Ref() != "kubernetes:team-a/"+job.Name || h.PID() != 0 {
		t.Errorf("Ref, PID = %q, %d; want kubernetes:team-a/%s, 0", h.Ref(), h.PID(), job.Name)
	}
	if !regexp.MustCompile(`^posml-42-1-[a-z0-9]{5}$`).MatchString(job.Name) {
		t.Errorf("job name %q; want posml-42-1-xxxxx", job.Name)
	}
	if got, want := job.Labels, map[string]string{managedByLabel: "posml", attemptLabel: "42-1"}; !cmp.Equal(got, want) {
		t.Errorf("job labels: %v", cmp.Diff(want, got))
	}
	js := job.Spec
	if *js.BackoffLimit != 0 || *js.ActiveDeadlineSeconds != 91 || *js.TTLSecondsAfterFinished != 600 {
		t.Errorf("backoffLimit, activeDeadlineSeconds, ttl = %d, %d, %d; want 0, 91, 600",
			*js.BackoffLimit, *js.ActiveDeadlineSeconds, *js.TTLSecondsAfterFinished)
	}
	ps := js.Template.Spec
	if ps.RestartPolicy != corev1.RestartPolicyNever || ps.ServiceAccountName != "trainer" || *ps.TerminationGracePeriodSeconds != 5 || *ps.EnableServiceLinks {
		t.Errorf("pod spec: restartPolicy %s, serviceAccount %q, grace %d, serviceLinks %v",
			ps.RestartPolicy, ps.ServiceAccountName, *ps.TerminationGracePeriodSeconds, *ps.EnableServiceLinks)
	}
	if js.Template.Labels[jobLabel] != job.Name {
		t.Errorf("pod label %s = %q; want %q", jobLabel, js.Template.Labels[jobLabel], job.Name)
	}
	if diff := cmp.Diff(map[string]string{"gpu": "a100"}, ps.NodeSelector); diff != "" {
		t.Errorf("nodeSelector (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]corev1.Toleration{{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoSchedule"}}, ps.Tolerations); diff != "" {
		t.Errorf("tolerations (-want +got):\n%s", diff)
	}

	c := ps.Containers[0]
	if want := []string{"python3", "src/train.py", "--out=/workspace/out", "--epochs", "3"}; !cmp.Equal(c.Command, want) {
		t.Errorf("command %q; want %q", c.Command, want)
	}
	if c.WorkingDir != Workspace || c.Image != "ghcr.io/acme/train:1" {
		t.Errorf("workingDir, image = %q, %q", c.WorkingDir, c.Image)
	}
	q := resource.MustParse
	wantRes := corev1.ResourceList{"cpu": q("1500m"), "memory": q("2Gi"), "nvidia.com/gpu": q("2")}
	for name, want := range wantRes {
		if got := c.Resources.Limits[name]; got.Cmp(want) != 0 {
			t.Errorf("limits[%s] = %s; want %s", name, got.String(), want.String())
		}
		if got := c.Resources.Requests[name]; got.Cmp(want) != 0 {
			t.Errorf("requests[%s] = %s; want %s", name, got.String(), want.String())
		}
	}
	secretRef := func(key string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: job.Name}, Key: key}}
	}
	wantEnv := []corev1.EnvVar{
		{Name: "MLFLOW_TRACKING_URI", Value: "http://posml.posml.svc:5000"},
		{Name: "MLFLOW_TRACKING_TOKEN", ValueFrom: secretRef("env.MLFLOW_TRACKING_TOKEN")},
		{Name: "DB_PASSWORD", ValueFrom: secretRef("env.DB_PASSWORD")},
		{Name: "api_secret", ValueFrom: secretRef("env.api_secret")},
		{Name: "PYTHONPATH", Value: "/workspace/.posml/sdk:/workspace"},
		{Name: "SIBLING", Value: s.Dir + "-old/x"},
		{Name: "PYTHONUNBUFFERED", Value: "1"},
		{Name: "LANG", Value: "C.UTF-8"},
	}
	if diff := cmp.Diff(wantEnv, c.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}

	ic := ps.InitContainers[0]
	if want := []string{"python3", "-c", unpackScript, "/posml/bundle/bundle.tar.gz", "/workspace"}; !cmp.Equal(ic.Command, want) {
		t.Errorf("init command %q; want %q", ic.Command, want)
	}
	if _, ok := ic.Resources.Limits[gpuResource]; ok || ic.Image != c.Image {
		t.Errorf("init container: image %q, limits %v; want the main image, no GPU", ic.Image, ic.Resources.Limits)
	}

	sec, err := cs.CoreV1().Secrets("team-a").Get(context.Background(), job.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get secret: %v", err)
	}
	if len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].Kind != "Job" || sec.OwnerReferences[0].Name != job.Name {
		t.Errorf("secret owners %+v; want the Job", sec.OwnerReferences)
	}
	for key, want := range map[string]string{"env.MLFLOW_TRACKING_TOKEN": "tok-123", "env.DB_PASSWORD": "pw", "env.api_secret": "s3"} {
		if got := string(sec.Data[key]); got != want {
			t.Errorf("secret[%s] = %q; want %q", key, got, want)
		}
	}
	if len(sec.Data[bundleKey]) == 0 {
		t.Errorf("secret has no %s", bundleKey)
	}
	// No secret value appears in plain text in the Job.
	raw := job.String()
	for _, v := range []string{"tok-123", "=pw", "s3\""} {
		if strings.Contains(raw, v) {
			t.Errorf("job spec contains secret %q", v)
		}
	}
}

func TestRenderDefaults(t *testing.T) {
	b, cs := fakeBackend(Config{DefaultImage: "python:3.12", Python: "/opt/py/bin/python"})
	s := testSpec(t)
	s.Placement = executor.Placement{Backend: Name}
	s.Env = []string{"MLFLOW_TRACKING_URI=http://localhost:5000"}
	h, job := started(t, b, cs, s)
	ps := job.Spec.Template.Spec
	c := ps.Containers[0]
	if job.Namespace != "default" || c.Image != "python:3.12" || c.Command[0] != "/opt/py/bin/python" || ps.InitContainers[0].Command[0] != "/opt/py/bin/python" {
		t.Errorf("namespace %q, image %q, command %q", job.Namespace, c.Image, c.Command)
	}
	if job.Spec.ActiveDeadlineSeconds != nil || *job.Spec.TTLSecondsAfterFinished != 3600 || *ps.TerminationGracePeriodSeconds != 10 {
		t.Errorf("activeDeadlineSeconds %v, ttl %d, grace %d; want none, 3600, 10",
			job.Spec.ActiveDeadlineSeconds, *job.Spec.TTLSecondsAfterFinished, *ps.TerminationGracePeriodSeconds)
	}
	if c.Resources.Limits != nil || c.Resources.Requests != nil {
		t.Errorf("resources %+v; want none", c.Resources)
	}
	if diff := cmp.Diff([]corev1.EnvVar{{Name: "MLFLOW_TRACKING_URI", Value: "http://localhost:5000"}}, c.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	h.Cancel("done")
	h.Wait()
	if log := readLog(t, s.LogPath); !strings.Contains(log, "posml: warning: MLFLOW_TRACKING_URI is http://localhost:5000, which the pod cannot reach") {
		t.Errorf("log has no warning about the tracking URI:\n%s", log)
	}
}

func TestStartInvalid(t *testing.T) {
	big := func(s *executor.Spec) {
		data := make([]byte, 64<<10) // random: gzip cannot shrink it
		rand.Read(data)
		if err := os.WriteFile(filepath.Join(s.Dir, "data.bin"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		cfg  Config
		mod  func(*executor.Spec)
		want string
	}{
		{"no image", Config{}, func(s *executor.Spec) { s.Placement.Image = "" }, "kubernetes: no image"},
		{"bad cpu", Config{}, func(s *executor.Spec) { s.Placement.CPU = "two" }, `executor cpu "two" is not a Kubernetes quantity`},
		{"bad memory", Config{}, func(s *executor.Spec) { s.Placement.Memory = "4GB!" }, `executor memory "4GB!" is not a Kubernetes quantity`},
		{"negative memory", Config{}, func(s *executor.Spec) { s.Placement.Memory = "-1Gi" }, `executor memory "-1Gi"`},
		{"negative gpu", Config{}, func(s *executor.Spec) { s.Placement.GPU = -1 }, "executor gpu -1 is negative"},
		{"bundle too big", Config{MaxBundle: 32 << 10}, big, "the project's files are 65 KiB compressed, more than the 32 KiB a bundle may hold"},
		{"no dir", Config{}, func(s *executor.Spec) { s.Dir = filepath.Join(s.Dir, "missing") }, "working directory"},
		{"no log", Config{}, func(s *executor.Spec) { s.LogPath = "" }, "no log path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, cs := fakeBackend(tt.cfg)
			s := testSpec(t)
			tt.mod(&s)
			h, err := b.Start(context.Background(), s)
			if err == nil {
				h.Cancel("test")
				h.Wait()
				t.Fatalf("Start succeeded; want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || posml.KindOf(err) != posml.KindInvalid {
				t.Errorf("Start: %v (kind %s); want kind invalid, containing %q", err, posml.KindOf(err), tt.want)
			}
			if jobs, _ := cs.BatchV1().Jobs("").List(context.Background(), metav1.ListOptions{}); len(jobs.Items) != 0 {
				t.Errorf("Start made %d jobs", len(jobs.Items))
			}
		})
	}
}

func TestStartRefused(t *testing.T) {
	b, cs := fakeBackend(Config{})
	cs.PrependReactor("create", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("admission webhook denied the request: no GPUs for you")
	})
	s := testSpec(t)
	h, err := b.Start(context.Background(), s)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	res := h.Wait()
	if res.State != executor.Failed || res.Err == nil || !strings.Contains(res.Err.Error(), "no GPUs for you") {
		t.Errorf("result %+v; want failed with the API server's reason", res)
	}
	if secrets, _ := cs.CoreV1().Secrets("").List(context.Background(), metav1.ListOptions{}); len(secrets.Items) != 0 {
		t.Errorf("%d secrets left behind", len(secrets.Items))
	}
	if log := readLog(t, s.LogPath); !strings.Contains(log, "posml: failed: create job default/posml-42-1-") {
		t.Errorf("log:\n%s", log)
	}
}

func TestJobName(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	for _, id := range []string{"42/1", "", "///", "Run_ÄÖ/7", strings.Repeat("very-long-attempt-", 10) + "/3"} {
		n := jobName(id)
		if len(n) > maxJobName || !re.MatchString(n) {
			t.Errorf("jobName(%q) = %q; want a DNS-1123 label of at most %d", id, n, maxJobName)
		}
		if jobName(id) == n {
			t.Errorf("jobName(%q) twice gave %q", id, n)
		}
		if v := labelValue(id); len(v) > 63 || (v != "" && !regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`).MatchString(v)) {
			t.Errorf("labelValue(%q) = %q", id, v)
		}
	}
}

func TestRewriteDir(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/w/run", "/workspace"},
		{"/w/run/.posml/sdk:/w/run", "/workspace/.posml/sdk:/workspace"},
		{"/w/runs/x", "/w/runs/x"},
		{"/w/run-1:/w/run", "/w/run-1:/workspace"},
		{"nothing", "nothing"},
	}
	for _, tt := range tests {
		if got := rewriteDir(tt.in, "/w/run"); got != tt.want {
			t.Errorf("rewriteDir(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestRef(t *testing.T) {
	ns, name, err := ParseRef(Ref("ml", "posml-1-1-abcde"))
	if err != nil || ns != "ml" || name != "posml-1-1-abcde" {
		t.Errorf("ParseRef(Ref(...)) = %q, %q, %v", ns, name, err)
	}
	for _, bad := range []string{"", "kubernetes:", "kubernetes:ml", "kubernetes:/x", "slurm:12", "kubernetes:a/b/c"} {
		if _, _, err := ParseRef(bad); posml.KindOf(err) != posml.KindInvalid {
			t.Errorf("ParseRef(%q) = %v; want an invalid error", bad, err)
		}
	}
}

func readLog(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
