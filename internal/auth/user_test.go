package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/auth"
	"github.com/posml/posml/internal/sqlstore"
)

func TestUsers(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(t.TempDir(), "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	us := auth.NewUsers(s)
	us.Now = func() time.Time { return now }

	if _, err := us.AddUser(ctx, "alice", "correct horse", false); err != nil {
		t.Fatal(err)
	}
	if _, err := us.AddUser(ctx, "alice", "another pass", false); posml.KindOf(err) != posml.KindExists {
		t.Errorf("second alice: %v; want KindExists", err)
	}
	for _, bad := range []string{"", "a b", "a:b"} {
		if _, err := us.AddUser(ctx, bad, "correct horse", false); posml.KindOf(err) != posml.KindInvalid {
			t.Errorf("AddUser(%q): %v; want KindInvalid", bad, err)
		}
	}
	if u, err := us.Password(ctx, "alice", "correct horse"); err != nil || u.Name != "alice" {
		t.Errorf("Password = %v, %v", u, err)
	}
	for _, c := range [][2]string{{"alice", "wrong horse"}, {"bob", "correct horse"}} {
		if _, err := us.Password(ctx, c[0], c[1]); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("Password(%q, %q) = %v; want ErrBadCredentials", c[0], c[1], err)
		}
	}

	tok, ut, err := us.CreateToken(ctx, "alice", "ci", time.Hour)
	if err != nil || !strings.HasPrefix(tok, auth.UserTokenPrefix) || ut.ExpiresAt != now.Add(time.Hour) {
		t.Fatalf("CreateToken = %q, %+v, %v", tok, ut, err)
	}
	if _, _, err := us.CreateToken(ctx, "nobody", "", 0); posml.KindOf(err) != posml.KindNotFound {
		t.Errorf("token of an unknown user: %v", err)
	}
	if u, err := us.Token(ctx, tok); err != nil || u.Name != "alice" {
		t.Errorf("Token = %v, %v", u, err)
	}
	for _, bad := range []string{"", tok + "x", auth.TokenPrefix + "abc"} {
		if _, err := us.Token(ctx, bad); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("Token(%q) = %v", bad, err)
		}
	}
	ts, err := s.UserTokens(ctx, "alice")
	if err != nil || len(ts) != 1 || ts[0].LastUsedAt != now {
		t.Errorf("UserTokens = %+v, %v; want one, last used now", ts, err)
	}

	sess, _, err := us.Login(ctx, "alice", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if u, err := us.Session(ctx, sess); err != nil || u.Name != "alice" {
		t.Errorf("Session = %v, %v", u, err)
	}
	if _, _, err := us.Login(ctx, "alice", "nope nope"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("Login with a wrong password: %v", err)
	}

	// Expiry.
	now = now.Add(time.Hour)
	if _, err := us.Token(ctx, tok); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("expired token: %v", err)
	}
	if _, err := us.Session(ctx, sess); err != nil {
		t.Errorf("session after an hour: %v", err)
	}
	now = now.Add(auth.DefaultSessionLifetime)
	if _, err := us.Session(ctx, sess); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("expired session: %v", err)
	}

	// Logout, and removing the user, end the credentials.
	now = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	sess, _, _ = us.Login(ctx, "alice", "correct horse")
	if err := us.Logout(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if _, err := us.Session(ctx, sess); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("session after logout: %v", err)
	}
	tok2, _, _ := us.CreateToken(ctx, "alice", "", 0)
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := us.Token(ctx, tok2); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("token of a removed user: %v", err)
	}
}
