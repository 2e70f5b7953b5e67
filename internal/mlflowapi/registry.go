package mlflowapi

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/registry"
	"github.com/posml/posml/internal/search"
	"github.com/posml/posml/internal/sqlstore"
)

// The model registry API (model_registry.proto): registered models, model
// versions, tags, aliases, stages and download URIs, served under the same
// prefixes as the tracking API.

// RegistryStore is the model registry store the API serves
// (*sqlstore.Store). A store given to Handler that lacks it answers the
// registry routes with ENDPOINT_NOT_FOUND.
type RegistryStore interface {
	CreateRegisteredModel(ctx context.Context, name string, tags []registry.Tag, description string) (registry.RegisteredModel, error)
	GetRegisteredModel(ctx context.Context, name string) (registry.RegisteredModel, error)
	RenameRegisteredModel(ctx context.Context, name, newName string) (registry.RegisteredModel, error)
	UpdateRegisteredModel(ctx context.Context, name, description string) (registry.RegisteredModel, error)
	DeleteRegisteredModel(ctx context.Context, name string) error
	SearchRegisteredModels(ctx context.Context, q sqlstore.RegistryQuery) ([]registry.RegisteredModel, bool, error)
	GetLatestVersions(ctx context.Context, name string, stages []string) ([]registry.ModelVersion, error)
	SetRegisteredModelTag(ctx context.Context, name string, tag registry.Tag) error
	DeleteRegisteredModelTag(ctx context.Context, name, key string) error

	CreateModelVersion(ctx context.Context, nv sqlstore.NewModelVersion) (registry.ModelVersion, error)
	GetModelVersion(ctx context.Context, name string, version int64) (registry.ModelVersion, error)
	UpdateModelVersion(ctx context.Context, name string, version int64, description string) (registry.ModelVersion, error)
	TransitionModelVersionStage(ctx context.Context, name string, version int64, stage string, archiveExisting bool) (registry.ModelVersion, error)
	DeleteModelVersion(ctx context.Context, name string, version int64) error
	GetModelVersionDownloadURI(ctx context.Context, name string, version int64) (string, error)
	SearchModelVersions(ctx context.Context, q sqlstore.RegistryQuery) ([]registry.ModelVersion, bool, error)
	SetModelVersionTag(ctx context.Context, name string, version int64, tag registry.Tag) error
	DeleteModelVersionTag(ctx context.Context, name string, version int64, key string) error

	SetRegisteredModelAlias(ctx context.Context, name, alias string, version int64) error
	DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error
	GetModelVersionByAlias(ctx context.Context, name, alias string) (registry.ModelVersion, error)
}

var _ RegistryStore = (*sqlstore.Store)(nil)

// registryRoute is a registry endpoint; its function gets the registry
// store.
type registryRoute struct {
	method, path string
	f            func(rs RegistryStore, r *http.Request) (any, error)
}

// registryRouteTable lists the registry endpoints, relative to a prefix.
func (h *handler) registryRouteTable() []registryRoute {
	return []registryRoute{
		{"POST", "registered-models/create", h.createRegisteredModel},
		{"GET", "registered-models/get", h.getRegisteredModel},
		{"POST", "registered-models/rename", h.renameRegisteredModel},
		{"PATCH", "registered-models/update", h.updateRegisteredModel},
		{"DELETE", "registered-models/delete", h.deleteRegisteredModel},
		{"GET", "registered-models/search", h.searchRegisteredModels},
		{"POST", "registered-models/get-latest-versions", h.getLatestVersions},
		{"GET", "registered-models/get-latest-versions", h.getLatestVersions},
		{"POST", "registered-models/set-tag", h.setRegisteredModelTag},
		{"DELETE", "registered-models/delete-tag", h.deleteRegisteredModelTag},
		{"POST", "registered-models/alias", h.setRegisteredModelAlias},
		{"GET", "registered-models/alias", h.getModelVersionByAlias},
		{"DELETE", "registered-models/alias", h.deleteRegisteredModelAlias},

		{"POST", "model-versions/create", h.createModelVersion},
		{"GET", "model-versions/get", h.getModelVersion},
		{"PATCH", "model-versions/update", h.updateModelVersion},
		{"DELETE", "model-versions/delete", h.deleteModelVersion},
		{"GET", "model-versions/search", h.searchModelVersions},
		{"POST", "model-versions/transition-stage", h.transitionModelVersionStage},
		{"POST", "model-versions/set-tag", h.setModelVersionTag},
		{"DELETE", "model-versions/delete-tag", h.deleteModelVersionTag},
		{"GET", "model-versions/get-download-uri", h.getModelVersionDownloadURI},
	}
}

