package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"hotline/internal/atomicfile"
)

// The box's own certificate for the admin over HTTPS lives in the data folder: made at the first
// start with HTTPS on, kept from then on. An installer may put a certificate of their own there
// (PEM, with its key) instead.
const (
	CertDir  = "tls"
	CertFile = "cert.pem"
	KeyFile  = "key.pem"
)

// A made certificate's validity does not follow the clock: a board without a battery clock may
// make it in 1970. Browsers do not limit how long a certificate the user accepts by hand may run.
var (
	certNotBefore = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	certNotAfter  = time.Date(2046, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Certificate is the admin's TLS certificate and how the owner recognises it.
type Certificate struct {
	TLS tls.Certificate
	// Fingerprint is the SHA-256 of the certificate, as browsers show it: 32 hex pairs with
	// colons. The settings page shows it so that the owner can compare it with what the
	// browser says the first time.
	Fingerprint string
	Made        bool // made just now (there was none)
}

// LoadOrMakeCertificate reads the certificate and key in dataDir/tls, or, when there are
// neither, makes a self-signed one for names (host names) and ips and writes them there (the
// key readable by the box's user alone). A certificate without its key, or files that do not
// parse, are an error: they are not replaced, since they may be the installer's.
func LoadOrMakeCertificate(dataDir string, names []string, ips []net.IP) (Certificate, error) {
	dir := filepath.Join(dataDir, CertDir)
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	_, certErr := os.Stat(certPath)
	_, keyErr := os.Stat(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		c, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			return Certificate{}, fmt.Errorf("web: the admin's certificate in %s: %w", dir, err)
		}
		return Certificate{TLS: c, Fingerprint: fingerprint(c.Certificate[0])}, nil
	case !errors.Is(certErr, os.ErrNotExist) || !errors.Is(keyErr, os.ErrNotExist):
		return Certificate{}, fmt.Errorf("web: %s needs both %s and %s (or neither, and the box makes its own)", dir, CertFile, KeyFile)
	}
	certPEM, keyPEM, err := makeCertificate(names, ips)
	if err != nil {
		return Certificate{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Certificate{}, fmt.Errorf("web: certificate folder: %w", err)
	}
	// The key first: a certificate on disk always has its key.
	if err := atomicfile.Write(keyPath, keyPEM, 0o600); err != nil {
		return Certificate{}, err
	}
	if err := atomicfile.Write(certPath, certPEM, 0o644); err != nil {
		return Certificate{}, err
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return Certificate{}, fmt.Errorf("web: the certificate just made: %w", err)
	}
	return Certificate{TLS: c, Fingerprint: fingerprint(c.Certificate[0]), Made: true}, nil
}

// makeCertificate makes a self-signed certificate (ECDSA P-256) for names and ips.
func makeCertificate(names []string, ips []net.IP) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("web: certificate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("web: certificate serial: %w", err)
	}
	cn := "hotline"
	if len(names) > 0 {
		cn = names[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"hotline box"}},
		NotBefore:             certNotBefore,
		NotAfter:              certNotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              names,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("web: make certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("web: certificate key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// secureView is the secure-connection section of the settings page.
type secureView struct {
	URL         string // the admin's HTTPS address by the name this page was reached by
	Fingerprint string
	Here        bool // this page came over HTTPS
}

// secureView tells the owner where the admin answers over HTTPS; nil when it does not.
func (s *Server) secureView(r *http.Request) *secureView {
	if s.https.Port == 0 {
		return nil
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		host = "hotline.local"
	}
	u := url.URL{Scheme: "https", Host: host}
	if s.https.Port != 443 {
		u.Host = net.JoinHostPort(host, strconv.Itoa(s.https.Port))
	} else if strings.Contains(host, ":") {
		u.Host = "[" + host + "]"
	}
	return &secureView{URL: u.String() + "/", Fingerprint: s.https.Fingerprint, Here: r.TLS != nil}
}
