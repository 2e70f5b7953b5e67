package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/datamart"
	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/registry"
	"github.com/posml/posml/internal/restapi"
	"github.com/posml/posml/internal/schedule"
	"github.com/posml/posml/internal/validate"
)

// Pipelines is what the pipeline pages read (projects, commits, schedules,
// pipeline runs and their lineage); *sqlstore.Store implements it.
type Pipelines interface {
	Projects(ctx context.Context) ([]pipeline.Project, error)
	ProjectByName(ctx context.Context, name string) (pipeline.Project, error)
	Commit(ctx context.Context, id pipeline.ProjectID, sha string) (pipeline.Commit, error)
	Commits(ctx context.Context, id pipeline.ProjectID, limit int) ([]pipeline.Commit, error)
	Schedules(ctx context.Context, id pipeline.ProjectID) ([]pipeline.Schedule, error)
	PipelineRuns(ctx context.Context, f pipeline.RunFilter) ([]pipeline.Run, error)
	PipelineRun(ctx context.Context, id pipeline.RunID) (pipeline.Run, error)
	Attempts(ctx context.Context, id pipeline.RunID) ([]pipeline.Attempt, error)
	RunOutputs(ctx context.Context, run pipeline.RunID) ([]pipeline.Output, error)
	PromotionDecisionsOfRun(ctx context.Context, run pipeline.RunID) ([]lineage.Decision, error)
	PromotionDecisionsOfModel(ctx context.Context, name string, limit int) ([]lineage.Decision, error)
	MartReads(ctx context.Context, run int64) ([]datamart.Read, error)
	PipelineRunOf(ctx context.Context, mlflowRunID string) (pipeline.RunID, error)
	GetModelVersion(ctx context.Context, name string, version int64) (registry.ModelVersion, error)
}

// ProjectActions changes projects: the project registry the REST API uses
// (*projects.Service).
type ProjectActions interface {
	SetPaused(ctx context.Context, name string, paused bool) (pipeline.Project, error)
}

// RunActions queues, cancels and retries pipeline runs: the runner pool
// (*runner.Pool).
type RunActions interface {
	Enqueue(ctx context.Context, r pipeline.Run) (pipeline.Run, error)
	Cancel(ctx context.Context, id pipeline.RunID, reason string) (pipeline.Run, error)
	Retry(ctx context.Context, id pipeline.RunID) (pipeline.Run, error)
}

// Page sizes and counts of the pipeline pages.
const (
	pipelineRunsPerPage = 50
	chipsPerProject     = 8
	previewFires        = 10
	recentCommitsShown  = 5
)

// fireView is one upcoming fire of a pipeline.
type fireView struct {
	Local, UTC, LogicalDate string
	DST                     string // DST change before it, if any
	Due                     bool   // its time has passed: the scheduler fires it at once
}

// scheduleView is a pipeline's timetable and its next fires.
type scheduleView struct {
	Kind  pipeline.Kind
	Spec  pipeline.Spec
	Zone  string
	Fires []fireView
	Error string // the timetable does not build
}

// upcoming computes the next n fires of a pipeline of a commit, after the
// schedule's last data interval.
func upcoming(kind pipeline.Kind, st pipeline.Settings, scheds []pipeline.Schedule, now time.Time, n int) *scheduleView {
	spec := st.Spec(kind)
	if spec.Expr == "" {
		return nil
	}
	v := &scheduleView{Kind: kind, Spec: spec, Zone: spec.TimeZone}
	tt, ok, err := spec.Timetable()
	if err != nil || !ok {
		if err != nil {
			v.Error = err.Error()
		}
		return v
	}
	var last *pipeline.Interval
	for _, s := range scheds {
		if s.Pipeline == kind {
			last = s.Last
		}
	}
	var li *schedule.Interval
	if last != nil {
		li = &schedule.Interval{Start: last.Start, End: last.End}
	}
	runs := tt.Upcoming(li, now, n)
	prev := validate.PrevFires(tt, runs)
	loc := tt.Schedule.Location()
	for i, r := range runs {
		v.Fires = append(v.Fires, fireView{
			Local:       r.FireAt.In(loc).Format("Mon 2006-01-02 15:04 MST"),
			UTC:         r.FireAt.UTC().Format("2006-01-02 15:04"),
			LogicalDate: r.LogicalDate.In(loc).Format("2006-01-02 15:04"),
			DST:         validate.DSTNote(prev[i], r.FireAt, loc),
			Due:         !r.FireAt.After(now),
		})
	}
	return v
}

