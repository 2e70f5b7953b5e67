package schedule

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// fmtRun renders a run in the schedule's zone.
func fmtRun(r Run) string {
	return fmt.Sprintf("fire=%s logical=%s interval=[%s, %s]", rfc(r.FireAt), rfc(r.LogicalDate), rfc(r.Interval.Start), rfc(r.Interval.End))
}

// wantRuns expands the short forms of expected runs: "S E" for a data
// interval [S, E] (fires at E, logical date S), "T" for a trigger run at T.
func wantRuns(tb testing.TB, loc *time.Location, short []string) []string {
	tb.Helper()
	var out []string
	for _, w := range short {
		f := strings.Fields(w)
		var r Run
		switch len(f) {
		case 1:
			x := at(tb, f[0]).In(loc)
			r = Run{FireAt: x, LogicalDate: x, Interval: Interval{x, x}}
		case 2:
			s, e := at(tb, f[0]).In(loc), at(tb, f[1]).In(loc)
			r = Run{FireAt: e, LogicalDate: s, Interval: Interval{s, e}}
		default:
			tb.Fatalf("bad expected run %q", w)
		}
		out = append(out, fmtRun(r))
	}
	return out
}

type timetableCase struct {
	name, zone, expr, start string
	mode                    Mode
	catchup                 bool
	last                    string // "S E", or "" for no previous run
	now                     string
	want                    []string // see wantRuns
}

func (tc timetableCase) timetable(tb testing.TB) (Timetable, *Interval, time.Time) {
	tb.Helper()
	s := mustParse(tb, tc.expr, tc.zone)
	tt := Timetable{Schedule: s, Start: at(tb, tc.start), Mode: tc.mode, Catchup: tc.catchup}
	var last *Interval
	if tc.last != "" {
		f := strings.Fields(tc.last)
		last = &Interval{at(tb, f[0]), at(tb, f[1])}
	}
	return tt, last, at(tb, tc.now)
}

// runNextRun calls NextRun as the scheduler does: each call gets the data
// interval of the run before and the same now.
func runNextRun(t *testing.T, tests []timetableCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tt, last, now := tc.timetable(t)
			var got []string
			for range tc.want {
				r, ok := tt.NextRun(last, now)
				if !ok {
					got = append(got, "none")
					break
				}
				got = append(got, fmtRun(r))
				last = &r.Interval
			}
			want := wantRuns(t, tt.Schedule.Location(), tc.want)
			if !slices.Equal(got, want) {
				t.Errorf("%q in %s, start %s, %v catchup=%v, now %s:\n got %s\nwant %s",
					tc.expr, tc.zone, tc.start, tc.mode, tc.catchup, tc.now, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
			}
		})
	}
}

