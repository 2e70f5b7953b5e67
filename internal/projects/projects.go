package projects

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/forge"
	"github.com/posml/posml/internal/gitrepo"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/projectconfig"
	"github.com/posml/posml/internal/registry"
	"github.com/posml/posml/internal/sqlstore"
	"github.com/posml/posml/internal/validate"
)

// Store is what the registry needs of the database (*sqlstore.Store).
type Store interface {
	CreateProject(ctx context.Context, p pipeline.Project, c pipeline.Credentials) (pipeline.Project, error)
	ProjectByName(ctx context.Context, name string) (pipeline.Project, error)
	Projects(ctx context.Context) ([]pipeline.Project, error)
	Project(ctx context.Context, id pipeline.ProjectID) (pipeline.Project, error)
	ProjectCredentials(ctx context.Context, id pipeline.ProjectID) (pipeline.Credentials, error)
	SetProjectPaused(ctx context.Context, id pipeline.ProjectID, paused bool) error
	UpdateProject(ctx context.Context, p pipeline.Project) (pipeline.Project, error)
	SetProjectCredentials(ctx context.Context, id pipeline.ProjectID, cred pipeline.Credentials) error
	DeleteProject(ctx context.Context, id pipeline.ProjectID) error

	Commit(ctx context.Context, id pipeline.ProjectID, sha string) (pipeline.Commit, error)
	Commits(ctx context.Context, id pipeline.ProjectID, limit int) ([]pipeline.Commit, error)
	AddCommit(ctx context.Context, c pipeline.Commit) (bool, error)
	ActivateCommit(ctx context.Context, id pipeline.ProjectID, sha string) error
	SetProjectSynced(ctx context.Context, id pipeline.ProjectID, head string, at time.Time, syncErr string) error
}

// Models creates registered models (*sqlstore.Store).
type Models interface {
	CreateRegisteredModel(ctx context.Context, name string, tags []registry.Tag, description string) (registry.RegisteredModel, error)
}

