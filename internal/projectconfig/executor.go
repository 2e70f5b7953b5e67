package projectconfig

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The executor backends a project may name in executor.backend.
const (
	BackendLocal      = "local"
	BackendKubernetes = "kubernetes"
	BackendSlurm      = "slurm"
)

// Backends lists the executor backends, the default first.
var Backends = []string{BackendLocal, BackendKubernetes, BackendSlurm}

// Executor is the executor: section: where the project's attempts run.
// Backend is "" when the section names none: the server's default backend
// (local unless the operator chose another). The server applies its
// defaults and limits on top (pipeline.ExecutorPolicy).
type Executor struct {
	Backend string `json:"backend,omitempty"`
	// Image is the container image of a Kubernetes attempt.
	Image string `json:"image,omitempty"`
	// CPU and Memory are quantities as Kubernetes writes them ("2",
	// "500m"; "4Gi", "512Mi"), GPU a count.
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
	GPU    int    `json:"gpu,omitempty"`

	NodeSelector   map[string]string `json:"node_selector,omitempty"`
	Tolerations    []Toleration      `json:"tolerations,omitempty"`
	Namespace      string            `json:"namespace,omitempty"`
	ServiceAccount string            `json:"service_account,omitempty"`
	// Partition is the Slurm partition.
	Partition string `json:"partition,omitempty"`
	// ExtraArgs are extra sbatch options (Slurm) or extra arguments of
	// the training script (Kubernetes).
	ExtraArgs []string `json:"extra_args,omitempty"`
}

// Toleration is one entry of executor.tolerations, as a pod spec writes it.
type Toleration struct {
	Key      string `json:"key,omitempty"`
	Operator string `json:"operator,omitempty"`
	Value    string `json:"value,omitempty"`
	Effect   string `json:"effect,omitempty"`
	Seconds  *int64 `json:"toleration_seconds,omitempty"`
}

