package strptime

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// group is the text one directive matched.
type group struct {
	name byte // the directive letter
	text string
}

// The C locale's names, lower case, indexed as Python's LocaleTime does.
var (
	weekdaysAbbr = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	weekdaysFull = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
	monthsAbbr   = []string{"", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
	monthsFull   = []string{"", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
)

// opt is an int that may be unset (Python's None).
type opt struct {
	v   int
	set bool
}

func some(v int) opt { return opt{v: v, set: true} }

// assemble turns the matched groups into a Result, following the body of
// CPython 3.11's _strptime._strptime and datetime's constructor checks, in
// the same order, so that the same input fails with the same message.
func assemble(groups []group) (Result, error) {
	var (
		year, isoYear, isoWeek, weekOfYear, weekday, julian opt
		month, day                                          = 1, 1
		hour, minute, second, fraction                      int
		weekStartsMon                                       bool
		hasOffset                                           bool
		gmtoff, gmtoffFraction                              int
	)
	ampm := ""
	for _, g := range groups {
		if g.name == 'p' {
			ampm = strings.ToLower(g.text)
		}
	}
	for _, g := range groups {
		s := g.text
		switch g.name {
		case 'y':
			y := pyInt(s)
			if y <= 68 {
				y += 2000
			} else {
				y += 1900
			}
			year = some(y)
		case 'Y':
			year = some(pyInt(s))
		case 'G':
			isoYear = some(pyInt(s))
		case 'm':
			month = pyInt(s)
		case 'B', 'b':
			names := monthsFull
			if g.name == 'b' {
				names = monthsAbbr
			}
			i, err := lookup(names, s)
			if err != nil {
				return Result{}, err
			}
			month = i
		case 'd':
			day = pyInt(s)
		case 'H':
			hour = pyInt(s)
		case 'I':
			hour = pyInt(s)
			switch ampm {
			case "", "am":
				if hour == 12 {
					hour = 0
				}
			case "pm":
				if hour != 12 {
					hour += 12
				}
			}
		case 'M':
			minute = pyInt(s)
		case 'S':
			second = pyInt(s)
		case 'f':
			fraction = pyInt(s + strings.Repeat("0", 6-len(s)))
		case 'A', 'a':
			names := weekdaysFull
			if g.name == 'a' {
				names = weekdaysAbbr
			}
			i, err := lookup(names, s)
			if err != nil {
				return Result{}, err
			}
			weekday = some(i)
		case 'w':
			w := pyInt(s)
			if w == 0 {
				w = 6
			} else {
				w--
			}
			weekday = some(w)
		case 'u':
			weekday = some(pyInt(s) - 1)
		case 'j':
			julian = some(pyInt(s))
		case 'U', 'W':
			weekOfYear = some(pyInt(s))
			weekStartsMon = g.name == 'W'
		case 'V':
			isoWeek = some(pyInt(s))
		case 'z':
			off, frac, err := parseOffset(s)
			if err != nil {
				return Result{}, err
			}
			hasOffset, gmtoff, gmtoffFraction = true, off, frac
		}
	}

	if !year.set && isoYear.set {
		if !isoWeek.set || !weekday.set {
			return Result{}, errors.New("ISO year directive '%G' must be used with the ISO week directive '%V' and a weekday directive ('%A', '%a', '%w', or '%u').")
		}
		if julian.set {
			return Result{}, errors.New("Day of the year directive '%j' is not compatible with ISO year directive '%G'. Use '%Y' instead.")
		}
	} else if !weekOfYear.set && isoWeek.set {
		if !weekday.set {
			return Result{}, errors.New("ISO week directive '%V' must be used with the ISO year directive '%G' and a weekday directive ('%A', '%a', '%w', or '%u').")
		}
		return Result{}, errors.New("ISO week directive '%V' is incompatible with the year directive '%Y'. Use the ISO year '%G' instead.")
	}

	leapYearFix := false
	y := 1900
	switch {
	case year.set:
		y = year.v
	case month == 2 && day == 29:
		y = 1904 // a leap year, so that Feb 29 gets through the date checks below
		leapYearFix = true
	}

	if !julian.set && weekday.set {
		switch {
		case weekOfYear.set:
			j, err := julianFromUOrW(y, weekOfYear.v, weekday.v, weekStartsMon)
			if err != nil {
				return Result{}, err
			}
			julian = some(j)
		case isoYear.set && isoWeek.set:
			iy, j, err := julianFromV(isoYear.v, isoWeek.v, weekday.v+1)
			if err != nil {
				return Result{}, err
			}
			y, julian = iy, some(j)
		}
		if julian.set && julian.v <= 0 {
			y--
			if isLeap(y) {
				julian.v += 366
			} else {
				julian.v += 365
			}
		}
	}

	if julian.set {
		jan1, err := toOrdinal(y, 1, 1)
		if err != nil {
			return Result{}, err
		}
		ny, nm, nd, err := fromOrdinal(julian.v - 1 + jan1)
		if err != nil {
			return Result{}, err
		}
		y, month, day = ny, nm, nd
	} else if _, err := toOrdinal(y, month, day); err != nil {
		return Result{}, err
	}
	if leapYearFix {
		y = 1900
	}

	r := Result{}
	if hasOffset {
		if err := checkOffset(gmtoff, gmtoffFraction); err != nil {
			return Result{}, err
		}
		r.HasOffset, r.Offset, r.OffsetMicro = true, gmtoff, gmtoffFraction
	}
	// datetime(year, month, day, hour, minute, second, microsecond)
	if _, err := toOrdinal(y, month, day); err != nil {
		return Result{}, err
	}
	if second > 59 {
		return Result{}, errors.New("second must be in 0..59")
	}
	r.Wall = time.Date(y, time.Month(month), day, hour, minute, second, fraction*1000, time.UTC)
	return r, nil
}

// lookup finds s, lower-cased as Python's str.lower does, in names; like
// list.index it fails when a case-insensitive match (ſ for s) lowers to
// something else.
func lookup(names []string, s string) (int, error) {
	l := strings.ToLower(s)
	for i, n := range names {
		if n == l {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%s is not in list", pyRepr(l))
}

// parseOffset reads a %z match as _strptime does: Z, ±HHMM, ±HH:MM,
// ±HHMMSS[.ffffff] or ±HH:MM:SS[.ffffff]. It returns seconds and
// microseconds, both with the sign of the offset.
func parseOffset(s string) (seconds, micro int, err error) {
	if s == "Z" {
		return 0, 0, nil
	}
	z := []rune(s)
	if z[3] == ':' {
		z = append(z[:3:3], z[4:]...)
		if len(z) > 5 {
			if z[5] != ':' {
				return 0, 0, fmt.Errorf("Inconsistent use of : in %s", s)
			}
			z = append(z[:5:5], z[6:]...)
		}
	}
	hours := pyInt(string(z[1:3]))
	minutes := pyInt(string(z[3:5]))
	secs := 0
	if len(z) > 5 {
		part := string(z[5:min(7, len(z))])
		if !isDigits(part) {
			return 0, 0, fmt.Errorf("invalid literal for int() with base 10: %s", pyRepr(part))
		}
		secs = pyInt(part)
	}
	seconds = hours*3600 + minutes*60 + secs
	if len(z) > 8 {
		rest := string(z[8:])
		micro = pyInt(rest + strings.Repeat("0", 6-len(z[8:])))
	}
	if z[0] == '-' {
		seconds, micro = -seconds, -micro
	}
	return seconds, micro, nil
}

// checkOffset applies datetime.timezone's bound: strictly within ±24 hours.
func checkOffset(seconds, micro int) error {
	const day = 86400 * 1_000_000
	total := seconds*1_000_000 + micro
	if total > -day && total < day {
		return nil
	}
	return fmt.Errorf("offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24), not %s.", timedeltaRepr(total))
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.Is(unicode.Nd, r) {
			return false
		}
	}
	return true
}

// pyInt converts a run of Unicode decimal digits, as Python's int() does.
// The regular expression has already checked that s holds only such digits.
func pyInt(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + digitValue(r)
	}
	return n
}

// digitValue returns the value of a Unicode decimal digit. Unicode encodes
// every decimal digit in runs of ten, from zero to nine, so the value is the
// rune's distance from the start of its run, modulo ten.
func digitValue(r rune) int {
	if r >= '0' && r <= '9' {
		return int(r - '0')
	}
	k := 0
	for unicode.Is(unicode.Nd, r-rune(k)-1) {
		k++
	}
	return k % 10
}
