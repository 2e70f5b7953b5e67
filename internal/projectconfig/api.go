package projectconfig

// CONTRACT STUB — replaced by the real implementation. Keep the exported API.

import (
	"errors"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/schedule"
)

// Direction says whether a larger metric value is better.
type Direction uint8

// The directions.
const (
	Maximize Direction = iota
	Minimize
)

func (d Direction) String() string {
	if d == Minimize {
		return "minimize"
	}
	return "maximize"
}

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
	TargetMetric   string
	Direction      Direction
	TrackingURI    string
	ExperimentName string
	RegisterModel  string
}

// Config is a project's merged, validated configuration.
type Config struct {
	Dir                 string
	ProjName            string
	ModelNames          []string
	MartID              string
	TimeZone            string
	Location            *time.Location
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
	// Merged is the merged YAML document as train.py's config.py sees it.
	Merged map[string]any
}

// Timetable returns the timetable of p under the project's mode and catch-up.
func (c *Config) Timetable(p Pipeline) schedule.Timetable {
	return schedule.Timetable{Schedule: p.Schedule, Start: p.Start, Mode: c.ScheduleMode, Catchup: c.Catchup}
}

// Load reads dir/src/config.yaml and merges dir/config.yaml over it. Every
// problem found is a Diagnostic; err is only for I/O failures other than a
// missing file (a missing src/config.yaml is a Diagnostic).
func Load(dir string) (*Config, []posml.Diagnostic, error) {
	return nil, nil, errors.New("projectconfig: not implemented yet")
}