// findings is the outcome of a commit's validation.
type findings struct {
	Commit   pipeline.Commit
	Result   validate.Result
	Parsed   bool
	Errors   []posml.Diagnostic
	Warnings []posml.Diagnostic
}

func findingsOf(c pipeline.Commit) *findings {
	f := &findings{Commit: c}
	if json.Unmarshal(c.Validation, &f.Result) == nil {
		f.Parsed = true
	}
	for _, d := range f.Result.Diagnostics {
		if d.Severity == posml.SeverityError {
			f.Errors = append(f.Errors, d)
		} else {
			f.Warnings = append(f.Warnings, d)
		}
	}
	return f
}

// projectView is a project as the projects page and the project page show it.
type projectView struct {
	pipeline.Project
	Active   *pipeline.Commit // nil without a valid commit
	Head     *findings        // the newest commit's validation
	Train    *scheduleView
	Trigger  *scheduleView
	LastRuns []pipeline.Run
}

func (h *handler) projectView(ctx context.Context, p pipeline.Project, fires int) (projectView, error) {
	v := projectView{Project: p}
	if p.ActiveCommit != "" {
		c, err := h.pipes.Commit(ctx, p.ID, p.ActiveCommit)
		if err != nil && posml.KindOf(err) != posml.KindNotFound {
			return v, err
		}
		if err == nil {
			v.Active = &c
		}
	}
	if p.HeadCommit != "" {
		if p.HeadCommit == p.ActiveCommit && v.Active != nil {
			v.Head = findingsOf(*v.Active)
		} else if c, err := h.pipes.Commit(ctx, p.ID, p.HeadCommit); err == nil {
			v.Head = findingsOf(c)
		} else if posml.KindOf(err) != posml.KindNotFound {
			return v, err
		}
	}
	if v.Active != nil && !p.Paused {
		scheds, err := h.pipes.Schedules(ctx, p.ID)
		if err != nil {
			return v, err
		}
		now := time.Now()
		v.Train = upcoming(pipeline.Train, v.Active.Settings, scheds, now, fires)
		v.Trigger = upcoming(pipeline.Trigger, v.Active.Settings, scheds, now, fires)
	}
	runs, err := h.pipes.PipelineRuns(ctx, pipeline.RunFilter{ProjectID: p.ID, Limit: chipsPerProject})
	if err != nil {
		return v, err
	}
	v.LastRuns = runs
	return v, nil
}

type projectsPage struct {
	Nav      string
	Projects []projectView
}

func (h *handler) projects(w http.ResponseWriter, r *http.Request) error {
	ps, err := h.pipes.Projects(r.Context())
	if err != nil {
		return err
	}
	data := projectsPage{Nav: "projects"}
	for _, p := range ps {
		v, err := h.projectView(r.Context(), p, 1)
		if err != nil {
			return err
		}
		data.Projects = append(data.Projects, v)
	}
	h.render(w, r, http.StatusOK, "projects.html", data)
	return nil
}

type projectPage struct {
	Nav      string
	CSRF     string
	Actions  bool // the buttons work (services wired)
	P        projectView
	Commits  []pipeline.Commit
	Runs     []pipeline.Run
	Pager    pager
	HasMore  bool
	Settings *pipeline.Settings
}

