package schedule

// Civil-calendar arithmetic on the proleptic Gregorian calendar, done with
// integers so that wall-clock times never pass through time.Date (which
// resolves DST gaps and folds in a zone-dependent way, spec §4.6).
//
// A "wall" value is a wall-clock time encoded as the Unix seconds it would be
// if it were read in UTC. It is only ever compared with other wall values or
// turned into an instant by subtracting a zone offset.

const (
	secondsPerDay = 86400
	// minYear and maxYear bound every search so that no input can loop
	// forever; they are far outside any date a schedule is used for.
	minYear = 0
	maxYear = 10000
)

var (
	// minInstant and maxInstant stand for "no bound" in zone periods.
	minInstant = daysFromCivil(minYear, 1, 1) * secondsPerDay
	maxInstant = daysFromCivil(maxYear, 1, 1) * secondsPerDay
)

// daysFromCivil returns the number of days from 1970-01-01 to y-m-d.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(int64(y), 400)
	yoe := int64(y) - era*400 // [0, 399]
	mp := int64((m + 9) % 12) // March = 0
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	y = int(yoe + era*400)
	if m <= 2 {
		y++
	}
	return y, m, d
}

// weekdayOf returns the weekday (Sunday = 0) of the day z days after 1970-01-01.
func weekdayOf(z int64) int {
	return int(floorMod(z+4, 7)) // 1970-01-01 was a Thursday
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// daysIn returns the length of month m of year y.
func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// wallOf encodes a civil date and clock time as a wall value.
func wallOf(y, m, d, h, mi int) int64 {
	return daysFromCivil(y, m, d)*secondsPerDay + int64(h*3600+mi*60)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
