package cli

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/executor"
	"github.com/posml/posml/internal/executor/kube"
	"github.com/posml/posml/internal/executor/slurm"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/projectconfig"
)

// executorConfig configures where `posml server` runs attempts: the local
// backend always, Kubernetes with --kube-config, Slurm with
// --slurm-shared-dir, and the policy on the projects' executor sections.
type executorConfig struct {
	Policy pipeline.ExecutorPolicy
	Kube   *kube.Config  // nil: no Kubernetes backend
	Slurm  *slurm.Config // nil: no Slurm backend
	// SlurmTrackingURI is posml's URL as the Slurm nodes reach it ("":
	// the server's own).
	SlurmTrackingURI string
}

// addExecutorFlags adds the flags of executorConfig to `posml server`.
func addExecutorFlags(c *cobra.Command) {
	f := c.Flags()
	f.String("executor-default", "local", "backend of the projects whose config names none: local, kubernetes or slurm (env POSML_EXECUTOR_DEFAULT)")
	f.String("executor-backends", "", "comma-separated backends projects may use (env POSML_EXECUTOR_BACKENDS; default: local and every backend configured below)")
	f.Int("max-gpus", 0, "most GPUs one attempt may ask for in executor.resources.gpu; 0: no cap (env POSML_MAX_GPUS)")
	f.String("kube-config", "", `kubeconfig of the Kubernetes cluster that runs attempts, or "in-cluster" when posml runs in it; enables the kubernetes backend (env POSML_KUBECONFIG)`)
	f.String("kube-namespace", kube.DefaultNamespace, "namespace of the attempts whose config names none (env POSML_KUBE_NAMESPACE)")
	f.String("kube-image", "", "image of the attempts whose config names none (env POSML_KUBE_IMAGE)")
	f.String("kube-tracking-uri", "", "posml's URL as pods reach it (env POSML_KUBE_TRACKING_URI; default: the server's own)")
	f.String("kube-python", kube.DefaultPython, "Python interpreter in the images (env POSML_KUBE_PYTHON)")
	f.Duration("kube-unschedulable-timeout", kube.DefaultUnschedulableTimeout, "how long a pod may stay unschedulable before its attempt fails (env POSML_KUBE_UNSCHEDULABLE_TIMEOUT)")
	f.Duration("kube-ttl", kube.DefaultTTLAfterFinished, "how long a finished Job (its pod and log) stays in the cluster (env POSML_KUBE_TTL)")
	f.String("slurm-shared-dir", "", "directory shared with the Slurm nodes, for the attempts' checkouts and output; enables the slurm backend (env POSML_SLURM_SHARED_DIR)")
	f.String("slurm-partition", "", "partition of the attempts whose config names none (env POSML_SLURM_PARTITION; default: the cluster's default)")
	f.String("slurm-python", "", "Python interpreter on the Slurm nodes (env POSML_SLURM_PYTHON; default: the one posml uses)")
	f.String("slurm-tracking-uri", "", "posml's URL as Slurm nodes reach it (env POSML_SLURM_TRACKING_URI; default: the server's own)")
	f.Duration("slurm-pending-timeout", 0, "how long a job may pend for a reason waiting will not fix (PartitionNodeLimit, ReqNodeNotAvail, ...) before its attempt fails; 0: forever (env POSML_SLURM_PENDING_TIMEOUT)")
	f.String("slurm-bin", "", "directory of sbatch, squeue, sacct and scancel (env POSML_SLURM_BIN; default: PATH)")
}

