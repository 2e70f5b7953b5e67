package sqlstore

import (
	"context"

	"github.com/posml/posml/internal/pipeline"
)

// MaxStoredLog bounds the bytes of one attempt's log kept in the database;
// the replica's log file keeps all of it.
const MaxStoredLog = 16 << 20

// AppendLog stores bytes [pos, pos+len(data)) of the log of attempt n of
// run id. A retried append at the same pos is harmless: the longer of the
// two chunks is kept (an append that committed but reported an error may be
// retried with more bytes, which must not leave a gap). Past MaxStoredLog
// nothing more is stored.
func (s *Store) AppendLog(ctx context.Context, id pipeline.RunID, n int, pos int64, data []byte) error {
	if len(data) == 0 || pos >= MaxStoredLog {
		return nil
	}
	return internal("append log", s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(`INSERT INTO run_log_chunks (run_id, n, pos, end_pos, data) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (run_id, n, pos) DO UPDATE SET end_pos = excluded.end_pos, data = excluded.data
			WHERE excluded.end_pos > run_log_chunks.end_pos`, id, n, pos, pos+int64(len(data)), data)
		return err
	}))
}

// ReadLog returns the stored log of attempt n of run id from byte from
// on: at most about limit bytes, contiguous (it stops at a gap), empty at
// the end of what is stored.
func (s *Store) ReadLog(ctx context.Context, id pipeline.RunID, n int, from int64, limit int) ([]byte, error) {
	rows, err := s.readQuery(ctx, `SELECT pos, data FROM run_log_chunks WHERE run_id = ? AND n = ? AND end_pos > ? ORDER BY pos LIMIT 64`, id, n, from)
	if err != nil {
		return nil, internal("read log", err)
	}
	defer rows.Close()
	var out []byte
	next := from
	for rows.Next() && len(out) < limit {
		var pos int64
		var data []byte
		if err := rows.Scan(&pos, &data); err != nil {
			return nil, internal("read log", err)
		}
		if pos > next {
			break // a gap: the rest is not stored yet
		}
		end := pos + int64(len(data))
		if end <= next {
			continue // covered by a longer chunk already read
		}
		out = append(out, data[next-pos:]...)
		next = end
	}
	return out, internal("read log", rows.Err())
}
