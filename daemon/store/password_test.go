package store

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// userHash returns the stored password hash of user name.
func userHash(t *testing.T, s *Store, name string) string {
	t.Helper()
	var h string
	if err := s.db.QueryRow(`SELECT password FROM users WHERE name = ?`, name).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// setHash stores hash as user name's password, bypassing SetPassword.
func setHash(t *testing.T, s *Store, name, hash string) {
	t.Helper()
	if _, err := s.db.Exec(`INSERT INTO users (name, role, password, created_at, updated_at) VALUES (?, 'operator', ?, 0, 0)
ON CONFLICT (name) DO UPDATE SET password = excluded.password`, name, hash); err != nil {
		t.Fatal(err)
	}
}

// pbkdf2Hash makes a hash the way earlier versions stored them.
func pbkdf2Hash(t *testing.T, password string, iterations int) string {
	t.Helper()
	salt := []byte("0123456789abcdef")
	key, err := pbkdf2.Key(sha256.New, password, salt, iterations, 32)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawStdEncoding
	return "pbkdf2-sha256$" + strconv.Itoa(iterations) + "$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key)
}

func TestPasswordHashFormat(t *testing.T) {
	if p := defaultOptions().argon; p != (argonParams{memory: 19456, time: 2, threads: 1}) {
		t.Fatalf("production argon2id parameters = %+v, want the OWASP minimum m=19456 t=2 p=1", p)
	}
	ctx := context.Background()
	// The real thing once: production parameters.
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, name := range []string{"a", "b"} {
		if err := s.SetPassword(ctx, name, "same password", RoleOperator); err != nil {
			t.Fatal(err)
		}
	}
	ha, hb := userHash(t, s, "a"), userHash(t, s, "b")
	parts := strings.Split(ha, "$")
	// "", "argon2id", "v=19", "m=19456,t=2,p=1", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v=19" ||
		parts[3] != "m=19456,t=2,p=1" || len(parts[4]) != 22 || len(parts[5]) != 43 {
		t.Errorf("hash = %q, want $argon2id$v=19$m=19456,t=2,p=1$SALT$KEY", ha)
	}
	if ha == hb || strings.Contains(ha, "same password") {
		t.Errorf("equal passwords, hashes %q and %q: salt missing?", ha, hb)
	}
	// The key is argon2id of the password and salt, as any PHC reader would compute it.
	salt, _ := base64.RawStdEncoding.DecodeString(parts[4])
	want := base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte("same password"), salt, 2, 19456, 1, 32))
	if parts[5] != want {
		t.Errorf("key %s, want %s", parts[5], want)
	}
	if _, err := s.CheckPassword(ctx, "a", "same password"); err != nil {
		t.Error(err)
	}
	if _, err := s.CheckPassword(ctx, "a", "same passwore"); !errors.Is(err, ErrBadLogin) {
		t.Errorf("wrong password: %v", err)
	}
}

func TestPasswordHashUpgrade(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	currentPrefix := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$", testArgon.memory, testArgon.time, testArgon.threads)
	otherArgon := argonParams{memory: 32, time: 1, threads: 1}
	otherKey := argon2.IDKey([]byte("correct horse"), []byte("saltsaltsaltsalt"), 1, 32, 1, 32)
	tests := []struct {
		name, hash string
	}{
		{"pbkdf2 of earlier versions", pbkdf2Hash(t, "correct horse", 1000)},
		{"argon2id with other parameters", formatArgon(otherArgon, []byte("saltsaltsaltsalt"), otherKey)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setHash(t, s, "anna", tt.hash)
			if _, err := s.CheckPassword(ctx, "anna", "wrong password"); !errors.Is(err, ErrBadLogin) {
				t.Fatal(err)
			}
			if h := userHash(t, s, "anna"); h != tt.hash {
				t.Errorf("a failed login rehashed: %q", h)
			}
			if _, err := s.CheckPassword(ctx, "anna", "correct horse"); err != nil {
				t.Fatalf("the old hash no longer works: %v", err)
			}
			upgraded := userHash(t, s, "anna")
			if !strings.HasPrefix(upgraded, currentPrefix) {
				t.Errorf("hash after login = %q, want upgraded to %q...", upgraded, currentPrefix)
			}
			if _, err := s.CheckPassword(ctx, "anna", "correct horse"); err != nil {
				t.Errorf("login after upgrade: %v", err)
			}
			if h := userHash(t, s, "anna"); h != upgraded {
				t.Errorf("a current hash was replaced again: %q -> %q", upgraded, h)
			}
		})
	}
}

