package restapi

import (
	"bytes"
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
	f, err := os.Open(a.LogPath)
	if errors.Is(err, fs.ErrNotExist) || a.LogPath == "" {
		w.WriteHeader(http.StatusOK)
		return streamed{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open log of run %s attempt %d: %w", id, a.N, err)
	}
	defer f.Close()
	w.WriteHeader(http.StatusOK)
	io.Copy(w, f)
	return streamed{}, nil
}

// followLogs streams the logs of attempts n, n+1, ... as server-sent
// events until the run ends or the client goes away.
func (h *handler) followLogs(w http.ResponseWriter, r *http.Request, id pipeline.RunID, n int) (any, error) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc.Flush()
	ctx := r.Context()
	var (
		f       *os.File
		partial []byte
		buf     = make([]byte, 64<<10)
		started = 0 // the attempt whose "attempt" event was sent
	)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	// drain sends the complete lines readable from f; with final, the
	// trailing partial line too.
	drain := func(final bool) {
		for f != nil {
			k, err := f.Read(buf)
			partial = append(partial, buf[:k]...)
			for {
				i := bytes.IndexByte(partial, '\n')
				if i < 0 {
					break
				}
				writeEvent(w, "", strings.TrimSuffix(string(partial[:i]), "\r"))
				partial = partial[i+1:]
			}
			if k == 0 || err != nil {
				break
			}
		}
		if final && len(partial) > 0 {
			writeEvent(w, "", string(partial))
			partial = nil
		}
		rc.Flush()
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
			if f == nil && a.LogPath != "" {
				f, _ = os.Open(a.LogPath) // not there yet: try again next round
			}
			// The attempt is over (or a later one exists): read it to the
			// end and move on.
			if !a.EndedAt.IsZero() || n < len(as) || run.State.Terminal() {
				if f == nil && a.LogPath != "" {
					f, _ = os.Open(a.LogPath)
				}
				drain(true)
				if f != nil {
					f.Close()
					f = nil
				}
				n++
				continue
			}
			drain(false)
			break
		}
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
