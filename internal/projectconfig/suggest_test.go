package projectconfig

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"kitten", "sitting", 3},
		{"train_schedule_intervl", "train_schedule_interval", 1},
		{"Proj-Name", "proj_name", 0}, // case and dashes do not count
		{"slrum", "slurm", 1},         // a swap of neighbours is one edit
		{"ab", "ba", 1},
		{"ca", "abc", 3}, // optimal string alignment: no edit of a swapped pair
		{"서울", "서울", 0},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d; want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	tests := []struct {
		s    string
		want []string
	}{
		{"proj_nam", []string{"proj_name"}},
		{"retires", []string{"retries"}},
		{"mlfow", []string{"mlflow"}},
		{"cachup", []string{"catchup"}},
		{"retreis", []string{"retries"}},
		{"xyz", nil},
		{"t", nil}, // one letter is no basis for a guess
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, closest(tt.s, topLevelKeys, 2)); diff != "" {
			t.Errorf("closest(%q) (-want +got):\n%s", tt.s, diff)
		}
	}
	if got := didYouMean([]string{"a", "b"}); got != `did you mean "a" or "b"?` {
		t.Errorf("didYouMean = %q", got)
	}
}

func TestMetricDirection(t *testing.T) {
	minimized := map[string]bool{"log_loss": true, "training_log_loss": true, "mean_squared_error": true}
	for _, name := range metricNames() {
		d, ok := MetricDirection(name)
		if !ok || (d == Minimize) != minimized[name] {
			t.Errorf("MetricDirection(%q) = %v, %v", name, d, ok)
		}
	}
	if _, ok := MetricDirection("val_auc"); ok {
		t.Error("MetricDirection(val_auc) is known")
	}
	for _, s := range []string{"maximize", "minimize"} {
		if d, err := ParseDirection(s); err != nil || d.String() != s {
			t.Errorf("ParseDirection(%q) = %v, %v", s, d, err)
		}
	}
	if _, err := ParseDirection("Max"); err == nil {
		t.Error("ParseDirection(Max) succeeded")
	}
}
