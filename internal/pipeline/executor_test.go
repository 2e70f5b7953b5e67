package pipeline

import (
	"strings"
	"testing"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/projectconfig"
)

func TestExecutorPolicyResolve(t *testing.T) {
	tests := []struct {
		name    string
		policy  ExecutorPolicy
		in      projectconfig.Executor
		backend string
		err     string
	}{
		{"zero policy: local", ExecutorPolicy{}, projectconfig.Executor{}, "local", ""},
		{"zero policy refuses slurm", ExecutorPolicy{MaxGPU: -1}, projectconfig.Executor{Backend: "slurm"}, "slurm", "slurm is not enabled on this server (enabled: local)"},
		{"server default", ExecutorPolicy{Default: "kubernetes"}, projectconfig.Executor{}, "kubernetes", ""},
		{"explicit local allowed", ExecutorPolicy{Default: "kubernetes", Allowed: []string{"local"}}, projectconfig.Executor{Backend: "local"}, "local", ""},
		{"allowed list", ExecutorPolicy{Allowed: []string{"local", "slurm"}}, projectconfig.Executor{Backend: "slurm", GPU: 8}, "slurm", ""},
		{"gpu cap", ExecutorPolicy{Allowed: []string{"slurm"}, MaxGPU: 4}, projectconfig.Executor{Backend: "slurm", GPU: 5}, "slurm", "5 GPUs asked, but this server allows at most 4"},
		{"no cap", ExecutorPolicy{Allowed: []string{"slurm"}}, projectconfig.Executor{Backend: "slurm", GPU: 64}, "slurm", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.policy.Resolve(tt.in)
			if got.Backend != tt.backend {
				t.Errorf("backend = %q; want %q", got.Backend, tt.backend)
			}
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("err = %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || posml.KindOf(err) != posml.KindInvalid):
				t.Errorf("err = %v; want KindInvalid containing %q", err, tt.err)
			}
		})
	}
}
