package slurm

import (
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/executor"
)

// passthrough names the variables Slurm sets for a job that the attempt's
// process gets besides Spec.Env, when Slurm set them: the job's identity,
// its allocation, and the GPUs it was given. It is never modified.
var passthrough = []string{
	"SLURM_JOB_ID", "SLURM_JOB_NAME", "SLURM_JOB_PARTITION", "SLURM_JOB_NODELIST",
	"SLURM_JOB_NUM_NODES", "SLURM_JOB_CPUS_PER_NODE", "SLURM_CPUS_ON_NODE",
	"SLURM_CPUS_PER_TASK", "SLURM_MEM_PER_NODE", "SLURM_MEM_PER_CPU",
	"SLURM_NODEID", "SLURM_PROCID", "SLURM_LOCALID", "SLURMD_NODENAME",
	"SLURM_CLUSTER_NAME", "SLURM_SUBMIT_DIR", "SLURM_SUBMIT_HOST",
	"SLURM_JOB_GPUS", "SLURM_GPUS_ON_NODE", "SLURM_STEP_GPUS",
	"CUDA_VISIBLE_DEVICES", "GPU_DEVICE_ORDINAL", "ROCR_VISIBLE_DEVICES", "ZE_AFFINITY_MASK",
}

// quote quotes s for a POSIX shell.
func quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// script renders job.sh: cd to dir, then exec python with args under
// exactly env plus the passthrough variables Slurm set.
func script(attemptID, dir, python string, args, env []string) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	fmt.Fprintf(&b, "# posml attempt %s, written by posml: it holds the attempt's environment.\n", oneLine(attemptID))
	fmt.Fprintf(&b, "cd %s || exit 1\n", quote(dir))
	b.WriteString("set --\n")
	b.WriteString("for n in " + strings.Join(passthrough, " ") + "; do\n")
	b.WriteString("  eval \"v=\\${$n-} s=\\${$n+1}\"\n")
	b.WriteString("  [ -n \"$s\" ] && set -- \"$@\" \"$n=$v\"\n")
	b.WriteString("done\n")
	b.WriteString("exec /usr/bin/env -i")
	for _, kv := range env {
		b.WriteString(" \\\n  " + quote(kv))
	}
	b.WriteString(" \\\n  \"$@\" \\\n  " + quote(python))
	for _, a := range args {
		b.WriteString(" " + quote(a))
	}
	b.WriteString("\n")
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// sbatchArgs are sbatch's arguments for an attempt: dir is its directory
// in the shared one, workDir its working directory.
func sbatchArgs(s executor.Spec, name, partition, dir, workDir string) ([]string, error) {
	args := []string{
		"--parsable", "--no-requeue", "--export=NONE",
		"--job-name=posml-" + name,
		"--chdir=" + workDir,
		"--output=" + filepath.Join(dir, "out.log"),
		"--open-mode=append",
	}
	if partition != "" {
		args = append(args, "--partition="+partition)
	}
	if s.Timeout > 0 {
		args = append(args, fmt.Sprintf("--time=%d", timeLimit(s.Timeout)))
	}
	p := s.Placement
	if p.GPU < 0 {
		return nil, invalid("executor: negative GPU count %d", p.GPU)
	}
	if p.GPU > 0 {
		args = append(args, fmt.Sprintf("--gres=gpu:%d", p.GPU))
	}
	if p.CPU != "" {
		n, err := cpus(p.CPU)
		if err != nil {
			return nil, err
		}
		args = append(args, fmt.Sprintf("--cpus-per-task=%d", n))
	}
	if p.Memory != "" {
		n, err := mebibytes(p.Memory)
		if err != nil {
			return nil, err
		}
		args = append(args, fmt.Sprintf("--mem=%dM", n))
	}
	args = append(args, p.ExtraArgs...)
	args = append(args, "--wrap=exec /bin/sh "+quote(filepath.Join(dir, "job.sh")))
	return args, nil
}

// timeLimit is Slurm's --time for a Spec.Timeout, in minutes: rounded up,
// plus a minute for posml's own timer to act first.
func timeLimit(d time.Duration) int64 {
	return int64(math.Ceil(d.Minutes())) + 1
}

func invalid(format string, a ...any) error {
	return &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf(format, a...)}
}

