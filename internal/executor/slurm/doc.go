// Package slurm runs attempts as Slurm batch jobs: an executor.RemoteBackend
// that drives a cluster through its command-line tools (sbatch, squeue,
// sacct, scontrol, scancel) on the machine posml runs on.
//
// # Shared directory
//
// posml and the cluster's nodes must share one directory (Config.SharedDir,
// on NFS or the like, at the same path everywhere). Each attempt gets a
// directory of its own there, <SharedDir>/<attempt id>, mode 0700:
//
//	work/    a copy of Spec.Dir (regular files, directories and symlinks,
//	         modes kept), unless Spec.Dir is already under SharedDir
//	job.sh   the batch script (0700): it holds the attempt's environment,
//	         tokens included, and is removed when the attempt ends
//	out.log  the job's stdout and stderr (sbatch --output, --open-mode=append)
//
// Environment values that name the old Dir (PYTHONPATH=<Dir>/.posml/sdk) are
// rewritten to name the copy. Files the attempt writes into its working
// directory stay in the copy: artifacts go through the tracking API.
//
// sbatch gets --wrap='exec /bin/sh <dir>/job.sh', so the environment stays
// on the shared filesystem and is not copied into slurmctld's state.
//
// # The nodes
//
// The job runs as posml's user, so the nodes need that user, the shared
// directory, and the interpreter (Config.Python, else Spec.Python: a path,
// or a name looked up in the PATH of Spec.Env on the node) with the
// project's dependencies installed. posml's host needs the Slurm client
// commands and a configuration that reaches slurmctld (/etc/slurm/slurm.conf
// or SLURM_CONF in posml's environment, plus munge).
//
// # Environment
//
// The job is submitted with --export=NONE, and job.sh ends in
// exec env -i <Spec.Env...> <passthrough...> python args..., so the
// interpreter sees exactly Spec.Env, plus those of the following variables
// that Slurm set for the job: the job's identity, its allocation and the
// GPUs it was given. Where a name is in both, Slurm's value wins.
//
//	SLURM_JOB_ID SLURM_JOB_NAME SLURM_JOB_PARTITION SLURM_JOB_NODELIST
//	SLURM_JOB_NUM_NODES SLURM_JOB_CPUS_PER_NODE SLURM_CPUS_ON_NODE
//	SLURM_CPUS_PER_TASK SLURM_MEM_PER_NODE SLURM_MEM_PER_CPU SLURM_NODEID
//	SLURM_PROCID SLURM_LOCALID SLURMD_NODENAME SLURM_CLUSTER_NAME
//	SLURM_SUBMIT_DIR SLURM_SUBMIT_HOST SLURM_JOB_GPUS SLURM_GPUS_ON_NODE
//	SLURM_STEP_GPUS CUDA_VISIBLE_DEVICES GPU_DEVICE_ORDINAL
//	ROCR_VISIBLE_DEVICES ZE_AFFINITY_MASK
//
// With --export=NONE, slurmd starts the batch shell with the user's login
// environment (HOME, a login PATH, ...); env -i drops it with the rest.
//
// # Submission
//
// sbatch --parsable --no-requeue --job-name=posml-<attempt>
// --partition=<Placement.Partition, else Config.Partition, else the
// cluster's default> --chdir --output --open-mode=append
// --time=<ceil(Timeout in minutes)+1> --gres=gpu:<GPU> --cpus-per-task=<ceil(CPU)>
// --mem=<Memory in MiB>M <Placement.ExtraArgs...>. When sbatch refuses the
// job (an unknown partition, "Requested node configuration is not
// available" for more GPUs than a node has), the attempt fails at once
// with sbatch's message as Result.Err. --no-requeue: posml retries attempts
// itself, and a requeued job would run the attempt twice.
//
// # Supervision
//
// A goroutine per attempt polls squeue -t all every Config.PollInterval
// and copies out.log into Spec.LogPath as it grows, after a header line
// ("posml: attempt a1 submitted to slurm as job 12 (partition debug) ...");
// at the end it drains out.log and writes executor.Footer. The final state
// and exit code come from sacct (State,ExitCode,Reason), or, when sacct
// fails or lags (no slurmdbd), from scontrol show job. ExitCode "3:0" is
// exit 3; "0:9" is SIGKILL. Started and Ended are when posml saw the job
// running and ended (to a poll interval).
//
//	COMPLETED                         Succeeded
//	FAILED                            Failed, "slurm job 12 FAILED (exit 3)"
//	OUT_OF_MEMORY, NODE_FAIL, BOOT_FAIL,
//	DEADLINE, PREEMPTED, ...          Failed, "slurm job 12 NODE_FAIL ..."
//	TIMEOUT                           TimedOut (wraps executor.ErrTimedOut)
//	CANCELLED by posml                Canceled (wraps executor.ErrCanceled)
//	CANCELLED by anyone else          Failed, "slurm job 12 cancelled outside posml"
//
// Spec.Timeout runs from when the job is first seen running (time in the
// queue does not count, as for Slurm's --time); when it passes, posml
// ends the job as it does on Cancel and the attempt is TimedOut. Cancel
// sends SIGTERM to all of the job's steps, the batch step included
// (scancel --full --signal=TERM), then, after Spec.KillGrace, SIGKILL and
// a plain scancel; a job still pending is just scancelled. A job pending
// longer than Config.PendingTimeout for a reason waiting will not fix
// (PartitionNodeLimit, ReqNodeNotAvail, BadConstraints, ...) is cancelled
// and fails with that reason.
//
// Refs are "slurm:<job id>"; Alive asks squeue, Stop scancels. PID is 0.
//
// # Restarts: detach and attach
//
// A job does not depend on posml's process, so an attempt can outlive a
// restart of posml. The handle is an executor.Detacher: Detach stops the
// polling and the copying of out.log, writes
// "posml: detached from slurm job 12: it runs on; the next posml server
// takes it back" and closes the log; Wait returns a Result of state
// executor.Detached. The job is not cancelled and job.sh stays; the file
// copied next to out.log records how much of it the log got. The first
// of Cancel and Detach wins; Detach does nothing after the end, nor while
// posml is ending the job (Cancel, the timeout, PendingTimeout).
//
// The Backend is an executor.Attacher: Attach(ctx, "slurm:12", spec) finds
// the job with scontrol show job -o, or with sacct once slurmctld has
// forgotten it (an error if neither knows it, or if its name does not
// start with posml-). Its out.log is scontrol's StdOut; without it (sacct),
// the one in <SharedDir>/<job name without posml-> (Start names the job
// after its directory), else in <SharedDir>/<attempt id>. Attach appends
// "posml: reattached to slurm job 12 after a restart of posml" to
// Spec.LogPath and supervises the job as Start does: the same state
// mapping, Cancel, footer and removal of job.sh at the end. out.log is
// copied from the offset in copied, so what the job printed while no
// server ran follows the reattach line; without that file (the previous
// server crashed) from where out.log ends at attach time, and what was
// printed in between stays in out.log only. Spec.Timeout is the time the
// attempt has left, from the attach (0: none); Started is the job's
// StartTime. A job that has ended already ends the Handle at once with
// sacct's (or scontrol's) result.
//
// # Tests
//
// The tests of the pure parts, and of supervision against stand-in Slurm
// commands, always run. The rest runs on a real cluster when
// POSML_TEST_SLURM names its shared directory: eval "$(scripts/slurm.sh)"
// starts a one-node cluster on loopback (with two fake GPUs) and sets it.
//
// # Dependencies
//
// The package imports the standard library, posml and executor; like
// executor, it runs commands with os/exec.
package slurm
