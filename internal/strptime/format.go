package strptime

import (
	"fmt"
	"strings"
	"time"
)

// Format writes t with a strptime format, the way Python's
// datetime.strftime does in the C locale on Linux, so that a user can be
// shown a value in their own date_format. It is the inverse of Parse for
// every directive Parse knows, with two differences from Python: %Y is
// always four digits (glibc writes year 999 as "999", which strptime then
// rejects), and t is always aware: %z writes t's offset and %Z its zone
// abbreviation. An unknown directive is an error.
func Format(t time.Time, format string) (string, error) {
	var b strings.Builder
	rs := []rune(format)
	for i := 0; i < len(rs); i++ {
		if rs[i] != '%' {
			b.WriteRune(rs[i])
			continue
		}
		i++
		if i == len(rs) {
			return "", fmt.Errorf("stray %% in format '%s'", format)
		}
		c := rs[i]
		if c == ':' && i+1 < len(rs) && rs[i+1] == 'z' {
			i++
			c = 'z'
		}
		if err := formatDirective(&b, t, c); err != nil {
			return "", fmt.Errorf("'%c' is a bad directive in format '%s'", c, format)
		}
	}
	return b.String(), nil
}

func formatDirective(b *strings.Builder, t time.Time, c rune) error {
	switch c {
	case 'a':
		b.WriteString(t.Weekday().String()[:3])
	case 'A':
		b.WriteString(t.Weekday().String())
	case 'b':
		b.WriteString(t.Month().String()[:3])
	case 'B':
		b.WriteString(t.Month().String())
	case 'c':
		// glibc's C-locale %c pads the day with a space.
		fmt.Fprintf(b, "%s %s %2d %02d:%02d:%02d %04d", t.Weekday().String()[:3], t.Month().String()[:3],
			t.Day(), t.Hour(), t.Minute(), t.Second(), t.Year())
	case 'd':
		fmt.Fprintf(b, "%02d", t.Day())
	case 'f':
		fmt.Fprintf(b, "%06d", t.Nanosecond()/1000)
	case 'H':
		fmt.Fprintf(b, "%02d", t.Hour())
	case 'I':
		fmt.Fprintf(b, "%02d", (t.Hour()+11)%12+1)
	case 'j':
		fmt.Fprintf(b, "%03d", t.YearDay())
	case 'm':
		fmt.Fprintf(b, "%02d", int(t.Month()))
	case 'M':
		fmt.Fprintf(b, "%02d", t.Minute())
	case 'p':
		if t.Hour() < 12 {
			b.WriteString("AM")
		} else {
			b.WriteString("PM")
		}
	case 'S':
		fmt.Fprintf(b, "%02d", t.Second())
	case 'U':
		fmt.Fprintf(b, "%02d", (t.YearDay()-1+7-int(t.Weekday()))/7)
	case 'W':
		fmt.Fprintf(b, "%02d", (t.YearDay()-1+7-(int(t.Weekday())+6)%7)/7)
	case 'w':
		fmt.Fprintf(b, "%d", int(t.Weekday()))
	case 'u':
		fmt.Fprintf(b, "%d", (int(t.Weekday())+6)%7+1)
	case 'G':
		y, _ := t.ISOWeek()
		fmt.Fprintf(b, "%04d", y)
	case 'V':
		_, w := t.ISOWeek()
		fmt.Fprintf(b, "%02d", w)
	case 'x':
		fmt.Fprintf(b, "%02d/%02d/%02d", int(t.Month()), t.Day(), t.Year()%100)
	case 'X':
		fmt.Fprintf(b, "%02d:%02d:%02d", t.Hour(), t.Minute(), t.Second())
	case 'y':
		fmt.Fprintf(b, "%02d", t.Year()%100)
	case 'Y':
		fmt.Fprintf(b, "%04d", t.Year())
	case 'z':
		_, off := t.Zone()
		sign := byte('+')
		if off < 0 {
			sign, off = '-', -off
		}
		fmt.Fprintf(b, "%c%02d%02d", sign, off/3600, off/60%60)
		if off%60 != 0 {
			fmt.Fprintf(b, "%02d", off%60)
		}
	case 'Z':
		name, _ := t.Zone()
		b.WriteString(name)
	case '%':
		b.WriteByte('%')
	default:
		return fmt.Errorf("bad directive %c", c)
	}
	return nil
}