// Config configures the registry.
type Config struct {
	// Dir holds the bare clones (one directory per project id) and the
	// temporary checkouts of validation.
	Dir string
	// Python is the interpreter validation parses the project's scripts
	// with ("python3" when empty).
	Python string
	// Executor is the server's policy on the projects' executor sections
	// (default backend, allowed backends, GPU cap); a commit the policy
	// refuses is invalid.
	Executor pipeline.ExecutorPolicy
	// PollInterval is how often Run syncs every project not paused; zero
	// disables polling (webhooks and manual syncs still work).
	PollInterval time.Duration
	// Git runs git; nil means the zero gitrepo.Git.
	Git *gitrepo.Git
	// WakeFunc, when set, is called after a commit became active or a
	// project was resumed, so that the scheduler looks at it at once.
	WakeFunc func()
	// Now and After are the clock (default time.Now and time.After).
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

// Service is the project registry. Its methods may be called concurrently;
// syncs of one project take turns.
type Service struct {
	store  Store
	models Models
	cfg    Config
	git    *gitrepo.Git
	log    *slog.Logger

	mu    sync.Mutex
	locks map[pipeline.ProjectID]*sync.Mutex
}

// New returns the registry.
func New(store Store, models Models, cfg Config, log *slog.Logger) *Service {
	if cfg.Python == "" {
		cfg.Python = "python3"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	g := cfg.Git
	if g == nil {
		g = &gitrepo.Git{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, models: models, cfg: cfg, git: g, log: log, locks: map[pipeline.ProjectID]*sync.Mutex{}}
}

// AddRequest is what Add needs.
type AddRequest struct {
	Repo        string // git URL or local path
	Branch      string // default: the remote's default branch (its HEAD), else "main"
	Name        string // default: the config's proj_name, else the repository's name
	Credentials pipeline.Credentials
	NotifyURLs  []string
}

// SyncResult reports one sync.
type SyncResult struct {
	Project pipeline.Project
	Head    string
	// New is the commit validated by this sync (nil when the head was
	// already known).
	New *pipeline.Commit
	// Activated is the commit that became active, "" when none did.
	Activated string
}

// Add clones the repository, names the project, stores it with its
// credentials and syncs it once: when the head commit is valid, it is
// active when Add returns.
func (s *Service) Add(ctx context.Context, req AddRequest) (SyncResult, error) {
	repo, cred, err := splitCredentials(req.Repo, req.Credentials)
	if err != nil {
		return SyncResult{}, err
	}
	if len(cred.SSHKey) > 0 && cred.Token != "" {
		return SyncResult{}, posml.Errorf(posml.KindInvalid, "give an HTTPS token or an SSH key, not both")
	}
	if err := checkNotifyURLs(req.NotifyURLs); err != nil {
		return SyncResult{}, err
	}
	if !strings.Contains(repo, "://") && !isSCP(repo) {
		// A local path: refuse early with a clear message when it is not there.
		if _, err := os.Stat(repo); err != nil {
			return SyncResult{}, &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf("repository %s: no such directory on the server", repo)}
		}
		if abs, err := filepath.Abs(repo); err == nil {
			repo = abs
		}
	}
	if req.Name != "" {
		if err := checkName(req.Name); err != nil {
			return SyncResult{}, err
		}
		if _, err := s.store.ProjectByName(ctx, req.Name); err == nil {
			return SyncResult{}, &posml.Error{Kind: posml.KindExists, Msg: "project " + req.Name + " already exists"}
		}
	}
	if err := os.MkdirAll(s.cfg.Dir, 0o700); err != nil {
		return SyncResult{}, fmt.Errorf("add project: %w", err)
	}
	tmp := filepath.Join(s.cfg.Dir, ".clone-"+randomHex())
	r, err := s.git.Clone(ctx, repo, tmp, authOf(cred))
	if err != nil {
		return SyncResult{}, addError(err)
	}
	defer os.RemoveAll(tmp) // renamed away on success
	if req.Branch == "" {
		// The branch the remote's HEAD names (main, master, trunk, ...).
		if req.Branch, err = r.DefaultBranch(ctx); err != nil || req.Branch == "" {
			req.Branch = "main"
		}
	}
	head, err := r.Fetch(ctx, req.Branch)
	if err != nil {
		return SyncResult{}, addError(err)
	}
	name := req.Name
	if name == "" {
		name, err = s.defaultName(ctx, r, head, repo)
		if err != nil {
			return SyncResult{}, err
		}
	}
	if err := checkName(name); err != nil {
		return SyncResult{}, err
	}
	now := s.cfg.Now().UTC()
	p, err := s.store.CreateProject(ctx, pipeline.Project{
		Name: name, RepoURL: repo, Branch: req.Branch, NotifyURLs: req.NotifyURLs,
		HasCredentials: !cred.IsZero(), CreatedAt: now, UpdatedAt: now,
	}, cred)
	if err != nil {
		return SyncResult{}, fmt.Errorf("add project %s: %w", name, err)
	}
	dir := s.cloneDir(p.ID)
	os.RemoveAll(dir) // a leftover of a removed project with the same id
	if err := os.Rename(tmp, dir); err != nil {
		s.store.DeleteProject(context.WithoutCancel(ctx), p.ID)
		return SyncResult{}, fmt.Errorf("add project %s: %w", name, err)
	}
	s.log.Info("project added", "project", name, "repo", gitrepo.Redact(repo), "branch", req.Branch)
	return s.sync(ctx, p)
}

// addError gives git failures of Add their user-facing kind: a repository
// or branch that cannot be reached is the caller's mistake.
func addError(err error) error {
	var ge *gitrepo.Error
	if errors.As(err, &ge) {
		k := ge.Kind
		if k == posml.KindInternal || k == posml.KindNotFound {
			k = posml.KindInvalid
		}
		return &posml.Error{Kind: k, Msg: "cannot read the repository: " + ge.Error()}
	}
	return err
}

// defaultName is the proj_name of the head commit's config, else the
// repository's base name.
func (s *Service) defaultName(ctx context.Context, r *gitrepo.Repo, head, repo string) (string, error) {
	dir := filepath.Join(s.cfg.Dir, ".name-"+randomHex())
	defer os.RemoveAll(dir)
	if err := r.Checkout(ctx, head, dir); err != nil {
		return "", addError(err)
	}
	if cfg, _, err := projectconfig.Load(dir); err == nil && cfg != nil && checkName(cfg.ProjName) == nil {
		return cfg.ProjName, nil
	}
	base := strings.TrimSuffix(path.Base(strings.TrimRight(filepath.ToSlash(repo), "/")), ".git")
	if i := strings.LastIndexByte(base, ':'); i >= 0 {
		base = base[i+1:]
	}
	return base, nil
}

// checkName accepts names fit for URLs, paths and MLflow experiments.
func checkName(name string) error {
	if name == "" || len(name) > 100 {
		return posml.Errorf(posml.KindInvalid, "project name must be 1 to 100 characters")
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || (i > 0 && (c == '-' || c == '_' || c == '.'))
		if !ok {
			return posml.Errorf(posml.KindInvalid, fmt.Sprintf("project name %q: use letters, digits, '-', '_' and '.', starting with a letter or digit", name))
		}
	}
	return nil
}

// splitCredentials moves credentials written into an https URL
// (https://user:token@host/...) into c, so that the stored URL carries
// none.
func splitCredentials(repo string, c pipeline.Credentials) (string, pipeline.Credentials, error) {
	repo = strings.TrimSpace(repo)
	if repo == "" {
		return "", c, posml.Errorf(posml.KindInvalid, "no repository: give a git URL or a path")
	}
	if !strings.Contains(repo, "://") {
		return repo, c, nil
	}
	u, err := url.Parse(repo)
	if err != nil {
		return "", c, posml.Errorf(posml.KindInvalid, "repository URL "+gitrepo.Redact(repo)+" does not parse")
	}
	if u.User == nil || (u.Scheme != "http" && u.Scheme != "https") {
		return repo, c, nil
	}
	if pw, ok := u.User.Password(); ok {
		if c.Token == "" {
			c.Token = pw
			c.Username = u.User.Username()
		}
	} else if c.Token == "" {
		c.Token = u.User.Username()
	}
	u.User = nil
	return u.String(), c, nil
}

func isSCP(s string) bool {
	colon := strings.IndexByte(s, ':')
	slash := strings.IndexByte(s, '/')
	return colon > 1 && (slash < 0 || colon < slash)
}

func authOf(c pipeline.Credentials) gitrepo.Auth {
	return gitrepo.Auth{Username: c.Username, Token: c.Token, SSHKey: c.SSHKey}
}

func randomHex() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Service) cloneDir(id pipeline.ProjectID) string {
	return filepath.Join(s.cfg.Dir, id.String())
}

// lock serializes syncs of one project.
func (s *Service) lock(id pipeline.ProjectID) func() {
	s.mu.Lock()
	l, ok := s.locks[id]
	if !ok {
		l = &sync.Mutex{}
		s.locks[id] = l
	}
	s.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Get returns a project.
func (s *Service) Get(ctx context.Context, name string) (pipeline.Project, error) {
	return s.store.ProjectByName(ctx, name)
}

// List returns every project.
func (s *Service) List(ctx context.Context) ([]pipeline.Project, error) {
	return s.store.Projects(ctx)
}

// Commits returns the newest commits seen of a project, newest first.
func (s *Service) Commits(ctx context.Context, p pipeline.Project, limit int) ([]pipeline.Commit, error) {
	return s.store.Commits(ctx, p.ID, limit)
}

// SetPaused pauses or resumes a project's pipelines.
func (s *Service) SetPaused(ctx context.Context, name string, paused bool) (pipeline.Project, error) {
	p, err := s.store.ProjectByName(ctx, name)
	if err != nil {
		return pipeline.Project{}, err
	}
	if err := s.store.SetProjectPaused(ctx, p.ID, paused); err != nil {
		return pipeline.Project{}, err
	}
	s.log.Info("project paused", "project", name, "paused", paused)
	if !paused {
		s.wake()
	}
	return s.store.ProjectByName(ctx, name)
}

// UpdateRequest changes a project; nil fields stay as they are.
type UpdateRequest struct {
	Branch     *string
	NotifyURLs *[]string
	// Git replaces the repository credentials (token or SSH key; a zero
	// value removes them); the webhook secret is kept.
	Git *pipeline.Credentials
	// WebhookSecret replaces the webhook secret ("" removes it).
	WebhookSecret *string
}

// Update changes a project's branch, notification URLs or credentials. A
// new branch is synced at once (its head validated, and activated if
// valid).
func (s *Service) Update(ctx context.Context, name string, req UpdateRequest) (SyncResult, error) {
	p, err := s.store.ProjectByName(ctx, name)
	if err != nil {
		return SyncResult{}, err
	}
	if req.NotifyURLs != nil {
		if err := checkNotifyURLs(*req.NotifyURLs); err != nil {
			return SyncResult{}, err
		}
	}
	if req.Git != nil && len(req.Git.SSHKey) > 0 && req.Git.Token != "" {
		return SyncResult{}, posml.Errorf(posml.KindInvalid, "give an HTTPS token or an SSH key, not both")
	}
	unlock := s.lock(p.ID)
	branchChanged := req.Branch != nil && *req.Branch != "" && *req.Branch != p.Branch
	if branchChanged {
		// Refuse a branch the repository does not have before storing it.
		cred, err := s.store.ProjectCredentials(ctx, p.ID)
		if err == nil && req.Git != nil {
			cred.Username, cred.Token, cred.SSHKey = req.Git.Username, req.Git.Token, req.Git.SSHKey
		}
		var r *gitrepo.Repo
		if err == nil {
			r, err = s.openOrClone(ctx, p, cred)
		}
		if err == nil {
			_, err = r.Fetch(ctx, *req.Branch)
		}
		if err != nil {
			unlock()
			return SyncResult{}, addError(err)
		}
	}
	if req.Branch != nil || req.NotifyURLs != nil {
		if req.Branch != nil && *req.Branch != "" {
			p.Branch = strings.TrimPrefix(*req.Branch, "refs/heads/")
		}
		if req.NotifyURLs != nil {
			p.NotifyURLs = *req.NotifyURLs
		}
		if p, err = s.store.UpdateProject(ctx, p); err != nil {
			unlock()
			return SyncResult{}, err
		}
	}
	if req.Git != nil || req.WebhookSecret != nil {
		cred, err := s.store.ProjectCredentials(ctx, p.ID)
		if err != nil {
			unlock()
			return SyncResult{}, err
		}
		if req.Git != nil {
			cred.Username, cred.Token, cred.SSHKey = req.Git.Username, req.Git.Token, req.Git.SSHKey
		}
		if req.WebhookSecret != nil {
			cred.WebhookSecret = *req.WebhookSecret
		}
		if err := s.store.SetProjectCredentials(ctx, p.ID, cred); err != nil {
			unlock()
			return SyncResult{}, err
		}
	}
	unlock()
	s.log.Info("project updated", "project", name, "branch", p.Branch)
	if branchChanged || req.Git != nil {
		return s.sync(ctx, p) // the new branch, or the repository with the new credentials
	}
	p, err = s.store.ProjectByName(ctx, name)
	return SyncResult{Project: p, Head: p.HeadCommit}, err
}

func checkNotifyURLs(urls []string) error {
	for _, u := range urls {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return posml.Errorf(posml.KindInvalid, fmt.Sprintf("notify URL %q: want an http:// or https:// URL", gitrepo.Redact(u)))
		}
	}
	return nil
}

// Remove deletes a project, its commits and runs, and its clone.
func (s *Service) Remove(ctx context.Context, name string) error {
	p, err := s.store.ProjectByName(ctx, name)
	if err != nil {
		return err
	}
	unlock := s.lock(p.ID)
	defer unlock()
	if err := s.store.DeleteProject(ctx, p.ID); err != nil {
		return err
	}
	s.log.Info("project removed", "project", name)
	return os.RemoveAll(s.cloneDir(p.ID))
}

// Sync fetches a project's branch and validates its head commit if it is
// new (see the package comment).
func (s *Service) Sync(ctx context.Context, name string) (SyncResult, error) {
	p, err := s.store.ProjectByName(ctx, name)
	if err != nil {
		return SyncResult{}, err
	}
	return s.sync(ctx, p)
}

func (s *Service) sync(ctx context.Context, p pipeline.Project) (SyncResult, error) {
	unlock := s.lock(p.ID)
	defer unlock()
	res, err := s.syncLocked(ctx, p)
	msg := ""
	if err != nil {
		msg = err.Error() // git errors are redacted; nothing else here holds a secret
	}
	if rerr := s.store.SetProjectSynced(context.WithoutCancel(ctx), p.ID, res.Head, s.cfg.Now().UTC(), msg); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		s.log.Warn("project sync failed", "project", p.Name, "err", err)
		if fresh, gerr := s.store.ProjectByName(context.WithoutCancel(ctx), p.Name); gerr == nil {
			res.Project = fresh // with its sync_error
		}
		return res, fmt.Errorf("sync project %s: %w", p.Name, err)
	}
	if res.Project, err = s.store.ProjectByName(ctx, p.Name); err != nil {
		return res, err
	}
	return res, nil
}