func (h *handler) project(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := h.pipes.ProjectByName(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	v, err := h.projectView(ctx, p, previewFires)
	if err != nil {
		return err
	}
	data := projectPage{Nav: "projects", P: v, Actions: h.runActs != nil && h.projActs != nil}
	if v.Active != nil {
		data.Settings = &v.Active.Settings
	}
	if data.Commits, err = h.pipes.Commits(ctx, p.ID, recentCommitsShown); err != nil {
		return err
	}
	f := pipeline.RunFilter{ProjectID: p.ID}
	data.Runs, data.Pager, err = h.runPage(ctx, r, f, "/projects/"+url.PathEscape(p.Name), url.Values{})
	if err != nil {
		return err
	}
	data.CSRF = h.csrf.token(w, r)
	h.render(w, r, http.StatusOK, "project.html", data)
	return nil
}

// runPage reads one page of runs, newest first, paged by run id
// ("before"): the keyset keeps every page one index range scan.
func (h *handler) runPage(ctx context.Context, r *http.Request, f pipeline.RunFilter, base string, q url.Values) ([]pipeline.Run, pager, error) {
	if b, err := pipeline.ParseRunID(r.URL.Query().Get("before")); err == nil {
		f.BeforeID = b
	}
	f.Limit = pipelineRunsPerPage + 1
	runs, err := h.pipes.PipelineRuns(ctx, f)
	if err != nil {
		return nil, pager{}, err
	}
	more := len(runs) > pipelineRunsPerPage
	if more {
		runs = runs[:pipelineRunsPerPage]
	}
	link := func(before pipeline.RunID) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		if before != 0 {
			v.Set("before", before.String())
		}
		if len(v) == 0 {
			return base
		}
		return base + "?" + v.Encode()
	}
	pg := pager{}
	if len(runs) > 0 {
		pg.First, pg.Last = int(runs[0].ID), int(runs[len(runs)-1].ID)
	}
	if f.BeforeID != 0 {
		pg.PrevURL = link(0) // back to the newest
	}
	if more {
		pg.NextURL = link(runs[len(runs)-1].ID)
	}
	return runs, pg, nil
}