func TestCorruptHashRefused(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	salt := base64.RawStdEncoding.EncodeToString([]byte("saltsaltsaltsalt"))
	key := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	for _, h := range []string{"", "plain", "$argon2id$", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1$" + salt + "$" + key,
		"$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=4,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=99999999,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=99,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt,
		"$argon2id$v=19$m=64,t=1,p=1$$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$",
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + key,
		"pbkdf2-sha256$x$AAAA$AAAA", "pbkdf2-sha256$0$AAAA$AAAA",
		"md5$1000$AAAA$AAAA", "pbkdf2-sha256$1000$!!$AAAA", "pbkdf2-sha256$1000$AAAA$",
		"pbkdf2-sha256$99999999999$" + salt + "$" + key} {
		if _, err := parseHash(h); err == nil {
			t.Errorf("parseHash(%q) accepted", h)
		}
		setHash(t, s, "x", h)
		for _, pw := range []string{"", "AAAA", "correct horse"} {
			if _, err := s.CheckPassword(ctx, "x", pw); !errors.Is(err, ErrBadLogin) {
				t.Errorf("hash %q, password %q: err = %v", h, pw, err)
			}
		}
	}
	// The bounds themselves are accepted.
	for _, h := range []string{
		"$argon2id$v=19$m=262144,t=16,p=16$" + salt + "$" + key,
		"$argon2id$v=19$m=8,t=1,p=1$" + salt + "$" + key,
	} {
		if _, err := parseHash(h); err != nil {
			t.Errorf("parseHash(%q): %v", h, err)
		}
	}
}

func FuzzParseHash(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("pbkdf2-sha256$600000$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=,t=,p=$$")
	f.Fuzz(func(t *testing.T, stored string) {
		h, err := parseHash(stored)
		if err != nil {
			return
		}
		switch h.scheme {
		case argonScheme:
			p := h.argon
			if p.memory > maxArgonMemoryKiB || p.time < 1 || p.time > maxArgonTime || p.threads < 1 || p.threads > maxArgonThreads {
				t.Fatalf("%q: parameters out of bounds: %+v", stored, p)
			}
			// What parses formats back to the same string.
			if got := formatArgon(p, h.salt, h.key); got != stored {
				t.Fatalf("%q formats back as %q", stored, got)
			}
		case legacyScheme:
			if h.iterations < 1 || h.iterations > maxPBKDF2Iter {
				t.Fatalf("%q: iterations %d", stored, h.iterations)
			}
		default:
			t.Fatalf("%q: scheme %q", stored, h.scheme)
		}
		if len(h.salt) < minSaltLen || len(h.salt) > maxSaltLen || len(h.key) < minKeyLen || len(h.key) > maxKeyLen {
			t.Fatalf("%q: salt %d, key %d bytes", stored, len(h.salt), len(h.key))
		}
	})
}

// TestUnknownUserCostsAHash checks that a login for a user that does not exist, or whose hash
// cannot be read, does the hashing work of a real check: with a 4 MiB argon2id cost, a check
// that skipped the hash would allocate far less than 4 MiB.
func TestUnknownUserCostsAHash(t *testing.T) {
	ctx := context.Background()
	big := argonParams{memory: 4096, time: 1, threads: 1}
	s := openTest(t, "", nil, func(o *options) { o.argon = big })
	if err := s.SetPassword(ctx, "anna", "correct horse", RoleOperator); err != nil {
		t.Fatal(err)
	}
	setHash(t, s, "broken", "not a hash")
	tests := []struct{ name, user string }{
		{"known user, wrong password", "anna"},
		{"unknown user", "nobody"},
		{"unreadable hash", "broken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if _, err := s.CheckPassword(ctx, tt.user, "wrong password"); !errors.Is(err, ErrBadLogin) {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			if got := after.TotalAlloc - before.TotalAlloc; got < uint64(big.memory)*1024 {
				t.Errorf("a failed check allocated %d bytes, want at least the %d KiB of one hash", got, big.memory)
			}
		})
	}
}

