package store

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Password hashing.
//
// New hashes are argon2id in the PHC string format
//
//	$argon2id$v=19$m=19456,t=2,p=1$SALT$KEY
//
// with SALT and KEY in unpadded standard base64. The cost is the OWASP minimum for argon2id
// (19 MiB of memory, 2 passes, 1 lane), chosen for a Raspberry Pi Zero 2 W: it has 512 MB of
// RAM shared with the modems' audio, the web admin lets at most two password checks run at
// once (38 MiB at worst), and one check takes a fraction of a second on its Cortex-A53 cores
// while still making every guess of an attacker with a stolen database cost 19 MiB of memory.
// One lane, because more threads would only let one login take more cores away from the calls.
//
// Hashes of older versions ("pbkdf2-sha256$ITERATIONS$SALT$KEY") are still checked, and
// replaced by an argon2id hash at the next successful login, as is an argon2id hash made with
// other parameters than the current ones.
const (
	// ArgonMemoryKiB is the memory of one password hash, in KiB (19 MiB).
	ArgonMemoryKiB = 19 * 1024
	// ArgonTime is the number of passes over that memory.
	ArgonTime = 2
	// ArgonThreads is the parallelism (lanes) of one hash.
	ArgonThreads = 1

	saltLen = 16
	keyLen  = 32

	argonScheme  = "argon2id"
	legacyScheme = "pbkdf2-sha256"

	// Bounds on the parameters a stored hash may ask for, so that a damaged or hostile
	// database cannot make a login allocate the box's whole memory or spin for minutes.
	maxArgonMemoryKiB = 256 * 1024
	maxArgonTime      = 16
	maxArgonThreads   = 16
	maxPBKDF2Iter     = 10_000_000
	minSaltLen        = 8
	maxSaltLen        = 64
	minKeyLen         = 16
	maxKeyLen         = 64
)

// argonParams is the cost of an argon2id hash.
type argonParams struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
}

func defaultArgon() argonParams {
	return argonParams{memory: ArgonMemoryKiB, time: ArgonTime, threads: ArgonThreads}
}

// errBadHash means a stored hash cannot be read.
var errBadHash = errors.New("unreadable password hash")

// storedHash is a parsed password hash of either scheme.
type storedHash struct {
	scheme     string
	argon      argonParams // argon2id only
	iterations int         // pbkdf2-sha256 only
	salt, key  []byte
}

// hashPassword returns the argon2id PHC string of password with a fresh random salt.
func (s *Store) hashPassword(password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", fmt.Errorf("hash password: longer than %d bytes", MaxPasswordBytes)
	}
	salt := make([]byte, saltLen)
	rand.Read(salt) // never fails (crypto/rand since Go 1.24)
	p := s.opts.argon
	key := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, keyLen)
	return formatArgon(p, salt, key), nil
}

func formatArgon(p argonParams, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s", argonScheme, argon2.Version,
		p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// parseHash reads a stored hash of either scheme, checking its parameters are within bounds.
func parseHash(stored string) (storedHash, error) {
	if rest, ok := strings.CutPrefix(stored, "$"+argonScheme+"$"); ok {
		return parseArgon(rest)
	}
	if rest, ok := strings.CutPrefix(stored, legacyScheme+"$"); ok {
		return parsePBKDF2(rest)
	}
	return storedHash{}, errBadHash
}

// parseArgon reads "v=19$m=M,t=T,p=P$SALT$KEY".
func parseArgon(rest string) (storedHash, error) {
	parts := strings.Split(rest, "$")
	if len(parts) != 4 || parts[0] != "v="+strconv.Itoa(argon2.Version) {
		return storedHash{}, errBadHash
	}
	var m, t, p uint64
	fields := strings.Split(parts[1], ",")
	if len(fields) != 3 {
		return storedHash{}, errBadHash
	}
	for i, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		// The order is fixed by the format: m, t, p.
		if !ok || k != "mtp"[i:i+1] || v == "" || v[0] == '+' || (len(v) > 1 && v[0] == '0') {
			return storedHash{}, errBadHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return storedHash{}, errBadHash
		}
		switch i {
		case 0:
			m = n
		case 1:
			t = n
		case 2:
			p = n
		}
	}
	if t < 1 || t > maxArgonTime || p < 1 || p > maxArgonThreads || m < 8*p || m > maxArgonMemoryKiB {
		return storedHash{}, errBadHash
	}
	salt, key, err := decodeSaltKey(parts[2], parts[3])
	if err != nil {
		return storedHash{}, err
	}
	return storedHash{
		scheme: argonScheme,
		argon:  argonParams{memory: uint32(m), time: uint32(t), threads: uint8(p)},
		salt:   salt, key: key,
	}, nil
}

// parsePBKDF2 reads "ITERATIONS$SALT$KEY".
func parsePBKDF2(rest string) (storedHash, error) {
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return storedHash{}, errBadHash
	}
	n, err := strconv.Atoi(parts[0])
	if err != nil || n < 1 || n > maxPBKDF2Iter {
		return storedHash{}, errBadHash
	}
	salt, key, err := decodeSaltKey(parts[1], parts[2])
	if err != nil {
		return storedHash{}, err
	}
	return storedHash{scheme: legacyScheme, iterations: n, salt: salt, key: key}, nil
}

func decodeSaltKey(salt64, key64 string) (salt, key []byte, err error) {
	// The decoder skips line breaks; a stored hash has none.
	if strings.ContainsAny(salt64+key64, "\r\n") {
		return nil, nil, errBadHash
	}
	b64 := base64.RawStdEncoding.Strict()
	salt, err1 := b64.DecodeString(salt64)
	key, err2 := b64.DecodeString(key64)
	if err1 != nil || err2 != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen ||
		len(key) < minKeyLen || len(key) > maxKeyLen {
		return nil, nil, errBadHash
	}
	return salt, key, nil
}

// verifyPassword compares password with a stored hash in constant time. current reports
// whether the hash is argon2id with the parameters new hashes get; a right password with a
// hash that is not current should be hashed again. An unreadable hash costs the same work as
// a readable one and matches nothing.
func (s *Store) verifyPassword(stored, password string) (ok, current bool) {
	h, err := parseHash(stored)
	if err != nil || len(password) > MaxPasswordBytes {
		s.burnHash(password)
		return false, false
	}
	var got []byte
	switch h.scheme {
	case argonScheme:
		got = argon2.IDKey([]byte(password), h.salt, h.argon.time, h.argon.memory, h.argon.threads, uint32(len(h.key)))
	case legacyScheme:
		got, err = pbkdf2.Key(sha256.New, password, h.salt, h.iterations, len(h.key))
		if err != nil {
			return false, false
		}
	}
	ok = subtle.ConstantTimeCompare(got, h.key) == 1
	current = h.scheme == argonScheme && h.argon == s.opts.argon && len(h.key) == keyLen
	return ok, current
}

// burnHash does the work of one password check, so that unknown users and unreadable hashes
// cost as much as known ones.
func (s *Store) burnHash(password string) {
	var salt [saltLen]byte
	p := s.opts.argon
	if len(password) > MaxPasswordBytes {
		password = password[:MaxPasswordBytes]
	}
	argon2.IDKey([]byte(password), salt[:], p.time, p.memory, p.threads, keyLen)
}
