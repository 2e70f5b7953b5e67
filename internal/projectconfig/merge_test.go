package projectconfig

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMerge checks that config.yaml is merged over src/config.yaml as the
// project's config.py does: mappings key by key, everything else replaced.
func TestMerge(t *testing.T) {
	user := doc(
		"model_name: [a, b]",
		"mlflow:\n  target_metric: accuracy_score\n  experiment_name: mine",
		"extra:\n  keep: 1\n  deep: {x: 1, y: 2}\n  list: [1, 2]\n  gone: 3",
	)
	system := `mlflow:
  tracking_uri: http://mlflow.internal:5000
  experiment_name: iris-exp
  register_model: iris-model
model_name: [z]
extra:
  deep: {y: 20, z: 30}
  list: [9]
  gone: ~
minio:
  access_key: k
`
	c, diags := load(t, user, system)
	if len(diags) != 1 || diags[0] != `src/config.yaml:10:1: warning: extra: unknown key; posml does not use it (remove it, unless your own code reads it)` {
		t.Errorf("diagnostics = %q; want only the warning about extra (none about the system file's minio)", diags)
	}
	wantMerged := map[string]any{
		"proj_name":               "iris",
		"model_name":              []any{"z"}, // lists are replaced, not joined
		"time_zone":               "Asia/Seoul",
		"date_format":             "%Y-%m-%d %H:%M:%S",
		"train_start_date":        "2023-01-09 00:00:00",
		"train_schedule_interval": "@daily",
		"mlflow": map[string]any{ // mappings merge
			"target_metric":   "accuracy_score",
			"experiment_name": "iris-exp", // a scalar is replaced
			"tracking_uri":    "http://mlflow.internal:5000",
			"register_model":  "iris-model",
		},
		"extra": map[string]any{
			"keep": 1,
			"deep": map[string]any{"x": 1, "y": 20, "z": 30}, // recursively
			"list": []any{9},
			"gone": nil, // a null replaces too
		},
		"minio": map[string]any{"access_key": "k"},
	}
	if diff := cmp.Diff(wantMerged, c.Merged); diff != "" {
		t.Errorf("Merged (-want +got):\n%s", diff)
	}
	wantMLflow := MLflow{
		TargetMetric: "accuracy_score", Direction: Maximize, TrackingURI: "http://mlflow.internal:5000",
		ExperimentName: "iris-exp", RegisterModel: "iris-model",
	}
	if diff := cmp.Diff(wantMLflow, c.MLflow); diff != "" {
		t.Errorf("MLflow (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"z"}, c.ModelNames); diff != "" {
		t.Errorf("ModelNames (-want +got):\n%s", diff)
	}
}

// TestMergeLocations checks that a diagnostic points at the file the
// effective value comes from.
func TestMergeLocations(t *testing.T) {
	tests := []struct {
		name, user, system string
		want               []string
	}{
		{"system value wrong", doc(), "time_zone: Asia/Seol\n", []string{
			`config.yaml:1:12: time_zone: unknown time zone "Asia/Seol" (did you mean "Asia/Seoul"?)`}},
		{"system fixes the user's value", doc("time_zone: Asia/Seol"), "time_zone: Asia/Seoul\n", nil},
		{"system empties a required value", doc(), "proj_name:\n", []string{
			`config.yaml:1:11: proj_name: is empty (write the project's name after the colon, e.g. proj_name: e2e-pipeline-iris)`}},
		{"system sets a nested value", doc(), "mlflow:\n  tracking_uri: localhost\n", []string{
			`config.yaml:2:17: mlflow.tracking_uri: "localhost" is not an http or https URL (use the tracking server's http(s) URL, e.g. http://mlflow.example.com:5000, or leave it out: the platform sets it)`}},
		{"system replaces the mlflow mapping", doc(), "mlflow: off\n", []string{
			`config.yaml:1:9: mlflow: must be a mapping, not a boolean (write its fields indented below it, e.g. mlflow: {target_metric: accuracy_score})`}},
		{"user's misspelt key overridden by the system", doc("hyper_k: 1"), "hyper_k: 2\n", []string{
			`src/config.yaml:9:1: warning: hyper_k: unknown key; posml does not use it (remove it, unless your own code reads it)`}},
		{"system file provides what the user omitted", doc("-time_zone"), "time_zone: UTC\n", nil},
		{"empty system file", doc(), "# written by the platform\n", nil},
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

func TestMergeDoesNotModifyItsArguments(t *testing.T) {
	user, _ := parseFile(UserFile, []byte("mlflow:\n  target_metric: f1_score\n"))
	system, _ := parseFile(SystemFile, []byte("mlflow:\n  tracking_uri: http://x\n"))
	before := user.python()
	merged := merge(user, system)
	if diff := cmp.Diff(before, user.python()); diff != "" {
		t.Errorf("merge changed the user document (-before +after):\n%s", diff)
	}
	want := map[string]any{"mlflow": map[string]any{"target_metric": "f1_score", "tracking_uri": "http://x"}}
	if diff := cmp.Diff(want, merged.python()); diff != "" {
		t.Errorf("merged (-want +got):\n%s", diff)
	}
}
