package schedule

// CONTRACT STUB — replaced by the real implementation. The exported names and
// signatures below are what other packages call; keep them.

import (
	"errors"
	"time"
)

var errTODO = errors.New("schedule: not implemented yet")

// Mode is the run model of a timetable.
type Mode uint8

// The run models.
const (
	// ModeTrigger fires at each tick; logical date = tick; data interval [tick, tick] (Airflow 3).
	ModeTrigger Mode = iota
	// ModeInterval fires at the end of each interval [t_k, t_k+1); logical date = t_k (Airflow 2).
	ModeInterval
)

// ParseMode reads "trigger" or "interval".
func ParseMode(s string) (Mode, error) { return 0, errTODO }

func (m Mode) String() string {
	if m == ModeInterval {
		return "interval"
	}
	return "trigger"
}

// Schedule is a parsed schedule expression bound to a time zone.
type Schedule struct{}

// Parse parses a preset (@once @hourly @daily @weekly @monthly @quarterly
// @yearly, plus croniter's @midnight @annually) or a 5-field cron, evaluated on
// the wall clock of loc. Errors are user-facing and say how to fix the
// expression.
func Parse(expr string, loc *time.Location) (*Schedule, error) { return nil, errTODO }

// IsOnce reports whether the schedule is @once.
func (s *Schedule) IsOnce() bool { return false }

// Next returns the first fire instant strictly after t (zero time for @once).
func (s *Schedule) Next(t time.Time) time.Time { return time.Time{} }

// Prev returns the last fire instant strictly before t (zero time for @once).
func (s *Schedule) Prev(t time.Time) time.Time { return time.Time{} }

// Localize reads wall (its Year..Nanosecond fields; its location is ignored)
// as a wall-clock time in loc the way pendulum does: a time in a DST gap is
// shifted forward by the gap, an ambiguous time is the later (standard-time)
// occurrence.
func Localize(wall time.Time, loc *time.Location) time.Time { return time.Time{} }

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
func (tt Timetable) NextRun(last *Interval, now time.Time) (r Run, ok bool) { return Run{}, false }

// Upcoming lists up to n runs as `posml schedule next` prints them: with
// catch-up, the runs after last (or from the start) whose fire time is
// strictly after now; without it, first the run the scheduler would create at
// now (which may be due at once), then the following ones.
func (tt Timetable) Upcoming(last *Interval, now time.Time, n int) []Run { return nil }
