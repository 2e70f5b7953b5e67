package schedule

import (
	"testing"
	"time"
)

var fuzzZones = append(append([]string(nil), bruteZones...),
	"Asia/Kathmandu", "America/Santiago", "Europe/Moscow", "Asia/Kolkata", "Pacific/Kiritimati",
	"America/Caracas", "Australia/Adelaide", "America/Anchorage")

// FuzzNext checks the invariants of the fire-instant set for any cron and
// zone: Next is after t and Prev before it, Next and Prev invert each other
// on fire instants, and every fire instant is a matching wall-clock time (or
// a matching time shifted across a DST gap, or the later of two matching
// folded times).
func FuzzNext(f *testing.F) {
	locs := make([]*time.Location, len(fuzzZones))
	for i, z := range fuzzZones {
		locs[i] = mustLoad(f, z)
	}
	seeds := []struct {
		expr string
		zone string
		t    string
	}{
		{"0 3 * * *", zurich, "2026-03-29T01:30:00Z"},
		{"30 2 * * *", newYork, "2024-03-10T06:59:59Z"},
		{"0 1-3 * * *", newYork, "2024-03-10T06:00:00Z"},
		{"@hourly", newYork, "2024-11-03T05:00:00Z"},
		{"30 1 * * *", newYork, "2024-11-03T05:45:00Z"},
		{"*/30 * * * *", zurich, "2023-10-29T00:10:00Z"},
		{"0 2 * * *", lordHowe, "2024-10-05T15:00:00Z"},
		{"@hourly", lordHowe, "2024-04-06T14:45:00Z"},
		{"0 12 * * *", "Pacific/Apia", "2011-12-30T00:00:00Z"},
		{"@daily", "America/Sao_Paulo", "2018-11-04T02:30:00Z"},
		{"0 0 29 2 *", "UTC", "2097-06-01T00:00:00Z"},
		{"0 16 */2 * sat", seoul, "1988-05-08T00:00:00Z"},
		{"2 4 1 * wed", "Antarctica/Troll", "2024-03-31T00:30:00Z"},
		{"0 0 * * L5", "Europe/Dublin", "2024-10-27T00:30:00Z"},
		{"5 0-23 * * 5#5", "Pacific/Chatham", "2024-04-06T13:30:00Z"},
		{"*/7 22-2 L * *", "America/Havana", "2024-03-10T04:59:00Z"},
		{"0 0 */1 * */2", "Asia/Tehran", "2022-03-21T20:00:00Z"},
		{"59 23 31 12 *", "Pacific/Kiritimati", "1994-12-31T10:00:00Z"},
		{"@once", "UTC", "2024-01-01T00:00:00Z"},
		{"0 0 30 2 *", "UTC", "2024-01-01T00:00:00Z"},
	}
	for _, sd := range seeds {
		zi := 0
		for i, z := range fuzzZones {
			if z == sd.zone {
				zi = i
			}
		}
		f.Add(sd.expr, uint8(zi), at(f, sd.t).Unix(), uint32(0))
	}
	const (
		lo = -2208988800 // 1900-01-01
		hi = 4102444800  // 2100-01-01
	)
	f.Fuzz(func(t *testing.T, expr string, zone uint8, unix int64, nsec uint32) {
		loc := locs[int(zone)%len(locs)]
		s, err := Parse(expr, loc)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("Parse(%q) returned an empty error", expr)
			}
			return
		}
		if s.IsOnce() {
			return
		}
		x := time.Unix(lo+floorMod(unix, hi-lo), int64(nsec%1e9)).In(loc)
		n, p := s.Next(x), s.Prev(x)
		if !n.After(x) {
			t.Fatalf("Parse(%q, %s).Next(%s) = %s; want a later time", expr, loc, rfc(x), rfc(n))
		}
		if p.IsZero() || !p.Before(x) {
			t.Fatalf("Parse(%q, %s).Prev(%s) = %s; want an earlier time", expr, loc, rfc(x), rfc(p))
		}
		if got := s.Prev(n); got.After(x) {
			t.Fatalf("Parse(%q, %s): Prev(Next(%s)=%s) = %s; want at most %s", expr, loc, rfc(x), rfc(n), rfc(got), rfc(x))
		}
		if got := s.Next(p); got.Before(x) {
			t.Fatalf("Parse(%q, %s): Next(Prev(%s)=%s) = %s; want at least %s", expr, loc, rfc(x), rfc(p), rfc(got), rfc(x))
		}
		if got := s.Next(s.Prev(n)); !got.Equal(n) {
			t.Fatalf("Parse(%q, %s): Next(Prev(%s)) = %s; want it back", expr, loc, rfc(n), rfc(got))
		}
		if got := s.Prev(s.Next(p)); !got.Equal(p) {
			t.Fatalf("Parse(%q, %s): Prev(Next(%s)) = %s; want it back", expr, loc, rfc(p), rfc(got))
		}
		for _, fire := range []time.Time{n, p} {
			if why := checkFire(s, fire); why != "" {
				t.Fatalf("Parse(%q, %s): %s is not a fire instant: %s", expr, loc, rfc(fire), why)
			}
			if l := Localize(time.Unix(fire.Unix()+offsetAt(loc, fire.Unix()), 0).UTC(), loc); l.Before(fire) ||
				l.Format(time.DateTime) != fire.Format(time.DateTime) {
				t.Fatalf("Localize(wall of %s, %s) = %s; want the same wall time, not earlier", rfc(fire), loc, rfc(l))
			}
		}
	})
}

func offsetAt(loc *time.Location, x int64) int64 {
	_, off := time.Unix(x, 0).In(loc).Zone()
	return int64(off)
}

// checkFire explains why the instant x is not in the fire set of s, or
// returns "".
func checkFire(s *Schedule, x time.Time) string {
	u := x.Unix()
	off := offsetAt(s.loc, u)
	wall := time.Unix(u+off, 0).UTC()
	if wall.Second() == 0 && matchesRef(s.cron, wall) {
		if s.cron.coversEveryHour() {
			return ""
		}
		// It must be the last instant with this wall clock.
		for _, probe := range []int64{u + 3600, u + 26*3600} {
			if y := u + off - offsetAt(s.loc, probe); y > u && offsetAt(s.loc, y) == offsetAt(s.loc, probe) {
				return "the wall clock recurs later and the hour field is restricted: only the later instant fires"
			}
		}
		return ""
	}
	// Else a matching wall time in the gap just before x's period.
	start, _ := x.ZoneBounds()
	if start.IsZero() {
		return "its wall clock does not match"
	}
	before := offsetAt(s.loc, start.Unix()-1)
	if before >= off || u >= start.Unix()+(off-before) {
		return "its wall clock does not match and it is not just after a gap"
	}
	if w := time.Unix(u+before, 0).UTC(); w.Second() != 0 || !matchesRef(s.cron, w) {
		return "neither its wall clock nor the gap wall time " + w.Format(time.DateTime) + " matches"
	}
	return ""
}
