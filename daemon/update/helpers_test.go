package update

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"testing"
	"time"
)

// testKey returns a fixed signing key for the tests and another, untrusted one.
func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

var (
	trustedKey = testKey(1)
	foreignKey = testKey(2)
	trustedPub = trustedKey.Public().(ed25519.PublicKey)
)

// tinyELF returns the smallest ELF executable header debug/elf reads: no sections or
// segments, then some padding as a program would have.
func tinyELF(m elf.Machine, c elf.Class) []byte {
	var b bytes.Buffer
	ident := [elf.EI_NIDENT]byte{0x7f, 'E', 'L', 'F', byte(c), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)}
	b.Write(ident[:])
	le := binary.LittleEndian
	put16 := func(v uint16) { b.Write(le.AppendUint16(nil, v)) }
	put32 := func(v uint32) { b.Write(le.AppendUint32(nil, v)) }
	put16(uint16(elf.ET_EXEC))
	put16(uint16(m))
	put32(uint32(elf.EV_CURRENT))
	if c == elf.ELFCLASS64 {
		b.Write(make([]byte, 8*3)) // entry, phoff, shoff
		put32(0)                   // flags
		put16(64)                  // ehsize
		put16(56)                  // phentsize
		put16(0)                   // phnum
		put16(64)                  // shentsize
		put16(0)                   // shnum
		put16(0)                   // shstrndx
	} else {
		b.Write(make([]byte, 4*3))
		put32(0)
		put16(52)
		put16(32)
		put16(0)
		put16(40)
		put16(0)
		put16(0)
	}
	b.Write(bytes.Repeat([]byte("program "), 512))
	return b.Bytes()
}

var amd64ELF = tinyELF(elf.EM_X86_64, elf.ELFCLASS64)

// manifestFor describes payload as a linux/amd64 hotline of version v.
func manifestFor(payload []byte, v string) Manifest {
	sum := sha256.Sum256(payload)
	return Manifest{
		Product: Product, Version: v, GOOS: "linux", GOARCH: "amd64",
		Size: int64(len(payload)), SHA256: hex.EncodeToString(sum[:]),
		Created: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC),
	}
}

// updateFile returns an update file of m and payload signed with key (nil: unsigned).
func updateFile(t testing.TB, m Manifest, payload []byte, key ed25519.PrivateKey) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, m, bytes.NewReader(payload), key); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return b.Bytes()
}

// testOptions accept files signed by trustedKey for linux/amd64 on a box running 1.0.0.
func testOptions() Options {
	return Options{TrustedKeys: []ed25519.PublicKey{trustedPub}, Version: "1.0.0", GOOS: "linux", GOARCH: "amd64", MaxSize: 1 << 20}
}