func TestNextRunInterval(t *testing.T) {
	const I = ModeInterval
	runNextRun(t, []timetableCase{
		{name: "seoul daily first run covers jan 1", zone: seoul, expr: "@daily", start: "2024-01-01T00:00:00+09:00",
			mode: I, catchup: true, now: "2024-01-01T00:00:00+09:00",
			want: []string{"2023-12-31T15:00:00Z 2024-01-01T15:00:00Z"}},
		{name: "unaligned start begins at the next tick", zone: "UTC", expr: "@daily", start: "2024-01-01T09:30:00Z",
			mode: I, catchup: true, now: "2024-01-05T00:00:00Z",
			want: []string{"2024-01-02T00:00:00Z 2024-01-03T00:00:00Z", "2024-01-03T00:00:00Z 2024-01-04T00:00:00Z", "2024-01-04T00:00:00Z 2024-01-05T00:00:00Z"}},
		{name: "no catchup enabled at 13:45 runs the day before", zone: "UTC", expr: "@daily", start: "2024-01-01T00:00:00Z",
			mode: I, now: "2024-03-15T13:45:00Z",
			want: []string{"2024-03-14T00:00:00Z 2024-03-15T00:00:00Z", "2024-03-15T00:00:00Z 2024-03-16T00:00:00Z"}},
		{name: "no catchup now on a tick runs the interval ending now", zone: "UTC", expr: "@daily", start: "2024-01-01T00:00:00Z",
			mode: I, now: "2024-03-15T00:00:00Z",
			want: []string{"2024-03-14T00:00:00Z 2024-03-15T00:00:00Z"}},
		{name: "no catchup later start wins", zone: "UTC", expr: "@daily", start: "2024-03-20T00:00:00Z",
			mode: I, now: "2024-03-15T13:45:00Z",
			want: []string{"2024-03-20T00:00:00Z 2024-03-21T00:00:00Z"}},
		{name: "docs */30 start 00:00 catchup", zone: "UTC", expr: "*/30 * * * *", start: "2024-01-01T00:00:00Z",
			mode: I, catchup: true, now: "2024-01-01T01:05:00Z",
			want: []string{"2024-01-01T00:00:00Z 2024-01-01T00:30:00Z", "2024-01-01T00:30:00Z 2024-01-01T01:00:00Z", "2024-01-01T01:00:00Z 2024-01-01T01:30:00Z"}},
		{name: "docs */30 start 00:00 no catchup", zone: "UTC", expr: "*/30 * * * *", start: "2024-01-01T00:00:00Z",
			mode: I, now: "2024-01-01T01:05:00Z",
			want: []string{"2024-01-01T00:30:00Z 2024-01-01T01:00:00Z", "2024-01-01T01:00:00Z 2024-01-01T01:30:00Z"}},
		{name: "docs */30 start 00:10 catchup", zone: "UTC", expr: "*/30 * * * *", start: "2024-01-01T00:10:00Z",
			mode: I, catchup: true, now: "2024-01-01T01:05:00Z",
			want: []string{"2024-01-01T00:30:00Z 2024-01-01T01:00:00Z"}},
		{name: "docs */30 start 00:10 no catchup", zone: "UTC", expr: "*/30 * * * *", start: "2024-01-01T00:10:00Z",
			mode: I, now: "2024-01-01T01:05:00Z",
			want: []string{"2024-01-01T00:30:00Z 2024-01-01T01:00:00Z"}},
		{name: "a changed schedule is re-aligned", zone: "UTC", expr: "@daily", start: "2022-01-01T00:00:00Z",
			mode: I, catchup: true, last: "2022-08-07T01:00:00Z 2022-08-08T01:00:00Z", now: "2022-08-10T00:00:00Z",
			want: []string{"2022-08-08T00:00:00Z 2022-08-09T00:00:00Z"}},
		{name: "zero-length last interval does not repeat its logical date", zone: "UTC", expr: "0 17 * * *", start: "2021-01-01T00:00:00Z",
			mode: I, catchup: true, last: "2021-09-05T17:00:00Z 2021-09-05T17:00:00Z", now: "2021-09-07T15:00:00Z",
			want: []string{"2021-09-06T17:00:00Z 2021-09-07T17:00:00Z"}},
		{name: "zero-length last interval without catchup", zone: "UTC", expr: "0 17 * * *", start: "2021-01-01T00:00:00Z",
			mode: I, last: "2021-09-05T17:00:00Z 2021-09-05T17:00:00Z", now: "2021-09-07T15:00:00Z",
			want: []string{"2021-09-06T17:00:00Z 2021-09-07T17:00:00Z"}},
		{name: "new schedule after an old interval catchup", zone: "UTC", expr: "30 16 * * *", start: "2021-09-04T00:00:00Z",
			mode: I, catchup: true, last: "2021-09-06T00:00:00Z 2021-09-07T00:00:00Z", now: "2021-09-07T00:00:00Z",
			want: []string{"2021-09-06T16:30:00Z 2021-09-07T16:30:00Z"}},
		{name: "new schedule after an old interval no catchup", zone: "UTC", expr: "30 16 * * *", start: "2021-09-04T00:00:00Z",
			mode: I, last: "2021-09-06T00:00:00Z 2021-09-07T00:00:00Z", now: "2021-09-07T00:00:00Z",
			want: []string{"2021-09-06T16:30:00Z 2021-09-07T16:30:00Z"}},
		{name: "no catchup start a day before", zone: "UTC", expr: "30 16 * * *", start: "2021-09-06T00:00:00Z",
			mode: I, now: "2021-09-07T00:00:00Z",
			want: []string{"2021-09-06T16:30:00Z 2021-09-07T16:30:00Z"}},
		{name: "no catchup start a day before with a last run", zone: "UTC", expr: "30 16 * * *", start: "2021-09-06T00:00:00Z",
			mode: I, last: "2021-09-04T00:00:00Z 2021-09-05T00:00:00Z", now: "2021-09-07T00:00:00Z",
			want: []string{"2021-09-06T16:30:00Z 2021-09-07T16:30:00Z"}},
		{name: "hourly catchup continues from the last end", zone: "UTC", expr: "@hourly", start: "2021-09-04T00:00:00Z",
			mode: I, catchup: true, last: "2021-09-04T00:00:00Z 2021-09-05T00:00:00Z", now: "2021-09-07T00:00:00Z",
			want: []string{"2021-09-05T00:00:00Z 2021-09-05T01:00:00Z"}},
		{name: "hourly no catchup ends now", zone: "UTC", expr: "@hourly", start: "2021-09-04T00:00:00Z",
			mode: I, last: "2021-09-04T00:00:00Z 2021-09-05T00:00:00Z", now: "2021-09-07T00:00:00Z",
			want: []string{"2021-09-06T23:00:00Z 2021-09-07T00:00:00Z"}},
		// Airflow test_cron_next_dagrun_info_no_catchup_dst: never a run whose period has not elapsed.
		{name: "no catchup new york gap", zone: newYork, expr: "0 2 * * *", start: "2024-01-01T00:00:00Z",
			mode: I, now: "2024-03-10T07:30:00Z",
			want: []string{"2024-03-09T07:00:00Z 2024-03-10T07:00:00Z"}},
		{name: "no catchup new york gap exact", zone: newYork, expr: "0 2 * * *", start: "2024-01-01T00:00:00Z",
			mode: I, now: "2024-03-10T07:00:00Z",
			want: []string{"2024-03-09T07:00:00Z 2024-03-10T07:00:00Z"}},
		{name: "no catchup zurich gap", zone: zurich, expr: "0 2 * * *", start: "2023-01-01T00:00:00Z",
			mode: I, now: "2023-03-26T01:30:00Z",
			want: []string{"2023-03-25T01:00:00Z 2023-03-26T01:00:00Z"}},
		{name: "no catchup lord howe half-hour gap", zone: lordHowe, expr: "0 2 * * *", start: "2024-01-01T00:00:00Z",
			mode: I, now: "2024-10-05T15:30:00Z",
			want: []string{"2024-10-04T15:30:00Z 2024-10-05T15:30:00Z"}},
		{name: "no catchup new york fold", zone: newYork, expr: "0 1 * * *", start: "2024-01-01T00:00:00Z",
			mode: I, now: "2024-11-03T05:30:00Z",
			want: []string{"2024-11-01T05:00:00Z 2024-11-02T05:00:00Z"}},
		// Spec §4.2 data intervals across DST.
		{name: "new york 02:00 around the gap", zone: newYork, expr: "0 2 * * *", start: "2024-03-09T00:00:00-05:00",
			mode: I, catchup: true, now: "2024-03-12T00:00:00Z",
			want: []string{"2024-03-09T02:00:00-05:00 2024-03-10T03:00:00-04:00", "2024-03-10T03:00:00-04:00 2024-03-11T02:00:00-04:00"}},
		{name: "new york 01:00 around the fold", zone: newYork, expr: "0 1 * * *", start: "2024-11-02T00:00:00-04:00",
			mode: I, catchup: true, now: "2024-11-05T00:00:00Z",
			want: []string{"2024-11-02T01:00:00-04:00 2024-11-03T01:00:00-05:00", "2024-11-03T01:00:00-05:00 2024-11-04T01:00:00-05:00"}},
		{name: "london 01:00 around the fold", zone: london, expr: "0 1 * * *", start: "2024-10-26T00:00:00+01:00",
			mode: I, catchup: true, now: "2024-10-28T00:00:00Z",
			want: []string{"2024-10-26T01:00:00+01:00 2024-10-27T01:00:00Z"}},
		// Airflow TestCronIntervalDst (Zurich 2023).
		{name: "zurich entering exact", zone: zurich, expr: "0 3 * * *", start: "2023-03-24T00:00:00Z",
			mode: I, catchup: true, now: "2023-04-01T00:00:00Z",
			want: []string{"2023-03-24T02:00:00Z 2023-03-25T02:00:00Z", "2023-03-25T02:00:00Z 2023-03-26T01:00:00Z", "2023-03-26T01:00:00Z 2023-03-27T01:00:00Z"}},
		{name: "zurich entering skip", zone: zurich, expr: "0 2 * * *", start: "2023-03-24T00:00:00Z",
			mode: I, catchup: true, now: "2023-04-01T00:00:00Z",
			want: []string{"2023-03-24T01:00:00Z 2023-03-25T01:00:00Z", "2023-03-25T01:00:00Z 2023-03-26T01:00:00Z", "2023-03-26T01:00:00Z 2023-03-27T00:00:00Z"}},
		{name: "zurich exiting exact", zone: zurich, expr: "0 3 * * *", start: "2023-10-27T00:00:00Z",
			mode: I, catchup: true, now: "2023-11-01T00:00:00Z",
			want: []string{"2023-10-27T01:00:00Z 2023-10-28T01:00:00Z", "2023-10-28T01:00:00Z 2023-10-29T02:00:00Z", "2023-10-29T02:00:00Z 2023-10-30T02:00:00Z"}},
		{name: "zurich exiting fold", zone: zurich, expr: "0 2 * * *", start: "2023-10-27T00:00:00Z",
			mode: I, catchup: true, now: "2023-11-01T00:00:00Z",
			want: []string{"2023-10-27T00:00:00Z 2023-10-28T00:00:00Z", "2023-10-28T00:00:00Z 2023-10-29T01:00:00Z", "2023-10-29T01:00:00Z 2023-10-30T01:00:00Z"}},
		{name: "los angeles 7-8 entering DST", zone: "America/Los_Angeles", expr: "0 7-8 * * *", start: "2020-03-07T00:00:00Z",
			mode: I, catchup: true, now: "2020-03-10T00:00:00Z",
			want: []string{"2020-03-07T15:00:00Z 2020-03-07T16:00:00Z", "2020-03-07T16:00:00Z 2020-03-08T14:00:00Z", "2020-03-08T14:00:00Z 2020-03-08T15:00:00Z"}},
	})
}

