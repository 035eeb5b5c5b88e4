package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestOpenLayout(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		sub  string
	}{
		{"nested, not there yet", "a/b/c"},
		{"odd characters", "data dir?x=1#frag%20"},
		{"unicode", "данные"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tt.sub)
			s := openTest(t, dir, nil)
			if s.Dir() != dir || !filepath.IsAbs(s.Dir()) {
				t.Errorf("Dir() = %q, want %q", s.Dir(), dir)
			}
			for _, d := range []string{VoicemailDir, BackupDir} {
				if fi, err := os.Stat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
					t.Errorf("%s: %v", d, err)
				}
			}
			fi, err := os.Stat(filepath.Join(dir, DBName))
			if err != nil {
				t.Fatalf("database not where expected: %v", err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("database mode %v, want 0600", fi.Mode().Perm())
			}
			var mode string
			var fk, busy int
			if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
				t.Errorf("journal_mode = %q, %v", mode, err)
			}
			// Every pooled connection is set up the same way: take a few at once.
			var conns []interface{ Close() error }
			for range 3 {
				c, err := s.db.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
				if err := c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
					t.Errorf("foreign_keys = %d, %v", fk, err)
				}
				if err := c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil || busy != int(busyTimeout.Milliseconds()) {
					t.Errorf("busy_timeout = %d, %v", busy, err)
				}
				// The page cache is bounded in KiB (a negative cache_size), not in pages.
				var cache int
				if err := c.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&cache); err != nil || cache != -cacheKiB {
					t.Errorf("cache_size = %d, %v; want %d", cache, err, -cacheKiB)
				}
			}
			for _, c := range conns {
				c.Close()
			}
			if _, err := s.StartCall(ctx, "gsm1", "+1", time.Time{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	notDB := t.TempDir()
	if err := os.WriteFile(filepath.Join(notDB, DBName), []byte("this is not a database, just text that is long enough to matter"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ctx  context.Context
		dir  string
	}{
		{"empty dir name", ctx, ""},
		{"dir is a file", ctx, file},
		{"below a file", ctx, filepath.Join(file, "sub")},
		{"cancelled", cancelled, t.TempDir()},
		{"not a database", ctx, notDB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := openWith(tt.ctx, tt.dir, testOptions(newClock()))
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
		})
	}
}

// BenchmarkQueryOnNewConnection is what a query costs when the pool has closed its idle
// connections (connMaxIdle): SQLite opens the file, runs the PRAGMAs and reads the schema.
func BenchmarkQueryOnNewConnection(b *testing.B) {
	for _, tc := range []struct {
		name string
		idle int
		pin  bool
	}{{"pooled", 2, false}, {"new connection", 0, false}, {"new connection, one held", 0, true}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			s := openTest(b, b.TempDir(), nil)
			if tc.pin {
				c, err := s.db.Conn(ctx)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
			}
			s.db.SetMaxIdleConns(tc.idle)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Setting(ctx, "language", "ru"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
