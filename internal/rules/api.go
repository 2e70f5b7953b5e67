package rules

// CONTRACT STUB — replaced by the real implementation. Keep the exported API.

import (
	"context"
	"errors"

	"github.com/posml/posml"
)

// Options tune Check.
type Options struct {
	Python          string // interpreter used to parse Python with ast; "" = "python3"
	TriggerRequired bool   // a trigger schedule is set: src/train_trigger.py must define train_trigger(**kwargs)
}

// Check applies the template rules to the project in dir. err is for failures
// to run the check at all (python3 missing: a clear message saying so).
func Check(ctx context.Context, dir string, opt Options) ([]posml.Diagnostic, error) {
	return nil, errors.New("rules: not implemented yet")
}
