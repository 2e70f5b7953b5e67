package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/posml/posml/internal/executor"
)

// cluster plays the Job controller and the kubelet for one attempt on a
// fake clientset.
type cluster struct {
	t   *testing.T
	cs  *fake.Clientset
	job *batchv1.Job
	pod *corev1.Pod
}

func newCluster(t *testing.T, cs *fake.Clientset, job *batchv1.Job) *cluster {
	return &cluster{t: t, cs: cs, job: job}
}

// setPod creates the Job's pod, or updates its status, with status.
func (c *cluster) setPod(status corev1.PodStatus) {
	c.t.Helper()
	ctx := context.Background()
	pods := c.cs.CoreV1().Pods(c.job.Namespace)
	if c.pod == nil {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name:              c.job.Name + "-x7k2p",
				Namespace:         c.job.Namespace,
				Labels:            c.job.Spec.Template.Labels,
				CreationTimestamp: metav1.Now(),
			},
			Spec: c.job.Spec.Template.Spec,
		}
		var err error
		if c.pod, err = pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			c.t.Fatal(err)
		}
	}
	c.pod.Status = status
	p, err := pods.UpdateStatus(ctx, c.pod, metav1.UpdateOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	c.pod = p
}

// setJob adds a true condition to the Job's status.
func (c *cluster) setJob(t batchv1.JobConditionType, reason, message string) {
	c.t.Helper()
	jobs := c.cs.BatchV1().Jobs(c.job.Namespace)
	job, err := jobs.Get(context.Background(), c.job.Name, metav1.GetOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	job.Status.Conditions = append(job.Status.Conditions, batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message})
	if _, err := jobs.UpdateStatus(context.Background(), job, metav1.UpdateOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

// jobGone reports whether the Job was deleted.
func (c *cluster) jobGone() bool {
	_, err := c.cs.BatchV1().Jobs(c.job.Namespace).Get(context.Background(), c.job.Name, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

func running() corev1.PodStatus {
	return corev1.PodStatus{
		Phase:                 corev1.PodRunning,
		InitContainerStatuses: []corev1.ContainerStatus{{Name: initContainer, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}}},
		ContainerStatuses:     []corev1.ContainerStatus{{Name: mainContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}},
	}
}

func ended(phase corev1.PodPhase, code int32, reason string) corev1.PodStatus {
	s := running()
	s.Phase = phase
	s.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}
	return s
}

func waiting(reason, message string) corev1.PodStatus {
	return corev1.PodStatus{
		Phase:             corev1.PodPending,
		ContainerStatuses: []corev1.ContainerStatus{{Name: mainContainer, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}}},
	}
}

// waitResult waits for the attempt's result, at most 5s.
func waitResult(t *testing.T, h executor.Handle) executor.Result {
	t.Helper()
	ch := make(chan executor.Result, 1)
	go func() { ch <- h.Wait() }()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("the attempt did not end within 5s")
		return executor.Result{}
	}
}