func TestNextRunTrigger(t *testing.T) {
	const T = ModeTrigger
	runNextRun(t, []timetableCase{
		{name: "catchup fires at the first tick and across the gap", zone: newYork, expr: "30 2 * * *", start: "2024-03-09T00:00:00-05:00",
			mode: T, catchup: true, now: "2024-03-12T00:00:00Z",
			want: []string{"2024-03-09T02:30:00-05:00", "2024-03-10T03:30:00-04:00", "2024-03-11T02:30:00-04:00"}},
		{name: "seoul daily fires at the start itself", zone: seoul, expr: "@daily", start: "2024-01-01T00:00:00+09:00",
			mode: T, catchup: true, now: "2024-01-01T00:00:00+09:00",
			want: []string{"2023-12-31T15:00:00Z", "2024-01-01T15:00:00Z"}},
		{name: "catchup continues after the last run", zone: "UTC", expr: "@daily", start: "2024-01-01T00:00:00Z",
			mode: T, catchup: true, last: "2024-01-05T00:00:00Z 2024-01-05T00:00:00Z", now: "2024-03-01T00:00:00Z",
			want: []string{"2024-01-06T00:00:00Z"}},
		{name: "no catchup runs the latest past tick", zone: "UTC", expr: "30 16 * * *", start: "2021-09-04T00:00:00Z",
			mode: T, now: "2021-09-07T00:00:00Z",
			want: []string{"2021-09-06T16:30:00Z", "2021-09-07T16:30:00Z"}},
		{name: "no catchup with a last run", zone: "UTC", expr: "30 16 * * *", start: "2021-09-04T00:00:00Z",
			mode: T, last: "2021-09-05T16:30:00Z 2021-09-05T16:30:00Z", now: "2021-09-07T00:00:00Z",
			want: []string{"2021-09-06T16:30:00Z"}},
		{name: "no catchup never repeats the last run", zone: "UTC", expr: "30 16 * * *", start: "2021-09-04T00:00:00Z",
			mode: T, last: "2021-09-06T16:30:00Z 2021-09-06T16:30:00Z", now: "2021-09-06T17:00:00Z",
			want: []string{"2021-09-07T16:30:00Z"}},
		{name: "no catchup start in the future", zone: "UTC", expr: "30 16 * * *", start: "2021-09-10T00:00:00Z",
			mode: T, now: "2021-09-07T00:00:00Z",
			want: []string{"2021-09-10T16:30:00Z"}},
		{name: "no catchup no tick yet since the start", zone: "UTC", expr: "30 16 * * *", start: "2021-09-06T17:00:00Z",
			mode: T, now: "2021-09-06T18:00:00Z",
			want: []string{"2021-09-07T16:30:00Z"}},
		{name: "no catchup now exactly on a tick", zone: "UTC", expr: "30 16 * * *", start: "2021-09-01T00:00:00Z",
			mode: T, now: "2021-09-06T16:30:00Z",
			want: []string{"2021-09-06T16:30:00Z"}},
		{name: "docs */30 enabled at 01:05 no catchup", zone: "UTC", expr: "*/30 * * * *", start: "2024-01-01T00:00:00Z",
			mode: T, now: "2024-01-01T01:05:00Z",
			want: []string{"2024-01-01T01:00:00Z", "2024-01-01T01:30:00Z"}},
		{name: "hourly through the fold", zone: newYork, expr: "@hourly", start: "2024-11-03T00:00:00-04:00",
			mode: T, catchup: true, now: "2024-11-04T00:00:00Z",
			want: []string{"2024-11-03T00:00:00-04:00", "2024-11-03T01:00:00-04:00", "2024-11-03T01:00:00-05:00", "2024-11-03T02:00:00-05:00"}},
	})
}

