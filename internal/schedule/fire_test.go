package schedule

import (
	"slices"
	"testing"
	"time"
)

// nextCase lists the fire instants following from, in order.
type nextCase struct {
	name, zone, expr, from string
	want                   []string
}

func runNext(t *testing.T, tests []nextCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, tc.expr, tc.zone)
			cur := at(t, tc.from)
			var got []string
			for range tc.want {
				cur = s.Next(cur)
				got = append(got, rfc(cur))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Parse(%q, %s).Next from %s:\n got %q\nwant %q", tc.expr, tc.zone, tc.from, got, tc.want)
			}
		})
	}
}

// runPrev checks the fire instants preceding from, latest first.
func runPrev(t *testing.T, tests []nextCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, tc.expr, tc.zone)
			cur := at(t, tc.from)
			var got []string
			for range tc.want {
				cur = s.Prev(cur)
				got = append(got, rfc(cur))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Parse(%q, %s).Prev from %s:\n got %q\nwant %q", tc.expr, tc.zone, tc.from, got, tc.want)
			}
		})
	}
}

const (
	newYork  = "America/New_York"
	london   = "Europe/London"
	zurich   = "Europe/Zurich"
	lordHowe = "Australia/Lord_Howe"
	seoul    = "Asia/Seoul"
)

