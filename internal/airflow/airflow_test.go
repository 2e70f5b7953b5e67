package airflow

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	_ "time/tzdata" // zones independent of the host

	"github.com/posml/posml"
	"github.com/posml/posml/internal/projectconfig"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const python = "/usr/bin/python3"

// projects are the src/config.yaml files of the golden cases.
var projects = map[string]string{
	// The seed's example: trigger mode (the default), both pipelines daily in Seoul.
	"seed": `proj_name: e2e-pipeline-iris
model_name: e2e-pipeline-iris
mart_id: dm_f_20085_2212_142
time_zone: Asia/Seoul
date_format: "%Y-%m-%d %H:%M:%S"
train_start_date: "2023-01-09 00:00:00"
train_schedule_interval: "@daily"
train_trigger_start_date: "2023-01-09 00:00:00"
train_trigger_schedule_interval: "*/30 9-18 * * mon-fri"
mlflow:
  target_metric: accuracy_score
`,
	// Airflow 2 data intervals with catch-up and non-default retries and timeouts; no trigger.
	"interval": `proj_name: churn
model_name: churn
mart_id: dm_1
time_zone: America/New_York
train_start_date: "2024-03-01 06:30:00"
train_schedule_interval: "30 6 * * 1-5"
schedule_mode: interval
catchup: true
train_timeout: 2h
retries: 3
retry_delay: 5m
max_active_runs: 2
mlflow:
  target_metric: f1_score
`,
	// One run at the start date, in UTC; the trigger pipeline runs hourly.
	"once": `proj_name: oneshot
model_name: oneshot
mart_id: dm_2
train_start_date: "2025-06-01 12:00:00"
train_schedule_interval: "@once"
train_trigger_start_date: "2025-06-01 00:00:00"
train_trigger_schedule_interval: "@hourly"
trigger_timeout: 5m
trigger_poke_interval: 30s
mlflow:
  target_metric: accuracy_score
`,
}

func load(t *testing.T, yaml string) *projectconfig.Config {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "src", "config.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, diags, err := projectconfig.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diags {
		if d.Severity == posml.SeverityError {
			t.Fatalf("invalid test project: %s", d)
		}
	}
	return c
}

// renderAll renders every case into a fresh directory and returns it with the
// files' paths.
func renderAll(t *testing.T, name string) (string, []string) {
	t.Helper()
	files, err := Render(load(t, projects[name]))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var paths []string
	for _, f := range files {
		golden := filepath.Join("testdata", "golden", name, f.Name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, f.Source, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if !bytes.Equal(f.Source, want) {
			t.Errorf("%s differs from %s (run go test -update and review the diff):\n%s", f.Name, golden, f.Source)
		}
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, f.Source, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return dir, paths
}

func TestGolden(t *testing.T) {
	for name := range projects {
		t.Run(name, func(t *testing.T) { renderAll(t, name) })
	}
}

func needPython(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Skipf("%s not available", python)
	}
}

func TestPyCompile(t *testing.T) {
	needPython(t)
	for name := range projects {
		t.Run(name, func(t *testing.T) {
			_, paths := renderAll(t, name)
			for _, p := range paths {
				out, err := exec.Command(python, "-m", "py_compile", p).CombinedOutput()
				if err != nil {
					t.Errorf("py_compile %s: %v\n%s", filepath.Base(p), err, out)
				}
			}
		})
	}
}

type schedJSON struct {
	Kind     string  `json:"kind"`
	Value    *string `json:"value"`
	Cron     string  `json:"cron"`
	Timezone string  `json:"timezone"`
}

type taskJSON struct {
	TaskID      string   `json:"task_id"`
	Type        string   `json:"type"`
	BashCommand string   `json:"bash_command"`
	Upstream    []string `json:"upstream"`
}

type dagJSON struct {
	DagID            string     `json:"dag_id"`
	StartDate        string     `json:"start_date"`
	Timezone         string     `json:"timezone"`
	Schedule         schedJSON  `json:"schedule"`
	Catchup          bool       `json:"catchup"`
	MaxActiveRuns    int        `json:"max_active_runs"`
	Retries          int        `json:"retries"`
	RetryDelay       float64    `json:"retry_delay_s"`
	ExecutionTimeout float64    `json:"execution_timeout_s"`
	Tasks            []taskJSON `json:"tasks"`
}

func inspect(t *testing.T, paths []string) map[string]dagJSON {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "inspect_dags.py"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, append([]string{"-B", script}, paths...)...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("inspect_dags.py: %v\n%s", err, stderr.String())
	}
	var dags []dagJSON
	if err := json.Unmarshal(out, &dags); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := map[string]dagJSON{}
	for _, d := range dags {
		m[d.DagID] = d
	}
	if len(m) != len(paths) {
		t.Fatalf("%d DAG files built %d DAGs: %s", len(paths), len(m), out)
	}
	return m
}

