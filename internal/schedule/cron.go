package schedule

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// cron is a parsed 5-field cron expression with croniter's semantics
// (spec §5), reduced to bit sets.
type cron struct {
	minutes  uint64 // bits 0-59
	hours    uint64 // bits 0-23
	days     uint64 // day-of-month bits 1-31
	lastDay  bool   // day-of-month L: the last day of the month
	months   uint64 // bits 1-12
	weekdays uint64 // bits 0-6, Sunday = 0
	// nth holds the #/L weekday items: for weekday w, bit n (1-5) is "the
	// n-th w of the month" and bit nthLast is "the last w of the month".
	nth    [7]uint8
	hasNth bool
	// domAny and dowAny report that the field does not restrict the day;
	// see dayMask for how the two day fields combine.
	domAny, dowAny bool
	// weekdayDays[w] holds the days 1-31 of a month whose 1st is weekday w
	// that fall on one of weekdays.
	weekdayDays [7]uint64
}

const (
	nthLast  = 6
	allHours = 1<<24 - 1
)

// coversEveryHour reports whether the hour field lists all 24 hours; such a
// cron fires on both occurrences of a repeated wall time (Airflow's
// _covers_every_hour, spec §4.1).
func (c *cron) coversEveryHour() bool { return c.hours == allHours }

// dayMask returns the days of month m of year y (bits 1-31) on which c fires:
// the day-of-month/day-of-week rule of croniter's day_or (spec §5). A day
// that does not exist in the month is never in the mask.
func (c *cron) dayMask(y, m int) uint64 {
	n := daysIn(y, m)
	all := uint64(1)<<(n+1) - 2 // bits 1..n
	if c.domAny && c.dowAny {
		return all
	}
	var dom, dow uint64
	if !c.domAny {
		dom = c.days & all
		if c.lastDay {
			dom |= 1 << n
		}
	}
	if !c.dowAny {
		first := weekdayOf(daysFromCivil(y, m, 1))
		if c.hasNth {
			dow = c.nthDays(first, n)
		} else {
			dow = c.weekdayDays[first] & all
		}
	}
	switch {
	case c.domAny:
		return dow
	case c.dowAny:
		return dom
	}
	return dom | dow
}

// nthDays returns the days selected by the #/L weekday items in a month of
// n days whose 1st is weekday first.
func (c *cron) nthDays(first, n int) uint64 {
	var mask uint64
	for w, want := range c.nth {
		if want == 0 {
			continue
		}
		d := 1 + (w-first+7)%7 // the first such weekday
		for k := 1; k <= 5; k++ {
			if day := d + 7*(k-1); day <= n && want&(1<<k) != 0 {
				mask |= 1 << day
			}
		}
		if want&(1<<nthLast) != 0 {
			mask |= 1 << (d + 7*((n-d)/7))
		}
	}
	return mask
}

// A field describes one of the five cron fields.
type field struct {
	name     string // as used in error messages
	min, max int    // accepted values
	starMax  int    // the last value "*" stands for
	names    []string
	cycle    int // length of the cycle a reversed range wraps around
	example  string
}

var (
	minuteField = field{name: "minute", min: 0, max: 59, starMax: 59, cycle: 60, example: "0-59"}
	hourField   = field{name: "hour", min: 0, max: 23, starMax: 23, cycle: 24, example: "0-23"}
	domField    = field{name: "day-of-month", min: 1, max: 31, starMax: 31, cycle: 31, example: "1-31 or L"}
	monthField  = field{name: "month", min: 1, max: 12, starMax: 12, cycle: 12, example: "1-12 or jan-dec",
		names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}}
	// Day of week: 0 and 7 are Sunday. "*" is 0-6; "a/s" runs to 7 as in
	// croniter, where the field's range is 0-7.
	dowField = field{name: "day-of-week", min: 0, max: 7, starMax: 6, cycle: 7, example: "0-7 or sun-sat",
		names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}}
)

var monthNames = [...]string{"", "January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"}