// RegistryRoutes lists the registry endpoints (for tests and docs).
func RegistryRoutes() []Route {
	var out []Route
	for _, rt := range (&handler{}).registryRouteTable() {
		out = append(out, Route{rt.method, rt.path})
	}
	return out
}

// registryRoutes registers the registry endpoints on m under every prefix.
func (h *handler) registryRoutes(m *http.ServeMux) {
	for _, rt := range h.registryRouteTable() {
		for _, p := range Prefixes {
			m.Handle(rt.method+" "+p+rt.path, h.adapt(h.registryFunc(rt.f)))
		}
	}
}

// registryFunc gives f the registry store and attributes the request's
// changes to its actor: the one an authenticating middleware put in the
// context (registry.WithActor), else the user of HTTP basic auth, else
// nobody.
func (h *handler) registryFunc(f func(RegistryStore, *http.Request) (any, error)) apiFunc {
	return func(r *http.Request) (any, error) {
		rs, ok := h.store.(RegistryStore)
		if !ok {
			return nil, &apiError{status: http.StatusNotFound, code: "ENDPOINT_NOT_FOUND", msg: "No API endpoint found for " + r.Method + " " + r.URL.Path}
		}
		if _, ok := registry.ActorFrom(r.Context()); !ok {
			user, _, _ := r.BasicAuth()
			r = r.WithContext(registry.WithActor(r.Context(), registry.Actor{UserID: user}))
		}
		return f(rs, r)
	}
}

// Wire entities (model_registry.proto).

type wireAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

type wireRegisteredModel struct {
	Name                 string             `json:"name"`
	CreationTimestamp    int64              `json:"creation_timestamp"`
	LastUpdatedTimestamp int64              `json:"last_updated_timestamp"`
	Description          string             `json:"description"`
	LatestVersions       []wireModelVersion `json:"latest_versions,omitempty"`
	Tags                 []wireKV           `json:"tags,omitempty"`
	Aliases              []wireAlias        `json:"aliases,omitempty"`
}

// wireModelVersion is a ModelVersion. The version is a string and the
// status always READY: a client that saw no status would take it for
// PENDING_REGISTRATION and poll for five minutes.
type wireModelVersion struct {
	Name                 string   `json:"name"`
	Version              string   `json:"version"`
	CreationTimestamp    int64    `json:"creation_timestamp"`
	LastUpdatedTimestamp int64    `json:"last_updated_timestamp"`
	UserID               string   `json:"user_id,omitempty"`
	CurrentStage         string   `json:"current_stage"`
	Description          string   `json:"description"`
	Source               string   `json:"source"`
	RunID                string   `json:"run_id"`
	Status               string   `json:"status"`
	StatusMessage        string   `json:"status_message,omitempty"`
	Tags                 []wireKV `json:"tags,omitempty"`
	RunLink              string   `json:"run_link"`
	Aliases              []string `json:"aliases,omitempty"`
	ModelID              string   `json:"model_id,omitempty"`
}

func regKVs(tags []registry.Tag) []wireKV {
	if len(tags) == 0 {
		return nil
	}
	out := make([]wireKV, len(tags))
	for i, t := range tags {
		out[i] = wireKV{t.Key, t.Value}
	}
	return out
}

