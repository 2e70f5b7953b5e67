package strptime

import (
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // zones independent of the host
)

// pythonCase is one call of Python's datetime.strptime(value, format) and
// what it gave: the result's isoformat(), or the ValueError's message.
type pythonCase struct {
	value, format string
	want          string
	wantErr       string
}

// isoformat writes r as Python's datetime.isoformat() does.
func isoformat(r Result) string {
	w := r.Wall
	s := fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d", w.Year(), int(w.Month()), w.Day(), w.Hour(), w.Minute(), w.Second())
	if us := w.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	if !r.HasOffset {
		return s
	}
	off, micro := r.Offset, r.OffsetMicro
	sign := "+"
	if off < 0 || micro < 0 {
		sign, off, micro = "-", -off, -micro
	}
	s += fmt.Sprintf("%s%02d:%02d", sign, off/3600, off/60%60)
	if off%60 != 0 || micro != 0 {
		s += fmt.Sprintf(":%02d", off%60)
	}
	if micro != 0 {
		s += fmt.Sprintf(".%06d", micro)
	}
	return s
}

func check(t *testing.T, value, format, want, wantErr string) {
	t.Helper()
	r, err := Parse(value, format)
	switch {
	case wantErr != "":
		if err == nil {
			t.Errorf("Parse(%q, %q) = %s; want error %q", value, format, isoformat(r), wantErr)
		} else if err.Error() != wantErr {
			t.Errorf("Parse(%q, %q) error:\n got %q\nwant %q", value, format, err, wantErr)
		}
	case err != nil:
		t.Errorf("Parse(%q, %q) error %q; want %s", value, format, err, want)
	case isoformat(r) != want:
		t.Errorf("Parse(%q, %q) = %s; want %s", value, format, isoformat(r), want)
	}
}

func TestParseMatchesPython(t *testing.T) {
	for _, c := range pythonCases {
		check(t, c.value, c.format, c.want, c.wantErr)
	}
}

// TestParseDeviations covers the places where posml deliberately differs
// from CPython 3.11.
func TestParseDeviations(t *testing.T) {
	tests := []struct {
		name, value, format, want, wantErr string
	}{
		// Python 3.11: "':' is a bad directive"; 3.12 has %:z in strftime only.
		{"colon z", "2023-01-09 00:00:00+09:00", "%Y-%m-%d %H:%M:%S%:z", "2023-01-09T00:00:00+09:00", ""},
		{"colon z compact", "+0900", "%:z", "1900-01-01T00:00:00+09:00", ""},
		// Python raises re.error "redefinition of group name 'Y' ...".
		{"repeated directive", "2023 2023", "%Y %Y", "", "'%Y' is used more than once in format '%Y %Y'"},
		{"repeated through %c", "x", "%c %Y", "", "'%Y' is used more than once in format '%c %Y' (%c stands for %a %b %d %H:%M:%S %Y)"},
		{"repeated through %x", "x", "%x %m", "", "'%m' is used more than once in format '%x %m' (%x stands for %m/%d/%y)"},
		// Python also accepts the host's own zone names (KST on a Seoul host).
		{"host zone name", "KST", "%Z", "", "time data 'KST' does not match format '%Z'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, tt.value, tt.format, tt.want, tt.wantErr) })
	}
}

func TestCheckFormat(t *testing.T) {
	tests := []struct {
		format, wantErr string
	}{
		{"%Y-%m-%d %H:%M:%S", ""},
		{"%Y-%m-%dT%H:%M:%S.%f%z", ""},
		{"%d/%m/%Y %I:%M %p", ""},
		{"%c", ""},
		{"%x %X", ""},
		{"%G-W%V-%u", ""},
		{"%%Y", ""},
		{"", ""},
		{"%e", "'e' is a bad directive in format '%e'"},
		{"%-d", "'-' is a bad directive in format '%-d'"},
		{"%s", "'s' is a bad directive in format '%s'"},
		{"%k", "'k' is a bad directive in format '%k'"},
		{"%Y-%m-%d %", "stray % in format '%Y-%m-%d %'"},
		{"%Y-%m-%d % H", "'%' is a bad directive in format '%Y-%m-%d % H'"},
		{"%Y %Y", "'%Y' is used more than once in format '%Y %Y'"},
		{"%Y %y", ""}, // different directives: the last one wins, as in Python
	}
	for _, tt := range tests {
		err := CheckFormat(tt.format)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.wantErr {
			t.Errorf("CheckFormat(%q) = %q; want %q", tt.format, got, tt.wantErr)
		}
	}
}

func TestResultInstant(t *testing.T) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		value, format string
		loc           *time.Location
		want          string // RFC 3339 in UTC
	}{
		{"2023-01-09 00:00:00", "%Y-%m-%d %H:%M:%S", seoul, "2023-01-08T15:00:00Z"},
		{"2023-01-09 00:00:00", "%Y-%m-%d %H:%M:%S", time.UTC, "2023-01-09T00:00:00Z"},
		// Naive times in a DST gap or fold are read like pendulum (spec §4.4).
		{"2024-03-10 02:30", "%Y-%m-%d %H:%M", newYork, "2024-03-10T07:30:00Z"},
		{"2024-11-03 01:30", "%Y-%m-%d %H:%M", newYork, "2024-11-03T06:30:00Z"},
		// An offset wins over the zone.
		{"2023-01-09 00:00:00+0900", "%Y-%m-%d %H:%M:%S%z", newYork, "2023-01-08T15:00:00Z"},
		{"2023-01-09 00:00:00 -05:30", "%Y-%m-%d %H:%M:%S %z", seoul, "2023-01-09T05:30:00Z"},
		{"2023-01-09 00:00:00Z", "%Y-%m-%d %H:%M:%S%z", seoul, "2023-01-09T00:00:00Z"},
		{"2023-01-09 00:00:00+01:00:00.5", "%Y-%m-%d %H:%M:%S%z", time.UTC, "2023-01-08T22:59:59.5Z"},
	}
	for _, tt := range tests {
		r, err := Parse(tt.value, tt.format)
		if err != nil {
			t.Fatalf("Parse(%q, %q): %v", tt.value, tt.format, err)
		}
		got := r.Instant(tt.loc)
		if s := got.UTC().Format(time.RFC3339Nano); s != tt.want {
			t.Errorf("Parse(%q).Instant(%s) = %s; want %s", tt.value, tt.loc, s, tt.want)
		}
		if got.Location() != tt.loc {
			t.Errorf("Parse(%q).Instant(%s) is in %s; want it shown in %[2]s", tt.value, tt.loc, got.Location())
		}
	}
}

