package executor

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkStartWait measures posml's overhead per attempt: Local's
// Start→Wait (log file, header and footer, pipe pump, process group,
// group clean-up) against a bare exec.Cmd.Run of the same program with
// output discarded, for `python3 -c pass` and for /bin/true (where nearly
// all of the time is the executor's own).
func BenchmarkStartWait(b *testing.B) {
	py := python(b)
	for _, prog := range []struct {
		name string
		path string
		args []string
	}{
		{"python", py, []string{"-c", "pass"}},
		{"true", "/bin/true", nil},
	} {
		b.Run(prog.name+"/raw", func(b *testing.B) {
			for b.Loop() {
				cmd := exec.Command(prog.path, prog.args...)
				cmd.Env = baseEnv()
				if err := cmd.Run(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(prog.name+"/local", func(b *testing.B) {
			dir := b.TempDir()
			l := &Local{}
			i := 0
			for b.Loop() {
				i++
				h, err := l.Start(context.Background(), Spec{
					AttemptID: fmt.Sprint(i), Dir: dir, Python: prog.path, Args: prog.args, Env: baseEnv(),
					LogPath: filepath.Join(dir, fmt.Sprint(i%16), "attempt.log"),
				})
				if err != nil {
					b.Fatal(err)
				}
				if r := h.Wait(); r.State != Succeeded {
					b.Fatalf("%+v", r)
				}
			}
		})
	}
}