// parseCron parses a 5-field cron expression.
func parseCron(expr string) (*cron, error) {
	fs := strings.Fields(expr)
	if len(fs) != 5 {
		return nil, fieldCountError(expr, len(fs))
	}
	p := parser{expr: expr}
	c := &cron{}
	var err error
	if c.minutes, err = p.list(fs[0], &minuteField); err != nil {
		return nil, err
	}
	if c.hours, err = p.list(fs[1], &hourField); err != nil {
		return nil, err
	}
	if err := p.dayOfMonth(fs[2], c); err != nil {
		return nil, err
	}
	if c.months, err = p.list(fs[3], &monthField); err != nil {
		return nil, err
	}
	if err := p.dayOfWeek(fs[4], c); err != nil {
		return nil, err
	}
	domText, dowText := fs[2], fs[4]
	if c.hasNth && domText != "*" && domText != "?" {
		return nil, p.errorf("day-of-week %q (an nth or last weekday) cannot be combined with a restricted day-of-month %q; croniter mishandles the mix (set day-of-month to *)", dowText, domText)
	}
	// Spec §5: "*" and "?" never restrict; a field listing every value
	// stops restricting only if the other field's text contains a "*".
	c.domAny = domText == "*" || domText == "?" || (c.domComplete() && strings.Contains(dowText, "*"))
	c.dowAny = dowText == "*" || dowText == "?" || (!c.hasNth && c.weekdays == 1<<7-1 && strings.Contains(domText, "*"))
	for first := range c.weekdayDays {
		for d := 1; d <= 31; d++ {
			if c.weekdays&(1<<((first+d-1)%7)) != 0 {
				c.weekdayDays[first] |= 1 << d
			}
		}
	}
	if err := c.checkFires(expr); err != nil {
		return nil, err
	}
	return c, nil
}

// domComplete reports whether the day-of-month field selects every day of
// every month.
func (c *cron) domComplete() bool {
	for n := 28; n <= 31; n++ {
		got := c.days & (uint64(1)<<(n+1) - 2)
		if c.lastDay {
			got |= 1 << n
		}
		if got != uint64(1)<<(n+1)-2 {
			return false
		}
	}
	return true
}

// checkFires rejects an expression that matches no date at all, such as
// "0 0 30 2 *". Every combination of leap year and weekday of January 1st
// occurs in the 28 years from 2000, so a cron that fires at all fires in
// that span.
func (c *cron) checkFires(expr string) error {
	for y := 2000; y < 2028; y++ {
		for m := 1; m <= 12; m++ {
			if c.months&(1<<m) != 0 && c.dayMask(y, m) != 0 {
				return nil
			}
		}
	}
	// Only a restricted day-of-month with an unrestricted day-of-week can
	// miss every month: name the months and the days they lack.
	var months []string
	for m := 1; m <= 12; m++ {
		if c.months&(1<<m) != 0 {
			months = append(months, monthNames[m])
		}
	}
	var days []string
	for d := 1; d <= 31; d++ {
		if c.days&(1<<d) != 0 {
			days = append(days, strconv.Itoa(d))
		}
	}
	if c.domAny || !c.dowAny || len(days) == 0 {
		return fmt.Errorf("cron %q can never fire: no date matches its day and month fields", expr)
	}
	verb, noun := "has", "day"
	if len(months) > 1 {
		verb = "have"
	}
	if len(days) > 1 {
		noun = "days"
	}
	return fmt.Errorf("cron %q can never fire: %s %s no %s %s (pick a day that exists in the month)",
		expr, joinWords(months, "and"), verb, noun, joinWords(days, "or"))
}

// joinWords joins words as English prose: "a", "a and b", "a, b and c".
func joinWords(words []string, conj string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}

func fieldCountError(expr string, n int) error {
	const fields = "minute hour day-of-month month day-of-week"
	switch {
	case n == 6:
		return fmt.Errorf("cron %q has 6 fields; posml needs exactly 5 (%s): cron with seconds is not supported", expr, fields)
	case n == 7:
		return fmt.Errorf("cron %q has 7 fields; posml needs exactly 5 (%s): seconds and years are not supported", expr, fields)
	}
	return fmt.Errorf("cron %q has %d fields; posml needs exactly 5 (%s), such as \"0 3 * * *\"", expr, n, fields)
}

// A parser holds the expression being parsed, for error messages.
type parser struct{ expr string }

func (p parser) errorf(format string, args ...any) error {
	return fmt.Errorf("cron %q: "+format, append([]any{p.expr}, args...)...)
}

