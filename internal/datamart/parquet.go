package datamart

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"reflect"

	"github.com/klauspost/compress/s2"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/encoding"
)

// Snapshots are flat Parquet files: one optional column per Column, in the
// mart's column order, row groups of at most rowGroupRows rows (so a
// writer holds one row group in memory at most), Snappy-compressed. The
// schema (with types) is also stored in the key-value metadata under
// schemaKey.

const (
	schemaKey    = "posml.schema"
	rowGroupRows = 64 * 1024
	batchRows    = 256
)

// group is a Parquet group whose fields keep their order (parquet.Group, a
// map, sorts them by name).
type group []*field

type field struct {
	parquet.Node
	name string
}

func (f *field) Name() string                           { return f.name }
func (f *field) Value(base reflect.Value) reflect.Value { return reflect.Value{} }

func (g group) ID() int                     { return 0 }
func (g group) String() string              { return parquet.Group{}.String() }
func (g group) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g group) Optional() bool              { return false }
func (g group) Repeated() bool              { return false }
func (g group) Required() bool              { return true }
func (g group) Leaf() bool                  { return false }
func (g group) Encoding() encoding.Encoding { return nil }
func (g group) Compression() compress.Codec { return nil }
func (g group) GoType() reflect.Type        { return reflect.TypeFor[map[string]any]() }
func (g group) Fields() []parquet.Field {
	out := make([]parquet.Field, len(g))
	for i, f := range g {
		out[i] = f
	}
	return out
}

func leafOf(t Type) parquet.Node {
	switch t {
	case Int64:
		return parquet.Int(64)
	case Float64:
		return parquet.Leaf(parquet.DoubleType)
	case Bool:
		return parquet.Leaf(parquet.BooleanType)
	case Timestamp:
		return parquet.Timestamp(parquet.Microsecond)
	default:
		return parquet.String()
	}
}

func schemaOf(cols []Column) *parquet.Schema {
	g := make(group, len(cols))
	for i, c := range cols {
		g[i] = &field{Node: parquet.Optional(leafOf(c.Type)), name: c.Name}
	}
	return parquet.NewSchema("mart", g)
}

// Value constructors: a row is a []parquet.Value in column order, a null
// being the zero Value.

// null is the null value.
var null = parquet.NullValue()

// snapshotWriter streams rows into a Parquet file, hashing the content as
// it goes and noting which columns hold nulls.
type snapshotWriter struct {
	cols  []Column
	f     *os.File
	bw    *bufio.Writer
	pw    *parquet.Writer
	sum   hash.Hash
	h     *bufio.Writer // buffers small writes to sum
	rows  int64
	batch []parquet.Row
	n     int
	buf   [9]byte
	nulls []bool
}

