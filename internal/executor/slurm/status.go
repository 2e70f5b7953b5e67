package slurm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/executor"
)

// refPrefix starts every Ref of this backend.
const refPrefix = "slurm:"

// ParseRef returns the job id of a Ref ("slurm:1234").
func ParseRef(ref string) (string, error) {
	id, ok := strings.CutPrefix(ref, refPrefix)
	if !ok || id == "" || strings.Trim(id, "0123456789") != "" {
		return "", &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf("slurm: %q is not a slurm job reference", ref)}
	}
	return id, nil
}

// jobStatus is what squeue, sacct or scontrol tell about a job.
type jobStatus struct {
	State  string // the base state: "RUNNING", "CANCELLED", ...
	By     string // CANCELLED by <uid>, from sacct
	Reason string // the pending reason, or why it ended; "" for None
	Exit   int    // exit status; -1 if unknown or a signal ended it
	Signal int    // the signal that ended it, 0 if none
	Known  bool   // Exit and Signal were reported
}

// terminal states end a job; every other state is a job still queued,
// running or ending.
var terminal = map[string]bool{
	"COMPLETED": true, "FAILED": true, "CANCELLED": true, "TIMEOUT": true,
	"OUT_OF_MEMORY": true, "NODE_FAIL": true, "BOOT_FAIL": true,
	"DEADLINE": true, "PREEMPTED": true, "REVOKED": true, "SPECIAL_EXIT": true,
}

// hopeless are pending reasons that waiting does not fix.
var hopeless = map[string]bool{
	"PartitionNodeLimit": true, "PartitionConfig": true, "PartitionDown": true,
	"PartitionInactive": true, "ReqNodeNotAvail": true, "BadConstraints": true,
	"InvalidQOS": true, "InvalidAccount": true, "QOSMaxGRESPerJob": true,
	"QOSMaxCpuPerJobLimit": true, "QOSMaxMemoryPerJob": true, "AssocMaxGRESPerJob": true,
	"AssocMaxCpuPerJobLimit": true, "NodeDown": true, "JobHeldAdmin": true,
	"PartitionTimeLimit": true, "AccountNotAllowed": true,
}

// isHopeless reports whether a pending reason ("ReqNodeNotAvail, UnavailableNodes:vm")
// is one waiting does not fix.
func isHopeless(reason string) bool {
	r, _, _ := strings.Cut(reason, ",")
	return hopeless[strings.TrimSpace(r)]
}

// parseSqueue reads `squeue -h -t all -j ID -o %T|%r`: "" when squeue no
// longer knows the job.
func parseSqueue(out string) (jobStatus, bool) {
	line := firstLine(out)
	if line == "" {
		return jobStatus{}, false
	}
	state, reason, _ := strings.Cut(line, "|")
	return jobStatus{State: baseState(state), Reason: noneEmpty(reason), Exit: -1}, true
}

// parseSacct reads `sacct -n -P -X -j ID -o State,ExitCode,Reason`:
// "CANCELLED by 0|0:15|None".
func parseSacct(out string) (jobStatus, bool) {
	line := firstLine(out)
	f := strings.Split(line, "|")
	if line == "" || len(f) < 2 {
		return jobStatus{}, false
	}
	st := jobStatus{State: baseState(f[0])}
	if rest, ok := strings.CutPrefix(strings.TrimSpace(f[0]), "CANCELLED by "); ok {
		st.By = strings.TrimSpace(rest)
	}
	st.Exit, st.Signal, st.Known = parseExitCode(f[1])
	if len(f) > 2 {
		st.Reason = noneEmpty(f[2])
	}
	return st, true
}

// parseScontrol reads `scontrol show job -o ID`: one line of Key=Value
// fields (JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0 ...).
func parseScontrol(out string) (jobStatus, bool) {
	line := firstLine(out)
	if !strings.HasPrefix(line, "JobId=") {
		return jobStatus{}, false
	}
	st := jobStatus{Exit: -1}
	found := false
	for _, f := range strings.Fields(line) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "JobState":
			st.State, found = baseState(v), true
		case "Reason":
			st.Reason = noneEmpty(v)
		case "ExitCode":
			st.Exit, st.Signal, st.Known = parseExitCode(v)
		}
	}
	return st, found
}

// parseExitCode reads Slurm's "exit:signal": "3:0" is exit 3, "0:9" is
// signal 9 (exit -1).
func parseExitCode(s string) (exit, sig int, ok bool) {
	a, b, found := strings.Cut(strings.TrimSpace(s), ":")
	e, err1 := strconv.Atoi(a)
	g, err2 := strconv.Atoi(b)
	if !found || err1 != nil || err2 != nil {
		return -1, 0, false
	}
	if g != 0 {
		return -1, g, true
	}
	return e, 0, true
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(line)
}

// baseState drops what follows the state's first word ("CANCELLED by 0",
// "RUNNING+", "FAILED ...").
func baseState(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " +"); i >= 0 {
		s = s[:i]
	}
	return s
}

func noneEmpty(s string) string {
	s = strings.TrimSpace(s)
	if s == "None" || s == "(null)" {
		return ""
	}
	return s
}

// result maps a finished job's status to the attempt's result: cause is
// TimedOut or Canceled (with causeErr) when posml ended the job, or
// Failed with causeErr when posml gave up on a job pending hopelessly.
func result(job string, st jobStatus, cause executor.State, causeErr error) executor.Result {
	r := executor.Result{ExitCode: st.Exit}
	if st.Signal != 0 {
		r.Signal = signalName(st.Signal)
	}
	what := fmt.Sprintf("slurm job %s %s", job, st.State)
	if st.State == "" {
		what = fmt.Sprintf("slurm job %s ended in an unknown state", job)
	}
	if st.Reason != "" && st.State != "COMPLETED" && st.Reason != "NonZeroExitCode" {
		what += " (" + st.Reason + ")"
	}
	switch {
	case cause != "":
		r.State, r.Err = cause, causeErr
	case st.State == "COMPLETED": // exit 0 by definition, known or not
		r.State, r.ExitCode = executor.Succeeded, 0
	case st.State == "TIMEOUT":
		r.State = executor.TimedOut
		r.Err = fmt.Errorf("%w: slurm job %s reached its time limit", executor.ErrTimedOut, job)
	case st.State == "CANCELLED":
		r.State = executor.Failed
		by := ""
		if st.By != "" {
			by = " (by uid " + st.By + ")"
		}
		r.Err = fmt.Errorf("slurm job %s cancelled outside posml%s", job, by)
	default:
		r.State = executor.Failed
		switch {
		case r.Signal != "":
			r.Err = fmt.Errorf("%s (%s)", what, r.Signal)
		case st.Known:
			r.Err = fmt.Errorf("%s (exit %d)", what, r.ExitCode)
		default:
			r.Err = errors.New(what)
		}
	}
	return r
}

// signalName names a signal the way executor's log shows it: "SIGKILL".
func signalName(n int) string {
	names := map[syscall.Signal]string{
		syscall.SIGKILL: "SIGKILL", syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT",
		syscall.SIGSEGV: "SIGSEGV", syscall.SIGABRT: "SIGABRT", syscall.SIGBUS: "SIGBUS",
		syscall.SIGHUP: "SIGHUP", syscall.SIGPIPE: "SIGPIPE", syscall.SIGQUIT: "SIGQUIT",
		syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2", syscall.SIGXCPU: "SIGXCPU",
	}
	if s, ok := names[syscall.Signal(n)]; ok {
		return s
	}
	return fmt.Sprintf("signal %d", n)
}