// resolve fills xc from the flags of addExecutorFlags and the environment.
func (xc *executorConfig) resolve(cmd *cobra.Command, e *env) error {
	f := cmd.Flags()
	str := func(flag, envName string) string {
		v, _ := f.GetString(flag)
		if !f.Changed(flag) {
			if ev := e.getenv(envName); ev != "" {
				return ev
			}
		}
		return v
	}
	dur := func(flag, envName string) (time.Duration, error) {
		d, _ := f.GetDuration(flag)
		if ev := e.getenv(envName); ev != "" && !f.Changed(flag) {
			pd, err := time.ParseDuration(ev)
			if err != nil {
				return 0, &usageError{fmt.Errorf("%s=%q: want a duration such as 2m", envName, ev)}
			}
			d = pd
		}
		return d, nil
	}
	if kc := str("kube-config", "POSML_KUBECONFIG"); kc != "" {
		k := &kube.Config{
			Namespace:    str("kube-namespace", "POSML_KUBE_NAMESPACE"),
			DefaultImage: str("kube-image", "POSML_KUBE_IMAGE"),
			TrackingURI:  str("kube-tracking-uri", "POSML_KUBE_TRACKING_URI"),
			Python:       str("kube-python", "POSML_KUBE_PYTHON"),
		}
		if kc != "in-cluster" {
			if _, err := os.Stat(kc); err != nil {
				return &usageError{fmt.Errorf("--kube-config: %w", err)}
			}
			k.Kubeconfig = kc
		}
		d, err := dur("kube-unschedulable-timeout", "POSML_KUBE_UNSCHEDULABLE_TIMEOUT")
		if err != nil {
			return err
		}
		k.UnschedulableTimeout = d
		if k.TTLAfterFinished, err = dur("kube-ttl", "POSML_KUBE_TTL"); err != nil {
			return err
		}
		xc.Kube = k
	}
	if sd := str("slurm-shared-dir", "POSML_SLURM_SHARED_DIR"); sd != "" {
		xc.Slurm = &slurm.Config{
			SharedDir: sd,
			Partition: str("slurm-partition", "POSML_SLURM_PARTITION"),
			Python:    str("slurm-python", "POSML_SLURM_PYTHON"),
			Bin:       str("slurm-bin", "POSML_SLURM_BIN"),
		}
		d, err := dur("slurm-pending-timeout", "POSML_SLURM_PENDING_TIMEOUT")
		if err != nil {
			return err
		}
		xc.Slurm.PendingTimeout = d
		xc.SlurmTrackingURI = str("slurm-tracking-uri", "POSML_SLURM_TRACKING_URI")
	}

	configured := []string{projectconfig.BackendLocal}
	if xc.Kube != nil {
		configured = append(configured, projectconfig.BackendKubernetes)
	}
	if xc.Slurm != nil {
		configured = append(configured, projectconfig.BackendSlurm)
	}
	p := &xc.Policy
	p.Default = str("executor-default", "POSML_EXECUTOR_DEFAULT")
	if !slices.Contains(configured, p.Default) {
		return &usageError{fmt.Errorf("--executor-default %s: that backend is not configured (configured: %s; --kube-config enables kubernetes, --slurm-shared-dir slurm)",
			p.Default, strings.Join(configured, ", "))}
	}
	if list := str("executor-backends", "POSML_EXECUTOR_BACKENDS"); list != "" {
		for _, b := range strings.Split(list, ",") {
			b = strings.TrimSpace(b)
			if b == "" {
				continue
			}
			if !slices.Contains(configured, b) {
				return &usageError{fmt.Errorf("--executor-backends: %s is not configured (configured: %s; --kube-config enables kubernetes, --slurm-shared-dir slurm)",
					b, strings.Join(configured, ", "))}
			}
			p.Allowed = append(p.Allowed, b)
		}
	} else {
		p.Allowed = configured
	}
	p.MaxGPU, _ = f.GetInt("max-gpus")
	if v := e.getenv("POSML_MAX_GPUS"); v != "" && !f.Changed("max-gpus") {
		n, err := strconv.Atoi(v)
		if err != nil {
			return &usageError{fmt.Errorf("POSML_MAX_GPUS=%q: want a number", v)}
		}
		p.MaxGPU = n
	}
	if p.MaxGPU < 0 {
		return &usageError{fmt.Errorf("--max-gpus must be 0 (no cap) or more, not %d", p.MaxGPU)}
	}
	return nil
}

// backends builds the runner's backend: Local, and the remote backends
// configured. python is posml's own interpreter, the Slurm nodes' default.
func (xc *executorConfig) backends(python string) (*executor.Router, map[string]string, error) {
	r := &executor.Router{Local: &executor.Local{}, Remote: map[string]executor.RemoteBackend{}}
	uris := map[string]string{}
	if xc.Kube != nil {
		b, err := kube.New(*xc.Kube)
		if err != nil {
			return nil, nil, fmt.Errorf("kubernetes backend: %w", err)
		}
		r.Remote[projectconfig.BackendKubernetes] = b
		uris[projectconfig.BackendKubernetes] = xc.Kube.TrackingURI
	}
	if xc.Slurm != nil {
		cfg := *xc.Slurm
		if cfg.Python == "" {
			cfg.Python = python
		}
		b, err := slurm.New(cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("slurm backend: %w", err)
		}
		r.Remote[projectconfig.BackendSlurm] = b
		uris[projectconfig.BackendSlurm] = xc.SlurmTrackingURI
	}
	return r, uris, nil
}
