package sip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// accounts is a changeable Accounts for tests.
type accounts struct {
	mu sync.Mutex
	pw map[string]string
}

func newAccounts(kv ...string) *accounts {
	a := &accounts{pw: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		a.pw[kv[i]] = kv[i+1]
	}
	return a
}

func (a *accounts) set(u, p string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pw[u] = p
}

func (a *accounts) Password(u string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.pw[u]
	return p, ok
}

// testLogger logs to the test when -v, else to nowhere; the log is kept for failures.
func testLogger(*testing.T) *slog.Logger { return testLoggerTB() }

func testLoggerTB() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// phonesOf holds, for each Server a test started, how to shut down the test phones that talk
// to it: they stop after the box has (see startServer).
var phonesOf sync.Map // *Server → *phoneClosers

type phoneClosers struct {
	mu  sync.Mutex
	fns []func()
}

func (c *phoneClosers) add(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, f)
}

func (c *phoneClosers) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range slices.Backward(c.fns) {
		f()
	}
	c.fns = nil
}

// startServer runs a Server on a free port of 127.0.0.1 until the test ends, then checks that
// Run returned and left no goroutine behind. The test phones made for it shut down after Run
// returned: a phone closing while the box still sends (a retransmission, a BYE at shutdown)
// has sipgo open a socket of its own to answer on, after the phone's UA closed its sockets,
// and that socket's reader is left running.
func startServer(t *testing.T, acc Accounts) *Server {
	t.Helper()
	before := runtime.NumGoroutine()
	s, err := New(Options{Addr: "127.0.0.1:0", IP: "127.0.0.1", RTPAddr: "127.0.0.1", Accounts: acc,
		Logger: testLogger(t), RTPPortMin: 30000, RTPPortMax: 39998})
	if err != nil {
		t.Fatal(err)
	}
	phones := &phoneClosers{}
	phonesOf.Store(s, phones)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, "server running", func() bool { _, err := s.running(); return err == nil })
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return")
		}
		phones.closeAll()
		phonesOf.Delete(s)
		checkGoroutines(t, before)
	})
	return s
}

// checkGoroutines waits until no more goroutines run than before.
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), before, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// goertzel is the power of freq in samples (8 kHz), normalised by the length.
func goertzel(samples []int16, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x) + k*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - k*s1*s2
	return p / float64(len(samples)*len(samples))
}

// phone is an operator's phone made of sipgo's own client and server.
type phone struct {
	t      *testing.T
	user   string
	box    string // host:port of the server
	addr   string
	ua     *sipgo.UserAgent
	cli    *sipgo.Client
	dsc    *sipgo.DialogServerCache
	rtp    *net.UDPConn
	answer func(p *phone, req *sip.Request, tx sip.ServerTransaction)

	cancels  chan struct{}
	sessions chan *sipgo.DialogServerSession
	notifies chan *sip.Request
	byes     chan struct{}
	wg       sync.WaitGroup
}

func newPhone(t *testing.T, box *Server, user string, answer func(p *phone, req *sip.Request, tx sip.ServerTransaction)) *phone {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rtpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &phone{t: t, user: user, box: box.Addr(), addr: conn.LocalAddr().String(), rtp: rtpConn, answer: answer,
		cancels: make(chan struct{}, 4), sessions: make(chan *sipgo.DialogServerSession, 4),
		notifies: make(chan *sip.Request, 4), byes: make(chan struct{}, 4)}
	p.ua, err = sipgo.NewUA(sipgo.WithUserAgent(user))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(p.ua, sipgo.WithServerLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	p.cli, err = sipgo.NewClient(p.ua, sipgo.WithClientConnectionAddr(p.addr), sipgo.WithClientLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	p.dsc = sipgo.NewDialogServerCache(p.cli, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: port}})
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		if to := req.To(); to != nil && to.Params.Has("tag") {
			return
		}
		p.answer(p, req, tx)
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = p.dsc.ReadAck(req, tx) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := p.dsc.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "No such call", nil))
			return
		}
		p.byes <- struct{}{}
	})
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		p.notifies <- req
	})
	quiet := &quietConn{PacketConn: conn}
	p.wg.Go(func() { _ = srv.ServeUDP(quiet) })
	waitFor(t, "phone listening", func() bool {
		c, err := p.ua.TransportLayer().GetConnection("udp", p.addr)
		return err == nil && c != nil
	})
	closePhone := func() {
		quiet.wait(250*time.Millisecond, 5*time.Second)
		conn.Close()
		rtpConn.Close()
		p.wg.Wait()
		p.ua.Close()
	}
	if c, ok := phonesOf.Load(box); ok {
		c.(*phoneClosers).add(closePhone)
	} else {
		t.Cleanup(closePhone)
	}
	return p
}

