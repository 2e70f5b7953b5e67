package datamart

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"   // registers "mysql"; ParseDSN
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	_ "modernc.org/sqlite" // registers "sqlite"
)

// rowSource yields the rows of a mart's definition, one at a time.
type rowSource interface {
	columns() []Column
	// next fills vals (one per column) with the next row, or returns
	// io.EOF. Byte slices in vals are valid until the next call.
	next(vals []parquet.Value) error
	close() error
}

// timeLayouts are the timestamp forms read from text (CSV files, text
// columns of MySQL); a time without a zone is UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

func parseTime(s string) (time.Time, bool) {
	if len(s) < 10 || s[4] != '-' {
		return time.Time{}, false
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func parseBool(s string) (bool, bool) {
	switch s {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	return false, false
}

// fromText converts a text field to a value of type t.
func fromText(t Type, s string) (parquet.Value, error) {
	switch t {
	case Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return null, fmt.Errorf("%q is not an int64", s)
		}
		return parquet.Int64Value(n), nil
	case Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return null, fmt.Errorf("%q is not a float64", s)
		}
		return parquet.DoubleValue(f), nil
	case Bool:
		b, ok := parseBool(s)
		if !ok {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return parquet.BooleanValue(n != 0), nil
			}
			return null, fmt.Errorf("%q is not a bool", s)
		}
		return parquet.BooleanValue(b), nil
	case Timestamp:
		tm, ok := parseTime(s)
		if !ok {
			return null, fmt.Errorf("%q is not a timestamp", s)
		}
		return parquet.Int64Value(tm.UnixMicro()), nil
	}
	return parquet.ByteArrayValue([]byte(s)), nil
}

// --- CSV files

// csvSource reads a CSV file with a header row. Types are inferred by a
// first pass over the whole file: int64, else float64, else bool, else
// timestamp, else string; an empty field is a null.
type csvSource struct {
	f    *os.File
	r    *csv.Reader
	cols []Column
	line int
}

func openCSV(path string) (*csvSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	cols, err := inferCSV(f)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	s := &csvSource{f: f, r: newCSVReader(f), cols: cols}
	if _, err := s.r.Read(); err != nil { // the header
		f.Close()
		return nil, err
	}
	s.line = 1
	return s, nil
}

func newCSVReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	return cr
}

func inferCSV(f io.Reader) ([]Column, error) {
	r := newCSVReader(f)
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("empty CSV file: want a header row")
	}
	if err != nil {
		return nil, fmt.Errorf("CSV: %w", err)
	}
	type cand struct{ seen, isInt, isFloat, isBool, isTime bool }
	cands := make([]cand, len(header))
	cols := make([]Column, len(header))
	for i, h := range header {
		h = strings.TrimPrefix(h, "\ufeff")
		cols[i] = Column{Name: h}
		cands[i] = cand{isInt: true, isFloat: true, isBool: true, isTime: true}
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("CSV: %w", err)
		}
		for i, v := range rec {
			c := &cands[i]
			if v == "" {
				continue
			}
			c.seen = true
			if c.isInt {
				if _, err := strconv.ParseInt(v, 10, 64); err != nil {
					c.isInt = false
				}
			}
			if c.isFloat && !c.isInt {
				if _, err := strconv.ParseFloat(v, 64); err != nil && !errors.Is(err, strconv.ErrRange) {
					c.isFloat = false
				}
			}
			if c.isBool {
				_, c.isBool = parseBool(v)
			}
			if c.isTime {
				_, c.isTime = parseTime(v)
			}
		}
	}
	for i, c := range cands {
		switch {
		case !c.seen:
			cols[i].Type = String
		case c.isInt:
			cols[i].Type = Int64
		case c.isFloat:
			cols[i].Type = Float64
		case c.isBool:
			cols[i].Type = Bool
		case c.isTime:
			cols[i].Type = Timestamp
		default:
			cols[i].Type = String
		}
	}
	return cols, nil
}

func (s *csvSource) columns() []Column { return s.cols }

