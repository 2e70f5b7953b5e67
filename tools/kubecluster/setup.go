package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// The fake node kwok manages: it selects nodes by this annotation
// (--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake).
const (
	kwokAnnotation = "kwok.x-k8s.io/node"
	gpuResource    = "nvidia.com/gpu"
)

func newClient(kubeconfig string) (*kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 100, 200
	return kubernetes.NewForConfig(cfg)
}

func fakeNode(name string, gpus int64) *corev1.Node {
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	if gpus > 0 {
		res[gpuResource] = *resource.NewQuantity(gpus, resource.DecimalSI)
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{kwokAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"type":                          "kwok",
				"kubernetes.io/hostname":        name,
				"kubernetes.io/os":              "linux",
				"kubernetes.io/arch":            "amd64",
				"kubernetes.io/role":            "agent",
				"node-role.kubernetes.io/agent": "",
			},
		},
		Status: corev1.NodeStatus{
			Capacity:    res,
			Allocatable: res.DeepCopy(),
			NodeInfo:    corev1.NodeSystemInfo{OperatingSystem: "linux", Architecture: "amd64", KubeletVersion: "fake"},
		},
	}
}

// runSetup creates the fake node(s) if missing and waits until the cluster
// is usable: apiserver healthy, every node Ready and without not-ready
// taints, and the default ServiceAccount in namespace default exists.
func runSetup(args []string) int {
	fs := flag.NewFlagSet("setup", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "admin kubeconfig")
	nodes := fs.String("nodes", "kwok-node-0:2", "comma-separated NAME:GPUS of the fake nodes to create")
	timeout := fs.Duration("timeout", 120*time.Second, "how long to wait")
	_ = fs.Parse(args)
	cs, err := newClient(*kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := setup(ctx, cs, *nodes); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		return 1
	}
	return 0
}

func setup(ctx context.Context, cs *kubernetes.Clientset, nodeSpec string) error {
	var last string
	wait := func(what string, ok func() (bool, string)) error {
		for {
			done, why := ok()
			if done {
				return nil
			}
			last = why
			select {
			case <-ctx.Done():
				return fmt.Errorf("timed out waiting for %s: %s", what, last)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	if err := wait("apiserver /readyz", func() (bool, string) {
		b, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return false, fmt.Sprintf("%v %s", err, b)
		}
		return true, ""
	}); err != nil {
		return err
	}
	var names []string
	for _, spec := range strings.Split(nodeSpec, ",") {
		name, gpuStr, _ := strings.Cut(strings.TrimSpace(spec), ":")
		var gpus int64
		if gpuStr != "" {
			if _, err := fmt.Sscan(gpuStr, &gpus); err != nil {
				return fmt.Errorf("bad --nodes entry %q", spec)
			}
		}
		names = append(names, name)
		_, err := cs.CoreV1().Nodes().Create(ctx, fakeNode(name, gpus), metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating node %s: %w", name, err)
		}
	}
	for _, name := range names {
		if err := wait("node "+name+" Ready", func() (bool, string) {
			n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			ready := false
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					ready = true
				}
			}
			if !ready {
				return false, "condition Ready is not True (is kwok running?)"
			}
			for _, t := range n.Spec.Taints {
				if strings.HasPrefix(t.Key, "node.kubernetes.io/") {
					return false, "still tainted " + t.Key
				}
			}
			return true, ""
		}); err != nil {
			return err
		}
	}
	return wait("ServiceAccount default/default", func() (bool, string) {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false, err.Error() + " (is kube-controller-manager running?)"
		}
		return true, ""
	})
}