func (s *Service) syncLocked(ctx context.Context, p pipeline.Project) (SyncResult, error) {
	res := SyncResult{Project: p, Head: p.HeadCommit}
	cred, err := s.store.ProjectCredentials(ctx, p.ID)
	if err != nil {
		return res, err
	}
	r, err := s.openOrClone(ctx, p, cred)
	if err != nil {
		return res, err
	}
	head, err := r.Fetch(ctx, p.Branch)
	if err != nil {
		return res, err
	}
	res.Head = head
	c, err := s.store.Commit(ctx, p.ID, head)
	switch {
	case err == nil:
	case errors.Is(err, posml.ErrNotFound):
		if c, err = s.validate(ctx, r, p, head); err != nil {
			return res, err
		}
		if _, err := s.store.AddCommit(ctx, c); err != nil {
			return res, err
		}
		res.New = &c
		s.log.Info("commit validated", "project", p.Name, "commit", short(head), "valid", c.Valid)
	default:
		return res, err
	}
	if c.Valid && c.SHA != p.ActiveCommit {
		if err := s.ensureModels(ctx, p, c.Settings); err != nil {
			return res, err
		}
		if err := s.store.ActivateCommit(ctx, p.ID, c.SHA); err != nil {
			return res, err
		}
		res.Activated = c.SHA
		s.log.Info("commit activated", "project", p.Name, "commit", short(c.SHA))
		s.wake()
	}
	return res, nil
}

