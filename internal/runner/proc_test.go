package runner

import "syscall"

// killGroup is kill -9 of a process group.
func killGroup(pgid int) error { return syscall.Kill(-pgid, syscall.SIGKILL) }
