package projectconfig

import (
	"time"

	"github.com/posml/posml/internal/schedule"
)

// Pipeline is the schedule of one of a project's two pipelines.
type Pipeline struct {
	Name         string             // "train" or "train_trigger"
	StartText    string             // train_start_date as written
	Start        time.Time          // the start instant (zero when unset or invalid)
	IntervalText string             // train_schedule_interval as written ("" = not scheduled)
	Schedule     *schedule.Schedule // nil when unset or invalid
}

// Enabled reports whether the pipeline has a valid schedule and start.
func (p Pipeline) Enabled() bool { return p.Schedule != nil && !p.Start.IsZero() }

// MLflow is the mlflow: section.
type MLflow struct {
	TargetMetric string
	// Direction is mlflow.target_metric_direction when given, else the
	// known direction of TargetMetric (log_loss, training_log_loss and
	// mean_squared_error are minimized, the others maximized).
	Direction   Direction
	TrackingURI string // "" when unset: the platform provides it
	// ExperimentName defaults to ProjName, and RegisterModel to the first
	// model name. The defaults are filled in here, never in Config.Merged:
	// train.py sees only what the files say.
	ExperimentName string
	RegisterModel  string
	// AutoAlias (mlflow.auto_alias, default false) lets promotion move the
	// champion alias to a version the train script registered itself.
	AutoAlias bool
}

// Config is a project's merged, validated configuration.
//
// Fields with a default hold it when the file does not set them:
// TimeZone "UTC", DateFormat "%Y-%m-%d %H:%M:%S", ModelNames [ProjName],
// ScheduleMode trigger, Catchup false, TrainTimeout 60m, Retries 1,
// RetryDelay 2m, TriggerTimeout 60s, TriggerPokeInterval 10s,
// MaxActiveRuns 1.
type Config struct {
	Dir                 string
	ProjName            string
	ModelNames          []string
	MartID              string
	TimeZone            string
	Location            *time.Location // nil when TimeZone is invalid
	DateFormat          string
	Train               Pipeline
	Trigger             Pipeline
	MLflow              MLflow
	ScheduleMode        schedule.Mode
	Catchup             bool
	TrainTimeout        time.Duration
	Retries             int
	RetryDelay          time.Duration
	TriggerTimeout      time.Duration
	TriggerPokeInterval time.Duration
	MaxActiveRuns       int
	// Executor is the executor: section; Backend is "local" by default.
	Executor Executor
	// Merged is the merged YAML document as train.py's config.py sees it.
	Merged map[string]any
}

// Timetable returns the timetable of p under the project's mode and catch-up.
func (c *Config) Timetable(p Pipeline) schedule.Timetable {
	return schedule.Timetable{Schedule: p.Schedule, Start: p.Start, Mode: c.ScheduleMode, Catchup: c.Catchup}
}
