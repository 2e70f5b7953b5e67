package slurm

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml/internal/executor"
)

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"/usr/bin/python3", "/usr/bin/python3"},
		{"A=b:c", "A=b:c"},
		{"", "''"},
		{"two words", "'two words'"},
		{"it's", `'it'\''s'`},
		{"$HOME", "'$HOME'"},
	}
	for _, tt := range tests {
		if got := quote(tt.in); got != tt.want {
			t.Errorf("quote(%q) = %s; want %s", tt.in, got, tt.want)
		}
	}
}

// TestScript runs the rendered job.sh with /bin/sh: the command sees
// exactly the given environment plus the passthrough variables set around
// it, whatever the values hold.
func TestScript(t *testing.T) {
	dir := t.TempDir()
	env := []string{
		"PATH=/usr/bin:/bin",
		"TOKEN=se cret 'quoted' \"double\" $HOME `date` \\ end",
		"MULTI=line one\nline two",
		"EMPTY=",
		"CUDA_VISIBLE_DEVICES=set-by-posml",
	}
	out := filepath.Join(dir, "env.out")
	s := script("a 1", dir, "/bin/sh", []string{"-c", `env > "$1"; printf '%s\n' "$PWD"`, "sh", out}, env)
	path := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(path, []byte(s), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", path)
	cmd.Dir = "/"
	cmd.Env = []string{"SLURM_JOB_ID=42", "CUDA_VISIBLE_DEVICES=0", "LEAK=posml's own", "HOME=/root"}
	pwd, err := cmd.Output()
	if err != nil {
		t.Fatalf("job.sh: %v\n%s", err, s)
	}
	if got := strings.TrimSpace(string(pwd)); got != dir {
		t.Errorf("working directory %q; want %q", got, dir)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, kv := range append(env[:4:4], "SLURM_JOB_ID=42", "CUDA_VISIBLE_DEVICES=0") {
		if !strings.Contains(got, kv+"\n") {
			t.Errorf("environment lacks %q:\n%s", kv, got)
		}
	}
	for _, bad := range []string{"LEAK=", "HOME=", "set-by-posml"} {
		if strings.Contains(got, bad) {
			t.Errorf("environment has %q:\n%s", bad, got)
		}
	}
}

func TestSbatchArgs(t *testing.T) {
	s := executor.Spec{
		Timeout: 90 * time.Second,
		Placement: executor.Placement{
			GPU: 2, CPU: "500m", Memory: "4Gi",
			ExtraArgs: []string{"--qos=high", "--account=ml"},
		},
	}
	got, err := sbatchArgs(s, "a1", "gpu", "/shared/a1", "/shared/a1/work")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"--parsable", "--no-requeue", "--export=NONE", "--job-name=posml-a1",
		"--chdir=/shared/a1/work", "--output=/shared/a1/out.log", "--open-mode=append",
		"--partition=gpu", "--time=3", "--gres=gpu:2", "--cpus-per-task=1", "--mem=4096M",
		"--qos=high", "--account=ml", "--wrap=exec /bin/sh /shared/a1/job.sh",
	}
	if !slices.Equal(got, want) {
		t.Errorf("sbatchArgs =\n%q\nwant\n%q", got, want)
	}

	got, err = sbatchArgs(executor.Spec{}, "a1", "", "/s/a 1", "/s/a 1/work")
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		"--parsable", "--no-requeue", "--export=NONE", "--job-name=posml-a1",
		"--chdir=/s/a 1/work", "--output=/s/a 1/out.log", "--open-mode=append",
		"--wrap=exec /bin/sh '/s/a 1/job.sh'",
	}
	if !slices.Equal(got, want) {
		t.Errorf("sbatchArgs (no placement) =\n%q\nwant\n%q", got, want)
	}

	for _, p := range []executor.Placement{{CPU: "two"}, {Memory: "-1Gi"}, {GPU: -1}, {Memory: "1/2"}} {
		if _, err := sbatchArgs(executor.Spec{Placement: p}, "a", "", "/", "/"); err == nil {
			t.Errorf("sbatchArgs(%+v): no error", p)
		}
	}
}

