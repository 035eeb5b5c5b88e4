package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	s := openTest(t, "", clock)
	if err := s.SetPassword(ctx, "anna", "correct horse", RoleOperator); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSession(ctx, "nobody", time.Hour); !errors.Is(err, ErrNotFound) {
		t.Errorf("session for unknown user: %v", err)
	}
	tok, err := s.CreateSession(ctx, "anna", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 32 {
		t.Fatalf("token %q: %d bytes, %v", tok, len(raw), err)
	}
	// Only the hash is stored.
	var stored []byte
	if err := s.db.QueryRow(`SELECT token_hash FROM sessions`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, []byte(tok)) || bytes.Contains(stored, raw) || !bytes.Equal(stored, tokenHash(tok)) {
		t.Errorf("stored %x for token %q", stored, tok)
	}

	ss, err := s.Session(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if ss.User.Name != "anna" || ss.User.Role != RoleOperator || !ss.Expires.Equal(clock.Now().Add(time.Hour)) || ss.Expires.Location() != time.UTC {
		t.Errorf("session = %+v", ss)
	}
	if csrf, err := base64.RawURLEncoding.DecodeString(ss.CSRF); err != nil || len(csrf) < 16 {
		t.Errorf("CSRF token %q", ss.CSRF)
	}
	tok2, err := s.CreateSession(ctx, "anna", 0) // default lifetime
	if err != nil {
		t.Fatal(err)
	}
	ss2, err := s.Session(ctx, tok2)
	if err != nil {
		t.Fatal(err)
	}
	if tok2 == tok || ss2.CSRF == ss.CSRF {
		t.Errorf("two sessions share a token or CSRF token")
	}
	if !ss2.Expires.Equal(clock.Now().Add(DefaultSessionTTL)) {
		t.Errorf("default expiry %v", ss2.Expires)
	}

	lookups := []struct {
		name, token string
	}{
		{"empty", ""},
		{"unknown", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"token with a byte changed", tok[:10] + "x" + tok[11:]},
		{"the stored hash", base64.RawURLEncoding.EncodeToString(stored)},
		{"huge", string(make([]byte, 10000))},
	}
	for _, tt := range lookups {
		if tt.token == tok {
			continue
		}
		if _, err := s.Session(ctx, tt.token); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: Session = %v, want ErrNotFound", tt.name, err)
		}
	}

	// Expiry.
	clock.Add(time.Hour - time.Millisecond)
	if _, err := s.Session(ctx, tok); err != nil {
		t.Errorf("session a moment before expiry: %v", err)
	}
	clock.Add(time.Millisecond)
	if _, err := s.Session(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired session = %v", err)
	}
	// Creating a session sweeps expired ones.
	tok3, err := s.CreateSession(ctx, "anna", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	s.db.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n)
	if n != 2 {
		t.Errorf("%d sessions stored, want 2 (expired one swept)", n)
	}

	// Logout.
	if err := s.DeleteSession(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, tok2); !errors.Is(err, ErrNotFound) {
		t.Errorf("session after logout: %v", err)
	}
	if err := s.DeleteSession(ctx, tok2); err != nil {
		t.Errorf("second logout: %v", err)
	}

	// Ending a user's other sessions.
	tok4, _ := s.CreateSession(ctx, "anna", time.Hour)
	if err := s.DeleteUserSessions(ctx, "anna", tok4); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, tok3); !errors.Is(err, ErrNotFound) {
		t.Errorf("other session survived: %v", err)
	}
	if _, err := s.Session(ctx, tok4); err != nil {
		t.Errorf("kept session ended: %v", err)
	}
	if err := s.DeleteUserSessions(ctx, "anna", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, tok4); !errors.Is(err, ErrNotFound) {
		t.Errorf("session survived ending all: %v", err)
	}
}
