package posml

import (
	"fmt"
	"strings"
)

// Severity tells whether a Diagnostic makes a project invalid.
type Severity uint8

// The severities.
const (
	SeverityError Severity = iota
	SeverityWarning
)

func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// MarshalText writes the severity as "error" or "warning".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Diagnostic is one finding of validation, located in a file of a project.
type Diagnostic struct {
	File     string   `json:"file"`           // path relative to the project root, slash-separated
	Line     int      `json:"line,omitempty"` // 1-based; 0 when the finding is about the whole file
	Col      int      `json:"col,omitempty"`  // 1-based
	Severity Severity `json:"severity"`
	Rule     string   `json:"rule"`          // config field path ("mlflow.target_metric") or rule id ("train-main-guard")
	Msg      string   `json:"message"`       // what is wrong
	Fix      string   `json:"fix,omitempty"` // how to fix it
}

// String formats the diagnostic as "file:line:col: rule: message (fix)",
// with "warning: " before the rule for warnings. When the fix holds code
// (several lines), its first line stays in the parentheses and the code
// follows on lines indented by four spaces.
func (d Diagnostic) String() string {
	loc := d.File
	if d.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", d.File, d.Line, max(d.Col, 1))
	}
	s := fmt.Sprintf("%s: %s: %s", loc, d.Rule, d.Msg)
	if d.Severity == SeverityWarning {
		s = fmt.Sprintf("%s: warning: %s: %s", loc, d.Rule, d.Msg)
	}
	switch {
	case strings.Contains(d.Fix, "\n"):
		// A fix with code in it: show it below, indented, so it can be copied.
		lines := strings.Split(strings.TrimRight(d.Fix, "\n"), "\n")
		s += " (" + lines[0] + ")\n    " + strings.Join(lines[1:], "\n    ")
	case d.Fix != "":
		s += " (" + d.Fix + ")"
	}
	return s
}

// HasErrors reports whether any diagnostic is an error.
func HasErrors(ds []Diagnostic) bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}