func TestNextRunOnce(t *testing.T) {
	for _, mode := range []Mode{ModeTrigger, ModeInterval} {
		for _, catchup := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/catchup=%v", mode, catchup), func(t *testing.T) {
				tt := Timetable{Schedule: mustParse(t, "@once", seoul), Start: at(t, "2024-01-01T00:00:00+09:00"), Mode: mode, Catchup: catchup}
				now := at(t, "2024-06-01T00:00:00Z")
				r, ok := tt.NextRun(nil, now)
				want := wantRuns(t, tt.Schedule.Location(), []string{"2024-01-01T00:00:00+09:00"})[0]
				if !ok || fmtRun(r) != want {
					t.Fatalf("NextRun(nil) = %s, %v; want %s", fmtRun(r), ok, want)
				}
				if r, ok := tt.NextRun(&r.Interval, now); ok {
					t.Errorf("NextRun after the run = %s; want none", fmtRun(r))
				}
				if got := tt.Upcoming(nil, now, 3); len(got) != 1 || fmtRun(got[0]) != want {
					t.Errorf("Upcoming(nil) = %v; want just %s", got, want)
				}
				if got := tt.Upcoming(&r.Interval, now, 3); len(got) != 0 {
					t.Errorf("Upcoming after the run = %v; want none", got)
				}
			})
		}
	}
}

