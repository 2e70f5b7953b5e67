package loadgen

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressNotLive(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, false)
	b := p.Start("seeding", 10, "runs")
	b.Add(4)
	b.Add(6)
	b.Done("0 errors")
	s := p.Start("writers", 0, "metrics")
	s.Add(1234)
	s.Done("")
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want one per step:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{"10/10 runs in ", "1234 metrics in "} {
		if !strings.Contains(lines[i], want) || strings.ContainsAny(lines[i], "\r\033") {
			t.Errorf("line %d = %q; want %q and no terminal control", i, lines[i], want)
		}
	}
	if !strings.HasSuffix(lines[0], ": 0 errors") {
		t.Errorf("line 0 = %q; want the result at the end", lines[0])
	}
}

func TestProgressLive(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, true)
	b := p.Start("search", 4, "calls")
	b.Add(1)
	time.Sleep(250 * time.Millisecond) // at least one redraw
	b.Add(3)
	b.Done("median 1ms")
	out := buf.String()
	if !strings.Contains(out, "1/4 calls") || !strings.Contains(out, "██████░") {
		t.Errorf("live output has no bar at 1/4:\n%q", out)
	}
	final := out[strings.LastIndex(out, "\r"):]
	if !strings.HasPrefix(final, "\r\033[K✓ search") || !strings.Contains(final, "4/4 calls in ") || !strings.HasSuffix(final, ": median 1ms\n") {
		t.Errorf("live output ends with %q; want the cleared line replaced by the final one", final)
	}
}
