package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// runCheck is the self-test of the control plane: the behaviour posml's
// Kubernetes executor tests rely on.
//  1. A Job's pod goes Running, then Succeeded, and the Job gets Complete.
//  2. A pod asking for 3 GPUs stays Pending: PodScheduled=False, reason
//     Unschedulable, "Insufficient nvidia.com/gpu".
//  3. Deleting a Job with propagation deletes its pods (garbage collector).
//  4. A finished Job with ttlSecondsAfterFinished=0 is deleted (TTL controller).
func runCheck(args []string) int {
	fs := flag.NewFlagSet("check", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "admin kubeconfig")
	namespace := fs.String("namespace", "default", "namespace for the test Jobs")
	timeout := fs.Duration("timeout", 120*time.Second, "overall timeout")
	_ = fs.Parse(args)
	cs, err := newClient(*kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "check:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := check(ctx, cs, *namespace); err != nil {
		fmt.Fprintln(os.Stderr, "check: FAIL:", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "check: OK")
	return 0
}

func testJob(prefix string, gpus int64, ttl *int32) *batchv1.Job {
	c := corev1.Container{
		Name:    "main",
		Image:   "python:3.11",
		Command: []string{"python3", "-c", "1"},
	}
	if gpus > 0 {
		q := *resource.NewQuantity(gpus, resource.DecimalSI)
		c.Resources.Limits = corev1.ResourceList{gpuResource: q}
	}
	backoff := int32(0)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix, Labels: map[string]string{"posml-selftest": "1"}},
		Spec: batchv1.JobSpec{
			BackoffLimit:            &backoff,
			TTLSecondsAfterFinished: ttl,
			Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{c}},
			},
		},
	}
}

func poll(ctx context.Context, what string, f func() (bool, string, error)) error {
	last := ""
	for {
		done, why, err := f()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if done {
			return nil
		}
		last = why
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s (last state: %s)", what, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func jobPods(ctx context.Context, cs *kubernetes.Clientset, ns string, job *batchv1.Job) ([]corev1.Pod, error) {
	l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/controller-uid=" + string(job.UID)})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

func jobCondition(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func check(ctx context.Context, cs *kubernetes.Clientset, ns string) error {
	jobs := cs.BatchV1().Jobs(ns)
	bg := metav1.DeletePropagationBackground

	// 1. A Job completes.
	start := time.Now()
	job, err := jobs.Create(ctx, testJob("selftest-ok-", 1, nil), metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating Job: %w", err)
	}
	var podName, nodeName string
	err = poll(ctx, "Job pod Running", func() (bool, string, error) {
		pods, err := jobPods(ctx, cs, ns, job)
		if err != nil {
			return false, "", err
		}
		for _, p := range pods {
			if p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodSucceeded {
				podName, nodeName = p.Name, p.Spec.NodeName
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("%d pods", len(pods)), nil
	})
	if err != nil {
		return err
	}
	tRunning := time.Since(start)
	err = poll(ctx, "Job Complete", func() (bool, string, error) {
		j, err := jobs.Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		if jobCondition(j, batchv1.JobFailed) {
			return false, "", fmt.Errorf("job %s failed: %+v", j.Name, j.Status.Conditions)
		}
		return jobCondition(j, batchv1.JobComplete), fmt.Sprintf("%+v", j.Status), nil
	})
	if err != nil {
		return err
	}
	tComplete := time.Since(start)
	p, err := cs.CoreV1().Pods(ns).Get(ctx, podName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if p.Status.Phase != corev1.PodSucceeded {
		return fmt.Errorf("pod %s of the complete Job is %s, not Succeeded", p.Name, p.Status.Phase)
	}
	fmt.Fprintf(os.Stderr, "check: Job %s (1 GPU) pod on node %s: Running after %v, Job Complete after %v\n",
		job.Name, nodeName, tRunning.Round(time.Millisecond), tComplete.Round(time.Millisecond))

	// 2. Three GPUs on a two-GPU node: unschedulable.
	big, err := jobs.Create(ctx, testJob("selftest-3gpu-", 3, nil), metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating 3-GPU Job: %w", err)
	}
	var msg string
	err = poll(ctx, "3-GPU pod Unschedulable", func() (bool, string, error) {
		pods, err := jobPods(ctx, cs, ns, big)
		if err != nil {
			return false, "", err
		}
		for _, p := range pods {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
					msg = c.Message
					return true, "", nil
				}
			}
			if p.Spec.NodeName != "" {
				return false, "", fmt.Errorf("3-GPU pod %s was scheduled on %s", p.Name, p.Spec.NodeName)
			}
		}
		return false, fmt.Sprintf("%d pods", len(pods)), nil
	})
	if err != nil {
		return err
	}
	if !strings.Contains(msg, "Insufficient "+gpuResource) {
		return fmt.Errorf("3-GPU pod unschedulable, but the message lacks %q: %s", "Insufficient "+gpuResource, msg)
	}
	fmt.Fprintf(os.Stderr, "check: 3-GPU Job %s unschedulable: %s\n", big.Name, msg)

	// 3. Deleting the Jobs with propagation deletes their pods.
	for _, j := range []*batchv1.Job{job, big} {
		if err := jobs.Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
			return fmt.Errorf("deleting Job %s: %w", j.Name, err)
		}
	}
	start = time.Now()
	for _, j := range []*batchv1.Job{job, big} {
		err = poll(ctx, "pods of deleted Job "+j.Name+" gone", func() (bool, string, error) {
			pods, err := jobPods(ctx, cs, ns, j)
			if err != nil {
				return false, "", err
			}
			return len(pods) == 0, fmt.Sprintf("%d pods left", len(pods)), nil
		})
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "check: pods of deleted Jobs gone after %v\n", time.Since(start).Round(time.Millisecond))

	// 4. TTL-after-finished.
	zero := int32(0)
	start = time.Now()
	ttlJob, err := jobs.Create(ctx, testJob("selftest-ttl-", 0, &zero), metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating TTL Job: %w", err)
	}
	err = poll(ctx, "Job with ttlSecondsAfterFinished=0 deleted", func() (bool, string, error) {
		j, err := jobs.Get(ctx, ttlJob.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		return false, fmt.Sprintf("%+v", j.Status.Conditions), nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "check: Job %s with ttlSecondsAfterFinished=0 deleted after %v\n", ttlJob.Name, time.Since(start).Round(time.Millisecond))
	return nil
}
