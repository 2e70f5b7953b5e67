package projectconfig

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posml/posml/internal/schedule"
)

// TestDiagnostics checks every diagnostic of a config, line for line, as
// posml validate prints them. Each config is the base one (doc) changed.
func TestDiagnostics(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"base config is valid", doc(), nil},

		// proj_name
		{"proj_name needs normalising", doc("proj_name: E2E_Pipeline Iris"), []string{
			`src/config.yaml:1:12: proj_name: "E2E_Pipeline Iris" must start with a lowercase letter, and may contain only lowercase letters, digits and '-' (use "e2e-pipeline-iris")`}},
		{"proj_name ends with a dash", doc("proj_name: iris-"), []string{
			`src/config.yaml:1:12: proj_name: "iris-" must not end with '-' (use "iris")`}},
		{"proj_name starts with a digit", doc("proj_name: 2023-iris"), []string{
			`src/config.yaml:1:12: proj_name: "2023-iris" must start with a lowercase letter (use "proj-2023-iris")`}},
		{"proj_name too long", doc("proj_name: " + strings.Repeat("a", 64)), []string{
			`src/config.yaml:1:12: proj_name: "` + strings.Repeat("a", 64) + `" must have at most 63 characters, not 64 (use "` + strings.Repeat("a", 63) + `")`}},
		{"proj_name with no usable character", doc("proj_name: 한글"), []string{
			`src/config.yaml:1:12: proj_name: "한글" must start with a lowercase letter, and may contain only lowercase letters, digits and '-' (use lowercase letters, digits and '-', starting with a letter, e.g. e2e-pipeline-iris)`}},
		{"proj_name read as an integer", doc("proj_name: 123"), []string{
			`src/config.yaml:1:12: proj_name: must be a string, but YAML reads 123 as an integer (quote it: proj_name: "123")`}},
		{"proj_name is a list", doc("proj_name: [a, b]"), []string{
			`src/config.yaml:1:12: proj_name: must be a string, not a list (write a single value: proj_name: e2e-pipeline-iris)`}},
		{"proj_name missing", doc("-proj_name"), []string{
			`src/config.yaml: proj_name: is required but not set (add the project's name, e.g. proj_name: e2e-pipeline-iris)`}},
		{"proj_name empty string", doc(`proj_name: ""`), []string{
			`src/config.yaml:1:1: proj_name: is empty (write the project's name after the colon, e.g. proj_name: e2e-pipeline-iris)`}},

		// mart_id
		{"mart_id read as an integer", doc("mart_id: 20085"), []string{
			`src/config.yaml:9:10: mart_id: must be a string, but YAML reads 20085 as an integer (quote it: mart_id: "20085")`}},
		{"mart_id empty is fine", doc("mart_id:"), nil},

		// time_zone
		{"time_zone misspelt", doc("time_zone: Asia/Seol"), []string{
			`src/config.yaml:3:12: time_zone: unknown time zone "Asia/Seol" (did you mean "Asia/Seoul"?)`}},
		{"time_zone abbreviation", doc("time_zone: KST"), []string{
			`src/config.yaml:3:12: time_zone: unknown time zone "KST" (did you mean "Asia/Seoul"?)`}},
		{"time_zone city only", doc("time_zone: seoul"), []string{
			`src/config.yaml:3:12: time_zone: unknown time zone "seoul" (did you mean "Asia/Seoul"?)`}},
		{"time_zone wrong case", doc("time_zone: asia/seoul"), []string{
			`src/config.yaml:3:12: time_zone: unknown time zone "asia/seoul" (did you mean "Asia/Seoul"?)`}},
		{"time_zone Local", doc("time_zone: Local"), []string{
			`src/config.yaml:3:12: time_zone: "Local" is the server's own zone, which may differ from yours (use an IANA time zone name such as Asia/Seoul, Europe/Berlin or UTC, as Python's pendulum.timezones lists them)`}},
		{"time_zone unknown", doc("time_zone: Mars/Olympus_Mons"), []string{
			`src/config.yaml:3:12: time_zone: unknown time zone "Mars/Olympus_Mons" (use an IANA time zone name such as Asia/Seoul, Europe/Berlin or UTC, as Python's pendulum.timezones lists them)`}},
		{"time_zone missing", doc("-time_zone"), []string{
			`src/config.yaml: warning: time_zone: is not set; schedules and start dates are read in UTC (set the zone your schedule is meant in, e.g. time_zone: Asia/Seoul)`}},
		{"time_zone empty", doc("time_zone:"), []string{
			`src/config.yaml:3:1: time_zone: is empty (write an IANA time zone, e.g. time_zone: Asia/Seoul, or delete the line to use UTC)`}},
		{"time_zone fixed offset zone", doc("time_zone: Etc/GMT-9"), nil},

		// date_format and the start dates
		{"date_format bad directive", doc(`date_format: "%Y-%m-%d %e"`), []string{
			`src/config.yaml:4:14: date_format: 'e' is a bad directive in format '%Y-%m-%d %e' (use Python strptime directives, e.g. date_format: "%Y-%m-%d %H:%M:%S"; strptime has no %e, %-d, %s or %k)`}},
		{"date_format stray percent", doc(`date_format: "%Y-%m-%d %"`), []string{
			`src/config.yaml:4:14: date_format: stray % in format '%Y-%m-%d %' (use Python strptime directives, e.g. date_format: "%Y-%m-%d %H:%M:%S"; strptime has no %e, %-d, %s or %k)`}},
		{"date_format missing", doc("-date_format"), []string{
			`src/config.yaml: warning: date_format: is not set; start dates are read with "%Y-%m-%d %H:%M:%S" (set it to the format of your start dates, e.g. date_format: "%Y-%m-%d %H:%M:%S")`}},
		{"date_format empty", doc("date_format:"), []string{
			`src/config.yaml:4:1: date_format: is empty (write a Python strptime format, e.g. date_format: "%Y-%m-%d %H:%M:%S", or delete the line to use that default)`}},
		{"date_format without a year", doc(`date_format: "%m-%d %H:%M"`, `train_start_date: "01-09 00:00"`), []string{
			`src/config.yaml:4:14: warning: date_format: has no year directive (%Y, %y or %G), so every start date falls in 1900, as in Python (add the year, e.g. date_format: "%Y-%m-%d %H:%M:%S")`}},
		{"start date in another format", doc(`date_format: "%d/%m/%Y"`), []string{
			`src/config.yaml:5:19: train_start_date: time data '2023-01-09 00:00:00' does not match format '%d/%m/%Y' (write it in date_format "%d/%m/%Y", e.g. train_start_date: "09/01/2023")`}},
		{"start date with trailing text", doc(`train_start_date: "2023-01-09 00:00:00.5"`), []string{
			`src/config.yaml:5:19: train_start_date: "2023-01-09 00:00:00.5": unconverted data remains: .5 (write it in date_format "%Y-%m-%d %H:%M:%S", e.g. train_start_date: "2023-01-09 00:00:00")`}},
		{"start date that does not exist", doc(`train_start_date: "2023-02-29 00:00:00"`), []string{
			`src/config.yaml:5:19: train_start_date: "2023-02-29 00:00:00": day is out of range for month (write it in date_format "%Y-%m-%d %H:%M:%S", e.g. train_start_date: "2023-01-09 00:00:00")`}},
		{"start date at 24:00", doc(`train_start_date: "2023-01-09 24:00:00"`), []string{
			`src/config.yaml:5:19: train_start_date: time data '2023-01-09 24:00:00' does not match format '%Y-%m-%d %H:%M:%S' (write it in date_format "%Y-%m-%d %H:%M:%S", e.g. train_start_date: "2023-01-09 00:00:00")`}},
		{"start date unquoted is taken as written", doc("train_start_date: 2023-01-09 00:00:00"), nil},
		{"start date unquoted date only", doc(`date_format: "%Y-%m-%d"`, "train_start_date: 2023-01-09"), nil},
		{"start date single digits like Python", doc(`train_start_date: "2023-1-9 0:0:0"`), nil},
		{"start date missing", doc("-train_start_date"), []string{
			`src/config.yaml: train_start_date: is required but not set (add it, e.g. train_start_date: "2023-01-09 00:00:00")`}},
		{"start date empty", doc("train_start_date:"), []string{
			`src/config.yaml:5:1: train_start_date: is empty (write it after the colon, e.g. train_start_date: "2023-01-09 00:00:00")`}},
		{"start date example in the user's format", doc(`date_format: "%Y%m%d"`, "train_start_date:"), []string{
			`src/config.yaml:5:1: train_start_date: is empty (write it after the colon, e.g. train_start_date: "20230109")`}},
		{"start date is a list", doc("train_start_date: [2023-01-09]"), []string{
			`src/config.yaml:5:19: train_start_date: must be a string, not a list (write a single value: train_start_date: "2023-01-09 00:00:00")`}},

		// train_schedule_interval
		{"schedule unquoted @daily", doc("train_schedule_interval: @daily"), []string{
			`src/config.yaml:6:26: train_schedule_interval: invalid YAML: an unquoted value cannot start with '@' (quote the value: "@daily")`}},
		{"schedule unquoted cron is fine", doc("train_schedule_interval: 0 3 * * 1-5"), nil},
		{"schedule missing", doc("-train_schedule_interval"), []string{
			`src/config.yaml: train_schedule_interval: is required but not set (add it, e.g. train_schedule_interval: "@daily")`}},
		{"schedule empty", doc("train_schedule_interval:"), []string{
			`src/config.yaml:6:1: train_schedule_interval: is empty (write it after the colon, e.g. train_schedule_interval: "@daily")`}},
		{"whole train pipeline missing", doc("-train_start_date", "-train_schedule_interval"), []string{
			`src/config.yaml: train_start_date: is required but not set (add it, e.g. train_start_date: "2023-01-09 00:00:00")`,
			`src/config.yaml: train_schedule_interval: is required but not set (add it, e.g. train_schedule_interval: "@daily")`}},

		// the trigger pipeline: both or neither
		{"trigger complete", doc(`train_trigger_start_date: "2023-01-09 00:00:00"`, `train_trigger_schedule_interval: "*/10 * * * *"`), nil},
		{"trigger both empty", doc("train_trigger_start_date:", "train_trigger_schedule_interval:"), nil},
		{"trigger without schedule", doc(`train_trigger_start_date: "2023-01-09 00:00:00"`), []string{
			`src/config.yaml: train_trigger_schedule_interval: is required when train_trigger_start_date is set (add it, e.g. train_trigger_schedule_interval: "@daily", or remove train_trigger_start_date to run no trigger)`}},
		{"trigger without start", doc(`train_trigger_schedule_interval: "@hourly"`), []string{
			`src/config.yaml: train_trigger_start_date: is required when train_trigger_schedule_interval is set (add it, e.g. train_trigger_start_date: "2023-01-09 00:00:00", or remove train_trigger_schedule_interval to run no trigger)`}},
		{"trigger start empty", doc("train_trigger_start_date:", `train_trigger_schedule_interval: "@hourly"`), []string{
			`src/config.yaml:9:1: train_trigger_start_date: is empty, but train_trigger_schedule_interval is set (write it after the colon, e.g. train_trigger_start_date: "2023-01-09 00:00:00")`}},
		{"trigger start invalid", doc(`train_trigger_start_date: "yesterday"`, `train_trigger_schedule_interval: "@hourly"`), []string{
			`src/config.yaml:9:27: train_trigger_start_date: time data 'yesterday' does not match format '%Y-%m-%d %H:%M:%S' (write it in date_format "%Y-%m-%d %H:%M:%S", e.g. train_trigger_start_date: "2023-01-09 00:00:00")`}},

		// mlflow
		{"metric misspelt", doc("mlflow:\n  target_metric: acuracy_score"), []string{
			`src/config.yaml:8:18: mlflow.target_metric: unknown metric "acuracy_score": posml cannot tell whether larger is better (did you mean "accuracy_score"? For a metric of your own, also set mlflow.target_metric_direction: maximize or minimize)`}},
		{"metric of one's own", doc("mlflow:\n  target_metric: val_auc"), []string{
			`src/config.yaml:8:18: mlflow.target_metric: unknown metric "val_auc": posml cannot tell whether larger is better (use one of accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc, training_accuracy_score, training_f1_score, training_log_loss, training_precision_score, training_recall_score, training_score, mean_squared_error, r2_score. For a metric of your own, also set mlflow.target_metric_direction: maximize or minimize)`}},
		{"metric of one's own with a direction", doc("mlflow:\n  target_metric: val_auc\n  target_metric_direction: maximize"), nil},
		{"direction contradicts a known metric", doc("mlflow:\n  target_metric: accuracy_score\n  target_metric_direction: minimize"), []string{
			`src/config.yaml:9:28: warning: mlflow.target_metric_direction: accuracy_score is normally maximized, but this says minimize, so the model with the smaller value wins (remove target_metric_direction unless you mean it)`}},
		{"direction invalid", doc("mlflow:\n  target_metric: val_auc\n  target_metric_direction: max"), []string{
			`src/config.yaml:9:28: mlflow.target_metric_direction: must be maximize or minimize, not "max" (write maximize (larger is better) or minimize (smaller is better))`}},
		{"mlflow missing", doc("-mlflow"), []string{
			`src/config.yaml: mlflow.target_metric: is required but not set: it decides which model is best (add it under mlflow:, e.g. mlflow: {target_metric: accuracy_score})`}},
		{"mlflow empty", doc("mlflow:"), []string{
			`src/config.yaml:7:1: mlflow.target_metric: is required but not set: it decides which model is best (add it under mlflow:, e.g. mlflow: {target_metric: accuracy_score})`}},
		{"mlflow not a mapping", doc("mlflow: accuracy_score"), []string{
			`src/config.yaml:7:9: mlflow: must be a mapping, not a string (write its fields indented below it, e.g. mlflow: {target_metric: accuracy_score})`}},
		{"target_metric empty", doc("mlflow:\n  target_metric:"), []string{
			`src/config.yaml:8:3: mlflow.target_metric: is empty (write the metric that picks the best model, one of accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc, training_accuracy_score, training_f1_score, training_log_loss, training_precision_score, training_recall_score, training_score, mean_squared_error, r2_score)`}},
		{"tracking_uri not http", doc("mlflow:\n  target_metric: f1_score\n  tracking_uri: mlflow:5000"), []string{
			`src/config.yaml:9:17: mlflow.tracking_uri: "mlflow:5000" is not an http or https URL (use the tracking server's http(s) URL, e.g. http://mlflow.example.com:5000, or leave it out: the platform sets it)`}},
		{"the seed's local keys left empty", doc("mlflow:\n  target_metric: f1_score\n  tracking_uri:\n  experiment_name: \n  register_model:"), nil},
		{"register_model read as an integer", doc("mlflow:\n  target_metric: f1_score\n  register_model: 7"), []string{
			`src/config.yaml:9:19: mlflow.register_model: must be a string, but YAML reads 7 as an integer (quote it: register_model: "7")`}},

		// unknown keys
		{"misspelt key", doc(`train_schedule_intervl: "@daily"`), []string{
			`src/config.yaml:9:1: warning: train_schedule_intervl: unknown key; posml does not use it (did you mean "train_schedule_interval"?)`}},
		{"key spelt with dashes", doc("proj-name: iris", "-proj_name"), []string{
			`src/config.yaml: proj_name: is required but not set (add the project's name, e.g. proj_name: e2e-pipeline-iris)`,
			`src/config.yaml:8:1: warning: proj-name: unknown key; posml does not use it (did you mean "proj_name"?)`}},
		{"airflow-style trigger key", doc(`trigger_start_date: "2023-01-09 00:00:00"`), []string{
			`src/config.yaml:9:1: warning: trigger_start_date: unknown key; posml does not use it (did you mean "train_trigger_start_date"?)`}},
		{"mlflow key at the top level", doc("target_metric: f1_score"), []string{
			`src/config.yaml:9:1: warning: target_metric: target_metric at the top level; it belongs under mlflow: (move it under mlflow:)`}},
		{"top-level key under mlflow", doc("mlflow:\n  target_metric: f1_score\n  time_zone: UTC"), []string{
			`src/config.yaml:9:3: warning: mlflow.time_zone: time_zone belongs at the top level, not under mlflow: (move it to the top level, out of mlflow:)`}},
		{"misspelt mlflow key", doc("mlflow:\n  target_metric: f1_score\n  experiment_nam: x"), []string{
			`src/config.yaml:9:3: warning: mlflow.experiment_nam: unknown key; posml does not use it (did you mean "experiment_name"?)`}},
		{"key of the user's own", doc("hyper_k: 3"), []string{
			`src/config.yaml:9:1: warning: hyper_k: unknown key; posml does not use it (remove it, unless your own code reads it)`}},
		{"key read as a boolean", doc("on: push"), []string{
			`src/config.yaml:9:1: warning: on: YAML reads the key on as a boolean, not as a name, so neither posml nor config.py finds it (quote the key: "on":)`}},
		{"empty key", doc("~: orphan"), []string{
			`src/config.yaml:9:1: warning: yaml: a key is empty, so neither posml nor config.py finds its value (write a name before the colon)`}},
		{"duplicate key", doc("proj_name: iris\nproj_name: setosa"), []string{
			`src/config.yaml:2:1: warning: proj_name: key proj_name is also defined at line 1; Python keeps the last one (remove one of them)`}},

		// posml's own optional keys
		{"all optional keys", doc("schedule_mode: interval", "catchup: yes", "train_timeout: 90m", "retries: 3",
			"retry_delay: 0", "trigger_timeout: 120", "trigger_poke_interval: 30s", "max_active_runs: 2"), nil},
		{"schedule_mode wrong case", doc("schedule_mode: Interval"), []string{
			`src/config.yaml:9:16: schedule_mode: must be trigger or interval, not "Interval" (write trigger (run at each tick, Airflow 3) or interval (run at the end of each interval, Airflow 2))`}},
		{"schedule_mode empty", doc("schedule_mode:"), []string{
			`src/config.yaml:9:1: warning: schedule_mode: is empty; the default trigger is used (write a value, e.g. schedule_mode: interval, or delete the line)`}},
		{"catchup quoted", doc(`catchup: "true"`), []string{
			`src/config.yaml:9:10: catchup: must be true or false, not the string "true" (remove the quotes: catchup: true)`}},
		{"catchup a number", doc("catchup: 1"), []string{
			`src/config.yaml:9:10: catchup: must be true or false, not an integer (write true or false)`}},
		{"retries negative", doc("retries: -1"), []string{
			`src/config.yaml:9:10: retries: must be at least 0, not -1 (write an integer of at least 0)`}},
		{"retries quoted", doc(`retries: "2"`), []string{
			`src/config.yaml:9:10: retries: must be an integer, not the string "2" (remove the quotes: retries: 2)`}},
		{"retries a fraction", doc("retries: 1.5"), []string{
			`src/config.yaml:9:10: retries: must be an integer, not a number (write an integer, e.g. retries: 1)`}},
		{"max_active_runs zero", doc("max_active_runs: 0"), []string{
			`src/config.yaml:9:18: max_active_runs: must be at least 1, not 0 (write an integer of at least 1)`}},
		{"timeout sexagesimal", doc("train_timeout: 1:30"), []string{
			`src/config.yaml:9:16: train_timeout: YAML reads 1:30 as the number 90, which is ambiguous as a duration (write a duration such as 90s, 10m or 1h30m, or a number of seconds)`}},
		{"timeout negative", doc("train_timeout: -5m"), []string{
			`src/config.yaml:9:16: train_timeout: must be positive, not -5m (write a duration such as 90s, 10m or 1h30m, or a number of seconds)`}},
		{"timeout zero", doc("trigger_timeout: 0"), []string{
			`src/config.yaml:9:18: trigger_timeout: must be positive, not 0 (write a duration such as 90s, 10m or 1h30m, or a number of seconds)`}},
		{"timeout not a duration", doc("train_timeout: an hour"), []string{
			`src/config.yaml:9:16: train_timeout: "an hour" is not a duration (write a duration such as 90s, 10m or 1h30m, or a number of seconds)`}},
		{"retry_delay negative", doc("retry_delay: -1s"), []string{
			`src/config.yaml:9:14: retry_delay: must be zero or positive, not -1s (write a duration such as 90s, 10m or 1h30m, or a number of seconds)`}},
		{"poke interval not shorter than the timeout", doc("trigger_poke_interval: 2m"), []string{
			`src/config.yaml:9:24: warning: trigger_poke_interval: is not shorter than trigger_timeout (1m0s), so train_trigger is called only once per run (make it shorter than trigger_timeout)`}},

		// YAML that Python's safe_load cannot read
		{"unknown tag", doc("mart_id: !mart dm_1"), []string{
			`src/config.yaml:9:10: mart_id: Python's yaml.safe_load cannot read a value tagged !mart (remove the tag)`}},
		{"impossible unquoted timestamp", doc("released: 2023-02-30 00:00:00"), []string{
			`src/config.yaml:9:1: warning: released: unknown key; posml does not use it (remove it, unless your own code reads it)`,
			`src/config.yaml:9:11: released: Python's yaml.safe_load fails on 2023-02-30 00:00:00: day is out of range for month (correct it, or quote it to keep it a string: "2023-02-30 00:00:00")`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := load(t, tt.yaml, "")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("diagnostics of\n%s\n(-want +got):\n%s", tt.yaml, diff)
			}
		})
	}
}

// TestScheduleErrors checks that an invalid schedule is reported with the
// schedule package's own message, at the value.
func TestScheduleErrors(t *testing.T) {
	for _, expr := range []string{"@dayly", "0 0 * *", "61 * * * *", "0 0 31 2 *"} {
		_, err := schedule.Parse(expr, time.UTC)
		if err == nil {
			t.Fatalf("schedule.Parse(%q) succeeded; pick an invalid expression", expr)
		}
		want := []string{`src/config.yaml:6:26: train_schedule_interval: ` + err.Error() +
			` (` + scheduleSyntax + `)`}
		_, got := load(t, doc(`train_schedule_interval: "`+expr+`"`), "")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("train_schedule_interval %q (-want +got):\n%s", expr, diff)
		}
	}
}
