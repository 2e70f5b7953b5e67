package kube

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestUnpackScript runs the init container's program, as the Job gives it,
// with a real python3 on a bundle of a temporary project.
func TestUnpackScript(t *testing.T) {
	python, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Skip("no /usr/bin/python3")
	}
	dir := project(t)
	outside := filepath.Join(t.TempDir(), "shared.py")
	must(t, os.WriteFile(outside, []byte("SHARED = 1\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(t, os.Symlink("src/train.py", filepath.Join(dir, "train-link.py"))) // stays a link
	must(t, os.Symlink(outside, filepath.Join(dir, "src", "shared.py")))     // copied
	must(t, os.MkdirAll(filepath.Join(dir, "src", "__pycache__"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "src", "__pycache__", "x.pyc"), []byte("junk"), 0o644))

	bundle, err := makeBundle(dir, DefaultMaxBundle)
	if err != nil {
		t.Fatalf("makeBundle: %v", err)
	}
	tmp := t.TempDir()
	path := filepath.Join(tmp, bundleKey)
	must(t, os.WriteFile(path, bundle, 0o444))
	dest := filepath.Join(tmp, "workspace")
	must(t, os.Mkdir(dest, 0o777))

	b, _ := fakeBackend(Config{Python: python})
	s := testSpec(t)
	a, err := b.render(s, bundle)
	if err != nil {
		t.Fatal(err)
	}
	args := a.job.Spec.Template.Spec.InitContainers[0].Command
	args = append(args[:len(args)-2:len(args)-2], path, dest) // the pod's paths, here
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", args[0], err, out)
	}

	for name, want := range map[string]string{
		"src/train.py":                 "print('training')\n",
		"config.yaml":                  "run_id: 42\n",
		".posml/sdk/posml/__init__.py": "",
		"train-link.py":                "print('training')\n",
		"src/shared.py":                "SHARED = 1\n",
	} {
		got, err := os.ReadFile(filepath.Join(dest, name))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if l, err := os.Readlink(filepath.Join(dest, "train-link.py")); err != nil || l != "src/train.py" {
		t.Errorf("train-link.py links to %q, %v; want src/train.py", l, err)
	}
	if fi, err := os.Stat(filepath.Join(dest, "run.sh")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("run.sh: %v, %v; want executable", fi, err)
	}
	for _, gone := range []string{".git", "src/__pycache__"} {
		if _, err := os.Stat(filepath.Join(dest, gone)); !os.IsNotExist(err) {
			t.Errorf("%s was bundled", gone)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
