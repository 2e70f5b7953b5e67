package schedule

import (
	"fmt"
	"strings"
	"time"
)

// Mode is the run model of a timetable.
type Mode uint8

// The run models.
const (
	// ModeTrigger fires at each tick; logical date = tick; data interval [tick, tick] (Airflow 3).
	ModeTrigger Mode = iota
	// ModeInterval fires at the end of each interval [t_k, t_k+1); logical date = t_k (Airflow 2).
	ModeInterval
)

// ParseMode reads "trigger" or "interval" (in any case).
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "trigger":
		return ModeTrigger, nil
	case "interval":
		return ModeInterval, nil
	}
	return 0, fmt.Errorf("schedule mode %q is not valid: use trigger (run at each tick, Airflow 3) or interval (run at the end of each data interval, Airflow 2)", s)
}

func (m Mode) String() string {
	if m == ModeInterval {
		return "interval"
	}
	return "trigger"
}

// Interval is a data interval.
type Interval struct{ Start, End time.Time }

// Run is one scheduled run.
type Run struct {
	FireAt      time.Time // when the scheduler creates it (Airflow's run_after)
	LogicalDate time.Time
	Interval    Interval // the data interval
}

// Timetable is a Schedule with a start date and a run model.
type Timetable struct {
	Schedule *Schedule
	Start    time.Time // instant
	Mode     Mode
	Catchup  bool
}

// NextRun returns the run the scheduler creates next, given the data interval
// of the last scheduled run (nil when there was none) and the current time.
// ok is false when the timetable has no more runs (@once already ran).
//
// It follows Airflow's CronDataIntervalTimetable (ModeInterval) and
// CronTriggerTimetable (ModeTrigger), spec §3. The first tick is the first
// fire instant at or after Start. Without catch-up, ModeInterval proposes the
// latest complete interval and ModeTrigger the latest tick at or before now;
// either may be due at once (FireAt <= now). @once fires once, at Start,
// whatever the mode and catch-up.
func (tt Timetable) NextRun(last *Interval, now time.Time) (r Run, ok bool) {
	s := tt.Schedule
	if s == nil {
		return Run{}, false
	}
	if s.IsOnce() {
		if last != nil {
			return Run{}, false
		}
		start := tt.Start.In(s.loc)
		return Run{FireAt: start, LogicalDate: start, Interval: Interval{start, start}}, true
	}
	first := s.alignUp(tt.Start)
	var t time.Time
	if tt.Mode == ModeInterval {
		t = tt.intervalStart(first, last, now)
	} else {
		t = tt.tick(first, last, now)
	}
	if t.IsZero() {
		return Run{}, false
	}
	if tt.Mode == ModeTrigger {
		return Run{FireAt: t, LogicalDate: t, Interval: Interval{t, t}}, true
	}
	end := s.Next(t)
	if end.IsZero() {
		return Run{}, false
	}
	return Run{FireAt: end, LogicalDate: t, Interval: Interval{t, end}}, true
}

// intervalStart returns the start of the next data interval (spec §3.1).
func (tt Timetable) intervalStart(first time.Time, last *Interval, now time.Time) time.Time {
	s := tt.Schedule
	earliest := first
	if !tt.Catchup {
		// The start of the latest complete interval: the one ending at now
		// if now is a tick, else the one ending at the last tick before now.
		latest := s.Prev(now)
		if !s.Next(latest).Equal(now) {
			latest = s.Prev(latest)
		}
		if latest.After(earliest) {
			earliest = latest
		}
	}
	if last == nil {
		return earliest
	}
	// Re-align a previous interval that is off the schedule (the schedule
	// changed). A zero-length one comes from trigger mode, whose logical
	// date was its end: start after it, so that no logical date repeats.
	from := s.alignDown(last.End)
	if !last.Start.Before(last.End) {
		from = s.Next(last.End)
	}
	if from.After(earliest) {
		return from
	}
	return earliest
}

// tick returns the tick of the next trigger run (spec §3.2).
func (tt Timetable) tick(first time.Time, last *Interval, now time.Time) time.Time {
	s := tt.Schedule
	var after time.Time // the first tick after the last run
	if last != nil {
		after = s.Next(last.End)
	}
	if tt.Catchup {
		if last != nil {
			return after
		}
		return first
	}
	t := first
	if d := s.alignDown(now); d.After(t) {
		t = d
	}
	if last != nil && after.After(t) {
		t = after
	}
	return t
}

// Upcoming lists up to n runs as `posml schedule next` prints them: with
// catch-up, the runs after last (or from the start) whose fire time is
// strictly after now; without it, first the run the scheduler would create at
// now (which may be due at once), then the following ones.
//
// @once yields its single run while it is pending (last == nil), with or
// without catch-up: Airflow runs it regardless of catch-up.
func (tt Timetable) Upcoming(last *Interval, now time.Time, n int) []Run {
	if n <= 0 || tt.Schedule == nil {
		return nil
	}
	r, ok := tt.NextRun(last, now)
	if !ok {
		return nil
	}
	if tt.Schedule.IsOnce() {
		return []Run{r}
	}
	if tt.Catchup && !r.FireAt.After(now) {
		// Skip the runs already due in one step: continuing from the tick
		// at or before now gives the first run that fires after now.
		d := tt.Schedule.alignDown(now)
		skip := Interval{d, d} // ModeTrigger: the run at d
		if tt.Mode == ModeInterval {
			skip.Start = tt.Schedule.Prev(d) // the interval ending at d
		}
		if r, ok = tt.NextRun(&skip, now); !ok {
			return nil
		}
	}
	runs := make([]Run, 0, n)
	for {
		runs = append(runs, r)
		if len(runs) == n {
			return runs
		}
		if r, ok = tt.NextRun(&r.Interval, r.FireAt); !ok {
			return runs
		}
	}
}
