package datamart

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/posml/posml"
)

// Service is the mart catalog: sources, marts, their snapshots on disk,
// and the reads of pipeline runs. It is safe for concurrent use.
type Service struct {
	store Store
	dir   string // <data-dir>/marts
	log   *slog.Logger
	now   func() time.Time
	// Tracking, when set, records reads as MLflow run inputs.
	tracking Tracking
	// objects, when set, keeps the files for every replica (dir caches).
	objects Objects
}

// Config configures a Service.
type Config struct {
	// Dir holds the snapshots (<Dir>/<id>/<version>.parquet) and uploaded
	// files (<Dir>/<id>/upload/<name>): <data-dir>/marts.
	Dir string
	// Objects, when set, keeps the snapshots and uploaded files (below
	// ObjectPrefix) for all the replicas of the server, and Dir is a cache
	// of them: the server's artifact store when it is S3. Nil: Dir only.
	Objects Objects
	// Tracking records the reads of pipeline runs on their active MLflow
	// run; nil records them only in the catalog.
	Tracking Tracking
	// Log receives refresh failures of the schedule loop; nil discards.
	Log *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// New returns a Service over store.
func New(store Store, cfg Config) *Service {
	s := &Service{store: store, dir: cfg.Dir, log: cfg.Log, now: cfg.Now, tracking: cfg.Tracking, objects: cfg.Objects}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

func invalid(msg string) error { return posml.Errorf(posml.KindInvalid, msg) }

// AddSource stores a new source after checking that it can be opened.
func (s *Service) AddSource(ctx context.Context, src Source) (Source, error) {
	if err := src.Validate(); err != nil {
		return Source{}, err
	}
	if err := s.checkSource(ctx, src); err != nil {
		return Source{}, err
	}
	src.CreatedAt = s.now().UTC()
	if err := s.store.CreateMartSource(ctx, src); err != nil {
		return Source{}, err
	}
	return src, nil
}

// checkSource connects to a SQL source, or stats a files source's
// directory. Its errors never include the DSN.
func (s *Service) checkSource(ctx context.Context, src Source) error {
	switch src.Kind {
	case Files:
		st, err := os.Stat(src.DSN)
		if err != nil || !st.IsDir() {
			return invalid("files source " + src.Name + ": the directory does not exist on the server")
		}
		return nil
	case SQLite:
		if _, err := os.Stat(strings.TrimPrefix(src.DSN, "sqlite://")); err != nil {
			return invalid("sqlite source " + src.Name + ": the database file does not exist on the server")
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	rs, err := openSQL(ctx, src, "SELECT 1")
	if err != nil {
		return invalid(fmt.Sprintf("%s source %s: cannot connect: %s", src.Kind, src.Name, redact(err.Error(), src.DSN)))
	}
	return rs.close()
}

// redact removes a secret from a message.
func redact(msg, secret string) string {
	if secret == "" {
		return msg
	}
	return strings.ReplaceAll(msg, secret, "<dsn>")
}

// Sources lists the sources.
func (s *Service) Sources(ctx context.Context) ([]Source, error) { return s.store.MartSources(ctx) }

// Source returns a source.
func (s *Service) Source(ctx context.Context, name string) (Source, error) {
	return s.store.MartSource(ctx, name)
}

// RemoveSource deletes a source no mart uses.
func (s *Service) RemoveSource(ctx context.Context, name string) error {
	marts, err := s.store.Marts(ctx)
	if err != nil {
		return err
	}
	for _, m := range marts {
		if m.Source == name {
			return posml.Errorf(posml.KindConflict, "source "+name+" is used by mart "+m.ID+"; remove the mart first")
		}
	}
	return s.store.DeleteMartSource(ctx, name)
}

// Create stores a mart defined over a source and materialises its first
// snapshot; when that fails, the mart is not kept.
func (s *Service) Create(ctx context.Context, m Mart) (Mart, Snapshot, error) {
	if err := ValidID("mart id", m.ID); err != nil {
		return Mart{}, Snapshot{}, err
	}
	if m.Source == "" {
		return Mart{}, Snapshot{}, invalid("mart " + m.ID + ": name a source (or upload a file)")
	}
	src, err := s.store.MartSource(ctx, m.Source)
	if err != nil {
		return Mart{}, Snapshot{}, err
	}
	switch {
	case src.Kind == Files && (m.File == "" || m.Query != ""):
		return Mart{}, Snapshot{}, invalid("mart " + m.ID + ": a files source needs a file (and no query)")
	case src.Kind == Files && !filepath.IsLocal(m.File):
		return Mart{}, Snapshot{}, invalid("mart " + m.ID + ": file " + m.File + " must be a relative path inside the source's directory")
	case src.Kind != Files && (m.Query == "" || m.File != ""):
		return Mart{}, Snapshot{}, invalid("mart " + m.ID + ": a " + string(src.Kind) + " source needs a query (and no file)")
	}
	if err := s.setNext(&m); err != nil {
		return Mart{}, Snapshot{}, err
	}
	m.CreatedAt = s.now().UTC()
	m.UpdatedAt = m.CreatedAt
	if err := s.store.CreateMart(ctx, m); err != nil {
		return Mart{}, Snapshot{}, err
	}
	snap, _, err := s.materialise(ctx, m, nil)
	if err != nil {
		s.store.DeleteMart(context.WithoutCancel(ctx), m.ID) // the error at hand says more
		os.RemoveAll(filepath.Join(s.dir, m.ID))
		s.deleteObjects(context.WithoutCancel(ctx), martKey(m.ID))
		return Mart{}, Snapshot{}, err
	}
	return m, snap, nil
}

func (s *Service) setNext(m *Mart) error {
	sch, err := ParseSchedule(m.RefreshSchedule)
	if err != nil {
		return err
	}
	m.NextRefresh = nil
	if sch != nil {
		n := sch.Next(s.now()).UTC()
		m.NextRefresh = &n
	}
	return nil
}

// Upload stores an uploaded CSV or Parquet file (by its name's extension)
// as the definition of mart id, creating the mart if needed, and
// materialises it. A mart defined over a source cannot be uploaded to.
func (s *Service) Upload(ctx context.Context, id, name, refreshSchedule string, body io.Reader) (Mart, Snapshot, bool, error) {
	if err := ValidID("mart id", id); err != nil {
		return Mart{}, Snapshot{}, false, err
	}
	name = safeName(filepath.Base(name))
	if _, err := formatOf(name); err != nil || !idRE.MatchString(name) {
		return Mart{}, Snapshot{}, false, invalid("uploaded file name " + strconv.Quote(name) + ": want NAME.csv or NAME.parquet")
	}
	if _, err := ParseSchedule(refreshSchedule); err != nil {
		return Mart{}, Snapshot{}, false, err
	}
	m, err := s.store.Mart(ctx, id)
	isNew := errors.Is(err, posml.ErrNotFound)
	if err != nil && !isNew {
		return Mart{}, Snapshot{}, false, err
	}
	if !isNew && m.Source != "" {
		return Mart{}, Snapshot{}, false, posml.Errorf(posml.KindConflict, "mart "+id+" reads source "+m.Source+"; a file cannot be uploaded to it")
	}
	dir := filepath.Join(s.dir, id, "upload")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Mart{}, Snapshot{}, false, err
	}
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return Mart{}, Snapshot{}, false, err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, body)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Mart{}, Snapshot{}, false, fmt.Errorf("upload: %w", err)
	}
	now := s.now().UTC()
	if isNew {
		m = Mart{ID: id, CreatedAt: now}
	}
	old := m.File
	m.File, m.UpdatedAt = name, now
	if refreshSchedule != "" || isNew {
		m.RefreshSchedule = refreshSchedule
	}
	if err := s.setNext(&m); err != nil {
		return Mart{}, Snapshot{}, false, err
	}
	// The file is read from a temporary name, so a failed materialisation
	// leaves the previous upload in place.
	if isNew {
		if err := s.store.CreateMart(ctx, m); err != nil {
			return Mart{}, Snapshot{}, false, err
		}
	}
	snap, created, err := s.materialise(ctx, m, &tmp)
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, m.File))
	}
	if err == nil {
		// Before the mart names it: a refresh on another replica reads it.
		err = s.putObject(ctx, uploadKey(m.ID, m.File), filepath.Join(dir, m.File))
	}
	if err == nil && !isNew {
		err = s.store.UpdateMart(ctx, m)
	}
	if err != nil {
		if isNew {
			s.store.DeleteMart(context.WithoutCancel(ctx), m.ID) // the error at hand says more
			os.RemoveAll(filepath.Join(s.dir, m.ID))
			s.deleteObjects(context.WithoutCancel(ctx), martKey(m.ID))
		}
		return Mart{}, Snapshot{}, false, err
	}
	if old != "" && old != m.File {
		os.Remove(filepath.Join(dir, old))
		if err := s.deleteObjects(ctx, uploadKey(m.ID, old)); err != nil {
			s.log.Warn("datamart: remove the previous upload", "mart", m.ID, "err", err)
		}
	}
	return m, snap, created, nil
}

