package web

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The box makes its certificate once, keeps its key to itself, and serves with it: a browser
// that trusts it reaches the admin by every name and address it was made for.
func TestLoadOrMakeCertificate(t *testing.T) {
	data := t.TempDir()
	names := []string{"hotline.local", "localhost"}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.ParseIP("192.168.1.20")}
	c, err := LoadOrMakeCertificate(data, names, ips)
	if err != nil || !c.Made {
		t.Fatalf("first start: made %v, %v", c.Made, err)
	}
	if len(c.Fingerprint) != 32*3-1 || strings.Count(c.Fingerprint, ":") != 31 {
		t.Errorf("fingerprint %q", c.Fingerprint)
	}
	key := filepath.Join(data, CertDir, KeyFile)
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, %v; want mode 0600", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(data, CertDir)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("certificate folder: %v, %v; want mode 0700", fi, err)
	}
	leaf, err := x509.ParseCertificate(c.TLS.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if !leaf.NotBefore.Equal(certNotBefore) || !leaf.NotAfter.Equal(certNotAfter) {
		t.Errorf("valid %v to %v", leaf.NotBefore, leaf.NotAfter)
	}
	again, err := LoadOrMakeCertificate(data, []string{"other.local"}, nil)
	if err != nil || again.Made || again.Fingerprint != c.Fingerprint {
		t.Fatalf("second start: made %v, fingerprint %q (was %q), %v", again.Made, again.Fingerprint, c.Fingerprint, err)
	}

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("admin"))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{again.TLS}}
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	for _, host := range []string{"hotline.local", "localhost", "127.0.0.1", "192.168.1.20"} {
		conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{RootCAs: pool, ServerName: host})
		if err != nil {
			t.Errorf("TLS to %s: %v", host, err)
			continue
		}
		conn.Close()
	}
	if conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "stranger.example"}); err == nil {
		conn.Close()
		t.Error("the certificate is good for a name it was not made for")
	}
}

// Files the box did not make whole are not replaced (they may be the installer's): a
// certificate without its key, or ones that do not parse, are an error.
func TestCertificateFilesRefused(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"certificate without its key": {CertFile: "-----BEGIN CERTIFICATE-----\n"},
		"key without its certificate": {KeyFile: "-----BEGIN PRIVATE KEY-----\n"},
		"garbage":                     {CertFile: "<html>not a certificate</html>", KeyFile: "\x00\x01"},
	} {
		t.Run(name, func(t *testing.T) {
			data := t.TempDir()
			dir := filepath.Join(data, CertDir)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			for f, body := range files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := LoadOrMakeCertificate(data, []string{"localhost"}, nil); err == nil {
				t.Fatal("no error")
			}
			for f, body := range files {
				if b, _ := os.ReadFile(filepath.Join(dir, f)); string(b) != body {
					t.Errorf("%s was changed", f)
				}
			}
		})
	}
}

// Before a password is typed over plain HTTP from another machine, the login and claim pages
// point to the secure address; over HTTPS, on the box itself, or without HTTPS they do not.
func TestPlainLoginPointsToHTTPS(t *testing.T) {
	for _, owned := range []bool{true, false} {
		var f *fixture
		page := "/login"
		if owned {
			f = newOwnedFixture(t, nil)
		} else {
			f = newFixture(t, nil)
			page = "/setup"
		}
		f.srv.https = HTTPS{Port: 443, Fingerprint: fingerprint([]byte("cert"))}
		en := map[string]string{"Accept-Language": "en"}
		body := f.do(req{path: page, host: "hotline.local", header: en}).Body.String()
		if !strings.Contains(body, `id="insecure-url" href="https://hotline.local/"`) || !strings.Contains(body, "can be seen by anyone on the same network") {
			t.Errorf("%s over plain HTTP: no pointer to the secure address", page)
		}
		for _, r := range []req{
			{path: "https://hotline.local" + page, header: en},
			{path: page, host: "127.0.0.1:8080", header: en},
		} {
			if body := f.do(r).Body.String(); strings.Contains(body, `id="insecure"`) {
				t.Errorf("%s at %s%s: points to the secure address", page, r.host, r.path)
			}
		}
		f.srv.https = HTTPS{}
		if body := f.do(req{path: page, host: "hotline.local", header: en}).Body.String(); strings.Contains(body, `id="insecure"`) {
			t.Errorf("%s without HTTPS: points to a secure address", page)
		}
	}
}
