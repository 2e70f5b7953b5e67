package tracking

import (
	"math"
	"strings"
	"testing"

	"github.com/posml/posml"
)

func TestValidateNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
		msg  string
	}{
		{"acc", true, ""},
		{"train/loss 1.0-x_y", true, ""},
		{"a;b", false, "Invalid metric name: 'a;b'. Names may only contain"},
		{"a//b", false, "This name would resolve to 'a/b'"},
		{"./a", false, "This name would resolve to 'a'"},
		{"..", false, "This name would resolve to '..'"},
		{"/a", false, "This name would resolve to '/a'"},
		{"a/", false, "This name would resolve to 'a'"},
		{"", false, "This name would resolve to '.'"},
	} {
		err := ValidateMetric(Metric{Key: tc.name})
		if tc.ok != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ValidateMetric(%q) = %v; want ok=%v %q", tc.name, err, tc.ok, tc.msg)
		}
		if err != nil && posml.KindOf(err) != posml.KindInvalid {
			t.Errorf("kind = %v", posml.KindOf(err))
		}
	}
}

func TestValidateBatchOrder(t *testing.T) {
	// Counts are checked before contents.
	ms := make([]Metric, 1001)
	err := ValidateBatch(ms, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "at most 1000 metrics") {
		t.Fatalf("err = %v", err)
	}
	err = ValidateBatch(nil, []Param{{Key: "a"}, {Key: "b"}, {Key: "a"}, {Key: "b"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "Duplicate parameter keys have been submitted: ['a', 'b'].") {
		t.Fatalf("err = %v", err)
	}
}

func TestParamChangedMessages(t *testing.T) {
	err := ErrParamsChanged("r1", []ParamChange{{"k", "it's", "b"}})
	want := `Changing param values is not allowed. Params were already logged='[{'key': 'k', 'old_value': "it's", 'new_value': 'b'}]' for run ID='r1'.`
	if err.Error() != want {
		t.Fatalf("got  %s\nwant %s", err, want)
	}
}

func TestFormatFloat(t *testing.T) {
	for in, want := range map[float64]string{1: "1.0", 1.5: "1.5", math.NaN(): "nan", math.Inf(1): "inf", 1e20: "1e+20"} {
		if got := formatFloat(in); got != want {
			t.Errorf("formatFloat(%v) = %q; want %q", in, got, want)
		}
	}
}

func TestEnums(t *testing.T) {
	for in, want := range map[string]RunStatus{"RUNNING": RunRunning, "finished": RunFinished, "4": RunFailed, "KILLED": RunKilled} {
		if got, ok := ParseRunStatus(in); !ok || got != want {
			t.Errorf("ParseRunStatus(%q) = %v %v", in, got, ok)
		}
	}
	if _, ok := ParseRunStatus("nope"); ok {
		t.Error("ParseRunStatus(nope) ok")
	}
	for in, want := range map[string]LoggedModelStatus{"LOGGED_MODEL_READY": ModelStatusReady, "READY": ModelStatusReady, "3": ModelStatusUploadFailed, "LOGGED_MODEL_PENDING": ModelStatusPending} {
		if got, ok := ParseLoggedModelStatus(in); !ok || got != want {
			t.Errorf("ParseLoggedModelStatus(%q) = %v %v", in, got, ok)
		}
	}
	for in, want := range map[string]ViewType{"ACTIVE_ONLY": ViewActiveOnly, "DELETED_ONLY": ViewDeletedOnly, "ALL": ViewAll, "3": ViewAll} {
		if got, ok := ParseViewType(in); !ok || got != want {
			t.Errorf("ParseViewType(%q) = %v %v", in, got, ok)
		}
	}
}

func TestURIs(t *testing.T) {
	if got := ExperimentArtifactLocation("mlflow-artifacts:/", "3"); got != "mlflow-artifacts:/3" {
		t.Errorf("experiment location = %q", got)
	}
	if got := RunArtifactURI("mlflow-artifacts:/3", "abc"); got != "mlflow-artifacts:/3/abc/artifacts" {
		t.Errorf("run uri = %q", got)
	}
	if got := ModelArtifactURI("s3://b/3/", "m-1"); got != "s3://b/3/models/m-1/artifacts" {
		t.Errorf("model uri = %q", got)
	}
}

func TestSampleSteps(t *testing.T) {
	all := make([]int64, 100)
	for i := range all {
		all[i] = int64(i)
	}
	got := SampleSteps(0, 99, 10, all, []int64{0, 99, 50})
	if len(got) < 10 || got[0] != 0 || got[len(got)-1] != 99 {
		t.Fatalf("SampleSteps = %v", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("not sorted/distinct: %v", got)
		}
	}
	if got := SampleSteps(10, 12, 10, all, nil); len(got) != 3 {
		t.Fatalf("range 10..12 = %v", got)
	}
}

func TestRandomName(t *testing.T) {
	n := RandomName()
	if parts := strings.Split(n, "-"); len(parts) != 3 {
		t.Fatalf("RandomName() = %q", n)
	}
}
