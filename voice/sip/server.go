package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Accounts gives the SIP password of an operator. It is asked on every REGISTER.
type Accounts interface {
	Password(user string) (password string, ok bool)
}

// Options configure a Server.
type Options struct {
	// Addr is where phones register, on UDP and TCP; default ":5060". A port of 0 picks a free
	// one (see Server.Addr).
	Addr string
	// Accounts holds the operators' credentials; required.
	Accounts Accounts
	// Logger receives the server's log; default slog.Default().
	Logger *slog.Logger
	// IP is the address of the box that phones reach, written in SDP and Contact headers;
	// required (for example the address of the office network interface, 127.0.0.1 in tests).
	IP string
	// RTPAddr is the local address RTP sockets bind to; default: the unspecified address.
	RTPAddr string
	// RTPPortMin and RTPPortMax bound the RTP ports (even ports are used); default 10000-20000.
	RTPPortMin, RTPPortMax int
	// RTPTimeout ends a call when no RTP arrived for this long while not on hold; default 30 s.
	RTPTimeout time.Duration
	// Realm of the digest challenge; default "hotline".
	Realm string
	// MaxExpires caps the registration lifetime a phone asks for; default one hour.
	MaxExpires time.Duration
	// Feature, if set, handles feature codes an operator dials on their phone ("*1", "*0"...):
	// the call is authenticated like a registration, then Feature gets the user and the code
	// and returns what happened in a few words ("" for an unknown code). The box places calls
	// to phones and takes no others, so the phone gets a final answer (603) whose reason
	// phrase is those words, which phones show on their screen.
	Feature func(user, code string) string
}

// Registration is one phone registered for a user.
type Registration struct {
	User      string
	Contact   string    // the Contact URI the phone registered
	Expires   time.Time // when the registration lapses unless renewed
	UserAgent string
}

type binding struct {
	Registration
	source    string // host:port the REGISTER came from; requests go there (NAT, TCP)
	transport string
}

// Errors of Ring and of a Leg's end.
var (
	ErrNotRegistered = errors.New("sip: none of the users is registered")
	ErrBusy          = errors.New("sip: busy")
	ErrNoAnswer      = errors.New("sip: no answer")
	ErrNotRunning    = errors.New("sip: server is not running")
	ErrRemoteHangup  = errors.New("sip: the phone hung up")
	ErrLocalHangup   = errors.New("sip: hung up by the box")
	ErrRTPTimeout    = errors.New("sip: no RTP from the phone")
	ErrShutdown      = errors.New("sip: server shut down")
)

// Server is the SIP registrar and caller of the box.
type Server struct {
	opts   Options
	log    *slog.Logger
	ip     netip.Addr
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	dua    *sipgo.DialogUA
	udp    net.PacketConn
	tcp    net.Listener
	auth   *authenticator

	mu      sync.Mutex
	regs    map[string]*binding
	legs    map[string]*Leg // by Call-ID
	runCtx  context.Context
	stopped bool // Run is waiting for the last goroutines: start no more
	nextRTP int

	wg sync.WaitGroup
}

