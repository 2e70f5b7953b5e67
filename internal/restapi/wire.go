package restapi

import (
	"encoding/json"
	"time"

	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/notify"
	"github.com/posml/posml/internal/pipeline"
)

// The wire types of the API. They are separate from the domain types and
// converted explicitly, so that the JSON stays stable and no field (a
// credential) leaks by being added to a domain struct. Fields are only ever
// added.

// Project is a project as the API shows it. It never carries credentials,
// only whether some are stored.
type Project struct {
	Name           string     `json:"name"`
	RepoURL        string     `json:"repo_url"`
	Branch         string     `json:"branch"`
	Paused         bool       `json:"paused"`
	ActiveCommit   string     `json:"active_commit"`
	HeadCommit     string     `json:"head_commit"`
	HasCredentials bool       `json:"has_credentials"`
	NotifyURLs     []string   `json:"notify_urls"` // scheme and host only
	LastSyncAt     *time.Time `json:"last_sync_at"`
	SyncError      string     `json:"sync_error,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	// Commits are the newest commits seen (GET one project only).
	Commits []Commit `json:"commits,omitempty"`
}

// Commit is a commit posml validated, with its findings.
type Commit struct {
	SHA         string          `json:"sha"`
	Valid       bool            `json:"valid"`
	Active      bool            `json:"active"`
	Author      string          `json:"author"`
	Message     string          `json:"message"`
	CommittedAt time.Time       `json:"committed_at"`
	SeenAt      time.Time       `json:"seen_at"`
	Validation  json.RawMessage `json:"validation,omitempty"`
}

// AddProject is the body of POST /api/posml/projects.
type AddProject struct {
	// Repo is a git URL or a path on the server's machine.
	Repo   string `json:"repo"`
	Branch string `json:"branch,omitempty"`
	Name   string `json:"name,omitempty"`
	// Token is an HTTPS access token (Username defaults to the forge's).
	Username string `json:"username,omitempty"`
	Token    string `json:"token,omitempty"`
	// SSHKey is an SSH private key.
	SSHKey string `json:"ssh_key,omitempty"`
	// WebhookSecret verifies this project's push webhooks.
	WebhookSecret string   `json:"webhook_secret,omitempty"`
	NotifyURLs    []string `json:"notify_urls,omitempty"`
}

// UpdateProject is the body of PATCH /api/posml/projects/{name}; absent
// fields stay as they are.
type UpdateProject struct {
	Branch     *string   `json:"branch,omitempty"`
	NotifyURLs *[]string `json:"notify_urls,omitempty"`
	// Token or SSHKey (with Username) replace the repository credentials;
	// ClearCredentials removes them.
	Username         string  `json:"username,omitempty"`
	Token            string  `json:"token,omitempty"`
	SSHKey           string  `json:"ssh_key,omitempty"`
	ClearCredentials bool    `json:"clear_credentials,omitempty"`
	WebhookSecret    *string `json:"webhook_secret,omitempty"`
}

// SyncResult is the answer of POST /api/posml/projects/{name}/sync.
type SyncResult struct {
	Project Project  `json:"project"`
	Head    string   `json:"head"`
	New     []Commit `json:"new"`
	// Activated is the commit that became active, "" when none did.
	Activated string `json:"activated"`
}

// Run is a pipeline run.
type Run struct {
	ID                string         `json:"id"`
	Project           string         `json:"project"`
	Pipeline          string         `json:"pipeline"`
	Commit            string         `json:"commit"`
	State             string         `json:"state"`
	Cause             string         `json:"cause"`
	LogicalDate       time.Time      `json:"logical_date"`
	DataIntervalStart time.Time      `json:"data_interval_start"`
	DataIntervalEnd   time.Time      `json:"data_interval_end"`
	QueuedAt          time.Time      `json:"queued_at"`
	StartedAt         *time.Time     `json:"started_at"`
	EndedAt           *time.Time     `json:"ended_at"`
	Attempts          int            `json:"attempts"`
	MaxAttempts       int            `json:"max_attempts"`
	ParentRunID       string         `json:"parent_run_id,omitempty"`
	Reason            string         `json:"reason,omitempty"`
	AttemptList       []Attempt      `json:"attempt_list,omitempty"`
	Outputs           []Output       `json:"outputs,omitempty"`
	Decisions         []Decision     `json:"promotion,omitempty"`
	MartReads         []MartRead     `json:"mart_reads,omitempty"`
	Conf              map[string]any `json:"conf,omitempty"`
}

// Attempt is one execution of a run.
type Attempt struct {
	N         int        `json:"n"`
	State     string     `json:"state"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"`
	ExitCode  int        `json:"exit_code"`
	Error     string     `json:"error,omitempty"`
	// Where names the attempt's process on its backend: "local:<pid>:...",
	// "kubernetes:<namespace>/<job>", "slurm:<job id>".
	Where string `json:"where,omitempty"`
}

// Output is an MLflow run or a model version a run produced.
type Output struct {
	MLflowRunID  string `json:"mlflow_run_id,omitempty"`
	ModelName    string `json:"model_name,omitempty"`
	ModelVersion int    `json:"model_version,omitempty"`
}

