package strptime

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/posml/posml/internal/schedule"
)

// Result is a parsed date: the wall-clock fields, and the UTC offset when the
// format has %z.
type Result struct {
	// Wall holds the fields read, or their defaults (1900-01-01 00:00:00), in
	// time.UTC. It is a naive wall time, like Python's datetime without
	// tzinfo: its location means nothing.
	Wall time.Time
	// HasOffset is true when %z read an offset; the result is then aware.
	HasOffset bool
	// Offset is the %z offset in seconds east of UTC.
	Offset int
	// OffsetMicro is the sub-second part of the %z offset, in microseconds,
	// with the sign of the offset (Python accepts "+01:00:00.5").
	OffsetMicro int
}

// Instant returns the instant r denotes, shown in loc. With an offset (%z)
// the offset decides and loc only presents the result. Without one, r.Wall
// is read as a wall-clock time in loc the way pendulum (and so Airflow)
// does: a time in a DST gap moves forward by the gap, an ambiguous time is
// the later, standard-time occurrence (schedule.Localize).
func (r Result) Instant(loc *time.Location) time.Time {
	if !r.HasOffset {
		return schedule.Localize(r.Wall, loc)
	}
	off := time.Duration(r.Offset)*time.Second + time.Duration(r.OffsetMicro)*time.Microsecond
	return r.Wall.Add(-off).In(loc)
}

// Parser is a compiled format. It is safe for concurrent use.
type Parser struct {
	format string
	re     *regexp.Regexp
	names  []string // the named groups of re, in order
	index  []int    // index[i] is the submatch number of names[i]
}

// Compile reads a strptime format. Its errors are those Python raises for the
// format itself: a bad directive ("'e' is a bad directive in format '%e'"), a
// stray % at the end, or a directive used twice.
func Compile(format string) (*Parser, error) {
	var b strings.Builder
	b.WriteString(`(?i)^`)
	var names []string
	if err := translate(&b, format, format, &names); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		// The expressions are fixed and the literals quoted: not reachable.
		return nil, fmt.Errorf("strptime: format %q: %v", format, err)
	}
	p := &Parser{format: format, re: re, names: names, index: make([]int, len(names))}
	for i, n := range names {
		p.index[i] = re.SubexpIndex(n)
	}
	return p, nil
}

// CheckFormat reports whether format is a valid strptime format.
func CheckFormat(format string) error {
	_, err := Compile(format)
	return err
}

// Parse reads value with format, as Python's datetime.strptime(value, format).
func Parse(value, format string) (Result, error) {
	p, err := Compile(format)
	if err != nil {
		return Result{}, err
	}
	return p.Parse(value)
}

// Format returns the format p was compiled from.
func (p *Parser) Format() string { return p.format }

// Parse reads value. The whole value must match: text left over is an error
// ("unconverted data remains: ..."), and so is an impossible date or time.
func (p *Parser) Parse(value string) (Result, error) {
	m := p.re.FindStringSubmatchIndex(value)
	if m == nil {
		return Result{}, fmt.Errorf("time data %s does not match format %s", pyRepr(value), pyRepr(p.format))
	}
	if m[1] != len(value) {
		return Result{}, fmt.Errorf("unconverted data remains: %s", value[m[1]:])
	}
	groups := make([]group, len(p.names))
	for i, n := range p.names {
		k := p.index[i]
		groups[i] = group{name: n[0], text: value[m[2*k]:m[2*k+1]]}
	}
	return assemble(groups)
}
