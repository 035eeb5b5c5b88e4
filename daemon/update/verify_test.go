package update

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestVerifyRefuses(t *testing.T) {
	good := updateFile(t, manifestFor(amd64ELF, "1.1.0"), amd64ELF, trustedKey)
	with := func(edit func(*Manifest)) []byte {
		m := manifestFor(amd64ELF, "1.1.0")
		edit(&m)
		return updateFile(t, m, amd64ELF, trustedKey)
	}
	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		if i < 0 {
			i += len(c)
		}
		c[i] ^= 0x40
		return c
	}
	manLen := int(binary.BigEndian.Uint32(good[len(magic):]))
	sigAt := headerPrefix + manLen + ed25519.PublicKeySize // the first byte of the signature
	other := []byte("#!/bin/sh\necho not a program\n")
	arm64ELF := tinyELF(elf.EM_AARCH64, elf.ELFCLASS64)
	armELF := tinyELF(elf.EM_ARM, elf.ELFCLASS32)

	for _, tc := range []struct {
		name string
		file []byte
		opts func(*Options)
		want error // nil: accepted
	}{
		{"good", good, nil, nil},
		{"empty", nil, nil, ErrNotUpdate},
		{"a bare program", amd64ELF, nil, ErrNotUpdate},
		{"a backup", []byte("\x1f\x8b\x08\x00 a tar.gz"), nil, ErrNotUpdate},
		{"a newer format", flip(good, len(magic)-1), nil, ErrNotUpdate},
		{"magic cut short", good[:7], nil, ErrTorn},
		{"manifest cut short", good[:headerPrefix+10], nil, ErrTorn},
		{"signature cut short", good[:sigAt+3], nil, ErrTorn},
		{"payload cut short", good[:len(good)-100], nil, ErrTorn},
		{"data after the payload", append(bytes.Clone(good), 'x'), nil, ErrTooBig},
		{"huge manifest length", append([]byte(magic), 0xff, 0xff, 0xff, 0xff), nil, ErrNotUpdate},
		{"manifest not JSON", flip(good, headerPrefix), nil, ErrNotUpdate},
		{"unsigned", updateFile(t, manifestFor(amd64ELF, "1.1.0"), amd64ELF, nil), nil, ErrUnsigned},
		{"signature changed", flip(good, sigAt), nil, ErrBadSignature},
		{"manifest changed after signing", bytes.Replace(good, []byte(`"1.1.0"`), []byte(`"9.1.0"`), 1), nil, ErrBadSignature},
		{"foreign key", updateFile(t, manifestFor(amd64ELF, "1.1.0"), amd64ELF, foreignKey), nil, ErrUnknownKey},
		{"no trusted key", good, func(o *Options) { o.TrustedKeys = []ed25519.PublicKey{} }, ErrUnknownKey},
		{"another product", with(func(m *Manifest) { m.Product = "coffeemaker" }), nil, ErrProduct},
		{"another processor", with(func(m *Manifest) { m.GOARCH = "arm64" }), nil, ErrArch},
		{"another system", with(func(m *Manifest) { m.GOOS = "windows" }), nil, ErrArch},
		{"armv7 on armv6", updateFile(t, func() Manifest {
			m := manifestFor(armELF, "1.1.0")
			m.GOARCH, m.GOARM = "arm", "7"
			return m
		}(), armELF, trustedKey), func(o *Options) { o.GOARCH, o.GOARM = "arm", "6" }, ErrArch},
		{"armv6 on armv7", updateFile(t, func() Manifest {
			m := manifestFor(armELF, "1.1.0")
			m.GOARCH, m.GOARM = "arm", "6"
			return m
		}(), armELF, trustedKey), func(o *Options) { o.GOARCH, o.GOARM = "arm", "7" }, nil},
		{"same version", with(func(m *Manifest) { m.Version = "1.0.0" }), nil, ErrNotNewer},
		{"older version", with(func(m *Manifest) { m.Version = "v0.9.12" }), nil, ErrNotNewer},
		{"not a release version", with(func(m *Manifest) { m.Version = "e861bff-dirty" }), nil, ErrNotNewer},
		{"older version forced", with(func(m *Manifest) { m.Version = "0.9.0" }), func(o *Options) { o.Force = true }, nil},
		{"a development box takes any", with(func(m *Manifest) { m.Version = "0.1.0" }), func(o *Options) { o.Version = "dev" }, nil},
		{"larger than accepted", good, func(o *Options) { o.MaxSize = 100 }, ErrTooBig},
		{"payload hash differs", with(func(m *Manifest) { m.SHA256 = manifestFor(bytes.ToUpper(amd64ELF), "").SHA256 }), nil, ErrHash},
		{"payload changed", flip(good, -1), nil, ErrHash},
		{"not a program", updateFile(t, manifestFor(other, "1.1.0"), other, trustedKey), nil, ErrNotBinary},
		{"a program for another processor", updateFile(t, manifestFor(arm64ELF, "1.1.0"), arm64ELF, trustedKey), nil, ErrNotBinary},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions()
			if tc.opts != nil {
				tc.opts(&opts)
			}
			dir := t.TempDir()
			m, err := Verify(context.Background(), dir, bytes.NewReader(tc.file), opts)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if m.Size == 0 || m.Product != Product {
					t.Errorf("manifest %+v", m)
				}
			} else if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("Verify left %d files behind", len(left))
			}
		})
	}
}

