package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func initProject(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if _, stderr, code := run(t, "init", name, "--dir", dir); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	return dir
}

func TestExportAirflow(t *testing.T) {
	dir := initProject(t, "demo")
	cfg, err := os.ReadFile(filepath.Join(dir, "src", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "\ntrain_trigger_schedule_interval: \"") {
		t.Fatal("the init template has no trigger schedule")
	}
	for _, args := range [][]string{{dir}, {"--project-dir", dir}} {
		out := filepath.Join(t.TempDir(), "dags")
		stdout, stderr, code := run(t, append(append([]string{"export", "airflow"}, args...), "--out", out)...)
		if code != 0 {
			t.Fatalf("export %v: exit %d\n%s%s", args, code, stdout, stderr)
		}
		want := []string{"demo_train_pipeline.py", "demo_train_pipeline_trigger.py"}
		entries, _ := os.ReadDir(out)
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("export wrote %v; want %v", got, want)
		}
		for _, name := range want {
			p := filepath.Join(out, name)
			if !strings.Contains(stdout, p) {
				t.Errorf("stdout does not list %s:\n%s", p, stdout)
			}
			src, _ := os.ReadFile(p)
			if !strings.Contains(string(src), "posml run demo --pipeline ") {
				t.Errorf("%s does not run the pipeline through posml:\n%s", name, src)
			}
			if o, err := exec.Command(testPython(), "-m", "py_compile", p).CombinedOutput(); err != nil {
				t.Errorf("py_compile %s: %v\n%s", name, err, o)
			}
		}
	}
}

func TestExportAirflowRefusesInvalidProject(t *testing.T) {
	dir := initProject(t, "demo")
	p := filepath.Join(dir, "src", "config.yaml")
	cfg, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(cfg), "\ntime_zone: ", "\ntime_zone: Mars/Olympus_Mons\nold_time_zone: ", 1)
	if bad == string(cfg) {
		t.Fatal("the init template has no time_zone")
	}
	if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "dags")
	_, stderr, code := run(t, "export", "airflow", dir, "--out", out)
	if code != 1 {
		t.Fatalf("exit %d; want 1\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "time_zone") || !strings.Contains(stderr, "not valid") {
		t.Errorf("stderr does not show the diagnostics:\n%s", stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("an invalid project wrote %s", out)
	}
}

func TestExportAirflowUsage(t *testing.T) {
	for _, args := range [][]string{
		{"export", "airflow"},
		{"export", "airflow", "a", "--project-dir", "b"},
		{"export", "airflow", "a", "b"},
	} {
		if _, stderr, code := run(t, args...); code != 2 {
			t.Errorf("%v: exit %d; want 2\n%s", args, code, stderr)
		}
	}
}
