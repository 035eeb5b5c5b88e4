package update

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
)

// Options say what [Receive] accepts. The zero value takes the built-in release keys and this
// binary's processor, and accepts only a newer version than Version.
type Options struct {
	TrustedKeys []ed25519.PublicKey // nil: [TrustedKeys], the release keys built in
	Version     string              // the running version
	GOOS        string              // "": runtime.GOOS
	GOARCH      string              // "": runtime.GOARCH
	GOARM       string              // "": the GOARM this binary was built with (GOARCH=arm only)
	MaxSize     int64               // the largest payload; 0: DefaultMaxSize
	Force       bool                // accept the same or an older version
}

func (o Options) withDefaults() Options {
	if o.TrustedKeys == nil {
		o.TrustedKeys = TrustedKeys()
	}
	if o.GOOS == "" {
		o.GOOS = runtime.GOOS
	}
	if o.GOARCH == "" {
		o.GOARCH = runtime.GOARCH
	}
	if o.GOARM == "" && o.GOARCH == runtime.GOARCH {
		o.GOARM = buildSetting("GOARM")
	}
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	return o
}

// buildSetting returns a build setting of this binary ("GOARM", "GOAMD64"), or "".
func buildSetting(key string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}

// check refuses a manifest this box must not run.
func (o Options) check(m Manifest) error {
	if m.Product != Product {
		return fmt.Errorf("%w (%q)", ErrProduct, m.Product)
	}
	if m.GOOS != o.GOOS || m.GOARCH != o.GOARCH {
		return fmt.Errorf("%w: it is for %s, this box is %s", ErrArch, m.Arch(), Manifest{GOOS: o.GOOS, GOARCH: o.GOARCH, GOARM: o.GOARM}.Arch())
	}
	if m.GOARCH == "arm" {
		// A program for an older ARM runs on a newer one, not the other way round.
		want, _ := strconv.Atoi(o.GOARM)
		if want == 0 {
			want = 7
		}
		got, err := strconv.Atoi(m.GOARM)
		if err != nil || got < 5 || got > want {
			return fmt.Errorf("%w: it is for %s, this box is %s", ErrArch, m.Arch(), Manifest{GOOS: o.GOOS, GOARCH: o.GOARCH, GOARM: strconv.Itoa(want)}.Arch())
		}
	}
	if m.Size > o.MaxSize {
		return fmt.Errorf("%w: the program is %d bytes, at most %d are accepted", ErrTooBig, m.Size, o.MaxSize)
	}
	if !o.Force && !newer(m.Version, o.Version) {
		return fmt.Errorf("%w: %s, this box runs %s", ErrNotNewer, m.Version, o.Version)
	}
	return nil
}

// Verify reads a whole update file from r and checks it, spooling the payload to a temporary
// file in dir, which it removes before it returns. It is [Receive] without keeping the result.
func Verify(ctx context.Context, dir string, r io.Reader, opts Options) (Manifest, error) {
	m, tmp, err := receive(ctx, dir, r, opts)
	if tmp != "" {
		os.Remove(tmp)
	}
	return m, err
}

// receive checks the update file r and spools its payload to a new file in dir, whose path it
// returns (also on error, when the file was made: the caller removes it).
func receive(ctx context.Context, dir string, r io.Reader, opts Options) (Manifest, string, error) {
	opts = opts.withDefaults()
	h, err := ReadHeader(r)
	if err != nil {
		return Manifest{}, "", err
	}
	if err := h.checkSignature(opts.TrustedKeys); err != nil {
		return h.Manifest, "", err
	}
	m := h.Manifest
	if err := opts.check(m); err != nil {
		return m, "", err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return m, "", fmt.Errorf("update: %w", err)
	}
	if free, ok := freeBytes(dir); ok && free < uint64(m.Size)+spareBytes {
		return m, "", fmt.Errorf("%w: %d MB free, %d MB needed", ErrNoSpace, free>>20, (uint64(m.Size)+spareBytes)>>20)
	}
	f, err := os.CreateTemp(dir, "incoming-*.tmp")
	if err != nil {
		return m, "", fmt.Errorf("update: %w", err)
	}
	tmp := f.Name()
	err = spool(ctx, f, r, m)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("update: %w", cerr)
	}
	if err != nil {
		return m, tmp, err
	}
	if err := checkELF(tmp, opts.GOARCH); err != nil {
		return m, tmp, err
	}
	return m, tmp, nil
}

// spareBytes is the room left free beyond the payload (the database must still grow).
const spareBytes = 16 << 20

// spool copies m.Size bytes of payload from r to f while hashing them, then checks that the
// file ends there and that the hash is the signed one.
func spool(ctx context.Context, f *os.File, r io.Reader, m Manifest) error {
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, sum), io.LimitReader(ctxReader{ctx, r}, m.Size))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Both wrapped: the web tells its own upload limit (http.MaxBytesError) apart.
		return fmt.Errorf("%w: %w", ErrTorn, err)
	}
	if n < m.Size {
		return fmt.Errorf("%w: %d of %d bytes", ErrTorn, n, m.Size)
	}
	var one [1]byte
	if k, _ := io.ReadFull(r, one[:]); k > 0 {
		return fmt.Errorf("%w: data after the program", ErrTooBig)
	}
	if hex.EncodeToString(sum.Sum(nil)) != m.SHA256 {
		return ErrHash
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	return nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// elfMachine is the ELF machine and class of each GOARCH the box may run on.
var elfMachine = map[string]struct {
	m uint16
	c byte
}{
	"amd64":   {emX86_64, elfClass64},
	"arm64":   {emAArch64, elfClass64},
	"arm":     {emARM, elfClass32},
	"386":     {em386, elfClass32},
	"riscv64": {emRISCV, elfClass64},
}

// checkELF refuses a file that is not a little-endian ELF executable for goarch.
func checkELF(path, goarch string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotBinary, err)
	}
	defer f.Close()
	h, err := readELFHeader(f)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotBinary, err)
	}
	want, ok := elfMachine[goarch]
	if !ok {
		return fmt.Errorf("%w: this box's processor %s is not known", ErrNotBinary, goarch)
	}
	if h.machine != want.m || h.class != want.c || h.data != elfDataLSB {
		return fmt.Errorf("%w: it is a program for %s", ErrNotBinary, machineName(h.machine))
	}
	if h.typ != elfExec && h.typ != elfDyn {
		return fmt.Errorf("%w: ELF type %d", ErrNotBinary, h.typ)
	}
	return nil
}
