package auth

import (
	"fmt"
	"sync"
	"time"
)

// Password guessing is slowed per user name: after FreeFailures wrong
// passwords in a row, each further try of that name is refused, without a
// password check, until a delay after the last failure has passed: 1 s,
// then doubling up to MaxThrottle. A right password clears the count.
// The owner of the name can always log in again after at most MaxThrottle;
// an attacker gets a few guesses an hour. The counts live in the server's
// memory (each replica counts its own).
const (
	FreeFailures = 5
	MaxThrottle  = 15 * time.Minute
	// maxTracked bounds the names counted at once: beyond it, counts whose
	// delay has passed are forgotten first.
	maxTracked = 10_000
)

// ThrottledError is the answer to a password check of a name that failed
// too often: Wait is how long until the next try is checked.
type ThrottledError struct {
	Name string
	Wait time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many wrong passwords for %q: try again in %s", e.Name, e.Wait.Round(time.Second))
}

type failures struct {
	n    int
	last time.Time
}

// delay is how long after the last failure the next try is checked.
func (f failures) delay() time.Duration {
	if f.n < FreeFailures {
		return 0
	}
	d := time.Second << min(f.n-FreeFailures, 20)
	return min(d, MaxThrottle)
}

type throttle struct {
	mu sync.Mutex
	m  map[string]failures
}

// wait returns how long name must wait before its password is checked.
func (t *throttle) wait(name string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.m[name]
	if !ok {
		return 0
	}
	return max(f.last.Add(f.delay()).Sub(now), 0)
}

// fail counts a wrong password for name.
func (t *throttle) fail(name string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]failures{}
	}
	if _, ok := t.m[name]; !ok && len(t.m) >= maxTracked {
		for k, f := range t.m {
			if now.Sub(f.last) > f.delay() {
				delete(t.m, k)
			}
		}
		if len(t.m) >= maxTracked {
			return // all throttled right now: this name is not counted
		}
	}
	f := t.m[name]
	f.n++
	f.last = now
	t.m[name] = f
}

// ok clears the count of name after a right password.
func (t *throttle) ok(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, name)
}