// quietConn notes when a test phone's socket last received a packet. sipgo handles each
// request in a goroutine of its own; one read just before the phone's UA closes finds the
// socket gone from the UA's pool and makes sipgo open a new socket to answer on, whose reader
// nothing closes. The phone therefore closes once nothing has arrived for a while.
type quietConn struct {
	net.PacketConn
	last atomic.Int64 // unix nanoseconds of the last packet read
}

func (c *quietConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(b)
	if err == nil {
		c.last.Store(time.Now().UnixNano())
	}
	return n, addr, err
}

// wait returns once no packet was read for quiet, or after at most limit.
func (c *quietConn) wait(quiet, limit time.Duration) {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(quiet / 5) {
		if time.Since(time.Unix(0, c.last.Load())) >= quiet {
			return
		}
	}
}

func (p *phone) uri() sip.Uri {
	h, port, _ := sip.ParseAddr(p.box)
	return sip.Uri{Scheme: "sip", Host: h, Port: port}
}

// register sends REGISTER (answering a challenge with password) and returns the final status.
func (p *phone) register(password string, expires int) int {
	return p.registerOver("UDP", password, expires)
}

func (p *phone) registerOver(transport, password string, expires int) int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := p.registerRequest(expires)
	req.SetTransport(transport)
	res, err := p.cli.Do(ctx, req)
	if err != nil {
		p.t.Fatalf("REGISTER: %v", err)
	}
	if res.StatusCode != 401 {
		return res.StatusCode
	}
	res, err = p.cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: p.user, Password: password})
	if err != nil {
		p.t.Fatalf("REGISTER with credentials: %v", err)
	}
	return res.StatusCode
}

func (p *phone) registerRequest(expires int) *sip.Request {
	req := sip.NewRequest(sip.REGISTER, p.uri())
	aor := sip.Uri{Scheme: "sip", User: p.user, Host: "127.0.0.1"}
	from := &sip.FromHeader{Address: aor}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	h, port, _ := sip.ParseAddr(p.addr)
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: p.user, Host: h, Port: port}})
	req.AppendHeader(sip.NewHeader("Expires", fmt.Sprint(expires)))
	req.AppendHeader(sip.NewHeader("User-Agent", p.user))
	return req
}

// answerSDP is a phone's SDP answer on its RTP socket with the given direction.
func (p *phone) answerSDP(codec int, dir string) []byte {
	port := p.rtp.LocalAddr().(*net.UDPAddr).Port
	name := "PCMU"
	if codec == ptPCMA {
		name = "PCMA"
	}
	return []byte(fmt.Sprintf("v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP %d 101\r\na=rtpmap:%d %s/8000\r\na=rtpmap:101 telephone-event/8000\r\na=%s\r\n",
		port, codec, codec, name, dir))
}

// Phone behaviours.

func answerWith(codec int, after time.Duration) func(p *phone, req *sip.Request, tx sip.ServerTransaction) {
	return func(p *phone, req *sip.Request, tx sip.ServerTransaction) {
		sess, err := p.dsc.ReadInvite(req, tx)
		if err != nil {
			p.t.Errorf("ReadInvite: %v", err)
			return
		}
		_ = sess.Respond(180, "Ringing", nil)
		select {
		case <-time.After(after):
		case <-sess.Context().Done():
			p.cancels <- struct{}{}
			return
		}
		if err := sess.RespondSDP(p.answerSDP(codec, dirSendRecv)); err != nil {
			if errors.Is(err, sip.ErrTransactionCanceled) {
				p.cancels <- struct{}{}
			}
			p.t.Logf("RespondSDP: %v", err)
			return
		}
		p.sessions <- sess // after the ACK: the test may use the session now
	}
}

func refuse(code int) func(p *phone, req *sip.Request, tx sip.ServerTransaction) {
	return func(p *phone, req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, code, "No", nil))
	}
}

func ringForever(p *phone, req *sip.Request, tx sip.ServerTransaction) {
	sess, err := p.dsc.ReadInvite(req, tx)
	if err != nil {
		p.t.Errorf("ReadInvite: %v", err)
		return
	}
	_ = sess.Respond(180, "Ringing", nil)
	<-sess.Context().Done()
	if errors.Is(context.Cause(sess.Context()), sip.ErrTransactionCanceled) {
		p.cancels <- struct{}{}
	}
}

func recvWithin[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(15 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}