// TestNextDST covers the worked examples of spec §4.2 and Airflow's own DST
// tests.
func TestNextDST(t *testing.T) {
	runNext(t, []nextCase{
		{"new york gap 02:30 fires 03:30 EDT", newYork, "30 2 * * *", "2024-03-09T12:00:00-05:00",
			[]string{"2024-03-10T03:30:00-04:00", "2024-03-11T02:30:00-04:00"}},
		{"new york 02:00 across the gap", newYork, "0 2 * * *", "2024-03-08T12:00:00-05:00",
			[]string{"2024-03-09T02:00:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-11T02:00:00-04:00"}},
		{"new york 1-3 gap hour and 03:00 are one run", newYork, "0 1-3 * * *", "2024-03-10T00:00:00-05:00",
			[]string{"2024-03-10T01:00:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-11T01:00:00-04:00", "2024-03-11T02:00:00-04:00"}},
		{"new york hourly spring forward", newYork, "@hourly", "2024-03-10T00:00:00-05:00",
			[]string{"2024-03-10T01:00:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-10T04:00:00-04:00"}},
		{"new york hourly fall back runs both 01:00", newYork, "@hourly", "2024-11-03T00:00:00-04:00",
			[]string{"2024-11-03T01:00:00-04:00", "2024-11-03T01:00:00-05:00", "2024-11-03T02:00:00-05:00"}},
		{"new york fold fires once at standard time", newYork, "30 1 * * *", "2024-11-02T12:00:00-04:00",
			[]string{"2024-11-03T01:30:00-05:00", "2024-11-04T01:30:00-05:00"}},
		{"new york fold from inside the first occurrence", newYork, "30 1 * * *", "2024-11-03T01:45:00-04:00",
			[]string{"2024-11-03T01:30:00-05:00"}},
		{"new york gap from inside the shifted hour", newYork, "30 2 * * *", "2024-03-10T03:10:00-04:00",
			[]string{"2024-03-10T03:30:00-04:00", "2024-03-11T02:30:00-04:00"}},
		{"new york 01:00 across the fold", newYork, "0 1 * * *", "2024-11-01T12:00:00-04:00",
			[]string{"2024-11-02T01:00:00-04:00", "2024-11-03T01:00:00-05:00", "2024-11-04T01:00:00-05:00"}},
		{"new york daily spring", newYork, "@daily", "2024-03-09T12:00:00-05:00",
			[]string{"2024-03-10T00:00:00-05:00", "2024-03-11T00:00:00-04:00"}},
		{"new york daily fall", newYork, "@daily", "2024-11-02T12:00:00-04:00",
			[]string{"2024-11-03T00:00:00-04:00", "2024-11-04T00:00:00-05:00"}},
		{"new york every hour of one day in a month keeps wall time", newYork, "0 * 1 * *", "2024-03-01T23:00:00-05:00",
			[]string{"2024-04-01T00:00:00-04:00", "2024-04-01T01:00:00-04:00"}},
		{"london gap", london, "30 1 * * *", "2024-03-30T12:00:00Z",
			[]string{"2024-03-31T02:30:00+01:00", "2024-04-01T01:30:00+01:00"}},
		{"london fold fires at GMT", london, "0 1 * * *", "2024-10-25T12:00:00Z",
			[]string{"2024-10-26T01:00:00+01:00", "2024-10-27T01:00:00Z", "2024-10-28T01:00:00Z"}},
		{"zurich every half hour through the fold", zurich, "*/30 * * * *", "2023-10-28T23:45:00Z",
			[]string{"2023-10-29T02:00:00+02:00", "2023-10-29T02:30:00+02:00", "2023-10-29T02:00:00+01:00", "2023-10-29T02:30:00+01:00", "2023-10-29T03:00:00+01:00"}},
		{"zurich 02:00 entering DST", zurich, "0 2 * * *", "2023-03-24T00:00:00Z",
			[]string{"2023-03-24T02:00:00+01:00", "2023-03-25T02:00:00+01:00", "2023-03-26T03:00:00+02:00", "2023-03-27T02:00:00+02:00"}},
		{"zurich 03:00 leaving DST", zurich, "0 3 * * *", "2023-10-27T00:00:00Z",
			[]string{"2023-10-27T03:00:00+02:00", "2023-10-28T03:00:00+02:00", "2023-10-29T03:00:00+01:00"}},
		{"zurich 02:00 leaving DST fires the second 02:00", zurich, "0 2 * * *", "2023-10-27T00:00:00Z",
			[]string{"2023-10-28T02:00:00+02:00", "2023-10-29T02:00:00+01:00", "2023-10-30T02:00:00+01:00"}},
		{"los angeles 7-8 entering DST", "America/Los_Angeles", "0 7-8 * * *", "2020-03-07T00:00:00-08:00",
			[]string{"2020-03-07T07:00:00-08:00", "2020-03-07T08:00:00-08:00", "2020-03-08T07:00:00-07:00", "2020-03-08T08:00:00-07:00"}},
		{"lord howe half-hour gap", lordHowe, "0 2 * * *", "2024-10-05T00:00:00+10:30",
			[]string{"2024-10-05T02:00:00+10:30", "2024-10-06T02:30:00+11:00", "2024-10-07T02:00:00+11:00"}},
		{"lord howe hourly through the half-hour gap", lordHowe, "@hourly", "2024-10-06T00:30:00+10:30",
			[]string{"2024-10-06T01:00:00+10:30", "2024-10-06T02:30:00+11:00", "2024-10-06T03:00:00+11:00"}},
		{"lord howe hourly through the half-hour fold", lordHowe, "@hourly", "2024-04-07T00:30:00+11:00",
			[]string{"2024-04-07T01:00:00+11:00", "2024-04-07T02:00:00+10:30", "2024-04-07T03:00:00+10:30"}},
		{"seoul daily is 15:00Z the day before", seoul, "@daily", "2023-12-31T14:00:00Z",
			[]string{"2024-01-01T00:00:00+09:00", "2024-01-02T00:00:00+09:00"}},
		{"seoul had DST in 1988", seoul, "0 2 * * *", "1988-05-07T12:00:00+09:00",
			[]string{"1988-05-08T03:00:00+10:00", "1988-05-09T02:00:00+10:00"}},
		{"apia skipped a whole day", "Pacific/Apia", "0 12 * * *", "2011-12-29T00:00:00-10:00",
			[]string{"2011-12-29T12:00:00-10:00", "2011-12-31T12:00:00+14:00", "2012-01-01T12:00:00+14:00"}},
	})
}