// projectAction handles the POST forms of the project page.
func (h *handler) projectAction(w http.ResponseWriter, r *http.Request) error {
	if err := h.csrf.check(r); err != nil {
		return err
	}
	ctx := r.Context()
	name := r.PathValue("name")
	p, err := h.pipes.ProjectByName(ctx, name)
	if err != nil {
		return err
	}
	back := "/projects/" + url.PathEscape(p.Name)
	switch r.PathValue("action") {
	case "pause", "resume":
		if _, err := h.projActs.SetPaused(ctx, p.Name, r.PathValue("action") == "pause"); err != nil {
			return err
		}
	case "run":
		kind := pipeline.Kind(r.PostFormValue("pipeline"))
		if kind == "" {
			kind = pipeline.Train
		}
		if !kind.Valid() {
			return posml.Errorf(posml.KindInvalid, "Unknown pipeline "+string(kind)+": want train or trigger.")
		}
		if kind == pipeline.Trigger {
			if c, err := h.pipes.Commit(ctx, p.ID, p.ActiveCommit); err != nil || c.Settings.Trigger.Expr == "" {
				return posml.Errorf(posml.KindInvalid, "Project "+p.Name+" has no trigger pipeline.")
			}
		}
		run, err := h.runActs.Enqueue(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: kind, Cause: pipeline.CauseManual})
		if err != nil {
			return err
		}
		back = "/pipeline-runs/" + run.ID.String()
	case "backfill":
		n, err := h.backfill(r, p)
		if err != nil {
			return err
		}
		back = "/pipeline-runs?" + url.Values{"project": {p.Name}, "queued": {strconv.Itoa(n)}}.Encode()
	default:
		return posml.Errorf(posml.KindNotFound, "No such action.")
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

// maxBackfill bounds the runs of one backfill (as the REST API's).
const maxBackfill = 1000

// backfill queues a backfill run for every logical date of the pipeline's
// timetable (as of the active commit) between two dates of the pipeline's
// zone, both included, that has no run yet, as POST /api/posml/backfill
// does. It returns the number of runs queued.
func (h *handler) backfill(r *http.Request, p pipeline.Project) (int, error) {
	ctx := r.Context()
	kind := pipeline.Kind(r.PostFormValue("pipeline"))
	if !kind.Valid() {
		return 0, posml.Errorf(posml.KindInvalid, "Unknown pipeline "+string(kind)+": want train or trigger.")
	}
	if p.ActiveCommit == "" {
		return 0, &posml.Error{Kind: posml.KindConflict, Msg: "Project " + p.Name + " has no valid commit yet."}
	}
	c, err := h.pipes.Commit(ctx, p.ID, p.ActiveCommit)
	if err != nil {
		return 0, err
	}
	spec := c.Settings.Spec(kind)
	loc, err := time.LoadLocation(spec.TimeZone)
	if err != nil || spec.Expr == "" {
		return 0, posml.Errorf(posml.KindInvalid, "The "+string(kind)+" pipeline of "+p.Name+" is not scheduled: nothing to backfill.")
	}
	from, err1 := time.ParseInLocation("2006-01-02", r.PostFormValue("from"), loc)
	to, err2 := time.ParseInLocation("2006-01-02", r.PostFormValue("to"), loc)
	if err1 != nil || err2 != nil {
		return 0, posml.Errorf(posml.KindInvalid, "Give the first and the last day of the backfill (YYYY-MM-DD).")
	}
	to = to.AddDate(0, 0, 1).Add(-time.Millisecond) // the whole last day
	if to.Before(from) {
		return 0, posml.Errorf(posml.KindInvalid, "The last day is before the first.")
	}
	dates, err := restapi.BackfillDates(spec, from, to, maxBackfill)
	if err != nil {
		return 0, err
	}
	attempts := 0 // the commit's retries
	if kind == pipeline.Trigger {
		attempts = 1 // a trigger run is not retried
	}
	n := 0
	for _, d := range dates {
		_, err := h.runActs.Enqueue(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: kind, Commit: c.SHA, Cause: pipeline.CauseBackfill,
			LogicalDate: d.LogicalDate, DataInterval: pipeline.Interval{Start: d.Interval.Start, End: d.Interval.End}, FireAt: d.FireAt, MaxAttempts: attempts})
		if posml.KindOf(err) == posml.KindExists {
			continue // this logical date has run or is queued already
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// runAction handles the cancel and retry forms of the pipeline run page.
func (h *handler) runAction(w http.ResponseWriter, r *http.Request) error {
	if err := h.csrf.check(r); err != nil {
		return err
	}
	id, err := pipeline.ParseRunID(r.PathValue("id"))
	if err != nil {
		return posml.Errorf(posml.KindNotFound, "No such pipeline run.")
	}
	switch r.PathValue("action") {
	case "cancel":
		_, err = h.runActs.Cancel(r.Context(), id, "canceled in the web UI")
	case "retry":
		_, err = h.runActs.Retry(r.Context(), id)
	default:
		return posml.Errorf(posml.KindNotFound, "No such action.")
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/pipeline-runs/"+id.String(), http.StatusSeeOther)
	return nil
}

var runStates = []pipeline.State{pipeline.Queued, pipeline.Running, pipeline.Succeeded, pipeline.Failed, pipeline.TimedOut, pipeline.Canceled, pipeline.Skipped}

type pipelineRunsPage struct {
	Nav      string
	Projects []pipeline.Project
	Project  string
	State    string
	States   []pipeline.State
	Runs     []pipeline.Run
	Pager    pager
	Queued   string // a backfill just queued this many runs
}

func (h *handler) pipelineRuns(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	data := pipelineRunsPage{Nav: "pipeline-runs", States: runStates, Project: q.Get("project"), State: q.Get("state")}
	if n, err := strconv.Atoi(q.Get("queued")); err == nil && n >= 0 {
		data.Queued = strconv.Itoa(n)
	}
	var err error
	if data.Projects, err = h.pipes.Projects(ctx); err != nil {
		return err
	}
	var f pipeline.RunFilter
	keep := url.Values{}
	if data.Project != "" {
		p, err := h.pipes.ProjectByName(ctx, data.Project)
		if err != nil {
			return err
		}
		f.ProjectID = p.ID
		keep.Set("project", p.Name)
	}
	if data.State != "" {
		if !pipeline.State(data.State).Valid() {
			return posml.Errorf(posml.KindInvalid, "Unknown state "+data.State+".")
		}
		f.States = []pipeline.State{pipeline.State(data.State)}
		keep.Set("state", data.State)
	}
	if data.Runs, data.Pager, err = h.runPage(ctx, r, f, "/pipeline-runs", keep); err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "pipeline-runs.html", data)
	return nil
}

type pipelineRunPage struct {
	Nav       string
	CSRF      string
	Actions   bool
	Run       pipeline.Run
	Commit    *pipeline.Commit
	Attempts  []pipeline.Attempt
	Outputs   []pipeline.Output
	Decisions []lineage.Decision
	Reads     []datamart.Read
	Marts     bool // the marts page exists
	Retryable bool
}

func (h *handler) pipelineRun(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pipeline.ParseRunID(r.PathValue("id"))
	if err != nil {
		return posml.Errorf(posml.KindNotFound, "No such pipeline run.")
	}
	run, err := h.pipes.PipelineRun(ctx, id)
	if err != nil {
		return err
	}
	data := pipelineRunPage{Nav: "pipeline-runs", Run: run, Actions: h.runActs != nil, Marts: h.marts != nil,
		Retryable: run.State == pipeline.Failed || run.State == pipeline.TimedOut || run.State == pipeline.Canceled}
	if c, err := h.pipes.Commit(ctx, run.ProjectID, run.Commit); err == nil {
		data.Commit = &c
	} else if posml.KindOf(err) != posml.KindNotFound {
		return err
	}
	if data.Attempts, err = h.pipes.Attempts(ctx, id); err != nil {
		return err
	}
	if data.Outputs, err = h.pipes.RunOutputs(ctx, id); err != nil {
		return err
	}
	if data.Decisions, err = h.pipes.PromotionDecisionsOfRun(ctx, id); err != nil {
		return err
	}
	if data.Reads, err = h.pipes.MartReads(ctx, int64(id)); err != nil {
		return err
	}
	data.CSRF = h.csrf.token(w, r)
	h.render(w, r, http.StatusOK, "pipeline-run.html", data)
	return nil
}

type lineagePage struct {
	Nav       string
	Version   registry.ModelVersion
	RunName   string
	RunFound  bool
	Run       *pipeline.Run
	Commit    *pipeline.Commit
	Reads     []datamart.Read
	Decisions []lineage.Decision
	Marts     bool
	Note      string
}

// lineage traces a model version back: version → MLflow run → pipeline run
// → commit and mart snapshots.
func (h *handler) lineage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	v, err := strconv.ParseInt(r.PathValue("version"), 10, 64)
	if err != nil || v < 1 {
		return posml.Errorf(posml.KindNotFound, "No such model version.")
	}
	mv, err := h.pipes.GetModelVersion(ctx, r.PathValue("name"), v)
	if err != nil {
		return err
	}
	data := lineagePage{Nav: "models", Version: mv, Marts: h.marts != nil}
	if mv.RunID == "" {
		data.Note = "This version names no MLflow run (source " + mv.Source + ")."
		h.render(w, r, http.StatusOK, "lineage.html", data)
		return nil
	}
	if run, err := h.store.GetRun(ctx, mv.RunID); err == nil {
		data.RunFound, data.RunName = true, runName(run.Info)
	} else if posml.KindOf(err) != posml.KindNotFound {
		return err
	}
	pid, err := h.pipes.PipelineRunOf(ctx, mv.RunID)
	if posml.KindOf(err) == posml.KindNotFound {
		data.Note = "No pipeline run of posml created this MLflow run: it was logged from outside posml."
		h.render(w, r, http.StatusOK, "lineage.html", data)
		return nil
	}
	if err != nil {
		return err
	}
	prun, err := h.pipes.PipelineRun(ctx, pid)
	if err != nil {
		return err
	}
	data.Run = &prun
	if c, err := h.pipes.Commit(ctx, prun.ProjectID, prun.Commit); err == nil {
		data.Commit = &c
	} else if posml.KindOf(err) != posml.KindNotFound {
		return err
	}
	if data.Reads, err = h.pipes.MartReads(ctx, int64(pid)); err != nil {
		return err
	}
	if data.Decisions, err = h.pipes.PromotionDecisionsOfRun(ctx, pid); err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "lineage.html", data)
	return nil
}
