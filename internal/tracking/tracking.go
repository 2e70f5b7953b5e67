package tracking

import (
	"strconv"
	"strings"
)

// DefaultExperimentID is the ID of the experiment created at first start.
const DefaultExperimentID = "0"

// DefaultExperimentName is the name of experiment "0".
const DefaultExperimentName = "Default"

// Reserved tag keys with a meaning to the server.
const (
	TagRunName         = "mlflow.runName"
	TagUser            = "mlflow.user"
	TagLoggedModels    = "mlflow.log-model.history"
	TagDatasetContext  = "mlflow.data.context"
	ArtifactsDirectory = "artifacts"
	ModelsDirectory    = "models"
)

// LifecycleStage tells whether an experiment, run or logged model is deleted.
type LifecycleStage string

// The lifecycle stages.
const (
	StageActive  LifecycleStage = "active"
	StageDeleted LifecycleStage = "deleted"
)

// ViewType selects lifecycle stages in searches.
type ViewType uint8

// The view types, numbered as in MLflow's service.proto.
const (
	ViewActiveOnly  ViewType = 1
	ViewDeletedOnly ViewType = 2
	ViewAll         ViewType = 3
)

// Stages returns the lifecycle stages the view type selects.
func (v ViewType) Stages() []LifecycleStage {
	switch v {
	case ViewDeletedOnly:
		return []LifecycleStage{StageDeleted}
	case ViewAll:
		return []LifecycleStage{StageActive, StageDeleted}
	default:
		return []LifecycleStage{StageActive}
	}
}

var viewTypeNames = map[string]ViewType{"ACTIVE_ONLY": ViewActiveOnly, "DELETED_ONLY": ViewDeletedOnly, "ALL": ViewAll}

