package sip

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestRegister(t *testing.T) {
	acc := newAccounts("alice", "secret", "bob", "hunter2")
	s := startServer(t, acc)
	alice := newPhone(t, s, "alice", refuse(486))
	bob := newPhone(t, s, "bob", refuse(486))

	if got := alice.register("wrong", 60); got != 403 {
		t.Fatalf("wrong password: status %d, want 403", got)
	}
	if s.Registered("alice") {
		t.Fatal("registered with a wrong password")
	}
	if got := alice.register("secret", 60); got != 200 {
		t.Fatalf("right password: status %d, want 200", got)
	}
	if !s.Registered("alice") {
		t.Fatal("alice not registered")
	}
	regs := s.Registrations()
	if len(regs) != 1 || regs[0].User != "alice" || !strings.Contains(regs[0].Contact, alice.addr) ||
		regs[0].UserAgent != "alice" || time.Until(regs[0].Expires) > 61*time.Second || time.Until(regs[0].Expires) < 50*time.Second {
		t.Fatalf("Registrations = %+v", regs)
	}
	// A changed password applies at once.
	acc.set("alice", "changed")
	if got := alice.register("secret", 60); got != 403 {
		t.Fatalf("old password after change: status %d, want 403", got)
	}
	if got := alice.register("changed", 60); got != 200 {
		t.Fatalf("new password: status %d, want 200", got)
	}
	// Un-register.
	if got := alice.register("changed", 0); got != 200 {
		t.Fatalf("unregister: status %d", got)
	}
	if s.Registered("alice") {
		t.Fatal("still registered after Expires: 0")
	}
	// Unknown user.
	if got := newPhone(t, s, "mallory", refuse(486)).register("x", 60); got != 403 {
		t.Fatalf("unknown user: status %d, want 403", got)
	}
	// Too many failures from one address: even the right password is refused for a while.
	for range maxFailures {
		bob.register("nope", 60)
	}
	if got := bob.register("hunter2", 60); got != 403 {
		t.Fatalf("after %d failures: status %d, want 403", maxFailures, got)
	}
}

func TestRegisterExpires(t *testing.T) {
	s := startServer(t, newAccounts("alice", "secret"))
	alice := newPhone(t, s, "alice", refuse(486))
	if got := alice.register("secret", 1); got != 200 {
		t.Fatalf("status %d", got)
	}
	if !s.Registered("alice") {
		t.Fatal("not registered")
	}
	waitFor(t, "registration to lapse", func() bool { return !s.Registered("alice") })
	if _, err := s.Ring(context.Background(), []string{"alice"}, Caller{}); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("Ring after expiry: %v", err)
	}
}

func TestOptions(t *testing.T) {
	s := startServer(t, newAccounts())
	p := newPhone(t, s, "x", refuse(486))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := p.cli.Do(ctx, sip.NewRequest(sip.OPTIONS, p.uri()))
	if err != nil || res.StatusCode != 200 || res.GetHeader("Allow") == nil {
		t.Fatalf("OPTIONS: %v %v", res, err)
	}
}

func TestNonce(t *testing.T) {
	a, err := newAuthenticator("hotline")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	n := a.nonce(now)
	for _, tc := range []struct {
		name        string
		nonce       string
		at          time.Time
		ours, fresh bool
	}{
		{"fresh", n, now.Add(time.Minute), true, true},
		{"stale", n, now.Add(nonceLife + time.Second), true, false},
		{"forged", n[:len(n)-2] + "AA", now, false, false},
		{"garbage", "!!", now, false, false},
	} {
		ours, fresh := a.nonceState(tc.nonce, tc.at)
		if ours != tc.ours || fresh != tc.fresh {
			t.Errorf("%s: ours %v fresh %v", tc.name, ours, fresh)
		}
	}
}

