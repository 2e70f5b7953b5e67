package mlflowapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/auth"
	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/registry"
	"github.com/posml/posml/internal/sqlstore"
	"github.com/posml/posml/internal/tracking"
)

// Attribution of tracking requests to pipeline runs.
//
// A request carrying "Authorization: Bearer <run token>" (the MLflow client
// sends MLFLOW_TRACKING_TOKEN so) acts for the token's pipeline run: the
// MLflow runs it creates are tagged with the pipeline run, its project and
// commit; the runs and model versions it creates are recorded as the
// pipeline run's outputs; its registry changes are attributed to it; and it
// may write only experiments and registered models its project owns
// (lineage.Claim). Reads are not restricted. A request without a token is
// anonymous, as before, unless AuthConfig.RequireAuth.

// TokenVerifier checks run tokens (*auth.Issuer). An error wrapping
// auth.ErrUnauthenticated means the token is unknown or expired.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (lineage.Caller, error)
}

// LineageStore keeps resource ownership and pipeline run outputs
// (*sqlstore.Store).
type LineageStore interface {
	ResourceOwner(ctx context.Context, kind lineage.ResourceKind, name string) (pipeline.ProjectID, error)
	ClaimResource(ctx context.Context, c lineage.Claim) (pipeline.ProjectID, error)
	AddRunOutput(ctx context.Context, o pipeline.Output) error
}

var _ LineageStore = (*sqlstore.Store)(nil)

// AuthConfig configures WithAuth.
type AuthConfig struct {
	Tokens  TokenVerifier
	Lineage LineageStore
	// Store resolves runs and logged models to their experiments.
	Store Store
	// RequireAuth refuses requests without a token (401): for a server
	// reachable beyond the loopback interface.
	RequireAuth bool
	// Log receives failures to record lineage; nil discards them.
	Log *slog.Logger
	// Users, when set, also accepts users (userauth.go): HTTP Basic with
	// a password, or a Bearer user token. A user may do what an anonymous
	// request may.
	Users UserVerifier
}

// withStoreAuth is how Handler installs WithAuth: with the store's own
// tokens and lineage when it keeps them (*sqlstore.Store), anonymous
// requests allowed.
func withStoreAuth(h http.Handler, store Store, log *slog.Logger) http.Handler {
	ls, ok := store.(LineageStore)
	ts, ok2 := store.(auth.Store)
	if !ok || !ok2 {
		return h
	}
	return WithAuth(h, AuthConfig{Tokens: auth.New(ts, auth.Config{}), Lineage: ls, Store: store, Log: log})
}

// WithAuth wraps the MLflow API or the artifact proxy with run-token
// attribution and ownership checks. Handler installs it by itself (with
// anonymous requests allowed) when its store keeps tokens; wrap the
// artifact proxy's handler, and wrap Handler again for RequireAuth: a
// request is checked by the outermost WithAuth only.
func WithAuth(next http.Handler, cfg AuthConfig) http.Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	a := &authorizer{cfg: cfg}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, done := lineage.CallerFrom(r.Context()); done {
			next.ServeHTTP(w, r) // an outer WithAuth checked it
			return
		}
		if cfg.Users != nil && checkUser(w, r, cfg.Users, cfg.Log, next) {
			return
		}
		tok, ok := bearerToken(r)
		if !ok {
			if cfg.RequireAuth {
				msg := "This server requires a token: set MLFLOW_TRACKING_TOKEN."
				if cfg.Users != nil {
					msg = "This server requires authentication: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN."
					w.Header().Set("WWW-Authenticate", `Basic realm="posml"`)
				}
				writeJSON(w, http.StatusUnauthorized, errorBody{ErrorCode: "UNAUTHENTICATED", Message: msg})
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		c, err := cfg.Tokens.Verify(r.Context(), tok)
		if err != nil {
			if errors.Is(err, auth.ErrUnauthenticated) {
				writeJSON(w, http.StatusUnauthorized, errorBody{ErrorCode: "UNAUTHENTICATED", Message: "Invalid or expired run token."})
				return
			}
			writeError(w, r, cfg.Log, err)
			return
		}
		ctx := lineage.WithCaller(r.Context(), c)
		ctx = registry.WithActor(ctx, registry.Actor{PipelineRunID: c.PipelineRunID.String()})
		r2 := r.WithContext(ctx)
		a.serve(w, r2, c, next)
		r.Pattern = r2.Pattern // for the request log and metrics around us
	})
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

type authorizer struct {
	cfg AuthConfig
}

