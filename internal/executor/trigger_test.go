package executor

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// header is the SRC_HOME header of the user guide.
const header = `import os
import sys

SRC_HOME = os.path.dirname(os.path.realpath(__file__))
if SRC_HOME not in sys.path:
    sys.path.append(SRC_HOME)
`

// runTrigger writes a project whose src/ holds files, runs the shim in it
// as the runner will (shim outside the checkout, conf in a JSON file), and
// returns the result, the parsed trigger result and the log.
func runTrigger(t *testing.T, files map[string]string, conf any, viaEnv bool) (Result, TriggerResult, error, string) {
	t.Helper()
	project := t.TempDir()
	for name, content := range files {
		p := filepath.Join(project, "src", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runDir := t.TempDir()
	shim, err := WriteTriggerShim(runDir)
	if err != nil {
		t.Fatal(err)
	}
	s := Spec{
		AttemptID: "trigger-1", Dir: project, Python: python(t), Args: []string{shim},
		Env: baseEnv(), Timeout: 20 * time.Second, LogPath: filepath.Join(runDir, "trigger.log"),
	}
	if conf != nil {
		b, err := json.Marshal(conf)
		if err != nil {
			t.Fatal(err)
		}
		if viaEnv {
			s.Env = append(s.Env, TriggerConfEnv+"="+string(b))
		} else {
			confPath := filepath.Join(runDir, "conf.json")
			if err := os.WriteFile(confPath, b, 0o600); err != nil {
				t.Fatal(err)
			}
			s.Args = append(s.Args, confPath)
		}
	}
	r := waitFor(t, start(t, s), 20*time.Second)
	f, err := os.Open(s.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, perr := ParseTriggerResult(f)
	return r, tr, perr, readLog(t, s)
}

var seedConf = map[string]any{
	"proj_name": "e2e-pipeline-iris", "model_name": "e2e-pipeline-iris", "mart_id": "dm_f_20085_2212_142",
	"time_zone": "Asia/Seoul", "date_format": "%Y-%m-%d %H:%M:%S",
	"mlflow": map[string]any{"target_metric": "accuracy_score"},
}

func TestTriggerShim(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]string
		conf      any
		viaEnv    bool
		want      TriggerResult
		wantInLog string
	}{
		{
			name: "true with the merged config",
			files: map[string]string{"train_trigger.py": header + `
def train_trigger(**kwargs):
    print("mart", kwargs["mart_id"], "metric", kwargs["mlflow"]["target_metric"])
    return kwargs["proj_name"] == "e2e-pipeline-iris"
`},
			conf:      seedConf,
			want:      TriggerResult{Value: true, Repr: "True"},
			wantInLog: "mart dm_f_20085_2212_142 metric accuracy_score",
		},
		{
			name: "false",
			files: map[string]string{"train_trigger.py": header + `
def train_trigger(**kwargs):
    return False
`},
			conf: seedConf,
			want: TriggerResult{Value: false, Repr: "False"},
		},
		{
			name: "truthiness of a non-bool",
			files: map[string]string{"train_trigger.py": `
def train_trigger(**kwargs):
    return [1, 2]
`},
			want: TriggerResult{Value: true, Repr: "[1, 2]"},
		},
		{
			name: "None is false",
			files: map[string]string{"train_trigger.py": `
def train_trigger(**kwargs):
    print("no return")
`},
			want: TriggerResult{Value: false, Repr: "None"},
		},
		{
			name: "no kwargs",
			files: map[string]string{"train_trigger.py": `
def train_trigger():
    return 1
`},
			conf: seedConf,
			want: TriggerResult{Value: true, Repr: "1"},
		},
		{
			name: "named parameters only",
			files: map[string]string{"train_trigger.py": `
def train_trigger(proj_name, time_zone="UTC"):
    return proj_name + "@" + time_zone
`},
			conf: seedConf,
			want: TriggerResult{Value: true, Repr: "'e2e-pipeline-iris@Asia/Seoul'"},
		},
		{
			name: "conf from the environment, Korean text",
			files: map[string]string{"train_trigger.py": `
def train_trigger(**kwargs):
    return kwargs.get("note") == "학습 트리거"
`},
			conf:   map[string]any{"note": "학습 트리거"},
			viaEnv: true,
			want:   TriggerResult{Value: true, Repr: "True"},
		},
		{
			name: "no config at all",
			files: map[string]string{"train_trigger.py": `
def train_trigger(**kwargs):
    return len(kwargs)
`},
			want: TriggerResult{Value: false, Repr: "0"},
		},
		{
			name: "imports a sibling module, output without newline",
			files: map[string]string{
				"train_trigger.py": header + `
from freshness import is_fresh

def train_trigger(**kwargs):
    sys.stdout.write("checking...")
    return is_fresh(kwargs["mart_id"])
`,
				"freshness.py": header + `
def is_fresh(mart_id):
    return mart_id.startswith("dm_")
`,
			},
			conf:      seedConf,
			want:      TriggerResult{Value: true, Repr: "True"},
			wantInLog: "checking...POSML_TRIGGER_RESULT",
		},
		{
			name: "the module's main guard does not run",
			files: map[string]string{"train_trigger.py": `
def train_trigger(**kwargs):
    return True

if __name__ == "__main__":
    raise SystemExit("main guard ran")
`},
			want: TriggerResult{Value: true, Repr: "True"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, got, err, log := runTrigger(t, tt.files, tt.conf, tt.viaEnv)
			if r.State != Succeeded || err != nil || got != tt.want {
				t.Fatalf("state %s, ParseTriggerResult = %+v, %v; want %+v\n%s", r.State, got, err, tt.want, log)
			}
			if !strings.Contains(log, tt.wantInLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantInLog, log)
			}
		})
	}
}

