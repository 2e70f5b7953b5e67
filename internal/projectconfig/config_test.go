package projectconfig

import (
	"testing"
	"time"

	"github.com/posml/posml/internal/schedule"
)

func TestConfigOptionalKeys(t *testing.T) {
	c, diags := load(t, doc("schedule_mode: interval", "catchup: yes", "train_timeout: 1h30m", "retries: 0",
		"retry_delay: 0", "trigger_timeout: 120", "trigger_poke_interval: 30s", "max_active_runs: 3"), "")
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %q", diags)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"ScheduleMode", c.ScheduleMode, schedule.ModeInterval},
		{"Catchup", c.Catchup, true},
		{"TrainTimeout", c.TrainTimeout, 90 * time.Minute},
		{"Retries", c.Retries, 0},
		{"RetryDelay", c.RetryDelay, time.Duration(0)},
		{"TriggerTimeout", c.TriggerTimeout, 2 * time.Minute},
		{"TriggerPokeInterval", c.TriggerPokeInterval, 30 * time.Second},
		{"MaxActiveRuns", c.MaxActiveRuns, 3},
		{"Timetable mode", c.Timetable(c.Train).Mode, schedule.ModeInterval},
		{"Timetable catch-up", c.Timetable(c.Train).Catchup, true},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v; want %v", ch.name, ch.got, ch.want)
		}
	}
	if _, ok := c.Merged["catchup"].(bool); !ok {
		t.Errorf("Merged[catchup] = %#v; want Python's True", c.Merged["catchup"])
	}
}

func TestConfigDefaults(t *testing.T) {
	c, _ := load(t, doc("-time_zone", "-date_format", "-model_name"), "")
	if c.TimeZone != "UTC" || c.Location != time.UTC || c.DateFormat != "%Y-%m-%d %H:%M:%S" {
		t.Errorf("TimeZone %q, Location %v, DateFormat %q; want the defaults", c.TimeZone, c.Location, c.DateFormat)
	}
	if want := time.Date(2023, 1, 9, 0, 0, 0, 0, time.UTC); !c.Train.Start.Equal(want) {
		t.Errorf("Train.Start = %v; want %v", c.Train.Start, want)
	}
	if len(c.ModelNames) != 1 || c.ModelNames[0] != "iris" || c.MLflow.RegisterModel != "iris" || c.MLflow.ExperimentName != "iris" {
		t.Errorf("ModelNames %q, MLflow %+v; want proj_name everywhere", c.ModelNames, c.MLflow)
	}
	for _, k := range []string{"time_zone", "date_format", "model_name", "experiment_name"} {
		if _, ok := c.Merged[k]; ok {
			t.Errorf("Merged has %s: defaults must not be written into what train.py sees", k)
		}
	}
	if c.ScheduleMode != schedule.ModeTrigger || c.Catchup || c.TrainTimeout != time.Hour || c.Retries != 1 ||
		c.RetryDelay != 2*time.Minute || c.TriggerTimeout != time.Minute || c.TriggerPokeInterval != 10*time.Second || c.MaxActiveRuns != 1 {
		t.Errorf("Config = %+v; want the defaults", c)
	}
	if c.Trigger.Enabled() || c.Trigger.Name != "train_trigger" || c.Train.Name != "train" {
		t.Errorf("Trigger = %+v; want a disabled train_trigger", c.Trigger)
	}
}

