package store

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Roles.
const (
	RoleOwner    = "owner"    // sets the box up; everything
	RoleOperator = "operator" // answers calls, handles voicemail
)

const (
	// OwnerName is the user name of the owner account that ClaimOwner and `hotline passwd`
	// set.
	OwnerName = "owner"
	// MinPasswordLen is the fewest characters (runes) a password may have.
	MinPasswordLen = 8
	// MaxPasswordBytes bounds what is hashed.
	MaxPasswordBytes = 1024

	maxNameRunes = 64
	saltLen      = 16
	keyLen       = 32
	hashScheme   = "pbkdf2-sha256"
)

// User is an account of the web admin.
type User struct {
	Name, Role string
	CreatedAt  time.Time
}

// ValidUserName reports whether name can name a user: 1 to 64 runes of valid UTF-8, no control
// characters, no leading or trailing space.
func ValidUserName(name string) bool {
	return name != "" && cleanText(name, maxNameRunes) == name
}

func validRole(role string) bool { return role == RoleOwner || role == RoleOperator }

// SetPassword creates the user or updates its password and role. Passwords shorter than
// MinPasswordLen characters are ErrWeakPassword. Setting an owner's password also removes any
// setup code, since the box then has its owner (this is how `hotline passwd` claims it).
func (s *Store) SetPassword(ctx context.Context, name, password, role string) error {
	if !ValidUserName(name) {
		return fmt.Errorf("store: set password: invalid user name %q", name)
	}
	if !validRole(role) {
		return fmt.Errorf("store: set password for %q: unknown role %q", name, role)
	}
	if err := checkStrength(password); err != nil {
		return fmt.Errorf("store: set password for %q: %w", name, err)
	}
	hash, err := s.hashPassword(password)
	if err != nil {
		return fmt.Errorf("store: set password for %q: %w", name, err)
	}
	if role == RoleOwner {
		s.setupMu.Lock()
		defer s.setupMu.Unlock()
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := upsertUser(ctx, tx, name, role, hash, s.now()); err != nil {
			return err
		}
		if role == RoleOwner {
			_, err := tx.ExecContext(ctx, `DELETE FROM setup_code`)
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: set password for %q: %w", name, err)
	}
	if role == RoleOwner {
		return s.removeSetupFile()
	}
	return nil
}

func checkStrength(password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLen {
		return ErrWeakPassword
	}
	if len(password) > MaxPasswordBytes {
		return fmt.Errorf("password longer than %d bytes", MaxPasswordBytes)
	}
	return nil
}

func upsertUser(ctx context.Context, tx *sql.Tx, name, role, hash string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `
INSERT INTO users (name, role, password, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET role = excluded.role, password = excluded.password,
	updated_at = excluded.updated_at`,
		name, role, hash, now.UnixMilli(), now.UnixMilli())
	return err
}

// CheckPassword returns the user if the password is right, and ErrBadLogin if the user is
// unknown or the password wrong; both cases cost the same hashing work. A hash made with
// fewer iterations than the current default is upgraded on success.
func (s *Store) CheckPassword(ctx context.Context, name, password string) (User, error) {
	var u User
	var stored string
	var created int64
	err := s.db.QueryRowContext(ctx,
		`SELECT name, role, password, created_at FROM users WHERE name = ?`, name).
		Scan(&u.Name, &u.Role, &stored, &created)
	if errors.Is(err, sql.ErrNoRows) {
		s.burnHash(password)
		return User{}, ErrBadLogin
	}
	if err != nil {
		return User{}, fmt.Errorf("store: check password for %q: %w", name, err)
	}
	ok, iterations := s.verifyPassword(stored, password)
	if !ok {
		return User{}, ErrBadLogin
	}
	u.CreatedAt = time.UnixMilli(created).UTC()
	if iterations < s.opts.iterations {
		if err := s.rehash(ctx, name, stored, password); err != nil {
			s.log.Warn("password hash upgrade failed", "user", name, "err", err)
		}
	}
	return u, nil
}

func (s *Store) rehash(ctx context.Context, name, old, password string) error {
	hash, err := s.hashPassword(password)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `UPDATE users SET password = ? WHERE name = ? AND password = ?`,
		hash, name, old)
	return err
}

// hashPassword returns "pbkdf2-sha256$ITERATIONS$SALT$KEY" with a fresh random salt.
func (s *Store) hashPassword(password string) (string, error) {
	salt := make([]byte, saltLen)
	rand.Read(salt) // never fails (crypto/rand since Go 1.24)
	key, err := pbkdf2.Key(sha256.New, password, salt, s.opts.iterations, keyLen)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	b64 := base64.RawStdEncoding
	return hashScheme + "$" + strconv.Itoa(s.opts.iterations) + "$" +
		b64.EncodeToString(salt) + "$" + b64.EncodeToString(key), nil
}

// verifyPassword compares password with a stored hash in constant time and returns the
// iteration count the hash was made with.
func (s *Store) verifyPassword(stored, password string) (ok bool, iterations int) {
	parts := strings.Split(stored, "$")
	if len(parts) != 4 || parts[0] != hashScheme {
		s.burnHash(password)
		return false, 0
	}
	iterations, err := strconv.Atoi(parts[1])
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[2])
	want, err2 := b64.DecodeString(parts[3])
	if err != nil || err1 != nil || err2 != nil || iterations < 1 || iterations > 100_000_000 || len(want) == 0 {
		s.burnHash(password)
		return false, 0
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iterations, len(want))
	if err != nil {
		return false, 0
	}
	return subtle.ConstantTimeCompare(got, want) == 1, iterations
}

// burnHash does the work of one password check, so that unknown users cost as much as known
// ones.
func (s *Store) burnHash(password string) {
	var salt [saltLen]byte
	pbkdf2.Key(sha256.New, password, salt[:], s.opts.iterations, keyLen)
}

// HasOwner reports whether an owner account exists.
func (s *Store) HasOwner(ctx context.Context) (bool, error) {
	ok, err := hasOwner(ctx, s.db)
	if err != nil {
		return false, fmt.Errorf("store: has owner: %w", err)
	}
	return ok, nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func hasOwner(ctx context.Context, q queryRower) (bool, error) {
	var ok bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE role = 'owner')`).Scan(&ok)
	return ok, err
}

// User returns one user, or ErrNotFound.
func (s *Store) User(ctx context.Context, name string) (User, error) {
	var u User
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT name, role, created_at FROM users WHERE name = ?`, name).
		Scan(&u.Name, &u.Role, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user %q: %w", name, err)
	}
	u.CreatedAt = time.UnixMilli(created).UTC()
	return u, nil
}

// ListUsers returns all users by name.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, role, created_at FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	users := []User{}
	for rows.Next() {
		var u User
		var created int64
		if err := rows.Scan(&u.Name, &u.Role, &created); err != nil {
			return nil, fmt.Errorf("store: list users: %w", err)
		}
		u.CreatedAt = time.UnixMilli(created).UTC()
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return users, nil
}

// ErrLastOwner means the user is the only owner and cannot be deleted.
var ErrLastOwner = errors.New("store: cannot delete the last owner")

// DeleteUser removes a user and its sessions. The last owner cannot be deleted (ErrLastOwner).
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var role string
		err := tx.QueryRowContext(ctx, `SELECT role FROM users WHERE name = ?`, name).Scan(&role)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if role == RoleOwner {
			var owners int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = 'owner'`).Scan(&owners); err != nil {
				return err
			}
			if owners <= 1 {
				return ErrLastOwner
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM users WHERE name = ?`, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete user %q: %w", name, err)
	}
	return nil
}
