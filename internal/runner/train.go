package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/posml/posml/internal/executor"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/projectconfig"
	"github.com/posml/posml/internal/pyenv"
)

// SystemConfigName is the file the runner writes at the root of each run's
// checkout: the system config of the seed's layout, which src/config.py
// deep-merges over src/config.yaml.
const SystemConfigName = "config.yaml"

// train runs src/train.py once.
func (p *Pool) train(ctx context.Context, run pipeline.Run, a pipeline.Attempt, st pipeline.Settings) outcome {
	x, err := p.cfg.Executor.Resolve(st.Executor)
	if err != nil {
		return p.prepareFailed(ctx, a, err)
	}
	dir, python, env, err := p.prepare(ctx, run, a, st, x.Backend)
	if err != nil {
		return p.prepareFailed(ctx, a, err)
	}
	res := p.exec(ctx, run, a, executor.Spec{
		Placement: placement(x),
		AttemptID: run.ID.String() + "/" + fmt.Sprint(a.N),
		Dir:       dir,
		Python:    python,
		Args:      []string{"src/train.py"},
		Env:       env,
		Timeout:   st.TrainTimeout,
		KillGrace: p.cfg.KillGrace,
		LogPath:   a.LogPath,
	})
	return p.outcomeOf(ctx, res, st.TrainTimeout)
}

// prepareFailed is the outcome of an attempt whose process could not be
// prepared (checkout, config, token).
func (p *Pool) prepareFailed(ctx context.Context, a pipeline.Attempt, err error) outcome {
	if o, ok := p.stopped(ctx); ok {
		return o
	}
	p.note(a.LogPath, "failed before start: "+err.Error())
	return outcome{state: pipeline.Failed, exitCode: -1, err: err.Error()}
}

// stopped is the outcome of an attempt whose context ended: canceled, the
// server stopping, or its lease lost to another replica.
func (p *Pool) stopped(ctx context.Context) (outcome, bool) {
	if ctx.Err() == nil {
		return outcome{}, false
	}
	if cause := context.Cause(ctx); errors.Is(cause, errServerStopped) || errors.Is(cause, errLeaseLost) {
		return outcome{state: pipeline.Failed, exitCode: -1, err: cause.Error()}, true
	}
	return outcome{state: pipeline.Canceled, exitCode: -1, err: "canceled"}, true
}