// Refresh brings this server's clone of a project up to date with its
// branch, cloning it when missing; it validates and activates nothing. The
// runner calls it when its clone lacks a run's commit: one another replica
// registered or fetched (replicas keep their own clones).
func (s *Service) Refresh(ctx context.Context, id pipeline.ProjectID) error {
	p, err := s.store.Project(ctx, id)
	if err != nil {
		return err
	}
	cred, err := s.store.ProjectCredentials(ctx, id)
	if err != nil {
		return err
	}
	unlock := s.lock(id)
	defer unlock()
	r, err := s.openOrClone(ctx, p, cred)
	if err != nil {
		return err
	}
	_, err = r.Fetch(ctx, p.Branch)
	return err
}

// openOrClone opens the project's clone, cloning again when it is gone.
func (s *Service) openOrClone(ctx context.Context, p pipeline.Project, cred pipeline.Credentials) (*gitrepo.Repo, error) {
	dir := s.cloneDir(p.ID)
	r, err := s.git.Open(ctx, dir, authOf(cred))
	if err == nil {
		return r, nil
	}
	if posml.KindOf(err) != posml.KindNotFound {
		return nil, err
	}
	os.RemoveAll(dir)
	return s.git.Clone(ctx, p.RepoURL, dir, authOf(cred))
}

