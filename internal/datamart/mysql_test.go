package datamart_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/google/go-cmp/cmp"

	"github.com/posml/posml/internal/datamart"
)

// mysqlTable returns the DSN of POSML_TEST_MYSQL_URL (a go-sql-driver DSN,
// the form a mysql source takes; scripts/mysql.sh starts a server and
// prints it), a connection to it, and a fresh table name, dropped after
// the test; it skips the test without POSML_TEST_MYSQL_URL.
func mysqlTable(t testing.TB) (string, *sql.DB, string) {
	t.Helper()
	dsn := os.Getenv("POSML_TEST_MYSQL_URL")
	if dsn == "" {
		t.Skip(`POSML_TEST_MYSQL_URL is not set (a go-sql-driver DSN such as user:pass@tcp(127.0.0.1:53306)/posml_test; eval "$(scripts/mysql.sh)" starts a MariaDB server and sets it)`)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("POSML_TEST_MYSQL_URL: %v", err)
	}
	// The test's own session writes in UTC whatever the server's zone.
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var b [6]byte
	rand.Read(b[:])
	table := "dm_" + hex.EncodeToString(b[:])
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + table) })
	return dsn, db, table
}

func TestMySQLSource(t *testing.T) {
	ctx := context.Background()
	dsn, db, table := mysqlTable(t)
	if _, err := db.Exec(`CREATE TABLE ` + table + ` (
		id BIGINT NOT NULL PRIMARY KEY,
		small SMALLINT,
		big BIGINT UNSIGNED,
		x DOUBLE,
		f FLOAT,
		n DECIMAL(12,3),
		name VARCHAR(40),
		body TEXT,
		ok BOOLEAN,
		dt DATETIME(6),
		ts TIMESTAMP(3) NULL,
		d DATE
	) DEFAULT CHARSET=utf8mb4`); err != nil {
		t.Fatal(err)
	}
	// Row 4: zero dates (MariaDB's default sql_mode allows them) are nulls.
	if _, err := db.Exec(`INSERT INTO ` + table + ` VALUES
		(1, -7, 18446744073709551, 1.5, 0.25, -12345.678, 'héllo, "w"', 'line1\nline2', TRUE, '2026-01-02 03:04:05.123456', '2026-01-02 03:04:05.5', '2026-01-02'),
		(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
		(3, 32767, 0, -1e300, -2, 0.001, '', '', FALSE, '1999-12-31 23:59:59', '2038-01-19 03:14:07', '1970-01-01'),
		(4, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00')`); err != nil {
		t.Fatal(err)
	}
	store := openStore(t)
	svc, _ := newService(t, store)
	bad := "posml:hunter2@tcp(127.0.0.1:1)/x?timeout=2s"
	if _, err := svc.AddSource(ctx, datamart.Source{Name: "my", Kind: datamart.MySQL, DSN: bad}); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unreachable source: %v; want an error without the password", err)
	}
	// The source's session in another zone than UTC (as a server whose
	// zone is not UTC gives it): TIMESTAMP values are instants all the same.
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+05:30'"
	if _, err := svc.AddSource(ctx, datamart.Source{Name: "my", Kind: datamart.MySQL, DSN: cfg.FormatDSN()}); err != nil {
		t.Fatal(err)
	}
	_, snap, err := svc.Create(ctx, datamart.Mart{ID: "mym", Source: "my", Query: "SELECT * FROM " + table + " ORDER BY id"})
	if err != nil {
		t.Fatal(err)
	}
	wantCols := []datamart.Column{
		{Name: "id", Type: datamart.Int64},
		{Name: "small", Type: datamart.Int64, Nullable: true},
		{Name: "big", Type: datamart.Int64, Nullable: true},
		{Name: "x", Type: datamart.Float64, Nullable: true},
		{Name: "f", Type: datamart.Float64, Nullable: true},
		{Name: "n", Type: datamart.Float64, Nullable: true},
		{Name: "name", Type: datamart.String, Nullable: true},
		{Name: "body", Type: datamart.String, Nullable: true},
		// MySQL has no boolean on the wire: BOOLEAN is TINYINT(1), and
		// go-sql-driver does not give the display width; 1 and 0.
		{Name: "ok", Type: datamart.Int64, Nullable: true},
		{Name: "dt", Type: datamart.Timestamp, Nullable: true},
		{Name: "ts", Type: datamart.Timestamp, Nullable: true},
		{Name: "d", Type: datamart.Timestamp, Nullable: true},
	}
	if d := cmp.Diff(wantCols, snap.Columns); d != "" {
		t.Errorf("columns (-want +got):\n%s", d)
	}
	if snap.Rows != 4 || snap.Version != 1 {
		t.Errorf("snapshot: %d rows, version %d; want 4 rows, version 1", snap.Rows, snap.Version)
	}
	want := "id,small,big,x,f,n,name,body,ok,dt,ts,d\n" +
		"1,-7,18446744073709551,1.5,0.25,-12345.678,\"héllo, \"\"w\"\"\",\"line1\nline2\",1,2026-01-02T03:04:05.123456Z,2026-01-02T03:04:05.5Z,2026-01-02T00:00:00Z\n" +
		"2,,,,,,,,,,,\n" +
		"3,32767,0,-1e+300,-2,0.001,,,0,1999-12-31T23:59:59Z,2038-01-19T03:14:07Z,1970-01-01T00:00:00Z\n" +
		"4,0,,,,,,,,,,\n"
	if got := csvOf(t, svc, snap); got != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", got, want)
	}

	// Nulls and typed values, row by row, as the snapshot holds them (CSV
	// cannot tell an empty string from a null).
	r, err := svc.Open(snap)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var vals []string
		for i, v := range row {
			switch {
			case v.IsNull():
				vals = append(vals, "NULL")
			case snap.Columns[i].Type == datamart.Timestamp:
				vals = append(vals, time.UnixMicro(v.Int64()).UTC().Format(time.RFC3339Nano))
			default:
				vals = append(vals, v.String())
			}
		}
		rows = append(rows, vals)
	}
	r.Close()
	if len(rows) != 4 {
		t.Fatalf("read %d rows; want 4", len(rows))
	}
	for i, v := range rows[1] {
		if i > 0 && v != "NULL" {
			t.Errorf("row 2, column %s = %s; want NULL", snap.Columns[i].Name, v)
		}
	}
	for i, v := range rows[3] {
		if i > 1 && v != "NULL" {
			t.Errorf("row 4, column %s = %s; want NULL", snap.Columns[i].Name, v)
		}
	}
	if rows[2][6] != "" || rows[2][7] != "" {
		t.Errorf("row 3: empty strings read as %q, %q", rows[2][6], rows[2][7])
	}

	// Identical content: the same version; a change: a new one.
	if s2, created, err := svc.Refresh(ctx, "mym"); err != nil || created || s2.Version != 1 || s2.Digest != snap.Digest {
		t.Errorf("Refresh unchanged = %+v, %v, %v", s2, created, err)
	}
	if _, s2, err := svc.Create(ctx, datamart.Mart{ID: "mym2", Source: "my", Query: "SELECT * FROM " + table + " ORDER BY id"}); err != nil || s2.Digest != snap.Digest {
		t.Errorf("the same query in another mart: digest %s, %v; want %s", s2.Digest, err, snap.Digest)
	}
	// With parseTime (times as time.Time, in loc): the same content.
	cfg.ParseTime = true
	if cfg.Loc, err = time.LoadLocation("America/New_York"); err != nil {
		cfg.Loc = time.Local
	}
	if _, err := svc.AddSource(ctx, datamart.Source{Name: "my-pt", Kind: datamart.MySQL, DSN: cfg.FormatDSN()}); err != nil {
		t.Fatal(err)
	}
	if _, s2, err := svc.Create(ctx, datamart.Mart{ID: "mym3", Source: "my-pt", Query: "SELECT * FROM " + table + " ORDER BY id"}); err != nil || s2.Digest != snap.Digest {
		t.Errorf("parseTime=true: digest %s, %v; want %s", s2.Digest, err, snap.Digest)
		if err == nil {
			t.Logf("CSV:\n%s", csvOf(t, svc, s2))
		}
	}
	if _, err := db.Exec(`UPDATE ` + table + ` SET name = 'b' WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	if s2, created, err := svc.Refresh(ctx, "mym"); err != nil || !created || s2.Version != 2 || s2.Rows != 4 {
		t.Errorf("Refresh changed = %+v, %v, %v", s2, created, err)
	}
}
