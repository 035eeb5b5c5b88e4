package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Session lifetimes. A session lives ttl (the lifetime given to CreateSession) from its last
// use: each use extends it, at most once per RenewEvery so that browsing does not write to the
// database on every page. However often it is used, it ends MaxSessionAge after the login.
const (
	// DefaultSessionTTL is the lifetime CreateSession uses when given none.
	DefaultSessionTTL = 12 * time.Hour
	// MaxSessionAge is the absolute cap on a session's life, counted from the login.
	MaxSessionAge = 30 * 24 * time.Hour
	// RenewEvery is how often, at most, a session's expiry is pushed forward.
	RenewEvery = time.Hour
)

const tokenBytes = 32

// Session is a logged-in browser: whose it is, the token its forms must carry against
// cross-site request forgery (random per session), when it started and when it ends unless
// used again.
type Session struct {
	User    User
	CSRF    string
	Created time.Time
	Expires time.Time
}

// randomToken returns tokenBytes random bytes, base64url without padding.
func randomToken() string {
	b := make([]byte, tokenBytes)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// CreateSession starts a session for user name with lifetime ttl (DefaultSessionTTL if
// ttl <= 0, at most MaxSessionAge) and returns its token: 32 random bytes, base64url. Only the
// token's SHA-256 is stored. Expired sessions are swept on the way. An unknown user is
// ErrNotFound.
func (s *Store) CreateSession(ctx context.Context, name string, ttl time.Duration) (string, error) {
	token, csrf := randomToken(), randomToken()
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE name = ?`, name).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, now.UnixMilli()); err != nil {
			return err
		}
		return insertSession(ctx, tx, token, csrf, name, now, ttl)
	})
	if err != nil {
		return "", fmt.Errorf("store: create session for %q: %w", name, err)
	}
	return token, nil
}

// insertSession stores a new session of user name started at now.
func insertSession(ctx context.Context, tx *sql.Tx, token, csrf, name string, now time.Time, ttl time.Duration) error {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	ttl = min(ttl, MaxSessionAge)
	_, err := tx.ExecContext(ctx, `
INSERT INTO sessions (token_hash, user_name, csrf, created_at, expires_at, ttl_ms) VALUES (?, ?, ?, ?, ?, ?)`,
		tokenHash(token), name, csrf, now.UnixMilli(), now.Add(ttl).UnixMilli(), ttl.Milliseconds())
	return err
}

// Session returns the live session of token, or ErrNotFound when the token is unknown or the
// session has expired. Using a session extends it to its lifetime from now, when the last
// extension is RenewEvery or longer ago, but never past MaxSessionAge after its start.
func (s *Store) Session(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 256 {
		return Session{}, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	var ss Session
	var userCreated, created, expires, ttl int64
	now := s.now()
	hash := tokenHash(token)
	err := s.db.QueryRowContext(ctx, `
SELECT u.name, u.role, u.created_at, s.csrf, s.created_at, s.expires_at, s.ttl_ms
FROM sessions s JOIN users u ON u.name = s.user_name
WHERE s.token_hash = ? AND s.expires_at > ? AND s.created_at > ?`,
		hash, now.UnixMilli(), now.Add(-MaxSessionAge).UnixMilli()).
		Scan(&ss.User.Name, &ss.User.Role, &userCreated, &ss.CSRF, &created, &expires, &ttl)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	if err != nil {
		return Session{}, fmt.Errorf("store: session: %w", err)
	}
	ss.User.CreatedAt = time.UnixMilli(userCreated).UTC()
	ss.Created = time.UnixMilli(created).UTC()
	ss.Expires = time.UnixMilli(expires).UTC()

	if ttl > 0 {
		lifetime := time.Duration(ttl) * time.Millisecond
		renewed := ss.Expires.Add(-lifetime) // when it was last extended (or started)
		next := min(now.Add(lifetime).UnixMilli(), ss.Created.Add(MaxSessionAge).UnixMilli())
		if now.Sub(renewed) >= RenewEvery && next > expires {
			// A failed extension is no reason to refuse the request: the session is still live.
			if _, err := s.exec(ctx, `UPDATE sessions SET expires_at = ? WHERE token_hash = ? AND expires_at = ?`,
				next, hash, expires); err != nil {
				s.log.Warn("extend session", "user", ss.User.Name, "err", err)
			} else {
				ss.Expires = time.UnixMilli(next).UTC()
			}
		}
	}
	return ss, nil
}

// DeleteSession ends the session of token (logout). An unknown token is not an error.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash(token)); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of user name except the one of keepToken ("" ends
// them all), e.g. after a password change.
func (s *Store) DeleteUserSessions(ctx context.Context, name, keepToken string) error {
	_, err := s.exec(ctx, `DELETE FROM sessions WHERE user_name = ? AND token_hash <> ?`,
		name, tokenHash(keepToken))
	if err != nil {
		return fmt.Errorf("store: delete sessions of %q: %w", name, err)
	}
	return nil
}
