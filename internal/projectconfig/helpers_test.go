package projectconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	_ "time/tzdata" // zones independent of the host
)

// seedConfig is the example src/config.yaml of the seed guide, verbatim.
const seedConfig = `# common
proj_name: e2e-pipeline-iris
model_name: e2e-pipeline-iris

# Data Management
mart_id: dm_f_20085_2212_142

# workflow management
time_zone: Asia/Seoul
date_format: "%Y-%m-%d %H:%M:%S"

train_start_date: "2023-01-09 00:00:00"
train_schedule_interval: "@daily"

train_trigger_start_date: "2023-01-09 00:00:00"
train_trigger_schedule_interval: "@daily"

# train management
mlflow:
  target_metric: accuracy_score
`

// seedTemplate is the blank src/config.yaml of the seed guide, verbatim.
const seedTemplate = `# common
proj_name:
model_name:

# Data Management
mart_id:

# workflow management
time_zone:
date_format:

train_start_date:
train_schedule_interval:

train_trigger_start_date:
train_trigger_schedule_interval:

# train management
mlflow:
  target_metric:
`

// writeProject makes a project directory holding src/config.yaml (unless
// user is "-") and, when system is not "", config.yaml.
func writeProject(t *testing.T, user, system string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	if user != "-" {
		if err := os.WriteFile(filepath.Join(dir, "src", "config.yaml"), []byte(user), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if system != "" {
		if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(system), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// load loads a project made of user and system and returns the config and
// its diagnostics as formatted lines.
func load(t *testing.T, user, system string) (*Config, []string) {
	t.Helper()
	c, diags, err := Load(writeProject(t, user, system))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c == nil {
		t.Fatal("Load returned a nil Config without an error")
	}
	var lines []string
	for _, d := range diags {
		lines = append(lines, d.String())
	}
	return c, lines
}

// baseBlocks is a small valid config, one block per top-level key, so that
// the line of each field is known: proj_name on line 1 ... mlflow on 7-8.
var baseBlocks = [][2]string{
	{"proj_name", "proj_name: iris"},
	{"model_name", "model_name: knn"},
	{"time_zone", "time_zone: Asia/Seoul"},
	{"date_format", `date_format: "%Y-%m-%d %H:%M:%S"`},
	{"train_start_date", `train_start_date: "2023-01-09 00:00:00"`},
	{"train_schedule_interval", `train_schedule_interval: "@daily"`},
	{"mlflow", "mlflow:\n  target_metric: accuracy_score"},
}

// doc returns the base config with blocks replaced: each change is a block
// whose first key names the block it replaces (or is appended), or "-key"
// to drop that block.
func doc(changes ...string) string {
	blocks := append([][2]string(nil), baseBlocks...)
	for _, c := range changes {
		if key, ok := strings.CutPrefix(c, "-"); ok {
			for i, b := range blocks {
				if b[0] == key {
					blocks = append(blocks[:i], blocks[i+1:]...)
					break
				}
			}
			continue
		}
		key, _, _ := strings.Cut(c, ":")
		replaced := false
		for i, b := range blocks {
			if b[0] == key {
				blocks[i][1] = c
				replaced = true
			}
		}
		if !replaced {
			blocks = append(blocks, [2]string{key, c})
		}
	}
	var b strings.Builder
	for _, bl := range blocks {
		b.WriteString(bl[1])
		b.WriteByte('\n')
	}
	return b.String()
}
