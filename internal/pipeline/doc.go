// Package pipeline holds the domain types of posml's pipeline engine:
// projects (git repositories), the commits seen on them, the schedules of
// their two pipelines (train and trigger), pipeline runs and their attempts,
// and what runs produced in the tracking server. It imports the standard
// library, posml, and the pure config packages (projectconfig, schedule)
// only; storage is in sqlstore, behaviour in scheduler and runner.
//
// # Lifecycle
//
// A project is registered (sqlstore.Store.CreateProject) with a repository
// URL and a branch. The project registry fetches the branch, validates each
// new commit with package validate and records it with its findings and
// Settings (Store.AddCommit, SettingsOf). A valid commit becomes the active
// one (Store.ActivateCommit): it pins the code new runs execute and
// replaces the pipelines' timetables. ActivateCommit sets each scheduled
// pipeline's NextFireAt to "at once" (the Unix epoch), so the scheduler
// recomputes it at its next tick from the new timetable and the last
// scheduled data interval, which is kept across commits: a schedule change
// takes effect from that commit on, and fires missed meanwhile follow the
// catch-up rule. An invalid commit is recorded and changes nothing.
// Pausing a project clears its pipelines' NextFireAt; resuming sets it to
// "at once" again.
//
// The scheduler (package scheduler) reads only due pipelines
// (Store.DueSchedules, an index on next_fire_at). For each it asks the
// timetable for schedule.Timetable.NextRun(last, now): a run not yet due
// just moves NextFireAt (Store.Reschedule); a due run is claimed and
// created in one transaction (Store.FireSchedules, a batch of Fire): a
// compare-and-swap on NextFireAt, so that two schedulers on one database
// never both fire it, and an insert keyed by (project, pipeline, logical
// date), so that a logical date is never run twice. A run's MaxAttempts is
// 1 + the retries of its commit's config.
//
// A run starts Queued. The runner (package runner) takes queued runs in
// FireAt order (Store.QueuedRuns), within the global --max-parallel and
// each pipeline's max_active_runs (checked in Store.StartAttempt), and
// executes attempts:
//
//	Queued ──StartAttempt──► Running ──FinishAttempt──► Succeeded | Failed | TimedOut | Canceled | Skipped
//	   ▲                        │
//	   └──── FinishAttempt ─────┘ (Failed or TimedOut with attempts left: Queued again, NotBefore = now + retry_delay)
//
// Every transition is committed before it is acted on: the attempt row
// exists (state running) before its process starts; the process's PID is
// recorded right after (Store.SetAttemptProcess). After a crash, the next
// start finds attempts still running whose process is gone, ends them
// Failed ("server restarted") and queues their run again if attempts
// remain, else fails it.
//
// A trigger run's attempt polls train_trigger(**conf) every
// trigger_poke_interval until it returns truthy or trigger_timeout passes.
// Truthy creates a train run (cause trigger, ParentRunID = the trigger run)
// and the trigger run ends with that run's outcome; falsy until the
// timeout ends it Skipped; an exception fails it (the traceback is in its
// log).
//
// # For the API, the CLI and the web UI
//
// Everything is read from the store: Store.Project, Projects,
// ProjectByName, Commits, Schedules (next fires), PipelineRun,
// PipelineRuns(RunFilter), Attempts (each with its LogPath; the log of a
// running attempt grows while it runs). Manual, backfill and webhook runs
// are created with Store.CreatePipelineRun (cause manual/backfill/webhook;
// Commit "" = the active commit; a backfill date that already has a
// scheduled or backfilled run is a KindExists error). Cancel with
// Store.RequestCancel: a queued run ends at once, a running one is stopped
// by its runner within a second. Retry a finished, unsuccessful run with
// Store.RequeueRun (one more attempt, same run). The runner.Pool wraps
// these for callers that hold one and wakes the pool at once instead of at
// its next poll (1 s):
//
//	Enqueue(ctx, Run{ProjectID, Pipeline, Cause, Conf, ...}) (Run, error)
//	Cancel(ctx, id, reason) (Run, error)
//	Retry(ctx, id) (Run, error)
//	Follow(ctx, id, attempt, from) (io.ReadCloser, error) // live while the attempt runs here
//	Wake()
//
// A manual run's Conf reaches train.py through the system config.yaml
// (merged over src/config.yaml by config.py) and train_trigger(**conf).
//
// Hooks for the other parts of the server: runner.TokenIssuer (Issue,
// Revoke: MLFLOW_TRACKING_TOKEN), runner.Promoter (Promote when a train
// run's process exited 0, before the run is recorded succeeded), runner.Config.EndedFunc (every run that ends:
// notifications), scheduler.Config.FiredFunc.
package pipeline