func toWireModelVersion(mv registry.ModelVersion) wireModelVersion {
	status := mv.Status
	if status == "" {
		status = registry.StatusReady
	}
	return wireModelVersion{
		Name: mv.Name, Version: mv.VersionString(), CreationTimestamp: mv.CreationTimestamp,
		LastUpdatedTimestamp: mv.LastUpdatedTimestamp, UserID: mv.UserID, CurrentStage: string(mv.CurrentStage),
		Description: mv.Description, Source: mv.Source, RunID: mv.RunID, Status: status,
		StatusMessage: mv.StatusMessage, Tags: regKVs(mv.Tags), RunLink: mv.RunLink, Aliases: mv.Aliases,
		ModelID: mv.ModelID,
	}
}

func toWireModelVersions(mvs []registry.ModelVersion) []wireModelVersion {
	if len(mvs) == 0 {
		return nil
	}
	out := make([]wireModelVersion, len(mvs))
	for i, mv := range mvs {
		out[i] = toWireModelVersion(mv)
	}
	return out
}

func toWireRegisteredModel(rm registry.RegisteredModel) wireRegisteredModel {
	w := wireRegisteredModel{
		Name: rm.Name, CreationTimestamp: rm.CreationTimestamp, LastUpdatedTimestamp: rm.LastUpdatedTimestamp,
		Description: rm.Description, LatestVersions: toWireModelVersions(rm.LatestVersions), Tags: regKVs(rm.Tags),
	}
	for _, a := range rm.Aliases {
		w.Aliases = append(w.Aliases, wireAlias{Alias: a.Alias, Version: strconv.FormatInt(a.Version, 10)})
	}
	return w
}

func registryTags(kvs []wireKVIn) []registry.Tag {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]registry.Tag, len(kvs))
	for i, kv := range kvs {
		out[i] = registry.Tag{Key: kv.Key, Value: kv.Value}
	}
	return out
}

// versionField is a model version number in a request: a string, as the
// proto declares it, or a number.
type versionField string

// UnmarshalJSON implements json.Unmarshaler.
func (v *versionField) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = versionField(s)
		return nil
	case b[0] == '-' || b[0] >= '0' && b[0] <= '9':
		*v = versionField(b)
		return nil
	}
	return typeError(jsonKind(b), reflect.TypeFor[string]())
}

// version parses the field, which must be present.
func (v versionField) version() (int64, error) {
	return registry.ParseVersion(string(v))
}

type registeredModelResponse struct {
	RegisteredModel wireRegisteredModel `json:"registered_model"`
}

type modelVersionResponse struct {
	ModelVersion wireModelVersion `json:"model_version"`
}

type nameRequest struct {
	Name string `json:"name"`
}

// Registered models.