func registered(t *testing.T, s *Server, users map[string]func(*phone, *sip.Request, sip.ServerTransaction)) map[string]*phone {
	t.Helper()
	acc := s.opts.Accounts.(*accounts)
	out := map[string]*phone{}
	for u, answer := range users {
		acc.set(u, "pw-"+u)
		p := newPhone(t, s, u, answer)
		if got := p.register("pw-"+u, 300); got != 200 {
			t.Fatalf("register %s: %d", u, got)
		}
		out[u] = p
	}
	return out
}

func TestRingBusy(t *testing.T) {
	s := startServer(t, newAccounts())
	registered(t, s, map[string]func(*phone, *sip.Request, sip.ServerTransaction){"a": refuse(486), "b": refuse(603)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Ring(ctx, []string{"a", "b", "nobody"}, Caller{Number: "+15551234"}); !errors.Is(err, ErrBusy) {
		t.Fatalf("Ring = %v, want ErrBusy", err)
	}
	if _, err := s.Ring(ctx, []string{"nobody"}, Caller{}); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("Ring = %v, want ErrNotRegistered", err)
	}
}

func TestRingNoAnswerCancels(t *testing.T) {
	s := startServer(t, newAccounts())
	ps := registered(t, s, map[string]func(*phone, *sip.Request, sip.ServerTransaction){"a": ringForever, "b": ringForever})
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	if _, err := s.Ring(ctx, []string{"a", "b"}, Caller{}); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("Ring = %v, want ErrNoAnswer", err)
	}
	recvWithin(t, ps["a"].cancels, "CANCEL at a")
	recvWithin(t, ps["b"].cancels, "CANCEL at b")

	// Cancelling the context cancels the INVITEs too.
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel2)
	if _, err := s.Ring(ctx2, []string{"a"}, Caller{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Ring = %v, want context.Canceled", err)
	}
	recvWithin(t, ps["a"].cancels, "CANCEL after ctx cancel")
}

func TestRingFirstAnswerWins(t *testing.T) {
	s := startServer(t, newAccounts())
	froms := make(chan string, 1)
	fast := func(p *phone, req *sip.Request, tx sip.ServerTransaction) {
		froms <- req.GetHeader("From").Value()
		answerWith(ptPCMA, 100*time.Millisecond)(p, req, tx)
	}
	ps := registered(t, s, map[string]func(*phone, *sip.Request, sip.ServerTransaction){"fast": fast, "slow": ringForever})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leg, err := s.Ring(ctx, []string{"fast", "slow"}, Caller{Number: "+1 (555) 12\r\n34", Name: "Evil \"Bob\" \\\r\nX-Injected: yes"})
	if err != nil {
		t.Fatal(err)
	}
	if leg.User() != "fast" || leg.sendPT != ptPCMA {
		t.Fatalf("leg user %q codec %d", leg.User(), leg.sendPT)
	}
	recvWithin(t, ps["slow"].cancels, "CANCEL at the slow phone")
	from := recvWithin(t, froms, "From")
	if want := `"Evil \"Bob\" \\X-Injected: yes" <sip:+15551234@127.0.0.1>;tag=`; !strings.HasPrefix(from, want) {
		t.Fatalf("From = %s, want %s...", from, want)
	}
	if err := leg.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	recvWithin(t, ps["fast"].byes, "BYE at the phone")
	<-leg.Done()
	if !errors.Is(leg.Err(), ErrLocalHangup) {
		t.Fatalf("Err = %v", leg.Err())
	}
}

