package sqlstore

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml/internal/datamart"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/sealed"
)

// TestSecretsAtRest: with a key, project credentials and source DSNs are
// stored sealed and read back plain; secrets stored in plain text before
// the key existed are read as they are and sealed by SealSecrets; without
// the key, a sealed secret is an error that says what to do.
func TestSecretsAtRest(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		key := make([]byte, sealed.KeySize)
		rand.Read(key)
		box, err := sealed.New(key)
		if err != nil {
			t.Fatal(err)
		}
		cred := pipeline.Credentials{Username: "oauth2", Token: "glpat-secret", SSHKey: []byte("-----BEGIN KEY-----\nxyz\n"), WebhookSecret: "hook"}

		// Before the key: plain text.
		old, err := s.CreateProject(ctx, pipeline.Project{Name: "old", RepoURL: "https://git.example.com/old.git"}, cred)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateMartSource(ctx, datamart.Source{Name: "oldsrc", Kind: "postgres", DSN: "postgres://u:pw@db/x", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}

		// The key arrives.
		s.box = box
		p, err := s.CreateProject(ctx, pipeline.Project{Name: "new", RepoURL: "https://git.example.com/new.git"}, cred)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateMartSource(ctx, datamart.Source{Name: "newsrc", Kind: "postgres", DSN: "postgres://u:pw@db/y", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		raw := func(q string, args ...any) string {
			t.Helper()
			var v string
			if err := s.readRow(ctx, q, args...).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		for _, col := range []string{"cred_token", "cred_ssh_key", "cred_webhook_secret"} {
			if v := raw(`SELECT `+col+` FROM projects WHERE id = ?`, p.ID); !sealed.IsSealed(v) {
				t.Errorf("new project's %s stored as %q", col, v)
			}
			if v := raw(`SELECT `+col+` FROM projects WHERE id = ?`, old.ID); sealed.IsSealed(v) || v == "" {
				t.Errorf("old project's %s: %q; want the plain value until SealSecrets", col, v)
			}
		}
		if v := raw(`SELECT dsn FROM mart_sources WHERE name = ?`, "newsrc"); !sealed.IsSealed(v) || strings.Contains(v, "pw@") {
			t.Errorf("new source's dsn stored as %q", v)
		}
		for _, id := range []pipeline.ProjectID{p.ID, old.ID} {
			got, err := s.ProjectCredentials(ctx, id)
			if err != nil || got.Token != cred.Token || string(got.SSHKey) != string(cred.SSHKey) || got.WebhookSecret != cred.WebhookSecret || got.Username != cred.Username {
				t.Errorf("credentials of project %s: %+v, %v", id, got, err)
			}
		}

		// SealSecrets seals the old ones, once.
		n, err := s.SealSecrets(ctx)
		if err != nil || n != 4 {
			t.Errorf("SealSecrets = %d, %v; want 4 (3 columns of old, oldsrc's dsn)", n, err)
		}
		if n, err := s.SealSecrets(ctx); err != nil || n != 0 {
			t.Errorf("second SealSecrets = %d, %v; want 0", n, err)
		}
		if v := raw(`SELECT cred_token FROM projects WHERE id = ?`, old.ID); !sealed.IsSealed(v) {
			t.Errorf("old project's token after SealSecrets: %q", v)
		}
		srcs, err := s.MartSources(ctx)
		if err != nil || len(srcs) != 2 || srcs[0].DSN != "postgres://u:pw@db/y" || srcs[1].DSN != "postgres://u:pw@db/x" {
			t.Errorf("sources: %+v, %v", srcs, err)
		}
		if err := s.SetProjectCredentials(ctx, old.ID, pipeline.Credentials{Token: "rotated"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ProjectCredentials(ctx, old.ID); got.Token != "rotated" || got.SSHKey != nil {
			t.Errorf("after SetProjectCredentials: %+v", got)
		}

		// Without the key: a clear error, nothing returned.
		s.box = nil
		if got, err := s.ProjectCredentials(ctx, p.ID); !errors.Is(err, sealed.ErrNoKey) || got.Token != "" {
			t.Errorf("credentials without the key: %+v, %v; want ErrNoKey", got, err)
		}
		if _, err := s.MartSource(ctx, "newsrc"); !errors.Is(err, sealed.ErrNoKey) {
			t.Errorf("source without the key: %v", err)
		}
	})
}
