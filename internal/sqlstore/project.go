package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/pipeline"
)

// millisOf stores a time as milliseconds since the epoch; the zero time is 0.
func millisOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// timeOfMillis reads a time stored by millisOf (in UTC).
func timeOfMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// nullMillis stores an optional time: NULL for the zero time.
func nullMillis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func timeOfNull(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}

func projectNotFound(what string) error {
	return &posml.Error{Kind: posml.KindNotFound, Msg: "project " + what + " not found"}
}

const projectCols = `id, name, repo_url, branch, paused, active_commit, head_commit, notify_urls,
	last_sync_at, sync_error, created_at, updated_at,
	(cred_username <> '' OR cred_token <> '' OR cred_ssh_key <> '')`

func scanProject(sc interface{ Scan(...any) error }) (pipeline.Project, error) {
	var p pipeline.Project
	var paused, hasCred bool
	var pausedN int
	var notify string
	var lastSync, created, updated int64
	if err := sc.Scan(&p.ID, &p.Name, &p.RepoURL, &p.Branch, &pausedN, &p.ActiveCommit, &p.HeadCommit, &notify,
		&lastSync, &p.SyncError, &created, &updated, &hasCred); err != nil {
		return p, err
	}
	paused = pausedN != 0
	p.Paused, p.HasCredentials = paused, hasCred
	if notify != "" && notify != "[]" {
		_ = json.Unmarshal([]byte(notify), &p.NotifyURLs)
	}
	p.LastSyncAt, p.CreatedAt, p.UpdatedAt = timeOfMillis(lastSync), timeOfMillis(created), timeOfMillis(updated)
	return p, nil
}

// CreateProject stores a new project with its credentials (which may be
// zero). ID, ActiveCommit, HeadCommit and the times of p are ignored. A
// project of the same name is a KindExists error.
func (s *Store) CreateProject(ctx context.Context, p pipeline.Project, cred pipeline.Credentials) (pipeline.Project, error) {
	if strings.TrimSpace(p.Name) == "" {
		return p, posml.Errorf(posml.KindInvalid, "project name is empty")
	}
	if p.RepoURL == "" {
		return p, posml.Errorf(posml.KindInvalid, "project "+p.Name+": repository URL is empty")
	}
	if p.Branch == "" {
		p.Branch = "main"
	}
	notify, _ := json.Marshal(orEmpty(p.NotifyURLs))
	now := s.now().UTC().Truncate(time.Millisecond)
	tok, key, hook, err := s.sealCredentials(cred)
	if err != nil {
		return p, err
	}
	var id int64
	err = s.inTx(ctx, func(t *tx) error {
		return t.queryRow(`INSERT INTO projects (name, repo_url, branch, paused, notify_urls, created_at, updated_at,
			cred_username, cred_token, cred_ssh_key, cred_webhook_secret)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			p.Name, p.RepoURL, p.Branch, boolInt(p.Paused), string(notify), now.UnixMilli(), now.UnixMilli(),
			cred.Username, tok, key, hook).Scan(&id)
	})
	if isUniqueViolation(err) {
		return p, &posml.Error{Kind: posml.KindExists, Msg: "project " + p.Name + " already exists"}
	}
	if err != nil {
		return p, internal("create project", err)
	}
	return s.Project(ctx, pipeline.ProjectID(id))
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Project returns the project with the given ID.
func (s *Store) Project(ctx context.Context, id pipeline.ProjectID) (pipeline.Project, error) {
	p, err := scanProject(s.readRow(ctx, `SELECT `+projectCols+` FROM projects WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, projectNotFound(id.String())
	}
	return p, internal("get project", err)
}

// ProjectByName returns the project with the given name.
func (s *Store) ProjectByName(ctx context.Context, name string) (pipeline.Project, error) {
	p, err := scanProject(s.readRow(ctx, `SELECT `+projectCols+` FROM projects WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return p, projectNotFound(name)
	}
	return p, internal("get project", err)
}

// Projects lists all projects by name.
func (s *Store) Projects(ctx context.Context) ([]pipeline.Project, error) {
	rows, err := s.readQuery(ctx, `SELECT `+projectCols+` FROM projects ORDER BY name`)
	if err != nil {
		return nil, internal("list projects", err)
	}
	defer rows.Close()
	var ps []pipeline.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, internal("list projects", err)
		}
		ps = append(ps, p)
	}
	return ps, internal("list projects", rows.Err())
}

// UpdateProject changes a project's RepoURL, Branch and NotifyURLs (the
// other fields have methods of their own).
func (s *Store) UpdateProject(ctx context.Context, p pipeline.Project) (pipeline.Project, error) {
	if p.Branch == "" {
		p.Branch = "main"
	}
	notify, _ := json.Marshal(orEmpty(p.NotifyURLs))
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE projects SET repo_url = ?, branch = ?, notify_urls = ?, updated_at = ? WHERE id = ?`,
			p.RepoURL, p.Branch, string(notify), s.nowMillis(), p.ID)
		return oneAffected(res, err, projectNotFound(p.ID.String()))
	})
	if err != nil {
		return p, internal("update project", err)
	}
	return s.Project(ctx, p.ID)
}

// oneAffected turns an UPDATE's result into notFound when it touched no row.
func oneAffected(res sql.Result, err error, notFound error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound
	}
	return nil
}

