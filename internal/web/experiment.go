package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/search"
	"github.com/posml/posml/internal/sqlstore"
	"github.com/posml/posml/internal/tracking"
)

// Page sizes of the tables.
const (
	experimentsPerPage = 100
	defaultRunsPerPage = 50
	maxRunsPerPage     = 200
	defaultMetricCols  = 4
	defaultParamCols   = 3
)

// pager is the state of a paginated table.
type pager struct {
	Page      int // 1-based
	First     int // row number of the first row shown (1-based); 0 when empty
	Last      int
	PrevURL   string // "" on the first page
	NextURL   string // "" on the last page
	PageCount int    // 0 when unknown
}

func newPager(page, size, rows int, more bool, link func(page int) string) pager {
	p := pager{Page: page}
	if rows > 0 {
		p.First = (page-1)*size + 1
		p.Last = p.First + rows - 1
	}
	if page > 1 {
		p.PrevURL = link(page - 1)
	}
	if more {
		p.NextURL = link(page + 1)
	}
	return p
}

// intParam reads a positive integer query parameter, def when absent or bad.
func intParam(q url.Values, name string, def, max int) int {
	n, err := strconv.Atoi(q.Get(name))
	if err != nil || n < 1 {
		return def
	}
	return min(n, max)
}

type experimentsPage struct {
	Nav         string
	Experiments []sqlstore.ExperimentSummary
	Pager       pager
}

func (h *handler) experiments(w http.ResponseWriter, r *http.Request) error {
	page := intParam(r.URL.Query(), "page", 1, 1<<20)
	exps, more, err := h.store.ExperimentSummaries(r.Context(), experimentsPerPage, (page-1)*experimentsPerPage)
	if err != nil {
		return err
	}
	data := experimentsPage{Nav: "experiments", Experiments: exps,
		Pager: newPager(page, experimentsPerPage, len(exps), more, func(p int) string { return "/?page=" + strconv.Itoa(p) })}
	h.render(w, r, http.StatusOK, "experiments.html", data)
	return nil
}

// column is a param, metric or tag column of the runs table.
type column struct {
	Ref    string // "metrics.rmse": the col query value and order_by key
	Kind   string // metrics, params, tags
	Key    string
	Sort   string // "ascending", "descending" or "" (aria-sort)
	Toggle string // URL that sorts by this column
}

type runRow struct {
	tracking.Run
	Cells []string
}

type runsPage struct {
	Nav        string
	Exp        tracking.Experiment
	Filter     string
	FilterErr  string
	Order      string
	Size       int
	Cols       []column
	Attrs      []column // sortable attribute columns: name, start time
	Rows       []runRow
	Pager      pager
	Choices    []choice // columns one may add
	ExplicitCs bool
	Hidden     url.Values // query state kept by the column form
}

type choice struct {
	Ref     string
	Checked bool
}

