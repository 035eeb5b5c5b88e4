package main

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"hotline/daemon/custom"
	"hotline/daemon/store"
	"hotline/daemon/update"
)

// TestUpdateCommands makes a key, signs a real (small) program, checks and installs the file
// on a box, then puts the backup back after an update that changed the database and failed.
func TestUpdateCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cli := func(args ...string) (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		err := run(ctx, append([]string{"update"}, args...), nil, &out, &errb)
		return out.String() + errb.String(), err
	}
	keys := filepath.Join(dir, "keys")
	if out, err := cli("keygen", "--out", keys); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	if _, err := cli("keygen", "--out", keys); err == nil {
		t.Fatal("keygen overwrote a key")
	}
	if fi, err := os.Stat(filepath.Join(keys, "hotline-update.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the signing key: %v %v", fi.Mode(), err)
	}

	bin := filepath.Join(dir, "fakebox")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./daemon/update/testdata/fakebox")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	file := filepath.Join(dir, "hotline-9.9.9"+update.FileExt)
	if out, err := cli("sign", "--key", filepath.Join(keys, "hotline-update.key"), "--in", bin, "--version", "9.9.9", "--out", file); err != nil {
		t.Fatalf("sign: %v\n%s", err, out)
	}
	if out, err := cli("verify", file); err == nil || !strings.Contains(err.Error(), "does not trust") {
		t.Fatalf("verify against the release keys: %v\n%s", err, out)
	}
	out, err := cli("verify", "--keys", filepath.Join(keys, "hotline-update.pub"), file)
	if err != nil || !strings.Contains(out, "good: hotline 9.9.9 for linux/") {
		t.Fatalf("verify: %v\n%s", err, out)
	}

	// apply trusts only the release keys...
	data := filepath.Join(dir, "data")
	if _, err := cli("apply", "--data", data, file); err == nil {
		t.Fatal("apply took a file signed by an unknown key")
	}
	if _, ok := update.Pending(data); ok {
		t.Fatal("a refused file is pending")
	}
	// ...and the test's key here.
	b, _ := os.ReadFile(filepath.Join(keys, "hotline-update.pub"))
	updateKeys, err = update.ParsePublicKeys(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { updateKeys = nil })
	if out, err := cli("apply", "--data", data, file); err != nil || !strings.Contains(out, "Installed hotline 9.9.9") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	st, err := update.ReadStatus(data)
	if err != nil || st.Trial != update.SlotA || st.TrialVersion != "9.9.9" || st.Last.Backup == "" {
		t.Fatalf("after apply: %+v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(data, update.BackupDir, st.Last.Backup)); err != nil {
		t.Fatal(err)
	}

	// The trial moved the database on and did not start: the launcher went back (as
	// update.Launch writes it), and the old program cannot read the database.
	log := slog.New(slog.DiscardHandler)
	if err := restoreAfterRollback(ctx, data, log); err != nil || custom.Pending(data) {
		t.Fatalf("nothing to restore yet: %v", err)
	}
	state := `{"last":{"time":"2026-11-20T10:00:00Z","outcome":"rolled_back","version":"9.9.9","back_to":"` + version +
		`","backup":"` + st.Last.Backup + `"}}`
	if err := os.WriteFile(filepath.Join(data, update.Dir, "state.json"), []byte(state), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := restoreAfterRollback(ctx, data, log); err != nil || custom.Pending(data) {
		t.Fatalf("the database is readable, yet a restore: %v", err)
	}
	db, err := sql.Open("sqlite", filepath.Join(data, store.DBName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := restoreAfterRollback(ctx, data, log); err != nil || !custom.Pending(data) {
		t.Fatalf("no restore after a rollback that left a newer database: %v", err)
	}
	if st, _ := update.ReadStatus(data); !st.Last.Restored {
		t.Fatal("the restore is not recorded for the admin")
	}
	// The store opens again after the restore is applied.
	if _, err := custom.ApplyPendingRestore(data); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(ctx, data)
	if err != nil {
		t.Fatalf("open after the restore: %v", err)
	}
	s.Close()
}
