package mlflowapi

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/posml/posml/internal/tracking"
)

// Scalar types that accept what protobuf's ParseDict accepts.

// Int64 is an int64 sent as a JSON number or a string.
type Int64 struct {
	V   int64
	Set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (i *Int64) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return typeError("string", reflect.TypeFor[int64]())
		}
		s = strings.TrimSpace(s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// ParseDict accepts an integral float such as 1.0 or 1e3.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<63 {
			return typeError(jsonKind(b), reflect.TypeFor[int64]())
		}
		n = int64(f)
	}
	i.V, i.Set = n, true
	return nil
}

// MarshalJSON writes a JSON number.
func (i Int64) MarshalJSON() ([]byte, error) { return strconv.AppendInt(nil, i.V, 10), nil }

// Float is a double sent as a number or a string ("NaN", "Infinity",
// "-Infinity" or a numeric string); it is written back the same way.
type Float struct {
	V   float64
	Set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return typeError("string", reflect.TypeFor[float64]())
		}
		switch s {
		case "NaN", "nan":
			f.V, f.Set = math.NaN(), true
			return nil
		case "Infinity", "inf", "+Infinity":
			f.V, f.Set = math.Inf(1), true
			return nil
		case "-Infinity", "-inf":
			f.V, f.Set = math.Inf(-1), true
			return nil
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return typeError("string", reflect.TypeFor[float64]())
		}
		f.V, f.Set = v, true
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return typeError(jsonKind(b), reflect.TypeFor[float64]())
	}
	f.V, f.Set = v, true
	return nil
}

// MarshalJSON writes a number, or "NaN", "Infinity", "-Infinity".
func (f Float) MarshalJSON() ([]byte, error) { return appendFloat(nil, f.V), nil }

func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// Bool is a bool sent as JSON or as True/False in a query string.
type Bool struct {
	V   bool
	Set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (v *Bool) UnmarshalJSON(b []byte) error {
	switch strings.ToLower(strings.Trim(string(b), `"`)) {
	case "true":
		v.V, v.Set = true, true
	case "false":
		v.V, v.Set = false, true
	case "null":
	default:
		return typeError(jsonKind(b), reflect.TypeFor[bool]())
	}
	return nil
}

// Strings is a repeated string field: a JSON array, or one string (a query
// parameter given once).
type Strings []string

// UnmarshalJSON implements json.Unmarshaler.
func (s *Strings) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = Strings{one}
		return nil
	case 'n':
		return nil
	case '[':
		var many []string
		if err := json.Unmarshal(b, &many); err != nil {
			return typeError("array", reflect.TypeFor[[]string]())
		}
		*s = many
		return nil
	}
	return typeError(jsonKind(b), reflect.TypeFor[[]string]())
}

// Enum is an enum field sent as a name or a number; Raw keeps it as text.
type Enum struct {
	Raw string
	Set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (e *Enum) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if b[0] == '"' {
		if err := json.Unmarshal(b, &e.Raw); err != nil {
			return err
		}
	} else if _, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		e.Raw = string(b)
	} else {
		return typeError(jsonKind(b), reflect.TypeFor[string]())
	}
	e.Set = true
	return nil
}

func typeError(kind string, t reflect.Type) error {
	return &json.UnmarshalTypeError{Value: kind, Type: t}
}

func jsonKind(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "empty"
	}
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// Wire entities (service.proto), snake_case.

type wireKV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type wireExperiment struct {
	ExperimentID     string   `json:"experiment_id"`
	Name             string   `json:"name"`
	ArtifactLocation string   `json:"artifact_location,omitempty"`
	LifecycleStage   string   `json:"lifecycle_stage"`
	LastUpdateTime   int64    `json:"last_update_time,omitempty"`
	CreationTime     int64    `json:"creation_time,omitempty"`
	Tags             []wireKV `json:"tags,omitempty"`
}

type wireMetric struct {
	Key           string `json:"key"`
	Value         Float  `json:"value"`
	Timestamp     int64  `json:"timestamp"`
	Step          int64  `json:"step"`
	DatasetName   string `json:"dataset_name,omitempty"`
	DatasetDigest string `json:"dataset_digest,omitempty"`
	ModelID       string `json:"model_id,omitempty"`
	RunID         string `json:"run_id,omitempty"`
}