// TestPrevDST checks that Prev is strict across DST changes (spec §4.3).
func TestPrevDST(t *testing.T) {
	runPrev(t, []nextCase{
		{"new york gap tick is not before itself", newYork, "0 2 * * *", "2024-03-10T07:00:00Z",
			[]string{"2024-03-09T02:00:00-05:00", "2024-03-08T02:00:00-05:00"}},
		{"new york just after the gap tick", newYork, "0 2 * * *", "2024-03-10T07:00:01Z",
			[]string{"2024-03-10T03:00:00-04:00", "2024-03-09T02:00:00-05:00"}},
		{"new york fold never returns a future instant", newYork, "30 1 * * *", "2024-11-03T06:00:00Z",
			[]string{"2024-11-02T01:30:00-04:00"}},
		{"new york fold after the standard-time tick", newYork, "30 1 * * *", "2024-11-03T06:30:00.5Z",
			[]string{"2024-11-03T01:30:00-05:00", "2024-11-02T01:30:00-04:00"}},
		{"new york hourly back through spring forward", newYork, "@hourly", "2024-03-10T08:00:00Z",
			[]string{"2024-03-10T03:00:00-04:00", "2024-03-10T01:00:00-05:00", "2024-03-10T00:00:00-05:00"}},
		{"new york hourly back through the fold", newYork, "@hourly", "2024-11-03T07:30:00Z",
			[]string{"2024-11-03T02:00:00-05:00", "2024-11-03T01:00:00-05:00", "2024-11-03T01:00:00-04:00", "2024-11-03T00:00:00-04:00"}},
		{"zurich every half hour back through the fold", zurich, "*/30 * * * *", "2023-10-29T02:10:00Z",
			[]string{"2023-10-29T03:00:00+01:00", "2023-10-29T02:30:00+01:00", "2023-10-29T02:00:00+01:00", "2023-10-29T02:30:00+02:00", "2023-10-29T02:00:00+02:00"}},
		{"lord howe back through the half-hour gap", lordHowe, "0 2 * * *", "2024-10-07T00:00:00+11:00",
			[]string{"2024-10-06T02:30:00+11:00", "2024-10-05T02:00:00+10:30"}},
		{"apia back through the skipped day", "Pacific/Apia", "0 12 * * *", "2012-01-01T00:00:00+14:00",
			[]string{"2011-12-31T12:00:00+14:00", "2011-12-29T12:00:00-10:00"}},
	})
}

