package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/posml/posml"
)

// Users: the people who log in when the server requires authentication.
// A user proves who they are with a password (HTTP Basic, the UI's login
// form), a user token (Bearer, for MLflow clients and scripts), or a
// session cookie the login form set. Passwords are stored as bcrypt
// hashes, tokens and sessions as their SHA-256 (Hash).

// UserTokenPrefix starts every user token; SessionPrefix every session.
const (
	UserTokenPrefix = "posml_ut_"
	SessionPrefix   = "posml_s_"
)

// DefaultSessionLifetime is how long a login lasts.
const DefaultSessionLifetime = 7 * 24 * time.Hour

// ErrBadCredentials is the error of the user checks for an unknown user, a
// wrong password, or a token or session that is unknown or expired.
var ErrBadCredentials = errors.New("invalid credentials")

// User is a person who may log in.
type User struct {
	ID        int64
	Name      string
	Admin     bool
	CreatedAt time.Time
}

// UserToken describes a user's API token; the token itself is not kept.
type UserToken struct {
	ID         int64
	Name       string
	User       string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
	ExpiresAt  time.Time // zero: never expires
}

// UserStore keeps users, token and session hashes (*sqlstore.Store).
// Lookups return a posml.KindNotFound error for what does not exist.
type UserStore interface {
	CreateUser(ctx context.Context, u User, passwordHash string) (User, error)
	UserPassword(ctx context.Context, name string) (User, string, error)
	CreateUserToken(ctx context.Context, hash string, t UserToken) (UserToken, error)
	UserTokenUser(ctx context.Context, hash string, now time.Time) (User, UserToken, error)
	CreateSession(ctx context.Context, hash, user string, expires time.Time) error
	SessionUser(ctx context.Context, hash string) (User, time.Time, error)
	DeleteSession(ctx context.Context, hash string) error
}

// Users checks and issues the credentials of users.
type Users struct {
	store UserStore
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// SessionLifetime is DefaultSessionLifetime when 0.
	SessionLifetime time.Duration

	throttle throttle // of password guessing, per name
}

// NewUsers returns the user checks backed by store.
func NewUsers(store UserStore) *Users { return &Users{store: store} }

func (us *Users) now() time.Time {
	if us.Now != nil {
		return us.Now()
	}
	return time.Now()
}

// HashPassword returns the bcrypt hash of a password, refusing one shorter
// than 8 characters or longer than bcrypt takes (72 bytes).
func HashPassword(password string) (string, error) {
	if len(password) < 8 {
		return "", posml.Errorf(posml.KindInvalid, "the password is too short: at least 8 characters, please")
	}
	if len(password) > 72 {
		return "", posml.Errorf(posml.KindInvalid, "the password is too long: at most 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// AddUser creates a user with a password.
func (us *Users) AddUser(ctx context.Context, name, password string, admin bool) (User, error) {
	if err := validUserName(name); err != nil {
		return User{}, err
	}
	h, err := HashPassword(password)
	if err != nil {
		return User{}, err
	}
	return us.store.CreateUser(ctx, User{Name: name, Admin: admin}, h)
}

func validUserName(name string) error {
	if name == "" || len(name) > 64 || strings.ContainsAny(name, ": \t\r\n/") {
		return posml.Errorf(posml.KindInvalid, fmt.Sprintf("user name %q: want 1 to 64 characters, no spaces, ':' or '/'", name))
	}
	return nil
}

// dummyHash is compared against when the user does not exist, so that the
// answer takes as long as for a wrong password.
// It is made on first use: bcrypt costs ~50 ms, which every posml command
// would otherwise pay at start-up.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("posml-no-such-user"), bcrypt.DefaultCost) // fails only for a too long password
	return h
})

// Password returns the user of a name and password, or ErrBadCredentials;
// or, for a name that had too many wrong passwords in a row, a
// *ThrottledError before any check (see FreeFailures).
func (us *Users) Password(ctx context.Context, name, password string) (User, error) {
	if wait := us.throttle.wait(name, us.now()); wait > 0 {
		return User{}, &ThrottledError{Name: name, Wait: wait}
	}
	u, h, err := us.store.UserPassword(ctx, name)
	if err != nil {
		if posml.KindOf(err) == posml.KindNotFound {
			_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
			us.throttle.fail(name, us.now())
			return User{}, ErrBadCredentials
		}
		return User{}, fmt.Errorf("check password: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(h), []byte(password)) != nil {
		us.throttle.fail(name, us.now())
		return User{}, ErrBadCredentials
	}
	us.throttle.ok(name)
	return u, nil
}

// CreateToken makes a token for user, valid for ttl (forever when 0), and
// returns its text, which is not stored.
func (us *Users) CreateToken(ctx context.Context, user, name string, ttl time.Duration) (string, UserToken, error) {
	t := UserToken{Name: name, User: user}
	if ttl > 0 {
		t.ExpiresAt = us.now().Add(ttl)
	}
	tok := UserTokenPrefix + randomText()
	t, err := us.store.CreateUserToken(ctx, Hash(tok), t)
	if err != nil {
		return "", UserToken{}, err
	}
	return tok, t, nil
}

// Token returns the user of a user token, or ErrBadCredentials.
func (us *Users) Token(ctx context.Context, token string) (User, error) {
	if !IsUserToken(token) {
		return User{}, ErrBadCredentials
	}
	u, t, err := us.store.UserTokenUser(ctx, Hash(token), us.now())
	if err != nil {
		if posml.KindOf(err) == posml.KindNotFound {
			return User{}, ErrBadCredentials
		}
		return User{}, fmt.Errorf("check user token: %w", err)
	}
	if !t.ExpiresAt.IsZero() && !us.now().Before(t.ExpiresAt) {
		return User{}, ErrBadCredentials
	}
	return u, nil
}

// IsUserToken reports whether a bearer token has the form of a user token
// (not a run token).
func IsUserToken(token string) bool {
	return strings.HasPrefix(token, UserTokenPrefix) && len(token) <= 256
}

// Login checks a name and password and starts a session; it returns the
// session's cookie value.
func (us *Users) Login(ctx context.Context, name, password string) (string, User, error) {
	u, err := us.Password(ctx, name, password)
	if err != nil {
		return "", User{}, err
	}
	life := us.SessionLifetime
	if life <= 0 {
		life = DefaultSessionLifetime
	}
	s := SessionPrefix + randomText()
	if err := us.store.CreateSession(ctx, Hash(s), u.Name, us.now().Add(life)); err != nil {
		return "", User{}, fmt.Errorf("start session: %w", err)
	}
	return s, u, nil
}

// Session returns the user of a session cookie, or ErrBadCredentials.
func (us *Users) Session(ctx context.Context, session string) (User, error) {
	if !strings.HasPrefix(session, SessionPrefix) || len(session) > 256 {
		return User{}, ErrBadCredentials
	}
	u, exp, err := us.store.SessionUser(ctx, Hash(session))
	if err != nil {
		if posml.KindOf(err) == posml.KindNotFound {
			return User{}, ErrBadCredentials
		}
		return User{}, fmt.Errorf("check session: %w", err)
	}
	if !us.now().Before(exp) {
		return User{}, ErrBadCredentials
	}
	return u, nil
}

// Logout ends a session.
func (us *Users) Logout(ctx context.Context, session string) error {
	return us.store.DeleteSession(ctx, Hash(session))
}

// randomText is 256 random bits, URL-safe.
func randomText() string {
	var b [32]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}
