package restapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/posml/posml/internal/forge"
	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/projects"
	"github.com/posml/posml/internal/registry"
	"github.com/posml/posml/internal/sqlstore"
)

// Projects is the project registry (*projects.Service).
type Projects interface {
	Add(ctx context.Context, req projects.AddRequest) (projects.SyncResult, error)
	Get(ctx context.Context, name string) (pipeline.Project, error)
	List(ctx context.Context) ([]pipeline.Project, error)
	Commits(ctx context.Context, p pipeline.Project, limit int) ([]pipeline.Commit, error)
	Sync(ctx context.Context, name string) (projects.SyncResult, error)
	SetPaused(ctx context.Context, name string, paused bool) (pipeline.Project, error)
	Update(ctx context.Context, name string, req projects.UpdateRequest) (projects.SyncResult, error)
	Remove(ctx context.Context, name string) error
	Matching(ctx context.Context, push *forge.Push) ([]pipeline.Project, error)
	SyncPush(ctx context.Context, push *forge.Push, only []pipeline.Project) ([]string, error)
	WebhookSecret(ctx context.Context, p pipeline.Project) (string, error)
}

var _ Projects = (*projects.Service)(nil)

// Runs is the store of pipeline runs (*sqlstore.Store).
type Runs interface {
	CreatePipelineRun(ctx context.Context, r pipeline.Run) (pipeline.Run, error)
	PipelineRun(ctx context.Context, id pipeline.RunID) (pipeline.Run, error)
	PipelineRuns(ctx context.Context, f pipeline.RunFilter) ([]pipeline.Run, error)
	Attempts(ctx context.Context, id pipeline.RunID) ([]pipeline.Attempt, error)
	RequestCancel(ctx context.Context, id pipeline.RunID, reason string) (pipeline.Run, error)
	RequeueRun(ctx context.Context, id pipeline.RunID) (pipeline.Run, error)
	Commit(ctx context.Context, id pipeline.ProjectID, sha string) (pipeline.Commit, error)
}

var _ Runs = (*sqlstore.Store)(nil)

// Config is what the API serves.
type Config struct {
	Projects Projects
	Runs     Runs
	// OutputsFunc lists what a run produced in the tracking server; nil
	// shows none.
	OutputsFunc func(ctx context.Context, id pipeline.RunID) ([]pipeline.Output, error)
	// DecisionsFunc lists the promotion decisions of a run; nil shows none.
	DecisionsFunc func(ctx context.Context, id pipeline.RunID) ([]lineage.Decision, error)
	// WakeFunc tells the runner that a run was queued or a cancel
	// requested, so that it need not wait for its next poll; nil: none.
	WakeFunc func()
	// Now is the clock (default time.Now).
	Now func() time.Time
	// PollInterval is how often a followed log is checked for new lines
	// (default 200 ms).
	PollInterval time.Duration
	// WebhookSecret verifies push webhooks of every project; a project's
	// own secret verifies its own as well.
	WebhookSecret string
	// Log receives server errors; nil discards them.
	Log *slog.Logger
	// Marts serves the data mart endpoints (marts.go); nil: none.
	Marts *MartsConfig
	// EventsFunc lists a registered model's history (events.go); nil: the
	// endpoint is not served.
	EventsFunc func(ctx context.Context, name string, limit, offset int) ([]registry.Event, error)
}

type handler struct {
	cfg Config
	log *slog.Logger
}

// Prefix is the path under which the API is served.
const Prefix = "/api/posml/"

// Handler returns the API's handler, which serves paths under Prefix.
func Handler(cfg Config) http.Handler {
	h := &handler{cfg: cfg, log: cfg.Log}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.cfg.Now == nil {
		h.cfg.Now = time.Now
	}
	if h.cfg.PollInterval <= 0 {
		h.cfg.PollInterval = 200 * time.Millisecond
	}
	return h.routes()
}

// routes is the API's route table.
func (h *handler) routes() http.Handler {
	m := http.NewServeMux()
	m.Handle("POST /api/posml/projects", h.json(h.addProject))
	m.Handle("GET /api/posml/projects", h.json(h.listProjects))
	m.Handle("GET /api/posml/projects/{name}", h.json(h.getProject))
	m.Handle("PATCH /api/posml/projects/{name}", h.json(h.updateProject))
	m.Handle("DELETE /api/posml/projects/{name}", h.json(h.removeProject))
	m.Handle("POST /api/posml/projects/{name}/sync", h.json(h.syncProject))
	m.Handle("POST /api/posml/projects/{name}/pause", h.json(h.pauseProject(true)))
	m.Handle("POST /api/posml/projects/{name}/resume", h.json(h.pauseProject(false)))
	m.Handle("POST /api/posml/hooks/{forge}", h.json(h.webhook))
	m.Handle("GET /api/posml/runs", h.json(h.listRuns))
	m.Handle("POST /api/posml/runs", h.json(h.startRun))
	m.Handle("GET /api/posml/runs/{id}", h.json(h.getRun))
	m.Handle("POST /api/posml/runs/{id}/cancel", h.json(h.cancelRun))
	m.Handle("POST /api/posml/runs/{id}/retry", h.json(h.retryRun))
	m.Handle("GET /api/posml/runs/{id}/logs", h.json(h.runLogs))
	m.Handle("POST /api/posml/backfill", h.json(h.backfill))
	if h.cfg.EventsFunc != nil {
		m.Handle("GET /api/posml/models/{name}/events", h.json(h.modelEvents))
	}
	h.mountMarts(m)
	m.Handle("/api/posml/", h.json(func(_ http.ResponseWriter, r *http.Request) (any, error) {
		return nil, &apiError{http.StatusNotFound, "not_found", "no endpoint " + r.Method + " " + r.URL.Path}
	}))
	return m
}