func TestNextRunNilSchedule(t *testing.T) {
	var tt Timetable
	if r, ok := tt.NextRun(nil, time.Now()); ok {
		t.Errorf("NextRun of an empty timetable = %s; want none", fmtRun(r))
	}
	if got := tt.Upcoming(nil, time.Now(), 3); got != nil {
		t.Errorf("Upcoming of an empty timetable = %v; want nil", got)
	}
}

func TestIntervalLengthAcrossDST(t *testing.T) {
	tests := []struct {
		name, zone, expr, start string
		want                    time.Duration
	}{
		{"new york daily spring is 23h", newYork, "@daily", "2024-03-10T00:00:00-05:00", 23 * time.Hour},
		{"new york daily fall is 25h", newYork, "@daily", "2024-11-03T00:00:00-04:00", 25 * time.Hour},
		{"new york 02:00 spring is 23h", newYork, "0 2 * * *", "2024-03-10T03:00:00-04:00", 23 * time.Hour},
		{"new york 01:00 fall is 25h", newYork, "0 1 * * *", "2024-11-02T01:00:00-04:00", 25 * time.Hour},
		{"london 01:00 fall is 25h", london, "0 1 * * *", "2024-10-26T01:00:00+01:00", 25 * time.Hour},
		{"lord howe daily spring is 23.5h", lordHowe, "@daily", "2024-10-06T00:00:00+10:30", 23*time.Hour + 30*time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tt := Timetable{Schedule: mustParse(t, tc.expr, tc.zone), Start: at(t, tc.start), Mode: ModeInterval, Catchup: true}
			r, ok := tt.NextRun(nil, at(t, "2030-01-01T00:00:00Z"))
			if !ok {
				t.Fatal("NextRun: no run")
			}
			if got := r.Interval.End.Sub(r.Interval.Start); got != tc.want {
				t.Errorf("interval %s has length %v; want %v", fmtRun(r), got, tc.want)
			}
		})
	}
}

