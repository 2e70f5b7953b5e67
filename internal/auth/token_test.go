package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml/internal/auth"
	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/runner"
	"github.com/posml/posml/internal/sqlstore"
)

// fixture is a store with one project whose active commit names an
// experiment and two models, and a queued train run of it.
func fixture(t *testing.T) (*sqlstore.Store, pipeline.Run) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(t.TempDir(), "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	p, err := s.CreateProject(ctx, pipeline.Project{Name: "iris", RepoURL: "/tmp/iris"}, pipeline.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	st := pipeline.Settings{ExperimentName: "iris-exp", ModelNames: []string{"knn", "svm"}, RegisterModel: "knn",
		TrainTimeout: time.Hour, MaxActiveRuns: 1}
	if _, err := s.AddCommit(ctx, pipeline.Commit{ProjectID: p.ID, SHA: "c1", Valid: true, Settings: st}); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivateCommit(ctx, p.ID, "c1"); err != nil {
		t.Fatal(err)
	}
	run, err := s.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Project: "iris", Pipeline: pipeline.Train, Cause: pipeline.CauseManual,
		LogicalDate: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	run.Project = "iris"
	return s, run
}

func TestIssueVerifyRevoke(t *testing.T) {
	ctx := context.Background()
	s, run := fixture(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	is := auth.New(s, auth.Config{Grace: time.Minute, Now: func() time.Time { return now }})

	tok, err := is.Issue(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, auth.TokenPrefix) || len(tok) < 40 {
		t.Fatalf("token %q: want %s and 256 random bits", tok, auth.TokenPrefix)
	}
	tok2, _ := is.Issue(ctx, run)
	if tok2 == tok {
		t.Fatal("two tokens are equal")
	}
	// Only the hash is stored.
	if _, err := s.RunTokenCaller(ctx, tok); err == nil {
		t.Error("the token text is stored")
	}

	c, err := is.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	want := lineage.Caller{ProjectID: run.ProjectID, Project: "iris", PipelineRunID: run.ID, Commit: "c1",
		ExpiresAt: now.Add(time.Hour + time.Minute)}
	if c != want {
		t.Errorf("Verify = %+v; want %+v", c, want)
	}

	// The commit's experiment and models are claimed for the project.
	for _, cl := range []lineage.Claim{{Kind: lineage.Experiment, Name: "iris-exp"}, {Kind: lineage.RegisteredModel, Name: "knn"}, {Kind: lineage.RegisteredModel, Name: "svm"}} {
		if owner, err := s.ResourceOwner(ctx, cl.Kind, cl.Name); err != nil || owner != run.ProjectID {
			t.Errorf("owner of %s %s = %v, %v; want %v", cl.Kind, cl.Name, owner, err, run.ProjectID)
		}
	}

	for _, bad := range []string{"", "nope", auth.TokenPrefix + "AAAA", tok + "x"} {
		if _, err := is.Verify(ctx, bad); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("Verify(%q) = %v; want ErrUnauthenticated", bad, err)
		}
	}

	// Expiry: after the attempt's timeout plus grace.
	now = now.Add(time.Hour + time.Minute)
	if _, err := is.Verify(ctx, tok); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("Verify after expiry = %v; want ErrUnauthenticated", err)
	}

	// Revoke: valid for the grace period after the run ends, then not.
	now = time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)
	if err := is.Revoke(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	now = now.Add(30 * time.Second)
	if _, err := is.Verify(ctx, tok2); err != nil {
		t.Errorf("Verify within grace = %v", err)
	}
	now = now.Add(30 * time.Second)
	if _, err := is.Verify(ctx, tok2); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("Verify after revoke = %v; want ErrUnauthenticated", err)
	}
}

// The store keeps the tokens, and the runner gets them from an Issuer.
var (
	_ auth.Store         = (*sqlstore.Store)(nil)
	_ runner.TokenIssuer = (*auth.Issuer)(nil)
)