// SetProjectCredentials replaces a project's credentials.
func (s *Store) SetProjectCredentials(ctx context.Context, id pipeline.ProjectID, cred pipeline.Credentials) error {
	tok, key, hook, err := s.sealCredentials(cred)
	if err != nil {
		return err
	}
	return internal("set project credentials", s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE projects SET cred_username = ?, cred_token = ?, cred_ssh_key = ?, cred_webhook_secret = ?, updated_at = ? WHERE id = ?`,
			cred.Username, tok, key, hook, s.nowMillis(), id)
		return oneAffected(res, err, projectNotFound(id.String()))
	}))
}

// sealCredentials returns the stored form of a project's secrets.
func (s *Store) sealCredentials(cred pipeline.Credentials) (tok, key, hook string, err error) {
	if tok, err = s.seal("projects.cred_token", cred.Token); err != nil {
		return
	}
	if key, err = s.seal("projects.cred_ssh_key", string(cred.SSHKey)); err != nil {
		return
	}
	hook, err = s.seal("projects.cred_webhook_secret", cred.WebhookSecret)
	return
}

// ProjectCredentials returns a project's credentials. Only the git client
// and the webhook check may call it; nothing may show its result.
func (s *Store) ProjectCredentials(ctx context.Context, id pipeline.ProjectID) (pipeline.Credentials, error) {
	var c pipeline.Credentials
	var key string
	err := s.readRow(ctx, `SELECT cred_username, cred_token, cred_ssh_key, cred_webhook_secret FROM projects WHERE id = ?`, id).
		Scan(&c.Username, &c.Token, &key, &c.WebhookSecret)
	if errors.Is(err, sql.ErrNoRows) {
		return c, projectNotFound(id.String())
	}
	if err != nil {
		return c, internal("get project credentials", err)
	}
	if c.Token, err = s.open("projects.cred_token", c.Token); err != nil {
		return pipeline.Credentials{}, err
	}
	if key, err = s.open("projects.cred_ssh_key", key); err != nil {
		return pipeline.Credentials{}, err
	}
	if c.WebhookSecret, err = s.open("projects.cred_webhook_secret", c.WebhookSecret); err != nil {
		return pipeline.Credentials{}, err
	}
	if key != "" {
		c.SSHKey = []byte(key)
	}
	return c, nil
}

// SetProjectSynced records the outcome of a sync: the branch head seen (""
// keeps the previous one) and the error ("" when it worked).
func (s *Store) SetProjectSynced(ctx context.Context, id pipeline.ProjectID, head string, at time.Time, syncErr string) error {
	return internal("set project synced", s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE projects SET head_commit = CASE WHEN ? = '' THEN head_commit ELSE ? END,
			last_sync_at = ?, sync_error = ?, updated_at = ? WHERE id = ?`,
			head, head, millisOf(at), syncErr, s.nowMillis(), id)
		return oneAffected(res, err, projectNotFound(id.String()))
	}))
}