// validate checks commit sha out into a temporary directory and validates
// it.
func (s *Service) validate(ctx context.Context, r *gitrepo.Repo, p pipeline.Project, sha string) (pipeline.Commit, error) {
	dir := filepath.Join(s.cfg.Dir, ".validate-"+randomHex())
	defer os.RemoveAll(dir)
	if err := r.Checkout(ctx, sha, dir); err != nil {
		return pipeline.Commit{}, err
	}
	info, err := r.Log(ctx, sha)
	if err != nil {
		return pipeline.Commit{}, err
	}
	now := s.cfg.Now().UTC()
	vr, cfg, err := validate.Project(ctx, dir, s.cfg.Python, now)
	if err != nil {
		return pipeline.Commit{}, fmt.Errorf("validate commit %s: %w", short(sha), err)
	}
	vr.Dir = "" // a temporary directory, meaningless later
	if vr.Valid && cfg != nil {
		// A backend this server does not run makes the commit unusable
		// here: it must not replace an active commit that works.
		if _, err := s.cfg.Executor.Resolve(cfg.Executor); err != nil {
			field, msg, _ := strings.Cut(err.Error(), ": ")
			vr.Diagnostics = append(vr.Diagnostics, posml.Diagnostic{
				File: projectconfig.UserFile, Severity: posml.SeverityError, Rule: field, Msg: msg,
			})
			vr.Errors++
			vr.Valid = false
		}
	}
	js, err := json.Marshal(vr)
	if err != nil {
		return pipeline.Commit{}, err
	}
	c := pipeline.Commit{
		ProjectID: p.ID, SHA: sha, Valid: vr.Valid && cfg != nil, Validation: js,
		Author: info.Author, Message: info.Message, CommittedAt: info.Time, SeenAt: now,
	}
	if c.Valid {
		c.Settings = pipeline.SettingsOf(cfg)
	}
	return c, nil
}

