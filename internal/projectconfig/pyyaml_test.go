package projectconfig

import (
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posml/posml"
)

// TestPythonView checks that Merged holds what Python's yaml.safe_load
// gives (YAML 1.1), not what a YAML 1.2 reader would.
func TestPythonView(t *testing.T) {
	tests := []struct {
		yaml string
		want any
	}{
		{"plain", "plain"},
		{`"quoted 1"`, "quoted 1"},
		{"'single'", "single"},
		{"yes", true},
		{"No", false},
		{"on", true},
		{"OFF", false},
		{"true", true},
		{"y", "y"},
		{"~", nil},
		{"null", nil},
		{"", nil},
		{"12", 12},
		{"-12", -12},
		{"1_000", 1000},
		{"0755", 493},
		{"0x1F", 31},
		{"0b101", 5},
		{"1:30", 90},
		{"-1:00:00", -3600},
		{"09", "09"},
		{"123456789012345678901234567890", mustBig("123456789012345678901234567890")},
		{"1.5", 1.5},
		{"1.", 1.0},
		{".5", 0.5},
		{"1.0e+3", 1000.0},
		{"1e3", "1e3"},
		{"1:30.5", 90.5},
		{".inf", math.Inf(1)},
		{"-.Inf", math.Inf(-1)},
		{"2023-01-09", time.Date(2023, 1, 9, 0, 0, 0, 0, time.UTC)},
		{"2023-01-09 00:00:00", time.Date(2023, 1, 9, 0, 0, 0, 0, time.UTC)},
		{"2023-1-9T10:20:30.25Z", time.Date(2023, 1, 9, 10, 20, 30, 250000000, time.UTC)},
		{"2023-01-09 10:20:30 +09:00", time.Date(2023, 1, 9, 10, 20, 30, 0, time.FixedZone("", 9*3600))},
		{"2023-01-09 10:20:30 -5", time.Date(2023, 1, 9, 10, 20, 30, 0, time.FixedZone("", -5*3600))},
		{"2023/01/09", "2023/01/09"},
		{"!!str 12", "12"},
		{"!!int '12'", 12},
		{"!!float 1", 1.0},
		{"!!binary aGVsbG8=", []byte("hello")},
		{"[1, a, yes]", []any{1, "a", true}},
		{"{a: 1, 2: b}", map[any]any{"a": 1, 2: "b"}},
		{"{yes: 1, true: 2}", map[any]any{true: 2}},
		{"{1: a, 1.0: b}", map[any]any{1: "b"}},
	}
	for _, tt := range tests {
		user := "v: " + tt.yaml + "\n"
		root, diags := parseFile(UserFile, []byte(user))
		if posml.HasErrors(diags) || root == nil {
			t.Errorf("parse %q: %v", user, diags)
			continue
		}
		got := root.python().(map[string]any)["v"]
		if f, ok := got.(float64); ok && math.IsNaN(f) {
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b *big.Int) bool { return a.Cmp(b) == 0 })); diff != "" {
			t.Errorf("v: %s (-want +got):\n%s", tt.yaml, diff)
		}
	}
}

func mustBig(s string) *big.Int {
	n, _ := new(big.Int).SetString(s, 10)
	return n
}

func TestPythonViewAliasesAndMergeKeys(t *testing.T) {
	src := `base: &base
  a: 1
  b: 2
other: &other {b: 20, c: 30}
merged:
  <<: [*base, *other]
  c: 3
copy: *base
`
	root, diags := parseFile(UserFile, []byte(src))
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	want := map[string]any{
		"base":   map[string]any{"a": 1, "b": 2},
		"other":  map[string]any{"b": 20, "c": 30},
		"merged": map[string]any{"a": 1, "b": 2, "c": 3}, // earlier merges win, own keys win over all
		"copy":   map[string]any{"a": 1, "b": 2},
	}
	if diff := cmp.Diff(want, root.python()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestResolvePlain(t *testing.T) {
	tests := map[string]pyTag{
		"@daily": tagStr, "0 0 * * *": tagStr, "Asia/Seoul": tagStr, "%Y": tagStr,
		"Yes": tagBool, "NO": tagBool, "oN": tagStr,
		"0": tagInt, "+1": tagInt, "0o17": tagStr, "190:20:30": tagInt,
		"6.8523015e+5": tagFloat, "685.230_15e+03": tagFloat, ".NaN": tagFloat, "1e5": tagStr,
		"<<": tagMerge, "=": tagInvalid, "Null": tagNull, "NuLL": tagStr,
		"2001-12-14t21:59:43.10-05:00": tagTimestamp, "2002-12-14": tagTimestamp, "2002-1-14": tagStr,
	}
	for s, want := range tests {
		if got := resolvePlain(s); got != want {
			t.Errorf("resolvePlain(%q) = %v; want %v", s, got, want)
		}
	}
}