// safeName replaces the characters of a file name that are not letters,
// digits, '_', '.' or '-' with '_'.
func safeName(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (r == '_' || r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, name)
}

// Refresh materialises a mart now. It returns the latest snapshot and
// whether it is new (false: the content has not changed).
func (s *Service) Refresh(ctx context.Context, id string) (Snapshot, bool, error) {
	m, err := s.store.Mart(ctx, id)
	if err != nil {
		return Snapshot{}, false, err
	}
	return s.materialise(ctx, m, nil)
}

// Get returns a mart and its snapshots, newest first.
func (s *Service) Get(ctx context.Context, id string) (Mart, []Snapshot, error) {
	m, err := s.store.Mart(ctx, id)
	if err != nil {
		return Mart{}, nil, err
	}
	snaps, err := s.store.MartSnapshots(ctx, id)
	return m, snaps, err
}

// List lists the marts.
func (s *Service) List(ctx context.Context) ([]Mart, error) { return s.store.Marts(ctx) }

// Latest returns the latest snapshot of a mart (posml.ErrNotFound when it
// has none).
func (s *Service) Latest(ctx context.Context, id string) (Snapshot, error) {
	return s.store.MartSnapshot(ctx, id, 0)
}

// Remove deletes a mart and its snapshot files.
func (s *Service) Remove(ctx context.Context, id string) error {
	if err := ValidID("mart id", id); err != nil {
		return err
	}
	if err := s.store.DeleteMart(ctx, id); err != nil {
		return err
	}
	if err := s.deleteObjects(ctx, martKey(id)); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(s.dir, id))
}

