package datamart_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/datamart"
	"github.com/posml/posml/internal/sqlstore"
)

func openStore(t testing.TB) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newService(t testing.TB, store datamart.Store) (*datamart.Service, string) {
	dir := filepath.Join(t.TempDir(), "marts")
	return datamart.New(store, datamart.Config{Dir: dir}), dir
}

// csvOf returns a snapshot's data as the server serves it.
func csvOf(t *testing.T, svc *datamart.Service, snap datamart.Snapshot) string {
	t.Helper()
	r, err := svc.Open(snap)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var b bytes.Buffer
	if err := datamart.WriteCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

const typedCSV = `id,score,name,ok,at
1,0.5,alice,true,2026-01-02T03:04:05Z
2,,bob,false,2026-01-02 03:04:05.123456
,-1e300,,,
4,NaN,"d, ""quoted""",TRUE,2026-01-03
`

func TestUploadTypesAndNulls(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, openStore(t))
	m, snap, created, err := svc.Upload(ctx, "dm_typed.v1", "typed.csv", "", strings.NewReader(typedCSV))
	if err != nil || !created {
		t.Fatalf("Upload = %v, %v", created, err)
	}
	if m.File != "typed.csv" || snap.Version != 1 || snap.Rows != 4 || len(snap.Digest) != 64 || snap.Size == 0 {
		t.Errorf("mart %+v snapshot %+v", m, snap)
	}
	wantCols := []datamart.Column{
		{Name: "id", Type: datamart.Int64, Nullable: true},
		{Name: "score", Type: datamart.Float64, Nullable: true},
		{Name: "name", Type: datamart.String, Nullable: true},
		{Name: "ok", Type: datamart.Bool, Nullable: true},
		{Name: "at", Type: datamart.Timestamp, Nullable: true},
	}
	if d := cmp.Diff(wantCols, snap.Columns); d != "" {
		t.Errorf("columns (-want +got):\n%s", d)
	}
	want := `id,score,name,ok,at
1,0.5,alice,true,2026-01-02T03:04:05Z
2,,bob,false,2026-01-02T03:04:05.123456Z
,-1e+300,,,
4,NaN,"d, ""quoted""",true,2026-01-03T00:00:00Z
`
	if got := csvOf(t, svc, snap); got != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", got, want)
	}

	// The same content again: no new version.
	_, again, created, err := svc.Upload(ctx, "dm_typed.v1", "typed.csv", "", strings.NewReader(typedCSV))
	if err != nil || created || again.Version != 1 || again.Digest != snap.Digest {
		t.Errorf("re-upload = %+v, %v, %v; want version 1 unchanged", again, created, err)
	}
	if again, created, err := svc.Refresh(ctx, "dm_typed.v1"); err != nil || created || again.Version != 1 {
		t.Errorf("Refresh = %+v, %v, %v; want version 1 unchanged", again, created, err)
	}
	// Changed content: version 2; version 1 stays readable.
	_, v2, created, err := svc.Upload(ctx, "dm_typed.v1", "typed.csv", "", strings.NewReader(typedCSV+"5,1,e,false,2026-01-04\n"))
	if err != nil || !created || v2.Version != 2 || v2.Rows != 5 || v2.Digest == snap.Digest {
		t.Errorf("changed upload = %+v, %v, %v; want version 2", v2, created, err)
	}
	old, err := svc.Snapshot(ctx, "dm_typed.v1", 1)
	if err != nil || csvOf(t, svc, old) != want {
		t.Errorf("version 1 after version 2: %v", err)
	}
	if _, err := svc.Snapshot(ctx, "dm_typed.v1", 3); posml.KindOf(err) != posml.KindNotFound {
		t.Errorf("version 3: %v; want not found", err)
	}
	if _, err := svc.Snapshot(ctx, "nope", 0); posml.KindOf(err) != posml.KindNotFound {
		t.Errorf("unknown mart: %v; want not found", err)
	}
	// No temporary files are left behind.
	entries, _ := filepath.Glob(filepath.Join(filepath.Dir(svc.Path(v2)), ".*"))
	if len(entries) != 0 {
		t.Errorf("leftovers: %v", entries)
	}
	if err := svc.Remove(ctx, "dm_typed.v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(svc.Path(v2)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("snapshot file after Remove: %v", err)
	}
}

