package loadgen

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Progress draws one status line per phase on a writer, normally stderr.
// Live (on a terminal) a line is redrawn ten times a second: a bar when the
// total is known, a spinner otherwise. Not live (a pipe, a CI log), only the
// final line of each step is printed, so logs stay short.
type Progress struct {
	w    io.Writer
	live bool
	now  func() time.Time
}

// NewProgress returns a Progress on w; a nil w discards everything.
func NewProgress(w io.Writer, live bool) *Progress {
	if w == nil {
		w = io.Discard
	}
	return &Progress{w: w, live: live, now: time.Now}
}

// Bar is the status line of one step. Add may be called from any goroutine;
// Done ends the line and must be called exactly once.
type Bar struct {
	p      *Progress
	label  string
	unit   string
	total  int64
	start  time.Time
	n      atomic.Int64
	stop   chan struct{}
	wg     sync.WaitGroup
	frames int
}

// Start begins a step. total is the number of units expected, or 0 when
// unknown (a spinner and a rate are drawn instead of a bar).
func (p *Progress) Start(label string, total int64, unit string) *Bar {
	b := &Bar{p: p, label: label, unit: unit, total: total, start: p.now(), stop: make(chan struct{})}
	if p.live {
		b.wg.Add(1)
		go b.redraw() // waited for by Done
	}
	return b
}

// Add counts n more units done.
func (b *Bar) Add(n int64) { b.n.Add(n) }

// Done stops redrawing and prints the final line of the step followed by
// result (e.g. "median 0.41 ms").
func (b *Bar) Done(result string) {
	close(b.stop)
	b.wg.Wait()
	elapsed := b.p.now().Sub(b.start)
	line := fmt.Sprintf("%-28s %s in %s", b.label, b.counts(), elapsed.Round(10*time.Millisecond))
	if result != "" {
		line += ": " + result
	}
	if b.p.live {
		fmt.Fprintf(b.p.w, "\r\033[K✓ %s\n", line)
		return
	}
	fmt.Fprintf(b.p.w, "  %s\n", line)
}

func (b *Bar) redraw() {
	defer b.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			fmt.Fprintf(b.p.w, "\r\033[K%s", b.line())
		}
	}
}

var spinner = []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

const barWidth = 24

func (b *Bar) line() string {
	b.frames++
	elapsed := b.p.now().Sub(b.start)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%c %-28s ", spinner[b.frames%len(spinner)], b.label)
	if b.total > 0 {
		done := min(b.n.Load(), b.total)
		fill := int(done * barWidth / b.total)
		sb.WriteString(strings.Repeat("█", fill) + strings.Repeat("░", barWidth-fill) + " ")
	}
	sb.WriteString(b.counts())
	if s := elapsed.Seconds(); b.total <= 0 && s > 0 {
		fmt.Fprintf(&sb, " (%.0f/s)", float64(b.n.Load())/s)
	}
	fmt.Fprintf(&sb, " %s", elapsed.Round(100*time.Millisecond))
	return sb.String()
}

func (b *Bar) counts() string {
	if b.total > 0 {
		return fmt.Sprintf("%d/%d %s", b.n.Load(), b.total, b.unit)
	}
	return fmt.Sprintf("%d %s", b.n.Load(), b.unit)
}
