package restapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/pipeline"
)

func (h *handler) wake() {
	if h.cfg.WakeFunc != nil {
		h.cfg.WakeFunc()
	}
}

func runID(r *http.Request) (pipeline.RunID, error) {
	id, err := pipeline.ParseRunID(r.PathValue("id"))
	if err != nil {
		return 0, errBadRequest("%v", err)
	}
	return id, nil
}

func parseKind(s string) (pipeline.Kind, error) {
	switch s {
	case "", "train":
		return pipeline.Train, nil
	case "trigger", "train_trigger":
		return pipeline.Trigger, nil
	}
	return "", errBadRequest("unknown pipeline %q: want train or trigger", s)
}

// listRuns: GET /api/posml/runs?project=&pipeline=&state=&cause=&limit=&before=
func (h *handler) listRuns(_ http.ResponseWriter, r *http.Request) (any, error) {
	q := r.URL.Query()
	var f pipeline.RunFilter
	if name := q.Get("project"); name != "" {
		p, err := h.cfg.Projects.Get(r.Context(), name)
		if err != nil {
			return nil, err
		}
		f.ProjectID = p.ID
	}
	if s := q.Get("pipeline"); s != "" {
		k, err := parseKind(s)
		if err != nil {
			return nil, err
		}
		f.Pipeline = k
	}
	for _, s := range q["state"] {
		for _, st := range strings.Split(s, ",") {
			if !pipeline.State(st).Valid() {
				return nil, errBadRequest("unknown state %q: want queued, running, succeeded, failed, timed_out, canceled or skipped", st)
			}
			f.States = append(f.States, pipeline.State(st))
		}
	}
	if s := q.Get("cause"); s != "" {
		if !pipeline.Cause(s).Valid() {
			return nil, errBadRequest("unknown cause %q: want schedule, manual, trigger, backfill or webhook", s)
		}
		f.Cause = pipeline.Cause(s)
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > 1000 {
			return nil, errBadRequest("limit=%q: want 1 to 1000", s)
		}
		f.Limit = n
	}
	if s := q.Get("before"); s != "" {
		id, err := pipeline.ParseRunID(s)
		if err != nil {
			return nil, errBadRequest("before: %v", err)
		}
		f.BeforeID = id
	}
	runs, err := h.cfg.Runs.PipelineRuns(r.Context(), f)
	if err != nil {
		return nil, err
	}
	out := struct {
		Runs []Run `json:"runs"`
	}{Runs: []Run{}}
	for _, run := range runs {
		out.Runs = append(out.Runs, toRun(run))
	}
	return out, nil
}

// fullRun is a run with its attempts and outputs.
func (h *handler) fullRun(r *http.Request, id pipeline.RunID) (Run, error) {
	ctx := r.Context()
	run, err := h.cfg.Runs.PipelineRun(ctx, id)
	if err != nil {
		return Run{}, err
	}
	out := toRun(run)
	as, err := h.cfg.Runs.Attempts(ctx, id)
	if err != nil {
		return Run{}, err
	}
	out.AttemptList = []Attempt{}
	for _, a := range as {
		out.AttemptList = append(out.AttemptList, toAttempt(a))
	}
	out.Outputs = []Output{}
	if h.cfg.OutputsFunc != nil {
		os, err := h.cfg.OutputsFunc(ctx, id)
		if err != nil {
			return Run{}, err
		}
		for _, o := range os {
			out.Outputs = append(out.Outputs, toOutput(o))
		}
	}
	if h.cfg.DecisionsFunc != nil {
		ds, err := h.cfg.DecisionsFunc(ctx, id)
		if err != nil {
			return Run{}, err
		}
		for _, d := range ds {
			out.Decisions = append(out.Decisions, toDecision(d))
		}
	}
	if h.cfg.Marts != nil && h.cfg.Marts.Service != nil {
		reads, err := h.cfg.Marts.Service.Reads(ctx, id)
		if err != nil {
			return Run{}, err
		}
		for _, rd := range reads {
			out.MartReads = append(out.MartReads, MartRead{Mart: rd.MartID, Version: rd.Version, Digest: rd.Digest, MLflowRunID: rd.MLflowRunID, ReadAt: rd.ReadAt})
		}
	}
	return out, nil
}

func (h *handler) getRun(_ http.ResponseWriter, r *http.Request) (any, error) {
	id, err := runID(r)
	if err != nil {
		return nil, err
	}
	return h.fullRun(r, id)
}

// startRun: POST /api/posml/runs {project, pipeline, conf} queues a manual
// run of the project's active commit.
func (h *handler) startRun(_ http.ResponseWriter, r *http.Request) (any, error) {
	var req StartRun
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.Project == "" {
		return nil, errBadRequest("project is required")
	}
	kind, err := parseKind(req.Pipeline)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	p, err := h.cfg.Projects.Get(ctx, req.Project)
	if err != nil {
		return nil, err
	}
	run, err := h.queueRun(r, p, kind, pipeline.CauseManual, req.Conf)
	if err != nil {
		return nil, err
	}
	return status{http.StatusCreated, toRun(run)}, nil
}