func TestTriggerShimFailures(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		conf  any
		want  []string // in the log
	}{
		{
			name: "exception with traceback",
			files: map[string]string{"train_trigger.py": `
def check(conf):
    return conf["no_such_key"]

def train_trigger(**kwargs):
    return check(kwargs)
`},
			want: []string{"Traceback (most recent call last):", `train_trigger.py", line 6, in train_trigger`, "KeyError: 'no_such_key'"},
		},
		{
			name:  "import error",
			files: map[string]string{"train_trigger.py": "import workbenchPy_missing\n"},
			want:  []string{"Traceback", "ModuleNotFoundError: No module named 'workbenchPy_missing'"},
		},
		{
			name:  "syntax error",
			files: map[string]string{"train_trigger.py": "def train_trigger(**kwargs)\n    return True\n"},
			want:  []string{"SyntaxError"},
		},
		{
			name:  "no function",
			files: map[string]string{"train_trigger.py": "def trigger(**kwargs):\n    return True\n"},
			want:  []string{"AttributeError: posml: src/train_trigger.py defines no function train_trigger"},
		},
		{
			name:  "no file",
			files: map[string]string{"train.py": "pass\n"},
			want:  []string{"FileNotFoundError: posml: src/train_trigger.py does not exist"},
		},
		{
			name: "ambiguous truth",
			files: map[string]string{"train_trigger.py": `
class Frame:
    def __bool__(self):
        raise ValueError("The truth value of a DataFrame is ambiguous.")

def train_trigger(**kwargs):
    return Frame()
`},
			want: []string{"ValueError: The truth value of a DataFrame is ambiguous."},
		},
		{
			name:  "config not an object",
			files: map[string]string{"train_trigger.py": "def train_trigger(**kwargs):\n    return True\n"},
			conf:  []string{"a"},
			want:  []string{"TypeError: posml: the trigger config must be a JSON object, not list"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, got, err, log := runTrigger(t, tt.files, tt.conf, false)
			if r.State != Failed || r.ExitCode != 1 {
				t.Errorf("Result = %+v; want failed with exit 1", r)
			}
			if !errors.Is(err, ErrNoTriggerResult) {
				t.Errorf("ParseTriggerResult = %+v, %v; want ErrNoTriggerResult", got, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(log, w) {
					t.Errorf("log lacks %q:\n%s", w, log)
				}
			}
		})
	}
}

func TestParseTriggerResult(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    TriggerResult
		wantErr bool
	}{
		{"plain", "POSML_TRIGGER_RESULT {\"value\": true, \"repr\": \"True\"}\n", TriggerResult{true, "True"}, false},
		{"last of several", "POSML_TRIGGER_RESULT {\"value\": true}\nlog\nPOSML_TRIGGER_RESULT {\"value\": false, \"repr\": \"0\"}\nposml: exit 0 after 50ms\n", TriggerResult{false, "0"}, false},
		{"mid-line, no final newline", "progress 99%POSML_TRIGGER_RESULT {\"value\": true}", TriggerResult{true, ""}, false},
		{"none", "posml: attempt x\nTraceback ...\n", TriggerResult{}, true},
		{"malformed", "POSML_TRIGGER_RESULT {value: yes}\n", TriggerResult{}, true},
		{"no value", "POSML_TRIGGER_RESULT {\"repr\": \"x\"}\n", TriggerResult{}, true},
		{"a long line before", strings.Repeat("x", 200000) + "\nPOSML_TRIGGER_RESULT {\"value\": true}\n", TriggerResult{true, ""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTriggerResult(strings.NewReader(tt.out))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseTriggerResult = %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if _, err := ParseTriggerResult(strings.NewReader("")); !errors.Is(err, ErrNoTriggerResult) {
		t.Errorf("empty output: %v", err)
	}
}

func TestTriggerShimSource(t *testing.T) {
	a := TriggerShim()
	a[0] = 'X'
	if b := TriggerShim(); b[0] == 'X' {
		t.Error("TriggerShim returns the embedded bytes, not a copy")
	}
}