func TestUploadErrors(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, openStore(t))
	for _, tc := range []struct{ id, name, body, want string }{
		{"bad id!", "a.csv", "a\n1\n", "mart id"},
		{"m", "a.txt", "a\n1\n", "NAME.csv"},
		{"m", "a.csv", "a\n1\n", "refresh_schedule"},
		{"m", "a.csv", "", "header"},
		{"m", "a.csv", "a,a\n1,2\n", "distinct"},
		{"m", "a.csv", "a,b\n1\n", "wrong number of fields"},
		{"m", "a.parquet", "not parquet", "Parquet"},
	} {
		sched := ""
		if tc.want == "refresh_schedule" {
			sched = "@sometimes"
		}
		_, _, _, err := svc.Upload(ctx, tc.id, tc.name, sched, strings.NewReader(tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Upload(%q, %q, %q) = %v; want an error with %q", tc.id, tc.name, tc.body, err, tc.want)
		}
	}
	if ms, _ := svc.List(ctx); len(ms) != 0 {
		t.Errorf("failed uploads left marts: %+v", ms)
	}
	if m, _, _, err := svc.Upload(ctx, "sp", "my data (1).csv", "", strings.NewReader("a\n1\n")); err != nil || m.File != "my_data__1_.csv" {
		t.Errorf("upload of a name with spaces = %+v, %v", m, err)
	}
}

func TestIris(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, openStore(t))
	f, err := os.Open("testdata/iris.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, snap, _, err := svc.Upload(ctx, "dm_f_20085_2212_142", "iris.csv", "", f)
	if err != nil {
		t.Fatal(err)
	}
	want := []datamart.Column{
		{Name: "sepal_length", Type: datamart.Float64}, {Name: "sepal_width", Type: datamart.Float64},
		{Name: "petal_length", Type: datamart.Float64}, {Name: "petal_width", Type: datamart.Float64},
		{Name: "variety", Type: datamart.String},
	}
	if d := cmp.Diff(want, snap.Columns); d != "" || snap.Rows != 150 {
		t.Errorf("rows %d, columns (-want +got):\n%s", snap.Rows, d)
	}
	got := csvOf(t, svc, snap)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 151 || lines[1] != "5.1,3.5,1.4,0.2,setosa" || lines[150] != "5.9,3,5.1,1.8,virginica" {
		t.Errorf("iris CSV: %d lines, %q ... %q", len(lines), lines[1], lines[len(lines)-1])
	}
}

func TestSQLiteSource(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, openStore(t))
	path := filepath.Join(t.TempDir(), "src.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER NOT NULL, x REAL, name TEXT, ok BOOLEAN, at DATETIME);
		INSERT INTO t VALUES (1, 1.5, 'a', 1, '2026-01-02 03:04:05'), (2, NULL, NULL, 0, NULL), (3, 3, 'c', NULL, '2026-01-03T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddSource(ctx, datamart.Source{Name: "lite", Kind: datamart.SQLite, DSN: path}); err != nil {
		t.Fatal(err)
	}
	_, snap, err := svc.Create(ctx, datamart.Mart{ID: "m", Source: "lite", Query: "SELECT id, x, name, ok, at, id * 2 AS twice FROM t ORDER BY id"})
	if err != nil {
		t.Fatal(err)
	}
	wantCols := []datamart.Column{
		{Name: "id", Type: datamart.Int64}, {Name: "x", Type: datamart.Float64, Nullable: true},
		{Name: "name", Type: datamart.String, Nullable: true}, {Name: "ok", Type: datamart.Bool, Nullable: true},
		{Name: "at", Type: datamart.Timestamp, Nullable: true}, {Name: "twice", Type: datamart.Int64},
	}
	if d := cmp.Diff(wantCols, snap.Columns); d != "" {
		t.Errorf("columns (-want +got):\n%s", d)
	}
	want := "id,x,name,ok,at,twice\n1,1.5,a,true,2026-01-02T03:04:05Z,2\n2,,,false,,4\n3,3,c,,2026-01-03T00:00:00Z,6\n"
	if got := csvOf(t, svc, snap); got != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", got, want)
	}
	if s2, created, err := svc.Refresh(ctx, "m"); err != nil || created || s2.Version != 1 {
		t.Errorf("Refresh unchanged = %+v, %v, %v", s2, created, err)
	}
	if _, err := db.Exec(`INSERT INTO t VALUES (4, 4, 'd', 1, NULL)`); err != nil {
		t.Fatal(err)
	}
	if s2, created, err := svc.Refresh(ctx, "m"); err != nil || !created || s2.Version != 2 || s2.Rows != 4 {
		t.Errorf("Refresh changed = %+v, %v, %v", s2, created, err)
	}
	// A bad query is an invalid-request error, and leaves no mart.
	if _, _, err := svc.Create(ctx, datamart.Mart{ID: "bad", Source: "lite", Query: "SELECT nope FROM t"}); posml.KindOf(err) != posml.KindInvalid {
		t.Errorf("bad query: %v; want invalid", err)
	}
	if _, _, err := svc.Get(ctx, "bad"); posml.KindOf(err) != posml.KindNotFound {
		t.Errorf("mart of a failed create: %v", err)
	}
	if err := svc.RemoveSource(ctx, "lite"); posml.KindOf(err) != posml.KindConflict {
		t.Errorf("RemoveSource(used) = %v; want conflict", err)
	}
}

