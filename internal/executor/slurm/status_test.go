package slurm

import (
	"errors"
	"testing"

	"github.com/posml/posml/internal/executor"
)

func TestParseRef(t *testing.T) {
	if id, err := ParseRef("slurm:1234"); err != nil || id != "1234" {
		t.Errorf("ParseRef(slurm:1234) = %q, %v", id, err)
	}
	for _, ref := range []string{"", "slurm:", "local:1:2:3", "slurm:12;x", "slurm:-1"} {
		if _, err := ParseRef(ref); err == nil {
			t.Errorf("ParseRef(%q): no error", ref)
		}
	}
}

func TestParseSqueue(t *testing.T) {
	tests := []struct {
		out   string
		want  jobStatus
		found bool
	}{
		{"RUNNING|None\n", jobStatus{State: "RUNNING", Exit: -1}, true},
		{"PENDING|ReqNodeNotAvail, UnavailableNodes:vm\n", jobStatus{State: "PENDING", Reason: "ReqNodeNotAvail, UnavailableNodes:vm", Exit: -1}, true},
		{"FAILED|NonZeroExitCode\n", jobStatus{State: "FAILED", Reason: "NonZeroExitCode", Exit: -1}, true},
		{"", jobStatus{}, false},
	}
	for _, tt := range tests {
		got, found := parseSqueue(tt.out)
		if got != tt.want || found != tt.found {
			t.Errorf("parseSqueue(%q) = %+v, %v; want %+v, %v", tt.out, got, found, tt.want, tt.found)
		}
	}
}

