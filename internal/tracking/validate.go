package tracking

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/posml/posml"
)

// Limits of MLflow's validation (mlflow/utils/validation.py).
const (
	MaxParamsTagsPerBatch  = 100
	MaxMetricsPerBatch     = 1000
	MaxEntitiesPerBatch    = 1000
	MaxBatchRequestBytes   = 1000000
	MaxEntityKeyLength     = 250
	MaxParamValueLength    = 6000
	MaxTagValueLength      = 5000
	MaxExperimentNameLen   = 500
	MaxExperimentTagKeyLen = 250
	MaxExperimentTagValLen = 5000
	MaxDatasetNameSize     = 500
	MaxDatasetDigestSize   = 36
	MaxDatasetSourceSize   = 65535
	MaxDatasetSchemaSize   = 1048575
	MaxDatasetProfileSize  = 16777215
	MaxInputTagKeySize     = 255
	MaxInputTagValueSize   = 500
)

// InfClamp is what ±Inf metric values are stored as, as in MLflow's SQL store.
const InfClamp = math.MaxFloat64

const badCharactersMessage = "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/)."

const missingKeyNameMessage = "A key name must be provided."

var validName = regexp.MustCompile(`^[/\w.\- ]*$`)

func invalid(format string, a ...any) error {
	return posml.Errorf(posml.KindInvalid, fmt.Sprintf(format, a...))
}

// pathNotUnique reports whether name would resolve to another name as a path.
func pathNotUnique(name string) bool {
	norm := normpath(name)
	return norm != name || norm == "." || strings.HasPrefix(norm, "..") || strings.HasPrefix(norm, "/")
}

// normpath is Python's posixpath.normpath: unlike path.Clean it keeps a
// leading "//" and maps "" to ".".
func normpath(p string) string {
	if p == "" {
		return "."
	}
	c := path.Clean(p)
	if strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "///") {
		c = "/" + c
	}
	return c
}

func validateName(kind, name string) error {
	if !validName.MatchString(name) {
		return invalid("Invalid %s name: '%s'. %s", kind, name, badCharactersMessage)
	}
	if pathNotUnique(name) {
		return invalid("Invalid %s name: '%s'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '%s'", kind, name, normpath(name))
	}
	return nil
}

func validateLength(entity string, limit int, value string) error {
	n := utf8.RuneCountInString(value)
	if n > limit {
		shown := value
		if n > 250 {
			shown = string([]rune(value)[:250])
		}
		return invalid("%s '%s' had length %d, which exceeded length limit of %d", entity, shown, n, limit)
	}
	return nil
}

// ValidateMetric checks a metric's key and timestamp.
func ValidateMetric(m Metric) error {
	if err := validateName("metric", m.Key); err != nil {
		return err
	}
	if m.Timestamp < 0 {
		return invalid("Got invalid timestamp %d for metric '%s' (value=%s). Timestamp must be a nonnegative long (64-bit integer) ", m.Timestamp, m.Key, formatFloat(m.Value))
	}
	return validateLength("Metric name", MaxEntityKeyLength, m.Key)
}

// ValidateParam checks a param's key and value.
func ValidateParam(p Param) error {
	if err := validateName("parameter", p.Key); err != nil {
		return err
	}
	if err := validateLength("Param key", MaxEntityKeyLength, p.Key); err != nil {
		return err
	}
	return validateLength("Param value", MaxParamValueLength, p.Value)
}

// ValidateTag checks a run tag's key and value.
func ValidateTag(t Tag) error {
	if err := validateName("tag", t.Key); err != nil {
		return err
	}
	if err := validateLength("Tag key", MaxEntityKeyLength, t.Key); err != nil {
		return err
	}
	return validateLength("Tag value", MaxTagValueLength, t.Value)
}

// ValidateExperimentTag checks an experiment tag's key and value.
func ValidateExperimentTag(t Tag) error {
	if err := validateName("tag", t.Key); err != nil {
		return err
	}
	if err := validateLength("Tag key", MaxExperimentTagKeyLen, t.Key); err != nil {
		return err
	}
	return validateLength("Tag value", MaxExperimentTagValLen, t.Value)
}

// ValidateExperimentName checks the name of a new or renamed experiment.
func ValidateExperimentName(name string) error {
	if name == "" {
		return invalid("Invalid experiment name: '%s'", name)
	}
	return validateLength("Experiment name", MaxExperimentNameLen, name)
}

// ValidateRunID checks the form of a run ID.
func ValidateRunID(id string) error {
	if !runIDPattern.MatchString(id) {
		return invalid("Invalid run ID: '%s'", id)
	}
	return nil
}

var runIDPattern = regexp.MustCompile(`^[a-zA-Z0-9][\w\-]{0,255}$`)

func batchLimit(entity string, limit, n int) error {
	if n > limit {
		return invalid("A batch logging request can contain at most %d %s. Got %d %s. Please split up %s across multiple requests and try again.", limit, entity, n, entity, entity)
	}
	return nil
}

