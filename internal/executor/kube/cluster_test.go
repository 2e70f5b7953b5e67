package kube

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/executor"
)

// The tests below run against the control plane POSML_TEST_KUBECONFIG
// names (scripts/kube.sh starts one, with kwok faking a node of 2
// nvidia.com/gpu: pods run no containers and have no logs).

// realCluster returns a Backend on the test cluster and a namespace of
// the test's own, deleted at its end.
func realCluster(tb testing.TB, cfg Config) (*Backend, kubernetes.Interface, string) {
	tb.Helper()
	path := os.Getenv("POSML_TEST_KUBECONFIG")
	if path == "" {
		tb.Skip("POSML_TEST_KUBECONFIG is not set; run eval \"$(scripts/kube.sh)\" to test against a real control plane")
	}
	cfg.Kubeconfig = path
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 250 * time.Millisecond
	}
	if cfg.DefaultImage == "" {
		cfg.DefaultImage = "python:3.12-slim"
	}
	b, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		tb.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(rc)
	ctx := context.Background()
	ns := "posml-test-" + rand.String(6)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		tb.Fatalf("create namespace: %v", err)
	}
	tb.Cleanup(func() {
		cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	// Pods need the namespace's default service account, which the
	// controller-manager makes.
	waitFor(tb, 20*time.Second, "the default service account", func() bool {
		_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})
	return b, cs, ns
}

func waitFor(tb testing.TB, within time.Duration, what string, ok func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("no %s after %s", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func clusterSpec(t testing.TB, ns string) executor.Spec {
	s := testSpec(t)
	s.Placement = executor.Placement{Backend: Name, Namespace: ns, CPU: "100m", Memory: "64Mi"}
	s.Env = []string{"PYTHONUNBUFFERED=1", "MLFLOW_TRACKING_TOKEN=tok"}
	return s
}

func waitWithin(t *testing.T, h executor.Handle, within time.Duration) executor.Result {
	t.Helper()
	ch := make(chan executor.Result, 1)
	go func() { ch <- h.Wait() }()
	select {
	case r := <-ch:
		return r
	case <-time.After(within):
		t.Fatalf("the attempt did not end within %s", within)
		return executor.Result{}
	}
}

func podsOf(t testing.TB, cs kubernetes.Interface, ns, job string) []corev1.Pod {
	t.Helper()
	pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: jobLabel + "=" + job})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	return pods.Items
}

func TestClusterComplete(t *testing.T) {
	t.Parallel()
	b, cs, ns := realCluster(t, Config{})
	s := clusterSpec(t, ns)
	h, err := b.Start(context.Background(), s)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	res := waitWithin(t, h, 90*time.Second)
	if res.State != executor.Succeeded || res.ExitCode != 0 || res.Err != nil {
		t.Errorf("result %s, exit %d, %v; want succeeded, exit 0\n%s", res.State, res.ExitCode, res.Err, readLog(t, s.LogPath))
	}
	_, name, _ := ParseRef(h.Ref())
	sec, err := cs.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil || len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].UID == "" {
		t.Errorf("secret %v, %v; want one owned by the Job", sec.OwnerReferences, err)
	}
	log := readLog(t, s.LogPath)
	if !strings.Contains(log, "posml: exit 0 after ") {
		t.Errorf("log:\n%s", log)
	}
	t.Logf("log:\n%s", log)
}