// items splits a field into its comma-separated items, rejecting the
// characters posml does not support in any field.
func (p parser) items(text string, f *field) ([]string, error) {
	if text == "?" && f != &domField && f != &dowField {
		return nil, p.errorf("%q is only allowed in the day-of-month and day-of-week fields (use * in the %s field)", text, f.name)
	}
	items := strings.Split(text, ",")
	for _, it := range items {
		if it == "" {
			return nil, p.errorf("the %s field %q has an empty item (remove the extra comma)", f.name, text)
		}
		lower := strings.ToLower(it)
		switch {
		case strings.Contains(it, "?"):
			return nil, p.errorf("%q: \"?\" is only allowed alone, as the whole day-of-month or day-of-week field", it)
		case lower[0] == 'h' || lower[0] == 'r':
			return nil, p.errorf("%s %q: hashed and random values (H, R) are not supported; write a fixed value", f.name, it)
		case lower == "l" && f != &domField && f != &dowField:
			return nil, p.errorf("%s %q: L is only allowed in day-of-month (last day) and day-of-week (L5 = last Friday)", f.name, it)
		}
	}
	return items, nil
}

// list parses a minute, hour or month field.
func (p parser) list(text string, f *field) (uint64, error) {
	items, err := p.items(text, f)
	if err != nil {
		return 0, err
	}
	var set uint64
	for _, it := range items {
		b, err := p.rangeItem(it, f)
		if err != nil {
			return 0, err
		}
		set |= b
	}
	return set, nil
}

func (p parser) dayOfMonth(text string, c *cron) error {
	if text == "?" {
		c.days = 1<<32 - 2
		return nil
	}
	items, err := p.items(text, &domField)
	if err != nil {
		return err
	}
	for _, it := range items {
		lower := strings.ToLower(it)
		switch {
		case strings.Contains(lower, "w"):
			return p.errorf("day-of-month %q: W (nearest weekday) is not supported; list the days instead", it)
		case lower == "l":
			c.lastDay = true
			continue
		}
		b, err := p.rangeItem(it, &domField)
		if err != nil {
			return err
		}
		c.days |= b
	}
	return nil
}

func (p parser) dayOfWeek(text string, c *cron) error {
	if text == "?" {
		c.weekdays = 1<<7 - 1
		return nil
	}
	items, err := p.items(text, &dowField)
	if err != nil {
		return err
	}
	plain := ""
	for _, it := range items {
		lower := strings.ToLower(it)
		switch {
		case strings.Contains(lower, "#"):
			if err := p.nthItem(it, c); err != nil {
				return err
			}
		case lower == "l":
			return p.errorf("day-of-week %q: L needs a weekday, as in L5 or Lfri (the last Friday of the month); for the last day of the month put L in day-of-month", it)
		case lower[0] == 'l':
			w, err := p.value(it[1:], &dowField)
			if err != nil {
				return p.errorf("day-of-week %q: L must be followed by one weekday, as in L5 or Lfri (the last Friday of the month)", it)
			}
			c.nth[w%7] |= 1 << nthLast
			c.hasNth = true
		case len(lower) > 1 && lower[len(lower)-1] == 'l':
			return p.errorf("day-of-week %q is the Quartz form; write L%s for the last such weekday of the month", it, it[:len(it)-1])
		default:
			b, err := p.rangeItem(it, &dowField)
			if err != nil {
				return err
			}
			c.weekdays |= b
			if plain == "" {
				plain = it
			}
		}
	}
	if c.hasNth && plain != "" {
		return p.errorf("day-of-week %q mixes plain weekdays (%q) with nth or last weekdays (# or L); croniter rejects this: use one kind only", text, plain)
	}
	return nil
}

// nthItem parses "w#n" or "a-b#n": the n-th such weekday of the month.
func (p parser) nthItem(it string, c *cron) error {
	days, nText, _ := strings.Cut(it, "#")
	n, err := strconv.Atoi(nText)
	if err != nil || n < 1 || n > 5 || !isDigits(nText) {
		return p.errorf("day-of-week %q: the number after # must be 1 to 5 (5#3 = the third Friday of the month)", it)
	}
	if days == "" || strings.ContainsAny(days, "*/") {
		return p.errorf("day-of-week %q: # needs a weekday or a range of weekdays before it, as in fri#3 or mon-fri#1", it)
	}
	b, err := p.rangeItem(days, &dowField)
	if err != nil {
		return err
	}
	for w := range 7 {
		if b&(1<<w) != 0 {
			c.nth[w] |= 1 << n
		}
	}
	c.hasNth = true
	return nil
}

