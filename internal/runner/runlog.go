package runner

import (
	"cmp"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/posml/posml/internal/pipeline"
)

// LogStore keeps a copy of the attempts' logs in the database, so that any
// replica serves any run's log (*sqlstore.Store).
type LogStore interface {
	AppendLog(ctx context.Context, id pipeline.RunID, n int, pos int64, data []byte) error
	ReadLog(ctx context.Context, id pipeline.RunID, n int, from int64, limit int) ([]byte, error)
}

// logChunk is the largest piece of a log file copied to the database in
// one write.
const logChunk = 64 << 10

// shipLog copies the log file of attempt n of run id to Deps.Logs as it
// grows, every second, until stop is closed; then it copies the rest.
func (p *Pool) shipLog(id pipeline.RunID, n int, path string, stop <-chan struct{}) {
	ctx := context.Background() // the copy outlives the attempt's context
	var pos int64
	ship := func() {
		f, err := os.Open(path)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				p.log.Warn("runner: ship log", "run_id", id, "attempt", n, "err", err)
			}
			return
		}
		defer f.Close()
		buf := make([]byte, logChunk)
		for {
			k, err := f.ReadAt(buf, pos)
			if k > 0 {
				if err := p.d.Logs.AppendLog(ctx, id, n, pos, buf[:k]); err != nil {
					p.log.Warn("runner: ship log", "run_id", id, "attempt", n, "err", err)
					return // again at the next tick, from the same position
				}
				pos += int64(k)
			}
			if err != nil || k < len(buf) {
				return
			}
		}
	}
	for {
		select {
		case <-stop:
			ship()
			return
		case <-p.cfg.After(time.Second):
			ship()
		}
	}
}

// followStored reads the stored copy of attempt n's log from byte from:
// while the attempt runs (on whichever replica), live until it ends.
func (p *Pool) followStored(ctx context.Context, id pipeline.RunID, n int, from int64) io.ReadCloser {
	return &storedLog{p: p, ctx: ctx, id: id, n: n, pos: from}
}

// storedLog is a reader of a log copied to the database.
type storedLog struct {
	p     *Pool
	ctx   context.Context
	id    pipeline.RunID
	n     int
	pos   int64
	buf   []byte
	ended time.Time // when the attempt ended; zero while it runs
}

// settle is how long a reader of a stored log waits, after its attempt
// ended, for the last chunks its replica copies then.
const settle = 2 * time.Second

func (r *storedLog) Read(b []byte) (int, error) {
	for len(r.buf) == 0 {
		data, err := r.p.d.Logs.ReadLog(r.ctx, r.id, r.n, r.pos, logChunk)
		if err != nil {
			return 0, err
		}
		if len(data) > 0 {
			r.buf = data
			r.pos += int64(len(data))
			break
		}
		if r.ended.IsZero() {
			atts, err := r.p.d.Store.Attempts(r.ctx, r.id)
			if err != nil {
				return 0, err
			}
			switch {
			case len(atts) < r.n:
				r.ended = time.Now()
			case atts[r.n-1].State != pipeline.Running:
				r.ended = cmp.Or(atts[r.n-1].EndedAt, time.Now())
			}
		}
		if !r.ended.IsZero() && time.Since(r.ended) > settle {
			return 0, io.EOF
		}
		select {
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		case <-r.p.cfg.After(250 * time.Millisecond):
		}
	}
	k := copy(b, r.buf)
	r.buf = r.buf[k:]
	return k, nil
}

func (r *storedLog) Close() error { return nil }
