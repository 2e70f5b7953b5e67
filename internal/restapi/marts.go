package restapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/auth"
	"github.com/posml/posml/internal/datamart"
	"github.com/posml/posml/internal/lineage"
)

// Data marts: the catalog (marts and sources) and the streamed snapshot
// data. The data endpoint's response is the wire contract of the Python
// SDK, described in package datamart's doc.

// MartTokens checks run tokens (*auth.Issuer).
type MartTokens interface {
	Verify(ctx context.Context, token string) (lineage.Caller, error)
}

// MartsConfig configures the mart endpoints; Config.Marts nil serves none.
type MartsConfig struct {
	Service *datamart.Service
	// Tokens verifies "Authorization: Bearer" run tokens; a read with one
	// is recorded as an input of its pipeline run. Nil: tokens are not
	// checked (and reads not recorded).
	Tokens MartTokens
	// RequireAuth refuses requests without a valid token (401).
	RequireAuth bool
	// Users, when set, also accepts "Authorization: Bearer" user tokens
	// (auth.UserTokenPrefix): the caller is then a user, not a run.
	Users interface {
		Token(ctx context.Context, token string) (auth.User, error)
	}
}

// mountMarts adds the mart endpoints to the route table.
func (h *handler) mountMarts(m *http.ServeMux) {
	mc := h.cfg.Marts
	if mc == nil || mc.Service == nil {
		return
	}
	mh := &martHandler{handler: h, cfg: *mc, svc: mc.Service}
	m.Handle("GET /api/posml/marts", mh.auth(mh.listMarts))
	m.Handle("POST /api/posml/marts", mh.auth(mh.createMart))
	m.Handle("GET /api/posml/marts/{id}", mh.auth(mh.getMart))
	m.Handle("DELETE /api/posml/marts/{id}", mh.auth(mh.removeMart))
	m.Handle("PUT /api/posml/marts/{id}/file", mh.auth(mh.uploadMart))
	m.Handle("POST /api/posml/marts/{id}/refresh", mh.auth(mh.refreshMart))
	m.Handle("GET /api/posml/marts/{id}/data", mh.auth(mh.martData))
	m.Handle("GET /api/posml/sources", mh.auth(mh.listSources))
	m.Handle("POST /api/posml/sources", mh.auth(mh.addSource))
	m.Handle("GET /api/posml/sources/{name}", mh.auth(mh.getSource))
	m.Handle("DELETE /api/posml/sources/{name}", mh.auth(mh.removeSource))
}

type martHandler struct {
	*handler
	cfg MartsConfig
	svc *datamart.Service
}

// martFunc is a jsonFunc that also gets the caller, when a run token
// authenticated the request.
type martFunc func(w http.ResponseWriter, r *http.Request, c *lineage.Caller) (any, error)

func (mh *martHandler) auth(f martFunc) http.Handler {
	return mh.json(func(w http.ResponseWriter, r *http.Request) (any, error) {
		var caller *lineage.Caller
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok = strings.TrimSpace(tok)
		_, isUser := UserFrom(r.Context()) // RequireUser checked it
		switch {
		case isUser:
		case ok && auth.IsUserToken(tok) && mh.cfg.Users != nil:
			if _, err := mh.cfg.Users.Token(r.Context(), tok); err != nil {
				return nil, errUnauthorized("invalid or expired token")
			}
		case ok && tok != "" && mh.cfg.Tokens != nil:
			c, err := mh.cfg.Tokens.Verify(r.Context(), tok)
			if err != nil {
				return nil, errUnauthorized("invalid or expired token")
			}
			caller = &c
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				return nil, &apiError{http.StatusForbidden, "forbidden", "a run token may read marts, not change the catalog"}
			}
		case mh.cfg.RequireAuth:
			return nil, errUnauthorized("this server needs a token: Authorization: Bearer <token>")
		}
		return f(w, r, caller)
	})
}

