package restapi

import (
	"fmt"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/schedule"
)

// BackfillDates returns the runs of a pipeline's timetable whose logical
// date lies in [from, to], in order, at most limit (more is a KindInvalid
// error). The start date of the schedule still applies; catch-up does not
// (a backfill asks for every date).
func BackfillDates(sp pipeline.Spec, from, to time.Time, limit int) ([]schedule.Run, error) {
	tt, ok, err := sp.Timetable()
	if err != nil {
		return nil, &posml.Error{Kind: posml.KindInvalid, Msg: "the pipeline's schedule", Err: err}
	}
	if !ok {
		return nil, posml.Errorf(posml.KindInvalid, "the pipeline is not scheduled: nothing to backfill")
	}
	tt.Catchup = true
	if tt.Start.Before(from) && !tt.Schedule.IsOnce() {
		tt.Start = from
	}
	var out []schedule.Run
	var last *schedule.Interval
	for {
		r, ok := tt.NextRun(last, to)
		if !ok || r.LogicalDate.After(to) {
			return out, nil
		}
		if !r.LogicalDate.Before(from) {
			if len(out) == limit {
				return nil, posml.Errorf(posml.KindInvalid, fmt.Sprintf("more than %d runs between %s and %s: backfill a shorter range", limit, from.Format(time.RFC3339), to.Format(time.RFC3339)))
			}
			out = append(out, r)
		}
		iv := r.Interval
		last = &iv
		if tt.Schedule.IsOnce() {
			return out, nil
		}
	}
}