func TestImportWithStubAirflow(t *testing.T) {
	needPython(t)
	const url = " --url '{{ var.value.posml_url }}'"
	cases := []struct {
		project string
		want    []dagJSON
	}{
		{"seed", []dagJSON{
			{DagID: "e2e-pipeline-iris-train-pipeline", StartDate: "2023-01-09T00:00:00+09:00", Timezone: "Asia/Seoul",
				Schedule:      schedJSON{Kind: "CronTriggerTimetable", Cron: "0 0 * * *", Timezone: "Asia/Seoul"},
				MaxActiveRuns: 1, Retries: 1, RetryDelay: 120, ExecutionTimeout: 2*3600 + 120,
				Tasks: []taskJSON{{TaskID: "train", Type: "BashOperator", BashCommand: "posml run e2e-pipeline-iris --pipeline train --wait" + url}}},
			{DagID: "e2e-pipeline-iris-train-pipeline-trigger", StartDate: "2023-01-09T00:00:00+09:00", Timezone: "Asia/Seoul",
				Schedule:      schedJSON{Kind: "CronTriggerTimetable", Cron: "*/30 9-18 * * mon-fri", Timezone: "Asia/Seoul"},
				MaxActiveRuns: 1, Retries: 1, RetryDelay: 120, ExecutionTimeout: 60 + 2*3600 + 120,
				Tasks: []taskJSON{{TaskID: "train_trigger", Type: "BashOperator", BashCommand: "posml run e2e-pipeline-iris --pipeline trigger --wait" + url}}},
		}},
		{"interval", []dagJSON{
			{DagID: "churn-train-pipeline", StartDate: "2024-03-01T06:30:00-05:00", Timezone: "America/New_York",
				Schedule: schedJSON{Kind: "CronDataIntervalTimetable", Cron: "30 6 * * 1-5", Timezone: "America/New_York"},
				Catchup:  true, MaxActiveRuns: 2, Retries: 3, RetryDelay: 300, ExecutionTimeout: 4*7200 + 3*300,
				Tasks: []taskJSON{{TaskID: "train", Type: "BashOperator", BashCommand: "posml run churn --pipeline train --wait" + url}}},
		}},
		{"once", []dagJSON{
			{DagID: "oneshot-train-pipeline", StartDate: "2025-06-01T12:00:00+00:00", Timezone: "UTC",
				Schedule:      schedJSON{Kind: "preset", Value: ptr("@once")},
				MaxActiveRuns: 1, Retries: 1, RetryDelay: 120, ExecutionTimeout: 2*3600 + 120,
				Tasks: []taskJSON{{TaskID: "train", Type: "BashOperator", BashCommand: "posml run oneshot --pipeline train --wait" + url}}},
			{DagID: "oneshot-train-pipeline-trigger", StartDate: "2025-06-01T00:00:00+00:00", Timezone: "UTC",
				Schedule:      schedJSON{Kind: "CronTriggerTimetable", Cron: "0 * * * *", Timezone: "UTC"},
				MaxActiveRuns: 1, Retries: 1, RetryDelay: 120, ExecutionTimeout: 300 + 2*3600 + 120,
				Tasks: []taskJSON{{TaskID: "train_trigger", Type: "BashOperator", BashCommand: "posml run oneshot --pipeline trigger --wait" + url}}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.project, func(t *testing.T) {
			_, paths := renderAll(t, tc.project)
			got := inspect(t, paths)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d DAGs, want %d", len(got), len(tc.want))
			}
			for _, w := range tc.want {
				g, ok := got[w.DagID]
				if !ok {
					t.Errorf("no DAG %s", w.DagID)
					continue
				}
				for i := range g.Tasks {
					if g.Tasks[i].Upstream == nil || len(g.Tasks[i].Upstream) == 0 {
						g.Tasks[i].Upstream = nil
					}
				}
				gj, _ := json.MarshalIndent(g, "", " ")
				wj, _ := json.MarshalIndent(w, "", " ")
				if string(gj) != string(wj) {
					t.Errorf("DAG %s:\ngot  %s\nwant %s", w.DagID, gj, wj)
				}
			}
		})
	}
}

func TestNoTriggerDAGWithoutTriggerSchedule(t *testing.T) {
	files, err := Render(load(t, projects["interval"]))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Name != "churn_train_pipeline.py" {
		t.Fatalf("files = %v", files)
	}
}

func TestCommandQuotes(t *testing.T) {
	if got := Command("a b", "train"); !strings.HasPrefix(got, "posml run 'a b' --pipeline train --wait") {
		t.Errorf("Command = %q", got)
	}
}

func ptr(s string) *string { return &s }
