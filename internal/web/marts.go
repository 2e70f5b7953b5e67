package web

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/datamart"
)

// Marts is the mart catalog the marts page reads (*datamart.Service).
type Marts interface {
	List(ctx context.Context) ([]datamart.Mart, error)
	Get(ctx context.Context, id string) (datamart.Mart, []datamart.Snapshot, error)
	Open(snap datamart.Snapshot) (*datamart.RowReader, error)
}

// previewRows is how many rows of a snapshot the mart page shows.
const previewRows = 20

type martsPage struct {
	Nav   string
	Marts []martRow
}

type martRow struct {
	datamart.Mart
	Latest    *datamart.Snapshot
	Snapshots int
}

func (h *handler) martList(w http.ResponseWriter, r *http.Request) error {
	ms, err := h.marts.List(r.Context())
	if err != nil {
		return err
	}
	data := martsPage{Nav: "marts"}
	for _, m := range ms {
		row := martRow{Mart: m}
		_, snaps, err := h.marts.Get(r.Context(), m.ID)
		if err != nil {
			return err
		}
		if row.Snapshots = len(snaps); len(snaps) > 0 {
			row.Latest = &snaps[0]
		}
		data.Marts = append(data.Marts, row)
	}
	h.render(w, r, http.StatusOK, "marts.html", data)
	return nil
}

type martPage struct {
	Nav       string
	Mart      datamart.Mart
	Snapshots []datamart.Snapshot
	Shown     *datamart.Snapshot
	Rows      [][]string
	Nulls     [][]bool
	Numeric   []bool // per column: right-aligned
}

func (h *handler) mart(w http.ResponseWriter, r *http.Request) error {
	m, snaps, err := h.marts.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	data := martPage{Nav: "marts", Mart: m, Snapshots: snaps}
	want := 0
	if s := r.URL.Query().Get("version"); s != "" {
		if want, err = strconv.Atoi(s); err != nil || want < 1 {
			return posml.Errorf(posml.KindInvalid, "version="+s+": want a snapshot version from 1.")
		}
	}
	for i := range snaps {
		if want == 0 || snaps[i].Version == want {
			data.Shown = &snaps[i]
			break
		}
	}
	if want != 0 && data.Shown == nil {
		return posml.Errorf(posml.KindNotFound, "Mart "+m.ID+" has no version "+strconv.Itoa(want)+".")
	}
	if data.Shown != nil {
		for _, c := range data.Shown.Columns {
			data.Numeric = append(data.Numeric, c.Type == datamart.Int64 || c.Type == datamart.Float64)
		}
		if data.Rows, data.Nulls, err = h.previewSnapshot(*data.Shown); err != nil {
			return err
		}
	}
	h.render(w, r, http.StatusOK, "mart.html", data)
	return nil
}

// previewSnapshot reads the first rows of a snapshot as text.
func (h *handler) previewSnapshot(snap datamart.Snapshot) ([][]string, [][]bool, error) {
	rr, err := h.marts.Open(snap)
	if err != nil {
		return nil, nil, err
	}
	defer rr.Close()
	cols := rr.Columns()
	var rows [][]string
	var nulls [][]bool
	for len(rows) < previewRows {
		row, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		rec, null := make([]string, len(cols)), make([]bool, len(cols))
		for i, c := range cols {
			v := row[i]
			if v.IsNull() {
				rec[i], null[i] = "null", true
				continue
			}
			switch c.Type {
			case datamart.Int64:
				rec[i] = strconv.FormatInt(v.Int64(), 10)
			case datamart.Float64:
				f := v.Double()
				if math.IsNaN(f) || math.IsInf(f, 0) {
					rec[i] = formatFloat(f)
				} else {
					rec[i] = strconv.FormatFloat(f, 'g', -1, 64)
				}
			case datamart.Bool:
				rec[i] = strconv.FormatBool(v.Boolean())
			case datamart.Timestamp:
				rec[i] = time.UnixMicro(v.Int64()).UTC().Format(time.RFC3339Nano)
			default:
				rec[i] = string(v.ByteArray())
			}
		}
		rows, nulls = append(rows, rec), append(nulls, null)
	}
	return rows, nulls, nil
}
