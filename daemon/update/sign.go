package update

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"
)

// Sign writes an update file to w that carries the hotline binary at binPath as version,
// signed with key. The processor (GOOS, GOARCH, GOARM) is read from the binary's build
// information (an ELF program's .go.buildinfo section), so a file can only claim the processor
// its program was built for.
func Sign(w io.Writer, binPath, version string, created time.Time, key ed25519.PrivateKey) (Manifest, error) {
	settings, err := readGoBuildSettings(binPath)
	if err != nil {
		return Manifest{}, fmt.Errorf("update: %s is not a Go program for Linux: %w", binPath, err)
	}
	m := Manifest{Product: Product, Version: version, Created: created.UTC().Truncate(time.Second)}
	m.GOOS, m.GOARCH, m.GOARM = settings["GOOS"], settings["GOARCH"], settings["GOARM"]
	if m.GOOS == "" || m.GOARCH == "" {
		return m, fmt.Errorf("update: %s does not say which processor it is for", binPath)
	}
	if m.GOARCH == "arm" && m.GOARM == "" {
		m.GOARM = "7"
	}
	if m.GOARCH != "arm" {
		m.GOARM = ""
	}
	if _, ok := elfMachine[m.GOARCH]; !ok || m.GOOS != "linux" {
		return m, fmt.Errorf("update: %s is for %s; the box runs Linux on %s", binPath, m.Arch(), "amd64, arm64, arm, 386 or riscv64")
	}
	if err := checkELF(binPath, m.GOARCH); err != nil {
		return m, err
	}
	f, err := os.Open(binPath)
	if err != nil {
		return m, fmt.Errorf("update: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if m.Size, err = io.Copy(h, f); err != nil {
		return m, fmt.Errorf("update: read %s: %w", binPath, err)
	}
	m.SHA256 = hex.EncodeToString(h.Sum(nil))
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return m, fmt.Errorf("update: %w", err)
	}
	if _, err := checkVersionString(m.Version); err != nil {
		return m, err
	}
	return m, Write(w, m, f, key)
}

// checkVersionString checks a version as [ReadHeader] would, before it is signed.
func checkVersionString(v string) (string, error) {
	if v == "" || len(v) > 64 {
		return v, fmt.Errorf("update: version %q: 1 to 64 characters", v)
	}
	return v, nil
}
