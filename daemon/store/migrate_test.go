package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// inspect opens a database file directly and returns its user_version, its schema and how
// many calls it holds.
func inspect(t *testing.T, path string) (version int, schema string, calls int) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query("SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_schema ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, s)
	}
	rows.Close()
	if strings.Contains(strings.Join(parts, "\n"), "table calls:") {
		if err := db.QueryRow("SELECT count(*) FROM calls").Scan(&calls); err != nil {
			t.Fatal(err)
		}
	}
	return version, strings.Join(parts, "\n"), calls
}

func listBackups(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, BackupDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestMigrateFromEmptyFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, DBName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	clock := newClock()
	s := openTest(t, dir, clock)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	version, schema, _ := inspect(t, filepath.Join(dir, DBName))
	if version != SchemaVersion() || version != len(migrations) {
		t.Fatalf("user_version = %d, want %d", version, SchemaVersion())
	}
	for _, table := range []string{"calls", "voicemails", "settings", "users", "sessions", "setup_code", "audit"} {
		if !strings.Contains(schema, "table "+table+":") {
			t.Errorf("no table %s in\n%s", table, schema)
		}
	}
	if b := listBackups(t, dir); len(b) != 0 {
		t.Errorf("a new database was backed up: %v", b)
	}

	// A second Open applies nothing.
	applied := 0
	counting := slices.Clone(migrations)
	for i := range counting {
		counting[i].Func = func(context.Context, *sql.Tx) error { applied++; return nil }
	}
	s = openTest(t, dir, clock, func(o *options) { o.migrations = counting })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	version2, schema2, _ := inspect(t, filepath.Join(dir, DBName))
	if applied != 0 || version2 != version || schema2 != schema {
		t.Errorf("second Open changed the schema: %d migrations applied, version %d -> %d, schema\n%s\n->\n%s",
			applied, version, version2, schema, schema2)
	}
	// It made the day's backup, and a third Open the same day makes none.
	if b := listBackups(t, dir); len(b) != 1 {
		t.Errorf("backups after second Open: %v, want 1", b)
	}
	clock.Add(time.Hour)
	openTest(t, dir, clock).Close()
	if b := listBackups(t, dir); len(b) != 1 {
		t.Errorf("backups after third Open: %v, want 1", b)
	}
}

func TestMigrateBacksUpFirst(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newClock()
	old := openTest(t, dir, clock, func(o *options) { o.migrations = migrations[:1] })
	if _, err := old.StartCall(ctx, "gsm1", "+1", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	if b := listBackups(t, dir); len(b) != 0 {
		t.Fatalf("backups before the upgrade: %v", b)
	}

	s := openTest(t, dir, clock)
	b := listBackups(t, dir)
	want := "hotline-20261123-101502.db"
	if len(b) != 1 || b[0] != want {
		t.Fatalf("backups = %v, want [%s]", b, want)
	}
	bv, _, bcalls := inspect(t, filepath.Join(dir, BackupDir, want))
	if bv != 1 || bcalls != 1 {
		t.Errorf("backup has version %d and %d calls; want 1 and 1", bv, bcalls)
	}
	if fi, err := os.Stat(filepath.Join(dir, BackupDir, want)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode: %v %v", fi.Mode(), err)
	}
	calls, err := s.ListCalls(ctx, CallFilter{})
	if err != nil || len(calls) != 1 {
		t.Errorf("calls after the upgrade: %v %v", calls, err)
	}
	if ok, err := s.HasOwner(ctx); err != nil || ok {
		t.Errorf("HasOwner after the upgrade = %v, %v", ok, err)
	}
}

func TestMigrationFailureRollsBack(t *testing.T) {
	dir := t.TempDir()
	clock := newClock()
	openTest(t, dir, clock).Close()
	boom := errors.New("boom")
	bad := append(slices.Clone(migrations), migration{
		Name: "half done",
		SQL:  `CREATE TABLE half (x INTEGER)`,
		Func: func(context.Context, *sql.Tx) error { return boom },
	})
	o := testOptions(clock)
	o.migrations = bad
	if s, err := openWith(context.Background(), dir, o); !errors.Is(err, boom) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open with a failing migration = %v, want %v", err, boom)
	}
	version, schema, _ := inspect(t, filepath.Join(dir, DBName))
	if version != len(migrations) || strings.Contains(schema, "half") {
		t.Errorf("failed migration left version %d, schema\n%s", version, schema)
	}
	// The failing attempt was backed up first and the store opens again as before.
	if b := listBackups(t, dir); len(b) != 1 {
		t.Errorf("backups = %v", b)
	}
	openTest(t, dir, clock)
}

func TestNewerDatabaseRefused(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir, nil).Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, DBName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := openWith(context.Background(), dir, testOptions(newClock()))
	if err == nil {
		s.Close()
		t.Fatal("opened a database from the future")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("err = %v", err)
	}
}

func TestBackupRotation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newClock()
	s := openTest(t, dir, clock, func(o *options) { o.keepBackups = 2 })
	stray := filepath.Join(dir, BackupDir, "keep-me.db")
	if err := os.WriteFile(stray, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	var made []string
	for day := range 4 {
		if _, err := s.StartCall(ctx, "gsm1", "+1", time.Time{}); err != nil {
			t.Fatal(err)
		}
		p, err := s.BackupIfDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p == "" {
			t.Fatalf("day %d: no backup made", day)
		}
		made = append(made, filepath.Base(p))
		_, _, calls := inspect(t, p)
		if calls != day+1 {
			t.Errorf("backup %s holds %d calls, want %d", p, calls, day+1)
		}
		// Not due again within the day.
		clock.Add(23 * time.Hour)
		if p, err := s.BackupIfDue(ctx); err != nil || p != "" {
			t.Errorf("day %d: second backup %q, %v", day, p, err)
		}
		clock.Add(time.Hour)
	}
	want := []string{made[2], made[3], "keep-me.db"}
	if got := listBackups(t, dir); !slices.Equal(got, want) {
		t.Errorf("backups = %v, want %v", got, want)
	}
	if made[0] != "hotline-20261123-101502.db" || made[1] != "hotline-20261124-101502.db" {
		t.Errorf("names = %v", made)
	}
	// Two backups in the same second: the newer replaces the older.
	p1, err := s.Backup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := s.Backup(ctx)
	if err != nil || p1 != p2 {
		t.Errorf("same-second backups %q %q %v", p1, p2, err)
	}
}

// The rebuild of the calls table (step 5) keeps every call, its id, and the voicemail that
// points at it, and leaves foreign keys on.
func TestCallsRebuildKeepsRows(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newClock()
	old := openTest(t, dir, clock, func(o *options) { o.migrations = migrations[:4] })
	id, err := old.StartCall(ctx, "gsm1", "+79161234567", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	vm, err := old.StartVoicemail(ctx, id, "a.wav", clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The v4 program's FinishCall, by hand: the columns of today's are not there yet.
	if _, err := old.db.ExecContext(ctx, `UPDATE calls SET ended_at = 1, menu_path = '0', outcome = 'voicemail' WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s := openTest(t, dir, clock)
	c, err := s.Call(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Number != "+79161234567" || c.Outcome != OutcomeVoicemail || c.VoicemailID != vm || c.MenuPath != "0" {
		t.Errorf("call after the rebuild: %+v (voicemail %d)", c, vm)
	}
	var fk int
	if err := s.db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	// A voicemail for a call that does not exist is still refused.
	if _, err := s.StartVoicemail(ctx, id+100, "b.wav", clock.Now()); err == nil {
		t.Error("a voicemail of a missing call was accepted: foreign keys are off")
	}
}
