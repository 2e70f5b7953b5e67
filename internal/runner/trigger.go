package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/executor"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/projectconfig"
)

// trigger runs one attempt of a trigger run: it calls train_trigger(**conf)
// every trigger_poke_interval until it returns truthy or trigger_timeout
// passes; truthy starts a train run and waits for it.
func (p *Pool) trigger(ctx context.Context, run pipeline.Run, a pipeline.Attempt, st pipeline.Settings) outcome {
	// A train run this trigger run started before (an attempt cut short by
	// a restart) is waited for, never started twice.
	children, err := p.d.Store.PipelineRuns(ctx, pipeline.RunFilter{ParentRunID: run.ID, Limit: 1})
	if err != nil {
		return outcome{state: pipeline.Failed, exitCode: -1, err: err.Error()}
	}
	if len(children) > 0 {
		p.note(a.LogPath, fmt.Sprintf("waiting for train run %s started by an earlier attempt", children[0].ID))
		return p.waitChild(ctx, run, a, children[0])
	}

	// The checkout (and an environment build) takes a process slot, as a
	// poke does; the wait between pokes and for the train run takes none.
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		so, _ := p.stopped(ctx)
		return so
	}
	// train_trigger is a quick check of posml's own: it runs here, on
	// the local backend, whatever the project's executor section says.
	dir, python, env, err := p.prepare(ctx, run, a, st, projectconfig.BackendLocal)
	<-p.sem
	if err != nil {
		return p.prepareFailed(ctx, a, err)
	}
	shim, confPath, err := p.triggerFiles(run, dir)
	if err != nil {
		return p.prepareFailed(ctx, a, err)
	}
	timeout := st.TriggerTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	poke := st.TriggerPokeInterval
	if poke <= 0 {
		poke = 10 * time.Second
	}
	deadline := p.cfg.Now().Add(timeout)
	for pokes := 1; ; pokes++ {
		left := deadline.Sub(p.cfg.Now())
		if left <= 0 {
			break
		}
		res, value, err := p.poke(ctx, run, a, python, dir, shim, confPath, env, left)
		if so, ok := p.stopped(ctx); ok {
			return so
		}
		switch {
		case res.State == executor.TimedOut:
			// The poke ran past trigger_timeout: not truthy in time.
		case res.State != executor.Succeeded:
			o := p.outcomeOf(ctx, res, left)
			if res.Err == nil && res.ExitCode == 1 { // how the shim reports an exception
				o.err = "train_trigger raised (the traceback is in the log)"
			}
			return o
		case err != nil: // exit 0 without a result line
			return outcome{state: pipeline.Failed, exitCode: res.ExitCode, err: err.Error()}
		case value.Value:
			p.note(a.LogPath, fmt.Sprintf("train_trigger returned %s (poke %d): starting a train run", value.Repr, pokes))
			return p.startChild(ctx, run, a, st)
		}
		wait := min(poke, deadline.Sub(p.cfg.Now()))
		if wait <= 0 {
			break
		}
		select {
		case <-ctx.Done():
			so, _ := p.stopped(ctx)
			return so
		case <-p.cfg.After(wait):
		}
	}
	msg := fmt.Sprintf("train_trigger returned no truthy value within trigger_timeout %s", timeout)
	p.note(a.LogPath, msg+": skipped")
	return outcome{state: pipeline.Skipped, exitCode: 0, reason: msg}
}

// triggerFiles writes the shim (once per runs directory) and the run's
// conf: the merged config as train.py sees it, with a manual run's Conf
// over it.
func (p *Pool) triggerFiles(run pipeline.Run, dir string) (shim, conf string, err error) {
	shimDir := filepath.Join(p.cfg.RunsDir, "shim")
	if err := os.MkdirAll(shimDir, 0o755); err != nil {
		return "", "", err
	}
	shim = filepath.Join(shimDir, executor.TriggerShimName)
	if _, err := os.Stat(shim); err != nil {
		tmp, err := os.MkdirTemp(shimDir, ".new-")
		if err != nil {
			return "", "", err
		}
		path, err := executor.WriteTriggerShim(tmp)
		if err == nil {
			err = os.Rename(path, shim)
		}
		os.RemoveAll(tmp)
		if err != nil {
			return "", "", err
		}
	}
	cfg, _, err := projectconfig.Load(dir)
	if err != nil {
		return "", "", fmt.Errorf("load config: %w", err)
	}
	merged := map[string]any{}
	if cfg != nil {
		for k, v := range cfg.Merged {
			merged[k] = v
		}
	}
	for k, v := range run.Conf {
		merged[k] = v
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return "", "", fmt.Errorf("trigger conf: %w", err)
	}
	conf = filepath.Join(filepath.Dir(p.logPath(run.ID, 1)), "trigger-conf.json")
	if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
		return "", "", err
	}
	return shim, conf, os.WriteFile(conf, b, 0o644)
}