// New checks the options, binds the SIP port (UDP and TCP) and prepares a Server; Run serves it.
func New(opts Options) (*Server, error) {
	if opts.Accounts == nil {
		return nil, errors.New("sip: Options.Accounts is required")
	}
	ip, err := netip.ParseAddr(opts.IP)
	if err != nil || ip.IsUnspecified() {
		return nil, fmt.Errorf("sip: Options.IP %q must be the address phones reach", opts.IP)
	}
	if opts.Addr == "" {
		opts.Addr = ":5060"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RTPPortMin == 0 && opts.RTPPortMax == 0 {
		opts.RTPPortMin, opts.RTPPortMax = 10000, 20000
	}
	if opts.RTPPortMin <= 0 || opts.RTPPortMax > 65535 || opts.RTPPortMax-opts.RTPPortMin < 1 {
		return nil, fmt.Errorf("sip: bad RTP port range %d-%d", opts.RTPPortMin, opts.RTPPortMax)
	}
	if opts.RTPTimeout == 0 {
		opts.RTPTimeout = 30 * time.Second
	}
	if opts.Realm == "" {
		opts.Realm = "hotline"
	}
	if opts.MaxExpires == 0 {
		opts.MaxExpires = time.Hour
	}
	s := &Server{
		opts:    opts,
		log:     opts.Logger,
		ip:      ip,
		regs:    map[string]*binding{},
		legs:    map[string]*Leg{},
		nextRTP: opts.RTPPortMin &^ 1,
	}
	s.auth, err = newAuthenticator(opts.Realm)
	if err != nil {
		return nil, err
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	port := s.udp.LocalAddr().(*net.UDPAddr).Port
	s.ua, err = sipgo.NewUA(sipgo.WithUserAgent("hotline"), sipgo.WithUserAgentHostname(ip.String()),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(s.log)))
	if err == nil {
		s.srv, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(s.log))
	}
	if err == nil {
		s.client, err = sipgo.NewClient(s.ua, sipgo.WithClientLogger(s.log),
			sipgo.WithClientHostname(ip.String()), sipgo.WithClientPort(port))
	}
	if err != nil {
		s.udp.Close()
		s.tcp.Close()
		if s.ua != nil {
			s.ua.Close()
		}
		return nil, fmt.Errorf("sip: set up sipgo: %w", err)
	}
	s.dua = &sipgo.DialogUA{
		Client:         s.client,
		RewriteContact: true,
		ContactHDR:     sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "hotline", Host: ip.String(), Port: port}},
	}
	s.srv.OnRegister(s.onRegister)
	s.srv.OnOptions(s.onOptions)
	s.srv.OnBye(s.onBye)
	s.srv.OnInvite(s.onInvite)
	s.srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	s.srv.OnRefer(s.onRefer)
	return s, nil
}

// listen binds UDP and TCP on the same port; with port 0 it looks for one free on both.
func (s *Server) listen() error {
	for try := 0; ; try++ {
		udp, err := net.ListenPacket("udp", s.opts.Addr)
		if err != nil {
			return fmt.Errorf("sip: listen udp %s: %w", s.opts.Addr, err)
		}
		host, _, _ := net.SplitHostPort(s.opts.Addr)
		port := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			s.udp, s.tcp = udp, tcp
			return nil
		}
		udp.Close()
		if !strings.HasSuffix(s.opts.Addr, ":0") || try == 20 {
			return fmt.Errorf("sip: listen tcp %s: %w", s.opts.Addr, err)
		}
	}
}

// Addr is the address the server listens on (UDP and TCP), host:port.
func (s *Server) Addr() string { return s.udp.LocalAddr().String() }

// Run serves SIP until ctx ends, then hangs up every call and returns once every goroutine of
// the server has stopped. Run is called once.
func (s *Server) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.runCtx = ctx
	s.mu.Unlock()

	var serve sync.WaitGroup
	errc := make(chan error, 2)
	serve.Go(func() { errc <- s.srv.ServeUDP(s.udp) })
	serve.Go(func() { errc <- s.srv.ServeTCP(s.tcp) })
	s.log.Info("sip: listening", "addr", s.Addr(), "ip", s.ip)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("sip: serve: %w", err)
		cancel()
	}

	// Hang up what is still talking, while the transport still works.
	s.mu.Lock()
	legs := make([]*Leg, 0, len(s.legs))
	for _, l := range s.legs {
		legs = append(legs, l)
	}
	s.mu.Unlock()
	var bye sync.WaitGroup
	for _, l := range legs {
		bye.Go(func() {
			hctx, hcancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer hcancel()
			l.bye(hctx, ErrShutdown)
		})
	}
	bye.Wait()

	s.udp.Close()
	s.tcp.Close()
	serve.Wait()
	s.ua.Close()
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// goRun runs f in a goroutine that Run waits for; after Run's end it runs nothing and says so.
func (s *Server) goRun(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.wg.Go(f)
	return true
}

