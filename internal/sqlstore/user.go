package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/auth"
)

// Users, their API tokens and UI sessions (package auth checks them). Only
// hashes of passwords, tokens and sessions are stored.

var _ auth.UserStore = (*Store)(nil)

func millisTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func timeMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// CreateUser adds a user; a taken name is a posml.KindExists error.
func (s *Store) CreateUser(ctx context.Context, u auth.User, passwordHash string) (auth.User, error) {
	now := s.nowMillis()
	err := s.inTx(ctx, func(t *tx) error {
		return t.queryRow(`INSERT INTO users (name, password_hash, admin, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			u.Name, passwordHash, boolInt(u.Admin), now).Scan(&u.ID)
	})
	if isUniqueViolation(err) {
		return auth.User{}, posml.Errorf(posml.KindExists, fmt.Sprintf("user %q already exists", u.Name))
	}
	if err != nil {
		return auth.User{}, internal("create user", err)
	}
	u.CreatedAt = millisTime(now)
	return u, nil
}

const userCols = `u.id, u.name, u.admin, u.created_at`

func scanUser(sc interface{ Scan(...any) error }, extra ...any) (auth.User, error) {
	var u auth.User
	var admin, created int64
	err := sc.Scan(append([]any{&u.ID, &u.Name, &admin, &created}, extra...)...)
	u.Admin, u.CreatedAt = admin != 0, millisTime(created)
	return u, err
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return posml.Errorf(posml.KindNotFound, what)
	}
	return internal(what, err)
}

// UserPassword returns a user and their password hash.
func (s *Store) UserPassword(ctx context.Context, name string) (auth.User, string, error) {
	var h string
	u, err := scanUser(s.readRow(ctx, `SELECT `+userCols+`, u.password_hash FROM users u WHERE u.name = ?`, name), &h)
	if err != nil {
		return auth.User{}, "", notFound(err, "no user "+name)
	}
	return u, h, nil
}

// Users lists the users by name.
func (s *Store) Users(ctx context.Context) ([]auth.User, error) {
	rows, err := s.readQuery(ctx, `SELECT `+userCols+` FROM users u ORDER BY u.name`)
	if err != nil {
		return nil, internal("list users", err)
	}
	defer rows.Close()
	us := []auth.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, internal("list users", err)
		}
		us = append(us, u)
	}
	return us, internal("list users", rows.Err())
}

// DeleteUser removes a user with their tokens and sessions.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	err := s.inTx(ctx, func(t *tx) error {
		var id int64
		if err := t.queryRow(`SELECT id FROM users WHERE name = ?`, name).Scan(&id); err != nil {
			return notFound(err, "no user "+name)
		}
		for _, q := range []string{`DELETE FROM user_tokens WHERE user_id = ?`, `DELETE FROM sessions WHERE user_id = ?`, `DELETE FROM users WHERE id = ?`} {
			if _, err := t.exec(q, id); err != nil {
				return err
			}
		}
		return nil
	})
	return internal("delete user", err)
}

// CreateUserToken stores the hash of a token of user t.User.
func (s *Store) CreateUserToken(ctx context.Context, hash string, ut auth.UserToken) (auth.UserToken, error) {
	now := s.nowMillis()
	err := s.inTx(ctx, func(t *tx) error {
		var uid int64
		if err := t.queryRow(`SELECT id FROM users WHERE name = ?`, ut.User).Scan(&uid); err != nil {
			return notFound(err, "no user "+ut.User)
		}
		return t.queryRow(`INSERT INTO user_tokens (token_hash, name, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			hash, ut.Name, uid, now, timeMillis(ut.ExpiresAt)).Scan(&ut.ID)
	})
	if err != nil {
		return auth.UserToken{}, internal("create user token", err)
	}
	ut.CreatedAt = millisTime(now)
	return ut, nil
}

const userTokenCols = `t.id, t.name, u.name, t.created_at, t.last_used_at, t.expires_at`

func scanUserToken(sc interface{ Scan(...any) error }) (auth.UserToken, error) {
	var t auth.UserToken
	var created, used, exp int64
	err := sc.Scan(&t.ID, &t.Name, &t.User, &created, &used, &exp)
	t.CreatedAt, t.LastUsedAt, t.ExpiresAt = millisTime(created), millisTime(used), millisTime(exp)
	return t, err
}

// UserTokenUser returns the user and the token of a token hash, expired or
// not, and notes that the token was used at now (at most once a minute).
func (s *Store) UserTokenUser(ctx context.Context, hash string, now time.Time) (auth.User, auth.UserToken, error) {
	var t auth.UserToken
	var created, used, exp int64
	u, err := scanUser(s.readRow(ctx, `SELECT `+userCols+`, t.id, t.name, t.created_at, t.last_used_at, t.expires_at
		FROM user_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`, hash),
		&t.ID, &t.Name, &created, &used, &exp)
	if err != nil {
		return auth.User{}, auth.UserToken{}, notFound(err, "unknown user token")
	}
	t.User, t.CreatedAt, t.LastUsedAt, t.ExpiresAt = u.Name, millisTime(created), millisTime(used), millisTime(exp)
	if ms := now.UnixMilli(); ms-used >= time.Minute.Milliseconds() {
		err := s.inTx(ctx, func(tx *tx) error {
			_, err := tx.exec(`UPDATE user_tokens SET last_used_at = ? WHERE id = ?`, ms, t.ID)
			return err
		})
		if err != nil {
			return auth.User{}, auth.UserToken{}, internal("user token", err)
		}
		t.LastUsedAt = millisTime(ms)
	}
	return u, t, nil
}

// UserTokens lists the tokens of user, or of every user when user is "".
func (s *Store) UserTokens(ctx context.Context, user string) ([]auth.UserToken, error) {
	rows, err := s.readQuery(ctx, `SELECT `+userTokenCols+` FROM user_tokens t JOIN users u ON u.id = t.user_id
		WHERE ? = '' OR u.name = ? ORDER BY u.name, t.id`, user, user)
	if err != nil {
		return nil, internal("list user tokens", err)
	}
	defer rows.Close()
	ts := []auth.UserToken{}
	for rows.Next() {
		t, err := scanUserToken(rows)
		if err != nil {
			return nil, internal("list user tokens", err)
		}
		ts = append(ts, t)
	}
	return ts, internal("list user tokens", rows.Err())
}

// DeleteUserToken revokes a token by its ID.
func (s *Store) DeleteUserToken(ctx context.Context, id int64) error {
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`DELETE FROM user_tokens WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return posml.Errorf(posml.KindNotFound, fmt.Sprintf("no user token %d", id))
		}
		return nil
	})
	return internal("revoke user token", err)
}

// CreateSession stores the hash of a session of user, valid until expires.
// It also deletes the sessions that have expired.
func (s *Store) CreateSession(ctx context.Context, hash, user string, expires time.Time) error {
	now := s.nowMillis()
	err := s.inTx(ctx, func(t *tx) error {
		var uid int64
		if err := t.queryRow(`SELECT id FROM users WHERE name = ?`, user).Scan(&uid); err != nil {
			return notFound(err, "no user "+user)
		}
		if _, err := t.exec(`DELETE FROM sessions WHERE expires_at <= ?`, now); err != nil {
			return err
		}
		_, err := t.exec(`INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`, hash, uid, now, expires.UnixMilli())
		return err
	})
	return internal("create session", err)
}

// SessionUser returns the user of a session hash and when it expires.
func (s *Store) SessionUser(ctx context.Context, hash string) (auth.User, time.Time, error) {
	var exp int64
	u, err := scanUser(s.readRow(ctx, `SELECT `+userCols+`, x.expires_at FROM sessions x JOIN users u ON u.id = x.user_id WHERE x.token_hash = ?`, hash), &exp)
	if err != nil {
		return auth.User{}, time.Time{}, notFound(err, "unknown session")
	}
	return u, millisTime(exp), nil
}

// DeleteSession ends a session; an unknown one is no error.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	err := s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(`DELETE FROM sessions WHERE token_hash = ?`, hash)
		return err
	})
	return internal("delete session", err)
}