func TestStatus(t *testing.T) {
	const unschedulable = "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."
	tests := []struct {
		name    string
		spec    func(*executor.Spec)
		drive   func(*cluster, executor.Handle)
		state   executor.State
		code    int
		signal  string
		err     string // in Result.Err and on the footer line; "" for none
		is      error
		footer  string
		jobGone bool
	}{
		{
			name: "complete",
			drive: func(c *cluster, _ executor.Handle) {
				c.setPod(running())
				time.Sleep(50 * time.Millisecond)
				c.setPod(ended(corev1.PodSucceeded, 0, "Completed"))
				c.setJob(batchv1.JobComplete, "", "")
			},
			state: executor.Succeeded, footer: "posml: exit 0 after ",
		},
		{
			name: "failed exit 3",
			drive: func(c *cluster, _ executor.Handle) {
				c.setPod(running())
				c.setPod(ended(corev1.PodFailed, 3, "Error"))
				c.setJob(batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit")
			},
			state: executor.Failed, code: 3, footer: "posml: exit 3 after ",
		},
		{
			name: "oom killed",
			spec: func(s *executor.Spec) { s.Placement.Memory = "1Gi" },
			drive: func(c *cluster, _ executor.Handle) {
				c.setPod(running())
				c.setPod(ended(corev1.PodFailed, 137, "OOMKilled"))
				c.setJob(batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit")
			},
			state: executor.Failed, code: -1, signal: "SIGKILL", err: "OOMKilled (memory limit 1Gi)", footer: "posml: killed by SIGKILL after ",
		},
		{
			name: "image pull backoff",
			drive: func(c *cluster, _ executor.Handle) {
				c.setPod(waiting("ImagePullBackOff", `Back-off pulling image "nope:1"`))
			},
			state: executor.Failed, code: -1, err: `ImagePullBackOff: Back-off pulling image "nope:1"`, footer: "posml: failed: ImagePullBackOff", jobGone: true,
		},
		{
			name: "unschedulable",
			drive: func(c *cluster, _ executor.Handle) {
				s := corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
					Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: unschedulable,
				}}}
				c.setPod(s)
			},
			state: executor.Failed, code: -1, err: "Unschedulable: " + unschedulable, footer: "posml: failed: Unschedulable: 0/1 nodes", jobGone: true,
		},
		{
			name: "unpack failed",
			drive: func(c *cluster, _ executor.Handle) {
				s := corev1.PodStatus{Phase: corev1.PodFailed, InitContainerStatuses: []corev1.ContainerStatus{{Name: initContainer,
					State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 127, Reason: "Error"}}}}}
				c.setPod(s)
				c.setJob(batchv1.JobFailed, "BackoffLimitExceeded", "")
			},
			state: executor.Failed, code: -1, err: "unpacking the project's files failed: exit 127 (Error)", footer: "posml: failed: unpacking",
		},
		{
			name: "evicted",
			drive: func(c *cluster, _ executor.Handle) {
				c.setPod(running())
				c.setPod(corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "The node was low on resource: memory."})
				c.setJob(batchv1.JobFailed, "BackoffLimitExceeded", "")
			},
			state: executor.Failed, code: -1, err: "pod Evicted: The node was low on resource: memory.", footer: "posml: failed: pod Evicted",
		},
		{
			name: "canceled",
			drive: func(c *cluster, h executor.Handle) {
				c.setPod(running())
				time.Sleep(50 * time.Millisecond)
				h.Cancel("stopped by\nalice")
			},
			state: executor.Canceled, code: -1, err: "canceled: stopped by alice", is: executor.ErrCanceled, footer: "posml: canceled: stopped by alice after ", jobGone: true,
		},
		{
			name: "posml timeout",
			spec: func(s *executor.Spec) { s.Timeout = 300 * time.Millisecond },
			drive: func(c *cluster, _ executor.Handle) {
				c.setPod(running())
			},
			state: executor.TimedOut, code: -1, err: "timed out after 300ms", is: executor.ErrTimedOut, footer: "posml: timed out after ", jobGone: true,
		},
		{
			name: "deadline exceeded",
			spec: func(s *executor.Spec) { s.Timeout = time.Hour },
			drive: func(c *cluster, _ executor.Handle) {
				c.setPod(running())
				c.setPod(ended(corev1.PodFailed, 137, "Error"))
				c.setJob(batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded, "Job was active longer than specified deadline")
			},
			state: executor.TimedOut, code: -1, err: "timed out: the Job's activeDeadlineSeconds (3600s) passed", is: executor.ErrTimedOut, footer: "posml: timed out after ",
		},
		{
			name: "deleted by someone",
			drive: func(c *cluster, _ executor.Handle) {
				c.setPod(running())
				time.Sleep(50 * time.Millisecond)
				c.cs.BatchV1().Jobs(c.job.Namespace).Delete(context.Background(), c.job.Name, metav1.DeleteOptions{})
			},
			state: executor.Failed, code: -1, err: "was deleted (not by posml)", footer: "posml: failed: job ", jobGone: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, cs := fakeBackend(Config{UnschedulableTimeout: 200 * time.Millisecond})
			s := testSpec(t)
			if tt.spec != nil {
				tt.spec(&s)
			}
			h, job := started(t, b, cs, s)
			c := newCluster(t, cs, job)
			t0 := time.Now()
			tt.drive(c, h)
			res := waitResult(t, h)

			if res.State != tt.state || res.ExitCode != tt.code || res.Signal != tt.signal {
				t.Errorf("state, exit code, signal = %s, %d, %q; want %s, %d, %q (err %v)",
					res.State, res.ExitCode, res.Signal, tt.state, tt.code, tt.signal, res.Err)
			}
			switch {
			case tt.err == "" && res.Err != nil:
				t.Errorf("Err = %v; want nil", res.Err)
			case tt.err != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tt.err)):
				t.Errorf("Err = %v; want one containing %q", res.Err, tt.err)
			}
			if tt.is != nil && !errors.Is(res.Err, tt.is) {
				t.Errorf("Err = %v; want one wrapping %v", res.Err, tt.is)
			}
			if res.Started.IsZero() || res.Ended.Before(res.Started) {
				t.Errorf("Started, Ended = %v, %v", res.Started, res.Ended)
			}
			if tt.name == "unschedulable" && time.Since(t0) < 200*time.Millisecond {
				t.Errorf("failed after %s, before UnschedulableTimeout", time.Since(t0))
			}
			if c.jobGone() != tt.jobGone {
				t.Errorf("job gone = %v; want %v", c.jobGone(), tt.jobGone)
			}

			log := readLog(t, s.LogPath)
			lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
			if want := "posml: attempt 42/1 started "; !strings.HasPrefix(lines[0], want) ||
				!strings.HasSuffix(lines[0], " on kubernetes: job default/"+job.Name+", image python:3.12-slim") {
				t.Errorf("header %q", lines[0])
			}
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, tt.footer) || (tt.err != "" && !strings.Contains(last, tt.err)) {
				t.Errorf("footer %q; want it to begin with %q and contain %q", last, tt.footer, tt.err)
			}
			if c.pod != nil && c.pod.Status.ContainerStatuses != nil && c.pod.Status.ContainerStatuses[0].State.Waiting == nil &&
				!strings.Contains(log, "fake logs") {
				t.Errorf("the pod's log is not in the attempt's log:\n%s", log)
			}
			// Follow reads the whole log, then EOF.
			r := h.Follow(context.Background(), 0)
			defer r.Close()
			var sb strings.Builder
			buf := make([]byte, 4096)
			for {
				n, err := r.Read(buf)
				sb.Write(buf[:n])
				if err != nil {
					break
				}
			}
			if sb.String() != log {
				t.Errorf("Follow read %q; want %q", sb.String(), log)
			}
		})
	}
}

