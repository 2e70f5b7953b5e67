package projectconfig

import (
	"fmt"
	"strings"
)

// Direction says whether a larger metric value is better.
type Direction uint8

// The directions.
const (
	Maximize Direction = iota
	Minimize
)

func (d Direction) String() string {
	if d == Minimize {
		return "minimize"
	}
	return "maximize"
}

// ParseDirection reads "maximize" or "minimize", as written in
// mlflow.target_metric_direction.
func ParseDirection(s string) (Direction, error) {
	for _, d := range []Direction{Maximize, Minimize} {
		if s == d.String() {
			return d, nil
		}
	}
	return 0, fmt.Errorf("unknown direction %q", s)
}

// knownMetrics are the metrics the seed guide lists for
// mlflow.target_metric: the ones mlflow.evaluate and sklearn autologging log
// whatever the framework, with the direction in which they improve.
var knownMetrics = []struct {
	name string
	dir  Direction
}{
	{"accuracy_score", Maximize},
	{"f1_score", Maximize},
	{"log_loss", Minimize},
	{"precision_score", Maximize},
	{"recall_score", Maximize},
	{"roc_auc", Maximize},
	{"training_accuracy_score", Maximize},
	{"training_f1_score", Maximize},
	{"training_log_loss", Minimize},
	{"training_precision_score", Maximize},
	{"training_recall_score", Maximize},
	{"training_score", Maximize},
	{"mean_squared_error", Minimize},
	{"r2_score", Maximize},
}

// MetricDirection returns the direction of a metric the seed guide lists,
// and false for any other metric.
func MetricDirection(metric string) (Direction, bool) {
	for _, m := range knownMetrics {
		if m.name == metric {
			return m.dir, true
		}
	}
	return 0, false
}

func metricNames() []string {
	names := make([]string, len(knownMetrics))
	for i, m := range knownMetrics {
		names[i] = m.name
	}
	return names
}

func metricList() string { return strings.Join(metricNames(), ", ") }
