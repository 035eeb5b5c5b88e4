package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
)

// SetupCode returns the one-time code that lets the first visitor of the web admin become the
// owner, formatted like "4821-0937". It is created on the first call, kept in the database and
// written to DIR/setup-code.txt (mode 0600) for the installer. Once an owner exists it returns
// "" and the code and its file are gone.
func (s *Store) SetupCode(ctx context.Context) (string, error) {
	s.setupMu.Lock()
	defer s.setupMu.Unlock()
	var code string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		owner, err := hasOwner(ctx, tx)
		if err != nil {
			return err
		}
		if owner {
			_, err := tx.ExecContext(ctx, `DELETE FROM setup_code`)
			return err
		}
		err = tx.QueryRowContext(ctx, `SELECT code FROM setup_code WHERE id = 1`).Scan(&code)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		code, err = newSetupCode()
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO setup_code (id, code, created_at) VALUES (1, ?, ?)`,
			code, s.now().UnixMilli())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: setup code: %w", err)
	}
	if code == "" {
		return "", s.removeSetupFile()
	}
	if err := s.writeSetupFile(code); err != nil {
		return "", err
	}
	return code, nil
}

// ClaimOwner makes the caller the owner if code is the setup code: it creates the owner
// account (OwnerName) with password, deletes the code and its file, and writes the audit log.
// A wrong code (ErrBadSetupCode) or a weak password (ErrWeakPassword) leaves the code as it
// was; once an owner exists it is ErrAlreadyClaimed.
func (s *Store) ClaimOwner(ctx context.Context, code, password string) error {
	s.setupMu.Lock()
	defer s.setupMu.Unlock()
	if err := s.checkSetupCode(ctx, s.db, code); err != nil {
		return fmt.Errorf("store: claim owner: %w", err)
	}
	if err := checkStrength(password); err != nil {
		return fmt.Errorf("store: claim owner: %w", err)
	}
	hash, err := s.hashPassword(password)
	if err != nil {
		return fmt.Errorf("store: claim owner: %w", err)
	}
	now := s.now()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// Again under the write lock: another process may have claimed the box meanwhile.
		if err := s.checkSetupCode(ctx, tx, code); err != nil {
			return err
		}
		if err := upsertUser(ctx, tx, OwnerName, RoleOwner, hash, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM setup_code`); err != nil {
			return err
		}
		return audit(ctx, tx, now, OwnerName, "claim", "the owner claimed the box with the setup code")
	})
	if err != nil {
		return fmt.Errorf("store: claim owner: %w", err)
	}
	s.log.Info("the box has its owner")
	return s.removeSetupFile()
}

// checkSetupCode returns ErrAlreadyClaimed, ErrBadSetupCode or nil.
func (s *Store) checkSetupCode(ctx context.Context, q queryRower, code string) error {
	owner, err := hasOwner(ctx, q)
	if err != nil {
		return err
	}
	if owner {
		return ErrAlreadyClaimed
	}
	var stored string
	err = q.QueryRowContext(ctx, `SELECT code FROM setup_code WHERE id = 1`).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		stored = "" // never shown: nothing matches, but compare anyway for even timing
	} else if err != nil {
		return err
	}
	// Hash both so the comparison takes the same time whatever the lengths.
	a := sha256.Sum256([]byte(setupDigits(code)))
	b := sha256.Sum256([]byte(setupDigits(stored)))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 || stored == "" {
		return ErrBadSetupCode
	}
	return nil
}

// setupDigits keeps only the ASCII digits, so "4821-0937", "4821 0937" and "48210937" match.
func setupDigits(code string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, code)
}

// newSetupCode returns eight random digits as "NNNN-NNNN".
func newSetupCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return "", fmt.Errorf("setup code: %w", err)
	}
	d := fmt.Sprintf("%08d", n.Int64())
	return d[:4] + "-" + d[4:], nil
}

// writeSetupFile puts code into DIR/setup-code.txt with mode 0600, replacing it atomically.
func (s *Store) writeSetupFile(code string) error {
	path := filepath.Join(s.dir, SetupCodeFile)
	want := code + "\n"
	if b, err := os.ReadFile(path); err == nil && string(b) == want {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() == 0o600 {
			return nil
		}
	}
	f, err := os.CreateTemp(s.dir, ".setup-code-*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("store: write setup code: %w", err)
	}
	tmp := f.Name()
	_, err = f.WriteString(want)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: write setup code: %w", err)
	}
	return nil
}

func (s *Store) removeSetupFile() error {
	err := os.Remove(filepath.Join(s.dir, SetupCodeFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: remove setup code file: %w", err)
	}
	return nil
}
