package sip

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

const (
	// nonceLife is how long a digest nonce is accepted; an older one gets a stale challenge.
	nonceLife = 5 * time.Minute
	// maxFailures failed REGISTERs from one address within failWindow make it wait.
	maxFailures = 5
	failWindow  = time.Minute
)

// authenticator checks SIP digest credentials (RFC 2617/3261, MD5, qop=auth). Nonces carry their
// issue time and an HMAC, so no nonce table is kept; failures are counted per source address.
type authenticator struct {
	realm string
	key   [32]byte

	mu    sync.Mutex
	fails map[string]*failCount
}

type failCount struct {
	n     int
	start time.Time
}

func newAuthenticator(realm string) (*authenticator, error) {
	a := &authenticator{realm: realm, fails: map[string]*failCount{}}
	if _, err := rand.Read(a.key[:]); err != nil {
		return nil, fmt.Errorf("sip: nonce key: %w", err)
	}
	return a, nil
}

func (a *authenticator) nonce(now time.Time) string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	m := hmac.New(sha256.New, a.key[:])
	m.Write(b[:8])
	copy(b[8:], m.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// nonceState tells whether a nonce was issued here and whether it is still fresh.
func (a *authenticator) nonceState(n string, now time.Time) (ours, fresh bool) {
	b, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil || len(b) != 24 {
		return false, false
	}
	m := hmac.New(sha256.New, a.key[:])
	m.Write(b[:8])
	if !hmac.Equal(m.Sum(nil)[:16], b[8:]) {
		return false, false
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(b[:8])))
	return true, now.Sub(issued) < nonceLife && !issued.After(now.Add(time.Second))
}

func (a *authenticator) challenge(now time.Time, stale bool) string {
	c := digest.Challenge{Realm: a.realm, Nonce: a.nonce(now), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	return c.String()
}

// failed counts a failed attempt from host and reports whether it is now over the limit.
func (a *authenticator) failed(host string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.fails[host]
	if f == nil || now.Sub(f.start) > failWindow {
		if len(a.fails) > 4096 { // forget everything rather than grow without bound
			clear(a.fails)
		}
		f = &failCount{start: now}
		a.fails[host] = f
	}
	f.n++
}

func (a *authenticator) blocked(host string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.fails[host]
	if f == nil {
		return false
	}
	if now.Sub(f.start) > failWindow {
		delete(a.fails, host)
		return false
	}
	return f.n >= maxFailures
}

// check decides a REGISTER: 200 (credentials good), 401 (send the returned challenge) or 403.
func (a *authenticator) check(req *sip.Request, user, host string, acc Accounts, now time.Time) (int, string) {
	if a.blocked(host, now) {
		return 403, ""
	}
	h := req.GetHeader("Authorization")
	if h == nil {
		return 401, a.challenge(now, false)
	}
	cr, err := digest.ParseCredentials(h.Value())
	if err != nil {
		a.failed(host, now)
		return 403, ""
	}
	ours, fresh := a.nonceState(cr.Nonce, now)
	if !ours || cr.Realm != a.realm {
		return 401, a.challenge(now, false)
	}
	pw, ok := acc.Password(user)
	if !ok || cr.Username != user || !strings.EqualFold(cr.Algorithm, "MD5") && cr.Algorithm != "" {
		a.failed(host, now)
		return 403, ""
	}
	want := digestResponse(cr, pw, req.Method.String())
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(cr.Response))) != 1 {
		a.failed(host, now)
		return 403, ""
	}
	if !fresh {
		return 401, a.challenge(now, true)
	}
	return 200, ""
}

func md5hex(parts ...string) string {
	sum := md5.Sum([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(sum[:])
}

// digestResponse is the expected "response" of RFC 2617 for MD5, with or without qop=auth.
func digestResponse(cr *digest.Credentials, password, method string) string {
	ha1 := md5hex(cr.Username, cr.Realm, password)
	ha2 := md5hex(method, cr.URI)
	if cr.QOP == "" {
		return md5hex(ha1, cr.Nonce, ha2)
	}
	return md5hex(ha1, cr.Nonce, fmt.Sprintf("%08x", cr.Nc), cr.Cnonce, cr.QOP, ha2)
}