func (s *Server) running() (context.Context, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runCtx == nil || s.runCtx.Err() != nil {
		return nil, ErrNotRunning
	}
	return s.runCtx, nil
}

// Registered reports whether user has a live registration.
func (s *Server) Registered(user string) bool {
	_, ok := s.binding(user)
	return ok
}

func (s *Server) binding(user string) (binding, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.regs[user]
	if !ok {
		return binding{}, false
	}
	if !time.Now().Before(b.Expires) {
		delete(s.regs, user)
		return binding{}, false
	}
	return *b, true
}

// Registrations lists the live registrations, sorted by user.
func (s *Server) Registrations() []Registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	out := make([]Registration, 0, len(s.regs))
	for u, b := range s.regs {
		if !now.Before(b.Expires) {
			delete(s.regs, u)
			continue
		}
		out = append(out, b.Registration)
	}
	slices.SortFunc(out, func(a, b Registration) int { return strings.Compare(a.User, b.User) })
	return out
}

func (s *Server) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sip: respond", "code", code, "err", err)
	}
}

func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(tx, req, 200, "OK",
		sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, REFER, NOTIFY"),
		sip.NewHeader("Accept", "application/sdp"))
}

func (s *Server) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	to := req.To()
	if to == nil || to.Address.User == "" {
		s.respond(tx, req, 400, "Bad Request")
		return
	}
	user := to.Address.User
	host := sourceHost(req.Source())
	code, challenge := s.auth.check(req, user, host, s.opts.Accounts, time.Now())
	switch code {
	case 401:
		s.respond(tx, req, 401, "Unauthorized", sip.NewHeader("WWW-Authenticate", challenge))
		return
	case 403:
		s.log.Warn("sip: register refused", "user", user, "source", req.Source())
		s.respond(tx, req, 403, "Forbidden")
		return
	}

	expires := s.opts.MaxExpires
	if h := req.GetHeader("Expires"); h != nil {
		if v, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && v >= 0 {
			expires = time.Duration(v) * time.Second
		}
	}
	contacts := req.GetHeaders("Contact")
	if len(contacts) == 0 { // a query: answer with the current binding
		b, ok := s.binding(user)
		if !ok {
			s.respond(tx, req, 200, "OK")
			return
		}
		s.respond(tx, req, 200, "OK", sip.NewHeader("Contact",
			fmt.Sprintf("<%s>;expires=%d", b.Contact, int(time.Until(b.Expires).Seconds()))))
		return
	}
	c := req.Contact()
	if c == nil || strings.TrimSpace(contacts[0].Value()) == "*" {
		if expires != 0 {
			s.respond(tx, req, 400, "Bad Request")
			return
		}
		s.mu.Lock()
		delete(s.regs, user)
		s.mu.Unlock()
		s.log.Info("sip: unregistered", "user", user)
		s.respond(tx, req, 200, "OK")
		return
	}
	if v, ok := c.Params.Get("expires"); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			expires = time.Duration(n) * time.Second
		}
	}
	if expires > s.opts.MaxExpires {
		expires = s.opts.MaxExpires
	}
	if expires == 0 {
		s.mu.Lock()
		delete(s.regs, user)
		s.mu.Unlock()
		s.log.Info("sip: unregistered", "user", user)
		s.respond(tx, req, 200, "OK")
		return
	}
	ua := ""
	if h := req.GetHeader("User-Agent"); h != nil {
		ua = h.Value()
	}
	contact := c.Address.String()
	b := &binding{
		Registration: Registration{User: user, Contact: contact, Expires: time.Now().Add(expires), UserAgent: ua},
		source:       target(req, c.Address),
		transport:    req.Transport(),
	}
	s.mu.Lock()
	_, had := s.regs[user]
	s.regs[user] = b
	s.mu.Unlock()
	if !had {
		s.log.Info("sip: registered", "user", user, "contact", contact, "source", b.source, "agent", ua)
	}
	s.respond(tx, req, 200, "OK",
		sip.NewHeader("Contact", fmt.Sprintf("<%s>;expires=%d", contact, int(expires/time.Second))),
		sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
}

