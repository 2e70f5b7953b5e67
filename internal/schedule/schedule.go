package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Schedule is a parsed schedule expression bound to a time zone. It is
// immutable and safe for concurrent use.
type Schedule struct {
	expr string // as written, without surrounding space
	spec string // the 5-field cron ("" for @once)
	cron *cron  // nil for @once
	loc  *time.Location
}

// presets are Airflow's cron_presets; they are matched exactly (lowercase).
var presets = map[string]string{
	"@once":      "",
	"@hourly":    "0 * * * *",
	"@daily":     "0 0 * * *",
	"@weekly":    "0 0 * * 0",
	"@monthly":   "0 0 1 * *",
	"@quarterly": "0 0 1 */3 *",
	"@yearly":    "0 0 1 1 *",
}

// croniterAliases are croniter's own presets, which it accepts in any case.
var croniterAliases = map[string]string{
	"@midnight": "0 0 * * *",
	"@annually": "0 0 1 1 *",
}

const presetList = "@once, @hourly, @daily, @weekly, @monthly, @quarterly or @yearly"

// Parse parses a preset (@once @hourly @daily @weekly @monthly @quarterly
// @yearly, plus croniter's @midnight @annually) or a 5-field cron, evaluated on
// the wall clock of loc. Errors are user-facing and say how to fix the
// expression.
//
// Airflow's presets must be written in lowercase; croniter's aliases may be
// written in any case. Cron names (jan, mon) and the letter L may be written
// in any case. loc must be a named zone: nil and time.Local are rejected
// because their meaning depends on the host.
func Parse(expr string, loc *time.Location) (*Schedule, error) {
	if loc == nil {
		return nil, fmt.Errorf("schedule %q has no time zone: give an IANA zone such as Asia/Seoul or UTC", expr)
	}
	if loc == time.Local || loc.String() == "Local" {
		return nil, fmt.Errorf("schedule %q: the time zone Local depends on the host; give an IANA zone such as Asia/Seoul or UTC", expr)
	}
	e := strings.TrimSpace(expr)
	if e == "" {
		return nil, errors.New(`schedule is empty: write a preset such as @daily or a 5-field cron such as "0 3 * * *"`)
	}
	s := &Schedule{expr: e, loc: loc}
	if strings.HasPrefix(e, "@") {
		spec, err := preset(e)
		if err != nil {
			return nil, err
		}
		s.spec = spec
		if spec == "" {
			return s, nil // @once
		}
	} else {
		s.spec = strings.Join(strings.Fields(e), " ")
	}
	c, err := parseCron(s.spec)
	if err != nil {
		return nil, err
	}
	s.cron = c
	return s, nil
}

// preset resolves an expression starting with "@".
func preset(e string) (string, error) {
	if spec, ok := presets[e]; ok {
		return spec, nil
	}
	lower := strings.ToLower(e)
	if spec, ok := croniterAliases[lower]; ok {
		return spec, nil
	}
	word, _, _ := strings.Cut(lower, " ")
	_, known := presets[lower]
	switch {
	case known:
		return "", fmt.Errorf("schedule %q: presets are lowercase; write %s", e, lower)
	case word == "@reboot":
		return "", fmt.Errorf("schedule %q: @reboot is not supported; posml schedules by the clock only (use @once for a single run)", e)
	case word == "@every":
		return "", fmt.Errorf("schedule %q: @every is not supported; write a cron, such as \"*/5 * * * *\" for every 5 minutes", e)
	case word == "@continuous":
		return "", fmt.Errorf("schedule %q: @continuous is not supported; use a cron such as \"* * * * *\" or @hourly", e)
	}
	return "", fmt.Errorf("schedule %q: unknown preset; use %s, or a 5-field cron", e, presetList)
}

// String returns the expression as written.
func (s *Schedule) String() string { return s.expr }

// Cron returns the 5-field cron the schedule evaluates, with presets
// expanded ("@daily" → "0 0 * * *"); it is "" for @once.
func (s *Schedule) Cron() string { return s.spec }

// Location returns the time zone whose wall clock the cron is evaluated on.
func (s *Schedule) Location() *time.Location { return s.loc }

// IsOnce reports whether the schedule is @once.
func (s *Schedule) IsOnce() bool { return s.cron == nil }

// Next returns the first fire instant strictly after t (zero time for @once).
// Fire instants have no fractional seconds, so the seconds of t count: the
// next run after 03:00:00.5 is not 03:00:00. The result is in the
// schedule's location; it is the zero time if there is none before the year
// 10000.
func (s *Schedule) Next(t time.Time) time.Time {
	if s.cron == nil {
		return time.Time{}
	}
	x, ok := s.nextFire(max(t.Unix()+1, minInstant))
	if !ok {
		return time.Time{}
	}
	return time.Unix(x, 0).In(s.loc)
}

// Prev returns the last fire instant strictly before t (zero time for @once,
// and when there is none after the year 0).
func (s *Schedule) Prev(t time.Time) time.Time {
	if s.cron == nil {
		return time.Time{}
	}
	hi := t.Unix()
	if t.Nanosecond() > 0 {
		hi++ // fire instants up to and including t's whole second are before t
	}
	x, ok := s.prevFire(min(hi, maxInstant))
	if !ok {
		return time.Time{}
	}
	return time.Unix(x, 0).In(s.loc)
}

// alignUp returns t if t is a fire instant, else Next(t).
func (s *Schedule) alignUp(t time.Time) time.Time { return s.Next(t.Add(-time.Nanosecond)) }

// alignDown returns t if t is a fire instant, else Prev(t).
func (s *Schedule) alignDown(t time.Time) time.Time { return s.Prev(t.Add(time.Nanosecond)) }