// runs is the runs table of an experiment.
func (h *handler) runs(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	exp, err := h.store.GetExperiment(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	data := runsPage{Nav: "experiments", Exp: exp, Filter: q.Get("filter"), Order: q.Get("order"),
		Size: intParam(q, "size", defaultRunsPerPage, maxRunsPerPage)}
	page := intParam(q, "page", 1, 1<<20)
	status := http.StatusOK

	rq := sqlstore.RunQuery{ExperimentIDs: []string{exp.ID}, View: tracking.ViewActiveOnly,
		MaxResults: data.Size, Offset: (page - 1) * data.Size}
	rq.Filter, err = search.ParseRunFilter(data.Filter)
	if err == nil && data.Order != "" {
		rq.OrderBy, err = search.ParseRunOrderBy([]string{data.Order})
	}
	var runs []tracking.Run
	var more bool
	if err == nil {
		runs, more, err = h.store.SearchRuns(ctx, rq)
	}
	if err != nil {
		if posml.KindOf(err) != posml.KindInvalid {
			return err
		}
		data.FilterErr, status = userMessage(err), http.StatusBadRequest
	}

	// Columns: as chosen (cols=1 marks an explicit choice, even of none),
	// else the first metrics and params of this page.
	var metricKeys, paramKeys []string
	for _, run := range runs {
		for _, m := range run.Metrics {
			metricKeys = append(metricKeys, m.Key)
		}
		for _, p := range run.Params {
			paramKeys = append(paramKeys, p.Key)
		}
	}
	slices.Sort(metricKeys)
	slices.Sort(paramKeys)
	metricKeys, paramKeys = slices.Compact(metricKeys), slices.Compact(paramKeys)
	var refs []string
	if q.Has("cols") || q.Has("col") {
		data.ExplicitCs = true
		for _, c := range q["col"] {
			if kind, key, ok := strings.Cut(c, "."); ok && key != "" && (kind == "metrics" || kind == "params" || kind == "tags") && !slices.Contains(refs, c) {
				refs = append(refs, c)
			}
		}
	} else {
		for _, k := range metricKeys[:min(len(metricKeys), defaultMetricCols)] {
			refs = append(refs, "metrics."+k)
		}
		for _, k := range paramKeys[:min(len(paramKeys), defaultParamCols)] {
			refs = append(refs, "params."+k)
		}
	}
	link := func(page int, order string) string {
		v := url.Values{}
		if data.Filter != "" {
			v.Set("filter", data.Filter)
		}
		if order != "" {
			v.Set("order", order)
		}
		if data.Size != defaultRunsPerPage {
			v.Set("size", strconv.Itoa(data.Size))
		}
		if data.ExplicitCs {
			v.Set("cols", "1")
			v["col"] = refs
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		s := "/experiments/" + url.PathEscape(exp.ID)
		if len(v) > 0 {
			s += "?" + v.Encode()
		}
		return s
	}
	sortable := func(ref, kind, key string) column {
		c := column{Ref: ref, Kind: kind, Key: key}
		cur := rq.OrderBy
		target := ref
		if kind == "attributes" {
			target = "attributes." + key
		}
		dir := " DESC"
		if len(cur) == 1 && sameKey(cur[0], kind, key) {
			if cur[0].Desc {
				c.Sort, dir = "descending", " ASC"
			} else {
				c.Sort = "ascending"
			}
		}
		c.Toggle = link(1, quoteRef(target)+dir)
		return c
	}
	data.Attrs = []column{sortable("", "attributes", "run_name"), sortable("", "attributes", "start_time")}
	if data.Order == "" { // the default order is newest first
		data.Attrs[1].Sort, data.Attrs[1].Toggle = "descending", link(1, "attributes.start_time ASC")
	}
	for _, ref := range refs {
		kind, key, _ := strings.Cut(ref, ".")
		data.Cols = append(data.Cols, sortable(ref, kind, key))
	}
	for _, run := range runs {
		row := runRow{Run: run, Cells: make([]string, len(data.Cols))}
		for i, c := range data.Cols {
			row.Cells[i] = cellValue(run, c.Kind, c.Key)
		}
		data.Rows = append(data.Rows, row)
	}
	seen := map[string]bool{}
	for _, ref := range refs {
		seen[ref] = true
		data.Choices = append(data.Choices, choice{Ref: ref, Checked: true})
	}
	for _, k := range metricKeys {
		if !seen["metrics."+k] {
			data.Choices = append(data.Choices, choice{Ref: "metrics." + k})
		}
	}
	for _, k := range paramKeys {
		if !seen["params."+k] {
			data.Choices = append(data.Choices, choice{Ref: "params." + k})
		}
	}
	data.Pager = newPager(page, data.Size, len(runs), more, func(p int) string { return link(p, data.Order) })
	data.Hidden = url.Values{}
	if data.Filter != "" {
		data.Hidden.Set("filter", data.Filter)
	}
	if data.Order != "" {
		data.Hidden.Set("order", data.Order)
	}
	if data.Size != defaultRunsPerPage {
		data.Hidden.Set("size", strconv.Itoa(data.Size))
	}
	h.render(w, r, status, "runs.html", data)
	return nil
}

// sameKey reports whether an order_by entry sorts by the column.
func sameKey(o search.OrderBy, kind, key string) bool {
	switch kind {
	case "metrics":
		return o.Type == search.KeyMetric && o.Key == key
	case "params":
		return o.Type == search.KeyParam && o.Key == key
	case "tags":
		return o.Type == search.KeyTag && o.Key == key
	case "attributes":
		return o.Type == search.KeyAttribute && o.Key == key
	}
	return false
}

// quoteRef writes a column reference for order_by, quoting keys that are
// not plain identifiers.
func quoteRef(ref string) string {
	kind, key, _ := strings.Cut(ref, ".")
	plain := key != "" && !strings.ContainsFunc(key, func(r rune) bool {
		return !(r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
	if plain {
		return ref
	}
	return kind + ".`" + strings.ReplaceAll(key, "`", "") + "`"
}

// cellValue is the latest metric, the param or the tag of a run.
func cellValue(run tracking.Run, kind, key string) string {
	switch kind {
	case "metrics":
		for _, m := range run.Metrics {
			if m.Key == key {
				return formatFloat(m.Value)
			}
		}
	case "params":
		for _, p := range run.Params {
			if p.Key == key {
				return p.Value
			}
		}
	case "tags":
		for _, t := range run.Tags {
			if t.Key == key {
				return t.Value
			}
		}
	}
	return ""
}