// ParseViewType reads a view type name (ACTIVE_ONLY, DELETED_ONLY, ALL) or number.
func ParseViewType(s string) (ViewType, bool) {
	if v, ok := viewTypeNames[strings.ToUpper(s)]; ok {
		return v, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 3 {
		return 0, false
	}
	return ViewType(n), true
}

func (v ViewType) String() string {
	for k, x := range viewTypeNames {
		if x == v {
			return k
		}
	}
	return "ACTIVE_ONLY"
}

// RunStatus is the state of a run.
type RunStatus uint8

// The run statuses, numbered as in MLflow's service.proto.
const (
	RunRunning   RunStatus = 1
	RunScheduled RunStatus = 2
	RunFinished  RunStatus = 3
	RunFailed    RunStatus = 4
	RunKilled    RunStatus = 5
)

var runStatusNames = [...]string{"", "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"}

func (s RunStatus) String() string {
	if int(s) < len(runStatusNames) && s > 0 {
		return runStatusNames[s]
	}
	return "RUNNING"
}

// ParseRunStatus reads a run status name (RUNNING, FINISHED, ...) or number.
func ParseRunStatus(s string) (RunStatus, bool) {
	for i, n := range runStatusNames {
		if i > 0 && strings.EqualFold(n, s) {
			return RunStatus(i), true
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n >= len(runStatusNames) {
		return 0, false
	}
	return RunStatus(n), true
}

// IsTerminated reports whether the status is final.
func (s RunStatus) IsTerminated() bool {
	return s == RunFinished || s == RunFailed || s == RunKilled
}

// LoggedModelStatus is the state of a logged model (MLflow 3).
type LoggedModelStatus uint8

// The logged model statuses, numbered as in MLflow's service.proto.
const (
	ModelStatusUnspecified  LoggedModelStatus = 0
	ModelStatusPending      LoggedModelStatus = 1
	ModelStatusReady        LoggedModelStatus = 2
	ModelStatusUploadFailed LoggedModelStatus = 3
)

var modelStatusNames = [...]string{"LOGGED_MODEL_STATUS_UNSPECIFIED", "LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"}

func (s LoggedModelStatus) String() string {
	if int(s) < len(modelStatusNames) {
		return modelStatusNames[s]
	}
	return modelStatusNames[0]
}

// ParseLoggedModelStatus reads a status name (LOGGED_MODEL_READY, or the
// short READY) or number.
func ParseLoggedModelStatus(s string) (LoggedModelStatus, bool) {
	u := strings.ToUpper(s)
	for i, n := range modelStatusNames {
		if u == n || "LOGGED_MODEL_"+u == n {
			return LoggedModelStatus(i), true
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n >= len(modelStatusNames) {
		return 0, false
	}
	return LoggedModelStatus(n), true
}

// Tag is a key/value pair on an experiment, run, input or logged model.
type Tag struct {
	Key   string
	Value string
}

// Param is an immutable key/value input of a run or logged model.
type Param struct {
	Key   string
	Value string
}

// Metric is one logged value of a metric. NaN and ±Inf are allowed.
type Metric struct {
	Key       string
	Value     float64
	Timestamp int64 // milliseconds since the epoch
	Step      int64
	// Set on metrics of a logged model and on bulk-history results.
	RunID         string
	ModelID       string
	DatasetName   string
	DatasetDigest string
}

// Experiment groups runs.
type Experiment struct {
	ID               string
	Name             string
	ArtifactLocation string
	LifecycleStage   LifecycleStage
	CreationTime     int64 // ms
	LastUpdateTime   int64 // ms
	Tags             []Tag
}

// RunInfo is the metadata of a run.
type RunInfo struct {
	RunID          string
	RunName        string
	ExperimentID   string
	UserID         string
	Status         RunStatus
	StartTime      int64 // ms
	EndTime        int64 // ms; 0 while unset
	ArtifactURI    string
	LifecycleStage LifecycleStage
}

// Run is a run with its data: the latest value of each metric, params, tags,
// inputs and outputs.
type Run struct {
	Info          RunInfo
	Metrics       []Metric
	Params        []Param
	Tags          []Tag
	DatasetInputs []DatasetInput
	ModelInputs   []ModelInput
	ModelOutputs  []ModelOutput
}

// Dataset describes a dataset used by runs of an experiment.
type Dataset struct {
	Name       string
	Digest     string
	SourceType string
	Source     string
	Schema     string
	Profile    string
}

// DatasetInput links a dataset to a run, with tags such as mlflow.data.context.
type DatasetInput struct {
	Tags    []Tag
	Dataset Dataset
}

// ModelInput records that a run used a logged model.
type ModelInput struct {
	ModelID string
}

// ModelOutput records that a run produced a logged model at a step.
type ModelOutput struct {
	ModelID string
	Step    int64
}

// LoggedModel is an MLflow 3 logged model.
type LoggedModel struct {
	ModelID              string
	ExperimentID         string
	Name                 string
	CreationTimestamp    int64 // ms
	LastUpdatedTimestamp int64 // ms
	ArtifactURI          string
	Status               LoggedModelStatus
	StatusMessage        string
	ModelType            string
	SourceRunID          string
	LifecycleStage       LifecycleStage
	Tags                 []Tag
	Params               []Param
	Metrics              []Metric
}

// RunArtifactURI is the artifact URI of a run in an experiment whose
// artifact location is expLoc: <expLoc>/<run>/artifacts.
func RunArtifactURI(expLoc, runID string) string {
	return joinURI(expLoc, runID, ArtifactsDirectory)
}

// ModelArtifactURI is the artifact URI of a logged model:
// <expLoc>/models/<model>/artifacts.
func ModelArtifactURI(expLoc, modelID string) string {
	return joinURI(expLoc, ModelsDirectory, modelID, ArtifactsDirectory)
}

// ExperimentArtifactLocation is the default artifact location of experiment
// id under root (e.g. "mlflow-artifacts:/" → "mlflow-artifacts:/1").
func ExperimentArtifactLocation(root, id string) string {
	return joinURI(root, id)
}

func joinURI(base string, elems ...string) string {
	s := base
	for _, e := range elems {
		if s == "" || strings.HasSuffix(s, "/") {
			s += e
		} else {
			s += "/" + e
		}
	}
	return s
}

// formatFloat formats a float the way Python's str() does for the common cases,
// for messages that quote values.
func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	switch s {
	case "NaN":
		return "nan"
	case "+Inf":
		return "inf"
	case "-Inf":
		return "-inf"
	}
	if !strings.ContainsAny(s, ".en") {
		s += ".0"
	}
	return s
}

// pyRepr quotes a string the way Python's repr() does for plain strings.
func pyRepr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}