func TestVerifyReadsInSmallPieces(t *testing.T) {
	f := updateFile(t, manifestFor(amd64ELF, "1.1.0"), amd64ELF, trustedKey)
	for _, r := range []func() *bytes.Reader{func() *bytes.Reader { return bytes.NewReader(f) }} {
		if _, err := Verify(context.Background(), t.TempDir(), iotest.OneByteReader(r()), testOptions()); err != nil {
			t.Fatal(err)
		}
		_, err := Verify(context.Background(), t.TempDir(), iotest.DataErrReader(iotest.TimeoutReader(r())), testOptions())
		if !errors.Is(err, ErrTorn) && !errors.Is(err, iotest.ErrTimeout) {
			t.Fatalf("a read error: %v", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Verify(ctx, t.TempDir(), bytes.NewReader(f), testOptions()); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestReceivePendingCancel(t *testing.T) {
	data := t.TempDir()
	if _, ok := Pending(data); ok {
		t.Fatal("a new box has a pending update")
	}
	f := updateFile(t, manifestFor(amd64ELF, "1.1.0"), amd64ELF, trustedKey)
	m, err := Receive(context.Background(), data, bytes.NewReader(f), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	p, ok := Pending(data)
	if !ok || p.Version != "1.1.0" || p.SHA256 != m.SHA256 {
		t.Fatalf("pending %+v %v", p, ok)
	}
	// A refused file leaves the pending one alone.
	if _, err := Receive(context.Background(), data, bytes.NewReader(f[:100]), testOptions()); !errors.Is(err, ErrTorn) {
		t.Fatalf("torn: %v", err)
	}
	if p, ok := Pending(data); !ok || p.Version != "1.1.0" {
		t.Fatal("a refused file dropped the pending update")
	}
	if err := CancelPending(data); err != nil {
		t.Fatal(err)
	}
	if _, ok := Pending(data); ok {
		t.Fatal("cancelled, still pending")
	}
	entries, _ := os.ReadDir(filepath.Join(data, Dir))
	for _, e := range entries {
		t.Errorf("left behind: %s", e.Name())
	}
	if _, err := Install(data, "1.0.0", ""); !errors.Is(err, ErrNoPending) {
		t.Fatalf("install with nothing pending: %v", err)
	}
}

func TestInstallSlotsAndStatus(t *testing.T) {
	data := t.TempDir()
	receive := func(v string) {
		t.Helper()
		o := testOptions()
		o.Force = true
		if _, err := Receive(context.Background(), data, bytes.NewReader(updateFile(t, manifestFor(amd64ELF, v), amd64ELF, trustedKey)), o); err != nil {
			t.Fatal(err)
		}
	}
	receive("1.1.0")
	if _, err := Install(data, "1.0.0", "hotline-before-update-x.tar.gz"); err != nil {
		t.Fatal(err)
	}
	st, err := ReadStatus(data)
	if err != nil || st.Trial != SlotA || st.TrialVersion != "1.1.0" || st.Active != "" || st.Pending != nil ||
		st.Last == nil || st.Last.Outcome != OutcomeTrial || st.Last.From != "1.0.0" || st.Last.Backup == "" {
		t.Fatalf("after install: %+v %+v %v", st, st.Last, err)
	}
	receive("1.2.0")
	if _, err := Install(data, "1.0.0", ""); !errors.Is(err, ErrTrialRunning) {
		t.Fatalf("install during a trial: %v", err)
	}
	// Healthy: only the process running from the trial slot may say so.
	if err := MarkHealthy(data); err != nil {
		t.Fatal(err)
	}
	if st, _ := ReadStatus(data); st.Trial != SlotA {
		t.Fatal("the built-in binary committed the trial")
	}
	t.Setenv(EnvSlot, SlotA)
	if !OnTrial(data) {
		t.Fatal("slot a is not on trial")
	}
	if err := MarkHealthy(data); err != nil {
		t.Fatal(err)
	}
	st, _ = ReadStatus(data)
	if st.Active != SlotA || st.Trial != "" || st.Running != SlotA || st.ActiveVersion != "1.1.0" ||
		st.Last.Outcome != OutcomeOK || st.Last.Backup != "hotline-before-update-x.tar.gz" {
		t.Fatalf("after healthy: %+v %+v", st, st.Last)
	}
	// The next update goes into the other slot; the pending file is checked again.
	if _, err := Install(data, "1.1.0", ""); err != nil {
		t.Fatal(err)
	}
	if st, _ := ReadStatus(data); st.Trial != SlotB || st.Active != SlotA || st.TrialVersion != "1.2.0" {
		t.Fatalf("second install: %+v", st)
	}
	receive("1.3.0")
	pending := filepath.Join(data, Dir, pendingName)
	b, _ := os.ReadFile(pending)
	b[len(b)-1] ^= 1
	if err := os.WriteFile(pending, b, 0o750); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvSlot, SlotB)
	if err := MarkHealthy(data); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(data, "1.2.0", ""); !errors.Is(err, ErrHash) {
		t.Fatalf("a damaged pending file: %v", err)
	}
	if _, ok := Pending(data); ok {
		t.Fatal("a damaged pending file stays")
	}
}

func TestSaveBackupRotates(t *testing.T) {
	data := t.TempDir()
	dir := filepath.Join(data, BackupDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	// Older ones, and the store's own database copies, which are not touched.
	for _, n := range []string{"hotline-before-update-20200101-000000.tar.gz", "hotline-before-update-20200102-000000.tar.gz",
		"hotline-before-update-20200103-000000.tar.gz", "hotline-20200101-000000.db"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	name, err := SaveBackup(context.Background(), data, func(_ context.Context, w io.Writer) error {
		_, err := w.Write([]byte("backup"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != "backup" {
		t.Fatalf("backup %s: %q %v", name, b, err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	got := strings.Join(names, " ")
	want := "hotline-20200101-000000.db hotline-before-update-20200102-000000.tar.gz hotline-before-update-20200103-000000.tar.gz " + name
	if got != want {
		t.Fatalf("backups:\n%s\nwant\n%s", got, want)
	}
	// A failed backup leaves nothing.
	if _, err := SaveBackup(context.Background(), data, func(context.Context, io.Writer) error { return errors.New("disk full") }); err == nil {
		t.Fatal("a failed backup succeeded")
	}
	if after, _ := os.ReadDir(dir); len(after) != len(entries) {
		t.Fatalf("a failed backup left files: %d, was %d", len(after), len(entries))
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		cmp  int
		ok   bool
	}{
		{"1.0.0", "1.0.0", 0, true},
		{"v1.0.0", "1.0", 0, true},
		{"1.0.1", "1.0.0", 1, true},
		{"1.10.0", "1.9.0", 1, true},
		{"v1.2.3-5-gabcdef0", "v1.2.3", 1, true},
		{"v1.2.3-5-gabcdef0-dirty", "v1.2.3-6-g1234567", -1, true},
		{"2", "1.99.99", 1, true},
		{"dev", "1.0.0", 0, false},
		{"e861bff-dirty", "1.0.0", 0, false},
		{"1.2.0-rc1", "1.0.0", 0, false},
		{"01.2", "1.0", 0, false},
		{"1..2", "1.0", 0, false},
		{"1.2.3.4.5", "1.0", 0, false},
	} {
		cmp, ok := CompareVersions(tc.a, tc.b)
		if cmp != tc.cmp || ok != tc.ok {
			t.Errorf("CompareVersions(%q, %q) = %d, %v; want %d, %v", tc.a, tc.b, cmp, ok, tc.cmp, tc.ok)
		}
	}
}

func TestKeys(t *testing.T) {
	if len(TrustedKeys()) == 0 {
		t.Fatal("no release key built in")
	}
	priv, pub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(pub, []byte("PRIVATE")) || !bytes.Contains(priv, []byte("BEGIN PRIVATE KEY")) {
		t.Fatal("keys mixed up")
	}
	k, err := ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pubs, err := ParsePublicKeys(append([]byte("a comment\n"), pub...))
	if err != nil || len(pubs) != 1 || !pubs[0].Equal(k.Public()) {
		t.Fatalf("public keys %v %v", pubs, err)
	}
	if _, err := ParsePublicKeys(priv); err == nil {
		t.Fatal("a private key read as a public one")
	}
	if _, err := ParsePrivateKey(pub); err == nil {
		t.Fatal("a public key read as a private one")
	}
	// The release key must never be a private key or a test key.
	if bytes.Contains(trustedPEM, []byte("PRIVATE")) {
		t.Fatal("trusted_keys.pem holds a private key")
	}
	for _, k := range TrustedKeys() {
		if k.Equal(trustedPub) {
			t.Fatal("the test key is trusted by the product")
		}
	}
}

func TestSignTheTestBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	m, err := Sign(&b, exe, "1.5.0", time.Now(), trustedKey)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(exe)
	if m.Size != fi.Size() || m.GOOS != runtime.GOOS || m.GOARCH != runtime.GOARCH {
		t.Fatalf("manifest %+v", m)
	}
	o := testOptions()
	o.GOOS, o.GOARCH, o.MaxSize = "", "", 0
	got, err := Verify(context.Background(), t.TempDir(), &b, o)
	if err != nil || got != m {
		t.Fatalf("verify the signed test binary: %v\n%+v\n%+v", err, got, m)
	}
	// Not a Go program: refused before anything is written.
	notGo := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(notGo, amd64ELF, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Sign(io.Discard, notGo, "1.5.0", time.Now(), trustedKey); err == nil {
		t.Fatal("signed a file that is not a Go program")
	}
}