func TestConfigStartDates(t *testing.T) {
	newYork, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		name    string
		changes []string
		want    time.Time
	}{
		{"naive start in time_zone", nil, time.Date(2023, 1, 8, 15, 0, 0, 0, time.UTC)},
		{"unquoted start", []string{"train_start_date: 2023-01-09 00:00:00"}, time.Date(2023, 1, 8, 15, 0, 0, 0, time.UTC)},
		{"offset wins over time_zone", []string{`date_format: "%Y-%m-%d %H:%M:%S%z"`, `train_start_date: "2023-01-09 00:00:00+0000"`},
			time.Date(2023, 1, 9, 0, 0, 0, 0, time.UTC)},
		{"Z offset", []string{`date_format: "%Y-%m-%dT%H:%M:%S%z"`, `train_start_date: "2023-01-09T00:00:00Z"`},
			time.Date(2023, 1, 9, 0, 0, 0, 0, time.UTC)},
		{"DST gap moves forward", []string{"time_zone: America/New_York", `train_start_date: "2024-03-10 02:30:00"`},
			time.Date(2024, 3, 10, 3, 30, 0, 0, newYork)},
		{"DST fold takes the later time", []string{"time_zone: America/New_York", `train_start_date: "2024-11-03 01:30:00"`},
			time.Date(2024, 11, 3, 6, 30, 0, 0, time.UTC)},
		{"date only", []string{`date_format: "%d.%m.%Y"`, `train_start_date: "9.1.2023"`}, time.Date(2023, 1, 8, 15, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := load(t, doc(tt.changes...), "")
			if len(diags) != 0 {
				t.Fatalf("diagnostics: %q", diags)
			}
			if !c.Train.Start.Equal(tt.want) {
				t.Errorf("Train.Start = %v; want %v", c.Train.Start, tt.want)
			}
			if c.Train.Start.Location() != c.Location {
				t.Errorf("Train.Start is in %v; want it shown in time_zone %v", c.Train.Start.Location(), c.Location)
			}
			if !c.Train.Enabled() {
				t.Error("Train is not enabled")
			}
		})
	}
}

func TestConfigInvalidZoneDisablesPipelines(t *testing.T) {
	c, _ := load(t, doc("time_zone: Asia/Seol", `train_trigger_start_date: "2023-01-09 00:00:00"`, `train_trigger_schedule_interval: "@daily"`), "")
	if c.Location != nil || c.TimeZone != "Asia/Seol" {
		t.Errorf("Location %v, TimeZone %q; want nil and the text", c.Location, c.TimeZone)
	}
	if c.Train.Enabled() || c.Trigger.Enabled() {
		t.Error("a pipeline is enabled although its time zone is unknown")
	}
	if c.Train.StartText == "" || c.Trigger.IntervalText != "@daily" {
		t.Errorf("the texts are lost: %+v %+v", c.Train, c.Trigger)
	}
}

func TestConfigMetricDirection(t *testing.T) {
	tests := []struct {
		mlflow string
		want   Direction
	}{
		{"mlflow:\n  target_metric: log_loss", Minimize},
		{"mlflow:\n  target_metric: training_log_loss", Minimize},
		{"mlflow:\n  target_metric: mean_squared_error", Minimize},
		{"mlflow:\n  target_metric: r2_score", Maximize},
		{"mlflow:\n  target_metric: rmse\n  target_metric_direction: minimize", Minimize},
		{"mlflow:\n  target_metric: f1_score\n  target_metric_direction: minimize", Minimize},
	}
	for _, tt := range tests {
		c, _ := load(t, doc(tt.mlflow), "")
		if c.MLflow.Direction != tt.want {
			t.Errorf("%s: Direction = %v; want %v", tt.mlflow, c.MLflow.Direction, tt.want)
		}
	}
}

func TestConfigAutoAlias(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mlflow string
		want   bool
		diags  int
	}{
		{"unset", "mlflow:\n  target_metric: accuracy_score", false, 0},
		{"true", "mlflow:\n  target_metric: accuracy_score\n  auto_alias: true", true, 0},
		{"false", "mlflow:\n  target_metric: accuracy_score\n  auto_alias: false", false, 0},
		{"quoted", "mlflow:\n  target_metric: accuracy_score\n  auto_alias: \"true\"", false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, diags := load(t, doc(tc.mlflow), "")
			if c.MLflow.AutoAlias != tc.want || len(diags) != tc.diags {
				t.Errorf("AutoAlias = %v, diagnostics %q; want %v and %d diagnostic(s)", c.MLflow.AutoAlias, diags, tc.want, tc.diags)
			}
		})
	}
}
