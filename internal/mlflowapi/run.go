package mlflowapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/search"
	"github.com/posml/posml/internal/sqlstore"
	"github.com/posml/posml/internal/tracking"
)

type runResponse struct {
	Run wireRun `json:"run"`
}

// runIDRequest names a run by run_id or, from old clients, run_uuid.
type runIDRequest struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid"`
}

func (q runIDRequest) id() string { return firstNonEmpty(q.RunID, q.RunUUID) }

func (h *handler) createRun(r *http.Request) (any, error) {
	var req struct {
		ExperimentID string     `json:"experiment_id"`
		UserID       string     `json:"user_id"`
		RunName      string     `json:"run_name"`
		StartTime    Int64      `json:"start_time"`
		Tags         []wireKVIn `json:"tags"`
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
	run, err := h.store.CreateRun(r.Context(), sqlstore.NewRun{
		ExperimentID: req.ExperimentID, UserID: req.UserID, RunName: req.RunName,
		StartTime: req.StartTime.V, Tags: tags,
	})
	if err != nil {
		return nil, err
	}
	return runResponse{toWireRun(run)}, nil
}

func (h *handler) getRun(r *http.Request) (any, error) {
	var req runIDRequest
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("run_id", req.id()); err != nil {
		return nil, err
	}
	run, err := h.store.GetRun(r.Context(), req.id())
	if err != nil {
		return nil, err
	}
	return runResponse{toWireRun(run)}, nil
}

func (h *handler) updateRun(r *http.Request) (any, error) {
	var req struct {
		runIDRequest
		Status  Enum   `json:"status"`
		EndTime Int64  `json:"end_time"`
		RunName string `json:"run_name"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("run_id", req.id()); err != nil {
		return nil, err
	}
	var u sqlstore.RunUpdate
	if req.Status.Set {
		st, ok := tracking.ParseRunStatus(req.Status.Raw)
		if !ok {
			return nil, posml.Errorf(posml.KindInvalid, invalidValue("status", quote(req.Status.Raw)))
		}
		u.Status = &st
	}
	if req.EndTime.Set {
		u.EndTime = &req.EndTime.V
	}
	u.RunName = req.RunName
	info, err := h.store.UpdateRun(r.Context(), req.id(), u)
	if err != nil {
		return nil, err
	}
	return map[string]wireRunInfo{"run_info": toWireRunInfo(info)}, nil
}

func (h *handler) deleteRun(r *http.Request) (any, error) {
	var req runIDRequest
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("run_id", req.id()); err != nil {
		return nil, err
	}
	return nil, h.store.DeleteRun(r.Context(), req.id())
}

func (h *handler) restoreRun(r *http.Request) (any, error) {
	var req runIDRequest
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("run_id", req.id()); err != nil {
		return nil, err
	}
	return nil, h.store.RestoreRun(r.Context(), req.id())
}

// metricIn is a metric in a request.
type metricIn struct {
	Key           string `json:"key"`
	Value         Float  `json:"value"`
	Timestamp     Int64  `json:"timestamp"`
	Step          Int64  `json:"step"`
	ModelID       string `json:"model_id"`
	DatasetName   string `json:"dataset_name"`
	DatasetDigest string `json:"dataset_digest"`
}

func (m metricIn) metric() tracking.Metric {
	return tracking.Metric{Key: m.Key, Value: m.Value.V, Timestamp: m.Timestamp.V, Step: m.Step.V,
		ModelID: m.ModelID, DatasetName: m.DatasetName, DatasetDigest: m.DatasetDigest}
}

func (h *handler) logMetric(r *http.Request) (any, error) {
	var req struct {
		runIDRequest
		metricIn
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("run_id", req.id(), "key", req.Key); err != nil {
		return nil, err
	}
	if !req.Value.Set {
		return nil, missing("value")
	}
	if !req.Timestamp.Set {
		return nil, missing("timestamp")
	}
	m := req.metric()
	if err := tracking.ValidateMetric(m); err != nil {
		return nil, err
	}
	return nil, h.store.LogMetric(r.Context(), req.id(), m)
}

func (h *handler) logParam(r *http.Request) (any, error) {
	var req struct {
		runIDRequest
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("run_id", req.id(), "key", req.Key); err != nil {
		return nil, err
	}
	p := tracking.Param{Key: req.Key, Value: req.Value}
	if err := tracking.ValidateParam(p); err != nil {
		return nil, err
	}
	return nil, h.store.LogParam(r.Context(), req.id(), p)
}

func (h *handler) setTag(r *http.Request) (any, error) {
	var req struct {
		runIDRequest
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("run_id", req.id(), "key", req.Key); err != nil {
		return nil, err
	}
	t := tracking.Tag{Key: req.Key, Value: req.Value}
	if err := tracking.ValidateTag(t); err != nil {
		return nil, err
	}
	return nil, h.store.SetTag(r.Context(), req.id(), t)
}

func (h *handler) deleteTag(r *http.Request) (any, error) {
	var req struct {
		runIDRequest
		Key string `json:"key"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("run_id", req.id(), "key", req.Key); err != nil {
		return nil, err
	}
	return nil, h.store.DeleteTag(r.Context(), req.id(), req.Key)
}

func (h *handler) logBatch(r *http.Request) (any, error) {
	var req struct {
		runIDRequest
		Metrics []metricIn `json:"metrics"`
		Params  []wireKVIn `json:"params"`
		Tags    []wireKVIn `json:"tags"`
	}
	raw, err := decode(r, &req)
	if err := tracking.ValidateBatchSize(len(raw)); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if err := require("run_id", req.id()); err != nil {
		return nil, err
	}
	metrics := make([]tracking.Metric, len(req.Metrics))
	for i, m := range req.Metrics {
		switch {
		case m.Key == "":
			return nil, missing(fmt.Sprintf("metrics[%d].key", i))
		case !m.Value.Set:
			return nil, missing(fmt.Sprintf("metrics[%d].value", i))
		case !m.Timestamp.Set:
			return nil, missing(fmt.Sprintf("metrics[%d].timestamp", i))
		}
		metrics[i] = m.metric()
	}
	for i, p := range req.Params {
		if p.Key == "" {
			return nil, missing(fmt.Sprintf("params[%d].key", i))
		}
	}
	for i, t := range req.Tags {
		if t.Key == "" {
			return nil, missing(fmt.Sprintf("tags[%d].key", i))
		}
	}
	params, tags := paramsFromKVs(req.Params), tagsFromKVs(req.Tags)
	if err := tracking.ValidateBatch(metrics, params, tags); err != nil {
		return nil, err
	}
	return nil, h.store.LogBatch(r.Context(), req.id(), metrics, params, tags)
}

func (h *handler) logInputs(r *http.Request) (any, error) {
	var req struct {
		runIDRequest
		Datasets []struct {
			Tags    []wireKVIn  `json:"tags"`
			Dataset wireDataset `json:"dataset"`
		} `json:"datasets"`
		Models []wireModelInput `json:"models"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("run_id", req.id()); err != nil {
		return nil, err
	}
	datasets := make([]tracking.DatasetInput, len(req.Datasets))
	for i, d := range req.Datasets {
		w := d.Dataset
		datasets[i] = tracking.DatasetInput{Tags: tagsFromKVs(d.Tags), Dataset: tracking.Dataset{
			Name: w.Name, Digest: w.Digest, SourceType: w.SourceType, Source: w.Source, Schema: w.Schema, Profile: w.Profile,
		}}
	}
	if err := tracking.ValidateDatasetInputs(datasets); err != nil {
		return nil, err
	}
	var models []tracking.ModelInput
	for _, m := range req.Models {
		if m.ModelID == "" {
			return nil, missing("models.model_id")
		}
		models = append(models, tracking.ModelInput{ModelID: m.ModelID})
	}
	return nil, h.store.LogInputs(r.Context(), req.id(), datasets, models)
}

func (h *handler) logOutputs(r *http.Request) (any, error) {
	var req struct {
		runIDRequest
		Models []struct {
			ModelID string `json:"model_id"`
			Step    Int64  `json:"step"`
		} `json:"models"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("run_id", req.id()); err != nil {
		return nil, err
	}
	if req.Models == nil {
		return nil, missing("models")
	}
	models := make([]tracking.ModelOutput, len(req.Models))
	for i, m := range req.Models {
		if m.ModelID == "" {
			return nil, missing(fmt.Sprintf("models[%d].model_id", i))
		}
		models[i] = tracking.ModelOutput{ModelID: m.ModelID, Step: m.Step.V}
	}
	return nil, h.store.LogOutputs(r.Context(), req.id(), models)
}

// logModelRequired are the keys log-model requires in model_json.
var logModelRequired = []string{"artifact_path", "flavors", "utc_time_created", "run_id"}

func (h *handler) logModel(r *http.Request) (any, error) {
	var req struct {
		runIDRequest
		ModelJSON string `json:"model_json"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("run_id", req.id(), "model_json", req.ModelJSON); err != nil {
		return nil, err
	}
	var model map[string]any
	if err := json.Unmarshal([]byte(req.ModelJSON), &model); err != nil || model == nil {
		return nil, posml.Errorf(posml.KindInvalid, fmt.Sprintf("Malformed model info. \n %s \n is not a valid JSON.", req.ModelJSON))
	}
	var miss []string
	for _, k := range logModelRequired {
		if _, ok := model[k]; !ok {
			miss = append(miss, "'"+k+"'")
		}
	}
	if len(miss) > 0 {
		sort.Strings(miss)
		return nil, posml.Errorf(posml.KindInvalid, "Model json is missing mandatory fields: {"+strings.Join(miss, ", ")+"}")
	}
	// The history keeps Model.get_tags_dict(): the model without its
	// signature and input example.
	delete(model, "signature")
	delete(model, "saved_input_example_info")
	return nil, h.store.RecordLoggedModel(r.Context(), req.id(), model)
}

func (h *handler) searchRuns(r *http.Request) (any, error) {
	var req struct {
		ExperimentIDs Strings `json:"experiment_ids"`
		Filter        string  `json:"filter"`
		RunViewType   Enum    `json:"run_view_type"`
		MaxResults    Int64   `json:"max_results"`
		OrderBy       Strings `json:"order_by"`
		PageToken     string  `json:"page_token"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	view, err := parseView("run_view_type", req.RunViewType)
	if err != nil {
		return nil, err
	}
	maxResults, err := maxResults(req.MaxResults, searchMaxResultsDefault, searchMaxResultsLimit)
	if err != nil {
		return nil, err
	}
	filter, err := search.ParseRunFilter(req.Filter)
	if err != nil {
		return nil, err
	}
	order, err := search.ParseRunOrderBy(req.OrderBy)
	if err != nil {
		return nil, err
	}
	offset, err := search.DecodePageToken(req.PageToken)
	if err != nil {
		return nil, err
	}
	runs, more, err := h.store.SearchRuns(r.Context(), sqlstore.RunQuery{
		ExperimentIDs: req.ExperimentIDs, Filter: filter, OrderBy: order, View: view,
		MaxResults: maxResults, Offset: offset,
	})
	if err != nil {
		return nil, err
	}
	var resp struct {
		Runs          []wireRun `json:"runs,omitempty"`
		NextPageToken string    `json:"next_page_token,omitempty"`
	}
	resp.Runs = make([]wireRun, len(runs))
	for i, run := range runs {
		resp.Runs[i] = toWireRun(run)
	}
	if more {
		resp.NextPageToken = search.EncodePageToken(offset + maxResults)
	}
	return resp, nil
}

func (h *handler) getMetricHistory(r *http.Request) (any, error) {
	var req struct {
		runIDRequest
		MetricKey  string `json:"metric_key"`
		PageToken  string `json:"page_token"`
		MaxResults Int64  `json:"max_results"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("run_id", req.id(), "metric_key", req.MetricKey); err != nil {
		return nil, err
	}
	offset, err := search.DecodePageToken(req.PageToken)
	if err != nil {
		return nil, err
	}
	limit := -1
	if req.MaxResults.Set && req.MaxResults.V > 0 {
		limit = int(min(req.MaxResults.V, 1<<31))
	}
	ms, more, err := h.store.GetMetricHistory(r.Context(), req.id(), req.MetricKey, offset, limit)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Metrics       []wireMetric `json:"metrics,omitempty"`
		NextPageToken string       `json:"next_page_token,omitempty"`
	}
	resp.Metrics = toWireMetrics(ms)
	if more {
		resp.NextPageToken = search.EncodePageToken(offset + limit)
	}
	return resp, nil
}

// Limits of get-history-bulk-interval (mlflow/server/handlers.py).
const (
	maxRunsBulkInterval   = 100
	maxResultsPerRunBulk  = 2500
	defaultResultsPerRunB = 2500
)

func (h *handler) getMetricHistoryBulkInterval(r *http.Request) (any, error) {
	var req struct {
		RunIDs     Strings `json:"run_ids"`
		MetricKey  string  `json:"metric_key"`
		StartStep  Int64   `json:"start_step"`
		EndStep    Int64   `json:"end_step"`
		MaxResults Int64   `json:"max_results"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if len(req.RunIDs) == 0 {
		return nil, missing("run_ids")
	}
	if len(req.RunIDs) > maxRunsBulkInterval {
		return nil, posml.Errorf(posml.KindInvalid, fmt.Sprintf("GetMetricHistoryBulkInterval request must specify at most %d run_ids. Received %d run_ids. See the API docs for more information about request parameters.", maxRunsBulkInterval, len(req.RunIDs)))
	}
	if err := require("metric_key", req.MetricKey); err != nil {
		return nil, err
	}
	maxRes := defaultResultsPerRunB
	if req.MaxResults.Set {
		if req.MaxResults.V < 1 || req.MaxResults.V > maxResultsPerRunBulk {
			return nil, posml.Errorf(posml.KindInvalid, fmt.Sprintf("max_results must be between 1 and %d. See the API docs for more information about request parameters.", maxResultsPerRunBulk))
		}
		maxRes = int(req.MaxResults.V)
	}
	var start, end *int64
	switch {
	case req.StartStep.Set && req.EndStep.Set:
		if req.StartStep.V > req.EndStep.V {
			return nil, posml.Errorf(posml.KindInvalid, fmt.Sprintf("end_step must be greater than start_step. Found start_step=%d and end_step=%d.", req.StartStep.V, req.EndStep.V))
		}
		start, end = &req.StartStep.V, &req.EndStep.V
	case req.StartStep.Set || req.EndStep.Set:
		return nil, posml.Errorf(posml.KindInvalid, "If either start step or end step are specified, both must be specified.")
	}
	ms, err := h.store.MetricHistoryBulkInterval(r.Context(), req.RunIDs, req.MetricKey, start, end, maxRes)
	if err != nil {
		return nil, err
	}
	return struct {
		Metrics []wireMetric `json:"metrics,omitempty"`
	}{toWireMetrics(ms)}, nil
}
