package cli

import "syscall"

// moto dies with the test binary, even one killed by a timeout.
func init() { motoProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
