package projectconfig

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/schedule"
)

func TestLoadSeedExample(t *testing.T) {
	c, diags := load(t, seedConfig, "")
	if len(diags) != 0 {
		t.Fatalf("the seed guide's example has diagnostics:\n%v", diags)
	}
	seoul, _ := time.LoadLocation("Asia/Seoul")
	start := time.Date(2023, 1, 9, 0, 0, 0, 0, seoul)
	want := &Config{
		ProjName:   "e2e-pipeline-iris",
		ModelNames: []string{"e2e-pipeline-iris"},
		MartID:     "dm_f_20085_2212_142",
		TimeZone:   "Asia/Seoul",
		DateFormat: "%Y-%m-%d %H:%M:%S",
		Train:      Pipeline{Name: "train", StartText: "2023-01-09 00:00:00", Start: start, IntervalText: "@daily"},
		Trigger:    Pipeline{Name: "train_trigger", StartText: "2023-01-09 00:00:00", Start: start, IntervalText: "@daily"},
		MLflow: MLflow{
			TargetMetric: "accuracy_score", Direction: Maximize,
			ExperimentName: "e2e-pipeline-iris", RegisterModel: "e2e-pipeline-iris",
		},
		ScheduleMode:        schedule.ModeTrigger,
		TrainTimeout:        time.Hour,
		Retries:             1,
		RetryDelay:          2 * time.Minute,
		TriggerTimeout:      time.Minute,
		TriggerPokeInterval: 10 * time.Second,
		MaxActiveRuns:       1,
		Merged: map[string]any{
			"proj_name":                       "e2e-pipeline-iris",
			"model_name":                      "e2e-pipeline-iris",
			"mart_id":                         "dm_f_20085_2212_142",
			"time_zone":                       "Asia/Seoul",
			"date_format":                     "%Y-%m-%d %H:%M:%S",
			"train_start_date":                "2023-01-09 00:00:00",
			"train_schedule_interval":         "@daily",
			"train_trigger_start_date":        "2023-01-09 00:00:00",
			"train_trigger_schedule_interval": "@daily",
			"mlflow":                          map[string]any{"target_metric": "accuracy_score"},
		},
	}
	if c.Location == nil || c.Location.String() != "Asia/Seoul" {
		t.Errorf("Location = %v; want Asia/Seoul", c.Location)
	}
	if !c.Train.Enabled() || !c.Trigger.Enabled() {
		t.Errorf("Train.Enabled() = %v, Trigger.Enabled() = %v; want both", c.Train.Enabled(), c.Trigger.Enabled())
	}
	if tt := c.Timetable(c.Train); tt.Schedule != c.Train.Schedule || !tt.Start.Equal(start) || tt.Mode != schedule.ModeTrigger || tt.Catchup {
		t.Errorf("Timetable(Train) = %+v", tt)
	}
	opts := cmp.Options{
		cmpopts.IgnoreFields(Config{}, "Dir", "Location"),
		cmpopts.IgnoreFields(Pipeline{}, "Schedule"),
		cmpopts.EquateApproxTime(0),
	}
	if diff := cmp.Diff(want, c, opts); diff != "" {
		t.Errorf("Config (-want +got):\n%s", diff)
	}
}

