package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/posml/posml"
)

// Process identifies a process across restarts of posml: a pid alone may
// be reused, but not together with its start time (in clock ticks since
// boot, field 22 of /proc/<pid>/stat) and the boot's id.
type Process struct {
	PID    int
	Start  uint64 // start time in clock ticks since boot; 0 if unknown
	BootID string // /proc/sys/kernel/random/boot_id; "" if unknown
}

// refPrefix starts every Ref of the local backend.
const refPrefix = "local:"

// String is the Ref form: "local:<pid>:<start>:<boot id>".
func (p Process) String() string {
	return fmt.Sprintf("%s%d:%d:%s", refPrefix, p.PID, p.Start, p.BootID)
}

// ParseProcess reads a Ref made by Process.String.
func ParseProcess(ref string) (Process, error) {
	bad := &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf("executor: %q is not a local process reference", ref)}
	rest, ok := strings.CutPrefix(ref, refPrefix)
	if !ok {
		return Process{}, bad
	}
	f := strings.SplitN(rest, ":", 3)
	if len(f) != 3 {
		return Process{}, bad
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return Process{}, bad
	}
	start, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return Process{}, bad
	}
	return Process{PID: pid, Start: start, BootID: f[2]}, nil
}

// LookupProcess returns the identity of the running process pid.
func LookupProcess(pid int) (Process, error) {
	st, err := readStat(pid)
	if err != nil {
		return Process{}, err
	}
	return Process{PID: pid, Start: st.start, BootID: bootID()}, nil
}

// Alive reports whether p still runs: a process with p's pid exists, is not
// a zombie, and has p's start time and boot id (where p knows them).
func (p Process) Alive() bool {
	if p.PID <= 0 {
		return false
	}
	st, err := readStat(p.PID)
	if err != nil || st.state == 'Z' || st.state == 'X' {
		return false
	}
	if p.Start != 0 && st.start != p.Start {
		return false
	}
	if p.BootID != "" && bootID() != p.BootID {
		return false
	}
	return true
}

// Stop ends p's process group if p is still alive: SIGTERM, then SIGKILL
// when members remain after grace. It returns once the group is gone, or
// with ctx's error.
func (p Process) Stop(ctx context.Context, grace time.Duration) error {
	if !p.Alive() {
		return nil
	}
	signalGroup(p.PID, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for groupAlive(p.PID) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			signalGroup(p.PID, syscall.SIGKILL)
			deadline = time.Now().Add(time.Hour) // SIGKILL once
		}
		sleepCtx(ctx, 20*time.Millisecond)
	}
	return nil
}

type procStat struct {
	state byte
	pgrp  int
	start uint64
}

// readStat parses /proc/<pid>/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseStat(b)
}

func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procStat{}, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+2:])) // f[0] is field 3 (state)
	if len(f) < 20 {
		return procStat{}, errors.New("malformed /proc stat")
	}
	pgrp, err1 := strconv.Atoi(f[2])                // field 5
	start, err2 := strconv.ParseUint(f[19], 10, 64) // field 22
	if err1 != nil || err2 != nil || len(f[0]) != 1 {
		return procStat{}, errors.New("malformed /proc stat")
	}
	return procStat{state: f[0][0], pgrp: pgrp, start: start}, nil
}

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// signalGroup sends sig to the process group pgid.
func signalGroup(pgid int, sig syscall.Signal) {
	if pgid > 0 {
		syscall.Kill(-pgid, sig) // ESRCH: the group is already gone
	}
}

// groupAlive reports whether the process group pgid has a member that is
// not a zombie. Zombies count as gone: they run nothing, and where no
// init reaps orphans (some containers) they would never leave.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true // cannot tell; the kill(0) said members exist
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err == nil && st.pgrp == pgid && st.state != 'Z' && st.state != 'X' {
			return true
		}
	}
	return false
}

// waitGroupGone polls until the group pgid is gone or deadline passes, and
// reports whether it is gone.
func waitGroupGone(pgid int, deadline time.Time) bool {
	for groupAlive(pgid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// signalName names a signal the way the log shows it: "SIGKILL".
func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGBUS:
		return "SIGBUS"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	}
	return fmt.Sprintf("signal %d (%s)", int(s), s)
}
