// Package kube runs attempts as Kubernetes Jobs: it is the "kubernetes"
// executor.RemoteBackend, built on client-go.
//
// # One attempt, one Job
//
// Start renders each attempt into a batch/v1 Job with one pod:
// backoffLimit 0 (retries are posml's, not the Job controller's),
// restartPolicy Never, activeDeadlineSeconds from Spec.Timeout (rounded up
// to seconds; none when 0), ttlSecondsAfterFinished from
// Config.TTLAfterFinished, and terminationGracePeriodSeconds from
// Spec.KillGrace. The Job's name is "posml-", the attempt ID in DNS
// characters and a random suffix ("posml-42-1-x7k2p"), so two posml
// servers sharing a namespace never collide; the Job and its pod are
// labeled app.kubernetes.io/managed-by=posml and posml.dev/attempt=<the
// attempt ID, sanitized>, and the pod also posml.dev/job=<the Job's name>.
// The Handle's Ref is "kubernetes:<namespace>/<job name>".
//
// The main container runs Config.Python (python3) with Spec.Args and then
// Placement.ExtraArgs, in /workspace, in Placement.Image (or
// Config.DefaultImage), in Placement.Namespace (or Config.Namespace).
// Placement.CPU and Memory are each both requested and the limit, GPUs are
// nvidia.com/gpu (requested and limited), and NodeSelector, Tolerations and
// ServiceAccount are the pod's. A quantity Kubernetes cannot parse, a
// missing image, and a bundle too big are errors of kind posml.KindInvalid
// from Start, before anything is created.
//
// An image must hold python3 (Config.Python) and the project's
// requirements: posml builds no environment in the cluster, and the
// requirements.txt of the project is not installed by the pod.
//
// # Delivering the code
//
// Spec.Dir, the checkout the runner prepared (with its config.yaml, and
// .posml/sdk when the runner put the SDK there), travels as a bundle: a
// tar.gz of the directory (without .git and __pycache__; symbolic links
// inside it stay links, links out of it are replaced by their targets),
// stored under the key bundle.tar.gz of a Secret of the attempt's own, of
// the Job's name. An init container of the same image mounts that one key
// and unpacks it, with python3's tarfile (so an image needs no tar), into
// an emptyDir mounted at /workspace in both containers. A Secret holds at
// most 1 MiB: a bundle over Config.MaxBundle (900 KiB) fails the Start
// with the sizes and the advice to keep data out of the repository.
//
// Start creates the Secret first, then the Job, then makes the Job the
// Secret's owner, so the pod never waits for its Secret and the garbage
// collector deletes the Secret with the Job. If that last update fails,
// the handle deletes the Secret itself when the attempt ends; if the Job
// cannot be created, the Secret is deleted at once and the attempt fails
// with the API server's reason.
//
// # The environment
//
// The main container's environment is exactly Spec.Env (the pod has no
// service links), rewritten for the pod:
//
//   - the local Spec.Dir, wherever it is a whole path or a path's prefix
//     in a value (PYTHONPATH=<Dir>/.posml/sdk), becomes /workspace; so it
//     does in the arguments;
//   - PATH and HOME are dropped: they name posml's host, and the image's
//     own are used;
//   - MLFLOW_TRACKING_URI becomes Config.TrackingURI, the address at which
//     pods reach posml, when it is set (a loopback URI left as it is gets
//     a warning in the log);
//   - secrets, MLFLOW_TRACKING_TOKEN and any variable whose name ends in
//     _TOKEN, _PASSWORD or _SECRET, are stored in the attempt's Secret
//     (key "env.<NAME>") and referenced with secretKeyRef: no secret is
//     ever in the Job's spec.
//
// # Following an attempt
//
// A goroutine per attempt watches its Job and its pod (two watches, opened
// again when they end, and a read every Config.PollInterval besides) and
// maps what it sees onto an executor.Result:
//
//   - Job condition Complete: Succeeded, exit 0;
//   - Job condition Failed: Failed, with the main container's exit code
//     (a code over 128 is a signal, as for a local process) and its
//     termination reason; OOMKilled is "OOMKilled (memory limit 2Gi)"; a
//     failed unpack, an evicted pod, or a failure without a container
//     says so; Failed with reason DeadlineExceeded is TimedOut;
//   - a container waiting with ImagePullBackOff, ErrImagePull,
//     InvalidImageName, CreateContainerConfigError or CreateContainerError:
//     Failed at once with the reason and message, and the Job is deleted;
//   - a pod unschedulable (PodScheduled False, reason Unschedulable) for
//     Config.UnschedulableTimeout: Failed with the scheduler's message
//     ("Unschedulable: 0/1 nodes are available: 1 Insufficient
//     nvidia.com/gpu."), and the Job is deleted;
//   - Spec.Timeout passed (posml's timer: activeDeadlineSeconds, rounded
//     up, is a safety net for when posml is down) or Handle.Cancel: the
//     Job is deleted in the foreground, which deletes its pod first, and
//     Wait returns TimedOut (ErrTimedOut) or Canceled (ErrCanceled with
//     the reason) once the Job is gone, or KillGrace plus 30s later;
//   - the Job deleted by someone else: Failed.
//
// Result.Err carries the failure's reason, which the footer line of the
// log repeats. Started is when the container was seen running (or Start,
// if it never was), Ended when it was seen ending: posml's clock, not the
// cluster's second-precision one. PID is 0.
//
// # The log
//
// Spec.LogPath gets a header line ("posml: attempt 42/1 started ... on
// kubernetes: job ml/posml-42-1-x7k2p, image python:3.12"), then, once the
// main container runs or has ended, its log followed live through the API
// server, then executor.Footer's line. Followers read it as a local
// attempt's. A log the API server cannot give (a node without a kubelet,
// a pod gone) is the line "posml: pod log unavailable: ..." and never
// fails the attempt. A stream still open 10s after the end is cut off.
//
// # Cleanup and recovery
//
// Finished Jobs, with their pods, Secrets and logs, stay for
// Config.TTLAfterFinished (1h) and are then deleted by the cluster. After
// a restart of posml, Alive tells from a Ref whether its Job still exists
// unfinished, and Stop deletes the Job (in the foreground) and its pods
// with the given grace period; a Job already gone is no error.
//
// # Restarts: detach and attach
//
// An attempt can outlive the posml server that started it. The Handle is
// an executor.Detacher: Detach stops following the attempt (its watches,
// polls and log stream) without deleting its Job or Secret, writes
// "posml: detached from job <ns>/<name>: it runs on; the next posml
// server takes it back", closes the log, and Wait returns a Result of
// state executor.Detached, exit code -1. Detach after the end does
// nothing; of a Detach and a Cancel, the first wins and the other does
// nothing. An attempt whose Spec.Timeout passed is being stopped already:
// Detach lets that finish.
//
// The Backend is an executor.Attacher: after a restart, Attach takes a Ref
// and the attempt's Spec (only AttemptID, LogPath, KillGrace and Timeout,
// the time the attempt has left, are used), reads the Job (one that is
// gone is an error of kind posml.KindNotFound), appends "posml: reattached
// to job <ns>/<name> after a restart of posml" to the log, and follows the
// Job exactly as Start does, with the same results, Cancel, timeout and
// footer. The pod's log is copied from the time the log file was last
// written, about when the previous server stopped copying it (the API
// server counts in whole seconds: a line may repeat). A Job that finished
// meanwhile ends the attempt at once with its result, its duration taken
// from the container's start and end as the cluster saw them. The Secret
// is the Job's to delete; one Start failed to give the Job stays until
// its namespace is cleaned. The Job's activeDeadlineSeconds still bounds
// an attempt while no posml follows it.
//
// # Dependencies
//
// The package imports the standard library, posml, internal/executor and
// client-go with its API types; nothing imports it but the wiring in cli.
// Tests use client-go's fake clientset, and, when POSML_TEST_KUBECONFIG
// names a kubeconfig (scripts/kube.sh), a real control plane.
package kube
