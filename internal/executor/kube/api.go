package kube

import (
	"context"
	"io"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// api is the part of the Kubernetes API the backend uses: Secrets, Jobs,
// and the Jobs' pods with their logs.
//
// The backend talks to the API server through client-go's REST client
// with a scheme of only core/v1 and batch/v1 (restAPI), not through
// kubernetes.Clientset: the clientset's package registers every API group
// of Kubernetes when any program that links it starts, which doubled the
// size of the posml binary and added 21 MB to the resident memory of
// every posml command, Kubernetes or not. The tests drive the backend
// through client-go's fake clientset behind this same interface.
type api interface {
	CreateSecret(ctx context.Context, s *corev1.Secret) (*corev1.Secret, error)
	UpdateSecret(ctx context.Context, s *corev1.Secret) (*corev1.Secret, error)
	DeleteSecret(ctx context.Context, ns, name string) error
	CreateJob(ctx context.Context, j *batchv1.Job) (*batchv1.Job, error)
	GetJob(ctx context.Context, ns, name string) (*batchv1.Job, error)
	DeleteJob(ctx context.Context, ns, name string, opts metav1.DeleteOptions) error
	WatchJobs(ctx context.Context, ns string, opts metav1.ListOptions) (watch.Interface, error)
	ListPods(ctx context.Context, ns string, opts metav1.ListOptions) (*corev1.PodList, error)
	WatchPods(ctx context.Context, ns string, opts metav1.ListOptions) (watch.Interface, error)
	DeletePod(ctx context.Context, ns, name string, opts metav1.DeleteOptions) error
	PodLogs(ctx context.Context, ns, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error)
}

// restAPI is api over client-go's REST client.
type restAPI struct {
	core, batch *rest.RESTClient
	params      runtime.ParameterCodec
}

var _ api = (*restAPI)(nil)

// newRESTAPI returns the api of the cluster rc reaches.
func newRESTAPI(rc *rest.Config) (*restAPI, error) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := batchv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	codecs := serializer.NewCodecFactory(scheme)
	client := func(gv schema.GroupVersion, apiPath string) (*rest.RESTClient, error) {
		c := rest.CopyConfig(rc)
		c.GroupVersion = &gv
		c.APIPath = apiPath
		c.NegotiatedSerializer = codecs.WithoutConversion()
		if c.UserAgent == "" {
			c.UserAgent = rest.DefaultKubernetesUserAgent()
		}
		return rest.RESTClientFor(c)
	}
	core, err := client(corev1.SchemeGroupVersion, "/api")
	if err != nil {
		return nil, err
	}
	batch, err := client(batchv1.SchemeGroupVersion, "/apis")
	if err != nil {
		return nil, err
	}
	return &restAPI{core: core, batch: batch, params: runtime.NewParameterCodec(scheme)}, nil
}

func (a *restAPI) CreateSecret(ctx context.Context, s *corev1.Secret) (*corev1.Secret, error) {
	out := &corev1.Secret{}
	err := a.core.Post().Namespace(s.Namespace).Resource("secrets").Body(s).Do(ctx).Into(out)
	return out, err
}

func (a *restAPI) UpdateSecret(ctx context.Context, s *corev1.Secret) (*corev1.Secret, error) {
	out := &corev1.Secret{}
	err := a.core.Put().Namespace(s.Namespace).Resource("secrets").Name(s.Name).Body(s).Do(ctx).Into(out)
	return out, err
}

func (a *restAPI) DeleteSecret(ctx context.Context, ns, name string) error {
	return a.core.Delete().Namespace(ns).Resource("secrets").Name(name).Body(&metav1.DeleteOptions{}).Do(ctx).Error()
}

func (a *restAPI) CreateJob(ctx context.Context, j *batchv1.Job) (*batchv1.Job, error) {
	out := &batchv1.Job{}
	err := a.batch.Post().Namespace(j.Namespace).Resource("jobs").Body(j).Do(ctx).Into(out)
	return out, err
}

func (a *restAPI) GetJob(ctx context.Context, ns, name string) (*batchv1.Job, error) {
	out := &batchv1.Job{}
	err := a.batch.Get().Namespace(ns).Resource("jobs").Name(name).Do(ctx).Into(out)
	return out, err
}

func (a *restAPI) DeleteJob(ctx context.Context, ns, name string, opts metav1.DeleteOptions) error {
	return a.batch.Delete().Namespace(ns).Resource("jobs").Name(name).Body(&opts).Do(ctx).Error()
}

func (a *restAPI) WatchJobs(ctx context.Context, ns string, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return a.batch.Get().Namespace(ns).Resource("jobs").VersionedParams(&opts, a.params).Watch(ctx)
}

func (a *restAPI) ListPods(ctx context.Context, ns string, opts metav1.ListOptions) (*corev1.PodList, error) {
	out := &corev1.PodList{}
	err := a.core.Get().Namespace(ns).Resource("pods").VersionedParams(&opts, a.params).Do(ctx).Into(out)
	return out, err
}

func (a *restAPI) WatchPods(ctx context.Context, ns string, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return a.core.Get().Namespace(ns).Resource("pods").VersionedParams(&opts, a.params).Watch(ctx)
}

func (a *restAPI) DeletePod(ctx context.Context, ns, name string, opts metav1.DeleteOptions) error {
	return a.core.Delete().Namespace(ns).Resource("pods").Name(name).Body(&opts).Do(ctx).Error()
}

func (a *restAPI) PodLogs(ctx context.Context, ns, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
	return a.core.Get().Namespace(ns).Resource("pods").Name(pod).SubResource("log").VersionedParams(opts, a.params).Stream(ctx)
}
