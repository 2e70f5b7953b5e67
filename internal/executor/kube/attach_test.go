package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/executor"
)

// detached starts s, detaches its handle at once and returns the Ref and
// the Job.
func detached(t *testing.T, b *Backend, cs *fake.Clientset, s executor.Spec) (string, *batchv1.Job) {
	t.Helper()
	h, job := started(t, b, cs, s)
	h.Detach()
	return h.Ref(), job
}

// attach attaches to ref on b and cancels the handle at the test's end.
func attach(t *testing.T, b *Backend, ref string, s executor.Spec) executor.Handle {
	t.Helper()
	h, err := b.Attach(context.Background(), ref, s)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	t.Cleanup(func() {
		h.Cancel("test over")
		h.Wait()
	})
	return h
}

func TestDetach(t *testing.T) {
	b, cs := fakeBackend(Config{})
	s := testSpec(t)
	h, job := started(t, b, cs, s)
	c := newCluster(t, cs, job)
	c.setPod(running())
	time.Sleep(50 * time.Millisecond)
	h.Detach()
	res := waitResult(t, h)
	if res.State != executor.Detached || res.ExitCode != -1 || res.Err != nil || res.Ended.IsZero() {
		t.Errorf("result %+v; want detached, exit -1, no error", res)
	}
	h.Cancel("after detach") // does nothing
	h.Detach()
	if res := h.Wait(); res.State != executor.Detached {
		t.Errorf("after Cancel, result %s; want detached", res.State)
	}
	if c.jobGone() {
		t.Error("Detach deleted the job")
	}
	if _, err := cs.CoreV1().Secrets(job.Namespace).Get(context.Background(), job.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("secret after Detach: %v", err)
	}
	log := readLog(t, s.LogPath)
	want := "posml: detached from job default/" + job.Name + ": it runs on; the next posml server takes it back\n"
	if !strings.HasSuffix(log, want) {
		t.Errorf("log does not end with %q:\n%s", want, log)
	}
}

func TestDetachAfterEnd(t *testing.T) {
	b, cs := fakeBackend(Config{})
	h, job := started(t, b, cs, testSpec(t))
	newCluster(t, cs, job).setJob(batchv1.JobComplete, "", "")
	waitResult(t, h)
	h.Detach()
	if res := h.Wait(); res.State != executor.Succeeded {
		t.Errorf("result %s; want succeeded", res.State)
	}
}

func TestCancelThenDetach(t *testing.T) {
	b, cs := fakeBackend(Config{})
	h, job := started(t, b, cs, testSpec(t))
	h.Cancel("first")
	h.Detach()
	if res := waitResult(t, h); res.State != executor.Canceled {
		t.Errorf("result %s; want canceled", res.State)
	}
	if !newCluster(t, cs, job).jobGone() {
		t.Error("job still there after Cancel")
	}
}

func TestAttachRunning(t *testing.T) {
	b, cs := fakeBackend(Config{})
	s := testSpec(t)
	ref, job := detached(t, b, cs, s)
	c := newCluster(t, cs, job)
	c.setPod(running())

	// A new server: a new Backend on the same cluster.
	b2 := newBackend(Config{PollInterval: 20 * time.Millisecond}, clientsetAPI{cs})
	h := attach(t, b2, ref, executor.Spec{AttemptID: s.AttemptID, LogPath: s.LogPath})
	if h.Ref() != ref || h.PID() != 0 {
		t.Errorf("Ref, PID = %q, %d; want %q, 0", h.Ref(), h.PID(), ref)
	}
	time.Sleep(50 * time.Millisecond)
	c.setPod(ended(corev1.PodSucceeded, 0, "Completed"))
	c.setJob(batchv1.JobComplete, "", "")
	res := waitResult(t, h)
	if res.State != executor.Succeeded || res.ExitCode != 0 || res.Err != nil {
		t.Errorf("result %+v; want succeeded, exit 0", res)
	}
	log := readLog(t, s.LogPath)
	detach := strings.Index(log, "posml: detached from job default/"+job.Name)
	reattach := strings.Index(log, "posml: reattached to job default/"+job.Name+" after a restart of posml\n")
	footer := strings.LastIndex(log, "posml: exit 0 after ")
	if detach < 0 || reattach < detach || footer < reattach {
		t.Errorf("log has not the detach line, the reattach line and the footer in order:\n%s", log)
	}
}