// ValidateBatch checks a log-batch request: counts, then each entity, then
// duplicate param keys, in MLflow's order.
func ValidateBatch(metrics []Metric, params []Param, tags []Tag) error {
	if err := batchLimit("metrics", MaxMetricsPerBatch, len(metrics)); err != nil {
		return err
	}
	if err := batchLimit("params", MaxParamsTagsPerBatch, len(params)); err != nil {
		return err
	}
	if err := batchLimit("tags", MaxParamsTagsPerBatch, len(tags)); err != nil {
		return err
	}
	if err := batchLimit("metrics, params, and tags", MaxEntitiesPerBatch, len(metrics)+len(params)+len(tags)); err != nil {
		return err
	}
	for _, m := range metrics {
		if err := ValidateMetric(m); err != nil {
			return err
		}
	}
	for _, p := range params {
		if err := ValidateParam(p); err != nil {
			return err
		}
	}
	for _, t := range tags {
		if err := ValidateTag(t); err != nil {
			return err
		}
	}
	seen := make(map[string]bool, len(params))
	var dupes []string
	for _, p := range params {
		if seen[p.Key] {
			dupes = append(dupes, p.Key)
		}
		seen[p.Key] = true
	}
	if len(dupes) > 0 {
		return invalid("Duplicate parameter keys have been submitted: %s. Please ensure the request contains only one param value per param key.", pyList(dupes))
	}
	return nil
}

// ValidateBatchSize checks the byte size of a log-batch request body.
func ValidateBatchSize(n int) error {
	if n > MaxBatchRequestBytes {
		return invalid("Batched logging API requests must be at most %d bytes, got a request of size %d.", MaxBatchRequestBytes, n)
	}
	return nil
}

// ValidateDatasetInputs checks the datasets of a log-inputs request.
func ValidateDatasetInputs(inputs []DatasetInput) error {
	for _, in := range inputs {
		d := in.Dataset
		for _, c := range []struct {
			field string
			v     string
			limit int
		}{
			{"name", d.Name, MaxDatasetNameSize},
			{"digest", d.Digest, MaxDatasetDigestSize},
			{"source", d.Source, MaxDatasetSourceSize},
			{"schema", d.Schema, MaxDatasetSchemaSize},
			{"profile", d.Profile, MaxDatasetProfileSize},
		} {
			if len(c.v) > c.limit {
				return invalid("Dataset %s exceeds the maximum length of %d", c.field, c.limit)
			}
		}
		if d.Name == "" {
			return invalid("Dataset name cannot be empty")
		}
		if d.Digest == "" {
			return invalid("Dataset digest cannot be empty")
		}
		for _, t := range in.Tags {
			if t.Key == "" {
				return invalid("Input tag key cannot be empty")
			}
			if len(t.Key) > MaxInputTagKeySize {
				return invalid("'key' exceeds the maximum length of %d", MaxInputTagKeySize)
			}
			if len(t.Value) > MaxInputTagValueSize {
				return invalid("'value' exceeds the maximum length of %d", MaxInputTagValueSize)
			}
		}
	}
	return nil
}

// ErrRunNotActive is the error for writes to a deleted run.
func ErrRunNotActive(runID string, stage LifecycleStage) error {
	return invalid("The run %s must be in the 'active' state. Current state is %s.", runID, stage)
}

// ErrExperimentNotActive is the error for writes to a deleted experiment.
func ErrExperimentNotActive(expID string, stage LifecycleStage) error {
	return invalid("The experiment %s must be in the 'active' state. Current state is %s.", expID, stage)
}

// ErrRunNotFound is the error for an unknown run ID.
func ErrRunNotFound(runID string) error {
	return &posml.Error{Kind: posml.KindNotFound, Msg: fmt.Sprintf("Run with id=%s not found", runID)}
}

// ErrExperimentNotFound is the error for an unknown experiment ID.
func ErrExperimentNotFound(expID string) error {
	return &posml.Error{Kind: posml.KindNotFound, Msg: fmt.Sprintf("No Experiment with id=%s exists", expID)}
}

// ErrExperimentNameNotFound is the error for an unknown experiment name.
func ErrExperimentNameNotFound(name string) error {
	return &posml.Error{Kind: posml.KindNotFound, Msg: fmt.Sprintf("Could not find experiment with name '%s'", name)}
}

// ErrExperimentExists is the error for a duplicate experiment name.
func ErrExperimentExists(name string) error {
	return &posml.Error{Kind: posml.KindExists, Msg: fmt.Sprintf("Experiment(name=%s) already exists. Error: UNIQUE constraint failed: experiments.name", name)}
}

// ErrLoggedModelNotFound is the error for an unknown logged model ID.
func ErrLoggedModelNotFound(id string) error {
	return &posml.Error{Kind: posml.KindNotFound, Msg: fmt.Sprintf("Logged model with ID '%s' not found.", id)}
}

// ErrParamChanged is the error for logging a new value of an existing param
// with log-parameter.
func ErrParamChanged(runID, key, old, new string) error {
	return invalid("Changing param values is not allowed. Param with key='%s' was already logged with value='%s' for run ID='%s'. Attempted logging new value '%s'.", key, old, runID, new)
}

// ParamChange is one rejected change of a param value in a batch.
type ParamChange struct {
	Key, OldValue, NewValue string
}

// ErrParamsChanged is the error for changed param values in log-batch.
func ErrParamsChanged(runID string, changes []ParamChange) error {
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = fmt.Sprintf("{'key': %s, 'old_value': %s, 'new_value': %s}", pyRepr(c.Key), pyRepr(c.OldValue), pyRepr(c.NewValue))
	}
	return invalid("Changing param values is not allowed. Params were already logged='[%s]' for run ID='%s'.", strings.Join(parts, ", "), runID)
}

func pyList(ss []string) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = pyRepr(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// RunNameConflict checks that a run_name and an mlflow.runName tag agree.
func RunNameConflict(runName, tagName string) error {
	if runName != "" && tagName != "" && runName != tagName {
		return invalid("Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='%s', mlflow.runName='%s').", runName, tagName)
	}
	return nil
}
