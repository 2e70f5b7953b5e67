package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/datamart"
)

// Data marts: sources, marts, snapshots and reads (package datamart).

var _ datamart.Store = (*Store)(nil)

// forUpdate locks the selected rows until the transaction ends; SQLite
// needs nothing, its writes being serialized.
func (d dialect) forUpdate() string {
	if d.name == "postgres" {
		return " FOR UPDATE"
	}
	return ""
}

func millisPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// CreateMartSource stores a new source; an existing name is posml.KindExists.
func (s *Store) CreateMartSource(ctx context.Context, src datamart.Source) error {
	dsn, err := s.seal("mart_sources.dsn", src.DSN)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(`INSERT INTO mart_sources (name, kind, dsn, created_at) VALUES (?, ?, ?, ?)`,
			src.Name, string(src.Kind), dsn, src.CreatedAt.UnixMilli())
		return err
	})
	if isUniqueViolation(err) {
		return posml.Errorf(posml.KindExists, "source "+src.Name+" already exists")
	}
	return internal("create mart source", err)
}

// MartSource returns a source, with its DSN.
func (s *Store) MartSource(ctx context.Context, name string) (datamart.Source, error) {
	var src datamart.Source
	var kind string
	var at int64
	err := s.readRow(ctx, `SELECT name, kind, dsn, created_at FROM mart_sources WHERE name = ?`, name).Scan(&src.Name, &kind, &src.DSN, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return src, posml.Errorf(posml.KindNotFound, "no source "+name)
	}
	if err != nil {
		return src, internal("mart source", err)
	}
	src.Kind, src.CreatedAt = datamart.Kind(kind), fromMillis(at)
	if src.DSN, err = s.open("mart_sources.dsn", src.DSN); err != nil {
		return datamart.Source{}, err
	}
	return src, nil
}

// MartSources lists the sources by name, with their DSNs.
func (s *Store) MartSources(ctx context.Context) ([]datamart.Source, error) {
	var out []datamart.Source
	err := s.scanEach(ctx, `SELECT name, kind, dsn, created_at FROM mart_sources ORDER BY name`, nil, func(rows *sql.Rows) error {
		var src datamart.Source
		var kind string
		var at int64
		if err := rows.Scan(&src.Name, &kind, &src.DSN, &at); err != nil {
			return err
		}
		var err error
		if src.DSN, err = s.open("mart_sources.dsn", src.DSN); err != nil {
			return err
		}
		src.Kind, src.CreatedAt = datamart.Kind(kind), fromMillis(at)
		out = append(out, src)
		return nil
	})
	return out, err
}

// DeleteMartSource deletes a source.
func (s *Store) DeleteMartSource(ctx context.Context, name string) error {
	return s.deleteOne(ctx, `DELETE FROM mart_sources WHERE name = ?`, name, "no source "+name)
}

func (s *Store) deleteOne(ctx context.Context, q, key, notFound string) error {
	var n int64
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(q, key)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err == nil && n == 0 {
		return posml.Errorf(posml.KindNotFound, notFound)
	}
	return internal("delete", err)
}