func (h *handler) createRegisteredModel(rs RegistryStore, r *http.Request) (any, error) {
	var req struct {
		Name        string     `json:"name"`
		Tags        []wireKVIn `json:"tags"`
		Description string     `json:"description"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("name", req.Name); err != nil {
		return nil, err
	}
	rm, err := rs.CreateRegisteredModel(r.Context(), req.Name, registryTags(req.Tags), req.Description)
	if err != nil {
		return nil, err
	}
	return registeredModelResponse{toWireRegisteredModel(rm)}, nil
}

func (h *handler) getRegisteredModel(rs RegistryStore, r *http.Request) (any, error) {
	var req nameRequest
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("name", req.Name); err != nil {
		return nil, err
	}
	rm, err := rs.GetRegisteredModel(r.Context(), req.Name)
	if err != nil {
		return nil, err
	}
	return registeredModelResponse{toWireRegisteredModel(rm)}, nil
}

func (h *handler) renameRegisteredModel(rs RegistryStore, r *http.Request) (any, error) {
	var req struct {
		Name    string `json:"name"`
		NewName string `json:"new_name"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("name", req.Name, "new_name", req.NewName); err != nil {
		return nil, err
	}
	rm, err := rs.RenameRegisteredModel(r.Context(), req.Name, req.NewName)
	if err != nil {
		return nil, err
	}
	return registeredModelResponse{toWireRegisteredModel(rm)}, nil
}

func (h *handler) updateRegisteredModel(rs RegistryStore, r *http.Request) (any, error) {
	var req struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("name", req.Name); err != nil {
		return nil, err
	}
	rm, err := rs.UpdateRegisteredModel(r.Context(), req.Name, req.Description)
	if err != nil {
		return nil, err
	}
	return registeredModelResponse{toWireRegisteredModel(rm)}, nil
}

func (h *handler) deleteRegisteredModel(rs RegistryStore, r *http.Request) (any, error) {
	var req nameRequest
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("name", req.Name); err != nil {
		return nil, err
	}
	return nil, rs.DeleteRegisteredModel(r.Context(), req.Name)
}

// registryQuery reads the common search parameters.
func registryQuery(r *http.Request, def, limit int) (sqlstore.RegistryQuery, string, []string, error) {
	var req struct {
		Filter     string  `json:"filter"`
		MaxResults Int64   `json:"max_results"`
		OrderBy    Strings `json:"order_by"`
		PageToken  string  `json:"page_token"`
	}
	var q sqlstore.RegistryQuery
	if _, err := decode(r, &req); err != nil {
		return q, "", nil, err
	}
	q.MaxResults = def
	if req.MaxResults.Set {
		if err := search.CheckMaxResults(req.MaxResults.V, int64(limit)); err != nil {
			return q, "", nil, err
		}
		q.MaxResults = int(max(req.MaxResults.V, -1))
	}
	off, err := search.DecodePageToken(req.PageToken)
	if err != nil {
		return q, "", nil, err
	}
	q.Offset = off
	return q, req.Filter, req.OrderBy, nil
}

func (h *handler) searchRegisteredModels(rs RegistryStore, r *http.Request) (any, error) {
	q, filter, orderBy, err := registryQuery(r, sqlstore.DefaultRegisteredModelResults, sqlstore.MaxRegisteredModelResults)
	if err != nil {
		return nil, err
	}
	if q.Filter, err = search.ParseRegisteredModelFilter(filter); err != nil {
		return nil, err
	}
	if q.OrderBy, err = search.ParseRegisteredModelOrderBy(orderBy); err != nil {
		return nil, err
	}
	rms, more, err := rs.SearchRegisteredModels(r.Context(), q)
	if err != nil {
		return nil, err
	}
	var resp struct {
		RegisteredModels []wireRegisteredModel `json:"registered_models,omitempty"`
		NextPageToken    string                `json:"next_page_token,omitempty"`
	}
	for _, rm := range rms {
		resp.RegisteredModels = append(resp.RegisteredModels, toWireRegisteredModel(rm))
	}
	if more {
		resp.NextPageToken = search.EncodePageToken(q.Offset + q.MaxResults)
	}
	return resp, nil
}

func (h *handler) getLatestVersions(rs RegistryStore, r *http.Request) (any, error) {
	var req struct {
		Name   string  `json:"name"`
		Stages Strings `json:"stages"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("name", req.Name); err != nil {
		return nil, err
	}
	mvs, err := rs.GetLatestVersions(r.Context(), req.Name, req.Stages)
	if err != nil {
		return nil, err
	}
	var resp struct {
		ModelVersions []wireModelVersion `json:"model_versions,omitempty"`
	}
	resp.ModelVersions = toWireModelVersions(mvs)
	return resp, nil
}

func (h *handler) setRegisteredModelTag(rs RegistryStore, r *http.Request) (any, error) {
	var req struct {
		Name  string `json:"name"`
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("name", req.Name, "key", req.Key); err != nil {
		return nil, err
	}
	return nil, rs.SetRegisteredModelTag(r.Context(), req.Name, registry.Tag{Key: req.Key, Value: req.Value})
}

func (h *handler) deleteRegisteredModelTag(rs RegistryStore, r *http.Request) (any, error) {
	var req struct {
		Name string `json:"name"`
		Key  string `json:"key"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("name", req.Name, "key", req.Key); err != nil {
		return nil, err
	}
	return nil, rs.DeleteRegisteredModelTag(r.Context(), req.Name, req.Key)
}

// Aliases.

type aliasRequest struct {
	Name    string       `json:"name"`
	Alias   string       `json:"alias"`
	Version versionField `json:"version"`
}

func (h *handler) setRegisteredModelAlias(rs RegistryStore, r *http.Request) (any, error) {
	var req aliasRequest
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("name", req.Name, "alias", req.Alias, "version", string(req.Version)); err != nil {
		return nil, err
	}
	if err := registry.ValidateAlias(req.Alias); err != nil {
		return nil, err
	}
	v, err := req.Version.version()
	if err != nil {
		return nil, err
	}
	return nil, rs.SetRegisteredModelAlias(r.Context(), req.Name, req.Alias, v)
}

func (h *handler) deleteRegisteredModelAlias(rs RegistryStore, r *http.Request) (any, error) {
	var req aliasRequest
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("name", req.Name, "alias", req.Alias); err != nil {
		return nil, err
	}
	return nil, rs.DeleteRegisteredModelAlias(r.Context(), req.Name, req.Alias)
}

func (h *handler) getModelVersionByAlias(rs RegistryStore, r *http.Request) (any, error) {
	var req aliasRequest
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("name", req.Name, "alias", req.Alias); err != nil {
		return nil, err
	}
	mv, err := rs.GetModelVersionByAlias(r.Context(), req.Name, req.Alias)
	if err != nil {
		return nil, err
	}
	return modelVersionResponse{toWireModelVersion(mv)}, nil
}

// Model versions.

func (h *handler) createModelVersion(rs RegistryStore, r *http.Request) (any, error) {
	var req struct {
		Name        string     `json:"name"`
		Source      string     `json:"source"`
		RunID       string     `json:"run_id"`
		Tags        []wireKVIn `json:"tags"`
		RunLink     string     `json:"run_link"`
		Description string     `json:"description"`
		ModelID     string     `json:"model_id"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("name", req.Name, "source", req.Source); err != nil {
		return nil, err
	}
	if h.sourceRE != nil && !h.sourceRE.MatchString(req.Source) {
		return nil, posml.Errorf(posml.KindInvalid, "Invalid model version source: '"+req.Source+"'.")
	}
	tags := registryTags(req.Tags)
	if !isPromptRequest(tags) { // MLflow does not check the source of a prompt
		ctx := r.Context()
		var err error
		if req.ModelID != "" {
			err = registry.ValidateSource(req.Source, req.ModelID, registry.OwnedByModel, func(id string) (string, error) {
				m, err := h.store.GetLoggedModel(ctx, id, false)
				return m.ArtifactURI, err
			})
		} else {
			err = registry.ValidateSource(req.Source, req.RunID, registry.OwnedByRun, func(id string) (string, error) {
				info, err := h.store.GetRunInfo(ctx, id)
				return info.ArtifactURI, err
			})
		}
		if err != nil {
			return nil, err
		}
	}
	mv, err := rs.CreateModelVersion(r.Context(), sqlstore.NewModelVersion{
		Name: req.Name, Source: req.Source, RunID: req.RunID, RunLink: req.RunLink,
		Description: req.Description, Tags: tags, ModelID: req.ModelID,
	})
	if err != nil {
		return nil, err
	}
	return modelVersionResponse{toWireModelVersion(mv)}, nil
}

func isPromptRequest(tags []registry.Tag) bool {
	for _, t := range tags {
		if t.Key == registry.TagIsPrompt {
			return true
		}
	}
	return false
}

type versionRequest struct {
	Name    string       `json:"name"`
	Version versionField `json:"version"`
}

// nameVersion checks and parses the name and version of a request.
func (v versionRequest) nameVersion() (string, int64, error) {
	if err := require("name", v.Name, "version", string(v.Version)); err != nil {
		return "", 0, err
	}
	n, err := v.Version.version()
	return v.Name, n, err
}

func (h *handler) getModelVersion(rs RegistryStore, r *http.Request) (any, error) {
	var req versionRequest
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	name, v, err := req.nameVersion()
	if err != nil {
		return nil, err
	}
	mv, err := rs.GetModelVersion(r.Context(), name, v)
	if err != nil {
		return nil, err
	}
	return modelVersionResponse{toWireModelVersion(mv)}, nil
}

func (h *handler) updateModelVersion(rs RegistryStore, r *http.Request) (any, error) {
	var req struct {
		versionRequest
		Description *string `json:"description"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	name, v, err := req.nameVersion()
	if err != nil {
		return nil, err
	}
	desc := ""
	if req.Description != nil {
		desc = *req.Description
	}
	mv, err := rs.UpdateModelVersion(r.Context(), name, v, desc)
	if err != nil {
		return nil, err
	}
	return modelVersionResponse{toWireModelVersion(mv)}, nil
}

func (h *handler) transitionModelVersionStage(rs RegistryStore, r *http.Request) (any, error) {
	var req struct {
		versionRequest
		Stage                   string `json:"stage"`
		ArchiveExistingVersions Bool   `json:"archive_existing_versions"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("name", req.Name, "version", string(req.Version), "stage", req.Stage); err != nil {
		return nil, err
	}
	name, v, err := req.nameVersion()
	if err != nil {
		return nil, err
	}
	mv, err := rs.TransitionModelVersionStage(r.Context(), name, v, req.Stage, req.ArchiveExistingVersions.V)
	if err != nil {
		return nil, err
	}
	return modelVersionResponse{toWireModelVersion(mv)}, nil
}

func (h *handler) deleteModelVersion(rs RegistryStore, r *http.Request) (any, error) {
	var req versionRequest
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	name, v, err := req.nameVersion()
	if err != nil {
		return nil, err
	}
	return nil, rs.DeleteModelVersion(r.Context(), name, v)
}

// getModelVersionDownloadURI answers where a version's artifacts are. As in
// MLflow, the request has no schema check: a missing name or version fails
// the store's validation.
func (h *handler) getModelVersionDownloadURI(rs RegistryStore, r *http.Request) (any, error) {
	var req versionRequest
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := registry.ValidateModelName(req.Name); err != nil {
		return nil, err
	}
	v, err := req.Version.version()
	if err != nil {
		return nil, err
	}
	uri, err := rs.GetModelVersionDownloadURI(r.Context(), req.Name, v)
	if err != nil {
		return nil, err
	}
	return map[string]string{"artifact_uri": uri}, nil
}

func (h *handler) searchModelVersions(rs RegistryStore, r *http.Request) (any, error) {
	q, filter, orderBy, err := registryQuery(r, sqlstore.DefaultModelVersionResults, sqlstore.MaxModelVersionResults)
	if err != nil {
		return nil, err
	}
	if q.Filter, err = search.ParseModelVersionFilter(filter); err != nil {
		return nil, err
	}
	if q.OrderBy, err = search.ParseModelVersionOrderBy(orderBy); err != nil {
		return nil, err
	}
	mvs, more, err := rs.SearchModelVersions(r.Context(), q)
	if err != nil {
		return nil, err
	}
	var resp struct {
		ModelVersions []wireModelVersion `json:"model_versions,omitempty"`
		NextPageToken string             `json:"next_page_token,omitempty"`
	}
	resp.ModelVersions = toWireModelVersions(mvs)
	if more {
		resp.NextPageToken = search.EncodePageToken(q.Offset + q.MaxResults)
	}
	return resp, nil
}

func (h *handler) setModelVersionTag(rs RegistryStore, r *http.Request) (any, error) {
	var req struct {
		versionRequest
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("name", req.Name, "version", string(req.Version), "key", req.Key); err != nil {
		return nil, err
	}
	name, v, err := req.nameVersion()
	if err != nil {
		return nil, err
	}
	return nil, rs.SetModelVersionTag(r.Context(), name, v, registry.Tag{Key: req.Key, Value: req.Value})
}

func (h *handler) deleteModelVersionTag(rs RegistryStore, r *http.Request) (any, error) {
	var req struct {
		versionRequest
		Key string `json:"key"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("name", req.Name, "version", string(req.Version), "key", req.Key); err != nil {
		return nil, err
	}
	name, v, err := req.nameVersion()
	if err != nil {
		return nil, err
	}
	return nil, rs.DeleteModelVersionTag(r.Context(), name, v, req.Key)
}