func TestFilesSourceParquet(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, openStore(t))
	dir := t.TempDir()
	type row struct {
		ID    int32      `parquet:"id"`
		Score *float64   `parquet:"score,optional"`
		Name  string     `parquet:"name"`
		At    *time.Time `parquet:"at,optional,timestamp(millisecond)"`
		Ok    *bool      `parquet:"ok,optional"`
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	half, yes := 0.5, true
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(filepath.Join(dir, "sub", "r.parquet"), []row{{1, &half, "a", &at, &yes}, {2, nil, "", nil, nil}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddSource(ctx, datamart.Source{Name: "lake", Kind: datamart.Files, DSN: dir}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Create(ctx, datamart.Mart{ID: "esc", Source: "lake", File: "../x.csv"}); posml.KindOf(err) != posml.KindInvalid {
		t.Errorf("file outside the source: %v; want invalid", err)
	}
	_, snap, err := svc.Create(ctx, datamart.Mart{ID: "pq", Source: "lake", File: "sub/r.parquet"})
	if err != nil {
		t.Fatal(err)
	}
	want := "id,score,name,at,ok\n1,0.5,a,2026-01-02T03:04:05.006Z,true\n2,,,,\n"
	if got := csvOf(t, svc, snap); got != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", got, want)
	}
	if snap.Columns[3].Type != datamart.Timestamp || snap.Columns[0].Type != datamart.Int64 {
		t.Errorf("columns %+v", snap.Columns)
	}
}

func TestRefreshDue(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	now := time.Date(2026, 1, 1, 10, 30, 0, 0, time.UTC)
	svc := datamart.New(store, datamart.Config{Dir: t.TempDir(), Now: func() time.Time { return now }})
	path := filepath.Join(t.TempDir(), "src.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddSource(ctx, datamart.Source{Name: "lite", Kind: datamart.SQLite, DSN: path}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Create(ctx, datamart.Mart{ID: "m", Source: "lite", Query: "SELECT id FROM t", RefreshSchedule: "@once"}); posml.KindOf(err) != posml.KindInvalid {
		t.Errorf("@once: %v; want invalid", err)
	}
	m, _, err := svc.Create(ctx, datamart.Mart{ID: "m", Source: "lite", Query: "SELECT id FROM t", RefreshSchedule: "@hourly"})
	if err != nil {
		t.Fatal(err)
	}
	if m.NextRefresh == nil || !m.NextRefresh.Equal(time.Date(2026, 1, 1, 11, 0, 0, 0, time.UTC)) {
		t.Fatalf("NextRefresh = %v", m.NextRefresh)
	}
	if n := svc.RefreshDue(ctx); n != 0 {
		t.Errorf("RefreshDue before 11:00 = %d", n)
	}
	db.Exec(`INSERT INTO t VALUES (2)`)
	now = time.Date(2026, 1, 1, 11, 0, 1, 0, time.UTC)
	if n := svc.RefreshDue(ctx); n != 1 {
		t.Errorf("RefreshDue at 11:00:01 = %d; want 1", n)
	}
	if n := svc.RefreshDue(ctx); n != 0 {
		t.Errorf("RefreshDue again = %d; want 0 (claimed)", n)
	}
	m, snaps, _ := svc.Get(ctx, "m")
	if len(snaps) != 2 || m.NextRefresh == nil || !m.NextRefresh.Equal(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("after the refresh: %d snapshots, next %v", len(snaps), m.NextRefresh)
	}
}

// postgresURL returns a URL whose search_path is a fresh schema, dropped
// after the test; it skips the test without POSML_TEST_POSTGRES_URL.
func postgresURL(t testing.TB) (string, *sql.DB) {
	t.Helper()
	base := os.Getenv("POSML_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("POSML_TEST_POSTGRES_URL is not set")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "dm_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return u.String(), db
}

func TestPostgresSource(t *testing.T) {
	ctx := context.Background()
	dsn, db := postgresURL(t)
	if _, err := db.Exec(`CREATE TABLE t (id bigint NOT NULL, small int, x double precision, n numeric(10,2), name text, ok boolean, at timestamptz, d date);
		INSERT INTO t VALUES (1, 7, 1.5, 2.25, 'a', true, '2026-01-02 03:04:05.123456+00', '2026-01-02'), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`); err != nil {
		t.Fatal(err)
	}
	// The catalog on PostgreSQL too (its row lock, its placeholders).
	store, err := sqlstore.Open(ctx, sqlstore.Config{URL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	svc, _ := newService(t, store)
	if _, err := svc.AddSource(ctx, datamart.Source{Name: "pg", Kind: datamart.Postgres, DSN: "postgres://nobody:hunter2@127.0.0.1:1/x"}); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unreachable source: %v; want an error without the password", err)
	}
	if _, err := svc.AddSource(ctx, datamart.Source{Name: "pg", Kind: datamart.Postgres, DSN: dsn}); err != nil {
		t.Fatal(err)
	}
	_, snap, err := svc.Create(ctx, datamart.Mart{ID: "pgm", Source: "pg", Query: "SELECT * FROM t ORDER BY id"})
	if err != nil {
		t.Fatal(err)
	}
	wantCols := []datamart.Column{
		{Name: "id", Type: datamart.Int64}, {Name: "small", Type: datamart.Int64, Nullable: true},
		{Name: "x", Type: datamart.Float64, Nullable: true}, {Name: "n", Type: datamart.Float64, Nullable: true},
		{Name: "name", Type: datamart.String, Nullable: true}, {Name: "ok", Type: datamart.Bool, Nullable: true},
		{Name: "at", Type: datamart.Timestamp, Nullable: true}, {Name: "d", Type: datamart.Timestamp, Nullable: true},
	}
	if d := cmp.Diff(wantCols, snap.Columns); d != "" {
		t.Errorf("columns (-want +got):\n%s", d)
	}
	want := "id,small,x,n,name,ok,at,d\n1,7,1.5,2.25,a,true,2026-01-02T03:04:05.123456Z,2026-01-02T00:00:00Z\n2,,,,,,,\n"
	if got := csvOf(t, svc, snap); got != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", got, want)
	}
	if s2, created, err := svc.Refresh(ctx, "pgm"); err != nil || created || s2.Version != 1 {
		t.Errorf("Refresh unchanged = %+v, %v, %v", s2, created, err)
	}
	db.Exec(`UPDATE t SET name = 'b' WHERE id = 2`)
	if s2, created, err := svc.Refresh(ctx, "pgm"); err != nil || !created || s2.Version != 2 {
		t.Errorf("Refresh changed = %+v, %v, %v", s2, created, err)
	}
}

func TestEmptyMart(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, openStore(t))
	_, snap, _, err := svc.Upload(ctx, "empty", "e.csv", "", strings.NewReader("a,b\n"))
	if err != nil {
		t.Fatal(err)
	}
	if snap.Rows != 0 || len(snap.Columns) != 2 || snap.Columns[0].Type != datamart.String {
		t.Errorf("snapshot %+v", snap)
	}
	if got := csvOf(t, svc, snap); got != "a,b\n" {
		t.Errorf("CSV %q", got)
	}
}

// Concurrent refreshes of one mart get distinct versions, each file
// holding its own content.
func TestConcurrentUploads(t *testing.T) {
	stores := map[string]func(t *testing.T) datamart.Store{"sqlite": func(t *testing.T) datamart.Store { return openStore(t) }}
	if os.Getenv("POSML_TEST_POSTGRES_URL") != "" {
		stores["postgres"] = func(t *testing.T) datamart.Store {
			dsn, _ := postgresURL(t)
			s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: dsn})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			svc, _ := newService(t, open(t))
			if _, _, _, err := svc.Upload(ctx, "m", "m.csv", "", strings.NewReader("x\n0\n")); err != nil {
				t.Fatal(err)
			}
			const n = 6
			errs := make(chan error, n)
			for i := 1; i <= n; i++ {
				go func() {
					_, _, _, err := svc.Upload(ctx, "m", "m.csv", "", strings.NewReader("x\n"+strings.Repeat("1\n", i)))
					errs <- err
				}()
			}
			for range n {
				if err := <-errs; err != nil && posml.KindOf(err) != posml.KindConflict {
					t.Errorf("concurrent upload: %v", err)
				}
			}
			_, snaps, err := svc.Get(ctx, "m")
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for i, s := range snaps {
				if s.Version != len(snaps)-i || seen[s.Digest] {
					t.Errorf("snapshots %+v", snaps)
				}
				seen[s.Digest] = true
				if got := csvOf(t, svc, s); strings.Count(got, "\n")-1 != int(s.Rows) {
					t.Errorf("version %d: %d rows recorded, file %q", s.Version, s.Rows, got)
				}
			}
		})
	}
}
