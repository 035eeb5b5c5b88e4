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

// DefaultSessionTTL is the session lifetime CreateSession uses when given none.
const DefaultSessionTTL = 12 * time.Hour

const tokenBytes = 32

// Session is a logged-in browser: whose it is, the token its forms must carry against
// cross-site request forgery (random per session), and when it ends.
type Session struct {
	User    User
	CSRF    string
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

// CreateSession starts a session for user name lasting ttl (DefaultSessionTTL if ttl <= 0)
// and returns its token: 32 random bytes, base64url. Only the token's SHA-256 is stored.
// Expired sessions are swept on the way. An unknown user is ErrNotFound.
func (s *Store) CreateSession(ctx context.Context, name string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
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
		_, err = tx.ExecContext(ctx,
			`INSERT INTO sessions (token_hash, user_name, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			tokenHash(token), name, csrf, now.UnixMilli(), now.Add(ttl).UnixMilli())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: create session for %q: %w", name, err)
	}
	return token, nil
}

// Session returns the live session of token, or ErrNotFound when the token is unknown or the
// session has expired.
func (s *Store) Session(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 256 {
		return Session{}, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	var ss Session
	var created, expires int64
	err := s.db.QueryRowContext(ctx, `
SELECT u.name, u.role, u.created_at, s.csrf, s.expires_at
FROM sessions s JOIN users u ON u.name = s.user_name
WHERE s.token_hash = ? AND s.expires_at > ?`, tokenHash(token), s.now().UnixMilli()).
		Scan(&ss.User.Name, &ss.User.Role, &created, &ss.CSRF, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	if err != nil {
		return Session{}, fmt.Errorf("store: session: %w", err)
	}
	ss.User.CreatedAt = time.UnixMilli(created).UTC()
	ss.Expires = time.UnixMilli(expires).UTC()
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
