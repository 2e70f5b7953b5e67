package web

import (
	"bytes"
	"context"
	"errors"
	"html"
	"io"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/registry"
	"github.com/posml/posml/internal/sqlstore"
	"github.com/posml/posml/internal/tracking"
)

// Store is what the pages read; *sqlstore.Store implements it.
type Store interface {
	ExperimentSummaries(ctx context.Context, limit, offset int) ([]sqlstore.ExperimentSummary, bool, error)
	GetExperiment(ctx context.Context, id string) (tracking.Experiment, error)
	SearchRuns(ctx context.Context, rq sqlstore.RunQuery) ([]tracking.Run, bool, error)
	GetRun(ctx context.Context, runID string) (tracking.Run, error)
	MetricSeries(ctx context.Context, runID, key string) ([]int64, []float64, error)
	SearchRegisteredModels(ctx context.Context, rq sqlstore.RegistryQuery) ([]registry.RegisteredModel, bool, error)
	GetRegisteredModel(ctx context.Context, name string) (registry.RegisteredModel, error)
	SearchModelVersions(ctx context.Context, rq sqlstore.RegistryQuery) ([]registry.ModelVersion, bool, error)
	RegistryEvents(ctx context.Context, name string, limit, offset int) ([]registry.Event, error)
}

// Deps are the services the UI reads from.
type Deps struct {
	Store     Store
	Artifacts artifact.Store // nil hides the artifacts browser
	// Pipelines feeds the projects, project, pipeline runs and lineage
	// pages; nil leaves them out (and out of the nav).
	Pipelines Pipelines
	// Projects and Runs are the services behind the buttons (pause,
	// resume, run now; cancel, retry): the same the REST API uses. Nil
	// hides the buttons.
	Projects ProjectActions
	Runs     RunActions
	// Marts feeds the marts page; nil leaves it out.
	Marts Marts
}

// Options tune the handler.
type Options struct {
	// Assets holds templates/ and static/; nil means the embedded Assets().
	// Pass os.DirFS("internal/web") to edit templates and styles without
	// rebuilding.
	Assets fs.FS
	// Dev re-reads templates and assets on every request (with os.DirFS).
	Dev bool
	// Log receives server errors; nil discards them.
	Log *slog.Logger
	// Users, when set, requires a login for every page (login.go).
	Users Users
}

