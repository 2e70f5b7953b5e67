package strptime

import (
	"errors"
	"fmt"
	"time"
)

// maxOrdinal is the proleptic Gregorian ordinal of 9999-12-31 (Python's
// date.max.toordinal()).
const maxOrdinal = 3652059

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// toOrdinal checks a date as Python's date constructor does and returns its
// ordinal (0001-01-01 is 1).
func toOrdinal(y, m, d int) (int, error) {
	if y < 1 || y > 9999 {
		return 0, fmt.Errorf("year %d is out of range", y)
	}
	if m < 1 || m > 12 {
		return 0, errors.New("month must be in 1..12")
	}
	if d < 1 || d > daysIn(y, m) {
		return 0, errors.New("day is out of range for month")
	}
	p := y - 1
	n := p*365 + p/4 - p/100 + p/400
	return n + time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).YearDay(), nil
}

// fromOrdinal is Python's date.fromordinal.
func fromOrdinal(n int) (y, m, d int, err error) {
	if n < 1 {
		return 0, 0, 0, errors.New("ordinal must be >= 1")
	}
	if n > maxOrdinal {
		return 0, 0, 0, errors.New("year 10000 is out of range")
	}
	t := time.Date(1, 1, n, 0, 0, 0, 0, time.UTC)
	return t.Year(), int(t.Month()), t.Day(), nil
}

// pyWeekday is Python's date.weekday(): Monday is 0.
func pyWeekday(y, m, d int) int {
	return (int(time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Weekday()) + 6) % 7
}

// julianFromUOrW is _strptime._calc_julian_from_U_or_W.
func julianFromUOrW(year, weekOfYear, dayOfWeek int, weekStartsMon bool) (int, error) {
	if _, err := toOrdinal(year, 1, 1); err != nil {
		return 0, err
	}
	first := pyWeekday(year, 1, 1)
	if !weekStartsMon {
		first = (first + 1) % 7
		dayOfWeek = (dayOfWeek + 1) % 7
	}
	week0 := (7 - first) % 7
	if weekOfYear == 0 {
		return 1 + dayOfWeek - first, nil
	}
	return 1 + week0 + 7*(weekOfYear-1) + dayOfWeek, nil
}

// julianFromV is _strptime._calc_julian_from_V: it returns the calendar year
// and the day of that year of an ISO year, week and weekday (Monday is 1).
func julianFromV(isoYear, isoWeek, isoWeekday int) (int, int, error) {
	if _, err := toOrdinal(isoYear, 1, 4); err != nil {
		return 0, 0, err
	}
	correction := pyWeekday(isoYear, 1, 4) + 1 + 3
	ordinal := isoWeek*7 + isoWeekday - correction
	if ordinal < 1 {
		jan1, _ := toOrdinal(isoYear, 1, 1)
		ordinal += jan1
		isoYear--
		prev, err := toOrdinal(isoYear, 1, 1)
		if err != nil {
			return 0, 0, err
		}
		ordinal -= prev
	}
	return isoYear, ordinal, nil
}
