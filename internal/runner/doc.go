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
// Recovery assumes one server executes runs on a database: attempts left
// running by another live server would be taken for a crashed one's (the
// next step is a lease per attempt, renewed by its server). Claims are
// already safe with several servers: Store.StartAttempt checks
// max_active_runs under a lock of the pipeline's row.
//
// For the REST API and the CLI, a Pool offers Enqueue, Cancel, Retry and
// Follow (live logs). Run tokens (TokenIssuer), promotion (Promoter) and
// environments (Envs) are interfaces that other packages implement.
package runner
