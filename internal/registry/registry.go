package registry

import "strconv"

// StatusReady is the status of every model version: versions are registered
// synchronously, so they are never PENDING_REGISTRATION (a client that saw
// that status would poll for minutes).
const StatusReady = "READY"

// Reserved tag keys with a meaning to the registry.
const (
	// TagIsPrompt marks MLflow 3 prompts, which searches hide unless asked.
	TagIsPrompt = "mlflow.prompt.is_prompt"
	// TagModelVersions is the logged-model tag listing the versions
	// registered from it (MLflow 3).
	TagModelVersions = "mlflow.modelVersions"
)

// Values MLflow writes over the fields of a deleted version.
const (
	RedactedSource  = "REDACTED-SOURCE-PATH"
	RedactedRunID   = "REDACTED-RUN-ID"
	RedactedRunLink = "REDACTED-RUN-LINK"
)

// Tag is a key/value pair on a registered model or a model version.
type Tag struct {
	Key   string
	Value string
}

// Alias names one version of a registered model.
type Alias struct {
	Alias   string
	Version int64
}

// RegisteredModel is a named model with its versions.
type RegisteredModel struct {
	Name                 string
	CreationTimestamp    int64 // ms
	LastUpdatedTimestamp int64 // ms
	Description          string
	// LatestVersions holds, for each stage that has versions, the version
	// with the highest number in it, in ascending version order.
	LatestVersions []ModelVersion
	Tags           []Tag
	Aliases        []Alias
}

// ModelVersion is one numbered version of a registered model.
type ModelVersion struct {
	Name                 string
	Version              int64
	CreationTimestamp    int64 // ms
	LastUpdatedTimestamp int64 // ms
	Description          string
	UserID               string
	CurrentStage         Stage
	Source               string
	// StorageLocation is where the artifacts are, when it differs from
	// Source: the logged model's location for a models:/ source.
	StorageLocation string
	RunID           string
	RunLink         string
	Status          string
	StatusMessage   string
	ModelID         string // the logged model it was registered from (MLflow 3)
	Tags            []Tag
	Aliases         []string
}

// VersionString is the version number as the wire carries it.
func (mv ModelVersion) VersionString() string { return strconv.FormatInt(mv.Version, 10) }

// DownloadURI is where a client downloads the version's artifacts from:
// the storage location, else the source.
func (mv ModelVersion) DownloadURI() string {
	if mv.StorageLocation != "" {
		return mv.StorageLocation
	}
	return mv.Source
}
