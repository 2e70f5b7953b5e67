package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/sealed"
	"github.com/posml/posml/internal/tracking"
)

// DefaultArtifactRoot is the root of experiment artifact locations when the
// configuration names none: artifacts go through the server's proxy.
const DefaultArtifactRoot = "mlflow-artifacts:/"

// Config configures a Store.
type Config struct {
	// URL is "sqlite:///relative.db", "sqlite:////absolute.db" (SQLAlchemy's
	// convention, as MLflow uses it; "?synchronous=normal" relaxes
	// durability), a bare file path, or
	// "postgres://user:pass@host/db?search_path=s".
	URL string
	// ArtifactRoot prefixes new experiments' artifact locations;
	// DefaultArtifactRoot when empty.
	ArtifactRoot string
	// ReadConns is the size of the SQLite read pool (default 4).
	ReadConns int
	// Secrets, when set, encrypts the stored secrets (project credentials,
	// mart source DSNs); nil stores new ones in plain text and refuses to
	// read encrypted ones (see package sealed).
	Secrets *sealed.Box
}

// Store is the tracking store. It is safe for concurrent use.
type Store struct {
	w, r *sql.DB // writer and readers; the same pool on PostgreSQL
	d    dialect
	root string
	now  func() time.Time
	box  *sealed.Box // of Config.Secrets

	// wmu serializes write transactions on SQLite (one writer).
	wmu sync.Mutex

	mu    sync.Mutex
	stmts map[string]*sql.Stmt // prepared on w, SQLite only
}

// dialect holds everything that differs between SQLite and PostgreSQL.
type dialect struct {
	name string // "sqlite" or "postgres"
	// prepare caches prepared statements on the writer (SQLite: the driver
	// does not; pgx caches per connection by itself).
	prepare bool
	// dollar rewrites ? placeholders as $1, $2, ...
	dollar bool
	// ilike is the case-insensitive LIKE operator expression for a column and a
	// placeholder.
	ilike func(col, arg string) string
	// rowsPerInsert is the number of rows of one multi-row metric insert:
	// small on SQLite, where statements are prepared and cached per row
	// count; one statement per batch on PostgreSQL, where a round trip costs
	// more than parsing.
	rowsPerInsert int
}

var (
	sqliteDialect = dialect{
		name: "sqlite", prepare: true, rowsPerInsert: 100,
		ilike: func(col, arg string) string { return "LOWER(" + col + ") LIKE LOWER(" + arg + ")" },
	}
	postgresDialect = dialect{
		name: "postgres", dollar: true, rowsPerInsert: 1000,
		ilike: func(col, arg string) string { return col + " ILIKE " + arg },
	}
)

var rebindCache sync.Map // query → $-numbered query

