package schedule

import "time"

// The fire instants of a cron in a zone (spec §4.2). For every wall-clock
// time w that matches the cron:
//
//   - w exists once: its instant fires;
//   - w falls in a DST gap: w read with the offset before the gap fires,
//     which is the wall time w + gap after the change (02:30 → 03:30);
//   - w occurs twice (a fold): only the later, standard-time instant fires,
//     unless the hour field covers all 24 hours, when both fire.
//
// Next and Prev return the nearest element of that set strictly after or
// before t. They never call time.Date on a wall time; instead they walk the
// zone's periods of constant offset (time.Time.ZoneBounds), in which wall
// clock and instant differ by a constant and the cron can be searched on
// the wall clock directly.

// A period is a span of instants [start, end) with one UTC offset.
type period struct {
	off        int64 // seconds east of UTC
	start, end int64 // Unix seconds; minInstant/maxInstant when unbounded
}

func periodAt(loc *time.Location, x int64) period {
	t := time.Unix(x, 0).In(loc)
	_, off := t.Zone()
	s, e := t.ZoneBounds()
	p := period{off: int64(off), start: minInstant, end: maxInstant}
	if !s.IsZero() {
		p.start = s.Unix()
	}
	if !e.IsZero() {
		p.end = e.Unix()
	}
	return p
}

const (
	// maxShift bounds any offset change between two periods; farther from
	// a transition than this, its gap or fold cannot matter.
	maxShift = 2 * secondsPerDay
	// maxOffset bounds the distance between an instant and its wall clock
	// (real offsets stay within ±15 hours).
	maxOffset = 26 * 3600
)

// foldStart returns the wall value from which the wall times of p occur
// again after p ends (the clock is set back at p.end), or ok=false when p
// does not end in a fold. Those wall times fire only in the next period,
// unless the cron covers every hour.
func (s *Schedule) foldStart(p period) (int64, bool) {
	if p.end >= maxInstant || s.cron.coversEveryHour() {
		return 0, false
	}
	if q := periodAt(s.loc, p.end); q.off < p.off {
		return p.end + q.off, true
	}
	return 0, false
}

// gapOffset returns the offset in force before p when p begins with a gap
// (the clock is set forward at p.start). The gap's wall times
// [p.start+off, p.start+p.off) fire at wall - off, early in p.
func (s *Schedule) gapOffset(p period) (int64, bool) {
	if p.start <= minInstant {
		return 0, false
	}
	if prev := periodAt(s.loc, p.start-1); prev.off < p.off {
		return prev.off, true
	}
	return 0, false
}

// nextFire returns the first fire instant >= lo (Unix seconds).
func (s *Schedule) nextFire(lo int64) (int64, bool) {
	for cur := lo; cur < maxInstant; {
		p := periodAt(s.loc, cur)
		best, found := s.cron.nextWall(cur+p.off, p.end+p.off)
		best -= p.off
		if found && p.end-best < maxShift {
			if fold, ok := s.foldStart(p); ok && best+p.off >= fold {
				found = false // the first occurrence of a folded time
			}
		}
		if cur-p.start < maxShift {
			if off, ok := s.gapOffset(p); ok {
				from := max(p.start, cur) + off
				if w, ok := s.cron.nextWall(from, p.start+p.off); ok && (!found || w-off < best) {
					best, found = w-off, true
				}
			}
		}
		if found {
			return best, true
		}
		// Nothing fires in p. A later fire instant x comes from a matching
		// wall time w with |w - x| <= maxOffset, so skip to the first one.
		w, ok := s.cron.nextWall(p.end-maxOffset, maxInstant)
		if !ok {
			return 0, false
		}
		cur = max(p.end, w-maxOffset)
	}
	return 0, false
}

// prevFire returns the last fire instant < hi (Unix seconds).
func (s *Schedule) prevFire(hi int64) (int64, bool) {
	for cur := hi; cur > minInstant; {
		p := periodAt(s.loc, cur-1)
		top := cur + p.off
		if p.end-cur < maxShift {
			if fold, ok := s.foldStart(p); ok {
				top = min(top, fold)
			}
		}
		best, found := s.cron.prevWall(p.start+p.off, top)
		best -= p.off
		if !found || best-p.start < maxShift {
			if off, ok := s.gapOffset(p); ok {
				if w, ok := s.cron.prevWall(p.start+off, min(p.start+p.off, cur+off)); ok && (!found || w-off > best) {
					best, found = w-off, true
				}
			}
		}
		if found {
			return best, true
		}
		// Nothing fires in p: skip back to the last matching wall time
		// that can fire before p.
		w, ok := s.cron.prevWall(minInstant, p.start+maxOffset)
		if !ok {
			return 0, false
		}
		cur = min(p.start, w+maxOffset+1)
	}
	return 0, false
}
