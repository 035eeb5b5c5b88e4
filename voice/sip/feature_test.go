package sip

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// An operator dials *1 or *0 on their phone: the box asks for the phone's credentials like a
// registration, runs the feature, and answers with a final response whose reason phrase says
// what happened; a wrong password or an unknown code does nothing.
func TestFeatureCodes(t *testing.T) {
	acc := newAccounts("anna", "secret-anna")
	var mu sync.Mutex
	var got []string
	before := len(got)
	s, err := New(Options{Addr: "127.0.0.1:0", IP: "127.0.0.1", RTPAddr: "127.0.0.1", Accounts: acc, Logger: testLogger(t),
		Feature: func(user, code string) string {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, user+" "+code)
			switch code {
			case "*1":
				return "Logged in"
			case "*0":
				return "Logged out"
			}
			return ""
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "server running", func() bool { _, err := s.running(); return err == nil })
	p := newPhone(t, s, "anna", ringForever)

	dial := func(code, password string) (int, string) {
		t.Helper()
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		h, port, _ := sip.ParseAddr(p.box)
		req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: code, Host: h, Port: port})
		aor := sip.Uri{Scheme: "sip", User: "anna", Host: "127.0.0.1"}
		from := &sip.FromHeader{Address: aor}
		from.Params.Add("tag", sip.GenerateTagN(8))
		req.AppendHeader(from)
		req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: code, Host: h, Port: port}})
		ph, pport, _ := sip.ParseAddr(p.addr)
		req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "anna", Host: ph, Port: pport}})
		res, err := p.cli.Do(cctx, req)
		if err != nil {
			t.Fatalf("INVITE %s: %v", code, err)
		}
		if res.StatusCode == 401 {
			if res, err = p.cli.DoDigestAuth(cctx, req, res, sipgo.DigestAuth{Username: "anna", Password: password}); err != nil {
				t.Fatalf("INVITE %s with credentials: %v", code, err)
			}
		}
		return res.StatusCode, res.Reason
	}
	for _, tc := range []struct {
		code, password string
		status         int
		reason         string
	}{
		{"*1", "secret-anna", 603, "Logged in"},
		{"*0", "secret-anna", 603, "Logged out"},
		{"*7", "secret-anna", 404, "No such feature code"},
		{"*1", "wrong", 403, "Forbidden"},
	} {
		status, reason := dial(tc.code, tc.password)
		if status != tc.status || reason != tc.reason {
			t.Errorf("%s with %q: %d %q, want %d %q", tc.code, tc.password, status, reason, tc.status, tc.reason)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"anna *1", "anna *0", "anna *7"}; len(got)-before != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("features run: %q, want %q (none for the wrong password)", got, want)
	}
}
