package posml

import "testing"

func TestDiagnosticString(t *testing.T) {
	tests := []struct {
		name string
		d    Diagnostic
		want string
	}{
		{"error with fix", Diagnostic{File: "src/config.yaml", Line: 9, Col: 12, Rule: "time_zone", Msg: `unknown time zone "Asia/Seol"`, Fix: `did you mean "Asia/Seoul"?`},
			`src/config.yaml:9:12: time_zone: unknown time zone "Asia/Seol" (did you mean "Asia/Seoul"?)`},
		{"warning", Diagnostic{File: "src/config.yaml", Line: 3, Col: 1, Severity: SeverityWarning, Rule: "foo", Msg: "unknown key"},
			"src/config.yaml:3:1: warning: foo: unknown key"},
		{"whole file", Diagnostic{File: "src/train.py", Rule: "train-py", Msg: "is missing"},
			"src/train.py: train-py: is missing"},
		{"code fix", Diagnostic{File: "src/train.py", Line: 1, Col: 1, Rule: "r", Msg: "m", Fix: "add:\nif x:\n    y()"},
			"src/train.py:1:1: r: m (add:)\n    if x:\n        y()"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.String(); got != tt.want {
				t.Errorf("String() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	if HasErrors([]Diagnostic{{Severity: SeverityWarning}}) || !HasErrors([]Diagnostic{{Severity: SeverityWarning}, {}}) {
		t.Error("HasErrors counts warnings as errors or misses an error")
	}
}