// TestCancelTwice keeps the first reason and does nothing after the end.
func TestCancelTwice(t *testing.T) {
	b, cs := fakeBackend(Config{})
	h, _ := started(t, b, cs, testSpec(t))
	h.Cancel("first")
	h.Cancel("second")
	res := waitResult(t, h)
	h.Cancel("third")
	if res.State != executor.Canceled || res.Err.Error() != "canceled: first" {
		t.Errorf("result %s, %v; want canceled: first", res.State, res.Err)
	}
}

func TestAliveStop(t *testing.T) {
	b, cs := fakeBackend(Config{})
	h, job := started(t, b, cs, testSpec(t))
	c := newCluster(t, cs, job)
	c.setPod(running())
	ref := h.Ref()

	if alive, err := b.Alive(ref); !alive || err != nil {
		t.Errorf("Alive(running) = %v, %v; want true", alive, err)
	}
	if alive, err := b.Alive(Ref("default", "posml-none")); alive || err != nil {
		t.Errorf("Alive(missing) = %v, %v; want false, nil", alive, err)
	}
	if _, err := b.Alive("kubernetes:nope"); err == nil {
		t.Error("Alive(bad ref) = nil error")
	}
	if err := b.Stop(context.Background(), ref, 3*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !c.jobGone() {
		t.Error("Stop left the job")
	}
	pods, _ := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
	if len(pods.Items) != 0 {
		t.Errorf("Stop left %d pods", len(pods.Items))
	}
	if alive, err := b.Alive(ref); alive || err != nil {
		t.Errorf("Alive(stopped) = %v, %v; want false, nil", alive, err)
	}
	if err := b.Stop(context.Background(), ref, time.Second); err != nil {
		t.Errorf("Stop(stopped) = %v; want nil", err)
	}
	if res := waitResult(t, h); res.State != executor.Failed || !strings.Contains(res.Err.Error(), "was deleted") {
		t.Errorf("result of a Job stopped from outside: %s, %v", res.State, res.Err)
	}
}

func TestAliveFinished(t *testing.T) {
	b, cs := fakeBackend(Config{})
	h, job := started(t, b, cs, testSpec(t))
	c := newCluster(t, cs, job)
	c.setPod(ended(corev1.PodSucceeded, 0, "Completed"))
	c.setJob(batchv1.JobComplete, "", "")
	waitResult(t, h)
	if alive, err := b.Alive(h.Ref()); alive || err != nil {
		t.Errorf("Alive(complete) = %v, %v; want false, nil", alive, err)
	}
}

// TestSecretWithoutOwner: when the Secret cannot be given its owner, the
// handle deletes it at the end.
func TestSecretWithoutOwner(t *testing.T) {
	b, cs := fakeBackend(Config{})
	cs.PrependReactor("update", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("forbidden")
	})
	h, job := started(t, b, cs, testSpec(t))
	if _, err := cs.CoreV1().Secrets("default").Get(context.Background(), job.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("secret during the attempt: %v", err)
	}
	h.Cancel("done")
	waitResult(t, h)
	if _, err := cs.CoreV1().Secrets("default").Get(context.Background(), job.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("secret after the attempt: %v; want not found", err)
	}
}
