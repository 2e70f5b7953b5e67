package executor

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
)

// Control is the part of a remote backend's Handle that every backend has
// alike: the attempt's log, the first of Cancel and Detach, and the result,
// published once. A backend's handle embeds it (after Init) and supervises
// its attempt in a goroutine that reads Requests and ends with Publish;
// Control then gives the handle Wait, Cancel, Detach and Follow.
type Control struct {
	Log *Log

	once   sync.Once
	reqs   chan Request
	done   chan struct{} // closed by Publish
	result Result
}

// Request is the first Cancel or Detach of a handle.
type Request struct {
	Detach bool
	Reason string // of a Cancel, on one line
}

// Init readies c for the attempt whose log is log.
func (c *Control) Init(log *Log) {
	c.Log = log
	c.reqs = make(chan Request, 1)
	c.done = make(chan struct{})
}

// Requests delivers the first Cancel or Detach, once.
func (c *Control) Requests() <-chan Request { return c.reqs }

// Done is closed once the result is published.
func (c *Control) Done() <-chan struct{} { return c.done }

// Publish closes the log (its error joins res.Err) and makes res the
// result Wait returns. It is called once, by the supervising goroutine.
func (c *Control) Publish(res Result) {
	if err := c.Log.Close(); err != nil {
		res.Err = errors.Join(res.Err, err)
	}
	c.result = res
	close(c.done)
}

// Wait blocks until the result is published and returns it.
func (c *Control) Wait() Result {
	<-c.done
	return c.result
}

// Cancel asks for the attempt to be canceled, for reason; only the first
// of Cancel and Detach counts.
func (c *Control) Cancel(reason string) {
	reason = strings.Join(strings.Fields(reason), " ") // one line in the footer
	if reason == "" {
		reason = "canceled"
	}
	c.once.Do(func() { c.reqs <- Request{Reason: reason} })
}

// Detach asks the supervisor to let the attempt's job run on (see
// Detacher) and, if this was the first request, waits until the result
// is published: Detached, or the attempt's end if posml was already
// ending it.
func (c *Control) Detach() {
	won := false
	c.once.Do(func() {
		c.reqs <- Request{Detach: true}
		won = true
	})
	if won {
		<-c.done
	}
}

// Follow reads the attempt's log (see Handle.Follow).
func (c *Control) Follow(ctx context.Context, from int64) io.ReadCloser {
	return c.Log.Follow(ctx, from)
}
