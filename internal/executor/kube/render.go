package kube

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/executor"
)

// Labels and annotations posml puts on its Jobs and pods.
const (
	managedByLabel    = "app.kubernetes.io/managed-by"
	attemptLabel      = "posml.dev/attempt"
	jobLabel          = "posml.dev/job" // on the pod: the Job's name
	attemptAnnotation = "posml.dev/attempt-id"
)

// Names and paths inside the pod.
const (
	// Workspace is where the project's files are unpacked, the main
	// container's working directory.
	Workspace     = "/workspace"
	bundleDir     = "/posml/bundle"
	bundleKey     = "bundle.tar.gz"
	mainContainer = "main"
	initContainer = "unpack"
	gpuResource   = corev1.ResourceName("nvidia.com/gpu")
	maxJobName    = 52 // leaves the Job controller room for pod names
)

// attempt is what Start sends to the API server for one attempt.
type attempt struct {
	job       *batchv1.Job
	secret    *corev1.Secret
	image     string
	memLimit  string   // for the OOMKilled message
	warnings  []string // for the log
	ownSecret bool     // the Secret has no owner: delete it at the end
}

// render builds the Job and Secret of spec s, with bundle the project's
// files.
func (b *Backend) render(s executor.Spec, bundle []byte) (*attempt, error) {
	p := s.Placement
	image := p.Image
	if image == "" {
		image = b.cfg.DefaultImage
	}
	if image == "" {
		return nil, posml.Errorf(posml.KindInvalid, "kubernetes: no image: set executor.image in the project or --kube-image on the server")
	}
	ns := p.Namespace
	if ns == "" {
		ns = b.cfg.Namespace
	}
	res, err := resources(p)
	if err != nil {
		return nil, err
	}
	name := jobName(s.AttemptID)
	labels := map[string]string{
		managedByLabel: "posml",
		attemptLabel:   labelValue(s.AttemptID),
	}
	podLabels := map[string]string{jobLabel: name}
	for k, v := range labels {
		podLabels[k] = v
	}
	meta := metav1.ObjectMeta{
		Name:        name,
		Namespace:   ns,
		Labels:      labels,
		Annotations: map[string]string{attemptAnnotation: s.AttemptID},
	}

	dir := filepath.Clean(s.Dir)
	env, secretEnv, warnings := b.env(s.Env, dir, name)
	secretData := map[string][]byte{bundleKey: bundle}
	for k, v := range secretEnv {
		secretData[k] = []byte(v)
	}
	command := append([]string{b.cfg.Python}, s.Args...)
	command = append(command, p.ExtraArgs...)
	for i := 1; i < len(command); i++ {
		command[i] = rewriteDir(command[i], dir)
	}

	grace := seconds(s.KillGrace)
	if s.KillGrace == 0 {
		grace = seconds(executor.DefaultKillGrace)
	}
	ttl := int32(seconds(b.cfg.TTLAfterFinished))
	backoff := int32(0)
	one := int32(1)
	noLinks := false
	job := &batchv1.Job{
		ObjectMeta: meta,
		Spec: batchv1.JobSpec{
			BackoffLimit:            &backoff,
			Parallelism:             &one,
			Completions:             &one,
			TTLSecondsAfterFinished: &ttl,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: meta.Annotations},
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					TerminationGracePeriodSeconds: &grace,
					ServiceAccountName:            p.ServiceAccount,
					NodeSelector:                  p.NodeSelector,
					Tolerations:                   tolerations(p.Tolerations),
					EnableServiceLinks:            &noLinks, // the environment is Spec.Env only
					Volumes: []corev1.Volume{
						{Name: "bundle", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
							SecretName: name,
							Items:      []corev1.KeyToPath{{Key: bundleKey, Path: bundleKey}},
						}}},
						{Name: "workspace", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
					InitContainers: []corev1.Container{{
						Name:    initContainer,
						Image:   image,
						Command: []string{b.cfg.Python, "-c", unpackScript, bundleDir + "/" + bundleKey, Workspace},
						// The pod's requests are the larger of the init and
						// main containers', so this costs nothing; GPUs stay
						// with the main container.
						Resources: corev1.ResourceRequirements{Requests: withoutGPU(res.Requests), Limits: withoutGPU(res.Limits)},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "bundle", MountPath: bundleDir, ReadOnly: true},
							{Name: "workspace", MountPath: Workspace},
						},
					}},
					Containers: []corev1.Container{{
						Name:         mainContainer,
						Image:        image,
						Command:      command,
						WorkingDir:   Workspace,
						Env:          env,
						Resources:    res,
						VolumeMounts: []corev1.VolumeMount{{Name: "workspace", MountPath: Workspace}},
					}},
				},
			},
		},
	}
	if s.Timeout > 0 {
		d := seconds(s.Timeout)
		job.Spec.ActiveDeadlineSeconds = &d
	}
	secret := &corev1.Secret{
		ObjectMeta: meta,
		Type:       corev1.SecretTypeOpaque,
		Data:       secretData,
	}
	secret.Annotations = map[string]string{attemptAnnotation: s.AttemptID}
	return &attempt{job: job, secret: secret, image: image, memLimit: p.Memory, warnings: warnings}, nil
}

