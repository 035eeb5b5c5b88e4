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

func TestSessionSliding(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	s := openTest(t, "", clock)
	if err := s.SetPassword(ctx, "anna", "correct horse", RoleOperator); err != nil {
		t.Fatal(err)
	}
	start := clock.Now()
	tok, err := s.CreateSession(ctx, "anna", 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	storedExpiry := func() time.Time {
		var ms int64
		if err := s.db.QueryRow(`SELECT expires_at FROM sessions WHERE token_hash = ?`, tokenHash(tok)).Scan(&ms); err != nil {
			t.Fatal(err)
		}
		return time.UnixMilli(ms).UTC()
	}
	steps := []struct {
		name       string
		advance    time.Duration
		wantExpiry time.Time // zero: the session has ended
	}{
		{"used within the hour: no write", 30 * time.Minute, start.Add(2 * time.Hour)},
		{"used after an hour: extended", time.Hour, start.Add(90*time.Minute + 2*time.Hour)},
		{"past the first expiry, still live", 110 * time.Minute, start.Add(200*time.Minute + 2*time.Hour)},
		{"idle longer than its lifetime: ended", 2*time.Hour + time.Millisecond, time.Time{}},
	}
	for _, st := range steps {
		clock.Add(st.advance)
		ss, err := s.Session(ctx, tok)
		if st.wantExpiry.IsZero() {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: Session = %+v, %v; want ErrNotFound", st.name, ss, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !ss.Expires.Equal(st.wantExpiry) || !storedExpiry().Equal(st.wantExpiry) {
			t.Errorf("%s: expires %v (stored %v), want %v", st.name, ss.Expires, storedExpiry(), st.wantExpiry)
		}
		if !ss.Created.Equal(start) {
			t.Errorf("%s: created %v, want %v", st.name, ss.Created, start)
		}
	}
}

func TestSessionAbsoluteCap(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	s := openTest(t, "", clock)
	if err := s.SetPassword(ctx, "anna", "correct horse", RoleOperator); err != nil {
		t.Fatal(err)
	}
	start := clock.Now()
	long, err := s.CreateSession(ctx, "anna", 100*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if ss, err := s.Session(ctx, long); err != nil || !ss.Expires.Equal(start.Add(MaxSessionAge)) {
		t.Errorf("a 100-day session: %+v, %v; want it capped at %v", ss, err, MaxSessionAge)
	}
	tok, err := s.CreateSession(ctx, "anna", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Used every 20 hours, it lives exactly MaxSessionAge.
	for clock.Now().Sub(start) < MaxSessionAge-20*time.Hour {
		clock.Add(20 * time.Hour)
		ss, err := s.Session(ctx, tok)
		if err != nil {
			t.Fatalf("after %v: %v", clock.Now().Sub(start), err)
		}
		if ss.Expires.After(start.Add(MaxSessionAge)) {
			t.Fatalf("after %v: expires %v, past the cap", clock.Now().Sub(start), ss.Expires)
		}
	}
	clock.Add(start.Add(MaxSessionAge).Sub(clock.Now()) - time.Millisecond)
	if _, err := s.Session(ctx, tok); err != nil {
		t.Errorf("a moment before the cap: %v", err)
	}
	clock.Add(time.Millisecond)
	for _, tk := range []string{tok, long} {
		if _, err := s.Session(ctx, tk); !errors.Is(err, ErrNotFound) {
			t.Errorf("at the cap: %v, want ErrNotFound", err)
		}
	}
}

func TestSessionMigrationKeepsLifetime(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newClock()
	old := openTest(t, dir, clock, func(o *options) { o.migrations = migrations[:2] })
	if err := old.SetPassword(ctx, "anna", "correct horse", RoleOperator); err != nil {
		t.Fatal(err)
	}
	now := clock.Now().UnixMilli()
	if _, err := old.db.Exec(`INSERT INTO sessions (token_hash, user_name, csrf, created_at, expires_at) VALUES (?, 'anna', 'c', ?, ?)`,
		tokenHash("old-token"), now, now+int64(14*24*time.Hour/time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	old.Close()
	s := openTest(t, dir, clock)
	var ttl int64
	if err := s.db.QueryRow(`SELECT ttl_ms FROM sessions`).Scan(&ttl); err != nil {
		t.Fatal(err)
	}
	if time.Duration(ttl)*time.Millisecond != 14*24*time.Hour {
		t.Errorf("migrated lifetime %v, want 14 days", time.Duration(ttl)*time.Millisecond)
	}
	clock.Add(2 * time.Hour)
	ss, err := s.Session(ctx, "old-token")
	if err != nil || !ss.Expires.Equal(clock.Now().Add(14*24*time.Hour)) {
		t.Errorf("old session after migration: %+v, %v; want extended by 14 days from now", ss, err)
	}
}