// SetProjectPaused pauses or resumes a project. Pausing stops its pipelines
// from firing (runs already queued or running go on); resuming makes the
// scheduler look at them at once, and the catch-up rule decides what
// happens to the fires missed meanwhile.
func (s *Store) SetProjectPaused(ctx context.Context, id pipeline.ProjectID, paused bool) error {
	return internal("pause project", s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE projects SET paused = ?, updated_at = ? WHERE id = ?`, boolInt(paused), s.nowMillis(), id)
		if err := oneAffected(res, err, projectNotFound(id.String())); err != nil {
			return err
		}
		if paused {
			_, err = t.exec(`UPDATE pipelines SET next_fire_at = NULL, updated_at = ? WHERE project_id = ?`, s.nowMillis(), id)
		} else {
			_, err = t.exec(`UPDATE pipelines SET next_fire_at = 0, updated_at = ? WHERE project_id = ? AND expr <> ''`, s.nowMillis(), id)
		}
		return err
	}))
}

// DeleteProject removes a project with its commits, schedules, runs and
// their history.
func (s *Store) DeleteProject(ctx context.Context, id pipeline.ProjectID) error {
	return internal("delete project", s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`DELETE FROM projects WHERE id = ?`, id)
		return oneAffected(res, err, projectNotFound(id.String()))
	}))
}

// AddCommit records a validated commit. It reports false (and changes
// nothing) when the commit was already recorded.
func (s *Store) AddCommit(ctx context.Context, c pipeline.Commit) (bool, error) {
	if c.SHA == "" {
		return false, posml.Errorf(posml.KindInvalid, "commit has no SHA")
	}
	validation := string(c.Validation)
	if validation == "" {
		validation = "{}"
	}
	settings, err := json.Marshal(c.Settings)
	if err != nil {
		return false, internal("add commit", err)
	}
	if c.SeenAt.IsZero() {
		c.SeenAt = s.now()
	}
	var added bool
	err = s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`INSERT INTO commits (project_id, sha, valid, validation, settings, author, message, committed_at, seen_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, sha) DO NOTHING`,
			c.ProjectID, c.SHA, boolInt(c.Valid), validation, string(settings), c.Author, c.Message, millisOf(c.CommittedAt), millisOf(c.SeenAt))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		added = n == 1
		return err
	})
	if isForeignKeyViolation(err) {
		return false, projectNotFound(c.ProjectID.String())
	}
	return added, internal("add commit", err)
}

const commitCols = `project_id, sha, valid, validation, settings, author, message, committed_at, seen_at`

func scanCommit(sc interface{ Scan(...any) error }) (pipeline.Commit, error) {
	var c pipeline.Commit
	var valid int
	var validation, settings string
	var committed, seen int64
	if err := sc.Scan(&c.ProjectID, &c.SHA, &valid, &validation, &settings, &c.Author, &c.Message, &committed, &seen); err != nil {
		return c, err
	}
	c.Valid = valid != 0
	c.Validation = json.RawMessage(validation)
	if err := json.Unmarshal([]byte(settings), &c.Settings); err != nil {
		return c, err
	}
	c.CommittedAt, c.SeenAt = timeOfMillis(committed), timeOfMillis(seen)
	return c, nil
}

// Commit returns a recorded commit of a project.
func (s *Store) Commit(ctx context.Context, id pipeline.ProjectID, sha string) (pipeline.Commit, error) {
	c, err := scanCommit(s.readRow(ctx, `SELECT `+commitCols+` FROM commits WHERE project_id = ? AND sha = ?`, id, sha))
	if errors.Is(err, sql.ErrNoRows) {
		return c, &posml.Error{Kind: posml.KindNotFound, Msg: "commit " + sha + " of project " + id.String() + " not found"}
	}
	return c, internal("get commit", err)
}

// Commits lists the commits recorded for a project, newest first, at most
// limit (all when limit <= 0).
func (s *Store) Commits(ctx context.Context, id pipeline.ProjectID, limit int) ([]pipeline.Commit, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := s.readQuery(ctx, `SELECT `+commitCols+` FROM commits WHERE project_id = ? ORDER BY seen_at DESC, sha LIMIT ?`, id, limit)
	if err != nil {
		return nil, internal("list commits", err)
	}
	defer rows.Close()
	var cs []pipeline.Commit
	for rows.Next() {
		c, err := scanCommit(rows)
		if err != nil {
			return nil, internal("list commits", err)
		}
		cs = append(cs, c)
	}
	return cs, internal("list commits", rows.Err())
}

// ActivateCommit makes a recorded, valid commit the project's active one:
// new runs are pinned to it, and its timetables replace the pipelines'
// from now on (the scheduler recomputes their next fire at its next tick;
// the last scheduled data interval is kept, so the catch-up rule applies
// across the change). An invalid commit is a KindInvalid error and changes
// nothing.
func (s *Store) ActivateCommit(ctx context.Context, id pipeline.ProjectID, sha string) error {
	c, err := s.Commit(ctx, id, sha)
	if err != nil {
		return err
	}
	if !c.Valid {
		return &posml.Error{Kind: posml.KindInvalid, Msg: "commit " + sha + " is not valid; the active commit stays"}
	}
	now := s.nowMillis()
	return internal("activate commit", s.inTx(ctx, func(t *tx) error {
		var paused int
		if err := t.queryRow(`SELECT paused FROM projects WHERE id = ?`, id).Scan(&paused); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return projectNotFound(id.String())
			}
			return err
		}
		if _, err := t.exec(`UPDATE projects SET active_commit = ?, updated_at = ? WHERE id = ?`, sha, now, id); err != nil {
			return err
		}
		for _, k := range []pipeline.Kind{pipeline.Train, pipeline.Trigger} {
			sp := c.Settings.Spec(k)
			next := sql.NullInt64{Valid: sp.Expr != "" && paused == 0} // 0: due at once
			mode := sp.Mode
			if mode == "" {
				mode = "trigger"
			}
			tz := sp.TimeZone
			if tz == "" {
				tz = "UTC"
			}
			maxActive := c.Settings.MaxActiveRuns
			if maxActive <= 0 {
				maxActive = 1
			}
			if _, err := t.exec(`INSERT INTO pipelines (project_id, kind, commit_sha, expr, time_zone, start_at, mode, catchup, max_active_runs, next_fire_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (project_id, kind) DO UPDATE SET commit_sha = excluded.commit_sha, expr = excluded.expr,
					time_zone = excluded.time_zone, start_at = excluded.start_at, mode = excluded.mode, catchup = excluded.catchup,
					max_active_runs = excluded.max_active_runs, next_fire_at = excluded.next_fire_at, updated_at = excluded.updated_at`,
				id, string(k), sha, sp.Expr, tz, millisOf(sp.Start), mode, boolInt(sp.Catchup), maxActive, next, now); err != nil {
				return err
			}
		}
		return nil
	}))
}

// isForeignKeyViolation reports whether err is a foreign key violation.
func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}
