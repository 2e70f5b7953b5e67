package mlflowapi

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"

	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/sqlstore"
	"github.com/posml/posml/internal/tracking"
)

// Store is the tracking store the API serves (*sqlstore.Store).
type Store interface {
	CreateExperiment(ctx context.Context, name, artifactLocation string, tags []tracking.Tag) (string, error)
	GetExperiment(ctx context.Context, id string) (tracking.Experiment, error)
	GetExperimentByName(ctx context.Context, name string) (tracking.Experiment, error)
	DeleteExperiment(ctx context.Context, id string) error
	RestoreExperiment(ctx context.Context, id string) error
	RenameExperiment(ctx context.Context, id, newName string) error
	SetExperimentTag(ctx context.Context, id string, tag tracking.Tag) error
	DeleteExperimentTag(ctx context.Context, id, key string) error
	SearchExperiments(ctx context.Context, q sqlstore.ExperimentQuery) ([]tracking.Experiment, bool, error)

	CreateRun(ctx context.Context, nr sqlstore.NewRun) (tracking.Run, error)
	GetRun(ctx context.Context, runID string) (tracking.Run, error)
	GetRunInfo(ctx context.Context, runID string) (tracking.RunInfo, error)
	UpdateRun(ctx context.Context, runID string, u sqlstore.RunUpdate) (tracking.RunInfo, error)
	DeleteRun(ctx context.Context, runID string) error
	RestoreRun(ctx context.Context, runID string) error
	LogMetric(ctx context.Context, runID string, m tracking.Metric) error
	LogParam(ctx context.Context, runID string, p tracking.Param) error
	SetTag(ctx context.Context, runID string, t tracking.Tag) error
	DeleteTag(ctx context.Context, runID, key string) error
	LogBatch(ctx context.Context, runID string, metrics []tracking.Metric, params []tracking.Param, tags []tracking.Tag) error
	LogInputs(ctx context.Context, runID string, datasets []tracking.DatasetInput, models []tracking.ModelInput) error
	LogOutputs(ctx context.Context, runID string, models []tracking.ModelOutput) error
	RecordLoggedModel(ctx context.Context, runID string, model map[string]any) error
	SearchRuns(ctx context.Context, q sqlstore.RunQuery) ([]tracking.Run, bool, error)
	GetMetricHistory(ctx context.Context, runID, key string, offset, limit int) ([]tracking.Metric, bool, error)
	MetricHistoryBulkInterval(ctx context.Context, runIDs []string, key string, start, end *int64, maxResults int) ([]tracking.Metric, error)

	CreateLoggedModel(ctx context.Context, nm sqlstore.NewLoggedModel) (tracking.LoggedModel, error)
	GetLoggedModel(ctx context.Context, id string, allowDeleted bool) (tracking.LoggedModel, error)
	FinalizeLoggedModel(ctx context.Context, id string, status tracking.LoggedModelStatus) (tracking.LoggedModel, error)
	SetLoggedModelTags(ctx context.Context, id string, tags []tracking.Tag) error
	DeleteLoggedModelTag(ctx context.Context, id, key string) error
	LogLoggedModelParams(ctx context.Context, id string, params []tracking.Param) error
	DeleteLoggedModel(ctx context.Context, id string) error
	SearchLoggedModels(ctx context.Context, q sqlstore.ModelQuery) ([]tracking.LoggedModel, bool, error)
}

var _ Store = (*sqlstore.Store)(nil)

// Prefixes under which every route is served.
var Prefixes = []string{"/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"}

type handler struct {
	store Store
	art   artifact.Store // nil: artifacts/list answers empty lists
	log   *slog.Logger
	// sourceRE: Options.SourceRegex.
	sourceRE *regexp.Regexp
}

// apiFunc handles one request: it returns the response message (nil for
// {}) or an error.
type apiFunc func(r *http.Request) (any, error)

// Route is one endpoint: a method and a path below a prefix.
type Route struct {
	Method, Path string
}

// Routes lists the tracking endpoints (for tests and docs).
func Routes() []Route {
	var out []Route
	for _, rt := range (&handler{}).routes() {
		out = append(out, Route{rt.method, rt.path})
	}
	return out
}

