package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/projectconfig"
)

// ExecutorPolicy is the server's side of a project's executor: section:
// the backend of projects that name none, which backends projects may use,
// and how many GPUs one attempt may ask for.
type ExecutorPolicy struct {
	// Default is the backend of a project whose config names none
	// (default "local").
	Default string
	// Allowed are the backends projects may use; empty means Default only.
	// A backend is allowed only if the server also has it configured.
	Allowed []string
	// MaxGPU caps executor.resources.gpu of one attempt; 0 means no cap.
	MaxGPU int
}

// allowed returns the allowed backends, Default first.
func (p ExecutorPolicy) allowed() []string {
	def := p.backend("")
	out := []string{def}
	for _, b := range p.Allowed {
		if !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out
}

func (p ExecutorPolicy) backend(asked string) string {
	switch {
	case asked != "":
		return asked
	case p.Default != "":
		return p.Default
	}
	return projectconfig.BackendLocal
}

// Resolve applies the policy to a project's executor section: it fills in
// the default backend and refuses a backend or a GPU count the server does
// not allow, with an error that names the field and the fix.
func (p ExecutorPolicy) Resolve(x projectconfig.Executor) (projectconfig.Executor, error) {
	x.Backend = p.backend(x.Backend)
	if allowed := p.allowed(); !slices.Contains(allowed, x.Backend) {
		return x, &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf(
			"executor.backend: %s is not enabled on this server (enabled: %s); choose one of those, or ask the operator to enable it (posml server --executor-backends)",
			x.Backend, strings.Join(allowed, ", "))}
	}
	if p.MaxGPU > 0 && x.GPU > p.MaxGPU {
		return x, &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf(
			"executor.resources.gpu: %d GPUs asked, but this server allows at most %d per attempt (posml server --max-gpus)", x.GPU, p.MaxGPU)}
	}
	return x, nil
}