func TestTimeLimit(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int64
	}{
		{2 * time.Second, 2}, {time.Minute, 2}, {61 * time.Second, 3}, {time.Hour, 61},
	}
	for _, tt := range tests {
		if got := timeLimit(tt.d); got != tt.want {
			t.Errorf("timeLimit(%v) = %d; want %d", tt.d, got, tt.want)
		}
	}
}

func TestQuantities(t *testing.T) {
	cpuTests := []struct {
		in   string
		want int64
	}{
		{"2", 2}, {"500m", 1}, {"1500m", 2}, {"1.5", 2}, {"0", 1}, {"4", 4}, {"2000m", 2},
	}
	for _, tt := range cpuTests {
		if got, err := cpus(tt.in); err != nil || got != tt.want {
			t.Errorf("cpus(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	memTests := []struct {
		in   string
		want int64
	}{
		{"4Gi", 4096}, {"512Mi", 512}, {"1Ti", 1 << 20}, {"512M", 489}, {"1G", 954},
		{"1048576", 1}, {"1", 1}, {"1.5Gi", 1536}, {"100Ki", 1},
	}
	for _, tt := range memTests {
		if got, err := mebibytes(tt.in); err != nil || got != tt.want {
			t.Errorf("mebibytes(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a1", "a1"},
		{"run-12/step train#3", "run-12_step_train_3"},
		{"", "attempt"},
		{"../x", "_x"},
		{"..", "attempt"},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in); got != tt.want {
			t.Errorf("sanitize(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestRewriteEnv(t *testing.T) {
	env := []string{
		"PYTHONPATH=/home/p/proj/.posml/sdk",
		"LIST=/x:/home/p/proj:/y",
		"OTHER=/home/p/project/x",
		"EXACT=/home/p/proj",
		"NOPE",
	}
	got := rewriteEnv(env, "/home/p/proj", "/shared/a1/work")
	want := []string{
		"PYTHONPATH=/shared/a1/work/.posml/sdk",
		"LIST=/x:/shared/a1/work:/y",
		"OTHER=/home/p/project/x",
		"EXACT=/shared/a1/work",
		"NOPE",
	}
	if !slices.Equal(got, want) {
		t.Errorf("rewriteEnv =\n%q\nwant\n%q", got, want)
	}
}

func TestWithin(t *testing.T) {
	tests := []struct {
		path, dir string
		want      bool
	}{
		{"/s/a", "/s", true}, {"/s", "/s", true}, {"/sx/a", "/s", false}, {"/t", "/s", false},
		{"/s/..x", "/s", true},
	}
	for _, tt := range tests {
		if got := within(tt.path, tt.dir); got != tt.want {
			t.Errorf("within(%q, %q) = %v; want %v", tt.path, tt.dir, got, tt.want)
		}
	}
}

func TestCopyTree(t *testing.T) {
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, ".posml", "sdk"), 0o755))
	must(os.WriteFile(filepath.Join(src, ".posml", "sdk", "posml.py"), []byte("x = 1\n"), 0o644))
	must(os.WriteFile(filepath.Join(src, "run.sh"), []byte("#!/bin/sh\n"), 0o750))
	must(os.Symlink("run.sh", filepath.Join(src, "link")))
	dst := filepath.Join(t.TempDir(), "work")
	must(copyTree(src, dst))

	b, err := os.ReadFile(filepath.Join(dst, ".posml", "sdk", "posml.py"))
	if err != nil || string(b) != "x = 1\n" {
		t.Errorf("copied sdk = %q, %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(dst, "run.sh")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("run.sh mode = %v, %v; want 0750", fi.Mode(), err)
	}
	if l, err := os.Readlink(filepath.Join(dst, "link")); err != nil || l != "run.sh" {
		t.Errorf("link = %q, %v", l, err)
	}
}

func TestMakeAttemptDir(t *testing.T) {
	shared := t.TempDir()
	d1, n1, err := makeAttemptDir(shared, "a1")
	if err != nil {
		t.Fatal(err)
	}
	d2, n2, err := makeAttemptDir(shared, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if n1 != "a1" || n2 != "a1-2" || d2 != filepath.Join(shared, "a1-2") {
		t.Errorf("names %q %q (%s); want a1 a1-2", n1, n2, d2)
	}
	if fi, err := os.Stat(d1); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("mode %v, %v; want 0700", fi.Mode(), err)
	}
}