// ensureModels creates the registered models a commit's config names
// that do not exist yet.
func (s *Service) ensureModels(ctx context.Context, p pipeline.Project, st pipeline.Settings) error {
	if s.models == nil {
		return nil
	}
	names := append([]string(nil), st.ModelNames...)
	if st.RegisterModel != "" {
		names = append(names, st.RegisterModel)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		_, err := s.models.CreateRegisteredModel(ctx, n, []registry.Tag{{Key: "posml.project", Value: p.Name}},
			"Created by posml for project "+p.Name+".")
		switch {
		case err == nil:
			s.log.Info("registered model created", "project", p.Name, "model", n)
		case posml.KindOf(err) == posml.KindExists:
		default:
			return fmt.Errorf("create registered model %s: %w", n, err)
		}
	}
	return nil
}

func (s *Service) wake() {
	if s.cfg.WakeFunc != nil {
		s.cfg.WakeFunc()
	}
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// SyncPush syncs the projects a verified push concerns: those following
// the pushed branch whose repository URL matches the push, or, when only
// is non-empty, the project of that name. It returns the names of the
// projects synced; a failed sync of one project does not stop the others.
func (s *Service) SyncPush(ctx context.Context, push *forge.Push, only []pipeline.Project) ([]string, error) {
	var errs []error
	synced := []string{}
	for _, p := range only {
		if p.Branch != push.Branch {
			continue
		}
		if _, err := s.sync(ctx, p); err != nil {
			errs = append(errs, err)
		}
		synced = append(synced, p.Name)
	}
	return synced, errors.Join(errs...)
}

// Matching returns the projects a push concerns: the same repository (by
// URL) and branch.
func (s *Service) Matching(ctx context.Context, push *forge.Push) ([]pipeline.Project, error) {
	ps, err := s.store.Projects(ctx)
	if err != nil {
		return nil, err
	}
	var out []pipeline.Project
	for _, p := range ps {
		if push.Matches(p.RepoURL) {
			out = append(out, p)
		}
	}
	return out, nil
}

// WebhookSecret returns a project's webhook secret ("" when none is set).
func (s *Service) WebhookSecret(ctx context.Context, p pipeline.Project) (string, error) {
	c, err := s.store.ProjectCredentials(ctx, p.ID)
	if err != nil {
		return "", err
	}
	return c.WebhookSecret, nil
}

// Run syncs every project that is not paused each PollInterval until ctx
// ends. Failures are recorded on the project and logged; they do not stop
// the loop. With no PollInterval it only waits for ctx.
func (s *Service) Run(ctx context.Context) error {
	if s.cfg.PollInterval <= 0 {
		<-ctx.Done()
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.cfg.After(s.cfg.PollInterval):
		}
		s.PollOnce(ctx)
	}
}

// PollOnce syncs every project that is not paused, one after the other.
func (s *Service) PollOnce(ctx context.Context) {
	ps, err := s.store.Projects(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("poll projects", "err", err)
		}
		return
	}
	for _, p := range ps {
		if ctx.Err() != nil {
			return
		}
		if p.Paused {
			continue
		}
		s.sync(ctx, p) // logged and recorded by sync
	}
}

var _ Store = (*sqlstore.Store)(nil)