func TestCompileReuse(t *testing.T) {
	p, err := Compile("%Y-%m-%d")
	if err != nil {
		t.Fatal(err)
	}
	if p.Format() != "%Y-%m-%d" {
		t.Errorf("Format() = %q", p.Format())
	}
	for _, v := range []string{"2023-01-09", "2024-02-29", "1999-12-31"} {
		r, err := p.Parse(v)
		if err != nil {
			t.Fatalf("Parse(%q): %v", v, err)
		}
		if got := r.Wall.Format("2006-01-02"); got != v {
			t.Errorf("Parse(%q) = %s", v, got)
		}
	}
}

func TestFormat(t *testing.T) {
	seoul := time.FixedZone("KST", 9*3600)
	tm := time.Date(2023, 1, 9, 13, 5, 7, 123456000, seoul)
	tests := []struct {
		format, want string
	}{
		{"%Y-%m-%d %H:%M:%S", "2023-01-09 13:05:07"},
		{"%y/%m/%d %I:%M %p", "23/01/09 01:05 PM"},
		{"%a %A %b %B", "Mon Monday Jan January"},
		{"%c", "Mon Jan  9 13:05:07 2023"},
		{"%x %X", "01/09/23 13:05:07"},
		{"%j %U %W %w %u", "009 02 02 1 1"},
		{"%G-W%V-%u", "2023-W02-1"},
		{"%H:%M:%S.%f%z %Z", "13:05:07.123456+0900 KST"},
		{"%:z", "+0900"},
		{"100%%", "100%"},
	}
	for _, tt := range tests {
		got, err := Format(tm, tt.format)
		if err != nil || got != tt.want {
			t.Errorf("Format(%q) = %q, %v; want %q", tt.format, got, err, tt.want)
		}
	}
	for _, bad := range []string{"%e", "%", "%-d"} {
		if _, err := Format(tm, bad); err == nil {
			t.Errorf("Format(%q) succeeded; want an error", bad)
		}
	}
	// Format and Parse are inverses for a complete format.
	year1 := time.Date(1, 2, 3, 4, 5, 6, 0, time.UTC)
	s, _ := Format(year1, "%Y-%m-%d %H:%M:%S")
	r, err := Parse(s, "%Y-%m-%d %H:%M:%S")
	if err != nil || !r.Wall.Equal(year1) {
		t.Errorf("Parse(Format(%v)) = %v, %v", year1, r.Wall, err)
	}
}

// roundTrips reports whether every directive of format pins its field, so
// that Parse(Format(Parse(v))) must equal Parse(v): a four-digit year, and
// no directive that loses information (%y's century, %I without %p's half
// of the day, ISO years that disagree with %Y).
func roundTrips(format string) bool {
	if !strings.Contains(format, "%Y") && !strings.Contains(format, "%c") {
		return false
	}
	for _, d := range []string{"%y", "%x", "%G", "%V", "%I"} {
		if strings.Contains(format, d) {
			return false
		}
	}
	return true
}

func FuzzParse(f *testing.F) {
	for _, c := range pythonCases {
		f.Add(c.value, c.format)
	}
	f.Fuzz(func(t *testing.T, value, format string) {
		r, err := Parse(value, format)
		if err != nil {
			return
		}
		again, err := Parse(value, format)
		if err != nil || again != r {
			t.Fatalf("Parse(%q, %q) is not deterministic: %v then %v, %v", value, format, r, again, err)
		}
		w := r.Wall
		if w.Location() != time.UTC || w.Year() < 1 || w.Year() > 9999 {
			t.Fatalf("Parse(%q, %q) = %v: not a valid naive wall time", value, format, w)
		}
		if r.Offset <= -86400 || r.Offset >= 86400 || (!r.HasOffset && (r.Offset != 0 || r.OffsetMicro != 0)) {
			t.Fatalf("Parse(%q, %q): bad offset %+v", value, format, r)
		}
		if !roundTrips(format) || r.OffsetMicro != 0 || strings.Contains(format, "%Z") {
			return
		}
		tm := r.Wall
		if r.HasOffset {
			tm = time.Date(tm.Year(), tm.Month(), tm.Day(), tm.Hour(), tm.Minute(), tm.Second(), tm.Nanosecond(), time.FixedZone("", r.Offset))
		}
		s, err := Format(tm, format)
		if err != nil {
			t.Fatalf("Format(%v, %q): %v", tm, format, err)
		}
		r2, err := Parse(s, format)
		if err != nil {
			t.Fatalf("Parse(%q, %q) = %v, but Parse(Format(that)) = Parse(%q): %v", value, format, r.Wall, s, err)
		}
		if r2 != r {
			t.Fatalf("Parse(%q, %q) = %s, but Parse(%q) = %s", value, format, isoformat(r), s, isoformat(r2))
		}
	})
}