// prepare checks out the run's commit into its work directory (fresh for
// each attempt), writes the system config, finds the interpreter (the
// project's environment from its requirements.txt, with Deps.Envs) and
// returns the directory, the interpreter and the environment of the run's
// processes.
//
// backend is where the process runs (see Config.Executor). For a remote
// backend (Kubernetes, Slurm) the checkout is self-contained: the Python
// SDK is copied into it (.posml/sdk), the tracking URI is the one that
// backend's attempts reach (Config.RemoteTrackingURI), and a Kubernetes
// attempt uses its image's interpreter and packages, so no environment is
// built for it here.
func (p *Pool) prepare(ctx context.Context, run pipeline.Run, a pipeline.Attempt, st pipeline.Settings, backend string) (dir, python string, env []string, err error) {
	dir = p.workDir(run.ID)
	if err := os.RemoveAll(dir); err != nil {
		return "", "", nil, fmt.Errorf("clean work directory: %w", err)
	}
	if err := p.d.Source.Checkout(ctx, run.ProjectID, run.Commit, dir); err != nil {
		return "", "", nil, fmt.Errorf("checkout %s: %w", run.Commit, err)
	}
	if err := os.WriteFile(filepath.Join(dir, SystemConfigName), p.systemConfig(run, a, st, p.trackingURI(backend)), 0o644); err != nil {
		return "", "", nil, fmt.Errorf("write system config: %w", err)
	}
	if err := os.MkdirAll(p.cfg.Home, 0o755); err != nil {
		return "", "", nil, fmt.Errorf("home directory: %w", err)
	}
	sdk := p.cfg.SDKDir
	if remote(backend) && sdk != "" {
		sdk = filepath.Join(dir, RemoteSDKDir)
		if err := os.CopyFS(sdk, os.DirFS(p.cfg.SDKDir)); err != nil {
			return "", "", nil, fmt.Errorf("copy the python sdk into the checkout: %w", err)
		}
	}
	python = p.cfg.Python
	if p.d.Envs != nil && backend != projectconfig.BackendKubernetes {
		req, err := os.ReadFile(filepath.Join(dir, "requirements.txt"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", "", nil, fmt.Errorf("read requirements.txt: %w", err)
		}
		pe, err := p.d.Envs.Ensure(ctx, req)
		if err != nil {
			var be *pyenv.BuildError
			if errors.As(err, &be) && be.Output != "" {
				p.note(a.LogPath, "building the python environment failed; its output:\n"+strings.TrimRight(be.Output, "\n"))
			}
			return "", "", nil, err
		}
		if pe.Built {
			p.note(a.LogPath, "built the python environment "+pe.Venv+" from requirements.txt")
		}
		python = pe.Python
	}
	token := ""
	if p.d.Tokens != nil {
		if token, err = p.d.Tokens.Issue(ctx, run); err != nil {
			return "", "", nil, fmt.Errorf("issue run token: %w", err)
		}
	}
	return dir, python, p.env(run, st, token, p.trackingURI(backend), sdk), nil
}

// RemoteSDKDir is where, in the checkout of an attempt on a remote
// backend, the runner puts the Python SDK.
const RemoteSDKDir = ".posml/sdk"

// remote reports whether backend runs attempts elsewhere than in posml's
// process tree.
func remote(backend string) bool {
	return backend != "" && backend != projectconfig.BackendLocal
}

// trackingURI is the tracking server's URL as attempts on backend reach it.
func (p *Pool) trackingURI(backend string) string {
	if u := p.cfg.RemoteTrackingURI[backend]; u != "" && remote(backend) {
		return u
	}
	return p.cfg.TrackingURI
}

// placement is the executor.Placement of a resolved executor section.
func placement(x projectconfig.Executor) executor.Placement {
	pl := executor.Placement{
		Backend: x.Backend, Image: x.Image, CPU: x.CPU, Memory: x.Memory, GPU: x.GPU,
		NodeSelector: x.NodeSelector, Namespace: x.Namespace, ServiceAccount: x.ServiceAccount,
		Partition: x.Partition, ExtraArgs: x.ExtraArgs,
	}
	for _, t := range x.Tolerations {
		pl.Tolerations = append(pl.Tolerations, executor.Toleration{Key: t.Key, Operator: t.Operator, Value: t.Value, Effect: t.Effect, Seconds: t.Seconds})
	}
	return pl
}

// experiment is the run's MLflow experiment name.
func experiment(run pipeline.Run, st pipeline.Settings) string {
	if st.ExperimentName != "" {
		return st.ExperimentName
	}
	return run.Project
}

// systemConfig is the config.yaml the runner writes at the checkout root
// (see SystemConfig).
func (p *Pool) systemConfig(run pipeline.Run, a pipeline.Attempt, st pipeline.Settings, trackingURI string) []byte {
	return SystemConfig(fmt.Sprintf("pipeline run %s, attempt %d", run.ID, a.N), trackingURI, experiment(run, st), RegisteredModel(st), run.Conf)
}

// RegisteredModel is the model a run registers: mlflow.register_model,
// else the first model name.
func RegisteredModel(st pipeline.Settings) string {
	if st.RegisterModel == "" && len(st.ModelNames) > 0 {
		return st.ModelNames[0]
	}
	return st.RegisterModel
}

// SystemConfig is the config.yaml written at the root of a run's checkout
// (for what: "pipeline run 12, attempt 1"). It replaces whatever
// config.yaml the repository has there: the system config belongs to the
// platform (the seed's operators wrote it), and a value a user wants goes
// in src/config.yaml, which it is merged over. The conf of a manual run
// goes in it too, so that train.py sees it through that merge; it cannot
// change the three mlflow keys the platform sets.
func SystemConfig(what, trackingURI, experiment, register string, conf map[string]any) []byte {
	q := func(v any) string { b, _ := json.Marshal(v); return string(b) } // JSON is YAML flow style
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by posml for %s. It replaces any config.yaml\n", what)
	b.WriteString("# of the repository; src/config.py deep-merges it over src/config.yaml.\n")
	b.WriteString("mlflow:\n")
	fmt.Fprintf(&b, "  tracking_uri: %s\n", q(trackingURI))
	fmt.Fprintf(&b, "  experiment_name: %s\n", q(experiment))
	if register != "" {
		fmt.Fprintf(&b, "  register_model: %s\n", q(register))
	}
	if m, ok := conf["mlflow"].(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if k != "tracking_uri" && k != "experiment_name" && k != "register_model" {
				fmt.Fprintf(&b, "  %s: %s\n", q(k), q(m[k]))
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		if k != "mlflow" {
			fmt.Fprintf(&b, "%s: %s\n", q(k), q(conf[k]))
		}
	}
	return []byte(b.String())
}

// env is the complete environment of a run's processes.
func (p *Pool) env(run pipeline.Run, st pipeline.Settings, token, trackingURI, sdk string) []string {
	return Env(EnvVars{
		TrackingURI: trackingURI, Experiment: experiment(run, st), RunID: run.ID.String(), Project: run.Project, Commit: run.Commit,
		LogicalDate: run.LogicalDate, Interval: run.DataInterval, Path: p.cfg.Path, Home: p.cfg.Home, Token: token, SDK: sdk,
	})
}

// EnvVars are the values of a run's environment.
type EnvVars struct {
	TrackingURI, Experiment, RunID, Project, Commit string
	LogicalDate                                     time.Time
	Interval                                        pipeline.Interval
	Path, Home                                      string
	Token                                           string // MLFLOW_TRACKING_TOKEN, if any
	SDK                                             string // the Python SDK's directory, put on PYTHONPATH, if any
}

// Env is the complete environment of a run's processes: nothing of
// posml's own environment is inherited.
func Env(v EnvVars) []string {
	utc := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	env := []string{
		"MLFLOW_TRACKING_URI=" + v.TrackingURI,
		"MLFLOW_EXPERIMENT_NAME=" + v.Experiment,
		"POSML_RUN_ID=" + v.RunID,
		"POSML_PROJECT=" + v.Project,
		"POSML_GIT_COMMIT=" + v.Commit,
		"POSML_LOGICAL_DATE=" + utc(v.LogicalDate),
		"POSML_DATA_INTERVAL_START=" + utc(v.Interval.Start),
		"POSML_DATA_INTERVAL_END=" + utc(v.Interval.End),
		"PATH=" + v.Path,
		"HOME=" + v.Home,
		"LANG=C.UTF-8",
		"PYTHONUNBUFFERED=1", // a live log
	}
	if v.Token != "" {
		env = append(env, "MLFLOW_TRACKING_TOKEN="+v.Token)
	}
	if v.SDK != "" {
		env = append(env, "PYTHONPATH="+v.SDK)
	}
	return env
}

// exec runs one process of an attempt to its end: records it, makes it
// cancelable, and waits.
func (p *Pool) exec(ctx context.Context, run pipeline.Run, a pipeline.Attempt, spec executor.Spec) executor.Result {
	if ctx.Err() != nil {
		return executor.Result{State: executor.Canceled, ExitCode: -1, Err: context.Cause(ctx)}
	}
	h, err := p.d.Backend.Start(ctx, spec)
	if err != nil {
		now := p.cfg.Now()
		return executor.Result{State: executor.Failed, ExitCode: -1, Started: now, Ended: now, Err: err}
	}
	if ref := h.Ref(); ref != "" { // a remote attempt has a Ref but no pid
		if err := p.d.Store.SetAttemptProcess(context.WithoutCancel(ctx), run.ID, a.N, h.PID(), ref); err != nil {
			p.log.Error("runner: record process", "run_id", run.ID, "err", err)
		}
	}
	return p.supervise(ctx, run, h)
}

// supervise waits for the end of an attempt's process: cancelable through
// the pool while it runs; when ctx ends it is canceled, except that a
// cluster job (an executor.Detacher) is only let go when the server stops
// or lost its lease, to be taken back by the next server or the replica
// that took the lease over (see adopt).
func (p *Pool) supervise(ctx context.Context, run pipeline.Run, h executor.Handle) executor.Result {
	p.setHandle(run.ID, h)
	defer p.setHandle(run.ID, nil)
	stop := context.AfterFunc(ctx, func() {
		cause := context.Cause(ctx)
		if d, ok := h.(executor.Detacher); ok && (errors.Is(cause, errServerStopped) || errors.Is(cause, errLeaseLost)) {
			d.Detach()
			return
		}
		h.Cancel(context.Cause(ctx).Error())
	})
	defer stop()
	return h.Wait()
}

// attacher is a backend that takes cluster attempts back after a restart
// (*executor.Router).
type attacher interface {
	Attachable(ref string) bool
	Attach(ctx context.Context, ref string, s executor.Spec) (executor.Handle, error)
}

// adoptable reports whether attempt a, found running at start, is a
// cluster job this pool can take back instead of stopping it.
func (p *Pool) adoptable(a pipeline.Attempt) bool {
	if a.Handle == "" || strings.HasPrefix(a.Handle, "local:") {
		return false
	}
	if at, ok := p.d.Backend.(attacher); !ok || !at.Attachable(a.Handle) {
		return false
	}
	alive, err := p.d.Backend.Alive(a.Handle)
	return err == nil && alive
}

// adopt takes back train attempt a, whose cluster job outlived the server
// that started it, and supervises it to its end as if this pool had
// started it: the time it has left of train_timeout, cancels, its end
// recorded, promotion.
func (p *Pool) adopt(ctx context.Context, a pipeline.Attempt) error {
	run, err := p.d.Store.PipelineRun(ctx, a.RunID)
	if err != nil {
		return err
	}
	p.log.Info("taking back a running attempt", "run_id", run.ID, "attempt", a.N, "job", a.Handle)
	p.launch(ctx, run, a, false, func(actx context.Context) {
		st, err := p.settingsOf(actx, run)
		if err != nil {
			p.finish(run, a, st, outcome{state: pipeline.Failed, exitCode: -1, err: "settings: " + err.Error()})
			return
		}
		spec := executor.Spec{AttemptID: run.ID.String() + "/" + fmt.Sprint(a.N), LogPath: a.LogPath, KillGrace: p.cfg.KillGrace}
		if st.TrainTimeout > 0 {
			spec.Timeout = max(st.TrainTimeout-p.cfg.Now().Sub(a.StartedAt), time.Second)
		}
		h, err := p.d.Backend.(attacher).Attach(actx, a.Handle, spec)
		if err != nil {
			what := "the attempt's job could not be taken back (" + err.Error() + ")"
			if serr := p.d.Backend.Stop(actx, a.Handle, p.cfg.KillGrace); serr != nil {
				what += "; stopping it failed too: " + serr.Error()
			}
			p.note(a.LogPath, "server restarted; "+what)
			p.finish(run, a, st, outcome{state: pipeline.Failed, exitCode: -1, err: "server restarted"})
			return
		}
		res := p.supervise(actx, run, h)
		p.finish(run, a, st, p.outcomeOf(actx, res, st.TrainTimeout))
	})
	return nil
}

// outcomeOf maps a process's result onto an attempt's outcome.
func (p *Pool) outcomeOf(ctx context.Context, res executor.Result, timeout time.Duration) outcome {
	o := outcome{exitCode: res.ExitCode}
	switch res.State {
	case executor.Detached:
		o.state, o.detached = pipeline.Running, true
	case executor.Succeeded:
		o.state = pipeline.Succeeded
	case executor.TimedOut:
		o.state, o.err = pipeline.TimedOut, "timed out after "+timeout.String()
	case executor.Canceled:
		if so, ok := p.stopped(ctx); ok {
			so.exitCode = res.ExitCode
			return so
		}
		o.state, o.err = pipeline.Canceled, "canceled"
	default:
		o.state = pipeline.Failed
		switch {
		case res.Err != nil:
			o.err = res.Err.Error()
		case res.Signal != "":
			o.err = "killed by " + res.Signal
		default:
			o.err = fmt.Sprintf("exit status %d", res.ExitCode)
		}
	}
	return o
}