func BenchmarkHashPassword(b *testing.B) {
	s := openTest(b, "", nil, func(o *options) { o.argon = defaultArgon() })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.hashPassword("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestChangePassword(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	s := openTest(t, "", clock)
	if err := s.SetPassword(ctx, "anna", "correct horse", RoleOperator); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, "boss", "owner password", RoleOwner); err != nil {
		t.Fatal(err)
	}
	here, _ := s.CreateSession(ctx, "anna", 2*time.Hour)
	phone, _ := s.CreateSession(ctx, "anna", time.Hour)
	bossTok, _ := s.CreateSession(ctx, "boss", time.Hour)

	refusals := []struct {
		name, token, current, next string
		want                       error
	}{
		{"wrong current password", here, "correct horsE", "battery staple", ErrBadLogin},
		{"weak new password", here, "correct horse", "short", ErrWeakPassword},
		{"unknown session", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "correct horse", "battery staple", ErrNotFound},
		{"no session", "", "correct horse", "battery staple", ErrNotFound},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.ChangePassword(ctx, tt.token, tt.current, tt.next, ""); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if _, err := s.CheckPassword(ctx, "anna", "correct horse"); err != nil {
				t.Errorf("a refused change changed the password: %v", err)
			}
			for _, tok := range []string{here, phone} {
				if _, err := s.Session(ctx, tok); err != nil {
					t.Errorf("a refused change ended a session: %v", err)
				}
			}
		})
	}

	clock.Add(10 * time.Minute)
	newTok, err := s.ChangePassword(ctx, here, "correct horse", "battery staple", "from 192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckPassword(ctx, "anna", "correct horse"); !errors.Is(err, ErrBadLogin) {
		t.Errorf("old password still works: %v", err)
	}
	if _, err := s.CheckPassword(ctx, "anna", "battery staple"); err != nil {
		t.Errorf("new password refused: %v", err)
	}
	// The token is new (no fixation), the old one and every other session of anna ended.
	if newTok == here || newTok == phone {
		t.Errorf("the session token was not rotated")
	}
	for name, tok := range map[string]string{"this browser's old token": here, "the phone": phone} {
		if _, err := s.Session(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s still valid: %v", name, err)
		}
	}
	ss, err := s.Session(ctx, newTok)
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	if ss.User.Name != "anna" || !ss.Created.Equal(clock.Now()) || !ss.Expires.Equal(clock.Now().Add(2*time.Hour)) {
		t.Errorf("new session %+v: want anna's, started now, with the old one's 2 h lifetime", ss)
	}
	if _, err := s.Session(ctx, bossTok); err != nil {
		t.Errorf("another user's session ended: %v", err)
	}
	entries, err := s.ListAudit(ctx, 1)
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit: %v, %v", entries, err)
	}
	if e := entries[0]; e.User != "anna" || e.Action != "password changed" || !strings.Contains(e.Detail, "192.0.2.7") ||
		strings.Contains(e.Detail, "battery") || strings.Contains(e.Detail, "horse") {
		t.Errorf("audit entry %+v", e)
	}
}

func TestSetPasswordEndsSessions(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	if err := s.SetPassword(ctx, OwnerName, "owner password", RoleOwner); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, "anna", "correct horse", RoleOperator); err != nil {
		t.Fatal(err)
	}
	owner1, _ := s.CreateSession(ctx, OwnerName, time.Hour)
	owner2, _ := s.CreateSession(ctx, OwnerName, time.Hour)
	anna, _ := s.CreateSession(ctx, "anna", time.Hour)
	// As `hotline passwd` does.
	if err := s.SetPassword(ctx, OwnerName, "new owner password", RoleOwner); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{owner1, owner2} {
		if _, err := s.Session(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("owner session survived a password reset: %v", err)
		}
	}
	if _, err := s.Session(ctx, anna); err != nil {
		t.Errorf("another user's session ended: %v", err)
	}
}