func (s *csvSource) next(vals []parquet.Value) error {
	rec, err := s.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return err
		}
		return fmt.Errorf("CSV: %w", err)
	}
	s.line++
	for i, v := range rec {
		if v == "" {
			vals[i] = null
			continue
		}
		if vals[i], err = fromText(s.cols[i].Type, v); err != nil {
			return fmt.Errorf("CSV line %d, column %s: %w", s.line, s.cols[i].Name, err)
		}
	}
	return nil
}

func (s *csvSource) close() error { return s.f.Close() }

// --- Parquet files

// parquetSource reads a flat Parquet file (as pandas or pyarrow write
// them): booleans, integers, floats, strings and timestamps.
type parquetSource struct {
	r     *RowReader
	cols  []Column
	idx   []int   // file column of each column
	scale []int64 // timestamps: divide by this for microseconds; negative: multiply
	date  []bool
}

func openParquet(path string) (*parquetSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("Parquet file: %w", err)
	}
	s := &parquetSource{r: &RowReader{f: f, file: pf, buf: make([]parquet.Row, batchRows)}}
	for i, fl := range pf.Schema().Fields() {
		if !fl.Leaf() || fl.Repeated() {
			f.Close()
			return nil, fmt.Errorf("Parquet file: column %s is nested or repeated; only flat files can be marts", fl.Name())
		}
		if fl.Name() == "__index_level_0__" {
			continue
		}
		c := Column{Name: fl.Name()}
		t := fl.Type()
		lt := t.LogicalType()
		if lt == nil {
			lt = &format.LogicalType{}
		}
		var scale int64 = 1
		date := false
		switch t.Kind() {
		case parquet.Boolean:
			c.Type = Bool
		case parquet.Int32, parquet.Int64:
			c.Type = Int64
			{
				switch x := lt.Value.(type) {
				case *format.TimestampType:
					c.Type = Timestamp
					switch x.Unit.Value.(type) {
					case *format.MilliSeconds:
						scale = -1000
					case *format.NanoSeconds:
						scale = 1000
					}
				case *format.DateType:
					c.Type, date = Timestamp, true
				case *format.DecimalType:
					c.Type, scale = Float64, -int64(x.Scale)
				}
			}
		case parquet.Float, parquet.Double:
			c.Type = Float64
		case parquet.ByteArray, parquet.FixedLenByteArray:
			c.Type = String
			if _, ok := lt.Value.(*format.DecimalType); ok {
				f.Close()
				return nil, fmt.Errorf("Parquet file: column %s: byte-array decimals are not supported; cast to double", c.Name)
			}
		default:
			f.Close()
			return nil, fmt.Errorf("Parquet file: column %s has unsupported type %s", c.Name, t)
		}
		s.cols = append(s.cols, c)
		s.idx = append(s.idx, i)
		s.scale = append(s.scale, scale)
		s.date = append(s.date, date)
	}
	return s, nil
}

func (s *parquetSource) columns() []Column { return s.cols }

func (s *parquetSource) next(vals []parquet.Value) error {
	row, err := s.r.Next()
	if err != nil {
		return err
	}
	for i, c := range s.cols {
		v := row[s.idx[i]]
		if v.IsNull() {
			vals[i] = null
			continue
		}
		switch c.Type {
		case Bool:
			vals[i] = parquet.BooleanValue(v.Boolean())
		case Int64:
			vals[i] = parquet.Int64Value(intOf(v))
		case Float64:
			switch v.Kind() {
			case parquet.Float:
				vals[i] = parquet.DoubleValue(float64(v.Float()))
			case parquet.Double:
				vals[i] = parquet.DoubleValue(v.Double())
			default: // an integer decimal: divide by 10^scale
				vals[i] = parquet.DoubleValue(float64(intOf(v)) / math.Pow10(int(-s.scale[i])))
			}
		case Timestamp:
			n := intOf(v)
			switch sc := s.scale[i]; {
			case s.date[i]:
				n *= 86400 * 1e6
			case sc > 1:
				n /= sc
			case sc < 0:
				n *= -sc
			}
			vals[i] = parquet.Int64Value(n)
		default: // copied: the reader reuses its buffers
			vals[i] = parquet.ByteArrayValue(append([]byte(nil), v.ByteArray()...))
		}
	}
	return nil
}

func intOf(v parquet.Value) int64 {
	if v.Kind() == parquet.Int32 {
		return int64(v.Int32())
	}
	return v.Int64()
}