// poke runs the shim once (holding a process slot) and reads its result
// from the part of the log it wrote.
func (p *Pool) poke(ctx context.Context, run pipeline.Run, a pipeline.Attempt, python, dir, shim, conf string, env []string, timeout time.Duration) (executor.Result, executor.TriggerResult, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return executor.Result{State: executor.Canceled, ExitCode: -1}, executor.TriggerResult{}, context.Cause(ctx)
	}
	defer func() { <-p.sem }()
	var from int64
	if fi, err := os.Stat(a.LogPath); err == nil {
		from = fi.Size()
	}
	res := p.exec(ctx, run, a, executor.Spec{
		AttemptID: run.ID.String() + "/" + fmt.Sprint(a.N),
		Dir:       dir,
		Python:    python,
		Args:      []string{shim, conf},
		Env:       env,
		Timeout:   timeout,
		KillGrace: p.cfg.KillGrace,
		LogPath:   a.LogPath,
	})
	if res.State != executor.Succeeded {
		return res, executor.TriggerResult{}, res.Err
	}
	f, err := os.Open(a.LogPath)
	if err != nil {
		return res, executor.TriggerResult{}, err
	}
	defer f.Close()
	if _, err := f.Seek(from, 0); err != nil {
		return res, executor.TriggerResult{}, err
	}
	v, err := executor.ParseTriggerResult(f)
	return res, v, err
}

// startChild creates the train run a truthy trigger asks for and waits for
// it.
func (p *Pool) startChild(ctx context.Context, run pipeline.Run, a pipeline.Attempt, st pipeline.Settings) outcome {
	child, err := p.d.Store.CreatePipelineRun(context.WithoutCancel(ctx), pipeline.Run{
		ProjectID:    run.ProjectID,
		Pipeline:     pipeline.Train,
		Commit:       run.Commit,
		Cause:        pipeline.CauseTrigger,
		LogicalDate:  run.LogicalDate,
		DataInterval: run.DataInterval,
		FireAt:       p.cfg.Now(),
		MaxAttempts:  1 + max(st.Retries, 0),
		ParentRunID:  run.ID,
		Conf:         run.Conf,
	})
	if err != nil {
		return outcome{state: pipeline.Failed, exitCode: -1, err: "start train run: " + err.Error()}
	}
	p.note(a.LogPath, fmt.Sprintf("train run %s queued; waiting for it", child.ID))
	p.Wake()
	return p.waitChild(ctx, run, a, child)
}

// waitChild waits for the train run a trigger run started and ends the
// trigger run with its outcome. Canceling the trigger run cancels it.
func (p *Pool) waitChild(ctx context.Context, run pipeline.Run, a pipeline.Attempt, child pipeline.Run) outcome {
	for !child.State.Terminal() {
		// Woken when this pool ends the train run; the store is read
		// again every few seconds anyway, for a run another server or
		// the API ended.
		done, stop := p.waitEnd(child.ID)
		if c, err := p.d.Store.PipelineRun(context.WithoutCancel(ctx), child.ID); err == nil && c.State.Terminal() {
			stop()
			child = c
			break
		}
		select {
		case <-ctx.Done():
			if cause := context.Cause(ctx); errors.Is(cause, errServerStopped) || errors.Is(cause, errLeaseLost) {
				stop()
				so, _ := p.stopped(ctx)
				return so
			}
			if _, err := p.Cancel(context.WithoutCancel(ctx), child.ID, "trigger run "+run.ID.String()+" canceled"); err != nil && posml.KindOf(err) != posml.KindConflict {
				p.log.Error("runner: cancel train run", "run_id", child.ID, "err", err)
			}
			stop()
			return outcome{state: pipeline.Canceled, exitCode: -1, err: "canceled"}
		case <-done:
		case <-p.cfg.After(5 * p.cfg.PollInterval):
		}
		stop()
		var err error
		if child, err = p.d.Store.PipelineRun(context.WithoutCancel(ctx), child.ID); err != nil {
			return outcome{state: pipeline.Failed, exitCode: -1, err: "train run " + child.ID.String() + ": " + err.Error()}
		}
	}
	reason := fmt.Sprintf("train run %s %s", child.ID, child.State)
	p.note(a.LogPath, reason)
	o := outcome{state: child.State, exitCode: 0, reason: reason, final: true}
	if child.State != pipeline.Succeeded {
		o.exitCode, o.err = -1, reason
		if child.State == pipeline.Failed || child.State == pipeline.TimedOut {
			// The train run had its own retries: the trigger run does not
			// retry it.
			o.state = pipeline.Failed
			if child.State == pipeline.TimedOut {
				o.state = pipeline.TimedOut
			}
		}
	}
	return o
}