// Decision is promotion's verdict on one registered model after a train
// run: registered (a new champion), held, or recorded (the script
// registered the version itself).
type Decision struct {
	Model           string    `json:"model"`
	Outcome         string    `json:"outcome"`
	Reason          string    `json:"reason"`
	Metric          string    `json:"metric"`
	Direction       string    `json:"direction"`
	CandidateRunID  string    `json:"candidate_run_id,omitempty"`
	CandidateValue  *float64  `json:"candidate_value"`
	ChampionVersion int64     `json:"champion_version,omitempty"`
	ChampionValue   *float64  `json:"champion_value"`
	NewVersion      int64     `json:"new_version,omitempty"`
	AliasMoved      bool      `json:"alias_moved"`
	DecidedAt       time.Time `json:"decided_at"`
}

// StartRun is the body of POST /api/posml/runs.
type StartRun struct {
	Project  string         `json:"project"`
	Pipeline string         `json:"pipeline,omitempty"` // "train" (default) or "trigger"
	Conf     map[string]any `json:"conf,omitempty"`
}

// Backfill is the body of POST /api/posml/backfill.
type Backfill struct {
	Project  string    `json:"project"`
	Pipeline string    `json:"pipeline,omitempty"` // "train" (default) or "trigger"
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	DryRun   bool      `json:"dry_run"`
}

// BackfillResult lists the logical dates between from and to, and the runs
// created for them (none on a dry run).
type BackfillResult struct {
	Project      string      `json:"project"`
	Pipeline     string      `json:"pipeline"`
	DryRun       bool        `json:"dry_run"`
	LogicalDates []time.Time `json:"logical_dates"`
	Runs         []Run       `json:"runs"`
}

// WebhookResult is the answer to a push webhook.
type WebhookResult struct {
	Status   string   `json:"status"` // "synced" or "ignored"
	Reason   string   `json:"reason,omitempty"`
	Projects []string `json:"projects"`
	// Runs are the runs queued with ?run= (cause webhook).
	Runs []string `json:"runs,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func toProject(p pipeline.Project) Project {
	urls := []string{}
	for _, u := range p.NotifyURLs {
		urls = append(urls, notify.RedactURL(u)) // a webhook URL's path is often its secret
	}
	return Project{
		Name: p.Name, RepoURL: p.RepoURL, Branch: p.Branch, Paused: p.Paused,
		ActiveCommit: p.ActiveCommit, HeadCommit: p.HeadCommit, HasCredentials: p.HasCredentials,
		NotifyURLs: urls, LastSyncAt: timePtr(p.LastSyncAt), SyncError: p.SyncError, CreatedAt: p.CreatedAt.UTC(),
	}
}

func toCommit(c pipeline.Commit, active string) Commit {
	return Commit{
		SHA: c.SHA, Valid: c.Valid, Active: c.SHA == active, Author: c.Author, Message: c.Message,
		CommittedAt: c.CommittedAt.UTC(), SeenAt: c.SeenAt.UTC(), Validation: c.Validation,
	}
}

func toRun(r pipeline.Run) Run {
	out := Run{
		ID: r.ID.String(), Project: r.Project, Pipeline: string(r.Pipeline), Commit: r.Commit,
		State: string(r.State), Cause: string(r.Cause), LogicalDate: r.LogicalDate.UTC(),
		DataIntervalStart: r.DataInterval.Start.UTC(), DataIntervalEnd: r.DataInterval.End.UTC(),
		QueuedAt: r.QueuedAt.UTC(), StartedAt: timePtr(r.StartedAt), EndedAt: timePtr(r.EndedAt),
		Attempts: r.Attempts, MaxAttempts: r.MaxAttempts, Reason: r.Reason, Conf: r.Conf,
	}
	if r.ParentRunID != 0 {
		out.ParentRunID = r.ParentRunID.String()
	}
	return out
}

func toAttempt(a pipeline.Attempt) Attempt {
	return Attempt{N: a.N, State: string(a.State), StartedAt: a.StartedAt.UTC(), EndedAt: timePtr(a.EndedAt), ExitCode: a.ExitCode, Error: a.Error, Where: a.Handle}
}

func toDecision(d lineage.Decision) Decision {
	return Decision{
		Model: d.ModelName, Outcome: string(d.Outcome), Reason: d.Reason, Metric: d.Metric, Direction: d.Direction,
		CandidateRunID: d.CandidateRunID, CandidateValue: d.CandidateValue, ChampionVersion: d.ChampionVersion,
		ChampionValue: d.ChampionValue, NewVersion: d.NewVersion, AliasMoved: d.AliasMoved, DecidedAt: d.DecidedAt.UTC(),
	}
}

func toOutput(o pipeline.Output) Output {
	return Output{MLflowRunID: o.MLflowRunID, ModelName: o.ModelName, ModelVersion: o.ModelVersion}
}

// MartRead is a mart snapshot a pipeline run read (lineage).
type MartRead struct {
	Mart        string    `json:"mart"`
	Version     int       `json:"version"`
	Digest      string    `json:"digest"`
	MLflowRunID string    `json:"mlflow_run_id,omitempty"`
	ReadAt      time.Time `json:"read_at"`
}