// withoutGPU is l without the GPUs.
func withoutGPU(l corev1.ResourceList) corev1.ResourceList {
	if l == nil {
		return nil
	}
	out := corev1.ResourceList{}
	for k, v := range l {
		if k != gpuResource {
			out[k] = v
		}
	}
	return out
}

// resources are the main container's requests and limits: each of CPU,
// Memory and GPU, when given, is both requested and the limit.
func resources(p executor.Placement) (corev1.ResourceRequirements, error) {
	var r corev1.ResourceRequirements
	set := func(name corev1.ResourceName, q resource.Quantity) {
		if r.Requests == nil {
			r.Requests, r.Limits = corev1.ResourceList{}, corev1.ResourceList{}
		}
		r.Requests[name], r.Limits[name] = q, q
	}
	for _, f := range []struct {
		name    corev1.ResourceName
		value   string
		example string
	}{
		{corev1.ResourceCPU, p.CPU, `"500m" or "2"`},
		{corev1.ResourceMemory, p.Memory, `"512Mi" or "4Gi"`},
	} {
		if f.value == "" {
			continue
		}
		q, err := resource.ParseQuantity(f.value)
		if err == nil && q.Sign() <= 0 {
			err = errors.New("not positive")
		}
		if err != nil {
			return r, &posml.Error{Kind: posml.KindInvalid,
				Msg: fmt.Sprintf("kubernetes: executor %s %q is not a Kubernetes quantity (like %s)", f.name, f.value, f.example),
				Err: err}
		}
		set(f.name, q)
	}
	switch {
	case p.GPU < 0:
		return r, posml.Errorf(posml.KindInvalid, fmt.Sprintf("kubernetes: executor gpu %d is negative", p.GPU))
	case p.GPU > 0:
		set(gpuResource, *resource.NewQuantity(int64(p.GPU), resource.DecimalSI))
	}
	return r, nil
}

func tolerations(ts []executor.Toleration) []corev1.Toleration {
	var out []corev1.Toleration
	for _, t := range ts {
		out = append(out, corev1.Toleration{
			Key:               t.Key,
			Operator:          corev1.TolerationOperator(t.Operator),
			Value:             t.Value,
			Effect:            corev1.TaintEffect(t.Effect),
			TolerationSeconds: t.Seconds,
		})
	}
	return out
}

