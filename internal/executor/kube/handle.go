package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/posml/posml/internal/executor"
)

const (
	// requestTimeout bounds each call to the API server.
	requestTimeout = 30 * time.Second
	// goneBound is how long, beyond the pod's grace period, an attempt
	// that posml stopped waits for its Job to be gone.
	goneBound = 30 * time.Second
	// logDrain is how long the pod's log may go on streaming after the
	// attempt's end was seen: a kubelet notices that a followed container
	// has exited within 5s.
	logDrain = 10 * time.Second
)

// badWaiting are the reasons of a waiting container that fail the attempt
// at once: the pod would wait forever.
var badWaiting = map[string]bool{
	"ImagePullBackOff":           true,
	"ErrImagePull":               true,
	"InvalidImageName":           true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
}

type handle struct {
	executor.Control // the log, Wait, Cancel, Detach, Follow

	b    *Backend
	spec executor.Spec
	a    *attempt
	ns   string
	name string

	// attached is set on a handle of Attach: the container may have run
	// before posml saw it, and its log is streamed from logSince on.
	attached bool
	logSince time.Time
}

var _ executor.Detacher = (*handle)(nil)

func newHandle(b *Backend, s executor.Spec, a *attempt, log *executor.Log) *handle {
	h := &handle{b: b, spec: s, a: a, ns: a.job.Namespace, name: a.job.Name}
	h.Init(log)
	return h
}

func (h *handle) header(started time.Time) string {
	id := h.spec.AttemptID
	if id == "" {
		id = "-"
	}
	return fmt.Sprintf("posml: attempt %s started %s on kubernetes: job %s/%s, image %s",
		id, started.UTC().Format(time.RFC3339), h.ns, h.name, h.a.image)
}

// finish writes the footer, closes the log and publishes res.
func (h *handle) finish(res executor.Result) {
	line := executor.Footer(res)
	if res.Err != nil && !strings.Contains(line, res.Err.Error()) {
		line += " (" + res.Err.Error() + ")"
	}
	h.Log.Line(line)
	h.Publish(res)
}

// PID is 0: the process runs in a pod.
func (h *handle) PID() int { return 0 }

func (h *handle) Ref() string { return Ref(h.ns, h.name) }