// queueRun queues a run of the project's active commit, logically dated
// now.
func (h *handler) queueRun(r *http.Request, p pipeline.Project, kind pipeline.Kind, cause pipeline.Cause, conf map[string]any) (pipeline.Run, error) {
	c, err := h.activeCommit(r, p, kind)
	if err != nil {
		return pipeline.Run{}, err
	}
	now := h.cfg.Now().UTC()
	run, err := h.cfg.Runs.CreatePipelineRun(r.Context(), pipeline.Run{
		ProjectID: p.ID, Pipeline: kind, Commit: c.SHA, Cause: cause,
		LogicalDate: now, DataInterval: pipeline.Interval{Start: now, End: now}, FireAt: now,
		MaxAttempts: maxAttempts(kind, c.Settings), Conf: conf,
	})
	if err != nil {
		return pipeline.Run{}, err
	}
	h.wake()
	return run, nil
}

// maxAttempts is 1 + retries for a train run; a trigger run is not retried.
func maxAttempts(k pipeline.Kind, st pipeline.Settings) int {
	if k == pipeline.Trigger {
		return 1
	}
	return 1 + max(st.Retries, 0)
}

// activeCommit returns the project's active commit, checking that it has
// the pipeline.
func (h *handler) activeCommit(r *http.Request, p pipeline.Project, k pipeline.Kind) (pipeline.Commit, error) {
	if p.ActiveCommit == "" {
		return pipeline.Commit{}, &posml.Error{Kind: posml.KindConflict, Msg: "project " + p.Name + " has no valid commit yet (see its sync_error and commits)"}
	}
	c, err := h.cfg.Runs.Commit(r.Context(), p.ID, p.ActiveCommit)
	if err != nil {
		return c, err
	}
	if k == pipeline.Trigger && c.Settings.Trigger.Expr == "" {
		return c, &posml.Error{Kind: posml.KindInvalid, Msg: "project " + p.Name + " has no trigger pipeline (train_trigger_schedule_interval is not set)"}
	}
	return c, nil
}

func (h *handler) cancelRun(_ http.ResponseWriter, r *http.Request) (any, error) {
	id, err := runID(r)
	if err != nil {
		return nil, err
	}
	run, err := h.cfg.Runs.RequestCancel(r.Context(), id, "canceled by request")
	if err != nil {
		return nil, err
	}
	h.wake()
	return toRun(run), nil
}

func (h *handler) retryRun(_ http.ResponseWriter, r *http.Request) (any, error) {
	id, err := runID(r)
	if err != nil {
		return nil, err
	}
	run, err := h.cfg.Runs.RequeueRun(r.Context(), id)
	if err != nil {
		return nil, err
	}
	h.wake()
	return toRun(run), nil
}

// maxBackfill bounds the runs of one backfill.
const maxBackfill = 1000

// backfill: POST /api/posml/backfill {project, pipeline, from, to, dry_run}
// lists the logical dates of the pipeline's timetable (as of the active
// commit) in [from, to] and, unless dry_run, queues a run with cause
// backfill for each date that has none yet.
func (h *handler) backfill(_ http.ResponseWriter, r *http.Request) (any, error) {
	var req Backfill
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.Project == "" {
		return nil, errBadRequest("project is required")
	}
	if req.From.IsZero() || req.To.IsZero() {
		return nil, errBadRequest("from and to are required (RFC 3339 instants)")
	}
	if req.To.Before(req.From) {
		return nil, errBadRequest("to (%s) is before from (%s)", req.To.Format(time.RFC3339), req.From.Format(time.RFC3339))
	}
	kind, err := parseKind(req.Pipeline)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	p, err := h.cfg.Projects.Get(ctx, req.Project)
	if err != nil {
		return nil, err
	}
	c, err := h.activeCommit(r, p, kind)
	if err != nil {
		return nil, err
	}
	dates, err := BackfillDates(c.Settings.Spec(kind), req.From, req.To, maxBackfill)
	if err != nil {
		return nil, err
	}
	out := BackfillResult{Project: p.Name, Pipeline: string(kind), DryRun: req.DryRun, LogicalDates: []time.Time{}, Runs: []Run{}}
	for _, d := range dates {
		out.LogicalDates = append(out.LogicalDates, d.LogicalDate.UTC())
	}
	if req.DryRun {
		return out, nil
	}
	for _, d := range dates {
		run, err := h.cfg.Runs.CreatePipelineRun(ctx, pipeline.Run{
			ProjectID: p.ID, Pipeline: kind, Commit: c.SHA, Cause: pipeline.CauseBackfill,
			LogicalDate: d.LogicalDate, DataInterval: pipeline.Interval{Start: d.Interval.Start, End: d.Interval.End},
			FireAt: d.FireAt, MaxAttempts: maxAttempts(kind, c.Settings),
		})
		if posml.KindOf(err) == posml.KindExists {
			continue // this logical date has run or is queued already
		}
		if err != nil {
			return nil, err
		}
		out.Runs = append(out.Runs, toRun(run))
	}
	h.wake()
	return status{http.StatusCreated, out}, nil
}
