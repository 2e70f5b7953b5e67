package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/registry"
	"github.com/posml/posml/internal/search"
	"github.com/posml/posml/internal/sqlstore"
)

// Page sizes of the registry pages.
const (
	modelsPerPage   = 50
	versionsPerPage = 50
	eventsPerPage   = 100
)

type modelsPage struct {
	Nav    string
	Models []registry.RegisteredModel
	Pager  pager
}

func (h *handler) models(w http.ResponseWriter, r *http.Request) error {
	page := intParam(r.URL.Query(), "page", 1, 1<<20)
	ms, more, err := h.store.SearchRegisteredModels(r.Context(), sqlstore.RegistryQuery{MaxResults: modelsPerPage, Offset: (page - 1) * modelsPerPage})
	if err != nil {
		return err
	}
	data := modelsPage{Nav: "models", Models: ms,
		Pager: newPager(page, modelsPerPage, len(ms), more, func(p int) string { return "/models?page=" + strconv.Itoa(p) })}
	h.render(w, r, http.StatusOK, "models.html", data)
	return nil
}

// timelineEntry is one registry event in words.
type timelineEntry struct {
	registry.Event
	Text     string
	Alias    string // for alias events
	Champion bool   // the event moved or removed the champion alias
}

type modelPage struct {
	Nav       string
	Model     registry.RegisteredModel
	Versions  []registry.ModelVersion
	VPager    pager
	Aliases   []timelineEntry // alias moves, newest first: the champion timeline
	Events    []timelineEntry // the whole history, newest first, one page
	EPager    pager
	EventsAll int
	// Decisions are the latest promotion decisions about the model, with
	// both scores (nil without the pipeline engine).
	Decisions []lineage.Decision
}

// decisionsPerModel is how many promotion decisions the model page shows.
const decisionsPerModel = 20

func (h *handler) model(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	name := r.PathValue("name")
	m, err := h.store.GetRegisteredModel(ctx, name)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	vpage := intParam(q, "vpage", 1, 1<<20)
	epage := intParam(q, "epage", 1, 1<<20)
	versions, more, err := h.store.SearchModelVersions(ctx, sqlstore.RegistryQuery{
		Filter:     []search.Clause{{Type: search.KeyAttribute, Key: "name", Op: search.OpEq, Str: m.Name}},
		OrderBy:    []search.OrderBy{{Type: search.KeyAttribute, Key: "version_number", Desc: true}},
		MaxResults: versionsPerPage, Offset: (vpage - 1) * versionsPerPage,
	})
	if err != nil {
		return err
	}
	events, err := h.store.RegistryEvents(ctx, m.Name, 0, 0)
	if err != nil {
		return err
	}
	slices.Reverse(events)
	base := "/models/" + url.PathEscape(m.Name)
	link := func(vp, ep int) string {
		v := url.Values{}
		if vp > 1 {
			v.Set("vpage", strconv.Itoa(vp))
		}
		if ep > 1 {
			v.Set("epage", strconv.Itoa(ep))
		}
		if len(v) == 0 {
			return base
		}
		return base + "?" + v.Encode()
	}
	data := modelPage{Nav: "models", Model: m, Versions: versions, EventsAll: len(events),
		VPager: newPager(vpage, versionsPerPage, len(versions), more, func(p int) string { return link(p, epage) })}
	for _, e := range events {
		if e.Action == registry.ActionAliasSet || e.Action == registry.ActionAliasDeleted {
			data.Aliases = append(data.Aliases, describe(e))
		}
	}
	lo := min((epage-1)*eventsPerPage, len(events))
	hi := min(lo+eventsPerPage, len(events))
	for _, e := range events[lo:hi] {
		data.Events = append(data.Events, describe(e))
	}
	data.EPager = newPager(epage, eventsPerPage, hi-lo, hi < len(events), func(p int) string { return link(vpage, p) + "#history" })
	if h.pipes != nil {
		if data.Decisions, err = h.pipes.PromotionDecisionsOfModel(ctx, m.Name, decisionsPerModel); err != nil {
			return err
		}
	}
	h.render(w, r, http.StatusOK, "model.html", data)
	return nil
}

// describe puts a registry event in words.
func describe(e registry.Event) timelineEntry {
	t := timelineEntry{Event: e}
	d := func(k string) string {
		if v, ok := e.Details[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	}
	v := "version " + strconv.FormatInt(e.Version, 10)
	switch e.Action {
	case registry.ActionModelCreated:
		t.Text = "Model created"
	case registry.ActionModelRenamed:
		t.Text = "Renamed from " + d("from") + " to " + d("to")
	case registry.ActionModelUpdated:
		t.Text = "Description changed"
	case registry.ActionModelDeleted:
		t.Text = "Model deleted"
	case registry.ActionModelTagSet:
		t.Text = "Tag " + d("key") + " = " + d("value")
	case registry.ActionModelTagDeleted:
		t.Text = "Tag " + d("key") + " removed"
	case registry.ActionAliasSet:
		t.Alias = d("alias")
		t.Text = "@" + t.Alias + " → " + v
		if p := d("previous_version"); p != "" {
			t.Text += " (was version " + p + ")"
		}
	case registry.ActionAliasDeleted:
		t.Alias = d("alias")
		t.Text = "@" + t.Alias + " removed from " + v
	case registry.ActionVersionCreated:
		t.Text = "Registered " + v
		if run := d("run_id"); run != "" {
			t.Text += " from run " + run
		}
	case registry.ActionVersionUpdated:
		t.Text = "Description of " + v + " changed"
	case registry.ActionVersionStage:
		t.Text = "Stage of " + v + ": " + d("from") + " → " + d("to")
	case registry.ActionVersionDeleted:
		t.Text = "Deleted " + v
	case registry.ActionVersionTagSet:
		t.Text = "Tag " + d("key") + " = " + d("value") + " on " + v
	case registry.ActionVersionTagDeleted:
		t.Text = "Tag " + d("key") + " removed from " + v
	default:
		t.Text = string(e.Action)
	}
	t.Champion = t.Alias == "champion"
	return t
}