type wireRunInfo struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time"`
	EndTime        *int64 `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
}

type wireRunData struct {
	Metrics []wireMetric `json:"metrics,omitempty"`
	Params  []wireKV     `json:"params,omitempty"`
	Tags    []wireKV     `json:"tags,omitempty"`
}

type wireDataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

type wireDatasetInput struct {
	Tags    []wireKV    `json:"tags,omitempty"`
	Dataset wireDataset `json:"dataset"`
}

type wireModelInput struct {
	ModelID string `json:"model_id"`
}

type wireModelOutput struct {
	ModelID string `json:"model_id"`
	Step    int64  `json:"step"`
}

type wireRunInputs struct {
	DatasetInputs []wireDatasetInput `json:"dataset_inputs,omitempty"`
	ModelInputs   []wireModelInput   `json:"model_inputs,omitempty"`
}

type wireRunOutputs struct {
	ModelOutputs []wireModelOutput `json:"model_outputs,omitempty"`
}

type wireRun struct {
	Info    wireRunInfo    `json:"info"`
	Data    wireRunData    `json:"data"`
	Inputs  wireRunInputs  `json:"inputs"`
	Outputs wireRunOutputs `json:"outputs"`
}

type wireLoggedModelInfo struct {
	ModelID                string   `json:"model_id"`
	ExperimentID           string   `json:"experiment_id"`
	Name                   string   `json:"name"`
	CreationTimestampMs    int64    `json:"creation_timestamp_ms"`
	LastUpdatedTimestampMs int64    `json:"last_updated_timestamp_ms"`
	ArtifactURI            string   `json:"artifact_uri"`
	Status                 string   `json:"status"`
	StatusMessage          string   `json:"status_message,omitempty"`
	ModelType              string   `json:"model_type,omitempty"`
	SourceRunID            string   `json:"source_run_id,omitempty"`
	Tags                   []wireKV `json:"tags,omitempty"`
}

type wireLoggedModelData struct {
	Params  []wireKV     `json:"params,omitempty"`
	Metrics []wireMetric `json:"metrics,omitempty"`
}

type wireLoggedModel struct {
	Info wireLoggedModelInfo `json:"info"`
	Data wireLoggedModelData `json:"data"`
}

// Conversions from the domain.

func kvsFromTags(tags []tracking.Tag) []wireKV {
	if len(tags) == 0 {
		return nil
	}
	out := make([]wireKV, len(tags))
	for i, t := range tags {
		out[i] = wireKV{t.Key, t.Value}
	}
	return out
}

func kvsFromParams(ps []tracking.Param) []wireKV {
	if len(ps) == 0 {
		return nil
	}
	out := make([]wireKV, len(ps))
	for i, p := range ps {
		out[i] = wireKV{p.Key, p.Value}
	}
	return out
}

func toWireExperiment(e tracking.Experiment) wireExperiment {
	return wireExperiment{
		ExperimentID: e.ID, Name: e.Name, ArtifactLocation: e.ArtifactLocation,
		LifecycleStage: string(e.LifecycleStage), LastUpdateTime: e.LastUpdateTime,
		CreationTime: e.CreationTime, Tags: kvsFromTags(e.Tags),
	}
}

func toWireMetric(m tracking.Metric) wireMetric {
	return wireMetric{Key: m.Key, Value: Float{V: m.Value, Set: true}, Timestamp: m.Timestamp, Step: m.Step,
		DatasetName: m.DatasetName, DatasetDigest: m.DatasetDigest, ModelID: m.ModelID, RunID: m.RunID}
}

func toWireMetrics(ms []tracking.Metric) []wireMetric {
	if len(ms) == 0 {
		return nil
	}
	out := make([]wireMetric, len(ms))
	for i, m := range ms {
		out[i] = toWireMetric(m)
	}
	return out
}

func toWireRunInfo(ri tracking.RunInfo) wireRunInfo {
	w := wireRunInfo{
		RunID: ri.RunID, RunUUID: ri.RunID, RunName: ri.RunName, ExperimentID: ri.ExperimentID,
		UserID: ri.UserID, Status: ri.Status.String(), StartTime: ri.StartTime,
		ArtifactURI: ri.ArtifactURI, LifecycleStage: string(ri.LifecycleStage),
	}
	if ri.EndTime != 0 {
		end := ri.EndTime
		w.EndTime = &end
	}
	return w
}

func toWireRun(r tracking.Run) wireRun {
	w := wireRun{
		Info: toWireRunInfo(r.Info),
		Data: wireRunData{Metrics: toWireMetrics(r.Metrics), Params: kvsFromParams(r.Params), Tags: kvsFromTags(r.Tags)},
	}
	for _, in := range r.DatasetInputs {
		d := in.Dataset
		w.Inputs.DatasetInputs = append(w.Inputs.DatasetInputs, wireDatasetInput{
			Tags:    kvsFromTags(in.Tags),
			Dataset: wireDataset{Name: d.Name, Digest: d.Digest, SourceType: d.SourceType, Source: d.Source, Schema: d.Schema, Profile: d.Profile},
		})
	}
	for _, mi := range r.ModelInputs {
		w.Inputs.ModelInputs = append(w.Inputs.ModelInputs, wireModelInput{ModelID: mi.ModelID})
	}
	for _, mo := range r.ModelOutputs {
		w.Outputs.ModelOutputs = append(w.Outputs.ModelOutputs, wireModelOutput{ModelID: mo.ModelID, Step: mo.Step})
	}
	return w
}

func toWireLoggedModel(m tracking.LoggedModel) wireLoggedModel {
	return wireLoggedModel{
		Info: wireLoggedModelInfo{
			ModelID: m.ModelID, ExperimentID: m.ExperimentID, Name: m.Name,
			CreationTimestampMs: m.CreationTimestamp, LastUpdatedTimestampMs: m.LastUpdatedTimestamp,
			ArtifactURI: m.ArtifactURI, Status: m.Status.String(), StatusMessage: m.StatusMessage,
			ModelType: m.ModelType, SourceRunID: m.SourceRunID, Tags: kvsFromTags(m.Tags),
		},
		Data: wireLoggedModelData{Params: kvsFromParams(m.Params), Metrics: toWireMetrics(m.Metrics)},
	}
}

// Conversions to the domain.

func tagsFromKVs(kvs []wireKVIn) []tracking.Tag {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]tracking.Tag, len(kvs))
	for i, kv := range kvs {
		out[i] = tracking.Tag{Key: kv.Key, Value: kv.Value}
	}
	return out
}

func paramsFromKVs(kvs []wireKVIn) []tracking.Param {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]tracking.Param, len(kvs))
	for i, kv := range kvs {
		out[i] = tracking.Param{Key: kv.Key, Value: kv.Value}
	}
	return out
}

// wireKVIn is a key/value in a request; a missing value is "".
type wireKVIn struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}
