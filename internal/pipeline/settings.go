package pipeline

import (
	"fmt"
	"time"

	"github.com/posml/posml/internal/projectconfig"
	"github.com/posml/posml/internal/schedule"
)

// Settings are what the scheduler and the runner need of a commit's config,
// stored with the commit so that neither has to read the repository to
// decide when and how to run it. The runner still reads the checked-out
// config for the trigger's conf.
type Settings struct {
	Train   Spec `json:"train"`
	Trigger Spec `json:"trigger"`

	MaxActiveRuns       int           `json:"max_active_runs"`
	TrainTimeout        time.Duration `json:"train_timeout"`
	Retries             int           `json:"retries"`
	RetryDelay          time.Duration `json:"retry_delay"`
	TriggerTimeout      time.Duration `json:"trigger_timeout"`
	TriggerPokeInterval time.Duration `json:"trigger_poke_interval"`

	ModelNames     []string `json:"model_names,omitempty"`
	ExperimentName string   `json:"experiment_name,omitempty"` // defaulted: proj_name
	RegisterModel  string   `json:"register_model,omitempty"`  // defaulted: first model name
	TargetMetric   string   `json:"target_metric,omitempty"`
	Direction      string   `json:"direction,omitempty"` // "maximize" or "minimize"
	// AutoAlias (mlflow.auto_alias): move champion to versions the script
	// registered itself.
	AutoAlias bool `json:"auto_alias,omitempty"`
	// Executor is the executor: section as the config writes it (Backend
	// "" when it names none: the server's default); the runner resolves it
	// with the server's ExecutorPolicy for each attempt.
	Executor projectconfig.Executor `json:"executor"`
}

// Spec returns the timetable spec of pipeline k.
func (s Settings) Spec(k Kind) Spec {
	if k == Trigger {
		return s.Trigger
	}
	return s.Train
}

// SettingsOf extracts the Settings of a loaded config. Call it only for a
// valid config.
func SettingsOf(c *projectconfig.Config) Settings {
	spec := func(p projectconfig.Pipeline) Spec {
		if !p.Enabled() {
			return Spec{}
		}
		return Spec{Expr: p.IntervalText, TimeZone: c.TimeZone, Start: p.Start.UTC(), Mode: c.ScheduleMode.String(), Catchup: c.Catchup}
	}
	return Settings{
		Train:               spec(c.Train),
		Trigger:             spec(c.Trigger),
		MaxActiveRuns:       c.MaxActiveRuns,
		TrainTimeout:        c.TrainTimeout,
		Retries:             c.Retries,
		RetryDelay:          c.RetryDelay,
		TriggerTimeout:      c.TriggerTimeout,
		TriggerPokeInterval: c.TriggerPokeInterval,
		ModelNames:          c.ModelNames,
		ExperimentName:      c.MLflow.ExperimentName,
		RegisterModel:       c.MLflow.RegisterModel,
		TargetMetric:        c.MLflow.TargetMetric,
		Direction:           c.MLflow.Direction.String(),
		AutoAlias:           c.MLflow.AutoAlias,
		Executor:            c.Executor,
	}
}

// Timetable builds the schedule.Timetable of a spec. ok is false for an
// unscheduled pipeline (Expr "").
func (sp Spec) Timetable() (tt schedule.Timetable, ok bool, err error) {
	if sp.Expr == "" {
		return schedule.Timetable{}, false, nil
	}
	loc, err := time.LoadLocation(sp.TimeZone)
	if err != nil {
		return schedule.Timetable{}, false, fmt.Errorf("time zone %q: %w", sp.TimeZone, err)
	}
	sch, err := schedule.Parse(sp.Expr, loc)
	if err != nil {
		return schedule.Timetable{}, false, err
	}
	mode := schedule.ModeTrigger
	if sp.Mode != "" {
		if mode, err = schedule.ParseMode(sp.Mode); err != nil {
			return schedule.Timetable{}, false, err
		}
	}
	return schedule.Timetable{Schedule: sch, Start: sp.Start, Mode: mode, Catchup: sp.Catchup}, true, nil
}
