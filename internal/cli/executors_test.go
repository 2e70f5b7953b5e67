package cli

import (
	"strings"
	"testing"
)

// TestExecutorFlags: a backend that is not configured cannot be the
// default or allowed, and the errors say which flag enables it.
func TestExecutorFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--executor-default", "kubernetes"}, "--executor-default kubernetes: that backend is not configured (configured: local; --kube-config enables kubernetes, --slurm-shared-dir slurm)"},
		{[]string{"--executor-backends", "local,slurm"}, "--executor-backends: slurm is not configured (configured: local;"},
		{[]string{"--max-gpus", "-1"}, "--max-gpus must be 0 (no cap) or more, not -1"},
		{[]string{"--kube-config", "/nonexistent/kubeconfig"}, "--kube-config: stat /nonexistent/kubeconfig: no such file or directory"},
	} {
		_, errOut, code := run(t, append([]string{"server", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("posml server %v: exit %d, %q; want exit 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}