func TestAttachComplete(t *testing.T) {
	b, cs := fakeBackend(Config{})
	s := testSpec(t)
	ref, job := detached(t, b, cs, s)
	c := newCluster(t, cs, job)
	c.setPod(running())
	st := ended(corev1.PodSucceeded, 0, "Completed")
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	st.ContainerStatuses[0].State.Terminated.StartedAt = metav1.NewTime(t0)
	st.ContainerStatuses[0].State.Terminated.FinishedAt = metav1.NewTime(t0.Add(30 * time.Second))
	c.setPod(st)
	c.setJob(batchv1.JobComplete, "", "")

	h := attach(t, b, ref, executor.Spec{AttemptID: s.AttemptID, LogPath: s.LogPath, Timeout: time.Hour})
	res := waitResult(t, h)
	if res.State != executor.Succeeded || res.ExitCode != 0 {
		t.Errorf("result %+v; want succeeded, exit 0", res)
	}
	if res.Duration() != 30*time.Second {
		t.Errorf("duration %s; want the container's 30s", res.Duration())
	}
	if log := readLog(t, s.LogPath); !strings.Contains(log, "posml: exit 0 after 30s\n") {
		t.Errorf("log:\n%s", log)
	}
}

func TestAttachFailed(t *testing.T) {
	b, cs := fakeBackend(Config{})
	s := testSpec(t)
	s.Placement.Memory = "1Gi"
	ref, job := detached(t, b, cs, s)
	c := newCluster(t, cs, job)
	c.setPod(running())
	c.setPod(ended(corev1.PodFailed, 137, "OOMKilled"))
	c.setJob(batchv1.JobFailed, "BackoffLimitExceeded", "")
	res := waitResult(t, attach(t, b, ref, executor.Spec{LogPath: s.LogPath}))
	if res.State != executor.Failed || res.Signal != "SIGKILL" || res.Err == nil || res.Err.Error() != "OOMKilled (memory limit 1Gi)" {
		t.Errorf("result %+v; want failed, SIGKILL, OOMKilled (memory limit 1Gi)", res)
	}
}

func TestAttachTimeout(t *testing.T) {
	b, cs := fakeBackend(Config{})
	s := testSpec(t)
	ref, job := detached(t, b, cs, s)
	newCluster(t, cs, job).setPod(running())
	h := attach(t, b, ref, executor.Spec{LogPath: s.LogPath, Timeout: 100 * time.Millisecond})
	res := waitResult(t, h)
	if res.State != executor.TimedOut || !newCluster(t, cs, job).jobGone() {
		t.Errorf("result %+v; want timed out, and the job gone", res)
	}
}

func TestAttachDetachAgain(t *testing.T) {
	b, cs := fakeBackend(Config{})
	s := testSpec(t)
	ref, job := detached(t, b, cs, s)
	c := newCluster(t, cs, job)
	spec := executor.Spec{LogPath: s.LogPath}
	h := attach(t, b, ref, spec)
	h.(executor.Detacher).Detach()
	if res := h.Wait(); res.State != executor.Detached || c.jobGone() {
		t.Fatalf("result %s, job gone %v; want detached, job there", res.State, c.jobGone())
	}
	h = attach(t, b, ref, spec)
	h.Cancel("enough")
	if res := waitResult(t, h); res.State != executor.Canceled || !c.jobGone() {
		t.Errorf("result %s, job gone %v; want canceled, job gone", res.State, c.jobGone())
	}
	log := readLog(t, s.LogPath)
	if n := strings.Count(log, "posml: reattached to job "); n != 2 {
		t.Errorf("%d reattach lines; want 2:\n%s", n, log)
	}
	if !strings.Contains(log, "posml: canceled: enough after ") {
		t.Errorf("log does not end with the cancel footer:\n%s", log)
	}
}

func TestAttachMissing(t *testing.T) {
	b, _ := fakeBackend(Config{})
	s := testSpec(t)
	_, err := b.Attach(context.Background(), Ref("default", "posml-42-1-gone0"), s)
	if err == nil || posml.KindOf(err) != posml.KindNotFound || !strings.Contains(err.Error(), "job default/posml-42-1-gone0 is gone") {
		t.Errorf("Attach(missing) = %v; want a not-found error", err)
	}
	if _, err := b.Attach(context.Background(), "kubernetes:nope", s); posml.KindOf(err) != posml.KindInvalid {
		t.Errorf("Attach(bad ref) = %v; want an invalid error", err)
	}
}
