package restapi

import (
	"net/http"
	"strconv"

	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/projects"
)

// recentCommits is how many commits GET /projects/{name} shows by default.
const recentCommits = 10

func (h *handler) addProject(_ http.ResponseWriter, r *http.Request) (any, error) {
	var req AddProject
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	res, err := h.cfg.Projects.Add(r.Context(), projects.AddRequest{
		Repo: req.Repo, Branch: req.Branch, Name: req.Name, NotifyURLs: req.NotifyURLs,
		Credentials: pipeline.Credentials{Username: req.Username, Token: req.Token, SSHKey: []byte(req.SSHKey), WebhookSecret: req.WebhookSecret},
	})
	if err != nil {
		// A project that was created but whose first sync failed is
		// still added: answer with it (its sync_error says what failed).
		if res.Project.ID == 0 {
			return nil, err
		}
	}
	return status{http.StatusCreated, h.syncResult(res)}, nil
}

func (h *handler) syncResult(res projects.SyncResult) SyncResult {
	out := SyncResult{Project: toProject(res.Project), Head: res.Head, Activated: res.Activated, New: []Commit{}}
	if res.New != nil {
		out.New = append(out.New, toCommit(*res.New, res.Project.ActiveCommit))
	}
	return out
}

func (h *handler) listProjects(_ http.ResponseWriter, r *http.Request) (any, error) {
	ps, err := h.cfg.Projects.List(r.Context())
	if err != nil {
		return nil, err
	}
	out := struct {
		Projects []Project `json:"projects"`
	}{Projects: []Project{}}
	for _, p := range ps {
		out.Projects = append(out.Projects, toProject(p))
	}
	return out, nil
}

func (h *handler) getProject(_ http.ResponseWriter, r *http.Request) (any, error) {
	p, err := h.cfg.Projects.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	limit := recentCommits
	if s := r.URL.Query().Get("commits"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, errBadRequest("commits=%q: want a number of commits", s)
		}
		limit = n
	}
	out := toProject(p)
	out.Commits = []Commit{}
	if limit > 0 {
		cs, err := h.cfg.Projects.Commits(r.Context(), p, limit)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			out.Commits = append(out.Commits, toCommit(c, p.ActiveCommit))
		}
	}
	return out, nil
}

func (h *handler) updateProject(_ http.ResponseWriter, r *http.Request) (any, error) {
	var req UpdateProject
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	u := projects.UpdateRequest{Branch: req.Branch, NotifyURLs: req.NotifyURLs, WebhookSecret: req.WebhookSecret}
	switch {
	case req.ClearCredentials && (req.Token != "" || req.SSHKey != ""):
		return nil, errBadRequest("clear_credentials and new credentials at once")
	case req.ClearCredentials:
		u.Git = &pipeline.Credentials{}
	case req.Token != "" || req.SSHKey != "":
		u.Git = &pipeline.Credentials{Username: req.Username, Token: req.Token, SSHKey: []byte(req.SSHKey)}
	}
	res, err := h.cfg.Projects.Update(r.Context(), r.PathValue("name"), u)
	if err != nil {
		if res.Project.ID != 0 { // stored, but the sync that followed failed
			return nil, &apiError{http.StatusBadGateway, "sync_failed", err.Error()}
		}
		return nil, err
	}
	return h.syncResult(res), nil
}

func (h *handler) removeProject(_ http.ResponseWriter, r *http.Request) (any, error) {
	return nil, h.cfg.Projects.Remove(r.Context(), r.PathValue("name"))
}

func (h *handler) syncProject(_ http.ResponseWriter, r *http.Request) (any, error) {
	res, err := h.cfg.Projects.Sync(r.Context(), r.PathValue("name"))
	if err != nil {
		if res.Project.ID == 0 {
			return nil, err // no such project
		}
		// A failed fetch or validation is a fact about the repository
		// (also kept in the project's sync_error), not about the request.
		return nil, &apiError{http.StatusBadGateway, "sync_failed", err.Error()}
	}
	return h.syncResult(res), nil
}

func (h *handler) pauseProject(paused bool) jsonFunc {
	return func(_ http.ResponseWriter, r *http.Request) (any, error) {
		p, err := h.cfg.Projects.SetPaused(r.Context(), r.PathValue("name"), paused)
		if err != nil {
			return nil, err
		}
		return toProject(p), nil
	}
}
