package update

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Product names this firmware in an update file; a file for anything else is refused.
const Product = "hotline"

// FileExt is the name ending of an update file.
const FileExt = ".hotline-update"

const (
	magic          = "HOTLINE-UPDATE\x00\x01" // the last byte is the format version
	maxManifest    = 16 << 10
	signContext    = "hotline-update-v1\x00"
	headerPrefix   = len(magic) + 4
	sigBlock       = ed25519.PublicKeySize + ed25519.SignatureSize
	DefaultMaxSize = 64 << 20 // the largest payload accepted unless Options.MaxSize says otherwise
)

// Errors of [Receive] and [ReadHeader], in plain words; test with errors.Is.
var (
	ErrNotUpdate    = errors.New("this is not a hotline update file")
	ErrTorn         = errors.New("the update file is damaged or incomplete")
	ErrTooBig       = errors.New("the update file is larger than it says or than this box accepts")
	ErrUnsigned     = errors.New("the update file is not signed")
	ErrBadSignature = errors.New("the signature of the update file is wrong")
	ErrUnknownKey   = errors.New("the update file is signed by a key this box does not trust")
	ErrProduct      = errors.New("the update file is for another product")
	ErrArch         = errors.New("the update file is for another kind of processor")
	ErrNotNewer     = errors.New("the update file holds the same or an older version")
	ErrHash         = errors.New("the program in the update file does not match its signature")
	ErrNotBinary    = errors.New("the update file does not hold a program for this box")
	ErrNoSpace      = errors.New("not enough free space on the box for the update")
)

// Manifest describes the payload of an update file. It is signed.
type Manifest struct {
	Product string    `json:"product"`
	Version string    `json:"version"`
	GOOS    string    `json:"goos"`
	GOARCH  string    `json:"goarch"`
	GOARM   string    `json:"goarm,omitempty"` // "5", "6" or "7" for GOARCH=arm
	Size    int64     `json:"size"`
	SHA256  string    `json:"sha256"` // hex, of the payload
	Created time.Time `json:"created"`
}

// Arch is GOOS/GOARCH with the ARM level, as people name a build: "linux/arm64", "linux/armv7".
func (m Manifest) Arch() string {
	if m.GOARCH == "arm" && m.GOARM != "" {
		return m.GOOS + "/armv" + m.GOARM
	}
	return m.GOOS + "/" + m.GOARCH
}

// Header is what precedes the payload of an update file.
type Header struct {
	Manifest Manifest
	Raw      []byte            // the manifest as signed
	Key      ed25519.PublicKey // the key that signed it
	Sig      []byte
}

// signed returns the bytes the signature covers.
func signed(raw []byte) []byte {
	b := make([]byte, 0, len(signContext)+len(raw))
	return append(append(b, signContext...), raw...)
}

// ReadHeader reads the magic, the manifest and the signature block from r, leaving r at the
// payload. It checks the framing and that the manifest is well formed, not the signature.
func ReadHeader(r io.Reader) (Header, error) {
	var pre [headerPrefix]byte
	if n, err := io.ReadFull(r, pre[:]); err != nil {
		k := min(n, len(magic))
		if n > 0 && string(pre[:k]) == magic[:k] {
			return Header{}, ErrTorn
		}
		return Header{}, ErrNotUpdate
	}
	if string(pre[:len(magic)-1]) != magic[:len(magic)-1] {
		return Header{}, ErrNotUpdate
	}
	if pre[len(magic)-1] != magic[len(magic)-1] {
		return Header{}, fmt.Errorf("%w (format %d; this box reads format %d)", ErrNotUpdate, pre[len(magic)-1], magic[len(magic)-1])
	}
	n := binary.BigEndian.Uint32(pre[len(magic):])
	if n == 0 || n > maxManifest {
		return Header{}, fmt.Errorf("%w: manifest of %d bytes", ErrNotUpdate, n)
	}
	buf := make([]byte, int(n)+sigBlock)
	if _, err := io.ReadFull(r, buf); err != nil {
		return Header{}, ErrTorn
	}
	h := Header{
		Raw: buf[:n:n],
		Key: ed25519.PublicKey(buf[n : int(n)+ed25519.PublicKeySize]),
		Sig: buf[int(n)+ed25519.PublicKeySize:],
	}
	dec := json.NewDecoder(bytes.NewReader(h.Raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h.Manifest); err != nil {
		return Header{}, fmt.Errorf("%w: manifest: %v", ErrNotUpdate, err)
	}
	if dec.More() {
		return Header{}, fmt.Errorf("%w: manifest has trailing data", ErrNotUpdate)
	}
	m := h.Manifest
	if m.Size <= 0 {
		return Header{}, fmt.Errorf("%w: payload size %d", ErrNotUpdate, m.Size)
	}
	if sum, err := hex.DecodeString(m.SHA256); err != nil || len(sum) != sha256.Size {
		return Header{}, fmt.Errorf("%w: payload hash %q", ErrNotUpdate, m.SHA256)
	}
	if m.Version == "" || len(m.Version) > 64 {
		return Header{}, fmt.Errorf("%w: version %q", ErrNotUpdate, m.Version)
	}
	return h, nil
}

// checkSignature checks h's signature and that its key is one of trusted.
func (h Header) checkSignature(trusted []ed25519.PublicKey) error {
	if allZero(h.Sig) {
		return ErrUnsigned
	}
	if !ed25519.Verify(h.Key, signed(h.Raw), h.Sig) {
		return ErrBadSignature
	}
	for _, k := range trusted {
		if k.Equal(h.Key) {
			return nil
		}
	}
	return fmt.Errorf("%w (key %s)", ErrUnknownKey, KeyID(h.Key))
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// KeyID is a short name of a public key for logs and messages: the first 8 bytes of its
// SHA-256, in hex.
func KeyID(k ed25519.PublicKey) string {
	s := sha256.Sum256(k)
	return hex.EncodeToString(s[:8])
}

// Write writes an update file to w: m (whose Size and SHA256 must describe payload) signed
// with key, then payload. A nil key writes an unsigned file (for tests of the refusal).
func Write(w io.Writer, m Manifest, payload io.Reader, key ed25519.PrivateKey) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("update: manifest: %w", err)
	}
	if len(raw) > maxManifest {
		return fmt.Errorf("update: manifest of %d bytes is too long", len(raw))
	}
	head := make([]byte, 0, headerPrefix+len(raw)+sigBlock)
	head = append(head, magic...)
	head = binary.BigEndian.AppendUint32(head, uint32(len(raw)))
	head = append(head, raw...)
	if key != nil {
		head = append(head, key.Public().(ed25519.PublicKey)...)
		head = append(head, ed25519.Sign(key, signed(raw))...)
	} else {
		head = append(head, make([]byte, sigBlock)...)
	}
	if _, err := w.Write(head); err != nil {
		return fmt.Errorf("update: write: %w", err)
	}
	n, err := io.Copy(w, payload)
	if err != nil {
		return fmt.Errorf("update: write payload: %w", err)
	}
	if n != m.Size {
		return fmt.Errorf("update: payload is %d bytes, the manifest says %d", n, m.Size)
	}
	return nil
}
