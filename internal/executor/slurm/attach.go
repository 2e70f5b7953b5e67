package slurm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/executor"
)

// copiedFile, in an attempt's directory, holds how much of out.log the
// server that detached from the job had copied into the attempt's log.
const copiedFile = "copied"

// Attach takes back the attempt ref names after a restart of posml (see
// executor.Attacher): it finds the job with scontrol show job (sacct once
// slurmctld has forgotten it), appends a line to s.LogPath, and supervises
// the job as Start does, copying out.log from where it ends now. A job
// that ended already ends the Handle at once with its result.
func (b *Backend) Attach(ctx context.Context, ref string, s executor.Spec) (executor.Handle, error) {
	switch {
	case s.LogPath == "":
		return nil, invalid("executor: spec has no log path")
	case s.Timeout < 0 || s.KillGrace < 0:
		return nil, invalid("executor: negative timeout or kill grace")
	}
	job, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	info, err := b.lookup(ctx, job)
	if err != nil {
		return nil, err
	}
	if info.name != "" && !strings.HasPrefix(info.name, "posml-") {
		return nil, &posml.Error{Kind: posml.KindInvalid,
			Msg: fmt.Sprintf("slurm: job %s is not a posml attempt (job name %q)", job, info.name)}
	}
	out := info.output(b.cfg.SharedDir, s.AttemptID)
	// Resume copying out.log where the server that detached stopped (it
	// wrote the offset); after a crash, from its end: what is there was
	// the previous server's, or printed while none ran (it stays in
	// out.log).
	var from int64
	if fi, err := os.Stat(out); err == nil {
		from = fi.Size()
		if b, err := os.ReadFile(filepath.Join(filepath.Dir(out), copiedFile)); err == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n >= 0 && n <= from {
				from = n
			}
		}
	}
	log, err := executor.OpenLog(s.LogPath)
	if err != nil {
		return nil, err
	}
	h := newHandle(b, s, log)
	h.job, h.dir, h.out, h.from = job, filepath.Dir(out), out, from
	h.submitted = info.submit
	if h.submitted.IsZero() {
		h.submitted = time.Now()
	}
	if started[info.status.State] || terminal[info.status.State] {
		h.ran, h.jobStart = true, info.start
	}
	if terminal[info.status.State] {
		h.jobEnd = info.end
	}
	log.Line(fmt.Sprintf("posml: reattached to slurm job %s after a restart of posml", job))
	go h.supervise() // owns the attempt until done is closed
	return h, nil
}

// jobInfo is what Attach learns about a job.
type jobInfo struct {
	status             jobStatus
	name               string // "posml-<attempt directory's name>"
	stdout             string // the output file; "" if unknown (sacct)
	submit, start, end time.Time
}

// lookup finds job with scontrol, or with sacct when slurmctld no longer
// knows it. It fails when neither knows it.
func (b *Backend) lookup(ctx context.Context, job string) (jobInfo, error) {
	out, err := b.run(ctx, "scontrol", "show", "job", "-o", job)
	if err == nil {
		if info, ok := parseScontrolInfo(out); ok {
			return info, nil
		}
	}
	sout, serr := b.run(ctx, "sacct", "-n", "-P", "-X", "-j", job,
		"-o", "State,ExitCode,Reason,JobName,Submit,Start,End")
	if serr == nil {
		if info, ok := parseSacctInfo(sout); ok {
			return info, nil
		}
	}
	if err != nil && !invalidJob(err) { // slurmctld away: it may still know the job
		return jobInfo{}, fmt.Errorf("slurm: look up job %s: %w", job, err)
	}
	return jobInfo{}, &posml.Error{Kind: posml.KindNotFound,
		Msg: fmt.Sprintf("slurm: job %s is unknown to the cluster", job)}
}

// output is the job's output file: scontrol's StdOut when it is an
// out.log, else the one in the directory the job's name says (Start names
// the job after its directory), else the one in the directory Start
// would have made first for attemptID.
func (i jobInfo) output(shared, attemptID string) string {
	if filepath.IsAbs(i.stdout) && filepath.Base(i.stdout) == "out.log" {
		return filepath.Clean(i.stdout)
	}
	if n, ok := strings.CutPrefix(i.name, "posml-"); ok && n != "" && n == filepath.Base(n) && !strings.HasPrefix(n, ".") {
		return filepath.Join(shared, n, "out.log")
	}
	return filepath.Join(shared, sanitize(attemptID), "out.log")
}

// scontrolKey starts a field of scontrol's one-line output: a value ends
// where the next one begins, so that paths may hold spaces.
var scontrolKey = regexp.MustCompile(`(?:^|\s)[A-Za-z][A-Za-z0-9_:/]*=`)

// scontrolFields splits a line of scontrol show -o into its fields.
func scontrolFields(line string) map[string]string {
	f := map[string]string{}
	locs := scontrolKey.FindAllStringIndex(line, -1)
	for i, loc := range locs {
		end := len(line)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		key := strings.TrimSpace(line[loc[0] : loc[1]-1])
		f[key] = strings.TrimSpace(line[loc[1]:end])
	}
	return f
}

// parseScontrolInfo reads `scontrol show job -o ID`.
func parseScontrolInfo(out string) (jobInfo, bool) {
	st, ok := parseScontrol(out)
	if !ok {
		return jobInfo{}, false
	}
	f := scontrolFields(firstLine(out))
	return jobInfo{
		status: st,
		name:   f["JobName"],
		stdout: f["StdOut"],
		submit: slurmTime(f["SubmitTime"]),
		start:  slurmTime(f["StartTime"]),
		end:    slurmTime(f["EndTime"]),
	}, true
}

// parseSacctInfo reads `sacct -n -P -X -j ID -o
// State,ExitCode,Reason,JobName,Submit,Start,End`.
func parseSacctInfo(out string) (jobInfo, bool) {
	st, ok := parseSacct(out)
	if !ok {
		return jobInfo{}, false
	}
	info := jobInfo{status: st}
	f := strings.Split(firstLine(out), "|")
	at := func(i int) string {
		if i < len(f) {
			return strings.TrimSpace(f[i])
		}
		return ""
	}
	info.name = at(3)
	info.submit, info.start, info.end = slurmTime(at(4)), slurmTime(at(5)), slurmTime(at(6))
	return info, true
}

// slurmTime reads a time as Slurm's commands print it (in posml's time
// zone, which they share): zero for "Unknown", "None" and the like.
func slurmTime(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04:05", s, time.Local)
	if err != nil {
		return time.Time{}
	}
	return t
}