// target is where requests to a registered phone go: its Contact, unless the phone is behind
// NAT (the Contact names another host than the one the REGISTER came from) or uses a
// connection-oriented transport, where the source address is the only way back.
func target(req *sip.Request, contact sip.Uri) string {
	src := req.Source()
	if !strings.EqualFold(req.Transport(), "UDP") || contact.Host != sourceHost(src) {
		return src
	}
	port := contact.Port
	if port == 0 {
		port = 5060
	}
	return net.JoinHostPort(contact.Host, strconv.Itoa(port))
}

func sourceHost(src string) string {
	h, _, err := net.SplitHostPort(src)
	if err != nil {
		return src
	}
	return h
}

// leg finds the call an in-dialog request belongs to.
func (s *Server) leg(req *sip.Request) *Leg {
	id := req.CallID()
	if id == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.legs[string(*id)]
}

func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	l := s.leg(req)
	if l == nil {
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if err := l.sess.ReadBye(req, tx); err != nil {
		s.log.Debug("sip: answer BYE", "err", err)
	}
	l.end(ErrRemoteHangup)
}

func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	to := req.To()
	if to == nil {
		s.respond(tx, req, 400, "Bad Request")
		return
	}
	if _, ok := to.Params.Get("tag"); !ok {
		if code := req.Recipient.User; s.opts.Feature != nil && isFeatureCode(code) {
			s.feature(req, tx, code)
			return
		}
		// The box places calls to phones; it takes none from them.
		s.respond(tx, req, 403, "Forbidden")
		return
	}
	l := s.leg(req)
	if l == nil {
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	l.reinvite(req, tx)
}

func (s *Server) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	l := s.leg(req)
	if l == nil {
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	l.refer(req, tx)
}

// rtpListen binds an even RTP port in the configured range.
func (s *Server) rtpListen() (*net.UDPConn, error) {
	host := s.opts.RTPAddr
	span := (s.opts.RTPPortMax - s.opts.RTPPortMin) / 2
	if span < 1 {
		span = 1
	}
	var last error
	for range span {
		s.mu.Lock()
		port := s.nextRTP
		s.nextRTP += 2
		if s.nextRTP > s.opts.RTPPortMax {
			s.nextRTP = s.opts.RTPPortMin &^ 1
			if s.nextRTP < s.opts.RTPPortMin {
				s.nextRTP += 2
			}
		}
		s.mu.Unlock()
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(rtpHost(host), uint16(port))))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, fmt.Errorf("sip: no free RTP port in %d-%d: %w", s.opts.RTPPortMin, s.opts.RTPPortMax, last)
}

func rtpHost(h string) netip.Addr {
	if a, err := netip.ParseAddr(h); err == nil {
		return a
	}
	return netip.IPv4Unspecified()
}

// isFeatureCode reports whether a dialled number is a feature code: a star and one to three
// digits.
func isFeatureCode(s string) bool {
	if len(s) < 2 || len(s) > 4 || s[0] != '*' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// feature authenticates a feature-code call from an operator's phone and answers it with what
// Feature did.
func (s *Server) feature(req *sip.Request, tx sip.ServerTransaction, code string) {
	from := req.From()
	if from == nil || from.Address.User == "" {
		s.respond(tx, req, 400, "Bad Request")
		return
	}
	user := from.Address.User
	status, challenge := s.auth.check(req, user, sourceHost(req.Source()), s.opts.Accounts, time.Now())
	switch status {
	case 401:
		s.respond(tx, req, 401, "Unauthorized", sip.NewHeader("WWW-Authenticate", challenge))
		return
	case 403:
		s.log.Warn("sip: feature code refused", "user", user, "source", req.Source())
		s.respond(tx, req, 403, "Forbidden")
		return
	}
	did := s.opts.Feature(user, code)
	if did == "" {
		s.respond(tx, req, 404, "No such feature code")
		return
	}
	s.log.Info("sip: feature code", "user", user, "code", code, "result", did)
	s.respond(tx, req, 603, did)
}
