// Package executor runs one attempt of a pipeline step: a Python process
// with an exact environment, in its own process group, with a timeout, a
// cancel, and a log that followers can read live.
//
// The Backend and Handle interfaces are the contract between the runner and
// whatever runs attempts. Local, the default backend, runs them as child
// processes of posml; the RemoteBackends of the subpackages kube and slurm
// run them as Kubernetes Jobs and Slurm batch jobs behind the same
// interfaces. Router, the runner's backend, starts each attempt on the
// backend its Spec.Placement names (the project's executor: section) and
// sends each Ref back to the backend that made it ("local:…",
// "kubernetes:ns/job", "slurm:17"). Remote backends write their attempt's
// log with Log and Footer, so that followers read every log alike.
//
// # Local processes
//
// Local starts the interpreter in its own process group (Setpgid) with
// exactly Spec.Env (nothing is inherited), stdin from /dev/null, and stdout
// and stderr on one pipe, so their lines interleave in the order the
// process wrote them. A pump copies the pipe into Spec.LogPath (appended),
// between a header line and a footer line written by posml ("posml: exit 1
// after 3.2s"); it writes each chunk as it arrives and never waits for a
// follower. Followers read the file itself, woken after each write, so a
// slow follower only falls behind and reads bigger pieces later.
//
// On Cancel, and when Spec.Timeout passes, the whole group gets SIGTERM and,
// if any of it is still there after Spec.KillGrace, SIGKILL. When the main
// process ends by itself, whatever it left running in its group is stopped
// the same way, so no attempt leaves processes behind (a process that
// leaves the group with setsid escapes this, as it would escape a shell's
// job control). Python buffers stdout when it is a pipe: put
// PYTHONUNBUFFERED=1 in Spec.Env for a live log.
//
// A Handle's Ref survives a restart of posml: Local.Alive tells from it
// whether the attempt's process still runs (pid, start time and boot id
// must all match, read from /proc), and Local.Stop ends it, for the
// runner's crash recovery.
//
// # Trigger shim
//
// TriggerShim is a Python script that imports src/train_trigger.py of the
// project in its working directory, calls train_trigger(**conf) and prints
// the truth of its result as a last line that ParseTriggerResult reads.
//
// # Dependencies
//
// The package imports the standard library and posml only. It is the one
// package meant to import os/exec (see STYLE.md); it is Linux-specific
// where it reads /proc.
package executor
