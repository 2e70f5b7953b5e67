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

// TestPasswordThrottle: after FreeFailures wrong passwords in a row a name
// is refused without a check, for 1 s, 2 s, 4 s, ... after each failure;
// the right password after the wait clears the count; other names and
// unknown names are counted on their own.
func TestPasswordThrottle(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(t.TempDir(), "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	us := auth.NewUsers(s)
	us.Now = func() time.Time { return now }
	for _, name := range []string{"alice", "bob"} {
		if _, err := us.AddUser(ctx, name, "correct horse", false); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < auth.FreeFailures; i++ {
		if _, err := us.Password(ctx, "alice", "guess"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("guess %d: %v; want ErrBadCredentials", i+1, err)
		}
	}
	var te *auth.ThrottledError
	if _, err := us.Password(ctx, "alice", "correct horse"); !errors.As(err, &te) || te.Wait != time.Second {
		t.Fatalf("after %d failures: %v; want throttled for 1s", auth.FreeFailures, err)
	}
	if _, err := us.Password(ctx, "bob", "correct horse"); err != nil {
		t.Errorf("bob is throttled with alice: %v", err)
	}
	now = now.Add(time.Second)
	if _, err := us.Password(ctx, "alice", "guess"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("after the wait: %v; want the password checked", err)
	}
	if _, err := us.Password(ctx, "alice", "correct horse"); !errors.As(err, &te) || te.Wait != 2*time.Second {
		t.Fatalf("after %d failures: %v; want throttled for 2s", auth.FreeFailures+1, err)
	}
	if !strings.Contains(te.Error(), `too many wrong passwords for "alice": try again in 2s`) {
		t.Errorf("message %q", te.Error())
	}
	now = now.Add(2 * time.Second)
	if u, err := us.Password(ctx, "alice", "correct horse"); err != nil || u.Name != "alice" {
		t.Fatalf("right password after the wait: %v, %v", u, err)
	}
	if _, err := us.Password(ctx, "alice", "guess"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("count not cleared by the right password: %v", err)
	}
	// Guessing names is counted too; the delay never exceeds MaxThrottle.
	for i := 0; i < 40; i++ {
		us.Password(ctx, "mallory", "x")
		now = now.Add(auth.MaxThrottle)
	}
	now = now.Add(-auth.MaxThrottle)
	if _, err := us.Password(ctx, "mallory", "x"); !errors.As(err, &te) || te.Wait != auth.MaxThrottle {
		t.Errorf("after 40 failures: %v; want throttled for %s", err, auth.MaxThrottle)
	}
	// The web login goes through Login, which checks the same way.
	if _, _, err := us.Login(ctx, "mallory", "x"); !errors.As(err, &te) {
		t.Errorf("Login of a throttled name: %v", err)
	}
}