func TestLoadSeedTemplate(t *testing.T) {
	_, got := load(t, seedTemplate, "")
	want := []string{
		`src/config.yaml:2:1: proj_name: is empty (write the project's name after the colon, e.g. proj_name: e2e-pipeline-iris)`,
		`src/config.yaml:9:1: time_zone: is empty (write an IANA time zone, e.g. time_zone: Asia/Seoul, or delete the line to use UTC)`,
		`src/config.yaml:10:1: date_format: is empty (write a Python strptime format, e.g. date_format: "%Y-%m-%d %H:%M:%S", or delete the line to use that default)`,
		`src/config.yaml:12:1: train_start_date: is empty (write it after the colon, e.g. train_start_date: "2023-01-09 00:00:00")`,
		`src/config.yaml:13:1: train_schedule_interval: is empty (write it after the colon, e.g. train_schedule_interval: "@daily")`,
		`src/config.yaml:20:3: mlflow.target_metric: is empty (write the metric that picks the best model, one of accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc, training_accuracy_score, training_f1_score, training_log_loss, training_precision_score, training_recall_score, training_score, mean_squared_error, r2_score)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics of the blank template (-want +got):\n%s", diff)
	}
}

func TestLoadMissingUserFile(t *testing.T) {
	c, got := load(t, "-", "mlflow:\n  tracking_uri: http://x\n")
	want := []string{`src/config.yaml: config: is missing (create it: posml init writes a template to fill in)`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if c.TimeZone != "UTC" || c.Retries != 1 {
		t.Errorf("Config = %+v; want the defaults", c)
	}
}

func TestLoadIOError(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "src", "config.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(dir); err == nil {
		t.Error("Load with a directory for src/config.yaml succeeded; want an error")
	}
}

func TestLoadEmptyFile(t *testing.T) {
	_, got := load(t, "# nothing yet\n", "")
	want := []string{
		`src/config.yaml: proj_name: is required but not set (add the project's name, e.g. proj_name: e2e-pipeline-iris)`,
		`src/config.yaml: warning: time_zone: is not set; schedules and start dates are read in UTC (set the zone your schedule is meant in, e.g. time_zone: Asia/Seoul)`,
		`src/config.yaml: warning: date_format: is not set; start dates are read with "%Y-%m-%d %H:%M:%S" (set it to the format of your start dates, e.g. date_format: "%Y-%m-%d %H:%M:%S")`,
		`src/config.yaml: train_start_date: is required but not set (add it, e.g. train_start_date: "2023-01-09 00:00:00")`,
		`src/config.yaml: train_schedule_interval: is required but not set (add it, e.g. train_schedule_interval: "@daily")`,
		`src/config.yaml: mlflow.target_metric: is required but not set: it decides which model is best (add it under mlflow:, e.g. mlflow: {target_metric: accuracy_score})`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestLoadYAMLErrors checks YAML that cannot be read: the error is reported
// at its line, alone, with a fix for the usual mistakes.
func TestLoadYAMLErrors(t *testing.T) {
	tests := []struct {
		name, user, system string
		want               []string
	}{
		{"unquoted preset", doc("train_schedule_interval: @daily # every day"), "", []string{
			`src/config.yaml:6:26: train_schedule_interval: invalid YAML: an unquoted value cannot start with '@' (quote the value: "@daily")`}},
		{"unquoted format", doc("date_format: %Y-%m-%d %H:%M:%S"), "", []string{
			`src/config.yaml:4:14: date_format: invalid YAML: an unquoted value cannot start with '%' (quote the value: "%Y-%m-%d %H:%M:%S")`}},
		{"unquoted cron starting with a star", doc("train_schedule_interval: */5 * * * *"), "", []string{
			`src/config.yaml:6:26: train_schedule_interval: invalid YAML: the unquoted value */5 * * * * is read as an alias because it starts with '*' (quote the value: "*/5 * * * *")`}},
		{"nested key", doc("mlflow:\n  target_metric: `f1`"), "", []string{
			"src/config.yaml:8:18: mlflow.target_metric: invalid YAML: an unquoted value cannot start with '`' (quote the value: \"`f1`\")"}},
		{"value with a double quote", doc(`proj_name: @"x"`), "", []string{
			`src/config.yaml:1:12: proj_name: invalid YAML: an unquoted value cannot start with '@' (quote the value: '@"x"')`}},
		{"list item", "model_name:\n  - @a\n", "", []string{
			`src/config.yaml:2:5: yaml: invalid YAML: an unquoted value cannot start with '@' (quote the value: "@a")`}},
		{"tab indentation", "mlflow:\n\ttarget_metric: f1_score\n", "", []string{
			`src/config.yaml:2:1: yaml: invalid YAML: found character that cannot start any token (indent with spaces: YAML does not allow tabs)`}},
		{"bad indentation", "model_name:\n  - a\n b: 3\n", "", []string{
			`src/config.yaml:3:2: yaml: invalid YAML: did not find expected key (check the indentation and quoting of this line and the one before it)`}},
		{"unknown alias", "proj_name: iris\nmodel_name: *knn\n", "", []string{
			`src/config.yaml:2:13: yaml: invalid YAML: the alias *knn names no anchor (define &knn before it, or quote the value if it is not an alias)`}},
		{"second document", doc() + "---\nproj_name: other\n", "", []string{
			`src/config.yaml:9:1: yaml: a second YAML document starts here; Python's yaml.safe_load reads only files with one (remove this --- line and merge what follows into the first document)`}},
		{"recursive alias", doc("list: &l [1, *l]"), "", []string{
			`src/config.yaml:9:1: warning: list: unknown key; posml does not use it (remove it, unless your own code reads it)`,
			`src/config.yaml:9:14: list: the alias *l refers to a value that contains it (write the values out instead of referring to the enclosing one)`}},
		{"not a mapping", "- proj_name: iris\n", "", []string{
			`src/config.yaml:1:1: config: must be a mapping of field: value, not a list (write one field per line, e.g. proj_name: e2e-pipeline-iris)`}},
		{"system file broken", doc(), "mlflow:\n  tracking_uri: @x\n", []string{
			`config.yaml:2:17: mlflow.tracking_uri: invalid YAML: an unquoted value cannot start with '@' (quote the value: "@x")`}},
		{"system file not a mapping", doc(), "just text\n", []string{
			`config.yaml:1:1: config: must be a mapping of field: value, not a string (the platform writes this file: rewrite it as a mapping)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := load(t, tt.user, tt.system)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadReportsEverything checks that problems in many fields are all
// reported in one go, in file order.
func TestLoadReportsEverything(t *testing.T) {
	user := `proj_name: My Project
model_name: [a, a]
time_zone: Asia/Seol
date_format: "%Y-%m-%d %H:%M:%S"
train_start_date: "2023-02-30 00:00:00"
train_schedule_interval: "0 0 * * *"
train_trigger_schedule_interval: "@hourly"
mlflow:
  target_metric: acc
  tracking_uri: ftp://x
retries: many
`
	_, got := load(t, user, "")
	want := []string{
		`src/config.yaml: train_trigger_start_date: is required when train_trigger_schedule_interval is set (add it, e.g. train_trigger_start_date: "2023-01-09 00:00:00", or remove train_trigger_schedule_interval to run no trigger)`,
		`src/config.yaml:1:12: proj_name: "My Project" must start with a lowercase letter, and may contain only lowercase letters, digits and '-' (use "my-project")`,
		`src/config.yaml:2:17: model_name: model name "a" is listed twice (first at line 2) (remove one of them)`,
		`src/config.yaml:3:12: time_zone: unknown time zone "Asia/Seol" (did you mean "Asia/Seoul"?)`,
		`src/config.yaml:5:19: train_start_date: "2023-02-30 00:00:00": day is out of range for month (write it in date_format "%Y-%m-%d %H:%M:%S", e.g. train_start_date: "2023-01-09 00:00:00")`,
		`src/config.yaml:9:18: mlflow.target_metric: unknown metric "acc": posml cannot tell whether larger is better (use one of accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc, training_accuracy_score, training_f1_score, training_log_loss, training_precision_score, training_recall_score, training_score, mean_squared_error, r2_score. For a metric of your own, also set mlflow.target_metric_direction: maximize or minimize)`,
		`src/config.yaml:10:17: mlflow.tracking_uri: "ftp://x" is not an http or https URL (use the tracking server's http(s) URL, e.g. http://mlflow.example.com:5000, or leave it out: the platform sets it)`,
		`src/config.yaml:11:10: retries: must be an integer, not the string "many" (write an integer, e.g. retries: 1)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDiagnosticFields(t *testing.T) {
	_, diags, err := Load(writeProject(t, doc("time_zone: Asia/Seol"), ""))
	if err != nil {
		t.Fatal(err)
	}
	want := []posml.Diagnostic{{
		File: "src/config.yaml", Line: 3, Col: 12, Severity: posml.SeverityError, Rule: "time_zone",
		Msg: `unknown time zone "Asia/Seol"`, Fix: `did you mean "Asia/Seoul"?`,
	}}
	if diff := cmp.Diff(want, diags); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// FuzzParse checks that no file content makes Load panic, and that every
// diagnostic is well formed.
func FuzzParse(f *testing.F) {
	f.Add([]byte(seedConfig), []byte(nil))
	f.Add([]byte(seedTemplate), []byte("mlflow:\n  tracking_uri: http://x\n"))
	f.Add([]byte("a: &x [*x, *x]\nb: {<<: *x}\n? [k]\n: v\n"), []byte("- 1\n"))
	f.Add([]byte(doc("model_name:\n- model_name:\n  - a: b\n- c", "catchup: on", "retries: 0x10")), []byte("mlflow: ~\n"))
	f.Fuzz(func(t *testing.T, user, system []byte) {
		c, diags := parse(user, system)
		if c == nil {
			t.Fatal("nil Config")
		}
		for _, d := range diags {
			if d.File != UserFile && d.File != SystemFile || d.Line < 0 || d.Rule == "" || d.Msg == "" {
				t.Fatalf("malformed diagnostic %+v", d)
			}
		}
	})
}
