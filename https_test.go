package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAdminOverHTTPS runs `hotline run --https`: the box makes its certificate at the first
// start and keeps it, a browser that checks the printed fingerprint gets the admin over TLS, a
// login there gets a Secure cookie, and the settings page names the secure address and the
// fingerprint (and says which way it came). Over plain HTTP the same login works and the page
// points to the secure address.
func TestAdminOverHTTPS(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	if err := run(context.Background(), []string{"passwd", "--data", data}, strings.NewReader("correct horse battery\n"), io.Discard, io.Discard); err != nil {
		t.Fatalf("passwd: %v", err)
	}
	args := []string{"--sip", "off", "--sim", "1", "--https", "127.0.0.1:0"}
	p := startHotline(t, data, 0, "Test call:", args...)
	if p.secureURL == "" || len(p.fingerprint) != 95 {
		t.Fatalf("no secure address printed: %q, %q", p.secureURL, p.fingerprint)
	}
	if fi, err := os.Stat(filepath.Join(data, "tls", "key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the certificate's key: %v, %v", fi, err)
	}
	fingerprint := p.fingerprint

	// The client trusts the certificate by its fingerprint, as the owner does by comparing it.
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			got := strings.ToUpper(strings.Join(strings.Split(fmt.Sprintf("% x", sum[:]), " "), ":"))
			if got != fingerprint {
				return fmt.Errorf("certificate %s, printed %s", got, fingerprint)
			}
			return nil
		}}}
	defer tr.CloseIdleConnections()
	login := func(base string, tr http.RoundTripper) *http.Cookie {
		t.Helper()
		cl := &http.Client{Transport: tr, Timeout: 20 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := cl.PostForm(base+"/login", url.Values{"username": {"owner"}, "password": {"correct horse battery"}})
		if err != nil {
			t.Fatalf("login at %s: %v", base, err)
		}
		resp.Body.Close()
		for _, c := range resp.Cookies() {
			if c.Name == "hotline_session" {
				return c
			}
		}
		t.Fatalf("login at %s: %s, no session cookie", base, resp.Status)
		return nil
	}
	settings := func(base string, tr http.RoundTripper, c *http.Cookie) string {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/settings", nil)
		req.AddCookie(c)
		req.Header.Set("Accept-Language", "en")
		resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("settings at %s: %s", base, resp.Status)
		}
		return string(b)
	}

	secure := login(p.secureURL, tr)
	if !secure.Secure || !secure.HttpOnly || secure.SameSite != http.SameSiteStrictMode {
		t.Errorf("the session cookie over HTTPS: %+v; want Secure, HttpOnly, SameSite=Strict", secure)
	}
	page := settings(p.secureURL, tr, secure)
	for _, want := range []string{fingerprint, "came over the secure address", `id="secure-url" href="` + p.secureURL + `/"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the settings page over HTTPS lacks %q", want)
		}
	}
	// (Over plain HTTP the cookie is Secure only on loopback, as here: web.TestSessionCookieOverHTTPS.)
	plain := login(p.url, http.DefaultTransport)
	if page := settings(p.url, http.DefaultTransport, plain); !strings.Contains(page, "came without encryption") || !strings.Contains(page, fingerprint) {
		t.Error("the settings page over plain HTTP does not point to the secure address")
	}

	// Started again, the box keeps its certificate.
	p.stop(t)
	p2 := startHotline(t, data, 0, "Test call:", args...)
	if p2.fingerprint != fingerprint {
		t.Errorf("the certificate changed at the second start: %s, was %s", p2.fingerprint, fingerprint)
	}
}