func newSnapshotWriter(path string, cols []Column) (*snapshotWriter, error) {
	if len(cols) == 0 {
		return nil, errors.New("no columns")
	}
	seen := map[string]bool{}
	for _, c := range cols {
		if c.Name == "" || seen[c.Name] {
			return nil, fmt.Errorf("column names must be distinct and not empty: %q", c.Name)
		}
		seen[c.Name] = true
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	sj, _ := json.Marshal(cols)
	sum := sha256.New()
	w := &snapshotWriter{cols: cols, f: f, bw: bufio.NewWriterSize(f, 256<<10), sum: sum, h: bufio.NewWriterSize(sum, 64<<10), nulls: make([]bool, len(cols))}
	w.pw = parquet.NewWriter(w.bw, schemaOf(cols),
		parquet.Compression(&fastSnappy{}),
		parquet.MaxRowsPerRowGroup(rowGroupRows),
		parquet.KeyValueMetadata(schemaKey, string(sj)),
		parquet.CreatedBy("posml", "", ""))
	// The digest covers names and types, then the values.
	for _, c := range cols {
		w.hashBytes([]byte(c.Name))
		w.hashBytes([]byte(c.Type))
	}
	w.batch = make([]parquet.Row, batchRows)
	for i := range w.batch {
		w.batch[i] = make(parquet.Row, len(cols))
	}
	return w, nil
}

func (w *snapshotWriter) hashBytes(b []byte) {
	n := binary.PutUvarint(w.buf[:], uint64(len(b)))
	w.h.Write(w.buf[:n])
	w.h.Write(b)
}

// write appends one row; vals[i] is column i's value (null or of the
// column's physical type). The values' byte slices are kept until the
// batch is written: the caller must not reuse them.
func (w *snapshotWriter) write(vals []parquet.Value) error {
	row := w.batch[w.n]
	for i, v := range vals {
		if v.IsNull() {
			w.nulls[i] = true
			w.h.WriteByte(0)
			row[i] = parquet.NullValue().Level(0, 0, i)
			continue
		}
		switch w.cols[i].Type {
		case Int64, Timestamp:
			w.buf[0] = 1
			binary.LittleEndian.PutUint64(w.buf[1:], uint64(v.Int64()))
			w.h.Write(w.buf[:9])
		case Float64:
			w.buf[0] = 1
			binary.LittleEndian.PutUint64(w.buf[1:], math.Float64bits(v.Double()))
			w.h.Write(w.buf[:9])
		case Bool:
			w.buf[0], w.buf[1] = 1, 0
			if v.Boolean() {
				w.buf[1] = 1
			}
			w.h.Write(w.buf[:2])
		default:
			w.h.WriteByte(1)
			w.hashBytes(v.ByteArray())
		}
		row[i] = v.Level(0, 1, i)
	}
	w.rows++
	w.n++
	if w.n == len(w.batch) {
		return w.flush()
	}
	return nil
}

func (w *snapshotWriter) flush() error {
	if w.n == 0 {
		return nil
	}
	_, err := w.pw.WriteRows(w.batch[:w.n])
	w.n = 0
	return err
}

// finish completes the file and returns its columns (with Nullable set
// where a null was written), size and digest.
func (w *snapshotWriter) finish() (cols []Column, size int64, digest string, err error) {
	if err := w.flush(); err != nil {
		w.abort()
		return nil, 0, "", err
	}
	cols = make([]Column, len(w.cols))
	for i, c := range w.cols {
		c.Nullable = w.nulls[i]
		cols[i] = c
	}
	sj, _ := json.Marshal(cols)
	w.pw.SetKeyValueMetadata(schemaKey, string(sj))
	err = w.pw.Close()
	if err == nil {
		err = w.bw.Flush()
	}
	if err == nil {
		err = w.f.Sync()
	}
	if err != nil {
		w.abort()
		return nil, 0, "", err
	}
	st, err := w.f.Stat()
	if err == nil {
		err = w.f.Close()
	}
	if err != nil {
		os.Remove(w.f.Name())
		return nil, 0, "", err
	}
	w.h.Flush()
	return cols, st.Size(), hex.EncodeToString(w.sum.Sum(nil)), nil
}

// abort closes and removes the file.
func (w *snapshotWriter) abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

// RowReader reads a snapshot file row by row.
type RowReader struct {
	f    *os.File
	file *parquet.File
	cols []Column
	rg   int
	rows parquet.Rows
	buf  []parquet.Row
	n, i int
	done bool
}

// openSnapshot opens a snapshot file.
func openSnapshot(path string) (*RowReader, error) {
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
		return nil, fmt.Errorf("read snapshot %s: %w", path, err)
	}
	r := &RowReader{f: f, file: pf, buf: make([]parquet.Row, batchRows)}
	sj, ok := pf.Lookup(schemaKey)
	if !ok || json.Unmarshal([]byte(sj), &r.cols) != nil {
		f.Close()
		return nil, fmt.Errorf("read snapshot %s: no %s metadata", path, schemaKey)
	}
	return r, nil
}

// Columns returns the snapshot's columns.
func (r *RowReader) Columns() []Column { return r.cols }

// Next returns the next row (valid until the next call), or io.EOF.
func (r *RowReader) Next() ([]parquet.Value, error) {
	for r.i >= r.n {
		if r.rows != nil && r.done {
			r.rows.Close()
			r.rows = nil
		}
		if r.rows == nil {
			groups := r.file.RowGroups()
			if r.rg >= len(groups) {
				return nil, io.EOF
			}
			r.rows, r.done = groups[r.rg].Rows(), false
			r.rg++
		}
		n, err := r.rows.ReadRows(r.buf)
		r.n, r.i = n, 0
		if errors.Is(err, io.EOF) {
			r.done = true
		} else if err != nil {
			return nil, err
		}
	}
	row := r.buf[r.i]
	r.i++
	return row, nil
}

// Close closes the file.
func (r *RowReader) Close() error {
	if r.rows != nil {
		r.rows.Close()
	}
	return r.f.Close()
}

// fastSnappy is Snappy compression at s2's fastest Snappy-compatible level
// (parquet-go's codec uses the slower "better" level): materialising is
// bounded by CPU, and the files stay readable by any Parquet reader.
type fastSnappy struct{ snappy.Codec }

func (*fastSnappy) Encode(dst, src []byte) ([]byte, error) {
	return s2.EncodeSnappy(dst[:cap(dst)], src), nil
}
