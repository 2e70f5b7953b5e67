package schedule

// nextWall returns the first wall-clock minute w with lo <= w < hi that
// matches c (w and the bounds are wall values, see calendar.go). It jumps
// from set bit to set bit of the month, day, hour and minute sets instead of
// scanning minute by minute.
func (c *cron) nextWall(lo, hi int64) (int64, bool) {
	if lo >= hi {
		return 0, false
	}
	lo = -floorDiv(-lo, 60) * 60 // round up to a whole minute
	day := floorDiv(lo, secondsPerDay)
	sod := int(lo - day*secondsPerDay)
	y, m, d := civilFromDays(day)
	h, mi := sod/3600, sod%3600/60
	for y <= maxYear {
		if c.months&(1<<m) == 0 {
			if later := c.months >> (m + 1) << (m + 1); later != 0 {
				m = lowestBit(later)
			} else {
				y, m = y+1, lowestBit(c.months)
			}
			d, h, mi = 1, 0, 0
			if wallOf(y, m, 1, 0, 0) >= hi {
				return 0, false
			}
			continue
		}
		days := c.dayMask(y, m) >> d << d
		if days == 0 {
			if m++; m > 12 {
				y, m = y+1, 1
			}
			d, h, mi = 1, 0, 0
			if wallOf(y, m, 1, 0, 0) >= hi {
				return 0, false
			}
			continue
		}
		if nd := lowestBit(days); nd != d {
			d, h, mi = nd, 0, 0
			if wallOf(y, m, d, 0, 0) >= hi {
				return 0, false
			}
		}
		hours := c.hours >> h << h
		if hours == 0 {
			d, h, mi = d+1, 0, 0
			continue
		}
		if nh := lowestBit(hours); nh != h {
			h, mi = nh, 0
		}
		mins := c.minutes >> mi << mi
		if mins == 0 {
			h, mi = h+1, 0
			continue
		}
		w := wallOf(y, m, d, h, lowestBit(mins))
		if w >= hi {
			return 0, false
		}
		return w, true
	}
	return 0, false
}

// prevWall returns the last wall-clock minute w with lo <= w < hi that
// matches c.
func (c *cron) prevWall(lo, hi int64) (int64, bool) {
	if lo >= hi {
		return 0, false
	}
	top := floorDiv(hi-1, 60) * 60 // the last whole minute below hi
	day := floorDiv(top, secondsPerDay)
	sod := int(top - day*secondsPerDay)
	y, m, d := civilFromDays(day)
	h, mi := sod/3600, sod%3600/60
	// dayEnd is the wall value just after day d of the current month.
	dayEnd := func() int64 { return wallOf(y, m, d, 0, 0) + secondsPerDay }
	for y >= minYear {
		if c.months&(1<<m) == 0 {
			if earlier := c.months & (1<<m - 1); earlier != 0 {
				m = highestBit(earlier)
			} else {
				y, m = y-1, highestBit(c.months)
			}
			d, h, mi = daysIn(y, m), 23, 59
			if dayEnd() <= lo {
				return 0, false
			}
			continue
		}
		days := c.dayMask(y, m) & (uint64(1)<<(d+1) - 1)
		if days == 0 {
			if m--; m < 1 {
				y, m = y-1, 12
			}
			d, h, mi = daysIn(y, m), 23, 59
			if dayEnd() <= lo {
				return 0, false
			}
			continue
		}
		if nd := highestBit(days); nd != d {
			d, h, mi = nd, 23, 59
			if dayEnd() <= lo {
				return 0, false
			}
		}
		hours := c.hours & (uint64(1)<<(h+1) - 1)
		if hours == 0 {
			d, h, mi = d-1, 23, 59
			continue
		}
		if nh := highestBit(hours); nh != h {
			h, mi = nh, 59
		}
		mins := c.minutes & (uint64(1)<<(mi+1) - 1)
		if mins == 0 {
			h, mi = h-1, 59
			continue
		}
		w := wallOf(y, m, d, h, highestBit(mins))
		if w < lo {
			return 0, false
		}
		return w, true
	}
	return 0, false
}