var (
	executorKeys   = []string{"backend", "image", "resources", "node_selector", "tolerations", "namespace", "service_account", "partition", "extra_args"}
	resourceKeys   = []string{"cpu", "memory", "gpu"}
	tolerationKeys = []string{"key", "operator", "value", "effect", "toleration_seconds"}

	cpuRE    = regexp.MustCompile(`^([0-9]+(\.[0-9]{1,3})?|[0-9]+m)$`)
	memoryRE = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$`)
	// dnsLabelRE is a Kubernetes namespace (RFC 1123 label).
	dnsLabelRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	// dnsSubdomainRE is a service account name (RFC 1123 subdomain).
	dnsSubdomainRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	// labelKeyRE is a label key: an optional DNS prefix and a name.
	labelKeyRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)
	// byteUnitRE is a memory size written with a B ("4GB"), which
	// Kubernetes quantities do not take.
	byteUnitRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)([kKmMgGtTpP])[iI]?[bB]$`)
	labelValRE = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`)
)

// memorySuffix is the factor of each quantity suffix.
var memorySuffix = map[string]float64{
	"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
	"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60,
}

// MemoryBytes returns the bytes of a memory quantity ("4Gi", "512M",
// "1000000"), and false if it is not one.
func MemoryBytes(q string) (float64, bool) {
	m := memoryRE.FindStringSubmatch(q)
	if m == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	return f * memorySuffix[m[3]], true
}

// CPUCores returns the cores of a cpu quantity ("2", "0.5", "500m"), and
// false if it is not one.
func CPUCores(q string) (float64, bool) {
	if !cpuRE.MatchString(q) {
		return 0, false
	}
	if m, ok := strings.CutSuffix(q, "m"); ok {
		n, err := strconv.ParseFloat(m, 64)
		return n / 1000, err == nil
	}
	n, err := strconv.ParseFloat(q, 64)
	return n, err == nil
}

// executor checks the executor: section.
func (v *validator) executor(e *entry, c *Config) {
	c.Executor = Executor{}
	if e == nil || e.val.isEmpty() {
		return
	}
	m := e.val
	if m.tag != tagMap {
		if m.tag != tagInvalid {
			v.errorAt(m, "executor", "write its fields indented below it, e.g. executor: {backend: kubernetes, image: python:3.11}",
				"must be a mapping, not %s", m.describe())
		}
		return
	}
	v.unknownKeys(m, executorKeys, "executor.", resourceKeys, "executor.resources")
	x := &c.Executor

	backendOK := true
	b, st := v.str(m.field("backend"), "executor.backend", false)
	if st == invalid {
		backendOK = false
	}
	if st == set {
		backendOK = false
		switch lb := strings.ToLower(b); {
		case lb == b && slices.Contains(Backends, b):
			x.Backend, backendOK = b, true
		case slices.Contains(Backends, lb):
			v.errorAt(m.field("backend").val, "executor.backend", "write it in lowercase: backend: "+lb, "unknown backend %q", b)
		case lb == "k8s" || lb == "kube":
			v.errorAt(m.field("backend").val, "executor.backend", `did you mean "kubernetes"?`, "unknown backend %q", b)
		default:
			fix := didYouMean(closest(lb, Backends, 3))
			if fix == "" {
				fix = "write local, kubernetes or slurm"
			}
			v.errorAt(m.field("backend").val, "executor.backend", fix, "unknown backend %q", b)
		}
	}
	x.Image, _ = v.str(m.field("image"), "executor.image", false)

	if r := m.field("resources"); r != nil && !r.val.isEmpty() {
		if r.val.tag != tagMap {
			if r.val.tag != tagInvalid {
				v.errorAt(r.val, "executor.resources", "write its fields indented below it, e.g. resources: {cpu: 2, memory: 4Gi, gpu: 1}",
					"must be a mapping, not %s", r.val.describe())
			}
		} else {
			v.unknownKeys(r.val, resourceKeys, "executor.resources.", executorKeys, "executor")
			x.CPU = v.quantity(r.val.field("cpu"), "executor.resources.cpu")
			x.Memory = v.quantity(r.val.field("memory"), "executor.resources.memory")
			x.GPU = v.integer(r.val.field("gpu"), "executor.resources.gpu", 0, 0)
		}
	}

	x.NodeSelector = v.nodeSelector(m.field("node_selector"))
	x.Tolerations = v.tolerations(m.field("tolerations"))

	if ns, st := v.str(m.field("namespace"), "executor.namespace", false); st == set {
		if dnsLabelRE.MatchString(ns) {
			x.Namespace = ns
		} else {
			v.errorAt(m.field("namespace").val, "executor.namespace", "use lowercase letters, digits and '-', at most 63, e.g. namespace: ml-train",
				"%q is not a Kubernetes namespace name", ns)
		}
	}
	if sa, st := v.str(m.field("service_account"), "executor.service_account", false); st == set {
		if len(sa) <= 253 && dnsSubdomainRE.MatchString(sa) {
			x.ServiceAccount = sa
		} else {
			v.errorAt(m.field("service_account").val, "executor.service_account", "use lowercase letters, digits, '-' and '.', e.g. service_account: trainer",
				"%q is not a Kubernetes service account name", sa)
		}
	}
	x.Partition, _ = v.str(m.field("partition"), "executor.partition", false)
	x.ExtraArgs = v.stringList(m.field("extra_args"), "executor.extra_args")

	// Fields the chosen backend does not use are probably a mistake.
	ignored := func(key, backend string) {
		if f := m.field(key); f != nil && !f.val.isEmpty() {
			v.warnAt(f.key, "executor."+key, "remove it, or choose the backend that uses it",
				"is ignored by the %s backend", backend)
		}
	}
	switch {
	case !backendOK, x.Backend == "": // the server's default decides
	case x.Backend == BackendLocal:
		for _, k := range []string{"image", "node_selector", "tolerations", "namespace", "service_account", "partition", "extra_args"} {
			ignored(k, x.Backend)
		}
		if x.GPU > 0 || x.CPU != "" || x.Memory != "" {
			v.warnAt(m.field("resources").key, "executor.resources", "choose backend: kubernetes or slurm to reserve resources",
				"the local backend runs attempts as plain processes and reserves nothing")
		}
	case x.Backend == BackendKubernetes:
		ignored("partition", x.Backend)
		if x.Image == "" && (m.field("image") == nil || m.field("image").val.isEmpty()) {
			v.warnAt(m.field("backend").val, "executor.image", "add e.g. image: registry.example.com/ml/iris:1.4 (python3 and your requirements.txt installed)",
				"is not set: the attempts run in the server's default image (posml server --kube-image), or fail if it has none")
		}
	case x.Backend == BackendSlurm:
		for _, k := range []string{"image", "node_selector", "tolerations", "namespace", "service_account"} {
			ignored(k, x.Backend)
		}
	}
}

// quantity reads a cpu or memory quantity: an integer or decimal number, or
// a string with a Kubernetes suffix.
func (v *validator) quantity(e *entry, rule string) string {
	if e == nil || e.val.isEmpty() {
		return ""
	}
	n := e.val
	isCPU := strings.HasSuffix(rule, ".cpu")
	fix := "write a number of cores, e.g. cpu: 2 or cpu: 500m"
	if !isCPU {
		fix = "write bytes with a unit, e.g. memory: 4Gi or memory: 512Mi"
	}
	var s string
	switch n.tag {
	case tagStr, tagInt, tagFloat:
		s = n.y.Value
	case tagInvalid:
		return ""
	default:
		v.errorAt(n, rule, fix, "must be a quantity, not %s", n.describe())
		return ""
	}
	if isCPU {
		cores, ok := CPUCores(s)
		switch {
		case !ok:
			v.errorAt(n, rule, fix, "%q is not a cpu quantity", s)
			return ""
		case cores <= 0:
			v.errorAt(n, rule, fix, "must be more than zero, not %s", s)
			return ""
		}
		return s
	}
	b, ok := MemoryBytes(s)
	if m := byteUnitRE.FindStringSubmatch(s); !ok && m != nil {
		u := strings.ToUpper(m[2])
		dec := u
		if u == "K" {
			dec = "k"
		}
		fix = fmt.Sprintf("quantities have no B: write %s%si for %siB or %s%s for %sB", m[1], u, u, m[1], dec, u)
	}
	switch {
	case !ok:
		v.errorAt(n, rule, fix, "%q is not a memory quantity", s)
		return ""
	case b < 1<<20:
		v.errorAt(n, rule, fix, "%s is %s bytes, surely not meant", s, strconv.FormatFloat(b, 'f', -1, 64))
		return ""
	case b > math.MaxInt64:
		v.errorAt(n, rule, fix, "%s is too large", s)
		return ""
	}
	return s
}

// nodeSelector reads a mapping of label keys to label values.
func (v *validator) nodeSelector(e *entry) map[string]string {
	const rule = "executor.node_selector"
	if e == nil || e.val.isEmpty() {
		return nil
	}
	if e.val.tag != tagMap {
		if e.val.tag != tagInvalid {
			v.errorAt(e.val, rule, "write label: value pairs indented below it, e.g. node_selector: {pool: gpu}", "must be a mapping, not %s", e.val.describe())
		}
		return nil
	}
	out := map[string]string{}
	for _, f := range e.val.entries {
		k, ok := f.name()
		if !ok || !labelKeyRE.MatchString(k) {
			v.errorAt(f.key, rule, "write a label name such as pool or cloud.google.com/gke-accelerator", "%q is not a Kubernetes label key", k)
			continue
		}
		switch {
		case f.val.tag == tagStr && labelValRE.MatchString(f.val.y.Value):
			out[k] = f.val.y.Value
		case f.val.tag == tagStr:
			v.errorAt(f.val, rule+"."+k, "use letters, digits, '-', '_' and '.', at most 63", "%q is not a Kubernetes label value", f.val.y.Value)
		case f.val.tag == tagInt || f.val.tag == tagFloat || f.val.tag == tagBool:
			v.errorAt(f.val, rule+"."+k, fmt.Sprintf("quote it: %s: %q", k, f.val.y.Value), "label values are strings, but YAML reads %s as %s", f.val.y.Value, f.val.describe())
		case f.val.tag != tagInvalid:
			v.errorAt(f.val, rule+"."+k, "write a single value", "must be a string, not %s", f.val.describe())
		}
	}
	return out
}

// tolerations reads a list of pod tolerations.
func (v *validator) tolerations(e *entry) []Toleration {
	const rule = "executor.tolerations"
	if e == nil || e.val.isEmpty() {
		return nil
	}
	if e.val.tag != tagSeq {
		if e.val.tag != tagInvalid {
			v.errorAt(e.val, rule, "write a list, e.g. tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]", "must be a list, not %s", e.val.describe())
		}
		return nil
	}
	var out []Toleration
	for i, it := range e.val.items {
		r := fmt.Sprintf("%s[%d]", rule, i)
		if it.tag != tagMap {
			if it.tag != tagInvalid {
				v.errorAt(it, r, "write each toleration as a mapping, e.g. {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}", "must be a mapping, not %s", it.describe())
			}
			continue
		}
		v.unknownKeys(it, tolerationKeys, r+".", nil, "")
		var t Toleration
		t.Key, _ = v.str(it.field("key"), r+".key", false)
		t.Value, _ = v.str(it.field("value"), r+".value", false)
		ok := true
		if op, st := v.str(it.field("operator"), r+".operator", false); st == set {
			if op == "Equal" || op == "Exists" {
				t.Operator = op
			} else {
				v.errorAt(it.field("operator").val, r+".operator", "write Equal or Exists", "unknown operator %q", op)
				ok = false
			}
		}
		if ef, st := v.str(it.field("effect"), r+".effect", false); st == set {
			if ef == "NoSchedule" || ef == "PreferNoSchedule" || ef == "NoExecute" {
				t.Effect = ef
			} else {
				v.errorAt(it.field("effect").val, r+".effect", "write NoSchedule, PreferNoSchedule or NoExecute, or leave it out for all effects", "unknown effect %q", ef)
				ok = false
			}
		}
		if f := it.field("toleration_seconds"); f != nil && !f.val.isEmpty() {
			s := int64(v.integer(f, r+".toleration_seconds", 0, 0))
			t.Seconds = &s
			if t.Effect != "NoExecute" {
				v.errorAt(f.key, r+".toleration_seconds", "add effect: NoExecute, or remove toleration_seconds", "applies only to effect NoExecute")
				ok = false
			}
		}
		switch {
		case t.Operator == "Exists" && t.Value != "":
			v.errorAt(it.field("value").val, r+".value", "remove value, or use operator: Equal", "must be empty when operator is Exists")
			ok = false
		case t.Key == "" && t.Operator != "Exists":
			v.errorAt(it, r, "add a key, or operator: Exists to tolerate every taint", "has no key")
			ok = false
		}
		if ok {
			out = append(out, t)
		}
	}
	return out
}

// stringList reads a list of strings.
func (v *validator) stringList(e *entry, rule string) []string {
	if e == nil || e.val.isEmpty() {
		return nil
	}
	if e.val.tag != tagSeq {
		if e.val.tag != tagInvalid {
			v.errorAt(e.val, rule, `write a list, e.g. extra_args: ["--qos=high"]`, "must be a list of strings, not %s", e.val.describe())
		}
		return nil
	}
	var out []string
	for _, it := range e.val.items {
		if it.tag == tagStr {
			out = append(out, it.y.Value)
			continue
		}
		if it.tag != tagInvalid {
			v.errorAt(it, rule, fmt.Sprintf("quote it: %q", it.y.Value), "must be a list of strings, but YAML reads %s as %s", it.y.Value, it.describe())
		}
	}
	return out
}