// Handler returns the UI. It answers every path it is given, with a 404
// page for the ones it does not know, so mount it below the API prefixes.
// Templates that fail to parse (possible only with Options.Assets) make
// every page a 500 that names the error.
func Handler(deps Deps, opt Options) http.Handler {
	if opt.Assets == nil {
		opt.Assets = Assets()
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	h := &handler{store: deps.Store, art: deps.Artifacts, log: opt.Log, fsys: opt.Assets, dev: opt.Dev,
		pipes: deps.Pipelines, projActs: deps.Projects, runActs: deps.Runs, marts: deps.Marts, csrf: newCSRF(), users: opt.Users}
	if deps.Pipelines == nil { // the buttons need the pages
		h.projActs, h.runActs = nil, nil
	}
	h.th, h.thErr = load(opt.Assets, h.navHas)
	if h.thErr != nil {
		h.log.Error("web templates", "err", h.thErr)
	}
	if opt.Users != nil {
		return h.requireLogin(h.routes(), opt.Users)
	}
	return h.routes()
}

type handler struct {
	store Store
	art   artifact.Store
	log   *slog.Logger
	fsys  fs.FS
	dev   bool
	th    *theme // templates and hashed assets; reloaded per request when dev
	thErr error

	pipes    Pipelines // nil: no pipeline pages
	projActs ProjectActions
	runActs  RunActions
	marts    Marts // nil: no marts pages
	csrf     csrf
	users    Users // nil: no login
}

// navHas reports whether a page of the nav exists on this server.
func (h *handler) navHas(page string) bool {
	switch page {
	case "projects", "pipeline-runs":
		return h.pipes != nil
	case "marts":
		return h.marts != nil
	case "account":
		return h.users != nil
	}
	return true
}

// theme returns the templates and assets to use for one request.
func (h *handler) theme() (*theme, error) {
	if h.dev {
		return load(h.fsys, h.navHas)
	}
	return h.th, h.thErr
}

func (h *handler) routes() http.Handler {
	m := http.NewServeMux()
	m.Handle("GET /static/{hash}/{path...}", http.HandlerFunc(h.static))
	m.Handle("GET /{$}", h.page(h.experiments))
	m.Handle("GET /experiments/{id}", h.page(h.runs))
	m.Handle("GET /runs/{id}", h.page(h.run))
	m.Handle("GET /runs/{id}/series", h.page(h.runSeries))
	m.Handle("GET /runs/{id}/artifacts", h.page(h.artifacts))
	m.Handle("GET /runs/{id}/artifact", h.page(h.artifactPreview))
	m.Handle("GET /runs/{id}/artifact/raw", h.page(h.artifactRaw))
	m.Handle("GET /compare", h.page(h.compare))
	m.Handle("GET /compare/series", h.page(h.compareSeries))
	m.Handle("GET /models", h.page(h.models))
	m.Handle("GET /models/{name}", h.page(h.model))
	if h.pipes != nil {
		m.Handle("GET /projects", h.page(h.projects))
		m.Handle("GET /projects/{name}", h.page(h.project))
		m.Handle("GET /pipeline-runs", h.page(h.pipelineRuns))
		m.Handle("GET /pipeline-runs/{id}", h.page(h.pipelineRun))
		m.Handle("GET /models/{name}/versions/{version}/lineage", h.page(h.lineage))
		if h.projActs != nil && h.runActs != nil {
			m.Handle("POST /projects/{name}/{action}", h.page(h.projectAction))
			m.Handle("POST /pipeline-runs/{id}/{action}", h.page(h.runAction))
		}
	}
	if h.marts != nil {
		m.Handle("GET /marts", h.page(h.martList))
		m.Handle("GET /marts/{id}", h.page(h.mart))
	}
	m.Handle("/", h.page(func(http.ResponseWriter, *http.Request) error {
		return posml.Errorf(posml.KindNotFound, "No page here.")
	}))
	return m
}

// pageFunc handles one request; it writes nothing when it returns an error.
type pageFunc func(w http.ResponseWriter, r *http.Request) error

// page turns a returned error into an error page: a 404 for a missing
// thing, 400 for a bad request, else 500 (logged, with a generic message).
func (h *handler) page(f pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := f(w, r)
		if err == nil {
			return
		}
		status, msg := http.StatusInternalServerError, "Something went wrong; the server log has the details."
		switch posml.KindOf(err) {
		case posml.KindNotFound:
			status, msg = http.StatusNotFound, userMessage(err)
		case posml.KindInvalid:
			status, msg = http.StatusBadRequest, userMessage(err)
		case posml.KindConflict:
			status, msg = http.StatusConflict, userMessage(err)
		default:
			if errors.Is(err, errCSRF) {
				status, msg = http.StatusForbidden, "This form has expired or did not come from this site: reload the page and try again."
				break
			}
			if errors.Is(err, context.Canceled) {
				return
			}
			h.log.Error("web page failed", "path", r.URL.Path, "err", err)
		}
		if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true" {
			// htmx replaces part of a page: answer a fragment, not a page.
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(status)
			io.WriteString(w, `<p class="error" role="alert">`+html.EscapeString(msg)+`</p>`) //nolint:errcheck // the client went away
			return
		}
		h.render(w, r, status, "error.html", errorPage{Status: status, Title: http.StatusText(status), Message: msg})
	})
}

// userMessage is the message of the first *posml.Error in err's chain.
func userMessage(err error) string {
	var e *posml.Error
	if errors.As(err, &e) && e.Msg != "" {
		return e.Msg
	}
	return err.Error()
}

type errorPage struct {
	Nav     string
	Status  int
	Title   string
	Message string
}

// render executes a page template into a buffer and writes it with status;
// a template failure becomes a plain 500.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	th, err := h.theme()
	if err != nil {
		http.Error(w, "templates: "+err.Error(), http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := th.execute(&buf, name, data); err != nil {
		h.log.Error("web template failed", "template", name, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", contentPolicy)
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
}

// contentPolicy allows only the UI's own scripts, styles, images and
// requests. 'unsafe-inline' styles: htmx and uPlot set style attributes.
const contentPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
