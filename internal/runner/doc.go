// Package runner executes posml's pipeline runs. A Pool takes queued runs
// from the store in fire order, within a global limit of processes
// (MaxParallel) and each pipeline's max_active_runs, and runs their
// attempts through an executor backend: a fresh checkout of the pinned
// commit in RunsDir/<run id>/, the system config.yaml at its root, the
// run's exact environment (MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN,
// MLFLOW_EXPERIMENT_NAME, POSML_RUN_ID, POSML_PROJECT, POSML_GIT_COMMIT,
// POSML_LOGICAL_DATE, POSML_DATA_INTERVAL_START/END, PYTHONPATH with the
// SDK, and a minimal PATH, HOME, LANG; PYTHONUNBUFFERED=1 for a live log),
// `python src/train.py` with the config's train_timeout, and retries after
// retry_delay. The interpreter is Config.Python, or with Deps.Envs the
// project's virtualenv built from its requirements.txt (a failed build
// fails the attempt with pip's output in its log). A trigger run
// polls train_trigger(**conf) through the executor's shim and, when it says
// yes, queues a train run and ends with that run's outcome.
//
// Every transition is committed to the store before it is acted on (see
// package pipeline); Recover, at start, resolves the attempts a crashed
// server left running.
//
// Layout of RunsDir: <run id>/ is the checkout of the running attempt
// (made afresh for each attempt, removed when the run ends unless
// KeepWorkDirs), logs/<run id>/<attempt>.log the attempts' logs (kept),
// logs/<run id>/trigger-conf.json a trigger run's conf, shim/ the trigger
// shim, home/ the runs' HOME.
//
// Several servers (replicas) may execute runs on one PostgreSQL database
// (Config.Shared, Deps.Leases). A queued run is claimed by one of them
// (Store.StartAttempt moves it from queued under a lock of the pipeline's
// row, which also keeps max_active_runs exact). Each running attempt
// carries a lease that its replica renews every LeaseTimeout/3; Recover
// at start touches only this replica's own leftovers, and every second
// each replica takes over the attempts whose lease expired (exactly one
// replica gets each) and recovers them like a crash ("replica lost"). A
// replica that finds an attempt's lease taken over stops its process.
// With Deps.Logs the attempts' logs are copied to the database as they
// grow, so that Follow serves them on any replica. Without Config.Shared
// (SQLite) the server is the only one: every running attempt found at
// start is its leftover.
//
// For the REST API and the CLI, a Pool offers Enqueue, Cancel, Retry and
// Follow (live logs). Run tokens (TokenIssuer), promotion (Promoter) and
// environments (Envs) are interfaces that other packages implement.
package runner