// quantity parses a Kubernetes quantity ("500m", "2", "1.5", "4Gi", "512M",
// "1e3") as an exact rational number.
func quantity(q string) (*big.Rat, error) {
	q = strings.TrimSpace(q)
	suffixes := []struct {
		s string
		m *big.Rat
	}{
		{"Ki", big.NewRat(1<<10, 1)}, {"Mi", big.NewRat(1<<20, 1)}, {"Gi", big.NewRat(1<<30, 1)},
		{"Ti", big.NewRat(1<<40, 1)}, {"Pi", big.NewRat(1<<50, 1)}, {"Ei", big.NewRat(1<<60, 1)},
		{"m", big.NewRat(1, 1000)}, {"k", big.NewRat(1e3, 1)}, {"M", big.NewRat(1e6, 1)},
		{"G", big.NewRat(1e9, 1)}, {"T", big.NewRat(1e12, 1)}, {"P", big.NewRat(1e15, 1)},
		{"E", big.NewRat(1e18, 1)},
	}
	mult := big.NewRat(1, 1)
	num := q
	for _, s := range suffixes {
		if n, ok := strings.CutSuffix(q, s.s); ok {
			num, mult = n, s.m
			break
		}
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok || num == "" || strings.ContainsAny(num, "/") || r.Sign() < 0 {
		return nil, invalid("executor: %q is not a quantity", q)
	}
	return r.Mul(r, mult), nil
}

// ceilInt rounds r up to an integer.
func ceilInt(r *big.Rat) int64 {
	n, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() > 0 {
		n.Add(n, big.NewInt(1))
	}
	return n.Int64()
}

// cpus is sbatch's --cpus-per-task for a CPU quantity: rounded up, at
// least 1.
func cpus(q string) (int64, error) {
	r, err := quantity(q)
	if err != nil {
		return 0, err
	}
	return max(ceilInt(r), 1), nil
}

// mebibytes is sbatch's --mem for a memory quantity, in MiB, rounded up,
// at least 1.
func mebibytes(q string) (int64, error) {
	r, err := quantity(q)
	if err != nil {
		return 0, err
	}
	return max(ceilInt(r.Quo(r, big.NewRat(1<<20, 1))), 1), nil
}

// sanitize makes an attempt id a file and job name.
func sanitize(id string) string {
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	s := strings.TrimLeft(string(b), ".")
	if len(s) > 64 {
		s = s[:64]
	}
	if s == "" {
		s = "attempt"
	}
	return s
}

// rewriteEnv replaces the path from with to in env's values, where it
// stands as a whole path (followed by the end, '/', ':' or ';').
func rewriteEnv(env []string, from, to string) []string {
	out := make([]string, len(env))
	for i, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || from == "" || from == to {
			out[i] = kv
			continue
		}
		out[i] = k + "=" + replacePath(v, from, to)
	}
	return out
}

func replacePath(v, from, to string) string {
	var b strings.Builder
	for {
		i := strings.Index(v, from)
		if i < 0 {
			b.WriteString(v)
			return b.String()
		}
		end := i + len(from)
		startOK := i == 0 || strings.ContainsRune(":;= ", rune(v[i-1]))
		endOK := end == len(v) || strings.ContainsRune("/:; ", rune(v[end]))
		b.WriteString(v[:i])
		if startOK && endOK {
			b.WriteString(to)
		} else {
			b.WriteString(from)
		}
		v = v[end:]
	}
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// copyTree copies the regular files, directories and symlinks of src into
// dst (which must not exist), keeping their permission bits.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, info.Mode().Perm()|0o700); err != nil {
				return err
			}
			return os.Chmod(target, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			return copyFile(path, target, info.Mode().Perm())
		}
		return nil // sockets, fifos, devices: not part of a checkout
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, perm) // the umask may have cut it
}

// makeAttemptDir creates <shared>/<name>, or <name>-2, -3, ... when taken,
// with mode 0700, and returns its path and final name.
func makeAttemptDir(shared, name string) (string, string, error) {
	for i := 1; ; i++ {
		n := name
		if i > 1 {
			n = name + "-" + strconv.Itoa(i)
		}
		dir := filepath.Join(shared, n)
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			return dir, n, nil
		}
		if !os.IsExist(err) || i >= 1000 {
			return "", "", fmt.Errorf("slurm: attempt directory: %w", err)
		}
	}
}
