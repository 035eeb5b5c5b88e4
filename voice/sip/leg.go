package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"hotline/voice"
)

const (
	jbSlots   = 16 // ring of received packets, indexed by sequence number
	jbDepth   = 3  // packets behind a gap that make ReadFrame give up on the missing one at once
	jbPrefill = 3  // packets buffered before playing starts (again): 60 ms against network jitter
	jbMax     = 12 // packets buffered beyond which the oldest are dropped (bounds the delay)
	rtpHeader = 12
	// digit timing of SendDigit: events of 100 ms, updates every 20 ms, three end packets.
	digitPackets    = 5
	digitEndRepeats = 3
)

type jslot struct {
	full bool
	pt   uint8
	seq  uint16
	n    int
	data [voice.FrameSamples]byte
}

// Leg is one answered call with one phone. ReadFrame is called by one goroutine at a time, and
// so is WriteFrame; the other methods may be called from any goroutine.
type Leg struct {
	s         *Server
	user      string
	callID    string
	sess      *sipgo.DialogClientSession
	conn      *net.UDPConn
	localPort int
	sessID    uint64
	sendPT    uint8
	eventPT   int
	remote    atomic.Pointer[netip.AddrPort]
	held      atomic.Bool
	lastRx    atomic.Int64 // unix nanoseconds of the last RTP packet
	digits    chan byte
	transfers chan string

	sdpMu      sync.Mutex
	sdpVersion uint64

	// send side, guarded by wmu
	wmu     sync.Mutex
	wbuf    [rtpHeader + voice.FrameSamples]byte
	seq     uint16
	ts      uint32
	ssrc    uint32
	marker  bool
	inEvent bool
	dmu     sync.Mutex // one SendDigit at a time

	// receive side, guarded by jmu
	jmu      sync.Mutex
	slots    [jbSlots]jslot
	next     uint16
	started  bool
	playing  bool // prefilled; false again after the buffer ran dry
	buffered int
	arrive   chan struct{}
	timer    *time.Timer

	endOnce sync.Once
	done    chan struct{}
	err     error
}

// newLeg acknowledges the winning answer and starts the call's RTP.
func (s *Server) newLeg(runCtx context.Context, f *fork) (*Leg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ackErr := f.sess.Ack(ctx)
	res := f.sess.InviteResponse
	m, err := parseSDP(res.Body())
	var pt uint8
	if err == nil {
		var ok bool
		if pt, ok = m.codec(); !ok {
			err = fmt.Errorf("%w: no G.711 in the answer", errSDP)
		}
	}
	if err == nil && ackErr != nil {
		err = fmt.Errorf("sip: ACK: %w", ackErr)
	}
	if err == nil && runCtx.Err() != nil {
		err = ErrShutdown
	}
	if err != nil {
		if berr := f.sess.Bye(ctx); berr != nil {
			s.log.Debug("sip: BYE after bad answer", "user", f.user, "err", berr)
		}
		f.rtp.Close()
		return nil, fmt.Errorf("sip: answer of %s: %w", f.user, err)
	}
	ssrc := rand.Uint32()
	l := &Leg{
		s:          s,
		user:       f.user,
		callID:     string(*f.sess.InviteRequest.CallID()),
		sess:       f.sess,
		conn:       f.rtp,
		localPort:  f.rtp.LocalAddr().(*net.UDPAddr).Port,
		sessID:     f.sessID,
		sdpVersion: 1,
		sendPT:     pt,
		eventPT:    m.EventPT,
		digits:     make(chan byte, 16),
		transfers:  make(chan string, 1),
		seq:        uint16(rand.Uint32()),
		ts:         rand.Uint32(),
		ssrc:       ssrc,
		marker:     true,
		arrive:     make(chan struct{}, 1),
		timer:      time.NewTimer(time.Hour),
		done:       make(chan struct{}),
	}
	l.timer.Stop()
	l.setRemote(m)
	l.held.Store(m.held())
	l.lastRx.Store(time.Now().UnixNano())
	s.mu.Lock()
	s.legs[l.callID] = l
	s.mu.Unlock()
	if !s.goRun(l.readLoop) {
		l.end(ErrShutdown)
		return nil, ErrShutdown
	}
	s.log.Info("sip: answered", "user", l.user, "codec", pt, "remote", l.remote.Load())
	return l, nil
}

func (l *Leg) setRemote(m *sdpMedia) {
	if m.Addr.IsUnspecified() || m.Port == 0 {
		return
	}
	ap := netip.AddrPortFrom(m.Addr.Unmap(), uint16(m.Port))
	l.remote.Store(&ap)
}

