// Package mdns answers multicast DNS (RFC 6762) for one name, so that the owner finds the box
// as http://hotline.local without knowing its address. It answers A queries for NAME.local
// with the box's IPv4 addresses and announces them when it starts; nothing else.
package mdns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Group is the mDNS IPv4 multicast group and port.
var Group = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}

// ttl of the answers: RFC 6762 recommends 120 s for records with host names.
const ttl = 120

// Responder answers for one host name.
type Responder struct {
	name  dnsmessage.Name // "hotline.local."
	log   *slog.Logger
	addrs func() []net.IP // the box's IPv4 addresses (tests replace it)
}

// New returns a responder for name (e.g. "hotline"; ".local" is added).
func New(name string, log *slog.Logger) (*Responder, error) {
	name = strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(name), "."), ".local")
	if name == "" || len(name) > 63 || strings.ContainsAny(name, ". ") {
		return nil, fmt.Errorf("mdns: %q is not a host name", name)
	}
	n, err := dnsmessage.NewName(name + ".local.")
	if err != nil {
		return nil, fmt.Errorf("mdns: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Responder{name: n, log: log, addrs: localIPv4}, nil
}

// localIPv4 lists the IPv4 addresses of the interfaces that are up, but for loopback.
func localIPv4() []net.IP {
	var out []net.IP
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				out = append(out, ipn.IP.To4())
			}
		}
	}
	return out
}

// Run listens on the mDNS group until ctx ends, announcing the name first.
func (r *Responder) Run(ctx context.Context) error {
	conn, err := net.ListenMulticastUDP("udp4", nil, Group)
	if err != nil {
		return fmt.Errorf("mdns: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	r.log.Info("answering mDNS", "name", r.name.String())
	// Announce twice, a second apart (RFC 6762 8.3).
	go func() {
		for i := range 2 {
			if msg, ok := r.answer(0, false); ok {
				_, _ = conn.WriteToUDP(msg, Group)
			}
			if i == 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
			}
		}
	}()
	buf := make([]byte, 9000)
	for {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("mdns: %w", err)
		}
		resp, unicast, ok := r.Handle(buf[:n], from.Port)
		if !ok {
			continue
		}
		to := Group
		if unicast {
			to = from
		}
		if _, err := conn.WriteToUDP(resp, to); err != nil {
			r.log.Debug("mdns: answer", "err", err)
		}
	}
}

// Handle answers one query packet from a sender's port: the response, whether it goes back to
// the sender alone (a "legacy" query from a port other than 5353, or the QU bit asked for a
// unicast answer), and whether there is anything to answer at all.
func (r *Responder) Handle(pkt []byte, fromPort int) (resp []byte, unicast bool, ok bool) {
	var p dnsmessage.Parser
	h, err := p.Start(pkt)
	if err != nil || h.Response {
		return nil, false, false
	}
	asked := false
	qu := false
	var id uint16
	var q0 dnsmessage.Question
	for {
		q, err := p.Question()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			break
		}
		if err != nil {
			return nil, false, false
		}
		class := q.Class &^ (1 << 15)
		if (q.Type == dnsmessage.TypeA || q.Type == dnsmessage.TypeALL) && class == dnsmessage.ClassINET &&
			strings.EqualFold(q.Name.String(), r.name.String()) {
			asked = true
			qu = qu || q.Class&(1<<15) != 0
			q0 = q
		}
	}
	if !asked {
		return nil, false, false
	}
	legacy := fromPort != Group.Port
	if legacy {
		id = h.ID // a legacy resolver matches answers by ID and wants the question back
	}
	out, ok := r.answerTo(id, legacy, q0)
	return out, legacy || qu, ok
}

// answer builds the response carrying the box's addresses.
func (r *Responder) answer(id uint16, legacy bool) ([]byte, bool) {
	return r.answerTo(id, legacy, dnsmessage.Question{})
}

func (r *Responder) answerTo(id uint16, legacy bool, q dnsmessage.Question) ([]byte, bool) {
	ips := r.addrs()
	if len(ips) == 0 {
		return nil, false
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, Response: true, Authoritative: true})
	b.EnableCompression()
	if legacy {
		if err := b.StartQuestions(); err != nil {
			return nil, false
		}
		q.Class &^= 1 << 15
		if err := b.Question(q); err != nil {
			return nil, false
		}
	}
	if err := b.StartAnswers(); err != nil {
		return nil, false
	}
	class := dnsmessage.ClassINET
	if !legacy {
		class |= 1 << 15 // cache-flush: these are all our addresses
	}
	for _, ip := range ips {
		var a dnsmessage.AResource
		copy(a.A[:], ip.To4())
		if err := b.AResource(dnsmessage.ResourceHeader{Name: r.name, Class: class, TTL: ttl}, a); err != nil {
			return nil, false
		}
	}
	msg, err := b.Finish()
	if err != nil {
		return nil, false
	}
	return msg, true
}