// env turns Spec.Env into the main container's environment (see doc.go):
// the local directory dir becomes Workspace, PATH and HOME are dropped,
// MLFLOW_TRACKING_URI becomes Config.TrackingURI, and secrets are read
// from the attempt's Secret (whose keys and values are returned).
func (b *Backend) env(env []string, dir, secretName string) ([]corev1.EnvVar, map[string]string, []string) {
	var (
		names   []string
		values  = map[string]string{}
		secrets = map[string]string{}
		warn    []string
	)
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if _, seen := values[k]; !seen {
			names = append(names, k)
		}
		values[k] = v // the last one wins, as in exec
	}
	out := make([]corev1.EnvVar, 0, len(names))
	for _, k := range names {
		v := rewriteDir(values[k], dir)
		switch {
		case k == "PATH" || k == "HOME":
			continue // posml's host's, not the image's
		case k == "MLFLOW_TRACKING_URI" && b.cfg.TrackingURI != "":
			v = b.cfg.TrackingURI
		case k == "MLFLOW_TRACKING_URI" && isLoopback(v):
			warn = append(warn, fmt.Sprintf("MLFLOW_TRACKING_URI is %s, which the pod cannot reach; set the server's --kube-tracking-uri", v))
		}
		if isSecret(k) {
			key := "env." + k
			secrets[key] = v
			out = append(out, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: secretName},
				Key:                  key,
			}}})
			continue
		}
		out = append(out, corev1.EnvVar{Name: k, Value: v})
	}
	return out, secrets, warn
}

// isSecret reports whether the variable k holds a secret.
func isSecret(k string) bool {
	u := strings.ToUpper(k)
	return strings.HasSuffix(u, "_TOKEN") || strings.HasSuffix(u, "_PASSWORD") || strings.HasSuffix(u, "_SECRET")
}

func isLoopback(uri string) bool {
	u, err := url.Parse(uri)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || h == "::1" || strings.HasPrefix(h, "127.")
}

// rewriteDir replaces each occurrence of the directory dir in v, as a whole
// path or a path's prefix, with Workspace.
func rewriteDir(v, dir string) string {
	if dir == "" || dir == "/" || !strings.Contains(v, dir) {
		return v
	}
	var sb strings.Builder
	for {
		i := strings.Index(v, dir)
		if i < 0 {
			sb.WriteString(v)
			return sb.String()
		}
		end := i + len(dir)
		if end == len(v) || !isPathChar(v[end]) {
			sb.WriteString(v[:i] + Workspace)
		} else {
			sb.WriteString(v[:end]) // a longer name: /tmp/x in /tmp/xy
		}
		v = v[end:]
	}
}

func isPathChar(c byte) bool {
	return c == '.' || c == '-' || c == '_' || c == '~' ||
		'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// jobName is a new name for a Job of the attempt id: "posml-", id in
// DNS-1123 characters, and a random suffix, so that two posml servers
// sharing a namespace never collide.
func jobName(id string) string {
	const prefix = "posml-"
	const alphabet = "bcdfghjklmnpqrstvwxz2456789" // as Kubernetes' generateName
	var buf [5]byte
	rand.Read(buf[:])
	for i, c := range buf {
		buf[i] = alphabet[int(c)%len(alphabet)]
	}
	suffix := string(buf[:])
	part := dnsPart(id)
	if max := maxJobName - len(prefix) - len(suffix) - 1; len(part) > max {
		sum := sha256.Sum256([]byte(id))
		part = strings.TrimRight(part[:max-7], "-") + "-" + hex.EncodeToString(sum[:3])
	}
	if part == "" {
		return prefix + suffix
	}
	return prefix + part + "-" + suffix
}

// dnsPart is s in lowercase letters, digits and single dashes.
func dnsPart(s string) string {
	var sb strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			sb.WriteRune(c)
			dash = false
		} else if !dash && sb.Len() > 0 {
			sb.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(sb.String(), "-")
}

// labelValue is s as a label value: at most 63 letters, digits, '-', '_'
// and '.', beginning and ending with a letter or digit.
func labelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '-'
		}
	}
	v := string(b)
	if len(v) > 63 {
		sum := sha256.Sum256([]byte(s))
		v = v[:56] + "-" + hex.EncodeToString(sum[:])[:6]
	}
	return strings.Trim(v, "-_.")
}
