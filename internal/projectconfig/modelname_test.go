package projectconfig

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestModelNames(t *testing.T) {
	tests := []struct {
		name      string
		modelName string // the model_name block
		want      []string
		wantDiags []string
	}{
		{"one name", "model_name: knn", []string{"knn"}, nil},
		{"quoted", `model_name: "knn model"`, []string{"knn model"}, nil},
		{"absent: proj_name", "-model_name", []string{"iris"}, nil},
		{"empty: proj_name", "model_name:", []string{"iris"}, nil},
		{"flow list", "model_name: [knn_1, knn_2]", []string{"knn_1", "knn_2"}, nil},
		{"block list", "model_name:\n  - knn_1\n  - knn_2", []string{"knn_1", "knn_2"}, nil},
		{"list of one-key mappings", "model_name:\n  - model_name_1: \"knn_model_1\"\n  - model_name_2: \"knn_model_2\"",
			[]string{"knn_model_1", "knn_model_2"}, nil},
		{"the guide's nested form", "model_name:\n  - model_name:\n    - model_name_1: \"knn_model_1\"\n    - model_name_2: \"knn_model_2\"",
			[]string{"knn_model_1", "knn_model_2"}, nil},
		{"the nested form, flow style", "model_name:\n  - model_name: [{model_name_1: knn_model_1}, {model_name_2: knn_model_2}]",
			[]string{"knn_model_1", "knn_model_2"}, nil},
		{"a mapping of labels", "model_name:\n  model_name_1: knn_model_1\n  model_name_2: knn_model_2",
			[]string{"knn_model_1", "knn_model_2"}, nil},
		{"two labels in one item", "model_name:\n  - model_name_1: a\n    model_name_2: b\n  - c",
			[]string{"a", "b", "c"}, nil},
		{"mixed forms keep their order", "model_name:\n  - z\n  - model_name_1: a\n  - model_name: [m]",
			[]string{"z", "a", "m"}, nil},
		{"duplicate", "model_name:\n  - model_name_1: knn\n  - model_name_2: knn", []string{"knn"}, []string{
			`src/config.yaml:4:19: model_name: model name "knn" is listed twice (first at line 3) (remove one of them)`}},
		{"empty entry", "model_name:\n  - knn\n  -", []string{"knn"}, []string{
			`src/config.yaml:4:4: model_name: a model name is empty (write the model's name, or delete the empty entry)`}},
		{"empty label", "model_name:\n  - model_name_1:", nil, []string{
			`src/config.yaml:3:18: model_name: a model name is empty (write the model's name, or delete the empty entry)`}},
		{"a number", "model_name: [knn, 7]", []string{"knn"}, []string{
			`src/config.yaml:2:19: model_name: a model name must be a string, but YAML reads 7 as an integer (quote it: "7")`}},
		{"nested list", "model_name: [[a, b]]", nil, []string{
			`src/config.yaml:2:14: model_name: a list inside the list of model names (write the names as one flat list)`}},
		{"label with a list", "model_name:\n  - model_name_1: [a]", nil, []string{
			`src/config.yaml:3:19: model_name: a model name must be a string, not a list (write one name per entry)`}},
		{"empty list", "model_name: []", nil, []string{
			`src/config.yaml:2:13: model_name: lists no model names (write at least one model name, or delete model_name to use proj_name)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := load(t, doc(tt.modelName), "")
			if diff := cmp.Diff(tt.want, c.ModelNames); diff != "" {
				t.Errorf("ModelNames (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantDiags, diags); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

func TestModelNamesDefaults(t *testing.T) {
	c, _ := load(t, doc("model_name: [first, second]"), "")
	if c.MLflow.RegisterModel != "first" || c.MLflow.ExperimentName != "iris" {
		t.Errorf("MLflow = %+v; want RegisterModel first (the first model) and ExperimentName iris (proj_name)", c.MLflow)
	}
	if _, ok := c.Merged["model_name"].([]any); !ok {
		t.Errorf("Merged[model_name] = %#v; want the list as written", c.Merged["model_name"])
	}
}