// TestNextCalendar covers month ends, leap days, presets and the
// day-of-month/day-of-week rule of spec §5 (in UTC, where only the calendar
// matters).
func TestNextCalendar(t *testing.T) {
	runNext(t, []nextCase{
		{"31st skips short months", "UTC", "0 0 31 * *", "2024-01-31T12:00:00Z",
			[]string{"2024-03-31T00:00:00Z", "2024-05-31T00:00:00Z", "2024-07-31T00:00:00Z", "2024-08-31T00:00:00Z"}},
		{"feb 29 every four years", "UTC", "0 0 29 2 *", "2024-01-01T00:00:00Z",
			[]string{"2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{"feb 29 skips 2100", "UTC", "0 0 29 2 *", "2097-01-01T00:00:00Z",
			[]string{"2104-02-29T00:00:00Z"}},
		{"last day of month", "UTC", "0 0 L * *", "2024-01-15T00:00:00Z",
			[]string{"2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z", "2024-04-30T00:00:00Z"}},
		{"last day of february", "UTC", "0 0 L 2 *", "2023-01-01T00:00:00Z",
			[]string{"2023-02-28T00:00:00Z", "2024-02-29T00:00:00Z"}},
		{"29 to the last day", "UTC", "0 0 29-L * *", "2023-01-30T00:00:00Z",
			[]string{"2023-01-31T00:00:00Z", "2023-03-29T00:00:00Z"}},
		{"every 10th day does not skip march 1", "UTC", "0 0 */10 * *", "2024-02-21T12:00:00Z",
			[]string{"2024-03-01T00:00:00Z", "2024-03-11T00:00:00Z"}},
		{"1st and 31st does not skip march 1", "UTC", "0 0 1,31 * *", "2024-02-02T00:00:00Z",
			[]string{"2024-03-01T00:00:00Z", "2024-03-31T00:00:00Z"}},
		{"L with a list in february", "UTC", "0 1 L,*/15 2 *", "2022-02-20T00:00:00Z",
			[]string{"2022-02-28T01:00:00Z", "2023-02-01T01:00:00Z"}},
		{"wednesdays or the 1st", "UTC", "2 4 1 * wed", "2024-10-01T00:00:00Z",
			[]string{"2024-10-01T04:02:00Z", "2024-10-02T04:02:00Z", "2024-10-09T04:02:00Z", "2024-10-16T04:02:00Z",
				"2024-10-23T04:02:00Z", "2024-10-30T04:02:00Z", "2024-11-01T04:02:00Z", "2024-11-06T04:02:00Z"}},
		{"fridays or the 13th", "UTC", "0 0 13 * 5", "2024-10-01T00:00:00Z",
			[]string{"2024-10-04T00:00:00Z", "2024-10-11T00:00:00Z", "2024-10-13T00:00:00Z", "2024-10-18T00:00:00Z"}},
		{"*/2 is restricted: odd days or saturdays", "UTC", "0 16 */2 * sat", "2024-10-01T00:00:00Z",
			[]string{"2024-10-01T16:00:00Z", "2024-10-03T16:00:00Z", "2024-10-05T16:00:00Z", "2024-10-07T16:00:00Z",
				"2024-10-09T16:00:00Z", "2024-10-11T16:00:00Z", "2024-10-12T16:00:00Z", "2024-10-13T16:00:00Z"}},
		{"15th or any weekday is every day", "UTC", "0 0 15 * 0-6", "2024-10-01T00:00:00Z",
			[]string{"2024-10-02T00:00:00Z", "2024-10-03T00:00:00Z", "2024-10-04T00:00:00Z"}},
		{"15th or every weekday by step is every day", "UTC", "0 0 15 * */1", "2024-10-01T00:00:00Z",
			[]string{"2024-10-02T00:00:00Z", "2024-10-03T00:00:00Z"}},
		{"every day of month collapses beside a starred weekday", "UTC", "0 0 */1 * */2", "2024-10-01T00:00:00Z",
			[]string{"2024-10-03T00:00:00Z", "2024-10-05T00:00:00Z", "2024-10-06T00:00:00Z", "2024-10-08T00:00:00Z"}},
		{"february 30 or mondays is every monday in february", "UTC", "0 0 30 2 mon", "2024-01-01T00:00:00Z",
			[]string{"2024-02-05T00:00:00Z", "2024-02-12T00:00:00Z", "2024-02-19T00:00:00Z", "2024-02-26T00:00:00Z", "2025-02-03T00:00:00Z"}},
		{"weekly is sunday midnight", seoul, "@weekly", "2024-09-30T15:00:00Z",
			[]string{"2024-10-06T00:00:00+09:00", "2024-10-13T00:00:00+09:00"}},
		{"sunday as 7", "UTC", "0 0 * * 7", "2024-10-01T00:00:00Z",
			[]string{"2024-10-06T00:00:00Z", "2024-10-13T00:00:00Z"}},
		{"friday to sunday as 5-7", "UTC", "0 0 * * 5-7", "2024-10-01T00:00:00Z",
			[]string{"2024-10-04T00:00:00Z", "2024-10-05T00:00:00Z", "2024-10-06T00:00:00Z", "2024-10-11T00:00:00Z"}},
		{"reversed weekday range wraps", "UTC", "0 0 * * fri-mon", "2024-10-01T00:00:00Z",
			[]string{"2024-10-04T00:00:00Z", "2024-10-05T00:00:00Z", "2024-10-06T00:00:00Z", "2024-10-07T00:00:00Z", "2024-10-11T00:00:00Z"}},
		{"reversed hour range wraps", "UTC", "0 22-2 * * *", "2024-01-01T12:00:00Z",
			[]string{"2024-01-01T22:00:00Z", "2024-01-01T23:00:00Z", "2024-01-02T00:00:00Z", "2024-01-02T01:00:00Z", "2024-01-02T02:00:00Z", "2024-01-02T22:00:00Z"}},
		{"reversed month range wraps", "UTC", "0 0 1 nov-feb *", "2024-03-01T12:00:00Z",
			[]string{"2024-11-01T00:00:00Z", "2024-12-01T00:00:00Z", "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z", "2025-11-01T00:00:00Z"}},
		{"monthly", "UTC", "@monthly", "2024-01-31T00:00:00Z",
			[]string{"2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"}},
		{"quarterly", "UTC", "@quarterly", "2024-02-15T00:00:00Z",
			[]string{"2024-04-01T00:00:00Z", "2024-07-01T00:00:00Z", "2024-10-01T00:00:00Z", "2025-01-01T00:00:00Z"}},
		{"yearly", "UTC", "@yearly", "2024-01-01T00:00:00Z",
			[]string{"2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"}},
		{"annually in capitals", "UTC", "@ANNUALLY", "2024-06-01T00:00:00Z",
			[]string{"2025-01-01T00:00:00Z"}},
		{"third friday", "UTC", "0 0 * * 5#3", "2024-01-01T00:00:00Z",
			[]string{"2024-01-19T00:00:00Z", "2024-02-16T00:00:00Z", "2024-03-15T00:00:00Z"}},
		{"fifth friday skips months without one", "UTC", "0 0 * * fri#5", "2024-01-01T00:00:00Z",
			[]string{"2024-03-29T00:00:00Z", "2024-05-31T00:00:00Z", "2024-08-30T00:00:00Z"}},
		{"last friday", "UTC", "0 0 * * L5", "2024-01-01T00:00:00Z",
			[]string{"2024-01-26T00:00:00Z", "2024-02-23T00:00:00Z", "2024-03-29T00:00:00Z"}},
		{"last sunday by name", "UTC", "0 0 * * lsun", "2024-01-01T00:00:00Z",
			[]string{"2024-01-28T00:00:00Z", "2024-02-25T00:00:00Z"}},
		{"first weekday of each kind", "UTC", "0 0 * * mon-fri#1", "2024-01-31T00:00:00Z",
			[]string{"2024-02-01T00:00:00Z", "2024-02-02T00:00:00Z", "2024-02-05T00:00:00Z", "2024-02-06T00:00:00Z", "2024-02-07T00:00:00Z", "2024-03-01T00:00:00Z"}},
		{"start/step runs to the end of the field", "UTC", "10/20 * * * *", "2024-01-01T00:00:00Z",
			[]string{"2024-01-01T00:10:00Z", "2024-01-01T00:30:00Z", "2024-01-01T00:50:00Z", "2024-01-01T01:10:00Z"}},
		{"every minute", "UTC", "* * * * *", "2024-12-31T23:58:30Z",
			[]string{"2024-12-31T23:59:00Z", "2025-01-01T00:00:00Z"}},
	})
}

func TestPrevCalendar(t *testing.T) {
	runPrev(t, []nextCase{
		{"feb 29 in new york skips 2100", newYork, "0 0 29 2 *", "2104-03-01T00:00:00-05:00",
			[]string{"2104-02-29T00:00:00-05:00", "2096-02-29T00:00:00-05:00"}},
		{"29th includes feb 29", "UTC", "0 0 29 * *", "2020-03-14T00:00:00Z",
			[]string{"2020-02-29T00:00:00Z", "2020-01-29T00:00:00Z"}},
		{"29 to the last day includes feb 29", "UTC", "0 0 29-L * *", "2020-03-14T00:00:00Z",
			[]string{"2020-02-29T00:00:00Z", "2020-01-31T00:00:00Z", "2020-01-30T00:00:00Z"}},
		{"last day of month", "UTC", "0 0 L * *", "2020-03-14T00:00:00Z",
			[]string{"2020-02-29T00:00:00Z", "2020-01-31T00:00:00Z"}},
		{"31st skips short months", "UTC", "0 0 31 * *", "2024-05-01T00:00:00Z",
			[]string{"2024-03-31T00:00:00Z", "2024-01-31T00:00:00Z"}},
		{"last friday", "UTC", "0 0 * * L5", "2024-03-01T00:00:00Z",
			[]string{"2024-02-23T00:00:00Z", "2024-01-26T00:00:00Z"}},
	})
}

// TestNextSeconds checks that the seconds of t count (spec §0.3).
func TestNextSeconds(t *testing.T) {
	s := mustParse(t, "0 3 * * *", "UTC")
	tests := []struct {
		name, t, next, prev string
	}{
		{"exactly on a tick", "2024-01-02T03:00:00Z", "2024-01-03T03:00:00Z", "2024-01-01T03:00:00Z"},
		{"half a second after a tick", "2024-01-02T03:00:00.5Z", "2024-01-03T03:00:00Z", "2024-01-02T03:00:00Z"},
		{"just before a tick", "2024-01-02T02:59:59.999Z", "2024-01-02T03:00:00Z", "2024-01-01T03:00:00Z"},
		{"a nanosecond after a tick", "2024-01-02T03:00:00.000000001Z", "2024-01-03T03:00:00Z", "2024-01-02T03:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := at(t, tc.t)
			if got := rfc(s.Next(x)); got != tc.next {
				t.Errorf("Next(%s) = %s; want %s", tc.t, got, tc.next)
			}
			if got := rfc(s.Prev(x)); got != tc.prev {
				t.Errorf("Prev(%s) = %s; want %s", tc.t, got, tc.prev)
			}
		})
	}
}

