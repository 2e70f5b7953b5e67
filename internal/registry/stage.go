package registry

import (
	"strings"

	"github.com/posml/posml"
)

// Stage is the deprecated lifecycle stage of a model version.
type Stage string

// The stages. StageDeletedInternal marks a soft-deleted version; it is never
// accepted from a client nor shown to one.
const (
	StageNone            Stage = "None"
	StageStaging         Stage = "Staging"
	StageProduction      Stage = "Production"
	StageArchived        Stage = "Archived"
	StageDeletedInternal Stage = "Deleted_Internal"
)

// Stages lists the stages a client may use, in MLflow's order.
var Stages = []Stage{StageNone, StageStaging, StageProduction, StageArchived}

// ParseStage returns the canonical stage for s, matched without regard to
// case ("PRODUCTION" → Production), or MLflow's error naming s as given.
func ParseStage(s string) (Stage, error) {
	for _, st := range Stages {
		if strings.EqualFold(string(st), s) {
			return st, nil
		}
	}
	return "", posml.Errorf(posml.KindInvalid, "Invalid Model Version stage: "+s+
		". Value must be one of None, Staging, Production, Archived.")
}

// IsActive reports whether archive_existing_versions may be used when
// moving a version to the stage: Staging and Production.
func (s Stage) IsActive() bool { return s == StageStaging || s == StageProduction }

// ErrArchiveInactive is MLflow's error for archive_existing_versions with a
// stage that is not active; stage is as the client wrote it.
func ErrArchiveInactive(stage string) error {
	return posml.Errorf(posml.KindInvalid, "Model version transition cannot archive existing model versions because '"+
		stage+"' is not an Active stage. Valid stages are ['Staging', 'Production']")
}
