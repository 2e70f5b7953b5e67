package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/executor"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/restapi"
	"github.com/posml/posml/internal/runner"
	"github.com/posml/posml/internal/validate"
	pythonsdk "github.com/posml/posml/sdk/python"
)

func init() { register(newRunCmd) }

func newRunCmd(e *env) *cobra.Command {
	var (
		cf     clientFlags
		pipe   string
		wait   bool
		local  bool
		python string
		keep   bool
	)
	c := &cobra.Command{
		Use:   "run PROJECT | run --local [DIR]",
		Short: "Start a manual run of a project's pipeline, or run train.py locally",
		Long: `Queue a manual run of PROJECT's train pipeline (or, with --pipeline trigger,
its trigger pipeline) on the active commit, on the server at --url, else
$POSML_URL, else ` + defaultServerURL + `.

With --wait, follow the run's log until it ends; the exit status is 0 when
it succeeded (or, for a trigger run, was skipped) and 1 otherwise. With
--json the log goes to stderr and the ended run's JSON to stdout.

With --local, run src/train.py of the project in DIR (default: the current
directory) here, as the platform would: the project is validated first, its
working tree is copied to a temporary directory, the system config.yaml is
written at its root (mlflow.tracking_uri = the server URL, experiment_name,
register_model), and train.py runs with the platform's environment
(MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_NAME, POSML_RUN_ID=local,
POSML_PROJECT, POSML_GIT_COMMIT, POSML_LOGICAL_DATE, POSML_DATA_INTERVAL_*)
and the config's train_timeout. Its output is printed as it comes; the exit
status is 0 when train.py succeeded and 1 otherwise.`,
		Example: `  posml run iris --wait
  posml run iris --pipeline trigger
  posml run --local ./iris --url http://127.0.0.1:5000`,
		Args: func(cmd *cobra.Command, args []string) error {
			if local {
				return cobra.MaximumNArgs(1)(cmd, args)
			}
			if len(args) != 1 {
				return &usageError{errors.New("run: give the PROJECT to run (or --local [DIR])")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			if local {
				dir := "."
				if len(args) == 1 {
					dir = args[0]
				}
				if python == "" {
					python = defaultPython(e)
				}
				return runLocal(cmd.Context(), e, dir, python, cl.base, keep)
			}
			var r restapi.Run
			if err := cl.do(cmd.Context(), "POST", "/api/posml/runs", restapi.StartRun{Project: args[0], Pipeline: pipe}, &r); err != nil {
				return err
			}
			if cf.asJSON && !wait {
				return printJSON(e.stdout, r)
			}
			fmt.Fprintf(e.stderr, "run %s queued (%s pipeline of %s at commit %s)\n", r.ID, r.Pipeline, r.Project, shortSHA(r.Commit))
			if !wait {
				if !cf.asJSON {
					fmt.Fprintln(e.stdout, r.ID)
				}
				return nil
			}
			return waitRun(cmd, e, cl, r.ID, true, cf.asJSON)
		},
	}
	cf.add(c, false)
	f := c.Flags()
	f.StringVar(&pipe, "pipeline", "train", "the pipeline to run: train or trigger")
	f.BoolVar(&wait, "wait", false, "follow the run's log and exit with its outcome")
	f.BoolVar(&local, "local", false, "run src/train.py of DIR here, with the config and environment the platform gives it")
	f.StringVar(&python, "python", "", "with --local: the Python interpreter (env POSML_PYTHON; default python3)")
	f.BoolVar(&keep, "keep", false, "with --local: keep the temporary copy of the project (its path is printed)")
	return c
}

// skipCopy names the directories runLocal does not copy: version control,
// virtual environments, caches, local MLflow stores.
var skipCopy = map[string]bool{".git": true, ".venv": true, "venv": true, "__pycache__": true,
	".mypy_cache": true, ".pytest_cache": true, "mlruns": true, "node_modules": true}

// runLocal runs train.py of the project in dir as a platform run would,
// against the tracking server at trackingURI.
func runLocal(ctx context.Context, e *env, dir, python, trackingURI string, keep bool) error {
	now := time.Now().UTC()
	res, cfg, err := validate.Project(ctx, dir, python, now)
	if err != nil {
		return err
	}
	for _, d := range res.Diagnostics {
		fmt.Fprintln(e.stderr, d.String())
	}
	if !res.Valid || cfg == nil {
		return &exitError{code: 1, msg: fmt.Sprintf("%s is not valid (%d errors): the platform would not run it", dir, res.Errors)}
	}
	st := pipeline.SettingsOf(cfg)
	work, err := os.MkdirTemp("", "posml-local-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintf(e.stderr, "posml: working copy kept in %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	tree := filepath.Join(work, "project")
	if err := copyTree(dir, tree); err != nil {
		return fmt.Errorf("copy %s: %w", dir, err)
	}
	experiment := st.ExperimentName
	if experiment == "" {
		experiment = cfg.ProjName
	}
	// The system config and environment of a pipeline run, built as the
	// runner builds them, but with the user's own PATH, HOME, token and
	// virtualenv (their packages), and the Python SDK (workbenchPy) of
	// this binary on PYTHONPATH before theirs.
	if err := os.WriteFile(filepath.Join(tree, runner.SystemConfigName),
		runner.SystemConfig("posml run --local", trackingURI, experiment, runner.RegisteredModel(st), nil), 0o644); err != nil {
		return err
	}
	sdk, err := pythonsdk.Install(filepath.Join(work, "sdk"))
	if err != nil {
		return err
	}
	if pp := e.getenv("PYTHONPATH"); pp != "" {
		sdk += string(os.PathListSeparator) + pp
	}
	path, home := e.getenv("PATH"), e.getenv("HOME")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	if home == "" {
		home = work
	}
	env := runner.Env(runner.EnvVars{
		TrackingURI: trackingURI, Experiment: experiment, RunID: "local", Project: cfg.ProjName, Commit: gitHead(dir),
		LogicalDate: now, Interval: pipeline.Interval{Start: now, End: now}, Path: path, Home: home,
		Token: e.getenv("MLFLOW_TRACKING_TOKEN"), SDK: sdk,
	})
	if v := e.getenv("VIRTUAL_ENV"); v != "" {
		env = append(env, "VIRTUAL_ENV="+v)
	}
	h, err := (&executor.Local{}).Start(ctx, executor.Spec{
		AttemptID: "local", Dir: tree, Python: python, Args: []string{"src/train.py"}, Env: env,
		Timeout: st.TrainTimeout, LogPath: filepath.Join(work, "train.log"),
	})
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { h.Cancel("interrupted") })
	defer stop()
	logs := h.Follow(context.WithoutCancel(ctx), 0)
	io.Copy(e.stdout, logs) // until the attempt has ended and its log is complete
	logs.Close()
	r := h.Wait()
	if r.State == executor.Succeeded {
		return nil
	}
	msg := fmt.Sprintf("train.py %s", strings.ReplaceAll(string(r.State), "_", " "))
	if r.ExitCode >= 0 && r.State == executor.Failed {
		msg += fmt.Sprintf(" (exit status %d)", r.ExitCode)
	} else if r.Err != nil {
		msg += ": " + r.Err.Error()
	}
	return &exitError{code: 1, msg: msg}
}

// gitHead is the commit checked out in dir, read from the repository's
// files (HEAD, the ref it names, packed-refs); "" when dir is not in a git
// repository or HEAD cannot be read.
func gitHead(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	var gitDir string
	for d := abs; ; d = filepath.Dir(d) {
		p := filepath.Join(d, ".git")
		if fi, err := os.Stat(p); err == nil {
			gitDir = p
			if !fi.IsDir() { // a worktree: "gitdir: PATH"
				b, _ := os.ReadFile(p)
				g := strings.TrimSpace(strings.TrimPrefix(string(b), "gitdir:"))
				if !filepath.IsAbs(g) {
					g = filepath.Join(d, g)
				}
				gitDir = g
			}
			break
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
	b, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return ""
	}
	head := strings.TrimSpace(string(b))
	ref, ok := strings.CutPrefix(head, "ref: ")
	if !ok {
		return head // detached
	}
	for _, g := range []string{gitDir, commonDir(gitDir)} {
		if b, err := os.ReadFile(filepath.Join(g, filepath.FromSlash(ref))); err == nil {
			return strings.TrimSpace(string(b))
		}
		if b, err := os.ReadFile(filepath.Join(g, "packed-refs")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if sha, name, ok := strings.Cut(strings.TrimSpace(line), " "); ok && name == ref {
					return sha
				}
			}
		}
	}
	return "" // an unborn branch
}

// commonDir is the main repository's git directory of a worktree's.
func commonDir(gitDir string) string {
	b, err := os.ReadFile(filepath.Join(gitDir, "commondir"))
	if err != nil {
		return gitDir
	}
	c := strings.TrimSpace(string(b))
	if !filepath.IsAbs(c) {
		c = filepath.Join(gitDir, c)
	}
	return c
}

// copyTree copies the regular files and directories of src into dst
// (which must not exist), skipping skipCopy and symbolic links' targets
// outside (links are copied as links).
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
		switch {
		case d.IsDir():
			if rel != "." && skipCopy[d.Name()] {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			return copyFile(path, target)
		}
		return nil // sockets, devices: not part of a project
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
