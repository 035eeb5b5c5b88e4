package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// SetPassword creates the user or updates its password and role, and ends every session of
// the user, so that whoever was logged in with the old password is logged out. Passwords
// shorter than MinPasswordLen characters are ErrWeakPassword. Setting an owner's password also
// removes any setup code, since the box then has its owner (this is how `hotline passwd`
// claims it). The caller writes the audit log entry (it knows who asked and from where).
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
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_name = ?`, name); err != nil {
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

// ChangePassword is a logged-in user changing their own password: token is their session,
// current the password they have now and next the new one. The new password replaces the old,
// every session of the user ends (the one of token too), a new session is started in place of
// token's (same lifetime, its age counted from now) and its token returned, and the audit log
// records the change with note appended (say, the address it came from). A wrong current
// password is ErrBadLogin, a weak new one ErrWeakPassword, and an unknown or expired session
// ErrNotFound; all of them change nothing.
func (s *Store) ChangePassword(ctx context.Context, token, current, next, note string) (string, error) {
	sess, err := s.Session(ctx, token)
	if err != nil {
		return "", fmt.Errorf("store: change password: %w", err)
	}
	name := sess.User.Name
	if err := checkStrength(next); err != nil {
		return "", fmt.Errorf("store: change password for %q: %w", name, err)
	}
	var stored string
	var ttl int64
	err = s.db.QueryRowContext(ctx, `
SELECT u.password, s.ttl_ms FROM users u JOIN sessions s ON s.user_name = u.name
WHERE u.name = ? AND s.token_hash = ?`, name, tokenHash(token)).Scan(&stored, &ttl)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: change password for %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: change password for %q: %w", name, err)
	}
	if ok, _ := s.verifyPassword(stored, current); !ok {
		return "", fmt.Errorf("store: change password for %q: %w", name, ErrBadLogin)
	}
	hash, err := s.hashPassword(next)
	if err != nil {
		return "", fmt.Errorf("store: change password for %q: %w", name, err)
	}
	newToken, csrf := randomToken(), randomToken()
	now := s.now()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// Only if nobody changed the password since it was checked above.
		res, err := tx.ExecContext(ctx, `UPDATE users SET password = ?, updated_at = ? WHERE name = ? AND password = ?`,
			hash, now.UnixMilli(), name, stored)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return ErrBadLogin
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_name = ?`, name); err != nil {
			return err
		}
		if err := insertSession(ctx, tx, newToken, csrf, name, now, time.Duration(ttl)*time.Millisecond); err != nil {
			return err
		}
		detail := "changed by the user; all other sessions ended"
		if note != "" {
			detail += "; " + note
		}
		return audit(ctx, tx, now, name, "password changed", detail)
	})
	if err != nil {
		return "", fmt.Errorf("store: change password for %q: %w", name, err)
	}
	return newToken, nil
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
// unknown or the password wrong; both cases cost the same hashing work. A hash that is not
// argon2id with the current parameters (an older PBKDF2 one, say) is replaced on success.
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
	ok, current := s.verifyPassword(stored, password)
	if !ok {
		return User{}, ErrBadLogin
	}
	u.CreatedAt = time.UnixMilli(created).UTC()
	if !current {
		if err := s.rehash(ctx, name, stored, password); err != nil {
			s.log.Warn("password hash upgrade failed", "user", name, "err", err)
		}
	}
	return u, nil
}

// rehash replaces the stored hash old of user name with a current one of password, unless the
// password was changed meanwhile.
func (s *Store) rehash(ctx context.Context, name, old, password string) error {
	hash, err := s.hashPassword(password)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `UPDATE users SET password = ? WHERE name = ? AND password = ?`,
		hash, name, old)
	return err
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