func TestClusterUnschedulable(t *testing.T) {
	t.Parallel()
	b, cs, ns := realCluster(t, Config{UnschedulableTimeout: time.Second})
	s := clusterSpec(t, ns)
	s.Placement.GPU = 3
	h, err := b.Start(context.Background(), s)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	res := waitWithin(t, h, 60*time.Second)
	if res.State != executor.Failed || res.Err == nil || !strings.Contains(res.Err.Error(), "Insufficient nvidia.com/gpu") ||
		!strings.HasPrefix(res.Err.Error(), "Unschedulable: ") {
		t.Errorf("result %s, %v; want failed, Unschedulable: ... Insufficient nvidia.com/gpu", res.State, res.Err)
	}
	if log := readLog(t, s.LogPath); !strings.Contains(log, "posml: failed: Unschedulable: ") {
		t.Errorf("log:\n%s", log)
	}
	_, name, _ := ParseRef(h.Ref())
	waitFor(t, 30*time.Second, "deletion of the job", func() bool {
		_, err := cs.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

func TestClusterCancel(t *testing.T) {
	t.Parallel()
	b, cs, ns := realCluster(t, Config{})
	s := clusterSpec(t, ns)
	s.KillGrace = time.Second
	h, err := b.Start(context.Background(), s)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	_, name, _ := ParseRef(h.Ref())
	waitFor(t, 30*time.Second, "pod", func() bool { return len(podsOf(t, cs, ns, name)) > 0 })
	h.Cancel("test cancels")
	res := waitWithin(t, h, 60*time.Second)
	if res.State != executor.Canceled || res.Err == nil || res.Err.Error() != "canceled: test cancels" {
		t.Errorf("result %s, %v; want canceled: test cancels", res.State, res.Err)
	}
	if _, err := cs.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("job after Wait: %v; want not found", err)
	}
	waitFor(t, 30*time.Second, "end of the job's pods", func() bool { return len(podsOf(t, cs, ns, name)) == 0 })
	waitFor(t, 30*time.Second, "deletion of the secret", func() bool {
		_, err := cs.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

func TestClusterStopAlive(t *testing.T) {
	t.Parallel()
	b, cs, ns := realCluster(t, Config{})
	s := clusterSpec(t, ns)
	s.Timeout = time.Hour
	h, err := b.Start(context.Background(), s)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	ref := h.Ref()
	_, name, _ := ParseRef(ref)
	if alive, err := b.Alive(ref); !alive || err != nil {
		t.Errorf("Alive(new job) = %v, %v; want true", alive, err)
	}
	if err := b.Stop(context.Background(), ref, time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	waitFor(t, 30*time.Second, "end of the job", func() bool {
		alive, err := b.Alive(ref)
		return err == nil && !alive
	})
	waitFor(t, 30*time.Second, "end of the job's pods", func() bool { return len(podsOf(t, cs, ns, name)) == 0 })
	if err := b.Stop(context.Background(), ref, time.Second); err != nil {
		t.Errorf("Stop(gone) = %v; want nil", err)
	}
	res := waitWithin(t, h, 60*time.Second)
	// The Job was stopped from outside the handle: a failure, unless it
	// had completed before.
	if res.State == executor.Failed && !strings.Contains(res.Err.Error(), "was deleted") {
		t.Errorf("result %s, %v", res.State, res.Err)
	}
}

// TestClusterDetachAttach detaches from an attempt at once, as a server
// that shuts down would, and takes it back with a new Backend, as the next
// server would. kwok ends the pod within seconds, so the Job may have
// completed by then: Attach must report it either way.
func TestClusterDetachAttach(t *testing.T) {
	t.Parallel()
	b, cs, ns := realCluster(t, Config{})
	s := clusterSpec(t, ns)
	h, err := b.Start(context.Background(), s)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	h.(executor.Detacher).Detach()
	if res := waitWithin(t, h, 10*time.Second); res.State != executor.Detached {
		t.Fatalf("result %s, %v; want detached", res.State, res.Err)
	}
	ref := h.Ref()
	_, name, _ := ParseRef(ref)
	if _, err := cs.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{}); err != nil {
		t.Fatalf("job after Detach: %v", err)
	}

	b2, err := New(b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := b2.Attach(context.Background(), ref, executor.Spec{AttemptID: s.AttemptID, LogPath: s.LogPath, Timeout: time.Hour})
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	res := waitWithin(t, h2, 90*time.Second)
	log := readLog(t, s.LogPath)
	if res.State != executor.Succeeded || res.ExitCode != 0 || res.Err != nil {
		t.Errorf("result %s, exit %d, %v; want succeeded, exit 0\n%s", res.State, res.ExitCode, res.Err, log)
	}
	for _, want := range []string{
		"posml: detached from job " + ns + "/" + name + ": it runs on",
		"posml: reattached to job " + ns + "/" + name + " after a restart of posml\n",
		"posml: exit 0 after ",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log has no %q:\n%s", want, log)
		}
	}
	if _, err := b2.Attach(context.Background(), Ref(ns, "posml-gone-1-abcde"), executor.Spec{LogPath: s.LogPath}); !errors.Is(err, posml.ErrNotFound) {
		t.Errorf("Attach(missing job) = %v; want not found", err)
	}
	t.Logf("log:\n%s", log)
}

// BenchmarkSubmitToRunning measures the time from Start to the pod's
// phase Running.
func BenchmarkSubmitToRunning(b *testing.B) {
	be, cs, ns := realCluster(b, Config{})
	ctx := context.Background()
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		s := clusterSpec(b, ns)
		s.Timeout = 10 * time.Minute
		w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: managedByLabel + "=posml"})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		h, err := be.Start(ctx, s)
		if err != nil {
			b.Fatal(err)
		}
		_, name, _ := ParseRef(h.Ref())
		running := false
		timeout := time.After(30 * time.Second)
		for !running {
			select {
			case ev := <-w.ResultChan():
				p, ok := ev.Object.(*corev1.Pod)
				running = ok && ev.Type != watch.Deleted && p.Labels[jobLabel] == name &&
					(p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodSucceeded)
			case <-timeout:
				b.Fatalf("pod of %s not running after 30s", name)
			}
		}
		total += time.Since(t0)
		w.Stop()
		b.StopTimer()
		h.Cancel("benchmark")
		h.Wait()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/op")
}
