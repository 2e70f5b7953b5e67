package projectconfig

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExecutorSection reads a full executor: section of each backend.
func TestExecutorSection(t *testing.T) {
	five := int64(300)
	tests := []struct {
		name string
		yaml string
		want Executor
	}{
		{"absent: the server's default", doc(), Executor{}},
		{"empty: the server's default", doc("executor:"), Executor{}},
		{"kubernetes", doc(`executor:
  backend: kubernetes
  image: registry.example.com/ml/iris:1.4
  resources:
    cpu: 2
    memory: 4Gi
    gpu: 1
  node_selector:
    pool: gpu
    cloud.google.com/gke-accelerator: nvidia-l4
  tolerations:
    - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
    - {key: spot, value: "true", effect: NoExecute, toleration_seconds: 300}
  namespace: ml-train
  service_account: trainer
  extra_args: ["--epochs", "3"]`), Executor{
			Backend: "kubernetes", Image: "registry.example.com/ml/iris:1.4", CPU: "2", Memory: "4Gi", GPU: 1,
			NodeSelector: map[string]string{"pool": "gpu", "cloud.google.com/gke-accelerator": "nvidia-l4"},
			Tolerations: []Toleration{
				{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoSchedule"},
				{Key: "spot", Value: "true", Effect: "NoExecute", Seconds: &five},
			},
			Namespace: "ml-train", ServiceAccount: "trainer", ExtraArgs: []string{"--epochs", "3"},
		}},
		{"slurm", doc(`executor:
  backend: slurm
  partition: gpu
  resources: {cpu: 500m, memory: 512Mi, gpu: 2}
  extra_args: ["--qos=high", "--account=ml"]`), Executor{
			Backend: "slurm", Partition: "gpu", CPU: "500m", Memory: "512Mi", GPU: 2, ExtraArgs: []string{"--qos=high", "--account=ml"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := load(t, tt.yaml, "")
			if len(diags) != 0 {
				t.Fatalf("diagnostics: %q", diags)
			}
			if diff := cmp.Diff(tt.want, c.Executor); diff != "" {
				t.Errorf("Executor (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExecutorDiagnostics checks what posml validate says of a wrong
// executor: section (the base config ends on line 8; executor: is line 9).
func TestExecutorDiagnostics(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"not a mapping", doc("executor: kubernetes"), []string{
			`src/config.yaml:9:11: executor: must be a mapping, not a string (write its fields indented below it, e.g. executor: {backend: kubernetes, image: python:3.11})`}},
		{"k8s", doc("executor: {backend: k8s, image: python:3.11}"), []string{
			`src/config.yaml:9:21: executor.backend: unknown backend "k8s" (did you mean "kubernetes"?)`}},
		{"misspelt backend", doc("executor: {backend: slurn}"), []string{
			`src/config.yaml:9:21: executor.backend: unknown backend "slurn" (did you mean "slurm"?)`}},
		{"capitalised backend", doc("executor: {backend: Slurm}"), []string{
			`src/config.yaml:9:21: executor.backend: unknown backend "Slurm" (write it in lowercase: backend: slurm)`}},
		{"bad cpu", doc("executor:\n  backend: slurm\n  resources: {cpu: two}"), []string{
			`src/config.yaml:11:20: executor.resources.cpu: "two" is not a cpu quantity (write a number of cores, e.g. cpu: 2 or cpu: 500m)`}},
		{"zero cpu", doc("executor:\n  backend: slurm\n  resources: {cpu: 0}"), []string{
			`src/config.yaml:11:20: executor.resources.cpu: must be more than zero, not 0 (write a number of cores, e.g. cpu: 2 or cpu: 500m)`}},
		{"memory without unit", doc("executor:\n  backend: slurm\n  resources: {memory: 4}"), []string{
			`src/config.yaml:11:23: executor.resources.memory: 4 is 4 bytes, surely not meant (write bytes with a unit, e.g. memory: 4Gi or memory: 512Mi)`}},
		{"memory GB typo", doc("executor:\n  backend: slurm\n  resources: {memory: 4GB}"), []string{
			`src/config.yaml:11:23: executor.resources.memory: "4GB" is not a memory quantity (quantities have no B: write 4Gi for GiB or 4G for GB)`}},
		{"negative gpu", doc("executor:\n  backend: slurm\n  resources: {gpu: -1}"), []string{
			`src/config.yaml:11:20: executor.resources.gpu: must be at least 0, not -1 (write an integer of at least 0)`}},
		{"gpu under executor", doc("executor:\n  backend: slurm\n  gpu: 1"), []string{
			`src/config.yaml:11:3: warning: executor.gpu: gpu under executor:; it belongs under executor.resources: (move it under executor.resources:)`}},
		{"label value read as bool", doc("executor:\n  backend: kubernetes\n  image: python:3.11\n  node_selector: {gpu: true}"), []string{
			`src/config.yaml:12:24: executor.node_selector.gpu: label values are strings, but YAML reads true as a boolean (quote it: gpu: "true")`}},
		{"toleration with value and Exists", doc("executor:\n  backend: kubernetes\n  image: python:3.11\n  tolerations:\n    - {key: a, operator: Exists, value: b}"), []string{
			`src/config.yaml:13:41: executor.tolerations[0].value: must be empty when operator is Exists (remove value, or use operator: Equal)`}},
		{"toleration bad effect", doc("executor:\n  backend: kubernetes\n  image: python:3.11\n  tolerations:\n    - {key: a, effect: NoSched}"), []string{
			`src/config.yaml:13:24: executor.tolerations[0].effect: unknown effect "NoSched" (write NoSchedule, PreferNoSchedule or NoExecute, or leave it out for all effects)`}},
		{"bad namespace", doc("executor:\n  backend: kubernetes\n  image: python:3.11\n  namespace: ML_Train"), []string{
			`src/config.yaml:12:14: executor.namespace: "ML_Train" is not a Kubernetes namespace name (use lowercase letters, digits and '-', at most 63, e.g. namespace: ml-train)`}},
		{"extra_args not a list", doc("executor:\n  backend: slurm\n  extra_args: --qos=high"), []string{
			`src/config.yaml:11:15: executor.extra_args: must be a list of strings, not a string (write a list, e.g. extra_args: ["--qos=high"])`}},
		{"kubernetes without an image", doc("executor:\n  backend: kubernetes"), []string{
			`src/config.yaml:10:12: warning: executor.image: is not set: the attempts run in the server's default image (posml server --kube-image), or fail if it has none (add e.g. image: registry.example.com/ml/iris:1.4 (python3 and your requirements.txt installed))`}},
		{"image ignored by slurm", doc("executor:\n  backend: slurm\n  image: python:3.11"), []string{
			`src/config.yaml:11:3: warning: executor.image: is ignored by the slurm backend (remove it, or choose the backend that uses it)`}},
		{"resources on local", doc("executor:\n  backend: local\n  resources: {gpu: 1}"), []string{
			`src/config.yaml:11:3: warning: executor.resources: the local backend runs attempts as plain processes and reserves nothing (choose backend: kubernetes or slurm to reserve resources)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := load(t, tt.yaml, "")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}