// inDialog sends a request from the phone into the call and returns the response.
func inDialog(t *testing.T, p *phone, sessAny any, req *sip.Request) *sip.Response {
	t.Helper()
	sess := sessAny.(interface {
		Do(context.Context, *sip.Request) (*sip.Response, error)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := sess.Do(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Method, err)
	}
	return res
}

func TestHoldTransferRemoteBye(t *testing.T) {
	s := startServer(t, newAccounts())
	ps := registered(t, s, map[string]func(*phone, *sip.Request, sip.ServerTransaction){"a": answerWith(ptPCMU, 0)})
	p := ps["a"]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leg, err := s.Ring(ctx, []string{"a"}, Caller{Number: "100"})
	if err != nil {
		t.Fatal(err)
	}
	sess := recvWithin(t, p.sessions, "session")
	boxContact := sess.InviteRequest.Contact().Address

	reinvite := func(dir string) *sip.Response {
		req := sip.NewRequest(sip.INVITE, boxContact)
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(p.answerSDP(ptPCMU, dir))
		return inDialog(t, p, sess, req)
	}
	res := reinvite(dirSendOnly)
	if res.StatusCode != 200 || !leg.Held() || !strings.Contains(string(res.Body()), "a=recvonly") {
		t.Fatalf("hold: %d held=%v\n%s", res.StatusCode, leg.Held(), res.Body())
	}
	res = reinvite(dirSendRecv)
	if res.StatusCode != 200 || leg.Held() || !strings.Contains(string(res.Body()), "a=sendrecv") {
		t.Fatalf("resume: %d held=%v", res.StatusCode, leg.Held())
	}

	refer := sip.NewRequest(sip.REFER, boxContact)
	refer.AppendHeader(sip.NewHeader("Refer-To", "<sip:bob@127.0.0.1>"))
	if res := inDialog(t, p, sess, refer); res.StatusCode != 202 {
		t.Fatalf("REFER: %d", res.StatusCode)
	}
	if got := recvWithin(t, leg.Transfers(), "transfer"); got != "bob" {
		t.Fatalf("transfer to %q", got)
	}
	n := recvWithin(t, p.notifies, "NOTIFY")
	if !strings.HasPrefix(string(n.Body()), "SIP/2.0 200") {
		t.Fatalf("NOTIFY body %q", n.Body())
	}

	if err := sess.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	recvWithin(t, leg.Done(), "leg end")
	if !errors.Is(leg.Err(), ErrRemoteHangup) {
		t.Fatalf("Err = %v", leg.Err())
	}
	if leg.Hangup(ctx) != nil {
		t.Fatal("Hangup after the end must do nothing")
	}
}

func TestRingOverTCP(t *testing.T) {
	s := startServer(t, newAccounts("tcp", "pw"))
	p := newPhone(t, s, "tcp", answerWith(ptPCMU, 0))
	if got := p.registerOver("TCP", "pw", 300); got != 200 {
		t.Fatalf("REGISTER over TCP: %d", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leg, err := s.Ring(ctx, []string{"tcp"}, Caller{Number: "1"})
	if err != nil {
		t.Fatal(err)
	}
	recvWithin(t, p.sessions, "session")
	if err := leg.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	recvWithin(t, p.byes, "BYE over TCP")
}

// A phone that says nothing at all must not keep Ring or the server's shutdown waiting.
func TestRingSilentPhone(t *testing.T) {
	s := startServer(t, newAccounts())
	registered(t, s, map[string]func(*phone, *sip.Request, sip.ServerTransaction){
		"mute": func(*phone, *sip.Request, sip.ServerTransaction) {}})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := s.Ring(ctx, []string{"mute"}, Caller{}); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("Ring = %v, want ErrNoAnswer", err)
	}
}

// When two phones answer at once, one gets the call and the other is hung up (BYE) or, if its
// answer had not left yet, cancelled.
func TestRingTwoAnswers(t *testing.T) {
	s := startServer(t, newAccounts())
	ps := registered(t, s, map[string]func(*phone, *sip.Request, sip.ServerTransaction){
		"a": answerWith(ptPCMU, 0), "b": answerWith(ptPCMU, 0)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leg, err := s.Ring(ctx, []string{"a", "b"}, Caller{Number: "1"})
	if err != nil {
		t.Fatal(err)
	}
	loser := ps["a"]
	if leg.User() == "a" {
		loser = ps["b"]
	}
	select {
	case <-loser.byes:
	case <-loser.cancels:
	case <-time.After(15 * time.Second):
		t.Fatal("the other phone was neither cancelled nor hung up")
	}
	if err := leg.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}
