package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Caller is who calls, as shown on the operator's phone. Both fields come from the phone line
// and are cleaned before they go into a SIP header.
type Caller struct {
	Number string
	Name   string
}

// fork is one INVITE of a Ring.
type fork struct {
	user   string
	sess   *sipgo.DialogClientSession
	rtp    *net.UDPConn
	sessID uint64
	cancel context.CancelFunc
	err    error // set when the fork ended without an answer
}

// ringing is the shared state of one Ring: the first fork that answers claims it.
type ringing struct {
	mu      sync.Mutex
	claimed bool
	won     chan *fork // receives the winner, at most one
	failed  chan *fork // receives every fork that ended without an answer
}

// Ring invites every registered user in users at once and returns the first phone that answers;
// the others are cancelled (or, if they answer too late, hung up). It returns ErrNotRegistered
// when no user is registered, ErrBusy when every phone refused (486, 600, 603), ErrNoAnswer when
// ctx's deadline passes or the phones fail otherwise, and ctx's error when ctx is cancelled.
func (s *Server) Ring(ctx context.Context, users []string, caller Caller) (*Leg, error) {
	runCtx, err := s.running()
	if err != nil {
		return nil, err
	}
	var targets []binding
	seen := map[string]bool{}
	for _, u := range users {
		if b, ok := s.binding(u); ok && !seen[u] {
			seen[u] = true
			targets = append(targets, b)
		}
	}
	if len(targets) == 0 {
		return nil, ErrNotRegistered
	}
	r := &ringing{won: make(chan *fork, 1), failed: make(chan *fork, len(targets))}
	var forks []*fork
	for _, b := range targets {
		f, err := s.startFork(runCtx, r, b, caller)
		if err != nil {
			s.log.Warn("sip: ring", "user", b.User, "err", err)
			continue
		}
		forks = append(forks, f)
	}
	if len(forks) == 0 {
		return nil, fmt.Errorf("%w: no INVITE could be sent", ErrNoAnswer)
	}
	cancelAll := func(except *fork) {
		for _, f := range forks {
			if f != except {
				f.cancel()
			}
		}
	}
	busy := 0
	for done := 0; done < len(forks); {
		select {
		case f := <-r.won:
			cancelAll(f)
			return s.newLeg(runCtx, f)
		case f := <-r.failed:
			done++
			var de *sipgo.ErrDialogResponse
			if errors.As(f.err, &de) {
				switch de.Res.StatusCode {
				case 486, 600, 603:
					busy++
				}
			}
		case <-ctx.Done():
			r.mu.Lock()
			r.claimed = true
			select {
			case f := <-r.won: // answered just now: hang it up
				if !s.goRun(func() { s.hangupLate(f) }) {
					f.rtp.Close()
				}
			default:
			}
			r.mu.Unlock()
			cancelAll(nil)
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, ErrNoAnswer
			}
			return nil, fmt.Errorf("sip: ring: %w", ctx.Err())
		}
	}
	if busy == len(forks) {
		return nil, ErrBusy
	}
	return nil, fmt.Errorf("%w: every phone refused or failed", ErrNoAnswer)
}

// startFork sends one INVITE and leaves a goroutine waiting for its outcome.
func (s *Server) startFork(runCtx context.Context, r *ringing, b binding, caller Caller) (*fork, error) {
	rtpConn, err := s.rtpListen()
	if err != nil {
		return nil, err
	}
	var contact sip.Uri
	if err := sip.ParseUri(b.Contact, &contact); err != nil {
		rtpConn.Close()
		return nil, fmt.Errorf("sip: contact of %s: %w", b.User, err)
	}
	f := &fork{user: b.User, rtp: rtpConn, sessID: rand.Uint64() >> 1}
	port := rtpConn.LocalAddr().(*net.UDPAddr).Port
	req := sip.NewRequest(sip.INVITE, contact)
	req.SetTransport(b.transport)
	req.SetDestination(b.source)
	if strings.EqualFold(b.transport, "UDP") {
		// Send from the listening socket: the phone's NAT binding and firewall expect the
		// registrar's port, and sipgo would otherwise open a socket of its own.
		la := s.udp.LocalAddr().(*net.UDPAddr)
		req.Laddr = sip.Addr{IP: la.IP, Port: la.Port}
	}
	from := &sip.FromHeader{
		DisplayName: displayName(caller.Name),
		Address:     sip.Uri{Scheme: "sip", User: callerUser(caller.Number), Host: s.ip.String()},
	}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: b.User, Host: s.ip.String()}})
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY"))
	req.SetBody(sdpOffer(s.ip, port, f.sessID, 1, -1, ptEventWant, dirSendRecv))

	ctx, cancel := context.WithCancel(runCtx)
	f.cancel = cancel
	f.sess, err = s.dua.WriteInvite(ctx, req)
	if err != nil {
		cancel()
		rtpConn.Close()
		return nil, fmt.Errorf("sip: INVITE %s: %w", b.User, err)
	}
	started := s.goRun(func() {
		defer cancel()
		err := f.sess.WaitAnswer(ctx, sipgo.AnswerOptions{})
		if res := f.sess.InviteResponse; err != nil && res != nil && res.IsSuccess() {
			// The phone answered while its INVITE was being cancelled: end that call.
			s.hangupLate(f)
			f.err = err
			r.failed <- f
			return
		}
		if err != nil {
			f.err = err
			f.rtp.Close()
			f.sess.Close()
			r.failed <- f
			return
		}
		r.mu.Lock()
		win := !r.claimed
		if win {
			r.claimed = true
			r.won <- f // buffered: never blocks
		}
		r.mu.Unlock()
		if !win {
			s.hangupLate(f)
			r.failed <- f
		}
	})
	if !started {
		cancel()
		rtpConn.Close()
		return nil, ErrNotRunning
	}
	return f, nil
}

// hangupLate acknowledges and ends a phone's answer that came after another phone won.
func (s *Server) hangupLate(f *fork) {
	defer f.rtp.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.sess.Ack(ctx); err != nil {
		s.log.Debug("sip: ACK late answer", "user", f.user, "err", err)
	}
	if err := f.sess.Bye(ctx); err != nil {
		s.log.Debug("sip: BYE late answer", "user", f.user, "err", err)
	}
	f.err = errors.New("sip: answered after another phone")
}

// displayName makes a caller's name safe for a quoted display name: printable, no quotes or
// backslashes left unescaped, bounded length.
func displayName(name string) string {
	var b strings.Builder
	n := 0
	for _, r := range name {
		if n == 40 {
			break
		}
		switch {
		case r < 0x20 || r == 0x7f || r == 0xfffd:
			continue
		case r == '"' || r == '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// callerUser keeps the characters of a phone number that belong in a SIP user part.
func callerUser(number string) string {
	var b strings.Builder
	for _, r := range number {
		if b.Len() == 32 {
			break
		}
		if r >= '0' && r <= '9' || r == '+' || r == '*' || r == '#' {
			if r == '#' {
				b.WriteString("%23")
				continue
			}
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "anonymous"
	}
	return b.String()
}
