package update

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"errors"
	"fmt"
)

// trustedPEM holds the public keys of the product's release key(s), PEM "PUBLIC KEY" blocks
// (PKIX, ed25519); text between the blocks is comment. Only public keys belong here.
//
//go:embed trusted_keys.pem
var trustedPEM []byte

// TrustedKeys returns the release keys built into this binary.
func TrustedKeys() []ed25519.PublicKey {
	keys, err := ParsePublicKeys(trustedPEM)
	if err != nil {
		panic("update: trusted_keys.pem: " + err.Error()) // caught by the tests
	}
	return keys
}

// ParsePublicKeys reads every "PUBLIC KEY" PEM block of b as an ed25519 key.
func ParsePublicKeys(b []byte) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return keys, nil
		}
		if blk.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("update: a %q PEM block where a public key belongs", blk.Type)
		}
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("update: public key: %w", err)
		}
		ek, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("update: public key is %T, not ed25519", k)
		}
		keys = append(keys, ek)
	}
}

// ParsePrivateKey reads a PEM "PRIVATE KEY" (PKCS #8, ed25519), as [GenerateKey] writes and
// `openssl genpkey -algorithm ed25519` makes.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("update: no PEM PRIVATE KEY block")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("update: private key: %w", err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("update: private key is %T, not ed25519", k)
	}
	return ek, nil
}

// GenerateKey makes a new signing key and returns it and its public key as PEM.
func GenerateKey() (private, public []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("update: generate key: %w", err)
	}
	return EncodeKeys(priv, pub)
}

// EncodeKeys returns priv and pub as PEM (PKCS #8 and PKIX).
func EncodeKeys(priv ed25519.PrivateKey, pub ed25519.PublicKey) (private, public []byte, err error) {
	pk, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("update: %w", err)
	}
	pb, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("update: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pb}), nil
}