// rangeItem parses one item of a field: *, */s, n, a-b, a-b/s or a/s. A
// reversed range (22-2, fri-mon) wraps around the end of the field.
func (p parser) rangeItem(it string, f *field) (uint64, error) {
	lower := strings.ToLower(it)
	base, stepText, hasStep := strings.Cut(lower, "/")
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepText)
		switch {
		case !isDigits(stepText) || err != nil:
			return 0, p.errorf("%s %q: the step after / must be a whole number, as in */15", f.name, it)
		case n == 0:
			return 0, p.errorf("%s %q: a step of 0 is not valid (use 1 or more)", f.name, it)
		}
		step = n
	}
	var lo, hi int
	switch {
	case base == "*":
		lo, hi = f.min, f.starMax
	case strings.HasPrefix(base, "-"):
		return 0, p.errorf("%s %q: negative numbers are not allowed (the field takes %s)", f.name, it, f.example)
	case strings.Contains(base, "-"):
		loText, hiText, _ := strings.Cut(base, "-")
		var err error
		if lo, err = p.value(loText, f); err != nil {
			return 0, p.valueError(it, loText, f, err)
		}
		if f == &domField && hiText == "l" {
			hi = 31
		} else if hi, err = p.value(hiText, f); err != nil {
			return 0, p.valueError(it, hiText, f, err)
		}
		if f == &dowField {
			if lo == 7 {
				lo = 0
			}
			if hi == 0 && lo > 0 {
				hi = 7
			}
		}
		if lo == hi {
			return 0, p.errorf("%s range %q starts and ends at the same value, which croniter (and so Airflow) reads as the whole field; write a single value, or * for every %s", f.name, it, f.name)
		}
	default:
		var err error
		if lo, err = p.value(base, f); err != nil {
			return 0, p.valueError(it, base, f, err)
		}
		hi = lo
		if hasStep {
			hi = f.max
		}
	}
	return f.expand(lo, hi, step), nil
}

var (
	errNotValue   = errors.New("not a value")
	errOutOfRange = errors.New("out of range")
)

// value reads a number or a name of field f.
func (p parser) value(s string, f *field) (int, error) {
	if isDigits(s) {
		n, err := strconv.Atoi(s)
		if err != nil || n < f.min || n > f.max {
			return 0, errOutOfRange
		}
		return n, nil
	}
	for i, name := range f.names {
		if strings.EqualFold(s, name) {
			return f.min + i, nil
		}
	}
	return 0, errNotValue
}

func (p parser) valueError(it, v string, f *field, err error) error {
	if errors.Is(err, errOutOfRange) {
		return p.errorf("%s %q: %s is out of range (the field takes %s)", f.name, it, v, f.example)
	}
	switch {
	case v == "":
		return p.errorf("%s %q is not valid: a range needs a value on both sides of -", f.name, it)
	case f.names != nil && isLetters(v):
		return p.errorf("%s %q: unknown name %q (use %s)", f.name, it, v, joinWords(f.names, "or"))
	case f == &domField && v == "l":
		return p.errorf("day-of-month %q: L can only stand alone or end a range, as in L or 25-L", it)
	}
	return p.errorf("%s %q is not valid (the field takes %s, *, ranges a-b, steps */n and lists a,b)", f.name, it, f.example)
}

// expand returns the bit set of lo..hi in steps of step, wrapping around
// the field when lo > hi. Day of week folds 7 onto Sunday (0).
func (f *field) expand(lo, hi, step int) uint64 {
	var set uint64
	if lo <= hi {
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	} else {
		dist := hi - lo + f.cycle
		for k := 0; k <= dist; k += step {
			v := lo + k
			if v >= f.min+f.cycle {
				v -= f.cycle
			}
			set |= 1 << v
		}
	}
	if f == &dowField && set&(1<<7) != 0 {
		set = set&^(1<<7) | 1
	}
	return set
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isLetters(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// lowestBit and highestBit return the index of the lowest/highest set bit of
// a non-zero set.
func lowestBit(set uint64) int  { return bits.TrailingZeros64(set) }
func highestBit(set uint64) int { return 63 - bits.LeadingZeros64(set) }
