package schedule

import (
	"testing"
	"time"
	_ "time/tzdata" // zone data independent of the host
)

func mustLoad(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

func mustParse(tb testing.TB, expr, zone string) *Schedule {
	tb.Helper()
	s, err := Parse(expr, mustLoad(tb, zone))
	if err != nil {
		tb.Fatalf("Parse(%q, %s): %v", expr, zone, err)
	}
	return s
}

// at parses an RFC 3339 instant.
func at(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatalf("bad test time %q: %v", s, err)
	}
	return t
}

// rfc formats t in its own location, so that the offset is checked too.
func rfc(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.Format(time.RFC3339)
}
