package pipeline

import (
	"encoding/json"
	"strconv"
	"time"
)

// ProjectID identifies a project.
type ProjectID int64

// String formats the ID in decimal.
func (id ProjectID) String() string { return strconv.FormatInt(int64(id), 10) }

// RunID identifies a pipeline run. It is what POSML_RUN_ID holds and what
// the tracking server's tag posml.pipeline_run_id records, in decimal.
type RunID int64

// String formats the ID in decimal.
func (id RunID) String() string { return strconv.FormatInt(int64(id), 10) }

// ParseRunID reads a RunID written by RunID.String.
func ParseRunID(s string) (RunID, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, &invalidIDError{s}
	}
	return RunID(n), nil
}

type invalidIDError struct{ s string }

func (e *invalidIDError) Error() string { return "invalid run id " + strconv.Quote(e.s) }

// Project is a git repository that posml schedules. Its credentials (HTTPS
// token, SSH key, webhook secret) are kept apart in Credentials and never
// travel with it.
type Project struct {
	ID      ProjectID
	Name    string // unique; the config's proj_name by default
	RepoURL string // a git URL or a local path; may be shown (no credentials)
	Branch  string // the branch followed, "main" by default
	Paused  bool   // a paused project's pipelines do not fire
	// ActiveCommit is the SHA of the commit whose code and config the
	// pipelines run: the newest valid commit seen. "" until one is valid.
	ActiveCommit string
	// HeadCommit is the SHA of the newest commit seen on the branch, valid
	// or not.
	HeadCommit string
	// HasCredentials reports whether credentials are stored for the
	// repository (never which ones).
	HasCredentials bool
	// NotifyURLs receive JSON events (failure, timeout, promotion, hold) of
	// this project's runs, besides the server's own.
	NotifyURLs []string
	LastSyncAt time.Time // zero when never synced
	SyncError  string    // the last sync's error, "" when it worked
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Credentials are a project's secrets. The store keeps them apart from
// Project and returns them only through Store.ProjectCredentials, for the
// git client and the webhook signature check.
type Credentials struct {
	Username      string // HTTPS user; "" means the forge's default
	Token         string // HTTPS password or access token
	SSHKey        []byte // SSH private key (OpenSSH or PEM)
	WebhookSecret string // shared secret of push webhooks
}

// IsZero reports whether c holds no secret at all.
func (c Credentials) IsZero() bool {
	return c.Username == "" && c.Token == "" && len(c.SSHKey) == 0 && c.WebhookSecret == ""
}

// String never shows the secrets.
func (c Credentials) String() string { return "pipeline.Credentials{redacted}" }

// GoString keeps %#v from printing the secrets.
func (c Credentials) GoString() string { return c.String() }

// Commit is one commit of a project's branch as posml saw it: validated
// once, valid or not. Only a valid commit can become the active one.
type Commit struct {
	ProjectID ProjectID
	SHA       string
	Valid     bool
	// Validation is the JSON of the validate.Result of the commit.
	Validation json.RawMessage
	// Settings are what the scheduler and the runner need of the commit's
	// config (see SettingsOf); meaningful only when Valid.
	Settings    Settings
	Author      string
	Message     string
	CommittedAt time.Time // author time
	SeenAt      time.Time // when posml first validated it
}

// Kind names one of a project's two pipelines.
type Kind string

// The pipelines of a project.
const (
	// Train runs src/train.py.
	Train Kind = "train"
	// Trigger polls train_trigger(**conf) from src/train_trigger.py and,
	// when it returns truthy, starts a Train run and waits for it.
	Trigger Kind = "trigger"
)

// Valid reports whether k is Train or Trigger.
func (k Kind) Valid() bool { return k == Train || k == Trigger }

// State is the state of a run or of one attempt of it.
//
//	queued ─► running ─► succeeded | failed | timed_out | canceled | skipped
//	   ▲         │
//	   └─────────┘ attempt failed or timed out, attempts remain (after retry_delay)
//
// A queued run may also go straight to canceled.
type State string

// The states.
const (
	Queued    State = "queued"
	Running   State = "running"
	Succeeded State = "succeeded"
	Failed    State = "failed"
	TimedOut  State = "timed_out"
	Canceled  State = "canceled"
	Skipped   State = "skipped" // a trigger run whose trigger never said yes
)

// Terminal reports whether s is a final state.
func (s State) Terminal() bool {
	switch s {
	case Succeeded, Failed, TimedOut, Canceled, Skipped:
		return true
	}
	return false
}

// Valid reports whether s is one of the states.
func (s State) Valid() bool { return s == Queued || s == Running || s.Terminal() }

// Cause says why a run exists.
type Cause string

// The causes.
const (
	CauseSchedule Cause = "schedule" // the pipeline's timetable fired
	CauseManual   Cause = "manual"   // `posml run`, the API or the UI
	CauseTrigger  Cause = "trigger"  // a trigger run's train_trigger returned truthy
	CauseBackfill Cause = "backfill" // `posml backfill`
	CauseWebhook  Cause = "webhook"  // a push webhook asked for a run
)

// Valid reports whether c is one of the causes.
func (c Cause) Valid() bool {
	switch c {
	case CauseSchedule, CauseManual, CauseTrigger, CauseBackfill, CauseWebhook:
		return true
	}
	return false
}

// Keyed reports whether runs of this cause are unique per (project,
// pipeline, logical date): scheduled and backfilled runs are, so that a
// fire or a backfill date is never run twice; manual, trigger and webhook
// runs are not.
func (c Cause) Keyed() bool { return c == CauseSchedule || c == CauseBackfill }

// Interval is a data interval [Start, End].
type Interval struct {
	Start, End time.Time
}

// Run is one run of a pipeline, pinned to one commit. It has one attempt
// per execution of its process; a failed attempt is retried while Attempts
// < MaxAttempts.
type Run struct {
	ID        RunID
	ProjectID ProjectID
	Project   string // the project's name
	Pipeline  Kind
	Commit    string // SHA of the commit it runs
	State     State
	Cause     Cause
	// LogicalDate is the run's logical date (Airflow's): the fire time in
	// trigger mode, the interval start in interval mode, the request time
	// of a manual run.
	LogicalDate  time.Time
	DataInterval Interval
	// FireAt is when the run became due: the scheduled fire instant, or the
	// request time. Queued runs start in FireAt order.
	FireAt    time.Time
	QueuedAt  time.Time
	StartedAt time.Time // first attempt's start; zero while queued
	EndedAt   time.Time // zero until terminal
	// NotBefore holds a queued run back until then (retry_delay).
	NotBefore   time.Time
	Attempts    int // attempts started so far
	MaxAttempts int // 1 + retries, fixed when the run is created
	// ParentRunID is the trigger run that started this train run (0: none).
	ParentRunID RunID
	// Reason explains the state: the error of a failed run, "trigger
	// returned False", "canceled by ...".
	Reason string
	// CancelRequested is set by Cancel while the run is running; the runner
	// holding it stops the process and ends the run canceled.
	CancelRequested bool
	// Conf overrides config keys of a manual run (may be nil).
	Conf map[string]any
}

// Attempt is one execution of a run's process.
type Attempt struct {
	RunID     RunID
	N         int // 1, 2, ...
	State     State
	PID       int // the process (group) id; 0 until started
	StartedAt time.Time
	EndedAt   time.Time // zero while running
	ExitCode  int       // -1 when the process did not exit by itself
	LogPath   string
	Error     string // why it failed: "timed out after 1h0m0s", "server restarted", ...
	// Handle is the executor's record of the process (JSON, opaque here),
	// which lets a restarted server check whether the process still lives.
	Handle string
}

// Schedule is the scheduling state of one pipeline of a project: its
// timetable as of the active commit and the next instant it needs the
// scheduler's attention.
type Schedule struct {
	ProjectID ProjectID
	Pipeline  Kind
	Commit    string // the commit the spec comes from
	Spec      Spec
	// MaxActiveRuns bounds the pipeline's running runs (max_active_runs).
	MaxActiveRuns int
	// NextFireAt is when the scheduler must look at the pipeline again (UTC):
	// the next fire, or an earlier instant after a change (new commit,
	// resume; then it may be the Unix epoch: "at once"). Zero when nothing
	// is pending (paused, unscheduled, @once done).
	NextFireAt time.Time
	// Last is the data interval of the last scheduled run; nil before one.
	Last *Interval
}

// Spec is the timetable of one pipeline at one commit.
type Spec struct {
	Expr     string    // train_schedule_interval as written; "" = not scheduled
	TimeZone string    // IANA
	Start    time.Time // start instant
	Mode     string    // "trigger" or "interval"
	Catchup  bool
}

// Output is something a pipeline run produced in the tracking server, for
// lineage: an MLflow run, or a registered model version.
type Output struct {
	RunID        RunID
	MLflowRunID  string // "" for a model version not tied to a run
	ModelName    string // "" for a plain MLflow run
	ModelVersion int    // 0 for a plain MLflow run
	CreatedAt    time.Time
}

// RunFilter selects runs for Store.PipelineRuns. Zero fields do not filter.
type RunFilter struct {
	ProjectID   ProjectID
	Pipeline    Kind
	States      []State
	Cause       Cause
	ParentRunID RunID
	// BeforeID pages backwards: only runs with a smaller ID (newest first).
	BeforeID RunID
	Limit    int // default 100
}

// Fire is a scheduler's claim of one due fire: the schedule as it read it
// (its NextFireAt is the value claimed), the run to create, and the
// schedule's next fire after it (zero: nothing pending).
type Fire struct {
	Schedule Schedule
	Run      Run
	Next     time.Time
}

// Fired is the outcome of a Fire. Claimed is false when another scheduler
// (or a new commit) changed the schedule first; Created is false when the
// run's logical date already had a run (the schedule moved on anyway).
type Fired struct {
	Run     Run // with its ID when Created
	Claimed bool
	Created bool
}
