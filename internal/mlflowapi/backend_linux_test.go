package mlflowapi_test

import "syscall"

// moto dies with the test binary, even one killed by a timeout.
func init() { motoSysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