// CreateMart stores a new mart; an existing id is posml.KindExists.
func (s *Store) CreateMart(ctx context.Context, m datamart.Mart) error {
	err := s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(`INSERT INTO marts (id, source, query, file, refresh_schedule, next_refresh, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			m.ID, m.Source, m.Query, m.File, m.RefreshSchedule, millisPtr(m.NextRefresh), m.CreatedAt.UnixMilli(), m.UpdatedAt.UnixMilli())
		return err
	})
	if isUniqueViolation(err) {
		return posml.Errorf(posml.KindExists, "mart "+m.ID+" already exists")
	}
	return internal("create mart", err)
}

// UpdateMart replaces a mart's definition.
func (s *Store) UpdateMart(ctx context.Context, m datamart.Mart) error {
	var n int64
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE marts SET source = ?, query = ?, file = ?, refresh_schedule = ?, next_refresh = ?, updated_at = ? WHERE id = ?`,
			m.Source, m.Query, m.File, m.RefreshSchedule, millisPtr(m.NextRefresh), m.UpdatedAt.UnixMilli(), m.ID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err == nil && n == 0 {
		return posml.Errorf(posml.KindNotFound, "no mart "+m.ID)
	}
	return internal("update mart", err)
}

const martCols = `id, source, query, file, refresh_schedule, next_refresh, created_at, updated_at`

func scanMart(sc interface{ Scan(...any) error }) (datamart.Mart, error) {
	var m datamart.Mart
	var next sql.NullInt64
	var created, updated int64
	err := sc.Scan(&m.ID, &m.Source, &m.Query, &m.File, &m.RefreshSchedule, &next, &created, &updated)
	if next.Valid {
		t := fromMillis(next.Int64)
		m.NextRefresh = &t
	}
	m.CreatedAt, m.UpdatedAt = fromMillis(created), fromMillis(updated)
	return m, err
}

// Mart returns a mart.
func (s *Store) Mart(ctx context.Context, id string) (datamart.Mart, error) {
	m, err := scanMart(s.readRow(ctx, `SELECT `+martCols+` FROM marts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, posml.Errorf(posml.KindNotFound, "no mart "+id)
	}
	return m, internal("mart", err)
}

// Marts lists the marts by id.
func (s *Store) Marts(ctx context.Context) ([]datamart.Mart, error) {
	return s.marts(ctx, `SELECT `+martCols+` FROM marts ORDER BY id`)
}

func (s *Store) marts(ctx context.Context, q string, args ...any) ([]datamart.Mart, error) {
	var out []datamart.Mart
	err := s.scanEach(ctx, q, args, func(rows *sql.Rows) error {
		m, err := scanMart(rows)
		out = append(out, m)
		return err
	})
	return out, err
}

// DeleteMart deletes a mart and its snapshots' records.
func (s *Store) DeleteMart(ctx context.Context, id string) error {
	return s.deleteOne(ctx, `DELETE FROM marts WHERE id = ?`, id, "no mart "+id)
}

// DueMarts lists the marts whose next refresh is at or before now.
func (s *Store) DueMarts(ctx context.Context, now time.Time) ([]datamart.Mart, error) {
	return s.marts(ctx, `SELECT `+martCols+` FROM marts WHERE next_refresh IS NOT NULL AND next_refresh <= ? ORDER BY next_refresh`, now.UnixMilli())
}

// ClaimMartRefresh moves a mart's next refresh from was to next, and says
// whether this caller did (false: another did first).
func (s *Store) ClaimMartRefresh(ctx context.Context, id string, was, next time.Time) (bool, error) {
	var n int64
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE marts SET next_refresh = ? WHERE id = ? AND next_refresh = ?`, next.UnixMilli(), id, was.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, internal("claim mart refresh", err)
}

// AddMartSnapshot stores snap as the mart's next version, unless the
// latest snapshot has the same digest; place puts the snapshot's file in
// place before the commit. The mart's row is locked meanwhile, so
// versions are assigned one at a time.
func (s *Store) AddMartSnapshot(ctx context.Context, snap datamart.Snapshot, place func(version int) error) (datamart.Snapshot, bool, error) {
	var out datamart.Snapshot
	created := false
	cols, err := json.Marshal(snap.Columns)
	if err != nil {
		return out, false, err
	}
	err = s.inTx(ctx, func(t *tx) error {
		created = false
		var id string
		err := t.queryRow(`SELECT id FROM marts WHERE id = ?`+s.d.forUpdate(), snap.MartID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return posml.Errorf(posml.KindNotFound, "no mart "+snap.MartID)
		}
		if err != nil {
			return err
		}
		latest, err := scanSnapshot(t.queryRow(`SELECT `+snapCols+` FROM mart_snapshots WHERE mart_id = ? ORDER BY version DESC LIMIT 1`, snap.MartID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case latest.Digest == snap.Digest:
			out = latest
			return nil
		}
		snap.Version = latest.Version + 1
		if err := place(snap.Version); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO mart_snapshots (mart_id, version, num_rows, size, digest, columns, query, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			snap.MartID, snap.Version, snap.Rows, snap.Size, snap.Digest, string(cols), snap.Query, snap.CreatedAt.UnixMilli()); err != nil {
			return err
		}
		out, created = snap, true
		return nil
	})
	return out, created, internal("add mart snapshot", err)
}

const snapCols = `mart_id, version, num_rows, size, digest, columns, query, created_at`

func scanSnapshot(sc interface{ Scan(...any) error }) (datamart.Snapshot, error) {
	var sn datamart.Snapshot
	var cols string
	var at int64
	if err := sc.Scan(&sn.MartID, &sn.Version, &sn.Rows, &sn.Size, &sn.Digest, &cols, &sn.Query, &at); err != nil {
		return sn, err
	}
	sn.CreatedAt = fromMillis(at)
	return sn, json.Unmarshal([]byte(cols), &sn.Columns)
}

// MartSnapshots lists a mart's snapshots, newest first.
func (s *Store) MartSnapshots(ctx context.Context, id string) ([]datamart.Snapshot, error) {
	out := []datamart.Snapshot{}
	err := s.scanEach(ctx, `SELECT `+snapCols+` FROM mart_snapshots WHERE mart_id = ? ORDER BY version DESC`, []any{id}, func(rows *sql.Rows) error {
		sn, err := scanSnapshot(rows)
		out = append(out, sn)
		return err
	})
	return out, err
}

// MartSnapshot returns one snapshot of a mart; version 0 is the latest.
func (s *Store) MartSnapshot(ctx context.Context, id string, version int) (datamart.Snapshot, error) {
	var sn datamart.Snapshot
	var err error
	if version == 0 {
		sn, err = scanSnapshot(s.readRow(ctx, `SELECT `+snapCols+` FROM mart_snapshots WHERE mart_id = ? ORDER BY version DESC LIMIT 1`, id))
	} else {
		sn, err = scanSnapshot(s.readRow(ctx, `SELECT `+snapCols+` FROM mart_snapshots WHERE mart_id = ? AND version = ?`, id, version))
	}
	if errors.Is(err, sql.ErrNoRows) {
		if _, merr := s.Mart(ctx, id); merr != nil {
			return sn, merr
		}
		if version == 0 {
			return sn, posml.Errorf(posml.KindNotFound, "mart "+id+" has no snapshot yet")
		}
		return sn, posml.Errorf(posml.KindNotFound, "mart "+id+" has no version "+strconv.Itoa(version))
	}
	return sn, internal("mart snapshot", err)
}

// AddMartRead records that a pipeline run read a snapshot; reading it
// again keeps the first record (completing its MLflow run if it had none).
func (s *Store) AddMartRead(ctx context.Context, r datamart.Read) error {
	err := s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(`INSERT INTO mart_reads (pipeline_run_id, mart_id, version, digest, mlflow_run_id, read_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (pipeline_run_id, mart_id, version) DO UPDATE SET mlflow_run_id = excluded.mlflow_run_id
			WHERE mart_reads.mlflow_run_id = '' AND excluded.mlflow_run_id <> ''`,
			r.PipelineRunID, r.MartID, r.Version, r.Digest, r.MLflowRunID, r.ReadAt.UnixMilli())
		return err
	})
	return internal("add mart read", err)
}

// MartReads lists the snapshots a pipeline run read, first read first.
func (s *Store) MartReads(ctx context.Context, run int64) ([]datamart.Read, error) {
	var out []datamart.Read
	err := s.scanEach(ctx, `SELECT pipeline_run_id, mart_id, version, digest, mlflow_run_id, read_at FROM mart_reads WHERE pipeline_run_id = ? ORDER BY id`,
		[]any{run}, func(rows *sql.Rows) error {
			var r datamart.Read
			var at int64
			if err := rows.Scan(&r.PipelineRunID, &r.MartID, &r.Version, &r.Digest, &r.MLflowRunID, &at); err != nil {
				return err
			}
			r.ReadAt = fromMillis(at)
			out = append(out, r)
			return nil
		})
	return out, err
}