func TestNextResultLocation(t *testing.T) {
	s := mustParse(t, "@daily", seoul)
	got := s.Next(at(t, "2024-01-01T00:00:00Z"))
	if got.Location() != s.Location() {
		t.Errorf("Next returned a time in %v; want %v", got.Location(), s.Location())
	}
}

func TestOnceHasNoTicks(t *testing.T) {
	s := mustParse(t, "@once", "UTC")
	now := at(t, "2024-01-01T00:00:00Z")
	if got := s.Next(now); !got.IsZero() {
		t.Errorf("@once Next = %v; want zero", got)
	}
	if got := s.Prev(now); !got.IsZero() {
		t.Errorf("@once Prev = %v; want zero", got)
	}
}

func TestExtremeTimes(t *testing.T) {
	for _, expr := range []string{"* * * * *", "0 0 29 2 *", "30 2 * * 0#5", "0 0 L 12 *"} {
		t.Run(expr, func(t *testing.T) {
			s := mustParse(t, expr, newYork)
			for _, x := range []time.Time{{}, time.Unix(-1<<62, 0), time.Unix(1<<62, 0), time.Date(9999, 12, 31, 23, 59, 0, 0, time.UTC)} {
				if n := s.Next(x); !n.IsZero() && !n.After(x) {
					t.Errorf("Next(%v) = %v; want zero or later", x, n)
				}
				if p := s.Prev(x); !p.IsZero() && !p.Before(x) {
					t.Errorf("Prev(%v) = %v; want zero or earlier", x, p)
				}
			}
			if n := s.Next(time.Time{}); n.IsZero() {
				t.Errorf("Next(zero time) = zero; want the first fire in year 1")
			}
			if p := s.Prev(time.Unix(1<<62, 0)); p.Year() < 9990 {
				t.Errorf("Prev(far future) = %v; want the last fire before the year 10000", p)
			}
		})
	}
}

