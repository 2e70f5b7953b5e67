package mlflowapi

import (
	"net/http"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/search"
	"github.com/posml/posml/internal/sqlstore"
	"github.com/posml/posml/internal/tracking"
)

const (
	searchLoggedModelsDefault = 50
	searchLoggedModelsLimit   = 50000
)

type modelResponse struct {
	Model wireLoggedModel `json:"model"`
}

func (h *handler) createLoggedModel(r *http.Request) (any, error) {
	var req struct {
		ExperimentID string     `json:"experiment_id"`
		Name         string     `json:"name"`
		ModelType    string     `json:"model_type"`
		SourceRunID  string     `json:"source_run_id"`
		Params       []wireKVIn `json:"params"`
		Tags         []wireKVIn `json:"tags"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("experiment_id", req.ExperimentID); err != nil {
		return nil, err
	}
	if err := validateModelName(req.Name); err != nil {
		return nil, err
	}
	params, tags := paramsFromKVs(req.Params), tagsFromKVs(req.Tags)
	for _, p := range params {
		if err := tracking.ValidateParam(p); err != nil {
			return nil, err
		}
	}
	for _, t := range tags {
		if err := tracking.ValidateTag(t); err != nil {
			return nil, err
		}
	}
	m, err := h.store.CreateLoggedModel(r.Context(), sqlstore.NewLoggedModel{
		ExperimentID: req.ExperimentID, Name: req.Name, ModelType: req.ModelType,
		SourceRunID: req.SourceRunID, Params: params, Tags: tags,
	})
	if err != nil {
		return nil, err
	}
	return modelResponse{toWireLoggedModel(m)}, nil
}

// validateModelName applies MLflow's _validate_logged_model_name: no
// slashes, colons, periods, percent signs or quotes.
func validateModelName(name string) error {
	for _, c := range name {
		switch c {
		case '/', ':', '.', '%', '"', '\'':
			return posml.Errorf(posml.KindInvalid, "Invalid model name ('"+name+"') provided. Model name must not contain any of the following characters: ['/', ':', '.', '%', '\"', \"'\"]")
		}
	}
	return nil
}

func (h *handler) getLoggedModel(r *http.Request) (any, error) {
	var req struct {
		AllowDeleted Bool `json:"allow_deleted"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	m, err := h.store.GetLoggedModel(r.Context(), r.PathValue("model_id"), req.AllowDeleted.V)
	if err != nil {
		return nil, err
	}
	return modelResponse{toWireLoggedModel(m)}, nil
}

func (h *handler) finalizeLoggedModel(r *http.Request) (any, error) {
	var req struct {
		Status Enum `json:"status"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if !req.Status.Set {
		return nil, missing("status")
	}
	st, ok := tracking.ParseLoggedModelStatus(req.Status.Raw)
	if !ok {
		return nil, posml.Errorf(posml.KindInvalid, invalidValue("status", quote(req.Status.Raw)))
	}
	m, err := h.store.FinalizeLoggedModel(r.Context(), r.PathValue("model_id"), st)
	if err != nil {
		return nil, err
	}
	return modelResponse{toWireLoggedModel(m)}, nil
}

func (h *handler) deleteLoggedModel(r *http.Request) (any, error) {
	return nil, h.store.DeleteLoggedModel(r.Context(), r.PathValue("model_id"))
}

func (h *handler) setLoggedModelTags(r *http.Request) (any, error) {
	var req struct {
		Tags []wireKVIn `json:"tags"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	tags := tagsFromKVs(req.Tags)
	for _, t := range tags {
		if err := tracking.ValidateTag(t); err != nil {
			return nil, err
		}
	}
	return nil, h.store.SetLoggedModelTags(r.Context(), r.PathValue("model_id"), tags)
}

func (h *handler) deleteLoggedModelTag(r *http.Request) (any, error) {
	return nil, h.store.DeleteLoggedModelTag(r.Context(), r.PathValue("model_id"), r.PathValue("tag_key"))
}

func (h *handler) logLoggedModelParams(r *http.Request) (any, error) {
	var req struct {
		Params []wireKVIn `json:"params"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	params := paramsFromKVs(req.Params)
	for _, p := range params {
		if err := tracking.ValidateParam(p); err != nil {
			return nil, err
		}
	}
	return nil, h.store.LogLoggedModelParams(r.Context(), r.PathValue("model_id"), params)
}

func (h *handler) searchLoggedModels(r *http.Request) (any, error) {
	var req struct {
		ExperimentIDs Strings `json:"experiment_ids"`
		Filter        string  `json:"filter"`
		Datasets      []struct {
			DatasetName   string `json:"dataset_name"`
			DatasetDigest string `json:"dataset_digest"`
		} `json:"datasets"`
		MaxResults Int64 `json:"max_results"`
		OrderBy    []struct {
			FieldName     string `json:"field_name"`
			Ascending     Bool   `json:"ascending"`
			DatasetName   string `json:"dataset_name"`
			DatasetDigest string `json:"dataset_digest"`
		} `json:"order_by"`
		PageToken string `json:"page_token"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	q := sqlstore.ModelQuery{ExperimentIDs: req.ExperimentIDs}
	for _, d := range req.Datasets {
		if d.DatasetName == "" {
			return nil, posml.Errorf(posml.KindInvalid, "`dataset_name` in the `datasets` clause must be specified.")
		}
		q.Datasets = append(q.Datasets, sqlstore.DatasetRef{Name: d.DatasetName, Digest: d.DatasetDigest})
	}
	var err error
	if q.MaxResults, err = maxResults(req.MaxResults, searchLoggedModelsDefault, searchLoggedModelsLimit); err != nil {
		return nil, err
	}
	if q.Filter, err = search.ParseLoggedModelFilter(req.Filter); err != nil {
		return nil, err
	}
	for _, o := range req.OrderBy {
		asc := !o.Ascending.Set || o.Ascending.V
		ob, err := search.ParseLoggedModelOrderBy(o.FieldName, asc)
		if err != nil {
			return nil, err
		}
		field := ob.Key
		if ob.Type == search.KeyMetric {
			field = "metrics." + ob.Key
		}
		q.OrderBy = append(q.OrderBy, sqlstore.ModelOrder{Field: field, Ascending: !ob.Desc,
			Dataset: sqlstore.DatasetRef{Name: o.DatasetName, Digest: o.DatasetDigest}})
	}
	if q.Offset, err = search.DecodePageToken(req.PageToken); err != nil {
		return nil, err
	}
	ms, more, err := h.store.SearchLoggedModels(r.Context(), q)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Models        []wireLoggedModel `json:"models,omitempty"`
		NextPageToken string            `json:"next_page_token,omitempty"`
	}
	for _, m := range ms {
		resp.Models = append(resp.Models, toWireLoggedModel(m))
	}
	if more {
		resp.NextPageToken = search.EncodePageToken(q.Offset + q.MaxResults)
	}
	return resp, nil
}