// Handler returns the MLflow tracking API. art is the artifact store behind
// the proxy (for artifacts/list); log receives server faults. Unknown paths
// get 404 ENDPOINT_NOT_FOUND.
func Handler(store Store, art artifact.Store, log *slog.Logger) http.Handler {
	return HandlerWith(store, art, log, Options{})
}

// Options are the settings of the tracking API that MLflow's server takes
// from its environment.
type Options struct {
	// SourceRegex, when set, must match (anywhere, as Python's re.search)
	// the source of every new model version: MLflow's
	// MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX.
	SourceRegex *regexp.Regexp
}

// HandlerWith is Handler with opt.
func HandlerWith(store Store, art artifact.Store, log *slog.Logger, opt Options) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{store: store, art: art, log: log, sourceRE: opt.SourceRegex}
	m := http.NewServeMux()
	for _, rt := range h.routes() {
		for _, p := range Prefixes {
			m.Handle(rt.method+" "+p+rt.path, h.adapt(rt.f))
		}
	}
	h.registryRoutes(m) // model registry: registry.go
	m.HandleFunc("/", NotFound)
	return withStoreAuth(m, store, log) // run tokens: auth.go
}

type route struct {
	method, path string
	f            apiFunc
}

// routes is the route table: every endpoint, relative to a prefix.
func (h *handler) routes() []route {
	return []route{
		{"POST", "experiments/create", h.createExperiment},
		{"GET", "experiments/get", h.getExperiment},
		{"GET", "experiments/get-by-name", h.getExperimentByName},
		{"GET", "experiments/search", h.searchExperiments},
		{"POST", "experiments/search", h.searchExperiments},
		{"POST", "experiments/update", h.updateExperiment},
		{"POST", "experiments/delete", h.deleteExperiment},
		{"POST", "experiments/restore", h.restoreExperiment},
		{"POST", "experiments/set-experiment-tag", h.setExperimentTag},
		{"POST", "experiments/delete-experiment-tag", h.deleteExperimentTag},

		{"POST", "runs/create", h.createRun},
		{"GET", "runs/get", h.getRun},
		{"POST", "runs/update", h.updateRun},
		{"POST", "runs/delete", h.deleteRun},
		{"POST", "runs/restore", h.restoreRun},
		{"POST", "runs/log-metric", h.logMetric},
		{"POST", "runs/log-parameter", h.logParam},
		{"POST", "runs/set-tag", h.setTag},
		{"POST", "runs/delete-tag", h.deleteTag},
		{"POST", "runs/log-batch", h.logBatch},
		{"POST", "runs/log-inputs", h.logInputs},
		{"POST", "runs/log-model", h.logModel},
		{"POST", "runs/outputs", h.logOutputs},
		{"POST", "runs/search", h.searchRuns},
		{"GET", "runs/search", h.searchRuns},

		{"GET", "metrics/get-history", h.getMetricHistory},
		{"GET", "metrics/get-history-bulk-interval", h.getMetricHistoryBulkInterval},
		{"GET", "artifacts/list", h.listArtifacts},

		{"POST", "logged-models", h.createLoggedModel},
		{"POST", "logged-models/search", h.searchLoggedModels},
		{"GET", "logged-models/{model_id}", h.getLoggedModel},
		{"PATCH", "logged-models/{model_id}", h.finalizeLoggedModel},
		{"DELETE", "logged-models/{model_id}", h.deleteLoggedModel},
		{"PATCH", "logged-models/{model_id}/tags", h.setLoggedModelTags},
		{"DELETE", "logged-models/{model_id}/tags/{tag_key...}", h.deleteLoggedModelTag},
		{"POST", "logged-models/{model_id}/params", h.logLoggedModelParams},
	}
}

// adapt renders an apiFunc's result: 200 with the message (or {}), or
// MLflow's JSON error.
func (h *handler) adapt(f apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := f(r)
		if err != nil {
			writeError(w, r, h.log, err)
			return
		}
		if resp == nil {
			resp = struct{}{}
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
