package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/auth"
)

func TestUsers(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return now })
		u, err := s.CreateUser(ctx, auth.User{Name: "alice", Admin: true}, "$2a$hash")
		if err != nil || u.ID == 0 || !u.CreatedAt.Equal(now) {
			t.Fatalf("CreateUser = %+v, %v", u, err)
		}
		if _, err := s.CreateUser(ctx, auth.User{Name: "alice"}, "x"); posml.KindOf(err) != posml.KindExists {
			t.Errorf("duplicate user: %v", err)
		}
		if _, err := s.CreateUser(ctx, auth.User{Name: "bob"}, "$2a$bob"); err != nil {
			t.Fatal(err)
		}
		got, h, err := s.UserPassword(ctx, "alice")
		if err != nil || h != "$2a$hash" || got != u {
			t.Errorf("UserPassword = %+v, %q, %v", got, h, err)
		}
		if _, _, err := s.UserPassword(ctx, "nobody"); posml.KindOf(err) != posml.KindNotFound {
			t.Errorf("UserPassword(nobody): %v", err)
		}
		us, err := s.Users(ctx)
		if err != nil || len(us) != 2 || us[0].Name != "alice" || !us[0].Admin || us[1].Admin {
			t.Errorf("Users = %+v, %v", us, err)
		}

		exp := now.Add(time.Hour)
		tk, err := s.CreateUserToken(ctx, "h1", auth.UserToken{Name: "ci", User: "alice", ExpiresAt: exp})
		if err != nil || tk.ID == 0 {
			t.Fatalf("CreateUserToken = %+v, %v", tk, err)
		}
		if _, err := s.CreateUserToken(ctx, "h2", auth.UserToken{User: "bob"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateUserToken(ctx, "h3", auth.UserToken{User: "nobody"}); posml.KindOf(err) != posml.KindNotFound {
			t.Errorf("token of nobody: %v", err)
		}
		gu, gt, err := s.UserTokenUser(ctx, "h1", now)
		if err != nil || gu.Name != "alice" || !gt.ExpiresAt.Equal(exp) || !gt.LastUsedAt.Equal(now) || gt.Name != "ci" {
			t.Errorf("UserTokenUser = %+v, %+v, %v", gu, gt, err)
		}
		ts, err := s.UserTokens(ctx, "")
		if err != nil || len(ts) != 2 || ts[0].User != "alice" || !ts[0].LastUsedAt.Equal(now) || !ts[1].ExpiresAt.IsZero() {
			t.Errorf("UserTokens = %+v, %v", ts, err)
		}
		if ts, err := s.UserTokens(ctx, "bob"); err != nil || len(ts) != 1 {
			t.Errorf("UserTokens(bob) = %+v, %v", ts, err)
		}
		if err := s.DeleteUserToken(ctx, tk.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUserToken(ctx, tk.ID); posml.KindOf(err) != posml.KindNotFound {
			t.Errorf("second revoke: %v", err)
		}
		if _, _, err := s.UserTokenUser(ctx, "h1", now); posml.KindOf(err) != posml.KindNotFound {
			t.Errorf("revoked token: %v", err)
		}

		if err := s.CreateSession(ctx, "s1", "bob", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if u, e, err := s.SessionUser(ctx, "s1"); err != nil || u.Name != "bob" || !e.Equal(now.Add(time.Hour)) {
			t.Errorf("SessionUser = %+v, %v, %v", u, e, err)
		}
		if err := s.DeleteSession(ctx, "s1"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SessionUser(ctx, "s1"); posml.KindOf(err) != posml.KindNotFound {
			t.Errorf("deleted session: %v", err)
		}
		// Removing a user removes their tokens and sessions.
		if err := s.CreateSession(ctx, "s2", "bob", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUser(ctx, "bob"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.UserTokenUser(ctx, "h2", now); posml.KindOf(err) != posml.KindNotFound {
			t.Errorf("token of a removed user: %v", err)
		}
		if _, _, err := s.SessionUser(ctx, "s2"); posml.KindOf(err) != posml.KindNotFound {
			t.Errorf("session of a removed user: %v", err)
		}
		if err := s.DeleteUser(ctx, "bob"); posml.KindOf(err) != posml.KindNotFound {
			t.Errorf("second rm: %v", err)
		}
	})
}
