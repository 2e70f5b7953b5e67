package restapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/sqlstore"
)

// runLogs: GET /api/posml/runs/{id}/logs[?attempt=N][&follow=1]
//
// Without follow, the log of one attempt (default: the latest) as
// text/plain. With follow=1, server-sent events: each log line as a
// "data:" event (of every attempt from N, or from the first, on), an
// "attempt" event when an attempt starts, and a final "end" event whose
// data is {"state": ..., "reason": ...} once the run has ended and its log
// is read to the end.
func (h *handler) runLogs(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := runID(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	run, err := h.cfg.Runs.PipelineRun(ctx, id)
	if err != nil {
		return nil, err
	}
	as, err := h.cfg.Runs.Attempts(ctx, id)
	if err != nil {
		return nil, err
	}
	n := 0
	if s := r.URL.Query().Get("attempt"); s != "" {
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			return nil, errBadRequest("attempt=%q: want an attempt number from 1", s)
		}
		if !run.State.Terminal() && n > len(as)+1 || run.State.Terminal() && n > len(as) {
			return nil, errBadRequest("run %s has %d attempts", id, len(as))
		}
	}
	if f := r.URL.Query().Get("follow"); f == "1" || f == "true" {
		if n == 0 {
			n = 1
		}
		return h.followLogs(w, r, id, n)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if len(as) == 0 {
		w.WriteHeader(http.StatusOK)
		return streamed{}, nil
	}
	a := as[len(as)-1]
	if n > 0 {
		a = as[n-1]
	}
	f, err := openLog(a)
	if err != nil {
		return nil, fmt.Errorf("open log of run %s attempt %d: %w", id, a.N, err)
	}
	if f != nil {
		defer f.Close()
		w.WriteHeader(http.StatusOK)
		io.Copy(w, f)
		return streamed{}, nil
	}
	// Not on this replica: the copy in the database, as far as it goes.
	w.WriteHeader(http.StatusOK)
	if lr := h.logReader(); lr != nil {
		for pos := int64(0); ; {
			data, err := lr.ReadLog(ctx, id, a.N, pos, storedLogChunk)
			if err != nil {
				h.log.Warn("restapi: read stored log", "run_id", id, "attempt", a.N, "err", err)
				break
			}
			if len(data) == 0 {
				break
			}
			if _, err := w.Write(data); err != nil {
				break
			}
			pos += int64(len(data))
		}
	}
	return streamed{}, nil
}

// LogReader reads the copy of the attempts' logs kept in the database
// (*sqlstore.Store), which the runner of every replica writes as the logs
// grow (on PostgreSQL); Config.Runs provides it when it has the method.
type LogReader interface {
	ReadLog(ctx context.Context, id pipeline.RunID, n int, from int64, limit int) ([]byte, error)
}

var _ LogReader = (*sqlstore.Store)(nil)

// storedLogChunk is the most read of a stored log in one query.
const storedLogChunk = 256 << 10

// storedLogSettle is how long, after an attempt ended, a follower of its
// stored log keeps looking for the last chunks, which the replica that ran
// it copies to the database just after it records the end.
const storedLogSettle = 2 * time.Second

// logReader is the database copy of the logs; nil without one.
func (h *handler) logReader() LogReader {
	lr, _ := h.cfg.Runs.(LogReader)
	return lr
}

// openLog opens the log file of attempt a on this replica: nil, nil when it
// has none here (the attempt has not written it yet, or it ran on another
// replica).
func openLog(a pipeline.Attempt) (*os.File, error) {
	if a.LogPath == "" {
		return nil, nil
	}
	f, err := os.Open(a.LogPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return f, err
}

// followLogs streams the logs of attempts n, n+1, ... as server-sent
// events until the run ends or the client goes away. An attempt's log is
// read from its file when this replica has it, else from its copy in the
// database (polled while the attempt runs on another replica).
func (h *handler) followLogs(w http.ResponseWriter, r *http.Request, id pipeline.RunID, n int) (any, error) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc.Flush()
	ctx := r.Context()
	lr := h.logReader()
	var (
		f         *os.File  // attempt n's log file, once open
		pos       int64     // bytes of attempt n's log read so far
		overSince time.Time // when attempt n was first seen over
		partial   []byte
		buf       = make([]byte, 64<<10)
		started   = 0 // the attempt whose "attempt" event was sent
	)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	// lines sends the complete lines in partial; with final, the trailing
	// partial line too.
	lines := func(final bool) {
		for {
			i := bytes.IndexByte(partial, '\n')
			if i < 0 {
				break
			}
			writeEvent(w, "", strings.TrimSuffix(string(partial[:i]), "\r"))
			partial = partial[i+1:]
		}
		if final && len(partial) > 0 {
			writeEvent(w, "", string(partial))
			partial = nil
		}
	}
	// read appends what attempt a's log has past pos to partial: from the
	// file when this replica has it (opened at pos, so that a log first
	// read from the database goes on from the file), else from the
	// database. It reports whether the file was the source.
	read := func(a pipeline.Attempt) (local bool) {
		if f == nil {
			f, _ = openLog(a) // an error: as if not here
			if f != nil && pos > 0 {
				if _, err := f.Seek(pos, io.SeekStart); err != nil {
					f.Close()
					f = nil
				}
			}
		}
		if f != nil {
			for {
				k, err := f.Read(buf)
				partial = append(partial, buf[:k]...)
				pos += int64(k)
				if k == 0 || err != nil {
					return true
				}
			}
		}
		for lr != nil {
			data, err := lr.ReadLog(ctx, id, a.N, pos, storedLogChunk)
			if err != nil || len(data) == 0 {
				break // an error: again next round
			}
			partial = append(partial, data...)
			pos += int64(len(data))
		}
		return false
	}
	keepalive := time.Now()
	for {
		run, err := h.cfg.Runs.PipelineRun(ctx, id)
		if err != nil {
			if ctx.Err() == nil {
				writeEvent(w, "error", err.Error())
			}
			return streamed{}, nil
		}
		as, err := h.cfg.Runs.Attempts(ctx, id)
		if err != nil {
			if ctx.Err() == nil {
				writeEvent(w, "error", err.Error())
			}
			return streamed{}, nil
		}
		for n <= len(as) {
			a := as[n-1]
			if started < n {
				writeEvent(w, "attempt", strconv.Itoa(n))
				started = n
			}
			over := !a.EndedAt.IsZero() || n < len(as) || run.State.Terminal()
			if over && overSince.IsZero() {
				overSince = time.Now()
				if !a.EndedAt.IsZero() && a.EndedAt.Before(overSince) {
					overSince = a.EndedAt
				}
			}
			local := read(a)
			if !over || !local && lr != nil && time.Since(overSince) < storedLogSettle {
				// It runs; or it ran elsewhere and its last chunks may
				// still be on their way to the database.
				lines(false)
				break
			}
			// The attempt is over (or a later one exists) and read to the
			// end: move on.
			lines(true)
			if f != nil {
				f.Close()
				f = nil
			}
			pos, overSince = 0, time.Time{}
			n++
		}
		rc.Flush()
		if run.State.Terminal() && n > len(as) {
			end, _ := json.Marshal(map[string]string{"state": string(run.State), "reason": run.Reason})
			writeEvent(w, "end", string(end))
			rc.Flush()
			return streamed{}, nil
		}
		if time.Since(keepalive) > 15*time.Second {
			fmt.Fprint(w, ": keepalive\n\n")
			rc.Flush()
			keepalive = time.Now()
		}
		t := time.NewTimer(h.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return streamed{}, nil
		case <-t.C:
		}
	}
}

// writeEvent writes one server-sent event; data must be one line.
func writeEvent(w io.Writer, event, data string) {
	if event != "" {
		fmt.Fprintf(w, "event: %s\n", event)
	}
	fmt.Fprintf(w, "data: %s\n\n", data)
}