// bruteZones are zones with unusual transitions: half-hour DST, a 24-hour
// gap, DST at midnight, a two-hour DST, negative DST.
var bruteZones = []string{"UTC", newYork, london, zurich, lordHowe, seoul, "Pacific/Apia",
	"America/Sao_Paulo", "America/Havana", "Antarctica/Troll", "Europe/Dublin", "Pacific/Chatham",
	"America/St_Johns", "Africa/Casablanca", "Asia/Tehran"}

// TestNextMatchesBruteForce compares Next and Prev with a direct
// transcription of spec §4.2 and §4.6: scan wall-clock minutes one by one,
// find each one's instants by probing the zone's offsets, and apply the
// gap/fold rules.
func TestNextMatchesBruteForce(t *testing.T) {
	exprs := []string{"@hourly", "30 * * * *", "*/20 * * * *", "0 0 * * *", "30 1 * * *", "0 2 * * *",
		"30 2 * * *", "0 1-3 * * *", "45 0,1,2,3 * * *", "15 23 * * *", "0 */2 * * *", "5 0-23 * * *"}
	for _, zone := range bruteZones {
		loc := mustLoad(t, zone)
		starts := transitionsNear(loc, 2011, 2025, 6)
		for _, expr := range exprs {
			s := mustParse(t, expr, zone)
			for _, tr := range starts {
				fires := bruteFires(s, tr.Add(-100*time.Hour), tr.Add(100*time.Hour))
				for k := -40 * 60; k <= 40*60; k += 37 {
					x := tr.Add(time.Duration(k) * time.Minute)
					want := bruteNext(fires, x)
					if got := s.Next(x); !got.Equal(want) {
						t.Fatalf("%s %q: Next(%s) = %s; brute force says %s", zone, expr, rfc(x.In(loc)), rfc(got), rfc(want.In(loc)))
					}
					wantPrev := brutePrev(fires, x)
					if got := s.Prev(x); !got.Equal(wantPrev) {
						t.Fatalf("%s %q: Prev(%s) = %s; brute force says %s", zone, expr, rfc(x.In(loc)), rfc(got), rfc(wantPrev.In(loc)))
					}
				}
			}
		}
	}
}

