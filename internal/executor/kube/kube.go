package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/executor"
)

// Name is the backend's name: Placement.Backend of the attempts it runs,
// and the prefix of its Refs.
const Name = "kubernetes"

// Defaults of Config's zero fields.
const (
	DefaultNamespace            = "default"
	DefaultPython               = "python3"
	DefaultTTLAfterFinished     = time.Hour
	DefaultUnschedulableTimeout = 2 * time.Minute
	DefaultPollInterval         = time.Second
	// DefaultMaxBundle keeps a bundle, with the attempt's secrets, inside
	// the 1 MiB a Secret may hold.
	DefaultMaxBundle = 900 << 10
)

// Config configures a Backend. The zero value of each field means its
// default.
type Config struct {
	// Kubeconfig is the path of a kubeconfig file; "" means posml runs in
	// the cluster and uses its pod's service account.
	Kubeconfig string
	// Namespace is where attempts run whose Placement names none
	// (DefaultNamespace).
	Namespace string
	// TrackingURI is the tracking URI as the pods reach posml; if set, it
	// replaces MLFLOW_TRACKING_URI in the attempts' environment.
	TrackingURI string
	// Python is the interpreter in the image (DefaultPython).
	Python string
	// DefaultImage is the image of attempts whose Placement names none.
	DefaultImage string
	// TTLAfterFinished is how long a finished Job (with its pod and log)
	// stays in the cluster (DefaultTTLAfterFinished).
	TTLAfterFinished time.Duration
	// UnschedulableTimeout is how long a pod may stay unschedulable before
	// the attempt fails (DefaultUnschedulableTimeout); negative: at once.
	UnschedulableTimeout time.Duration
	// PollInterval is how often an attempt's Job and pod are read besides
	// the watches, which see changes at once (DefaultPollInterval).
	PollInterval time.Duration
	// MaxBundle is the largest compressed bundle of a project's files, in
	// bytes (DefaultMaxBundle).
	MaxBundle int64
}

func (c Config) withDefaults() Config {
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.Python == "" {
		c.Python = DefaultPython
	}
	if c.TTLAfterFinished <= 0 {
		c.TTLAfterFinished = DefaultTTLAfterFinished
	}
	if c.UnschedulableTimeout == 0 {
		c.UnschedulableTimeout = DefaultUnschedulableTimeout
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MaxBundle <= 0 {
		c.MaxBundle = DefaultMaxBundle
	}
	return c
}

// Backend runs attempts as Kubernetes Jobs. It is safe for concurrent use.
type Backend struct {
	cfg    Config
	client api
}

var _ executor.RemoteBackend = (*Backend)(nil)

// New connects to the cluster cfg.Kubeconfig names (or the one posml runs
// in) and returns a Backend. It does not contact the cluster.
func New(cfg Config) (*Backend, error) {
	var (
		rc  *rest.Config
		err error
	)
	if cfg.Kubeconfig == "" {
		rc, err = rest.InClusterConfig()
	} else {
		rc, err = clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes: client config: %w", err)
	}
	rc.UserAgent = "posml"
	rc.QPS, rc.Burst = 50, 100 // client-go's 5/10 would queue busy pipelines
	client, err := newRESTAPI(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: client: %w", err)
	}
	return newBackend(cfg, client), nil
}

// newBackend returns a Backend that uses client (client-go's fake
// clientset in tests).
func newBackend(cfg Config, client api) *Backend {
	return &Backend{cfg: cfg.withDefaults(), client: client}
}

// Start creates the attempt's Secret and Job and returns at once (see
// executor.Backend). A Spec the cluster cannot run (no image, a bad
// quantity, a bundle too big) is an error of kind posml.KindInvalid; a Job
// the API server refuses is an attempt that failed, with its reason in the
// log and in Result.Err.
func (b *Backend) Start(ctx context.Context, s executor.Spec) (executor.Handle, error) {
	switch {
	case s.Dir == "":
		return nil, posml.Errorf(posml.KindInvalid, "kubernetes: spec has no working directory")
	case s.LogPath == "":
		return nil, posml.Errorf(posml.KindInvalid, "kubernetes: spec has no log path")
	case s.Timeout < 0 || s.KillGrace < 0:
		return nil, posml.Errorf(posml.KindInvalid, "kubernetes: negative timeout or kill grace")
	}
	if fi, err := os.Stat(s.Dir); err != nil || !fi.IsDir() {
		return nil, &posml.Error{Kind: posml.KindInvalid, Msg: "kubernetes: working directory " + s.Dir, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bundle, err := makeBundle(s.Dir, b.cfg.MaxBundle)
	if err != nil {
		return nil, err
	}
	a, err := b.render(s, bundle)
	if err != nil {
		return nil, err
	}
	log, err := executor.OpenLog(s.LogPath)
	if err != nil {
		return nil, err
	}
	h := newHandle(b, s, a, log)
	started := time.Now()
	log.Line(h.header(started))
	for _, w := range a.warnings {
		log.Line("posml: warning: " + w)
	}
	if err := b.create(ctx, a); err != nil {
		res := executor.Result{State: executor.Failed, ExitCode: -1, Started: started, Ended: time.Now(), Err: err}
		h.finish(res)
		return h, nil
	}
	go h.run(started) // owns the attempt until it publishes the result
	return h, nil
}

var _ executor.Attacher = (*Backend)(nil)

// Attach takes back the attempt of the Job ref names after a restart of
// posml (see executor.Attacher): it appends the line "posml: reattached
// to job <ns>/<name> after a restart of posml" to s.LogPath, then follows
// the Job as Start does, with s.Timeout as the time the attempt has left.
// The pod's log is copied from the time the log file was last written, so
// that what the previous server copied is not repeated (a few lines may
// be, as the API server counts in whole seconds). A Job that has finished
// meanwhile ends the attempt at once with its result. A Job that does not
// exist is an error of kind posml.KindNotFound.
func (b *Backend) Attach(ctx context.Context, ref string, s executor.Spec) (executor.Handle, error) {
	ns, name, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	switch {
	case s.LogPath == "":
		return nil, posml.Errorf(posml.KindInvalid, "kubernetes: spec has no log path")
	case s.Timeout < 0 || s.KillGrace < 0:
		return nil, posml.Errorf(posml.KindInvalid, "kubernetes: negative timeout or kill grace")
	}
	job, err := b.client.GetJob(ctx, ns, name)
	if apierrors.IsNotFound(err) {
		return nil, &posml.Error{Kind: posml.KindNotFound, Msg: fmt.Sprintf("kubernetes: job %s/%s is gone", ns, name)}
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes: get job %s/%s: %w", ns, name, err)
	}
	now := time.Now()
	since := now
	if fi, err := os.Stat(s.LogPath); err == nil && fi.ModTime().Before(now) {
		since = fi.ModTime() // about when the previous server stopped copying
	}
	log, err := executor.OpenLog(s.LogPath)
	if err != nil {
		return nil, err
	}
	h := newHandle(b, s, attached(job), log)
	h.attached, h.logSince = true, since
	log.Line(fmt.Sprintf("posml: reattached to job %s/%s after a restart of posml", ns, name))
	go h.run(now) // owns the attempt until it publishes the result
	return h, nil
}

// attached is the attempt of a Job that Start made before a restart of
// posml. Its Secret is owned by the Job: if that update failed back then,
// the Secret stays until the namespace is cleaned.
func attached(job *batchv1.Job) *attempt {
	a := &attempt{job: job}
	for _, c := range job.Spec.Template.Spec.Containers {
		if c.Name != mainContainer {
			continue
		}
		a.image = c.Image
		if m, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
			a.memLimit = m.String()
		}
	}
	return a
}

// create makes the Secret, then the Job, then makes the Job the Secret's
// owner, so that the garbage collector deletes the Secret with the Job.
// The pod never waits for its Secret.
func (b *Backend) create(ctx context.Context, a *attempt) error {
	sec, err := b.client.CreateSecret(ctx, a.secret)
	if err != nil {
		return fmt.Errorf("create secret %s/%s: %w", a.secret.Namespace, a.secret.Name, err)
	}
	job, err := b.client.CreateJob(ctx, a.job)
	if err != nil {
		derr := b.client.DeleteSecret(context.WithoutCancel(ctx), sec.Namespace, sec.Name)
		if derr != nil && !apierrors.IsNotFound(derr) {
			err = errors.Join(err, fmt.Errorf("delete secret %s: %w", sec.Name, derr))
		}
		return fmt.Errorf("create job %s/%s: %w", a.job.Namespace, a.job.Name, err)
	}
	sec.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "batch/v1",
		Kind:       "Job",
		Name:       job.Name,
		UID:        job.UID,
	}}
	if _, err := b.client.UpdateSecret(context.WithoutCancel(ctx), sec); err != nil {
		a.ownSecret = true // the handle deletes it when the attempt ends
	}
	return nil
}

