package projectconfig

import "time"

// The files of a project's configuration, relative to its root.
const (
	UserFile   = "src/config.yaml" // written by the user
	SystemFile = "config.yaml"     // optional; written by the platform, merged over UserFile
)

// Defaults of the optional fields.
const (
	DefaultTimeZone            = "UTC"
	DefaultDateFormat          = "%Y-%m-%d %H:%M:%S"
	DefaultTrainTimeout        = 60 * time.Minute
	DefaultRetries             = 1
	DefaultRetryDelay          = 2 * time.Minute
	DefaultTriggerTimeout      = 60 * time.Second
	DefaultTriggerPokeInterval = 10 * time.Second
	DefaultMaxActiveRuns       = 1
)

// topLevelKeys are the fields of the document, in the order the template
// lists them, then posml's own optional ones.
var topLevelKeys = []string{
	"proj_name", "model_name", "mart_id", "time_zone", "date_format",
	"train_start_date", "train_schedule_interval",
	"train_trigger_start_date", "train_trigger_schedule_interval",
	"mlflow",
	"schedule_mode", "catchup", "train_timeout", "retries", "retry_delay",
	"trigger_timeout", "trigger_poke_interval", "max_active_runs",
	"executor",
}

// mlflowKeys are the fields of the mlflow: mapping.
var mlflowKeys = []string{
	"target_metric", "target_metric_direction", "tracking_uri", "experiment_name", "register_model", "auto_alias",
}

// renamedKeys maps names people plausibly write, too far from the real name
// for an edit-distance suggestion, to the field they mean.
var renamedKeys = map[string]string{
	"trigger_start_date":        "train_trigger_start_date",
	"trigger_schedule_interval": "train_trigger_schedule_interval",
	"start_date":                "train_start_date",
	"schedule_interval":         "train_schedule_interval",
	"schedule":                  "train_schedule_interval",
	"schedule_semantics":        "schedule_mode",
	"timezone":                  "time_zone",
	"tz":                        "time_zone",
	"project_name":              "proj_name",
	"model_names":               "model_name",
	"timeout":                   "train_timeout",
	"retry":                     "retries",
}

// examples show a valid value of each field, for the fixes of
// diagnostics.
var examples = map[string]string{
	"proj_name":                       "proj_name: e2e-pipeline-iris",
	"model_name":                      "model_name: knn-model",
	"mart_id":                         "mart_id: dm_f_20085_2212_142",
	"time_zone":                       "time_zone: Asia/Seoul",
	"date_format":                     `date_format: "%Y-%m-%d %H:%M:%S"`,
	"train_start_date":                `train_start_date: "2023-01-09 00:00:00"`,
	"train_schedule_interval":         `train_schedule_interval: "@daily"`,
	"train_trigger_start_date":        `train_trigger_start_date: "2023-01-09 00:00:00"`,
	"train_trigger_schedule_interval": `train_trigger_schedule_interval: "@daily"`,
	"mlflow.target_metric":            "target_metric: accuracy_score",
	"mlflow.target_metric_direction":  "target_metric_direction: maximize",
	"mlflow.tracking_uri":             "tracking_uri: http://mlflow.example.com:5000",
	"mlflow.experiment_name":          "experiment_name: e2e-pipeline-iris",
	"mlflow.register_model":           "register_model: knn-model",
	"mlflow.auto_alias":               "auto_alias: true",
	"schedule_mode":                   "schedule_mode: interval",
	"catchup":                         "catchup: false",
	"train_timeout":                   "train_timeout: 90m",
	"retries":                         "retries: 1",
	"retry_delay":                     "retry_delay: 2m",
	"trigger_timeout":                 "trigger_timeout: 60s",
	"trigger_poke_interval":           "trigger_poke_interval: 10s",
	"max_active_runs":                 "max_active_runs: 1",
	"executor.image":                  "image: registry.example.com/ml/iris:1.4",
	"executor.partition":              "partition: gpu",
	"executor.resources.gpu":          "gpu: 1",
}
