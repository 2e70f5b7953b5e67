package restapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/posml/posml/internal/registry"
)

// Event is one change of a registered model, as GET
// /api/posml/models/{name}/events answers it: the registry's audit trail.
type Event struct {
	ID      int64          `json:"id"`
	Model   string         `json:"model"`             // the model's name when it happened
	Version int64          `json:"version,omitempty"` // 0: the registered model itself
	Action  string         `json:"action"`            // e.g. "alias.set", "model_version.created"
	Actor   string         `json:"actor"`             // "user:alice", "pipeline-run:17" or "anonymous"
	Time    time.Time      `json:"time"`
	Details map[string]any `json:"details,omitempty"`
}

// modelEvents answers the history of a registered model, oldest first;
// limit (1 to 1000, default 100) and offset page through it.
func (h *handler) modelEvents(_ http.ResponseWriter, r *http.Request) (any, error) {
	q := r.URL.Query()
	limit, offset := 100, 0
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > 1000 {
			return nil, errBadRequest("limit=%q: want 1 to 1000", s)
		}
		limit = n
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, errBadRequest("offset=%q: want 0 or more", s)
		}
		offset = n
	}
	evs, err := h.cfg.EventsFunc(r.Context(), r.PathValue("name"), limit, offset)
	if err != nil {
		return nil, err
	}
	out := make([]Event, 0, len(evs))
	for _, e := range evs {
		out = append(out, toEvent(e))
	}
	return map[string]any{"events": out}, nil
}

func toEvent(e registry.Event) Event {
	return Event{ID: e.ID, Model: e.ModelName, Version: e.Version, Action: string(e.Action), Actor: e.Actor.String(),
		Time: time.UnixMilli(e.Timestamp).UTC(), Details: e.Details}
}
