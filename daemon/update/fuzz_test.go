package update

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
)

// FuzzReadHeader feeds arbitrary bytes to the update file parser and the whole check: neither
// may panic, every refusal is one of the package's errors, and whatever is accepted is what a
// trusted key signed.
func FuzzReadHeader(f *testing.F) {
	good := updateFile(f, manifestFor(amd64ELF, "1.1.0"), amd64ELF, trustedKey)
	f.Add(good)
	f.Add(good[:headerPrefix+20])
	f.Add([]byte(magic + "\x00\x00\x00\x02{}"))
	f.Add(updateFile(f, manifestFor(amd64ELF, "1.1.0"), amd64ELF, nil))
	dir := f.TempDir()
	known := []error{ErrNotUpdate, ErrTorn, ErrTooBig, ErrUnsigned, ErrBadSignature, ErrUnknownKey,
		ErrProduct, ErrArch, ErrNotNewer, ErrHash, ErrNotBinary}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ReadHeader(bytes.NewReader(b))
		if err == nil {
			if len(h.Raw) == 0 || len(h.Raw) > maxManifest || h.Manifest.Size <= 0 || len(h.Sig) != 64 || len(h.Key) != 32 {
				t.Fatalf("accepted a bad header: %+v", h)
			}
		} else if !errors.Is(err, ErrNotUpdate) && !errors.Is(err, ErrTorn) {
			t.Fatalf("ReadHeader: unexpected error %v", err)
		}
		m, err := Verify(context.Background(), dir, bytes.NewReader(b), testOptions())
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Fatalf("Verify left %d files", len(left))
		}
		if err == nil {
			if !bytes.Equal(b, good) && m.SHA256 != manifestFor(amd64ELF, "").SHA256 {
				t.Fatalf("accepted a payload nobody signed: %+v", m)
			}
			return
		}
		for _, k := range known {
			if errors.Is(err, k) {
				return
			}
		}
		t.Fatalf("Verify: unexpected error %v", err)
	})
}