func TestUpcoming(t *testing.T) {
	tests := []struct {
		timetableCase
		n int
	}{
		{timetableCase{name: "interval catchup lists runs still to come", zone: "UTC", expr: "@daily", start: "2024-01-01T00:00:00Z",
			mode: ModeInterval, catchup: true, now: "2024-01-03T12:00:00Z",
			want: []string{"2024-01-03T00:00:00Z 2024-01-04T00:00:00Z", "2024-01-04T00:00:00Z 2024-01-05T00:00:00Z"}}, 2},
		{timetableCase{name: "interval catchup now on a tick", zone: "UTC", expr: "@daily", start: "2024-01-01T00:00:00Z",
			mode: ModeInterval, catchup: true, now: "2024-01-03T00:00:00Z",
			want: []string{"2024-01-03T00:00:00Z 2024-01-04T00:00:00Z"}}, 1},
		{timetableCase{name: "interval no catchup starts with the due run", zone: "UTC", expr: "@daily", start: "2024-01-01T00:00:00Z",
			mode: ModeInterval, now: "2024-01-03T12:00:00Z",
			want: []string{"2024-01-02T00:00:00Z 2024-01-03T00:00:00Z", "2024-01-03T00:00:00Z 2024-01-04T00:00:00Z"}}, 2},
		{timetableCase{name: "trigger catchup lists ticks after now", zone: "UTC", expr: "@daily", start: "2024-01-01T00:00:00Z",
			mode: ModeTrigger, catchup: true, now: "2024-01-03T12:00:00Z",
			want: []string{"2024-01-04T00:00:00Z", "2024-01-05T00:00:00Z"}}, 2},
		{timetableCase{name: "trigger catchup now on a tick", zone: "UTC", expr: "@daily", start: "2024-01-01T00:00:00Z",
			mode: ModeTrigger, catchup: true, now: "2024-01-03T00:00:00Z",
			want: []string{"2024-01-04T00:00:00Z"}}, 1},
		{timetableCase{name: "trigger catchup start in the future", zone: "UTC", expr: "@daily", start: "2024-02-01T00:00:00Z",
			mode: ModeTrigger, catchup: true, now: "2024-01-03T12:00:00Z",
			want: []string{"2024-02-01T00:00:00Z", "2024-02-02T00:00:00Z"}}, 2},
		{timetableCase{name: "trigger no catchup starts with the due tick", zone: "UTC", expr: "@daily", start: "2024-01-01T00:00:00Z",
			mode: ModeTrigger, now: "2024-01-03T12:00:00Z",
			want: []string{"2024-01-03T00:00:00Z", "2024-01-04T00:00:00Z", "2024-01-05T00:00:00Z"}}, 3},
		{timetableCase{name: "trigger no catchup hourly fall back", zone: newYork, expr: "@hourly", start: "2024-11-01T00:00:00-04:00",
			mode: ModeTrigger, now: "2024-11-03T04:30:00Z",
			want: []string{"2024-11-03T00:00:00-04:00", "2024-11-03T01:00:00-04:00", "2024-11-03T01:00:00-05:00", "2024-11-03T02:00:00-05:00"}}, 4},
		{timetableCase{name: "trigger catchup after a last run", zone: "UTC", expr: "@daily", start: "2024-01-01T00:00:00Z",
			mode: ModeTrigger, catchup: true, last: "2024-01-10T00:00:00Z 2024-01-10T00:00:00Z", now: "2024-01-03T12:00:00Z",
			want: []string{"2024-01-11T00:00:00Z"}}, 1},
		{timetableCase{name: "zero runs", zone: "UTC", expr: "@daily", start: "2024-01-01T00:00:00Z", now: "2024-01-03T12:00:00Z"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tt, last, now := tc.timetable(t)
			var got []string
			for _, r := range tt.Upcoming(last, now, tc.n) {
				got = append(got, fmtRun(r))
			}
			want := wantRuns(t, tt.Schedule.Location(), tc.want)
			if !slices.Equal(got, want) {
				t.Errorf("Upcoming(%d):\n got %s\nwant %s", tc.n, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
			}
		})
	}
}

// TestUpcomingMatchesStepping checks Upcoming's shortcut for catch-up
// against walking NextRun one run at a time.
func TestUpcomingMatchesStepping(t *testing.T) {
	exprs := []string{"*/7 * * * *", "@hourly", "30 1 * * *", "0 2 * * *", "@daily", "0 1-3 * * *"}
	nows := []string{"2024-03-10T06:59:00Z", "2024-03-10T07:00:00Z", "2024-03-10T07:30:00Z", "2024-11-03T05:30:00Z",
		"2024-11-03T06:00:00Z", "2024-11-03T06:30:00.5Z", "2024-10-05T15:45:00Z"}
	for _, zone := range []string{"UTC", newYork, lordHowe} {
		for _, expr := range exprs {
			s := mustParse(t, expr, zone)
			for _, nowText := range nows {
				now := at(t, nowText)
				for _, mode := range []Mode{ModeTrigger, ModeInterval} {
					for _, catchup := range []bool{false, true} {
						tt := Timetable{Schedule: s, Start: now.Add(-50 * time.Hour), Mode: mode, Catchup: catchup}
						got := tt.Upcoming(nil, now, 4)
						want := stepUpcoming(tt, nil, now, 4)
						if !slices.EqualFunc(got, want, sameRun) {
							t.Errorf("%s %q %v catchup=%v now %s:\n got %v\nwant %v", zone, expr, mode, catchup, nowText, got, want)
						}
					}
				}
			}
		}
	}
}

func stepUpcoming(tt Timetable, last *Interval, now time.Time, n int) []Run {
	var runs []Run
	r, ok := tt.NextRun(last, now)
	for ok && len(runs) < n {
		if !tt.Catchup || r.FireAt.After(now) {
			runs = append(runs, r)
		}
		r, ok = tt.NextRun(&r.Interval, r.FireAt)
	}
	return runs
}

func sameRun(a, b Run) bool {
	return a.FireAt.Equal(b.FireAt) && a.LogicalDate.Equal(b.LogicalDate) &&
		a.Interval.Start.Equal(b.Interval.Start) && a.Interval.End.Equal(b.Interval.End)
}