// User is the operator whose phone answered.
func (l *Leg) User() string { return l.user }

// Done is closed when the call has ended; Err then tells why.
func (l *Leg) Done() <-chan struct{} { return l.done }

// Err is nil while the call lasts, then ErrRemoteHangup, ErrLocalHangup, ErrRTPTimeout or
// ErrShutdown.
func (l *Leg) Err() error {
	select {
	case <-l.done:
		return l.err
	default:
		return nil
	}
}

// Held reports whether the phone has put the call on hold.
func (l *Leg) Held() bool { return l.held.Load() }

// Digits delivers the keys the operator presses (RFC 4733), once per press.
func (l *Leg) Digits() <-chan byte { return l.digits }

// Transfers delivers the user an operator transferred the call to (blind REFER). The leg stays
// up: the caller of Ring decides what to do (ring that user, then hang this leg up).
func (l *Leg) Transfers() <-chan string { return l.transfers }

func (l *Leg) end(err error) {
	l.endOnce.Do(func() {
		l.err = err
		l.conn.Close()
		l.s.mu.Lock()
		delete(l.s.legs, l.callID)
		l.s.mu.Unlock()
		close(l.done)
		l.s.log.Info("sip: call ended", "user", l.user, "why", err)
	})
}

// Hangup sends BYE to the phone and ends the call. After the call has ended it does nothing.
func (l *Leg) Hangup(ctx context.Context) error {
	return l.bye(ctx, ErrLocalHangup)
}

func (l *Leg) bye(ctx context.Context, why error) error {
	select {
	case <-l.done:
		return nil
	default:
	}
	var err error
	if l.sess != nil {
		err = l.sess.Bye(ctx)
	}
	l.end(why)
	if err != nil {
		return fmt.Errorf("sip: BYE to %s: %w", l.user, err)
	}
	return nil
}

// ReadFrame fills f with the next 20 ms of the phone's audio. It waits for the call's first
// packet; after that it returns within one frame period, with silence for a packet that is lost
// or late. It returns ctx's error, or the leg's once the call has ended.
func (l *Leg) ReadFrame(ctx context.Context, f *voice.Frame) error {
	for {
		select {
		case <-l.done:
			return l.err
		default:
		}
		l.jmu.Lock()
		started := l.started
		l.jmu.Unlock()
		if started {
			break
		}
		select {
		case <-l.arrive:
			// A packet came; the loop sees started now. Put the signal back for the wait below.
			select {
			case l.arrive <- struct{}{}:
			default:
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-l.done:
			return l.err
		}
	}
	deadline := time.Now().Add(voice.FrameDuration)
	waited := false
	for {
		l.jmu.Lock()
		if !l.playing && l.buffered >= jbPrefill {
			l.playing = true
		}
		if !l.playing {
			if waited {
				l.jmu.Unlock()
				*f = voice.Frame{}
				return nil
			}
		} else if l.pop(f) {
			l.jmu.Unlock()
			return nil
		} else if l.buffered == 0 && waited {
			l.playing = false // ran dry: fill up again before playing on
		}
		if l.playing && (waited || l.buffered >= jbDepth) {
			if l.buffered > 0 { // give up on the missing packet
				l.next++
			}
			l.jmu.Unlock()
			*f = voice.Frame{}
			return nil
		}
		l.jmu.Unlock()
		d := time.Until(deadline)
		if d <= 0 {
			waited = true
			continue
		}
		l.timer.Reset(d)
		select {
		case <-l.arrive:
			l.timer.Stop()
		case <-l.timer.C:
			waited = true
		case <-ctx.Done():
			l.timer.Stop()
			return ctx.Err()
		case <-l.done:
			l.timer.Stop()
			return l.err
		}
	}
}

// pop takes the expected packet from the ring, decoded into f. jmu is held.
func (l *Leg) pop(f *voice.Frame) bool {
	sl := &l.slots[l.next%jbSlots]
	if !sl.full || sl.seq != l.next {
		return false
	}
	switch sl.pt {
	case ptPCMA:
		voice.ALawDecode(f[:sl.n], sl.data[:sl.n])
	default:
		voice.ULawDecode(f[:sl.n], sl.data[:sl.n])
	}
	clear(f[sl.n:])
	sl.full = false
	l.buffered--
	l.next++
	return true
}

// push stores one received audio packet. jmu is held.
func (l *Leg) push(pt uint8, seq uint16, payload []byte) {
	if !l.started {
		l.started = true
		l.next = seq
	}
	ahead := int16(seq - l.next)
	if ahead < 0 {
		return // too late: its frame was already played or concealed
	}
	if ahead >= jbSlots { // a jump (new source, long gap): start over from this packet
		for i := range l.slots {
			l.slots[i].full = false
		}
		l.buffered = 0
		l.next = seq
	}
	sl := &l.slots[seq%jbSlots]
	if sl.full && sl.seq == seq {
		return // duplicate
	}
	if !sl.full {
		l.buffered++
	}
	sl.full, sl.pt, sl.seq = true, pt, seq
	sl.n = copy(sl.data[:], payload)
	for l.buffered > jbMax { // the reader fell behind: drop the oldest
		old := &l.slots[l.next%jbSlots]
		if old.full && old.seq == l.next {
			old.full = false
			l.buffered--
		}
		l.next++
	}
	select {
	case l.arrive <- struct{}{}:
	default:
	}
}

// readLoop receives the phone's RTP until the leg ends.
func (l *Leg) readLoop() {
	buf := make([]byte, 1500)
	var h rtp.Header
	var lastEventTS uint32
	haveEvent := false
	var deadlineSet time.Time
	for {
		now := time.Now()
		if now.Sub(deadlineSet) > 500*time.Millisecond {
			_ = l.conn.SetReadDeadline(now.Add(time.Second))
			deadlineSet = now
		}
		n, _, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if !l.held.Load() && time.Since(time.Unix(0, l.lastRx.Load())) > l.s.opts.RTPTimeout {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					if err := l.bye(ctx, ErrRTPTimeout); err != nil {
						l.s.log.Debug("sip: BYE after RTP timeout", "err", err)
					}
					cancel()
					return
				}
				deadlineSet = time.Time{}
				continue
			}
			return // closed: the leg ended
		}
		hl, err := h.Unmarshal(buf[:n])
		if err != nil || h.Version != 2 {
			continue
		}
		end := n
		if h.Padding && n > hl {
			end -= int(buf[n-1])
		}
		if end < hl {
			continue
		}
		payload := buf[hl:end]
		l.lastRx.Store(now.UnixNano())
		switch {
		case int(h.PayloadType) == l.eventPT && l.eventPT >= 0:
			if len(payload) < 4 || haveEvent && h.Timestamp == lastEventTS {
				continue
			}
			haveEvent, lastEventTS = true, h.Timestamp
			if k, ok := eventKey(payload[0]); ok {
				select {
				case l.digits <- k:
				default:
				}
			}
		case h.PayloadType == ptPCMU || h.PayloadType == ptPCMA:
			l.jmu.Lock()
			l.push(h.PayloadType, h.SequenceNumber, payload)
			l.jmu.Unlock()
		}
	}
}