// authRequest holds the fields of a request that name what it writes.
type authRequest struct {
	ExperimentID string `json:"experiment_id"`
	RunID        string `json:"run_id"`
	RunUUID      string `json:"run_uuid"`
	Name         string `json:"name"`
	NewName      string `json:"new_name"`
	Key          string `json:"key"` // runs/set-tag, runs/delete-tag
	Tags         []struct {
		Key string `json:"key"`
	} `json:"tags"` // runs/log-batch
}

// after says what to record once a write succeeded.
type after uint8

const (
	afterNothing after = iota
	afterRunCreated
	afterVersionCreated
	afterExperimentCreated
	afterModelCreated
	afterModelRenamed
	afterExperimentRenamed
)

// serve checks a token caller's request and runs it.
func (a *authorizer) serve(w http.ResponseWriter, r *http.Request, c lineage.Caller, next http.Handler) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		next.ServeHTTP(w, r)
		return
	}
	if exp, ok := artifactWriteExperiment(r.URL.Path); ok {
		if err := a.checkExperimentID(r.Context(), c, exp); err != nil {
			writeError(w, r, a.cfg.Log, err)
			return
		}
		next.ServeHTTP(w, r)
		return
	}
	rel, ok := apiPath(r.URL.Path)
	if !ok {
		next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeError(w, r, a.cfg.Log, posml.Errorf(posml.KindInvalid, "Could not read the request body: "+err.Error()))
		return
	}
	var req authRequest
	_ = json.Unmarshal(normalizeBody(body), &req) // a malformed body is the handler's to report
	then, err := a.check(r.Context(), c, r.Method, rel, req)
	if err != nil {
		writeError(w, r, a.cfg.Log, err)
		return
	}
	if r.Method == http.MethodPost && rel == "runs/create" {
		body = withAttribution(body, c)
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	r.Header.Del("Content-Length")
	if then == afterNothing {
		next.ServeHTTP(w, r)
		return
	}
	bw := &bufferedWriter{header: http.Header{}}
	next.ServeHTTP(bw, r)
	if bw.status == 0 || bw.status == http.StatusOK {
		a.record(r.Context(), c, then, req, bw.body.Bytes())
	}
	bw.flush(w)
}

// check decides whether caller c may make a write; it returns what to
// record after it, or a PERMISSION_DENIED error.
func (a *authorizer) check(ctx context.Context, c lineage.Caller, method, rel string, req authRequest) (after, error) {
	runID := firstNonEmpty(req.RunID, req.RunUUID)
	switch {
	case rel == "experiments/create":
		return afterExperimentCreated, a.checkName(ctx, c, lineage.Experiment, req.Name, true)
	case rel == "experiments/update":
		if err := a.checkExperimentID(ctx, c, req.ExperimentID); err != nil {
			return afterNothing, err
		}
		if req.NewName != "" {
			return afterExperimentRenamed, a.checkName(ctx, c, lineage.Experiment, req.NewName, true)
		}
		return afterNothing, nil
	case rel == "experiments/delete", rel == "experiments/restore",
		rel == "experiments/set-experiment-tag", rel == "experiments/delete-experiment-tag":
		return afterNothing, a.checkExperimentID(ctx, c, req.ExperimentID)
	case rel == "runs/create":
		exp := req.ExperimentID
		if exp == "" {
			exp = tracking.DefaultExperimentID
		}
		return afterRunCreated, a.checkExperimentID(ctx, c, exp)
	case rel == "logged-models" && method == http.MethodPost:
		return afterNothing, a.checkExperimentID(ctx, c, req.ExperimentID)
	case strings.HasPrefix(rel, "runs/") && rel != "runs/search":
		if err := checkAttributionTags(c, rel, req); err != nil {
			return afterNothing, err
		}
		return afterNothing, a.checkRun(ctx, c, runID)
	case strings.HasPrefix(rel, "logged-models/") && rel != "logged-models/search":
		id, _, _ := strings.Cut(strings.TrimPrefix(rel, "logged-models/"), "/")
		return afterNothing, a.checkLoggedModel(ctx, c, id)
	case rel == "registered-models/create":
		return afterModelCreated, a.checkName(ctx, c, lineage.RegisteredModel, req.Name, true)
	case rel == "registered-models/rename":
		if err := a.checkName(ctx, c, lineage.RegisteredModel, req.Name, false); err != nil {
			return afterNothing, err
		}
		return afterModelRenamed, a.checkName(ctx, c, lineage.RegisteredModel, req.NewName, true)
	case rel == "model-versions/create":
		return afterVersionCreated, a.checkName(ctx, c, lineage.RegisteredModel, req.Name, false)
	case strings.HasPrefix(rel, "registered-models/") && rel != "registered-models/get-latest-versions",
		strings.HasPrefix(rel, "model-versions/"):
		return afterNothing, a.checkName(ctx, c, lineage.RegisteredModel, req.Name, false)
	}
	return afterNothing, nil // reads sent by POST (searches), unknown routes
}

