package restapi

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/posml/posml/internal/forge"
	"github.com/posml/posml/internal/pipeline"
)

// webhook handles a push webhook of a forge: it verifies the delivery with
// the server's secret or a matching project's own, and syncs the projects
// that follow the pushed branch of that repository. ?project=NAME names the
// project explicitly (for repositories whose URL the project was not added
// with, such as a local path); ?run=train (or trigger) also queues a run
// (cause webhook) of each synced project's active commit.
func (h *handler) webhook(_ http.ResponseWriter, r *http.Request) (any, error) {
	kind, err := forge.ParseKind(r.PathValue("forge"))
	if err != nil {
		return nil, &apiError{http.StatusNotFound, "not_found", err.Error()}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, errBadRequest("read webhook body: %v", err)
	}
	ctx := r.Context()
	var runKind pipeline.Kind
	if s := r.URL.Query().Get("run"); s != "" {
		if runKind, err = parseKind(s); err != nil {
			return nil, err
		}
	}
	var candidates []pipeline.Project
	if name := r.URL.Query().Get("project"); name != "" {
		p, err := h.cfg.Projects.Get(ctx, name)
		if err != nil {
			return nil, err
		}
		candidates = []pipeline.Project{p}
	} else {
		// The repository is only known after parsing: parse without
		// verification to find the candidates, then verify.
		push, err := forge.ParsePush(kind, body)
		if err != nil {
			if s := h.cfg.WebhookSecret; s != "" {
				_, perr := forge.Parse(kind, r.Header.Get, body, s)
				switch {
				case errors.Is(perr, forge.ErrNotPush): // a verified ping, tag push, ...
					return WebhookResult{Status: "ignored", Reason: perr.Error(), Projects: []string{}}, nil
				case forge.Verify(kind, r.Header.Get, body, s) != nil:
					return nil, errUnauthorized("webhook signature check failed")
				}
			}
			return nil, errBadRequest("webhook payload: %v", err)
		}
		if candidates, err = h.cfg.Projects.Matching(ctx, push); err != nil {
			return nil, err
		}
	}

	// Verify with the server's secret (all candidates), else with each
	// candidate's own (that candidate only).
	var verified []pipeline.Project
	var push *forge.Push
	var lastErr error = forge.ErrNoSecret
	trusted := false
	if s := h.cfg.WebhookSecret; s != "" {
		push, lastErr = forge.Parse(kind, r.Header.Get, body, s)
		if lastErr == nil || errors.Is(lastErr, forge.ErrNotPush) {
			verified, trusted = candidates, true
		}
	}
	if !trusted {
		for _, p := range candidates {
			s, err := h.cfg.Projects.WebhookSecret(ctx, p)
			if err != nil {
				return nil, err
			}
			if s == "" {
				continue
			}
			pp, err := forge.Parse(kind, r.Header.Get, body, s)
			if err == nil || errors.Is(err, forge.ErrNotPush) {
				verified = append(verified, p)
				push, lastErr, trusted = pp, err, true
				continue
			}
			if !trusted {
				lastErr = err
			}
		}
	}
	switch {
	case !trusted && (errors.Is(lastErr, forge.ErrBadSignature) || errors.Is(lastErr, forge.ErrNoSignature) || errors.Is(lastErr, forge.ErrNoSecret)):
		return nil, errUnauthorized("webhook signature check failed: " + lastErr.Error())
	case !trusted:
		return nil, errBadRequest("webhook payload: %v", lastErr)
	case errors.Is(lastErr, forge.ErrNotPush):
		return WebhookResult{Status: "ignored", Reason: lastErr.Error(), Projects: []string{}}, nil
	case push == nil || push.Deleted:
		return WebhookResult{Status: "ignored", Reason: "branch deleted", Projects: []string{}}, nil
	}
	synced, err := h.cfg.Projects.SyncPush(ctx, push, verified)
	if len(synced) == 0 {
		return WebhookResult{Status: "ignored", Reason: "no project follows branch " + push.Branch + " of this repository", Projects: []string{}}, nil
	}
	res := WebhookResult{Status: "synced", Projects: synced, Runs: []string{}}
	if err != nil {
		res.Reason = err.Error()
	}
	if runKind != "" {
		for _, name := range synced {
			p, err := h.cfg.Projects.Get(ctx, name)
			if err != nil {
				return nil, err
			}
			run, err := h.queueRun(r, p, runKind, pipeline.CauseWebhook, nil)
			if err != nil {
				res.Reason = strings.TrimPrefix(res.Reason+"; ", "; ") + "no run for " + name + ": " + err.Error()
				continue
			}
			res.Runs = append(res.Runs, run.ID.String())
		}
	}
	return res, nil
}
