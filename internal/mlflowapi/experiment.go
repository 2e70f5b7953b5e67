package mlflowapi

import (
	"net/http"
	"net/url"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/search"
	"github.com/posml/posml/internal/sqlstore"
	"github.com/posml/posml/internal/tracking"
)

// Search limits (mlflow/store/tracking/__init__.py).
const (
	searchMaxResultsDefault = 1000
	searchMaxResultsLimit   = 50000
)

func (h *handler) createExperiment(r *http.Request) (any, error) {
	var req struct {
		Name             string     `json:"name"`
		ArtifactLocation string     `json:"artifact_location"`
		Tags             []wireKVIn `json:"tags"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("name", req.Name); err != nil {
		return nil, err
	}
	if err := tracking.ValidateExperimentName(req.Name); err != nil {
		return nil, err
	}
	if req.ArtifactLocation != "" {
		u, err := url.Parse(req.ArtifactLocation)
		if err == nil && (u.Fragment != "" || u.RawQuery != "") {
			return nil, posml.Errorf(posml.KindInvalid, "'artifact_location' URL can't include fragments or params.")
		}
		if len(req.ArtifactLocation) >= 5 && req.ArtifactLocation[:5] == "runs:" {
			return nil, posml.Errorf(posml.KindInvalid, "Artifact location cannot be a runs:/ URI. Given: '"+req.ArtifactLocation+"'")
		}
	}
	tags := tagsFromKVs(req.Tags)
	for _, t := range tags {
		if err := tracking.ValidateExperimentTag(t); err != nil {
			return nil, err
		}
	}
	id, err := h.store.CreateExperiment(r.Context(), req.Name, req.ArtifactLocation, tags)
	if err != nil {
		return nil, err
	}
	return map[string]string{"experiment_id": id}, nil
}

type experimentResponse struct {
	Experiment wireExperiment `json:"experiment"`
}

type experimentIDRequest struct {
	ExperimentID string `json:"experiment_id"`
}

func (h *handler) getExperiment(r *http.Request) (any, error) {
	var req experimentIDRequest
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("experiment_id", req.ExperimentID); err != nil {
		return nil, err
	}
	e, err := h.store.GetExperiment(r.Context(), req.ExperimentID)
	if err != nil {
		return nil, err
	}
	return experimentResponse{toWireExperiment(e)}, nil
}

func (h *handler) getExperimentByName(r *http.Request) (any, error) {
	var req struct {
		ExperimentName string `json:"experiment_name"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("experiment_name", req.ExperimentName); err != nil {
		return nil, err
	}
	e, err := h.store.GetExperimentByName(r.Context(), req.ExperimentName)
	if err != nil {
		return nil, err
	}
	return experimentResponse{toWireExperiment(e)}, nil
}

func (h *handler) searchExperiments(r *http.Request) (any, error) {
	var req struct {
		MaxResults Int64   `json:"max_results"`
		PageToken  string  `json:"page_token"`
		Filter     string  `json:"filter"`
		OrderBy    Strings `json:"order_by"`
		ViewType   Enum    `json:"view_type"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	view, err := parseView("view_type", req.ViewType)
	if err != nil {
		return nil, err
	}
	maxResults, err := maxResults(req.MaxResults, searchMaxResultsDefault, searchMaxResultsLimit)
	if err != nil {
		return nil, err
	}
	filter, err := search.ParseExperimentFilter(req.Filter)
	if err != nil {
		return nil, err
	}
	order, err := search.ParseExperimentOrderBy(req.OrderBy)
	if err != nil {
		return nil, err
	}
	offset, err := search.DecodePageToken(req.PageToken)
	if err != nil {
		return nil, err
	}
	exps, more, err := h.store.SearchExperiments(r.Context(), sqlstore.ExperimentQuery{
		Filter: filter, OrderBy: order, View: view, MaxResults: maxResults, Offset: offset,
	})
	if err != nil {
		return nil, err
	}
	var resp struct {
		Experiments   []wireExperiment `json:"experiments,omitempty"`
		NextPageToken string           `json:"next_page_token,omitempty"`
	}
	for _, e := range exps {
		resp.Experiments = append(resp.Experiments, toWireExperiment(e))
	}
	if more {
		resp.NextPageToken = search.EncodePageToken(offset + maxResults)
	}
	return resp, nil
}

// parseView reads a ViewType; unset means ACTIVE_ONLY.
func parseView(param string, e Enum) (tracking.ViewType, error) {
	if !e.Set {
		return tracking.ViewActiveOnly, nil
	}
	v, ok := tracking.ParseViewType(e.Raw)
	if !ok {
		return 0, posml.Errorf(posml.KindInvalid, invalidValue(param, quote(e.Raw)))
	}
	return v, nil
}

// maxResults applies a default and an upper limit to max_results.
func maxResults(n Int64, def, limit int) (int, error) {
	if !n.Set {
		return def, nil
	}
	if err := search.CheckMaxResults(n.V, int64(limit)); err != nil {
		return 0, err
	}
	if n.V <= 0 {
		return 0, posml.Errorf(posml.KindInvalid, "Invalid value for request parameter max_results. It must be a positive integer, but got value "+intString(n.V))
	}
	return int(n.V), nil
}

func quote(s string) string {
	b := []byte{'"'}
	for _, c := range s {
		if c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, string(c)...)
	}
	return string(append(b, '"'))
}

func (h *handler) updateExperiment(r *http.Request) (any, error) {
	var req struct {
		ExperimentID string `json:"experiment_id"`
		NewName      string `json:"new_name"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("experiment_id", req.ExperimentID, "new_name", req.NewName); err != nil {
		return nil, err
	}
	if err := tracking.ValidateExperimentName(req.NewName); err != nil {
		return nil, err
	}
	return nil, h.store.RenameExperiment(r.Context(), req.ExperimentID, req.NewName)
}

func (h *handler) deleteExperiment(r *http.Request) (any, error) {
	var req experimentIDRequest
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("experiment_id", req.ExperimentID); err != nil {
		return nil, err
	}
	return nil, h.store.DeleteExperiment(r.Context(), req.ExperimentID)
}

func (h *handler) restoreExperiment(r *http.Request) (any, error) {
	var req experimentIDRequest
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("experiment_id", req.ExperimentID); err != nil {
		return nil, err
	}
	return nil, h.store.RestoreExperiment(r.Context(), req.ExperimentID)
}

func (h *handler) setExperimentTag(r *http.Request) (any, error) {
	var req struct {
		ExperimentID string `json:"experiment_id"`
		Key          string `json:"key"`
		Value        string `json:"value"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("experiment_id", req.ExperimentID, "key", req.Key); err != nil {
		return nil, err
	}
	t := tracking.Tag{Key: req.Key, Value: req.Value}
	if err := tracking.ValidateExperimentTag(t); err != nil {
		return nil, err
	}
	return nil, h.store.SetExperimentTag(r.Context(), req.ExperimentID, t)
}

func (h *handler) deleteExperimentTag(r *http.Request) (any, error) {
	var req struct {
		ExperimentID string `json:"experiment_id"`
		Key          string `json:"key"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("experiment_id", req.ExperimentID, "key", req.Key); err != nil {
		return nil, err
	}
	return nil, h.store.DeleteExperimentTag(r.Context(), req.ExperimentID, req.Key)
}