func (d dialect) rebind(q string) string {
	if !d.dollar {
		return q
	}
	if v, ok := rebindCache.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	inStr := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c == '\'' {
			inStr = !inStr
		}
		if c == '?' && !inStr {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	s := b.String()
	if len(q) < 4096 {
		rebindCache.Store(q, s)
	}
	return s
}

// Open opens (creating if needed) the database at cfg.URL, applies pending
// migrations and makes sure the default experiment exists.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s := &Store{root: cfg.ArtifactRoot, now: time.Now, box: cfg.Secrets, stmts: map[string]*sql.Stmt{}}
	if s.root == "" {
		s.root = DefaultArtifactRoot
	}
	u := cfg.URL
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		db, err := sql.Open("pgx", u)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(16)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s.w, s.r, s.d = db, db, postgresDialect
	default:
		path, sync, err := sqliteConfig(u)
		if err != nil {
			return nil, err
		}
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("open sqlite: %w", err)
			}
		}
		const common = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=case_sensitive_like(1)"
		w, err := sql.Open("sqlite", path+"?"+common+"&_pragma=journal_mode(WAL)&_pragma=synchronous("+sync+")&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		// Writes are serialized by wmu; the second connection only lets
		// statements be prepared while a transaction holds the first.
		w.SetMaxOpenConns(2)
		w.SetMaxIdleConns(2)
		w.SetConnMaxLifetime(0)
		w.SetConnMaxIdleTime(0)
		// The writer sets WAL mode before any reader connects.
		if err := w.PingContext(ctx); err != nil {
			w.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		r, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		n := cfg.ReadConns
		if n <= 0 {
			n = 4
		}
		r.SetMaxOpenConns(n)
		r.SetMaxIdleConns(n)
		r.SetConnMaxIdleTime(0)
		s.w, s.r, s.d = w, r, sqliteDialect
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.ensureDefaultExperiment(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// sqliteConfig reads a sqlite URL: the file path and the synchronous mode.
// Commits are durable by default (synchronous=FULL: fsync of the WAL at each
// commit); "?synchronous=normal" trades the last commits on power loss (never
// on a crash of the process) for speed.
func sqliteConfig(u string) (path, sync string, err error) {
	sync = "FULL"
	if i := strings.IndexByte(u, '?'); i >= 0 && strings.HasPrefix(u, "sqlite:") {
		q, err := url.ParseQuery(u[i+1:])
		if err != nil {
			return "", "", posml.Errorf(posml.KindInvalid, "bad sqlite URL "+u+": "+err.Error())
		}
		if v := q.Get("synchronous"); v != "" {
			switch strings.ToUpper(v) {
			case "OFF", "NORMAL", "FULL", "EXTRA":
				sync = strings.ToUpper(v)
			default:
				return "", "", posml.Errorf(posml.KindInvalid, "bad sqlite URL "+u+": synchronous must be off, normal, full or extra")
			}
		}
	}
	path, err = sqlitePath(u)
	return path, sync, err
}

// sqlitePath turns a sqlite URL into a file path.
func sqlitePath(u string) (string, error) {
	switch {
	case strings.HasPrefix(u, "sqlite:///"):
		p := strings.TrimPrefix(u, "sqlite:///")
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		if p == "" {
			return "", posml.Errorf(posml.KindInvalid, "sqlite URL names no file: "+u)
		}
		if uq, err := url.PathUnescape(p); err == nil {
			p = uq
		}
		return p, nil // "/abs" when the URL had four slashes
	case strings.HasPrefix(u, "sqlite:"):
		return "", posml.Errorf(posml.KindInvalid, "bad sqlite URL "+u+": want sqlite:///relative/path.db or sqlite:////absolute/path.db")
	case strings.Contains(u, "://"):
		return "", posml.Errorf(posml.KindInvalid, "unsupported database URL "+u+": want sqlite:///path.db or postgres://...")
	case u == "":
		return "", posml.Errorf(posml.KindInvalid, "no database URL")
	}
	return u, nil
}

// Dialect names the database engine: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// ArtifactRoot is the root of new experiments' artifact locations.
func (s *Store) ArtifactRoot() string { return s.root }

// SetClock replaces the clock (for tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Close closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = map[string]*sql.Stmt{}
	s.mu.Unlock()
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.r.PingContext(ctx) }

func (s *Store) nowMillis() int64 { return s.now().UnixMilli() }

// maxStmts bounds the statement cache; past it, statements are prepared per
// use (variable-length multi-row inserts could otherwise grow it).
const maxStmts = 512

// stmt returns the cached prepared statement for q on the writer, or false
// when the cache is full.
func (s *Store) stmt(ctx context.Context, q string) (*sql.Stmt, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stmts[q]; ok {
		return st, true, nil
	}
	if len(s.stmts) >= maxStmts {
		return nil, false, nil
	}
	st, err := s.w.PrepareContext(ctx, q)
	if err != nil {
		return nil, false, err
	}
	s.stmts[q] = st
	return st, true, nil
}

// tx is a write transaction; queries use ? placeholders.
type tx struct {
	tx  *sql.Tx
	s   *Store
	ctx context.Context
}

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	q = t.s.d.rebind(q)
	if t.s.d.prepare {
		st, ok, err := t.s.stmt(t.ctx, q)
		if err != nil {
			return nil, err
		}
		if ok {
			return t.tx.StmtContext(t.ctx, st).ExecContext(t.ctx, args...)
		}
	}
	return t.tx.ExecContext(t.ctx, q, args...)
}

func (t *tx) query(q string, args ...any) (*sql.Rows, error) {
	q = t.s.d.rebind(q)
	if t.s.d.prepare {
		st, ok, err := t.s.stmt(t.ctx, q)
		if err != nil {
			return nil, err
		}
		if ok {
			return t.tx.StmtContext(t.ctx, st).QueryContext(t.ctx, args...)
		}
	}
	return t.tx.QueryContext(t.ctx, q, args...)
}

func (t *tx) queryRow(q string, args ...any) *sql.Row {
	q = t.s.d.rebind(q)
	if t.s.d.prepare {
		if st, ok, err := t.s.stmt(t.ctx, q); err == nil && ok {
			return t.tx.StmtContext(t.ctx, st).QueryRowContext(t.ctx, args...)
		}
	}
	return t.tx.QueryRowContext(t.ctx, q, args...)
}

// inTx runs f in a write transaction, committing when f returns nil. On
// PostgreSQL a serialization failure or deadlock is retried.
func (s *Store) inTx(ctx context.Context, f func(t *tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.inTxOnce(ctx, f)
		if err != nil && attempt < 3 && retryable(err) {
			time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
			continue
		}
		return err
	}
}

func (s *Store) inTxOnce(ctx context.Context, f func(t *tx) error) error {
	if s.d.prepare {
		s.wmu.Lock()
		defer s.wmu.Unlock()
	}
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	t := &tx{tx: sqlTx, s: s, ctx: ctx}
	if err := f(t); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}

// isUniqueViolation reports whether err is a unique or primary key violation.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// readQuery runs a read query on the read pool.
func (s *Store) readQuery(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.r.QueryContext(ctx, s.d.rebind(q), args...)
}

func (s *Store) readRow(ctx context.Context, q string, args ...any) *sql.Row {
	return s.r.QueryRowContext(ctx, s.d.rebind(q), args...)
}

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// rowsPlaceholders returns "(?, ?), (?, ?)" for rows of cols arguments.
func rowsPlaceholders(rows, cols int) string {
	one := "(" + placeholders(cols) + ")"
	return strings.Repeat(one+", ", rows-1) + one
}

// newUUID returns 32 lowercase hex digits of a random version-4 UUID, the form
// of MLflow's run IDs.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return hex.EncodeToString(b[:])
}

// internal is err if it is nil or a *posml.Error, else err wrapped for op.
func internal(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *posml.Error
	if errors.As(err, &pe) {
		return err
	}
	// A value PostgreSQL cannot store (a NUL character, an out-of-range
	// number: SQLSTATE class 22) is the client's fault, not the server's.
	var pge *pgconn.PgError
	if errors.As(err, &pge) && strings.HasPrefix(pge.Code, "22") {
		return &posml.Error{Kind: posml.KindInvalid, Msg: "Invalid value: " + pge.Message, Err: err}
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// boolInt stores a bool as 0/1 in both dialects.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parseExperimentID parses an experiment ID; a non-integer ID names no
// experiment.
func parseExperimentID(id string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
	if err != nil {
		return 0, tracking.ErrExperimentNotFound(id)
	}
	return n, nil
}
