package web

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/tracking"
)

// Bounds of a comparison.
const (
	minCompare = 2
	maxCompare = 10
)

type compareRow struct {
	Key    string
	Values []string
	Differ bool
}

type comparePage struct {
	Nav     string
	Runs    []tracking.Run
	Params  []compareRow
	Metrics []compareRow
	Query   string // run=…&run=… for the chart data URLs
}

// compareRunIDs reads the run query parameters: 2 to 10 distinct IDs.
func compareRunIDs(r *http.Request) ([]string, error) {
	var ids []string
	for _, id := range r.URL.Query()["run"] {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) < minCompare || len(ids) > maxCompare {
		return nil, posml.Errorf(posml.KindInvalid, "Select between 2 and 10 runs to compare.")
	}
	return ids, nil
}

func (h *handler) compare(w http.ResponseWriter, r *http.Request) error {
	ids, err := compareRunIDs(r)
	if err != nil {
		return err
	}
	data := comparePage{Nav: "experiments"}
	q := url.Values{}
	for _, id := range ids {
		run, err := h.store.GetRun(r.Context(), id)
		if err != nil {
			return err
		}
		data.Runs = append(data.Runs, run)
		q.Add("run", id)
	}
	data.Query = q.Encode()
	data.Params = compareRows(data.Runs, func(run tracking.Run) map[string]string {
		m := map[string]string{}
		for _, p := range run.Params {
			m[p.Key] = p.Value
		}
		return m
	})
	data.Metrics = compareRows(data.Runs, func(run tracking.Run) map[string]string {
		m := map[string]string{}
		for _, x := range run.Metrics {
			m[x.Key] = formatFloat(x.Value)
		}
		return m
	})
	h.render(w, r, http.StatusOK, "compare.html", data)
	return nil
}

// compareRows lines up the values of every key over the runs, sorted by
// key, marking the keys whose values differ.
func compareRows(runs []tracking.Run, values func(tracking.Run) map[string]string) []compareRow {
	maps := make([]map[string]string, len(runs))
	var keys []string
	for i, run := range runs {
		maps[i] = values(run)
		for k := range maps[i] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	rows := make([]compareRow, 0, len(keys))
	for _, k := range keys {
		row := compareRow{Key: k, Values: make([]string, len(runs))}
		for i, m := range maps {
			v, ok := m[k]
			if !ok {
				v = "—"
			}
			row.Values[i] = v
			row.Differ = row.Differ || v != row.Values[0]
		}
		rows = append(rows, row)
	}
	return rows
}

// compareSeries answers the chart data of one metric of every compared run.
func (h *handler) compareSeries(w http.ResponseWriter, r *http.Request) error {
	ids, err := compareRunIDs(r)
	if err != nil {
		return err
	}
	infos := make([]tracking.RunInfo, len(ids))
	for i, id := range ids {
		run, err := h.store.GetRun(r.Context(), id)
		if err != nil {
			return err
		}
		infos[i] = run.Info
	}
	return h.writeSeries(w, r, infos)
}