func (s *parquetSource) close() error { return s.r.Close() }

// --- SQL sources

// sqlSource runs a query and reads its rows. Column types come from the
// driver's type names; a column the driver cannot type (an SQLite
// expression) takes the type of its first non-null value in the first row.
type sqlSource struct {
	db      *sql.DB
	rows    *sql.Rows
	cols    []Column
	raw     []any
	ptrs    []any
	pending bool // raw holds the first row, not yet returned
	n       int64
	// zeroDates: MySQL's zero dates ("0000-00-00 00:00:00", allowed
	// unless sql_mode has NO_ZERO_DATE) are nulls.
	zeroDates bool
}

func driverOf(k Kind) (string, error) {
	switch k {
	case Postgres:
		return "pgx", nil
	case MySQL:
		return "mysql", nil
	case SQLite:
		return "sqlite", nil
	}
	return "", fmt.Errorf("a %s source has no SQL", k)
}

func openSQL(ctx context.Context, src Source, query string) (*sqlSource, error) {
	drv, err := driverOf(src.Kind)
	if err != nil {
		return nil, err
	}
	dsn := src.DSN
	if src.Kind == SQLite {
		dsn = strings.TrimPrefix(dsn, "sqlite://")
		if _, err := os.Stat(dsn); err != nil {
			return nil, fmt.Errorf("sqlite source %s: %w", src.Name, err)
		}
		dsn += "?_pragma=query_only(1)&_pragma=busy_timeout(10000)"
	}
	if src.Kind == MySQL {
		if dsn, err = mysqlDSN(dsn); err != nil {
			return nil, fmt.Errorf("source %s: cannot open (check its DSN)", src.Name)
		}
	}
	db, err := sql.Open(drv, dsn)
	if err != nil {
		return nil, fmt.Errorf("source %s: cannot open (check its DSN)", src.Name)
	}
	db.SetMaxOpenConns(1)
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		db.Close()
		if src.Kind == MySQL { // its DSN rewritten: callers redact src.DSN only
			err = errors.New(redact(err.Error(), dsn))
		}
		return nil, fmt.Errorf("source %s: query: %w", src.Name, err)
	}
	s := &sqlSource{db: db, rows: rows, zeroDates: src.Kind == MySQL}
	if err := s.describe(); err != nil {
		s.close()
		return nil, fmt.Errorf("source %s: %w", src.Name, err)
	}
	return s, nil
}

// mysqlDSN sets a MySQL DSN's session time zone to UTC: the server gives
// TIMESTAMP values as text in the session's zone (the server's, unless the
// DSN sets one), which is read as UTC; and times read with parseTime=true
// are taken as UTC, as a DATETIME without a zone is everywhere here.
func mysqlDSN(dsn string) (string, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", err
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.Loc = time.UTC
	return cfg.FormatDSN(), nil
}

func sqlTypeOf(name string) (Type, bool) {
	n := strings.ToUpper(strings.TrimSpace(name))
	n = strings.TrimPrefix(n, "UNSIGNED ")
	if i := strings.IndexByte(n, '('); i >= 0 {
		n = strings.TrimSpace(n[:i])
	}
	switch n {
	case "INT2", "INT4", "INT8", "INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "MEDIUMINT", "SERIAL", "BIGSERIAL", "YEAR":
		return Int64, true
	case "FLOAT4", "FLOAT8", "FLOAT", "REAL", "DOUBLE", "DOUBLE PRECISION", "NUMERIC", "DECIMAL":
		return Float64, true
	case "BOOL", "BOOLEAN":
		return Bool, true
	case "TIMESTAMP", "TIMESTAMPTZ", "DATE", "DATETIME":
		return Timestamp, true
	case "":
		return "", false
	}
	return String, true
}

