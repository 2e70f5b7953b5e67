package kube

import (
	"context"
	"io"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// clientsetAPI is api over a client-go clientset: the fake one of the
// unit tests.
type clientsetAPI struct{ cs kubernetes.Interface }

var _ api = clientsetAPI{}

func (c clientsetAPI) CreateSecret(ctx context.Context, s *corev1.Secret) (*corev1.Secret, error) {
	return c.cs.CoreV1().Secrets(s.Namespace).Create(ctx, s, metav1.CreateOptions{})
}

func (c clientsetAPI) UpdateSecret(ctx context.Context, s *corev1.Secret) (*corev1.Secret, error) {
	return c.cs.CoreV1().Secrets(s.Namespace).Update(ctx, s, metav1.UpdateOptions{})
}

func (c clientsetAPI) DeleteSecret(ctx context.Context, ns, name string) error {
	return c.cs.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{})
}

func (c clientsetAPI) CreateJob(ctx context.Context, j *batchv1.Job) (*batchv1.Job, error) {
	return c.cs.BatchV1().Jobs(j.Namespace).Create(ctx, j, metav1.CreateOptions{})
}

func (c clientsetAPI) GetJob(ctx context.Context, ns, name string) (*batchv1.Job, error) {
	return c.cs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
}

func (c clientsetAPI) DeleteJob(ctx context.Context, ns, name string, opts metav1.DeleteOptions) error {
	return c.cs.BatchV1().Jobs(ns).Delete(ctx, name, opts)
}

func (c clientsetAPI) WatchJobs(ctx context.Context, ns string, opts metav1.ListOptions) (watch.Interface, error) {
	return c.cs.BatchV1().Jobs(ns).Watch(ctx, opts)
}

func (c clientsetAPI) ListPods(ctx context.Context, ns string, opts metav1.ListOptions) (*corev1.PodList, error) {
	return c.cs.CoreV1().Pods(ns).List(ctx, opts)
}

func (c clientsetAPI) WatchPods(ctx context.Context, ns string, opts metav1.ListOptions) (watch.Interface, error) {
	return c.cs.CoreV1().Pods(ns).Watch(ctx, opts)
}

func (c clientsetAPI) DeletePod(ctx context.Context, ns, name string, opts metav1.DeleteOptions) error {
	return c.cs.CoreV1().Pods(ns).Delete(ctx, name, opts)
}

func (c clientsetAPI) PodLogs(ctx context.Context, ns, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
	return c.cs.CoreV1().Pods(ns).GetLogs(pod, opts).Stream(ctx)
}
