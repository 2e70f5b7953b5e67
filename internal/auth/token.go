package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/pipeline"
)

// TokenPrefix starts every run token, so that one is recognisable in a
// leaked log or config file.
const TokenPrefix = "posml_rt_"

// Default lifetimes.
const (
	// DefaultGrace is how long a token outlives its run (Revoke), and its
	// attempt's timeout (Issue): time for the last requests of a process
	// that is being stopped.
	DefaultGrace = time.Minute
	// DefaultMaxLifetime bounds a token whose run has no timeout.
	DefaultMaxLifetime = 24 * time.Hour
)

// ErrUnauthenticated is the error of Verify for a token that is unknown,
// malformed or expired.
var ErrUnauthenticated = errors.New("invalid or expired run token")

// Store keeps token hashes and project claims (*sqlstore.Store).
type Store interface {
	CreateRunToken(ctx context.Context, hash string, c lineage.Caller) error
	RunTokenCaller(ctx context.Context, hash string) (lineage.Caller, error)
	ExpireRunTokens(ctx context.Context, run pipeline.RunID, at time.Time) error
	DeleteExpiredRunTokens(ctx context.Context, before time.Time) (int64, error)
	ClaimResource(ctx context.Context, c lineage.Claim) (pipeline.ProjectID, error)
	Commit(ctx context.Context, id pipeline.ProjectID, sha string) (pipeline.Commit, error)
}

// Config tunes an Issuer; the zero value takes the defaults.
type Config struct {
	Grace       time.Duration // DefaultGrace when 0
	MaxLifetime time.Duration // DefaultMaxLifetime when 0
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Issuer issues, verifies and revokes run tokens.
type Issuer struct {
	store Store
	cfg   Config
}

// New returns an Issuer storing tokens in store.
func New(store Store, cfg Config) *Issuer {
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.MaxLifetime <= 0 {
		cfg.MaxLifetime = DefaultMaxLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Issuer{store: store, cfg: cfg}
}

// Issue makes a new token for one attempt of run and returns its text,
// which is shown nowhere but in the attempt's environment. The token expires
// after the attempt's timeout (train_timeout of the run's commit) plus the
// grace period, or when the run ends (Revoke), whichever comes first.
//
// Issue also claims for the run's project the experiment and registered
// models its configuration names, unless another project claimed them
// first, so that the token may write them.
func (is *Issuer) Issue(ctx context.Context, run pipeline.Run) (string, error) {
	now := is.cfg.Now()
	life := is.cfg.MaxLifetime
	c, err := is.store.Commit(ctx, run.ProjectID, run.Commit)
	switch {
	case err == nil:
		if err := is.claim(ctx, run.ProjectID, c.Settings, now); err != nil {
			return "", err
		}
		if t := c.Settings.TrainTimeout; t > 0 && t+is.cfg.Grace < life {
			life = t + is.cfg.Grace
		}
	case posml.KindOf(err) != posml.KindNotFound:
		return "", fmt.Errorf("issue run token: %w", err)
	}
	return is.IssueCaller(ctx, lineage.Caller{
		ProjectID: run.ProjectID, Project: run.Project, PipelineRunID: run.ID, Commit: run.Commit,
		ExpiresAt: now.Add(life),
	})
}

// IssueCaller makes and stores a token for c, valid until c.ExpiresAt.
func (is *Issuer) IssueCaller(ctx context.Context, c lineage.Caller) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("issue run token: %w", err)
	}
	tok := TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	if err := is.store.CreateRunToken(ctx, Hash(tok), c); err != nil {
		return "", fmt.Errorf("issue run token: %w", err)
	}
	return tok, nil
}

// claim claims the resources a commit's settings name for project.
func (is *Issuer) claim(ctx context.Context, project pipeline.ProjectID, s pipeline.Settings, now time.Time) error {
	claims := []lineage.Claim{}
	if s.ExperimentName != "" {
		claims = append(claims, lineage.Claim{Kind: lineage.Experiment, Name: s.ExperimentName})
	}
	for _, m := range append([]string{s.RegisterModel}, s.ModelNames...) {
		if m != "" {
			claims = append(claims, lineage.Claim{Kind: lineage.RegisteredModel, Name: m})
		}
	}
	for _, c := range claims {
		c.ProjectID, c.ClaimedAt = project, now
		// A name another project claimed first stays theirs: this
		// project's token will be refused writing it.
		if _, err := is.store.ClaimResource(ctx, c); err != nil {
			return fmt.Errorf("issue run token: %w", err)
		}
	}
	return nil
}

// Verify returns the caller a token stands for, or ErrUnauthenticated.
func (is *Issuer) Verify(ctx context.Context, token string) (lineage.Caller, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 256 {
		return lineage.Caller{}, ErrUnauthenticated
	}
	c, err := is.store.RunTokenCaller(ctx, Hash(token))
	if err != nil {
		if posml.KindOf(err) == posml.KindNotFound {
			return lineage.Caller{}, ErrUnauthenticated
		}
		return lineage.Caller{}, fmt.Errorf("verify run token: %w", err)
	}
	if !is.cfg.Now().Before(c.ExpiresAt) {
		return lineage.Caller{}, ErrUnauthenticated
	}
	return c, nil
}

// Revoke ends the tokens of a run that has ended: they expire after the
// grace period. It also deletes the tokens that expired more than
// MaxLifetime ago.
func (is *Issuer) Revoke(ctx context.Context, run pipeline.RunID) error {
	now := is.cfg.Now()
	if err := is.store.ExpireRunTokens(ctx, run, now.Add(is.cfg.Grace)); err != nil {
		return fmt.Errorf("revoke run tokens of run %s: %w", run, err)
	}
	if _, err := is.store.DeleteExpiredRunTokens(ctx, now.Add(-is.cfg.MaxLifetime)); err != nil {
		return fmt.Errorf("revoke run tokens of run %s: %w", run, err)
	}
	return nil
}

// Hash is the stored form of a token: its SHA-256 in hex. A token is 256
// random bits, so a fast unsalted hash is enough.
func Hash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