func (s *sqlSource) describe() error {
	cts, err := s.rows.ColumnTypes()
	if err != nil {
		return err
	}
	s.cols = make([]Column, len(cts))
	s.raw = make([]any, len(cts))
	s.ptrs = make([]any, len(cts))
	unknown := false
	for i, ct := range cts {
		s.ptrs[i] = &s.raw[i]
		t, ok := sqlTypeOf(ct.DatabaseTypeName())
		unknown = unknown || !ok
		s.cols[i] = Column{Name: ct.Name(), Type: t}
	}
	if !unknown {
		return nil
	}
	if s.rows.Next() {
		if err := s.rows.Scan(s.ptrs...); err != nil {
			return err
		}
		s.pending = true
	} else if err := s.rows.Err(); err != nil {
		return err
	}
	for i := range s.cols {
		if s.cols[i].Type != "" {
			continue
		}
		s.cols[i].Type = String
		switch s.raw[i].(type) {
		case int64, int32, int:
			s.cols[i].Type = Int64
		case float64, float32:
			s.cols[i].Type = Float64
		case bool:
			s.cols[i].Type = Bool
		case time.Time:
			s.cols[i].Type = Timestamp
		}
	}
	return nil
}

func (s *sqlSource) columns() []Column { return s.cols }

func (s *sqlSource) next(vals []parquet.Value) error {
	if !s.pending {
		if !s.rows.Next() {
			if err := s.rows.Err(); err != nil {
				return err
			}
			return io.EOF
		}
		if err := s.rows.Scan(s.ptrs...); err != nil {
			return err
		}
	}
	s.pending = false
	s.n++
	for i, v := range s.raw {
		if s.zeroDates && s.cols[i].Type == Timestamp && isZeroDate(v) {
			vals[i] = null
			continue
		}
		var err error
		if vals[i], err = fromDriver(s.cols[i].Type, v); err != nil {
			return fmt.Errorf("row %d, column %s: %w", s.n, s.cols[i].Name, err)
		}
	}
	return nil
}

// isZeroDate tells a MySQL zero date: as text, or as go-sql-driver gives it
// with parseTime=true.
func isZeroDate(v any) bool {
	switch x := v.(type) {
	case []byte:
		return len(x) >= 10 && string(x[:10]) == "0000-00-00"
	case time.Time:
		return x.IsZero()
	}
	return false
}

// fromDriver converts a database/sql driver value to a value of type t.
func fromDriver(t Type, v any) (parquet.Value, error) {
	switch x := v.(type) {
	case nil:
		return null, nil
	case []byte:
		if t == String {
			return parquet.ByteArrayValue(x), nil
		}
		return fromText(t, string(x))
	case string:
		if t == String {
			return parquet.ByteArrayValue([]byte(x)), nil
		}
		return fromText(t, x)
	case int64:
		switch t {
		case Int64:
			return parquet.Int64Value(x), nil
		case Float64:
			return parquet.DoubleValue(float64(x)), nil
		case Bool:
			return parquet.BooleanValue(x != 0), nil
		case String:
			return parquet.ByteArrayValue(strconv.AppendInt(nil, x, 10)), nil
		}
	case int32:
		return fromDriver(t, int64(x))
	case int:
		return fromDriver(t, int64(x))
	case uint64:
		if x > math.MaxInt64 && t == Int64 {
			return null, fmt.Errorf("%d overflows int64", x)
		}
		return fromDriver(t, int64(x))
	case float64:
		switch t {
		case Float64:
			return parquet.DoubleValue(x), nil
		case Int64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
				return parquet.Int64Value(int64(x)), nil
			}
		case String:
			return parquet.ByteArrayValue(strconv.AppendFloat(nil, x, 'g', -1, 64)), nil
		}
	case float32:
		return fromDriver(t, float64(x))
	case bool:
		switch t {
		case Bool:
			return parquet.BooleanValue(x), nil
		case Int64:
			if x {
				return parquet.Int64Value(1), nil
			}
			return parquet.Int64Value(0), nil
		case String:
			return parquet.ByteArrayValue(strconv.AppendBool(nil, x)), nil
		}
	case time.Time:
		switch t {
		case Timestamp:
			return parquet.Int64Value(x.UnixMicro()), nil
		case String:
			return parquet.ByteArrayValue([]byte(x.UTC().Format(time.RFC3339Nano))), nil
		}
	default:
		if t == String {
			return parquet.ByteArrayValue(fmt.Append(nil, x)), nil
		}
	}
	return null, fmt.Errorf("cannot read %T %v as %s", v, v, t)
}

func (s *sqlSource) close() error {
	err := s.rows.Close()
	return errors.Join(err, s.db.Close())
}