// run follows the attempt to its end: it reads the Job and its pod after
// each watch event and every PollInterval, enforces Spec.Timeout and
// Cancel, streams the log, and finishes; or, on Detach, lets go of it.
// Start and Attach both hand their handle to it.
func (h *handle) run(started time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wake := make(chan struct{}, 1)
	var watching sync.WaitGroup
	watching.Add(1)
	go func() { // ends with ctx; waited for below
		defer watching.Done()
		h.watch(ctx, wake)
	}()
	var timeout <-chan time.Time
	if h.spec.Timeout > 0 {
		t := time.NewTimer(h.spec.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	tick := time.NewTicker(h.b.cfg.PollInterval)
	defer tick.Stop()

	o := &observer{h: h, started: started}
	var (
		res      executor.Result
		detached bool
	)
loop:
	for {
		r, done := o.observe(ctx)
		if done {
			res = r
			break
		}
		select {
		case <-wake:
		case <-tick.C:
		case <-timeout:
			o.stop(ctx, executor.TimedOut, fmt.Errorf("%w after %s", executor.ErrTimedOut, h.spec.Timeout))
		case c := <-h.Requests():
			if !c.Detach {
				o.stop(ctx, executor.Canceled, fmt.Errorf("%w: %s", executor.ErrCanceled, c.Reason))
				break
			}
			if o.cause != "" { // the Job is being deleted: see the stop through
				break
			}
			res = executor.Result{State: executor.Detached, ExitCode: -1, Started: o.started, Ended: time.Now()}
			detached = true
			break loop
		case <-o.giveUp:
			h.Log.Line(fmt.Sprintf("posml: job %s/%s still there %s after it was deleted; not waiting any longer", h.ns, h.name, o.graceBound()))
			res = o.stopped()
			break loop
		}
	}
	cancel()
	watching.Wait()
	if detached {
		o.cutLogs()
		h.Log.Line(fmt.Sprintf("posml: detached from job %s/%s: it runs on; the next posml server takes it back", h.ns, h.name))
		h.Publish(res)
		return
	}
	o.drainLogs()
	if h.a.ownSecret {
		dctx, dcancel := context.WithTimeout(context.Background(), requestTimeout)
		err := h.b.client.DeleteSecret(dctx, h.ns, h.name)
		dcancel()
		if err != nil && !apierrors.IsNotFound(err) {
			h.Log.Line(fmt.Sprintf("posml: delete secret %s/%s: %v", h.ns, h.name, err))
		}
	}
	h.finish(res)
}

// watch wakes run on each change of the Job or its pods, and opens the
// watches again when they end or fail.
func (h *handle) watch(ctx context.Context, wake chan<- struct{}) {
	notify := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	for ctx.Err() == nil {
		jw, err := h.b.client.WatchJobs(ctx, h.ns, metav1.ListOptions{FieldSelector: "metadata.name=" + h.name})
		if err == nil {
			pw, err := h.b.client.WatchPods(ctx, h.ns, metav1.ListOptions{LabelSelector: jobLabel + "=" + h.name})
			if err == nil {
				pump(ctx, jw, pw, notify)
				pw.Stop()
			}
			jw.Stop()
		}
		select {
		case <-ctx.Done():
		case <-time.After(h.b.cfg.PollInterval):
		}
	}
}

// pump calls notify on each event until a watch ends or ctx does.
func pump(ctx context.Context, jw, pw watch.Interface, notify func()) {
	notify() // something may have changed before the watches began
	for {
		select {
		case _, ok := <-jw.ResultChan():
			if !ok {
				return
			}
		case _, ok := <-pw.ResultChan():
			if !ok {
				return
			}
		case <-ctx.Done():
			return
		}
		notify()
	}
}

// observer is run's view of the attempt; only run's goroutine uses it.
type observer struct {
	h       *handle
	started time.Time // Start, until the container is seen running
	ended   time.Time // when the container was seen terminated
	running bool

	pod          *corev1.Pod // the latest seen
	unschedSince time.Time   // when the pod was first seen unschedulable

	logCancel context.CancelFunc // streaming the pod's log, if not nil
	logDone   chan struct{}

	cause    executor.State // TimedOut or Canceled once posml stops the attempt
	causeErr error
	giveUp   <-chan time.Time
}

// observe reads the Job and its pod and returns the result once the
// attempt is over.
func (o *observer) observe(ctx context.Context) (executor.Result, bool) {
	h := o.h
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	job, err := h.b.client.GetJob(rctx, h.ns, h.name)
	if apierrors.IsNotFound(err) {
		if o.cause != "" {
			return o.stopped(), true
		}
		return o.failed(fmt.Errorf("job %s/%s was deleted (not by posml)", h.ns, h.name)), true
	}
	if err != nil {
		return executor.Result{}, false // the API server may come back; Timeout and Cancel still work
	}
	o.readPod(rctx)
	o.track()

	if o.cause != "" {
		if job.DeletionTimestamp == nil { // the first delete failed
			h.b.deleteJob(rctx, h.ns, h.name)
		}
		return executor.Result{}, false
	}
	if c := condition(job, batchv1.JobComplete); c != nil {
		return o.result(executor.Succeeded, 0, "", nil), true
	}
	if c := condition(job, batchv1.JobFailed); c != nil {
		if c.Reason == batchv1.JobReasonDeadlineExceeded {
			return o.result(executor.TimedOut, -1, "", fmt.Errorf("%w: the Job's activeDeadlineSeconds (%ds) passed",
				executor.ErrTimedOut, deref(job.Spec.ActiveDeadlineSeconds))), true
		}
		return o.jobFailed(rctx, c), true
	}
	if o.pod == nil {
		return executor.Result{}, false
	}
	for _, cs := range slices.Concat(o.pod.Status.InitContainerStatuses, o.pod.Status.ContainerStatuses) {
		if w := cs.State.Waiting; w != nil && badWaiting[w.Reason] {
			return o.failNow(rctx, reasonError(w.Reason, w.Message)), true
		}
	}
	if c := podCondition(o.pod, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
		now := time.Now()
		if o.unschedSince.IsZero() {
			o.unschedSince = now
		}
		if now.Sub(o.unschedSince) >= h.b.cfg.UnschedulableTimeout {
			return o.failNow(rctx, reasonError(c.Reason, c.Message)), true
		}
	} else {
		o.unschedSince = time.Time{}
	}
	return executor.Result{}, false
}

// readPod reads the Job's newest pod; after an error it keeps the last.
func (o *observer) readPod(ctx context.Context) {
	list, err := o.h.b.client.ListPods(ctx, o.h.ns, metav1.ListOptions{LabelSelector: jobLabel + "=" + o.h.name})
	if err != nil {
		return
	}
	var newest *corev1.Pod
	for i := range list.Items {
		p := &list.Items[i]
		if newest == nil || newest.CreationTimestamp.Before(&p.CreationTimestamp) {
			newest = p
		}
	}
	if newest != nil {
		o.pod = newest
	}
}

// track notes when the main container runs and ends, and starts streaming
// its log once it runs.
func (o *observer) track() {
	if o.pod == nil {
		return
	}
	cs := containerStatus(o.pod.Status.ContainerStatuses, mainContainer)
	if cs == nil {
		return
	}
	if r := cs.State.Running; r != nil && !o.running {
		o.running, o.started = true, time.Now()
		if o.h.attached && !r.StartedAt.IsZero() { // it ran before posml saw it
			o.started = r.StartedAt.Time
		}
	}
	if t := cs.State.Terminated; t != nil && o.ended.IsZero() {
		o.ended = time.Now()
		if o.h.attached && !o.running && !t.StartedAt.IsZero() && !t.FinishedAt.IsZero() {
			// It ended while no posml watched: the cluster's clock.
			o.started, o.ended = t.StartedAt.Time, t.FinishedAt.Time
		}
	}
	if (cs.State.Running != nil || cs.State.Terminated != nil) && o.logCancel == nil {
		o.streamLogs(o.pod.Name)
	}
}

// streamLogs copies the main container's log into the attempt's log. A
// log that cannot be read is a line in the log, never a failed attempt.
func (o *observer) streamLogs(pod string) {
	h := o.h
	ctx, cancel := context.WithCancel(context.Background())
	o.logCancel, o.logDone = cancel, make(chan struct{})
	go func() { // drainLogs waits for it
		defer close(o.logDone)
		opts := &corev1.PodLogOptions{Container: mainContainer, Follow: true}
		if !h.logSince.IsZero() {
			opts.SinceTime = &metav1.Time{Time: h.logSince}
		}
		rc, err := h.b.client.PodLogs(ctx, h.ns, pod, opts)
		if err != nil {
			if ctx.Err() == nil {
				h.Log.Line("posml: pod log unavailable: " + oneLine(err.Error()))
			}
			return
		}
		defer rc.Close()
		if _, err := io.Copy(h.Log, rc); err != nil && ctx.Err() == nil {
			h.Log.Line("posml: pod log broke off: " + oneLine(err.Error()))
		}
	}()
}

// drainLogs waits, for logDrain at most, until the log stream ends.
func (o *observer) drainLogs() {
	if o.logCancel == nil {
		return
	}
	defer o.logCancel()
	select {
	case <-o.logDone:
	case <-time.After(logDrain):
		o.logCancel()
		<-o.logDone
		o.h.Log.Line(fmt.Sprintf("posml: pod log still streaming %s after the attempt ended; cut off", logDrain))
	}
}

// cutLogs ends the log stream at once.
func (o *observer) cutLogs() {
	if o.logCancel == nil {
		return
	}
	o.logCancel()
	<-o.logDone
}

// stop makes posml end the attempt: it deletes the Job, and run waits for
// it to be gone.
func (o *observer) stop(ctx context.Context, cause executor.State, err error) {
	if o.cause != "" {
		return
	}
	o.cause, o.causeErr = cause, err
	o.giveUp = time.After(o.graceBound())
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if err := o.h.b.deleteJob(rctx, o.h.ns, o.h.name); err != nil {
		o.h.Log.Line("posml: " + oneLine(err.Error()) + " (trying again)")
	}
}

func (o *observer) graceBound() time.Duration {
	g := o.h.spec.KillGrace
	if g == 0 {
		g = executor.DefaultKillGrace
	}
	return g + goneBound
}

// stopped is the result of an attempt posml stopped.
func (o *observer) stopped() executor.Result {
	return o.result(o.cause, -1, "", o.causeErr)
}

// failNow deletes the Job of an attempt that cannot go on and returns its
// result.
func (o *observer) failNow(ctx context.Context, err error) executor.Result {
	if derr := o.h.b.deleteJob(ctx, o.h.ns, o.h.name); derr != nil {
		o.h.Log.Line("posml: " + oneLine(derr.Error()))
	}
	return o.failed(err)
}

func (o *observer) failed(err error) executor.Result {
	return o.result(executor.Failed, -1, "", err)
}

func (o *observer) result(st executor.State, code int, signal string, err error) executor.Result {
	ended := o.ended
	if ended.IsZero() {
		ended = time.Now()
	}
	return executor.Result{State: st, ExitCode: code, Signal: signal, Started: o.started, Ended: ended, Err: err}
}

// jobFailed explains a Job that failed by itself, from its pod if there is
// one.
func (o *observer) jobFailed(ctx context.Context, c *batchv1.JobCondition) executor.Result {
	pod := o.pod
	if pod == nil {
		return o.failed(reasonError("job failed: "+c.Reason, c.Message))
	}
	if cs := containerStatus(pod.Status.InitContainerStatuses, initContainer); cs != nil {
		if t := terminated(cs); t != nil && t.ExitCode != 0 {
			o.initLog(ctx, pod.Name)
			return o.failed(fmt.Errorf("unpacking the project's files failed: exit %d%s", t.ExitCode, detail(t.Reason, t.Message)))
		}
	}
	t := terminated(containerStatus(pod.Status.ContainerStatuses, mainContainer))
	if t == nil {
		if pod.Status.Reason != "" {
			return o.failed(reasonError("pod "+pod.Status.Reason, pod.Status.Message))
		}
		return o.failed(reasonError("job failed: "+c.Reason, c.Message))
	}
	code, signal := int(t.ExitCode), ""
	if code > 128 && code <= 128+64 { // PID 1 killed by a signal
		code, signal = -1, signalName(t.ExitCode-128)
	}
	var err error
	switch t.Reason {
	case "OOMKilled":
		limit := o.h.a.memLimit
		if limit == "" {
			limit = "none set"
		}
		err = fmt.Errorf("OOMKilled (memory limit %s)", limit)
	case "", "Error", "Completed":
		if m := strings.TrimSpace(t.Message); m != "" {
			err = errors.New(oneLine(m))
		}
	default:
		err = reasonError(t.Reason, t.Message)
	}
	if err == nil && code == -1 && signal == "" {
		err = reasonError("job failed: "+c.Reason, c.Message)
	}
	return o.result(executor.Failed, code, signal, err)
}

// initLog copies the end of the unpacking container's log into the log.
func (o *observer) initLog(ctx context.Context, pod string) {
	tail := int64(20)
	rc, err := o.h.b.client.PodLogs(ctx, o.h.ns, pod, &corev1.PodLogOptions{Container: initContainer, TailLines: &tail})
	if err != nil {
		return
	}
	b, err := io.ReadAll(io.LimitReader(rc, 64<<10))
	rc.Close()
	if err != nil || len(b) == 0 {
		return
	}
	o.h.Log.Line("posml: the end of the unpacking container's log:")
	o.h.Log.Write(b)
}

func condition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i, c := range job.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return &job.Status.Conditions[i]
		}
	}
	return nil
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i, c := range pod.Status.Conditions {
		if c.Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

func containerStatus(ss []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i, s := range ss {
		if s.Name == name {
			return &ss[i]
		}
	}
	return nil
}

// terminated is how the container ended, if it did.
func terminated(cs *corev1.ContainerStatus) *corev1.ContainerStateTerminated {
	switch {
	case cs == nil:
		return nil
	case cs.State.Terminated != nil:
		return cs.State.Terminated
	default:
		return cs.LastTerminationState.Terminated
	}
}

// reasonError is "reason: message" on one line.
func reasonError(reason, message string) error {
	if m := oneLine(message); m != "" {
		return fmt.Errorf("%s: %s", reason, m)
	}
	return errors.New(reason)
}

func detail(reason, message string) string {
	switch m := oneLine(message); {
	case reason != "" && m != "":
		return fmt.Sprintf(" (%s: %s)", reason, m)
	case reason != "":
		return " (" + reason + ")"
	case m != "":
		return " (" + m + ")"
	}
	return ""
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func signalName(n int32) string {
	names := map[int32]string{1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS",
		8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM"}
	if s, ok := names[n]; ok {
		return s
	}
	return fmt.Sprintf("signal %d", n)
}
