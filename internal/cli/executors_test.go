package cli

import (
	"context"
	"io"
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

// TestSourceRegexEnv: an expression Go cannot compile is refused at start
// with the variable's name.
func TestSourceRegexEnv(t *testing.T) {
	var errOut strings.Builder
	env := map[string]string{"MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX": `^(?!file:)`}
	err := Run(context.Background(), []string{"server", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, strings.NewReader(""), io.Discard, &errOut, func(k string) string { return env[k] })
	if ExitCode(err) != 2 || !strings.Contains(errOut.String(), "MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX") || !strings.Contains(errOut.String(), "no look-arounds") {
		t.Errorf("exit %d, %q; want a usage error naming the variable", ExitCode(err), errOut.String())
	}
}
