package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testPython is the interpreter tests hand to posml: Debian's, which has the
// apt-installed packages (POSML_TEST_PYTHON overrides).
func testPython() string {
	if p := os.Getenv("POSML_TEST_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

// run runs the CLI in-process and returns its output and exit code.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string {
		if k == "POSML_PYTHON" {
			return testPython()
		}
		return ""
	}
	err := Run(context.Background(), args, strings.NewReader(""), &out, &errOut, getenv)
	return out.String(), errOut.String(), ExitCode(err)
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rerun with -update after checking)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// TestValidateCorpus runs `posml validate` on every project of
// testdata/projects and compares its output and exit status with the
// project's .golden file.
func TestValidateCorpus(t *testing.T) {
	dirs, _ := filepath.Glob("../../testdata/projects/*") // error only for a bad pattern
	n := 0
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		n++
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := run(t, "validate", dir, "--now", "2024-03-09T12:00:00Z")
			got := stdout + stderr + "exit status " + strconv.Itoa(code) + "\n"
			golden(t, dir+".golden", got)
			valid := strings.HasPrefix(name, "ok-")
			if valid != (code == 0) {
				t.Errorf("exit status %d; projects named ok-* must be valid and all others invalid", code)
			}
		})
	}
	if n < 30 {
		t.Errorf("corpus has %d projects; want at least 30", n)
	}
}