// transitionsNear returns up to n offset changes of loc between the years
// from and to (found with ZoneBounds), spread over the range.
func transitionsNear(loc *time.Location, from, to, n int) []time.Time {
	var all []time.Time
	t := time.Date(from, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(to, 1, 1, 0, 0, 0, 0, time.UTC)
	for t.Before(end) {
		_, e := t.In(loc).ZoneBounds()
		if e.IsZero() {
			break
		}
		_, o1 := e.Add(-time.Second).In(loc).Zone()
		_, o2 := e.In(loc).Zone()
		if o1 != o2 {
			all = append(all, e)
		}
		t = e
	}
	if len(all) <= n {
		return all
	}
	var picked []time.Time
	for i := range n {
		picked = append(picked, all[i*len(all)/n])
	}
	return picked
}

// bruteFires returns the sorted fire instants whose wall clock lies in
// [wall(from), wall(to)).
func bruteFires(s *Schedule, from, to time.Time) []time.Time {
	loc := s.loc
	_, o := from.In(loc).Zone()
	w := time.Unix(from.Unix()+int64(o), 0).UTC().Truncate(time.Minute)
	_, o = to.In(loc).Zone()
	end := time.Unix(to.Unix()+int64(o), 0).UTC()
	seen := map[int64]bool{}
	var fires []time.Time
	for ; w.Before(end); w = w.Add(time.Minute) {
		if !matchesRef(s.cron, w) {
			continue
		}
		u := w.Unix()
		var cands []int64
		for _, probe := range []int64{u - 26*3600, u, u + 26*3600} {
			_, off := time.Unix(probe, 0).In(loc).Zone()
			x := u - int64(off)
			_, offX := time.Unix(x, 0).In(loc).Zone()
			if x+int64(offX) == u && !slices.Contains(cands, x) {
				cands = append(cands, x)
			}
		}
		slices.Sort(cands)
		switch {
		case len(cands) == 0: // gap: read with the offset before it
			_, before := time.Unix(u-26*3600, 0).In(loc).Zone()
			cands = []int64{u - int64(before)}
		case len(cands) > 1 && !s.cron.coversEveryHour():
			cands = cands[len(cands)-1:]
		}
		for _, x := range cands {
			if !seen[x] {
				seen[x] = true
				fires = append(fires, time.Unix(x, 0))
			}
		}
	}
	slices.SortFunc(fires, func(a, b time.Time) int { return a.Compare(b) })
	return fires
}

func bruteNext(fires []time.Time, t time.Time) time.Time {
	for _, f := range fires {
		if f.After(t) {
			return f
		}
	}
	return time.Time{}
}

func brutePrev(fires []time.Time, t time.Time) time.Time {
	for i := len(fires) - 1; i >= 0; i-- {
		if fires[i].Before(t) {
			return fires[i]
		}
	}
	return time.Time{}
}

// matchesRef reports whether the wall clock w (a UTC time) matches c,
// evaluating the day rule of spec §5 directly rather than with dayMask.
func matchesRef(c *cron, w time.Time) bool {
	if c.minutes&(1<<w.Minute()) == 0 || c.hours&(1<<w.Hour()) == 0 || c.months&(1<<int(w.Month())) == 0 {
		return false
	}
	d, wd := w.Day(), int(w.Weekday())
	last := daysIn(w.Year(), int(w.Month()))
	dom := c.days&(1<<d) != 0 || (c.lastDay && d == last)
	var dow bool
	if c.hasNth {
		nth := (d-1)/7 + 1
		dow = c.nth[wd]&(1<<nth) != 0 || (c.nth[wd]&(1<<nthLast) != 0 && d+7 > last)
	} else {
		dow = c.weekdays&(1<<wd) != 0
	}
	switch {
	case c.domAny && c.dowAny:
		return true
	case c.domAny:
		return dow
	case c.dowAny:
		return dom
	}
	return dom || dow
}

func BenchmarkNext(b *testing.B) {
	benches := []struct{ name, zone, expr, from string }{
		{"utc-hourly", "UTC", "@hourly", "2024-06-15T12:34:56Z"},
		{"utc-every-minute", "UTC", "* * * * *", "2024-06-15T12:34:56Z"},
		{"newyork-daily", newYork, "@daily", "2024-06-15T12:34:56Z"},
		{"newyork-gap-0230", newYork, "30 2 * * *", "2024-03-09T12:00:00Z"},
		{"newyork-fold-0130", newYork, "30 1 * * *", "2024-11-02T12:00:00Z"},
		{"seoul-weekday-0930", seoul, "30 9 * * mon-fri", "2024-06-15T12:34:56Z"},
		{"utc-feb29", "UTC", "0 0 29 2 *", "2097-01-01T00:00:00Z"},
		{"newyork-feb29", newYork, "0 0 29 2 *", "2097-01-01T00:00:00Z"},
		{"lordhowe-third-friday", lordHowe, "0 2 * * 5#3", "2024-06-15T12:34:56Z"},
	}
	for _, bc := range benches {
		s := mustParse(b, bc.expr, bc.zone)
		t0 := at(b, bc.from)
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				s.Next(t0)
			}
		})
	}
}

func BenchmarkPrev(b *testing.B) {
	benches := []struct{ name, zone, expr, from string }{
		{"newyork-gap-0230", newYork, "30 2 * * *", "2024-03-11T12:00:00Z"},
		{"newyork-feb29", newYork, "0 0 29 2 *", "2104-03-01T00:00:00Z"},
	}
	for _, bc := range benches {
		s := mustParse(b, bc.expr, bc.zone)
		t0 := at(b, bc.from)
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				s.Prev(t0)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	loc := mustLoad(b, newYork)
	for b.Loop() {
		if _, err := Parse("0,30 9-17 * jan-nov mon-fri", loc); err != nil {
			b.Fatal(err)
		}
	}
}
