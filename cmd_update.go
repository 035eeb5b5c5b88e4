package main

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"hotline/daemon/custom"
	"hotline/daemon/store"
	"hotline/daemon/update"
)

// updateKeys are the keys `hotline update apply` trusts; nil: the release keys built in (the
// tests set their own).
var updateKeys []ed25519.PublicKey

const updateUsage = `usage: hotline update COMMAND [flags]

commands:
  keygen --out DIR                                  make a signing key (DIR/hotline-update.key, .pub)
  sign --key FILE --in BINARY --version V --out FILE  make a signed update file of a hotline binary
  verify [--keys FILE] FILE                         check an update file and say what it holds
  apply [--force] --data DIR FILE                   back up the box and install the update; it runs at the next start

See docs/UPDATE.md.`

func cmdUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{updateUsage}
	}
	switch args[0] {
	case "keygen":
		return cmdUpdateKeygen(args[1:], stdout, stderr)
	case "sign":
		return cmdUpdateSign(args[1:], stdout, stderr)
	case "verify":
		return cmdUpdateVerify(ctx, args[1:], stdout, stderr)
	case "apply":
		return cmdUpdateApply(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, updateUsage)
		return nil
	}
	return usageError{fmt.Sprintf("hotline update: unknown command %q\n\n%s", args[0], updateUsage)}
}

func cmdUpdateKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("update keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "folder for hotline-update.key (secret) and hotline-update.pub")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *out == "" || fs.NArg() != 0 {
		return usageError{"usage: hotline update keygen --out DIR"}
	}
	priv, pub, err := update.GenerateKey()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	keyPath := filepath.Join(*out, "hotline-update.key")
	pubPath := filepath.Join(*out, "hotline-update.pub")
	// O_EXCL: never overwrite a key that may already sign updates.
	f, err := os.OpenFile(keyPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if _, err := f.Write(priv); err != nil {
		f.Close()
		return fmt.Errorf("keygen: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	keys, _ := update.ParsePublicKeys(pub)
	fmt.Fprintf(stdout, "Signing key: %s (keep it secret, off the repository)\nPublic key %s: %s\n"+
		"Boxes trust it once it is in daemon/update/trusted_keys.pem of the build they run.\n",
		keyPath, update.KeyID(keys[0]), pubPath)
	return nil
}

func cmdUpdateSign(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("update sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyPath := fs.String("key", "", "the signing key (PEM, from hotline update keygen)")
	in := fs.String("in", "", "the hotline binary, built for the box's processor")
	ver := fs.String("version", "", "the version the binary reports (its -X main.version)")
	out := fs.String("out", "", "the update file to write (NAME"+update.FileExt+")")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *keyPath == "" || *in == "" || *ver == "" || *out == "" || fs.NArg() != 0 {
		return usageError{"usage: hotline update sign --key FILE --in BINARY --version V --out FILE"}
	}
	b, err := os.ReadFile(*keyPath)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	key, err := update.ParsePrivateKey(b)
	if err != nil {
		return fmt.Errorf("sign: %s: %w", *keyPath, err)
	}
	tmp := *out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	m, err := update.Sign(f, *in, *ver, time.Now(), key)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, *out)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sign: %w", err)
	}
	fmt.Fprintf(stdout, "%s: hotline %s for %s, %.1f MB, signed by key %s\n", *out, m.Version, m.Arch(),
		float64(m.Size)/(1<<20), update.KeyID(key.Public().(ed25519.PublicKey)))
	return nil
}

func cmdUpdateVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("update verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keysPath := fs.String("keys", "", "trust the public keys in this PEM file instead of the release keys built in")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() != 1 {
		return usageError{"usage: hotline update verify [--keys FILE] FILE"}
	}
	name := fs.Arg(0)
	var opts update.Options
	if *keysPath != "" {
		b, err := os.ReadFile(*keysPath)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		if opts.TrustedKeys, err = update.ParsePublicKeys(b); err != nil {
			return fmt.Errorf("verify: %s: %w", *keysPath, err)
		}
	}
	// The file is checked for the processor it names (it may be for another machine than
	// this one), whatever its version.
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	h, err := update.ReadHeader(f)
	if err != nil {
		return fmt.Errorf("verify: %s: %w", name, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	opts.GOOS, opts.GOARCH, opts.GOARM, opts.Force = h.Manifest.GOOS, h.Manifest.GOARCH, h.Manifest.GOARM, true
	opts.MaxSize = max(h.Manifest.Size, update.DefaultMaxSize)
	m, err := update.Verify(ctx, os.TempDir(), f, opts)
	if err != nil {
		return fmt.Errorf("verify: %s: %w", name, err)
	}
	fmt.Fprintf(stdout, "%s: good: hotline %s for %s, %.1f MB, made %s, signed by key %s\n", name, m.Version, m.Arch(),
		float64(m.Size)/(1<<20), m.Created.Format(time.RFC3339), update.KeyID(h.Key))
	if c, ok := update.CompareVersions(m.Version, version); ok && c <= 0 {
		fmt.Fprintf(stdout, "It is not newer than this program (%s): a box running %s takes it only with --force.\n", version, version)
	}
	return nil
}

func cmdUpdateApply(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("update apply", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./var", "data folder of the hotline")
	force := fs.Bool("force", false, "install it even when it is not newer than this program")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() != 1 {
		return usageError{"usage: hotline update apply [--force] --data DIR FILE"}
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	defer f.Close()
	// The box may run an update already: compare with what it runs, not with this program.
	running := version
	if s, err := update.ReadStatus(*data); err == nil && s.ActiveVersion != "" {
		running = s.ActiveVersion
	}
	m, err := update.Receive(ctx, *data, f, update.Options{TrustedKeys: updateKeys, Version: running, Force: *force})
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	st, err := store.Open(ctx, *data)
	if err != nil {
		_ = update.CancelPending(*data)
		return fmt.Errorf("apply: %w", err)
	}
	defer st.Close()
	backup, err := update.SaveBackup(ctx, *data, func(ctx context.Context, w io.Writer) error {
		return custom.WriteBackup(ctx, w, st)
	})
	if err != nil {
		_ = update.CancelPending(*data)
		return fmt.Errorf("apply: no update without a backup: %w", err)
	}
	if _, err := update.Install(*data, running, backup); err != nil {
		if errors.Is(err, update.ErrTrialRunning) {
			_ = update.CancelPending(*data)
		}
		return fmt.Errorf("apply: %w", err)
	}
	_ = st.Audit(ctx, "owner", "update_installed", m.Version+" from the command line")
	fmt.Fprintf(stdout, "Backup: %s\nInstalled hotline %s. It runs at the next start of the service "+
		"(sudo systemctl restart hotline); it is kept once it has run for %v, else the box goes back to %s.\n",
		filepath.Join(*data, update.BackupDir, backup), m.Version, update.TrialPeriod, running)
	return nil
}

// restoreAfterRollback runs after update.Launch went back from an update that did not start:
// when that update had already moved the database to a schema this program cannot read, it
// sets the backup made before the update to be restored, which daemon.Open then puts in place
// (the calls of the few minutes the update ran are lost; without it the box could not start).
func restoreAfterRollback(ctx context.Context, data string, log *slog.Logger) error {
	st, err := update.ReadStatus(data)
	if err != nil || st.Last == nil || st.Last.Outcome != update.OutcomeRolledBack || st.Last.Backup == "" || st.Last.Restored {
		return err
	}
	schema, err := schemaVersion(ctx, filepath.Join(data, store.DBName))
	if err != nil || schema <= store.SchemaVersion() {
		return err
	}
	name := filepath.Join(data, update.BackupDir, st.Last.Backup)
	log.Warn("the update that did not start changed the database; putting back the backup made before it",
		"schema", schema, "this_program", store.SchemaVersion(), "backup", name)
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("restore after rollback: %w", err)
	}
	defer f.Close()
	if _, err := custom.VerifyRestore(ctx, data, f, 0); err != nil {
		return fmt.Errorf("restore after rollback: %s: %w", name, err)
	}
	return update.MarkRestored(data)
}

// schemaVersion reads the schema version (user_version) of the database at path, 0 when
// there is none.
func schemaVersion(ctx context.Context, path string) (int, error) {
	if _, err := os.Stat(path); err != nil {
		return 0, nil
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("schema version of %s: %w", path, err)
	}
	return v, nil
}