const eventKeys = "0123456789*#ABCD"

func eventKey(code byte) (byte, bool) {
	if int(code) < len(eventKeys) {
		return eventKeys[code], true
	}
	return 0, false
}

func eventCode(key byte) (byte, bool) {
	if key >= 'a' && key <= 'd' {
		key -= 'a' - 'A'
	}
	for i := range len(eventKeys) {
		if eventKeys[i] == key {
			return byte(i), true
		}
	}
	return 0, false
}

// WriteFrame sends 20 ms of audio to the phone, encoded as negotiated. While the phone holds
// the call (or a digit is being sent) the frame is dropped but time still advances.
func (l *Leg) WriteFrame(f *voice.Frame) error {
	select {
	case <-l.done:
		return l.err
	default:
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	ts := l.ts
	l.ts += voice.FrameSamples
	if l.held.Load() || l.inEvent {
		l.marker = true
		return nil
	}
	payload := l.wbuf[rtpHeader:]
	if l.sendPT == ptPCMA {
		voice.ALawEncode(payload, f[:])
	} else {
		voice.ULawEncode(payload, f[:])
	}
	m := l.marker
	l.marker = false
	return l.send(l.sendPT, m, ts, voice.FrameSamples)
}

// send writes the RTP header in front of wbuf's payload and sends the packet. wmu is held.
func (l *Leg) send(pt uint8, marker bool, ts uint32, n int) error {
	h := rtp.Header{Version: 2, Marker: marker, PayloadType: pt, SequenceNumber: l.seq, Timestamp: ts, SSRC: l.ssrc}
	l.seq++
	if _, err := h.MarshalTo(l.wbuf[:rtpHeader]); err != nil {
		return fmt.Errorf("sip: RTP header: %w", err)
	}
	dst := l.remote.Load()
	if dst == nil {
		return nil
	}
	if _, err := l.conn.WriteToUDPAddrPort(l.wbuf[:rtpHeader+n], *dst); err != nil {
		if e := l.Err(); e != nil {
			return e
		}
		return fmt.Errorf("sip: send RTP: %w", err)
	}
	return nil
}

// SendDigit sends key d (0-9, *, #, A-D) as an RFC 4733 event of 100 ms; it returns when the
// event is over (about 160 ms). Audio written meanwhile is dropped.
func (l *Leg) SendDigit(d byte) error {
	code, ok := eventCode(d)
	if !ok {
		return fmt.Errorf("sip: no telephone event for key %q", d)
	}
	if l.eventPT < 0 {
		return errors.New("sip: the phone takes no telephone events")
	}
	l.dmu.Lock()
	defer l.dmu.Unlock()
	l.wmu.Lock()
	l.inEvent = true
	start := l.ts
	l.wmu.Unlock()
	defer func() {
		l.wmu.Lock()
		l.inEvent = false
		if end := start + digitPackets*voice.FrameSamples; int32(l.ts-end) < 0 {
			l.ts = end
		}
		l.marker = true
		l.wmu.Unlock()
	}()
	tick := time.NewTicker(voice.FrameDuration)
	defer tick.Stop()
	for i := range digitPackets + digitEndRepeats {
		dur := min(i+1, digitPackets) * voice.FrameSamples
		var flags byte = 10 // volume: -10 dBm0
		if i >= digitPackets-1 {
			flags |= 0x80 // end of event
		}
		l.wmu.Lock()
		p := l.wbuf[rtpHeader:]
		p[0], p[1], p[2], p[3] = code, flags, byte(dur>>8), byte(dur)
		err := l.send(uint8(l.eventPT), i == 0, start, 4)
		l.wmu.Unlock()
		if err != nil {
			return err
		}
		if i == digitPackets+digitEndRepeats-1 {
			break
		}
		select {
		case <-tick.C:
		case <-l.done:
			return l.err
		}
	}
	return nil
}

// reinvite answers a re-INVITE from the phone: hold, resume or a new address.
func (l *Leg) reinvite(req *sip.Request, tx sip.ServerTransaction) {
	dir := dirSendRecv
	if body := req.Body(); len(body) > 0 {
		m, err := parseSDP(body)
		if err == nil {
			if _, ok := m.codec(); !ok {
				err = fmt.Errorf("%w: no G.711", errSDP)
			}
		}
		if err != nil {
			l.s.respond(tx, req, 488, "Not Acceptable Here")
			return
		}
		l.setRemote(m)
		was := l.held.Swap(m.held())
		if was != m.held() {
			l.s.log.Info("sip: hold", "user", l.user, "held", m.held())
		}
		dir = answerDirection(m.Direction)
		if m.Addr.IsUnspecified() && dir == dirSendRecv {
			dir = dirRecvOnly
		}
	}
	l.sdpMu.Lock()
	l.sdpVersion++
	v := l.sdpVersion
	l.sdpMu.Unlock()
	body := sdpOffer(l.s.ip, l.localPort, l.sessID, v, int(l.sendPT), l.eventPT, dir)
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(sip.HeaderClone(&l.s.dua.ContactHDR))
	if err := tx.Respond(res); err != nil {
		l.s.log.Debug("sip: answer re-INVITE", "err", err)
	}
}

// refer accepts a blind transfer (RFC 3515) and reports its target user.
func (l *Leg) refer(req *sip.Request, tx sip.ServerTransaction) {
	h := req.GetHeader("Refer-To")
	if h == nil {
		l.s.respond(tx, req, 400, "Bad Request")
		return
	}
	var uri sip.Uri
	var params sip.HeaderParams
	if _, err := sip.ParseAddressValue(h.Value(), &uri, &params); err != nil || uri.User == "" ||
		(uri.Scheme != "sip" && uri.Scheme != "sips") {
		l.s.respond(tx, req, 400, "Bad Request")
		return
	}
	contact := l.sess.InviteResponse.Contact()
	if contact == nil {
		l.s.respond(tx, req, 400, "Bad Request")
		return
	}
	target := contact.Address.Clone()
	l.s.respond(tx, req, 202, "Accepted")
	select {
	case l.transfers <- uri.User:
	default:
	}
	l.s.log.Info("sip: transfer", "user", l.user, "to", uri.User)
	l.s.goRun(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n := sip.NewRequest(sip.NOTIFY, *target)
		n.AppendHeader(sip.NewHeader("Event", "refer"))
		n.AppendHeader(sip.NewHeader("Subscription-State", "terminated;reason=noresource"))
		n.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
		n.SetBody([]byte("SIP/2.0 200 OK\r\n"))
		if _, err := l.sess.Do(ctx, n); err != nil {
			l.s.log.Debug("sip: NOTIFY after REFER", "err", err)
		}
	})
}
