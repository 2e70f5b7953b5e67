package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// logSink is an attempt's log file: written by one pump, read by any
// number of followers through the file itself.
type logSink struct {
	path string
	f    *os.File // O_APPEND

	mu     sync.Mutex
	wake   chan struct{} // closed and replaced after every write and at the end
	done   bool          // the footer is written; nothing more will come
	lastNL bool          // the file is empty or ends with a newline
	err    error         // the first write error
}

func openLog(path string) (*logSink, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("executor: log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("executor: open log: %w", err)
	}
	s := &logSink{path: path, f: f, wake: make(chan struct{}), lastNL: true}
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		// Appending to an earlier attempt's log: start on a line of our own.
		last := make([]byte, 1)
		if r, err := os.Open(path); err == nil {
			if _, err := r.ReadAt(last, fi.Size()-1); err == nil {
				s.lastNL = last[0] == '\n'
			}
			r.Close()
		}
	}
	return s, nil
}

// Write appends p and wakes the followers. After a write error it keeps
// accepting (and dropping) output, so that the process is never blocked
// by a full disk; the error is reported in the result.
func (s *logSink) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.mu.Lock()
	failed := s.err != nil
	s.mu.Unlock()
	if failed {
		return len(p), nil
	}
	n, err := s.f.Write(p)
	s.mu.Lock()
	if n > 0 {
		s.lastNL = p[n-1] == '\n'
	}
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("write log %s: %w", s.path, err)
	}
	s.broadcastLocked()
	s.mu.Unlock()
	return len(p), nil
}

// line writes text as a line of its own.
func (s *logSink) line(text string) {
	s.mu.Lock()
	nl := s.lastNL
	s.mu.Unlock()
	if !nl {
		text = "\n" + text
	}
	s.Write([]byte(text + "\n"))
}

// close ends the log: followers read to the end and get io.EOF.
func (s *logSink) close() error {
	err := s.f.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	s.broadcastLocked()
	if s.err == nil && err != nil {
		s.err = fmt.Errorf("close log %s: %w", s.path, err)
	}
	return s.err
}

func (s *logSink) broadcastLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// follow returns a reader of the log from offset from.
func (s *logSink) follow(ctx context.Context, from int64) io.ReadCloser {
	f, err := os.Open(s.path)
	if err != nil {
		return errReader{fmt.Errorf("follow log: %w", err)}
	}
	return &follower{sink: s, f: f, off: max(from, 0), ctx: ctx, closed: make(chan struct{})}
}

type follower struct {
	sink *logSink
	f    *os.File
	off  int64
	ctx  context.Context // the follower's own, given to Follow

	closeOnce sync.Once
	closed    chan struct{}
}

func (r *follower) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		// Take the wake channel before reading, so that a write between the
		// read and the wait is not missed.
		r.sink.mu.Lock()
		wake, done := r.sink.wake, r.sink.done
		r.sink.mu.Unlock()

		n, err := r.f.ReadAt(p, r.off)
		if n > 0 {
			r.off += int64(n)
			return n, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if done {
			return 0, io.EOF
		}
		select {
		case <-wake:
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		case <-r.closed:
			return 0, os.ErrClosed
		}
	}
}

func (r *follower) Close() error {
	err := os.ErrClosed
	r.closeOnce.Do(func() {
		close(r.closed)
		err = r.f.Close()
	})
	return err
}

// errReader fails every read.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
func (r errReader) Close() error             { return nil }

// AppendLog adds a line written by posml ("posml: ...") to the log at
// path, on a line of its own: the runner's note on an attempt it found
// dead after a restart, or on a retry.
func AppendLog(path, text string) error {
	s, err := openLog(path)
	if err != nil {
		return err
	}
	s.line("posml: " + text)
	return s.close()
}