// Snapshot returns a snapshot (version 0: the latest).
func (s *Service) Snapshot(ctx context.Context, id string, version int) (Snapshot, error) {
	if err := ValidID("mart id", id); err != nil {
		return Snapshot{}, err
	}
	return s.store.MartSnapshot(ctx, id, version)
}

// Path returns the local file of a snapshot: <Dir>/<id>/<version>.parquet;
// with Config.Objects, a cached copy that may not be there yet (OpenFile
// and Open fetch it), named by content, <Dir>/<id>/<digest>.parquet, so
// that a replica's cache stays right when another replica removes a mart
// and a new one takes its id.
func (s *Service) Path(snap Snapshot) string {
	if s.objects != nil {
		return filepath.Join(s.dir, snap.MartID, snap.Digest+".parquet")
	}
	return filepath.Join(s.dir, snap.MartID, strconv.Itoa(snap.Version)+".parquet")
}

// OpenFile opens a snapshot's Parquet file.
func (s *Service) OpenFile(snap Snapshot) (*os.File, error) {
	name, err := s.snapshotFile(snap)
	if err != nil {
		return nil, fmt.Errorf("mart %s version %d: %w", snap.MartID, snap.Version, err)
	}
	return os.Open(name)
}

// Open opens a snapshot's file for reading rows.
func (s *Service) Open(snap Snapshot) (*RowReader, error) {
	name, err := s.snapshotFile(snap)
	if err != nil {
		return nil, fmt.Errorf("mart %s version %d: %w", snap.MartID, snap.Version, err)
	}
	r, err := openSnapshot(name)
	if err != nil {
		return nil, fmt.Errorf("mart %s version %d: %w", snap.MartID, snap.Version, err)
	}
	return r, nil
}

func formatOf(name string) (string, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return "csv", nil
	case ".parquet", ".pq":
		return "parquet", nil
	}
	return "", invalid("file " + name + ": want a .csv or .parquet file")
}

// openSource opens the rows of a mart's definition; upload, when set, is
// the file to read in place of the mart's uploaded file.
func (s *Service) openSource(ctx context.Context, m Mart, upload **os.File) (rowSource, string, error) {
	var path string
	switch {
	case m.Source == "" && upload != nil:
		path = (*upload).Name()
	case m.Source == "":
		// Fetched again each time: another replica may have replaced it.
		p, err := s.cached(ctx, filepath.Join(s.dir, m.ID, "upload", m.File), uploadKey(m.ID, m.File), true)
		if err != nil {
			return nil, "", err
		}
		path = p
	default:
		src, err := s.store.MartSource(ctx, m.Source)
		if err != nil {
			return nil, "", err
		}
		if src.Kind != Files {
			var rs rowSource
			var err error
			if src.Kind == Postgres {
				rs, err = openPostgres(ctx, src, m.Query)
			} else {
				rs, err = openSQL(ctx, src, m.Query)
			}
			if err != nil {
				return nil, "", invalid("mart " + m.ID + ": " + redact(err.Error(), src.DSN))
			}
			return rs, m.Query, nil
		}
		path = filepath.Join(src.DSN, m.File)
	}
	f, err := formatOf(m.File)
	if err != nil {
		return nil, "", err
	}
	var rs rowSource
	if f == "csv" {
		rs, err = openCSV(path)
	} else {
		rs, err = openParquet(path)
	}
	if err != nil {
		return nil, "", invalid("mart " + m.ID + ": " + m.File + ": " + strings.ReplaceAll(err.Error(), path, m.File))
	}
	return rs, "file:" + m.File, nil
}

