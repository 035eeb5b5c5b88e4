package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
)

var setupCodeRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{4}$`)

func readSetupFile(t *testing.T, s *Store) (string, fs.FileMode, error) {
	t.Helper()
	p := filepath.Join(s.Dir(), SetupCodeFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return "", 0, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), fi.Mode().Perm(), nil
}

func TestSetupCodeAndClaim(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, nil)
	code, err := s.SetupCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !setupCodeRE.MatchString(code) {
		t.Fatalf("code = %q", code)
	}
	body, mode, err := readSetupFile(t, s)
	if err != nil || body != code+"\n" || mode != 0o600 {
		t.Fatalf("setup file = %q mode %v, %v", body, mode, err)
	}
	if again, _ := s.SetupCode(ctx); again != code {
		t.Errorf("second SetupCode = %q, want %q", again, code)
	}
	// The installer deleted the file, or it has wrong permissions: SetupCode puts it back.
	os.Remove(filepath.Join(dir, SetupCodeFile))
	if again, _ := s.SetupCode(ctx); again != code {
		t.Errorf("SetupCode after file loss = %q", again)
	}
	if body, mode, err := readSetupFile(t, s); err != nil || body != code+"\n" || mode != 0o600 {
		t.Errorf("rewritten setup file = %q mode %v, %v", body, mode, err)
	}
	os.Chmod(filepath.Join(dir, SetupCodeFile), 0o644)
	s.SetupCode(ctx)
	if _, mode, _ := readSetupFile(t, s); mode != 0o600 {
		t.Errorf("setup file mode %v not repaired", mode)
	}
	// It survives a restart.
	s.Close()
	s = openTest(t, dir, nil)
	if again, _ := s.SetupCode(ctx); again != code {
		t.Errorf("SetupCode after reopen = %q, want %q", again, code)
	}

	wrong := "0000-0000"
	if wrong == code {
		wrong = "1111-1111"
	}
	digits := code[:4] + code[5:]
	refusals := []struct {
		name, code, password string
		want                 error
	}{
		{"wrong code", wrong, "good password", ErrBadSetupCode},
		{"empty code", "", "good password", ErrBadSetupCode},
		{"half the code", code[:4], "good password", ErrBadSetupCode},
		{"code and more", code + "1", "good password", ErrBadSetupCode},
		{"right code, weak password", code, "short", ErrWeakPassword},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.ClaimOwner(ctx, tt.code, tt.password); !errors.Is(err, tt.want) {
				t.Fatalf("ClaimOwner = %v, want %v", err, tt.want)
			}
			// Nothing consumed.
			if ok, _ := s.HasOwner(ctx); ok {
				t.Error("owner exists after a refused claim")
			}
			if again, _ := s.SetupCode(ctx); again != code {
				t.Errorf("code after refused claim = %q, want %q", again, code)
			}
			if _, _, err := readSetupFile(t, s); err != nil {
				t.Errorf("setup file gone after refused claim: %v", err)
			}
		})
	}

	// The digits without the dash count as the code.
	if err := s.ClaimOwner(ctx, " "+digits+" ", "good password"); err != nil {
		t.Fatalf("ClaimOwner: %v", err)
	}
	if ok, _ := s.HasOwner(ctx); !ok {
		t.Error("no owner after the claim")
	}
	if u, err := s.CheckPassword(ctx, OwnerName, "good password"); err != nil || u.Role != RoleOwner {
		t.Errorf("owner login = %+v, %v", u, err)
	}
	if _, _, err := readSetupFile(t, s); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("setup file after claim: %v", err)
	}
	if c, err := s.SetupCode(ctx); err != nil || c != "" {
		t.Errorf("SetupCode after claim = %q, %v", c, err)
	}
	if _, _, err := readSetupFile(t, s); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SetupCode after claim wrote the file: %v", err)
	}
	if err := s.ClaimOwner(ctx, code, "another password"); !errors.Is(err, ErrAlreadyClaimed) {
		t.Errorf("second claim = %v, want ErrAlreadyClaimed", err)
	}
	if _, err := s.CheckPassword(ctx, OwnerName, "good password"); err != nil {
		t.Errorf("second claim changed the password: %v", err)
	}
	log, err := s.ListAudit(ctx, 10)
	if err != nil || len(log) != 1 || log[0].Action != "claim" || log[0].User != OwnerName {
		t.Errorf("audit = %+v, %v", log, err)
	}
}

func TestSetupCodeDiffersPerBox(t *testing.T) {
	ctx := context.Background()
	seen := map[string]bool{}
	for range 5 {
		c, err := openTest(t, "", nil).SetupCode(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen[c] = true
	}
	// Five codes from 10^8: a repeat means the code is not random.
	if len(seen) != 5 {
		t.Errorf("codes repeat: %v", seen)
	}
}

func TestOwnerPasswordRemovesSetupCode(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	code, err := s.SetupCode(ctx)
	if err != nil || code == "" {
		t.Fatal(code, err)
	}
	if err := s.SetPassword(ctx, "anna", "operator password", RoleOperator); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.SetupCode(ctx); c != code {
		t.Errorf("an operator's password removed the setup code")
	}
	if err := s.SetPassword(ctx, OwnerName, "owner password", RoleOwner); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readSetupFile(t, s); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("setup file after `hotline passwd`: %v", err)
	}
	var n int
	s.db.QueryRow(`SELECT count(*) FROM setup_code`).Scan(&n)
	if n != 0 {
		t.Errorf("%d setup codes left in the database", n)
	}
	if err := s.ClaimOwner(ctx, code, "good password"); !errors.Is(err, ErrAlreadyClaimed) {
		t.Errorf("claim after passwd = %v", err)
	}
	if c, _ := s.SetupCode(ctx); c != "" {
		t.Errorf("SetupCode = %q", c)
	}
}

func TestClaimRace(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	code, err := s.SetupCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make(chan error, 8)
	for range 8 {
		wg.Go(func() { results <- s.ClaimOwner(ctx, code, "good password") })
	}
	wg.Wait()
	close(results)
	won := 0
	for err := range results {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrAlreadyClaimed):
			t.Errorf("claim: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d claims won, want 1", won)
	}
}
