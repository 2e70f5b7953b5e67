package lineage

import (
	"context"
	"time"

	"github.com/posml/posml/internal/pipeline"
)

// Tags that attribute an MLflow run to the pipeline run that created it.
const (
	TagPipelineRunID = "posml.pipeline_run_id"
	TagProject       = "posml.project"
	// TagModel names the registered model a run is a candidate for, in a
	// project with several model names.
	TagModel      = "posml.model"
	TagGitCommit  = "mlflow.source.git.commit"
	TagSourceName = "mlflow.source.name"
	// SourceName is mlflow.source.name of runs that name none: the entry
	// point the executor runs.
	SourceName = "src/train.py"
)

// Caller is a pipeline run acting on the tracking server through its run
// token.
type Caller struct {
	ProjectID     pipeline.ProjectID
	Project       string // the project's name
	PipelineRunID pipeline.RunID
	Commit        string // SHA of the commit the run executes
	ExpiresAt     time.Time
}

type callerKey struct{}

// WithCaller returns a context carrying the caller of a request.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller WithCaller put in ctx.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// ResourceKind names a kind of tracking resource a project can own.
type ResourceKind string

// The kinds of owned resources.
const (
	Experiment      ResourceKind = "experiment"
	RegisteredModel ResourceKind = "registered_model"
)

// Claim says that a project owns the experiment or registered model of a
// name: the project's configuration names it (mlflow.experiment_name,
// model_name, mlflow.register_model), or the project's run token created
// it. The first claim of a name wins; a run token may write only what its
// project claims.
type Claim struct {
	Kind      ResourceKind
	Name      string
	ProjectID pipeline.ProjectID
	ClaimedAt time.Time
}

// Outcome is what promotion did for one registered model.
type Outcome string

// The outcomes.
const (
	// Registered: posml registered the candidate as a new version and
	// moved the champion alias to it.
	Registered Outcome = "registered"
	// Held: the candidate did not beat the champion (or could not be
	// compared); nothing changed.
	Held Outcome = "held"
	// Recorded: the train script registered the version itself; posml
	// recorded it and moved the champion alias only if mlflow.auto_alias
	// asks.
	Recorded Outcome = "recorded"
)

// Aliases promotion maintains.
const (
	AliasChampion         = "champion"
	AliasPreviousChampion = "previous-champion"
)

// Decision is promotion's verdict on one registered model after one
// successful train run, with the numbers it was based on.
type Decision struct {
	ID            int64
	ProjectID     pipeline.ProjectID
	PipelineRunID pipeline.RunID
	ModelName     string
	Metric        string // mlflow.target_metric
	Direction     string // "maximize" or "minimize"
	// Candidate is the best MLflow run of the pipeline run ("" when there
	// was none); CandidateValue is nil when it lacks the metric.
	CandidateRunID string
	CandidateValue *float64
	// ChampionVersion is the version the champion alias named before the
	// decision (0: none); ChampionValue is its run's metric, nil when
	// unknown.
	ChampionVersion int64
	ChampionRunID   string
	ChampionValue   *float64
	Outcome         Outcome
	Reason          string
	// NewVersion is the version registered (Registered) or recorded
	// (Recorded); 0 for Held.
	NewVersion int64
	// AliasMoved reports whether champion now names NewVersion.
	AliasMoved bool
	DecidedAt  time.Time
}