// Mart is a mart as the API shows it.
type Mart struct {
	ID              string     `json:"id"`
	Source          string     `json:"source"`
	Query           string     `json:"query"`
	File            string     `json:"file"`
	RefreshSchedule string     `json:"refresh_schedule"`
	NextRefresh     *time.Time `json:"next_refresh"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	Latest          *Snapshot  `json:"latest"`
	// Snapshots are all the versions, newest first (GET one mart only).
	Snapshots []Snapshot `json:"snapshots,omitempty"`
}

// Snapshot is one version of a mart.
type Snapshot struct {
	Version   int               `json:"version"`
	Rows      int64             `json:"rows"`
	Size      int64             `json:"size"`
	Digest    string            `json:"digest"`
	Columns   []datamart.Column `json:"columns"`
	Query     string            `json:"query"`
	CreatedAt time.Time         `json:"created_at"`
}

// CreateMart is the body of POST /api/posml/marts.
type CreateMart struct {
	ID              string `json:"id"`
	Source          string `json:"source"`
	Query           string `json:"query"`
	File            string `json:"file"`
	RefreshSchedule string `json:"refresh_schedule"`
}

// MartSnapshot answers a refresh or an upload: the mart's latest snapshot
// and whether it is new (false: the content did not change).
type MartSnapshot struct {
	Mart     *Mart    `json:"mart,omitempty"`
	Snapshot Snapshot `json:"snapshot"`
	Created  bool     `json:"created"`
}

// Source is a source as the API shows it: never its DSN.
type Source struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
}

// AddSource is the body of POST /api/posml/sources.
type AddSource struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	DSN  string `json:"dsn"`
}

func toMart(m datamart.Mart) Mart {
	return Mart{ID: m.ID, Source: m.Source, Query: m.Query, File: m.File, RefreshSchedule: m.RefreshSchedule,
		NextRefresh: m.NextRefresh, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

func toSnapshot(s datamart.Snapshot) Snapshot {
	return Snapshot{Version: s.Version, Rows: s.Rows, Size: s.Size, Digest: s.Digest, Columns: s.Columns, Query: s.Query, CreatedAt: s.CreatedAt}
}

func toSource(s datamart.Source) Source {
	return Source{Name: s.Name, Kind: string(s.Kind), CreatedAt: s.CreatedAt}
}

func (mh *martHandler) withLatest(ctx context.Context, m datamart.Mart) (Mart, error) {
	out := toMart(m)
	snap, err := mh.svc.Latest(ctx, m.ID)
	if err == nil {
		s := toSnapshot(snap)
		out.Latest = &s
	} else if !errors.Is(err, posml.ErrNotFound) {
		return out, err
	}
	return out, nil
}

func (mh *martHandler) listMarts(_ http.ResponseWriter, r *http.Request, _ *lineage.Caller) (any, error) {
	ms, err := mh.svc.List(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]Mart, 0, len(ms))
	for _, m := range ms {
		wm, err := mh.withLatest(r.Context(), m)
		if err != nil {
			return nil, err
		}
		out = append(out, wm)
	}
	return map[string]any{"marts": out}, nil
}

func (mh *martHandler) getMart(_ http.ResponseWriter, r *http.Request, _ *lineage.Caller) (any, error) {
	m, snaps, err := mh.svc.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	out := toMart(m)
	out.Snapshots = make([]Snapshot, len(snaps))
	for i, s := range snaps {
		out.Snapshots[i] = toSnapshot(s)
	}
	if len(snaps) > 0 {
		out.Latest = &out.Snapshots[0]
	}
	return out, nil
}

func (mh *martHandler) createMart(_ http.ResponseWriter, r *http.Request, _ *lineage.Caller) (any, error) {
	var req CreateMart
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	m, snap, err := mh.svc.Create(r.Context(), datamart.Mart{ID: req.ID, Source: req.Source, Query: req.Query, File: req.File, RefreshSchedule: req.RefreshSchedule})
	if err != nil {
		return nil, err
	}
	out := toMart(m)
	s := toSnapshot(snap)
	out.Latest = &s
	return status{http.StatusCreated, out}, nil
}

func (mh *martHandler) uploadMart(_ http.ResponseWriter, r *http.Request, _ *lineage.Caller) (any, error) {
	name := r.URL.Query().Get("name")
	if name == "" {
		return nil, errBadRequest("name: give the uploaded file's name (NAME.csv or NAME.parquet) as ?name=")
	}
	_, _, err := mh.svc.Get(r.Context(), r.PathValue("id"))
	isNew := errors.Is(err, posml.ErrNotFound)
	m, snap, created, err := mh.svc.Upload(r.Context(), r.PathValue("id"), name, r.URL.Query().Get("refresh_schedule"), r.Body)
	if err != nil {
		return nil, err
	}
	wm := toMart(m)
	res := MartSnapshot{Mart: &wm, Snapshot: toSnapshot(snap), Created: created}
	wm.Latest = &res.Snapshot
	if isNew {
		return status{http.StatusCreated, res}, nil
	}
	return res, nil
}

func (mh *martHandler) refreshMart(_ http.ResponseWriter, r *http.Request, _ *lineage.Caller) (any, error) {
	snap, created, err := mh.svc.Refresh(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return MartSnapshot{Snapshot: toSnapshot(snap), Created: created}, nil
}

func (mh *martHandler) removeMart(_ http.ResponseWriter, r *http.Request, _ *lineage.Caller) (any, error) {
	return nil, mh.svc.Remove(r.Context(), r.PathValue("id"))
}

// martData streams a snapshot as CSV (encoded row by row from the Parquet
// file) or as the Parquet file itself, with the schema in headers.
func (mh *martHandler) martData(w http.ResponseWriter, r *http.Request, c *lineage.Caller) (any, error) {
	id := r.PathValue("id")
	q := r.URL.Query()
	version := 0
	if v := q.Get("version"); v != "" && v != "latest" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, errBadRequest("version %q: want a snapshot version (1, 2, ...)", v)
		}
		version = n
	}
	format := q.Get("format")
	switch format {
	case "":
		format = "csv"
	case "csv", "parquet":
	default:
		return nil, errBadRequest("format %q: want csv or parquet", format)
	}
	snap, err := mh.svc.Snapshot(r.Context(), id, version)
	if err != nil {
		return nil, err
	}
	rows, err := mh.svc.Open(snap)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if c != nil {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		url := fmt.Sprintf("%s://%s/api/posml/marts/%s/data?version=%d", scheme, r.Host, id, snap.Version)
		if _, err := mh.svc.RecordRead(r.Context(), c.PipelineRunID, snap, url); err != nil {
			// The data is still served: a failed record is logged, not fatal.
			mh.log.Error("record mart read", "mart", id, "version", snap.Version, "pipeline_run", c.PipelineRunID, "err", err)
		}
	}
	hd := w.Header()
	schema, _ := jsonCompact(snap.Columns)
	hd.Set("X-Posml-Mart", id)
	hd.Set("X-Posml-Snapshot", strconv.Itoa(snap.Version))
	hd.Set("X-Posml-Digest", snap.Digest)
	hd.Set("X-Posml-Rows", strconv.FormatInt(snap.Rows, 10))
	hd.Set("X-Posml-Schema", schema)
	hd.Set("Cache-Control", "no-cache")
	if format == "parquet" {
		hd.Set("Content-Type", "application/vnd.apache.parquet")
		hd.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-v%d.parquet"`, id, snap.Version))
		f, err := mh.svc.OpenFile(snap)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		http.ServeContent(w, r, "", snap.CreatedAt, f)
		return streamed{}, nil
	}
	hd.Set("Content-Type", "text/csv; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return streamed{}, nil
	}
	if err := datamart.WriteCSV(w, rows); err != nil {
		if r.Context().Err() == nil {
			mh.log.Error("stream mart data", "mart", id, "version", snap.Version, "err", err)
		}
		// The status is sent: break the response so the client sees a
		// truncated body, not a short one.
		panic(http.ErrAbortHandler)
	}
	return streamed{}, nil
}

func (mh *martHandler) listSources(_ http.ResponseWriter, r *http.Request, _ *lineage.Caller) (any, error) {
	srcs, err := mh.svc.Sources(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]Source, len(srcs))
	for i, s := range srcs {
		out[i] = toSource(s)
	}
	return map[string]any{"sources": out}, nil
}

func (mh *martHandler) addSource(_ http.ResponseWriter, r *http.Request, _ *lineage.Caller) (any, error) {
	var req AddSource
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	src, err := mh.svc.AddSource(r.Context(), datamart.Source{Name: req.Name, Kind: datamart.Kind(req.Kind), DSN: req.DSN})
	if err != nil {
		return nil, err
	}
	return status{http.StatusCreated, toSource(src)}, nil
}

func (mh *martHandler) getSource(_ http.ResponseWriter, r *http.Request, _ *lineage.Caller) (any, error) {
	src, err := mh.svc.Source(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return toSource(src), nil
}

func (mh *martHandler) removeSource(_ http.ResponseWriter, r *http.Request, _ *lineage.Caller) (any, error) {
	return nil, mh.svc.RemoveSource(r.Context(), r.PathValue("name"))
}

// jsonCompact is v's JSON on one line, for a header.
func jsonCompact(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
