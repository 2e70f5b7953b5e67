package restapi

import (
	"testing"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/pipeline"
)

func TestBackfillDates(t *testing.T) {
	seoul, _ := time.LoadLocation("Asia/Seoul")
	at := func(d, h int) time.Time { return time.Date(2024, 3, d, h, 0, 0, 0, seoul) }
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, seoul).UTC()
	for _, tc := range []struct {
		name     string
		spec     pipeline.Spec
		from, to time.Time
		want     []time.Time // logical dates
	}{
		{"daily trigger mode", pipeline.Spec{Expr: "@daily", TimeZone: "Asia/Seoul", Start: start, Mode: "trigger"},
			at(1, 0), at(3, 0), []time.Time{at(1, 0), at(2, 0), at(3, 0)}},
		{"from between ticks", pipeline.Spec{Expr: "@daily", TimeZone: "Asia/Seoul", Start: start, Mode: "trigger"},
			at(1, 5), at(3, 5), []time.Time{at(2, 0), at(3, 0)}},
		// Interval mode: the logical date is the interval's start.
		{"daily interval mode", pipeline.Spec{Expr: "@daily", TimeZone: "Asia/Seoul", Start: start, Mode: "interval"},
			at(1, 0), at(2, 0), []time.Time{at(1, 0), at(2, 0)}},
		{"cron", pipeline.Spec{Expr: "0 6,18 * * *", TimeZone: "Asia/Seoul", Start: start},
			at(1, 0), at(2, 0), []time.Time{at(1, 6), at(1, 18)}},
		{"before the start date", pipeline.Spec{Expr: "@daily", TimeZone: "Asia/Seoul", Start: at(2, 0).UTC()},
			at(1, 0), at(3, 0), []time.Time{at(2, 0), at(3, 0)}},
		{"once, inside", pipeline.Spec{Expr: "@once", TimeZone: "Asia/Seoul", Start: at(2, 12).UTC()},
			at(1, 0), at(3, 0), []time.Time{at(2, 12)}},
		{"once, outside", pipeline.Spec{Expr: "@once", TimeZone: "Asia/Seoul", Start: at(5, 0).UTC()},
			at(1, 0), at(3, 0), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs, err := BackfillDates(tc.spec, tc.from, tc.to, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != len(tc.want) {
				t.Fatalf("got %d dates %v; want %v", len(runs), runs, tc.want)
			}
			for i, r := range runs {
				if !r.LogicalDate.Equal(tc.want[i]) {
					t.Errorf("date %d = %v; want %v", i, r.LogicalDate, tc.want[i])
				}
			}
		})
	}
	hourly := pipeline.Spec{Expr: "@hourly", TimeZone: "UTC", Start: start}
	if _, err := BackfillDates(hourly, at(1, 0), at(30, 0), 100); posml.KindOf(err) != posml.KindInvalid {
		t.Errorf("a range over the limit: err = %v; want KindInvalid", err)
	}
	if _, err := BackfillDates(pipeline.Spec{}, at(1, 0), at(2, 0), 100); posml.KindOf(err) != posml.KindInvalid {
		t.Errorf("an unscheduled pipeline: err = %v; want KindInvalid", err)
	}
}