// denied is MLflow's PERMISSION_DENIED error.
func denied(c lineage.Caller, what string) error {
	return &apiError{status: http.StatusForbidden, code: "PERMISSION_DENIED",
		msg: fmt.Sprintf("The run token of project %s (pipeline run %s) cannot write %s: it belongs to another project or to none.", c.Project, c.PipelineRunID, what)}
}

// checkAttributionTags refuses a token caller's change of the tags that
// attribute runs to pipeline runs.
func checkAttributionTags(c lineage.Caller, rel string, req authRequest) error {
	keys := []string{}
	switch rel {
	case "runs/set-tag", "runs/delete-tag":
		keys = append(keys, req.Key)
	case "runs/log-batch":
		for _, t := range req.Tags {
			keys = append(keys, t.Key)
		}
	}
	for _, k := range keys {
		if k == lineage.TagPipelineRunID || k == lineage.TagProject {
			return &apiError{status: http.StatusForbidden, code: "PERMISSION_DENIED",
				msg: fmt.Sprintf("The run token of project %s (pipeline run %s) cannot change the tag %s: posml sets it.", c.Project, c.PipelineRunID, k)}
		}
	}
	return nil
}

// checkName allows a write to the resource of a name that c's project
// owns; newOK also allows one nobody owns (a creation, which then claims
// it). An empty name is the handler's to refuse.
func (a *authorizer) checkName(ctx context.Context, c lineage.Caller, kind lineage.ResourceKind, name string, newOK bool) error {
	if name == "" {
		return nil
	}
	owner, err := a.cfg.Lineage.ResourceOwner(ctx, kind, name)
	switch {
	case err == nil && owner == c.ProjectID:
		return nil
	case err == nil:
		return denied(c, describe(kind, name))
	case posml.KindOf(err) == posml.KindNotFound && newOK:
		return nil
	case posml.KindOf(err) == posml.KindNotFound:
		return denied(c, describe(kind, name))
	}
	return err
}

func describe(kind lineage.ResourceKind, name string) string {
	if kind == lineage.Experiment {
		return fmt.Sprintf("experiment '%s'", name)
	}
	return fmt.Sprintf("registered model '%s'", name)
}

// checkExperimentID allows a write to an experiment c's project owns; an
// unknown experiment is left to the handler (404).
func (a *authorizer) checkExperimentID(ctx context.Context, c lineage.Caller, id string) error {
	if id == "" {
		return nil
	}
	e, err := a.cfg.Store.GetExperiment(ctx, id)
	if err != nil {
		if posml.KindOf(err) == posml.KindNotFound || posml.KindOf(err) == posml.KindInvalid {
			return nil
		}
		return err
	}
	return a.checkName(ctx, c, lineage.Experiment, e.Name, false)
}

func (a *authorizer) checkRun(ctx context.Context, c lineage.Caller, runID string) error {
	if runID == "" {
		return nil
	}
	info, err := a.cfg.Store.GetRunInfo(ctx, runID)
	if err != nil {
		if k := posml.KindOf(err); k == posml.KindNotFound || k == posml.KindInvalid {
			return nil
		}
		return err
	}
	return a.checkExperimentID(ctx, c, info.ExperimentID)
}

func (a *authorizer) checkLoggedModel(ctx context.Context, c lineage.Caller, id string) error {
	if id == "" {
		return nil
	}
	m, err := a.cfg.Store.GetLoggedModel(ctx, id, true)
	if err != nil {
		if k := posml.KindOf(err); k == posml.KindNotFound || k == posml.KindInvalid {
			return nil
		}
		return err
	}
	return a.checkExperimentID(ctx, c, m.ExperimentID)
}