// materialise reads a mart's definition into a new snapshot file, and
// keeps it unless its content equals the latest snapshot's.
func (s *Service) materialise(ctx context.Context, m Mart, upload **os.File) (Snapshot, bool, error) {
	rs, what, err := s.openSource(ctx, m, upload)
	if err != nil {
		return Snapshot{}, false, err
	}
	defer rs.close()
	dir := filepath.Join(s.dir, m.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Snapshot{}, false, err
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(dir, ".tmp-"+hex.EncodeToString(rnd[:])+".parquet")
	w, err := newSnapshotWriter(tmp, rs.columns())
	if err != nil {
		return Snapshot{}, false, invalid("mart " + m.ID + ": " + err.Error())
	}
	vals := make([]parquet.Value, len(rs.columns()))
	for {
		err := rs.next(vals)
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil && w.rows%4096 == 0 {
			err = ctx.Err()
		}
		if err == nil {
			err = w.write(vals)
		}
		if err != nil {
			w.abort()
			return Snapshot{}, false, fmt.Errorf("mart %s: %w", m.ID, err)
		}
	}
	cols, size, digest, err := w.finish()
	if err != nil {
		return Snapshot{}, false, fmt.Errorf("mart %s: write snapshot: %w", m.ID, err)
	}
	snap := Snapshot{MartID: m.ID, Rows: w.rows, Size: size, Digest: digest, Columns: cols, Query: what, CreatedAt: s.now().UTC()}
	// In the object store before the catalog names it, under its content's
	// name (the version is known only in the transaction, which may be
	// retried); an unchanged content is there already.
	if s.objects != nil {
		latest, err := s.store.MartSnapshot(ctx, m.ID, 0)
		if err == nil && latest.Digest == digest {
			os.Remove(tmp)
			return latest, false, nil
		}
		if err := s.putObject(ctx, snapshotKey(m.ID, digest), tmp); err != nil {
			os.Remove(tmp)
			return Snapshot{}, false, fmt.Errorf("mart %s: %w", m.ID, err)
		}
	}
	cur := tmp // where the file is: a retried transaction may place it again
	stored, created, err := s.store.AddMartSnapshot(ctx, snap, func(v int) error {
		snap.Version = v
		dst := s.Path(snap)
		if dst == cur {
			return nil
		}
		if err := os.Rename(cur, dst); err != nil {
			return err
		}
		cur = dst
		return nil
	})
	if err != nil || !created {
		os.Remove(cur)
	}
	return stored, created, err
}

// Run refreshes the marts whose refresh schedule is due, every interval,
// until ctx ends. A due mart is claimed before it is refreshed, so two
// servers sharing a database refresh it once.
func (s *Service) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.RefreshDue(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RefreshDue refreshes the marts due now and returns how many it refreshed.
func (s *Service) RefreshDue(ctx context.Context) int {
	now := s.now()
	due, err := s.store.DueMarts(ctx, now)
	if err != nil {
		s.log.Error("due marts", "err", err)
		return 0
	}
	n := 0
	for _, m := range due {
		sch, err := ParseSchedule(m.RefreshSchedule)
		if err != nil || sch == nil || m.NextRefresh == nil {
			continue
		}
		next := sch.Next(now).UTC()
		ok, err := s.store.ClaimMartRefresh(ctx, m.ID, *m.NextRefresh, next)
		if err != nil || !ok {
			continue
		}
		snap, created, err := s.materialise(ctx, m, nil)
		if err != nil {
			s.log.Error("scheduled mart refresh failed", "mart", m.ID, "err", err)
			continue
		}
		n++
		s.log.Info("mart refreshed", "mart", m.ID, "version", snap.Version, "new", created, "rows", snap.Rows)
	}
	return n
}
