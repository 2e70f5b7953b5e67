package schedule

import "time"

// Localize reads wall (its Year..Nanosecond fields; its location is ignored)
// as a wall-clock time in loc the way pendulum does: a time in a DST gap is
// shifted forward by the gap, an ambiguous time is the later (standard-time)
// occurrence.
//
// Unlike time.Date, whose choice in a gap or fold depends on the zone
// (spec §4.6), the result is the same for every zone.
func Localize(wall time.Time, loc *time.Location) time.Time {
	y, mo, d := wall.Date()
	h, mi, sec := wall.Clock()
	w := wallOf(y, int(mo), d, h, mi) + int64(sec)
	return time.Unix(resolveWall(loc, w), int64(wall.Nanosecond())).In(loc)
}

// resolveWall returns the instant (Unix seconds) of wall value w in loc: the
// latest instant whose wall clock reads w, or, when w falls in a gap, w read
// with the offset in force before the gap.
func resolveWall(loc *time.Location, w int64) int64 {
	// Every instant whose wall clock can read w lies within a day or so
	// of w read as UTC; walk the periods of that span.
	const span = 30 * 3600
	var (
		best, gap       int64
		found, foundGap bool
		prev            period
	)
	p := periodAt(loc, w-span)
	for first := true; ; first = false {
		if x := w - p.off; x >= p.start && x < p.end && (!found || x > best) {
			best, found = x, true
		}
		if !first && prev.off < p.off && w >= p.start+prev.off && w < p.start+p.off {
			gap, foundGap = w-prev.off, true
		}
		if p.end >= maxInstant || p.end > w+span {
			break
		}
		prev, p = p, periodAt(loc, p.end)
	}
	switch {
	case found:
		return best
	case foundGap:
		return gap
	}
	return w - p.off // unreachable with real zone data
}