// record notes what a successful write created: an output of the pipeline
// run, or a claim of its project. A failure is logged, not returned: the
// write is done and the client must not repeat it.
func (a *authorizer) record(ctx context.Context, c lineage.Caller, then after, req authRequest, resp []byte) {
	var err error
	claim := func(kind lineage.ResourceKind, name string) {
		_, err = a.cfg.Lineage.ClaimResource(ctx, lineage.Claim{Kind: kind, Name: name, ProjectID: c.ProjectID})
	}
	switch then {
	case afterRunCreated:
		var out struct {
			Run struct {
				Info struct {
					RunID string `json:"run_id"`
				} `json:"info"`
			} `json:"run"`
		}
		if json.Unmarshal(resp, &out) == nil && out.Run.Info.RunID != "" {
			err = a.cfg.Lineage.AddRunOutput(ctx, pipeline.Output{RunID: c.PipelineRunID, MLflowRunID: out.Run.Info.RunID})
		}
	case afterVersionCreated:
		var out modelVersionResponse
		if json.Unmarshal(resp, &out) == nil && out.ModelVersion.Name != "" {
			v, perr := registry.ParseVersion(out.ModelVersion.Version)
			if perr == nil {
				err = a.cfg.Lineage.AddRunOutput(ctx, pipeline.Output{RunID: c.PipelineRunID, MLflowRunID: out.ModelVersion.RunID,
					ModelName: out.ModelVersion.Name, ModelVersion: int(v)})
			}
		}
	case afterExperimentCreated:
		claim(lineage.Experiment, req.Name)
	case afterExperimentRenamed:
		claim(lineage.Experiment, req.NewName)
	case afterModelCreated:
		claim(lineage.RegisteredModel, req.Name)
	case afterModelRenamed:
		claim(lineage.RegisteredModel, req.NewName)
	}
	if err != nil {
		a.cfg.Log.ErrorContext(ctx, "record lineage", "pipeline_run_id", c.PipelineRunID.String(), "err", err)
	}
}

// withAttribution adds the tags of the pipeline run to a runs/create body:
// posml.pipeline_run_id, posml.project and mlflow.source.git.commit replace
// what the client sent; mlflow.source.name is added when absent. A body
// that is not a JSON object is returned as it is, for the handler to
// refuse.
func withAttribution(body []byte, c lineage.Caller) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(normalizeBody(body), &m) != nil || m == nil {
		return body
	}
	var tags []map[string]any
	if raw, ok := m["tags"]; ok && json.Unmarshal(raw, &tags) != nil {
		return body
	}
	set := map[string]string{
		lineage.TagPipelineRunID: c.PipelineRunID.String(),
		lineage.TagProject:       c.Project,
	}
	if c.Commit != "" {
		set[lineage.TagGitCommit] = c.Commit
	}
	out := make([]map[string]any, 0, len(tags)+len(set)+1)
	hasSource := false
	for _, t := range tags {
		k, _ := t["key"].(string)
		if _, ours := set[k]; ours {
			continue
		}
		if k == lineage.TagSourceName {
			hasSource = true
		}
		out = append(out, t)
	}
	for _, k := range []string{lineage.TagPipelineRunID, lineage.TagProject, lineage.TagGitCommit} {
		if v, ok := set[k]; ok {
			out = append(out, map[string]any{"key": k, "value": v})
		}
	}
	if !hasSource {
		out = append(out, map[string]any{"key": lineage.TagSourceName, "value": lineage.SourceName})
	}
	b, err := json.Marshal(out)
	if err != nil {
		return body
	}
	m["tags"] = b
	nb, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return nb
}

// normalizeBody undoes what decode tolerates: an empty body, or one that
// is a JSON string holding the object.
func normalizeBody(b []byte) []byte {
	raw := bytes.TrimSpace(b)
	if len(raw) == 0 {
		return []byte("{}")
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return []byte(s)
		}
	}
	return raw
}

// apiPath returns the route of an MLflow API path, relative to its prefix.
func apiPath(p string) (string, bool) {
	for _, pre := range Prefixes {
		if rel, ok := strings.CutPrefix(p, pre); ok {
			return rel, true
		}
	}
	return "", false
}

// artifactPrefixes are where the artifact proxy serves.
var artifactPrefixes = []string{"/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow-artifacts/"}

// artifactWriteExperiment returns the experiment ID of an artifact proxy
// path that writes (artifacts/<exp>/..., mpu/<op>/<exp>/...).
func artifactWriteExperiment(p string) (string, bool) {
	for _, pre := range artifactPrefixes {
		rel, ok := strings.CutPrefix(p, pre)
		if !ok {
			continue
		}
		segs := strings.Split(rel, "/")
		switch {
		case segs[0] == "artifacts" && len(segs) > 1:
			return segs[1], true
		case segs[0] == "mpu" && len(segs) > 2:
			return segs[2], true
		}
		// A write to no experiment: the proxy refuses it.
		return "", true
	}
	return "", false
}

// bufferedWriter holds a response until lineage is recorded.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedWriter) flush(w http.ResponseWriter) {
	for k, vs := range b.header {
		w.Header()[k] = vs
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	w.Write(b.body.Bytes())
}