// Ref is the Ref of the attempt that Job name runs in namespace ns.
func Ref(ns, name string) string { return Name + ":" + ns + "/" + name }

// ParseRef reads a Ref made by Ref.
func ParseRef(ref string) (ns, name string, err error) {
	rest, ok := strings.CutPrefix(ref, Name+":")
	if ok {
		ns, name, ok = strings.Cut(rest, "/")
	}
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return "", "", posml.Errorf(posml.KindInvalid, fmt.Sprintf("kubernetes: bad ref %q (want kubernetes:<namespace>/<job>)", ref))
	}
	return ns, name, nil
}

// Alive reports whether the Job ref names exists and has not finished.
func (b *Backend) Alive(ref string) (bool, error) {
	ns, name, err := ParseRef(ref)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	job, err := b.client.GetJob(ctx, ns, name)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("kubernetes: get job %s/%s: %w", ns, name, err)
	}
	return !finished(job), nil
}

// Stop deletes the Job ref names and its pods, which get grace to end
// (rounded up to whole seconds). A Job that is gone already is no error.
// It returns once the deletes were accepted, not when the pods are gone.
func (b *Backend) Stop(ctx context.Context, ref string, grace time.Duration) error {
	ns, name, err := ParseRef(ref)
	if err != nil {
		return err
	}
	if err := b.deleteJob(ctx, ns, name); err != nil {
		return err
	}
	secs := seconds(grace)
	list, err := b.client.ListPods(ctx, ns, metav1.ListOptions{LabelSelector: jobLabel + "=" + name})
	if err != nil {
		return fmt.Errorf("kubernetes: list pods of job %s/%s: %w", ns, name, err)
	}
	for _, p := range list.Items {
		err := b.client.DeletePod(ctx, ns, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &secs})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("kubernetes: delete pod %s/%s: %w", ns, p.Name, err)
		}
	}
	return nil
}

// deleteJob deletes a Job in the foreground: it is gone once its pods are.
func (b *Backend) deleteJob(ctx context.Context, ns, name string) error {
	fg := metav1.DeletePropagationForeground
	err := b.client.DeleteJob(ctx, ns, name, metav1.DeleteOptions{PropagationPolicy: &fg})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("kubernetes: delete job %s/%s: %w", ns, name, err)
	}
	return nil
}

// finished reports whether the Job has completed or failed.
func finished(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// seconds is d in whole seconds, rounded up.
func seconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}
