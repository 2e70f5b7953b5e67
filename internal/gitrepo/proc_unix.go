//go:build unix

package gitrepo

import (
	"os/exec"
	"syscall"
)

// setProcessGroup runs cmd in its own process group and makes the
// cancellation of its context kill the whole group: git with its
// git-remote-https, ssh and pack helpers.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