func TestParseSacct(t *testing.T) {
	tests := []struct {
		out  string
		want jobStatus
		ok   bool
	}{
		{"COMPLETED|0:0|None\n", jobStatus{State: "COMPLETED", Exit: 0, Known: true}, true},
		{"FAILED|3:0|None\n", jobStatus{State: "FAILED", Exit: 3, Known: true}, true},
		{"CANCELLED by 1000|0:15|None\n", jobStatus{State: "CANCELLED", By: "1000", Exit: -1, Signal: 15, Known: true}, true},
		{"OUT_OF_MEMORY|0:125|None\n", jobStatus{State: "OUT_OF_MEMORY", Exit: -1, Signal: 125, Known: true}, true},
		{"NODE_FAIL|1:0|None\n", jobStatus{State: "NODE_FAIL", Exit: 1, Known: true}, true},
		{"TIMEOUT|0:0|None\n", jobStatus{State: "TIMEOUT", Exit: 0, Known: true}, true},
		{"PENDING|0:0|Priority\n", jobStatus{State: "PENDING", Reason: "Priority", Exit: 0, Known: true}, true},
		{"", jobStatus{}, false},
	}
	for _, tt := range tests {
		got, ok := parseSacct(tt.out)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseSacct(%q) = %+v, %v; want %+v, %v", tt.out, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseScontrol(t *testing.T) {
	out := "JobId=2 JobName=wrap UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901758 Nice=0 " +
		"Account=root QOS=normal JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Requeue=0 " +
		"Restarts=0 BatchFlag=1 Reboot=0 ExitCode=3:0 RunTime=00:00:02 TimeLimit=365-00:00:00\n"
	got, ok := parseScontrol(out)
	want := jobStatus{State: "FAILED", Reason: "NonZeroExitCode", Exit: 3, Known: true}
	if !ok || got != want {
		t.Errorf("parseScontrol = %+v, %v; want %+v", got, ok, want)
	}
	got, ok = parseScontrol("JobId=3 JobState=CANCELLED Reason=None ExitCode=0:9\n")
	want = jobStatus{State: "CANCELLED", Exit: -1, Signal: 9, Known: true}
	if !ok || got != want {
		t.Errorf("parseScontrol (cancelled) = %+v, %v; want %+v", got, ok, want)
	}
	if _, ok := parseScontrol("slurm_load_jobs error: Invalid job id specified"); ok {
		t.Error("parseScontrol of an error: ok")
	}
}

func TestIsHopeless(t *testing.T) {
	for r, want := range map[string]bool{
		"ReqNodeNotAvail, UnavailableNodes:vm": true,
		"PartitionNodeLimit":                   true,
		"Priority":                             false,
		"Resources":                            false,
		"":                                     false,
	} {
		if got := isHopeless(r); got != want {
			t.Errorf("isHopeless(%q) = %v; want %v", r, got, want)
		}
	}
}

func TestResult(t *testing.T) {
	canceled := errors.New("canceled: by user")
	tests := []struct {
		name     string
		st       jobStatus
		cause    executor.State
		causeErr error
		state    executor.State
		exit     int
		signal   string
		err      string
		is       error
	}{
		{"completed", jobStatus{State: "COMPLETED", Exit: 0, Known: true}, "", nil, executor.Succeeded, 0, "", "", nil},
		{"failed", jobStatus{State: "FAILED", Reason: "NonZeroExitCode", Exit: 3, Known: true}, "", nil,
			executor.Failed, 3, "", "slurm job 12 FAILED (exit 3)", nil},
		{"signal", jobStatus{State: "FAILED", Exit: -1, Signal: 9, Known: true}, "", nil,
			executor.Failed, -1, "SIGKILL", "slurm job 12 FAILED (SIGKILL)", nil},
		{"oom", jobStatus{State: "OUT_OF_MEMORY", Exit: 0, Known: true}, "", nil,
			executor.Failed, 0, "", "slurm job 12 OUT_OF_MEMORY (exit 0)", nil},
		{"node fail", jobStatus{State: "NODE_FAIL", Exit: -1}, "", nil,
			executor.Failed, -1, "", "slurm job 12 NODE_FAIL", nil},
		{"boot fail", jobStatus{State: "BOOT_FAIL", Reason: "NodeDown", Exit: -1}, "", nil,
			executor.Failed, -1, "", "slurm job 12 BOOT_FAIL (NodeDown)", nil},
		{"timeout", jobStatus{State: "TIMEOUT", Exit: -1, Signal: 15, Known: true}, "", nil,
			executor.TimedOut, -1, "SIGTERM", "timed out: slurm job 12 reached its time limit", executor.ErrTimedOut},
		{"cancelled outside", jobStatus{State: "CANCELLED", By: "1000", Exit: 0, Known: true}, "", nil,
			executor.Failed, 0, "", "slurm job 12 cancelled outside posml (by uid 1000)", nil},
		{"cancelled by posml", jobStatus{State: "CANCELLED", By: "0", Exit: -1, Signal: 15, Known: true},
			executor.Canceled, canceled, executor.Canceled, -1, "SIGTERM", "canceled: by user", canceled},
		{"completed after cancel", jobStatus{State: "COMPLETED", Exit: 0, Known: true},
			executor.Canceled, canceled, executor.Canceled, 0, "", "canceled: by user", canceled},
		{"unknown", jobStatus{Exit: -1}, "", nil, executor.Failed, -1, "", "slurm job 12 ended in an unknown state", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := result("12", tt.st, tt.cause, tt.causeErr)
			if r.State != tt.state || r.ExitCode != tt.exit || r.Signal != tt.signal {
				t.Errorf("result = %s exit %d signal %q; want %s exit %d signal %q",
					r.State, r.ExitCode, r.Signal, tt.state, tt.exit, tt.signal)
			}
			gotErr := ""
			if r.Err != nil {
				gotErr = r.Err.Error()
			}
			if gotErr != tt.err {
				t.Errorf("Err = %q; want %q", gotErr, tt.err)
			}
			if tt.is != nil && !errors.Is(r.Err, tt.is) {
				t.Errorf("Err %v is not %v", r.Err, tt.is)
			}
		})
	}
}

func TestCommandError(t *testing.T) {
	err := &commandError{name: "sbatch", msg: "sbatch: error: Batch job submission failed: Requested node configuration is not available"}
	if got, want := err.Error(), "sbatch: Batch job submission failed: Requested node configuration is not available"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
	if !invalidJob(&commandError{name: "squeue", msg: "slurm_load_jobs error: Invalid job id specified"}) {
		t.Error("invalidJob: false")
	}
}
