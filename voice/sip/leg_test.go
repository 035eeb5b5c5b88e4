package sip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"

	"hotline/voice"
)

// testLeg is a Leg without SIP whose RTP goes to peer (a socket of the test). Its readLoop
// runs until the test ends.
func testLeg(t testing.TB, rtpTimeout time.Duration) (*Leg, *net.UDPConn) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{log: testLoggerTB(), legs: map[string]*Leg{}, opts: Options{RTPTimeout: rtpTimeout}}
	l := &Leg{s: s, user: "t", callID: "c", conn: conn, sendPT: ptPCMU, eventPT: ptEventWant,
		digits: make(chan byte, 16), transfers: make(chan string, 1), ssrc: 0x1234, seq: 65530, ts: 1000,
		marker: true, arrive: make(chan struct{}, 1), timer: time.NewTimer(time.Hour), done: make(chan struct{})}
	l.timer.Stop()
	ap := peer.LocalAddr().(*net.UDPAddr).AddrPort()
	l.remote.Store(&ap)
	l.lastRx.Store(time.Now().UnixNano())
	s.wg.Go(l.readLoop)
	t.Cleanup(func() {
		l.end(ErrShutdown)
		s.wg.Wait()
		peer.Close()
	})
	return l, peer
}

func (l *Leg) localAddr() netip.AddrPort { return l.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// sendRTP sends one packet from the peer to the leg.
func sendRTP(t testing.TB, peer *net.UDPConn, to netip.AddrPort, pt uint8, seq uint16, ts uint32, payload []byte) {
	t.Helper()
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: 99}, Payload: payload}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := peer.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
}

// constFrame is 160 mu-law bytes that decode to v.
func constFrame(v int16) []byte {
	var s [voice.FrameSamples]int16
	for i := range s {
		s[i] = v
	}
	b := make([]byte, voice.FrameSamples)
	voice.ULawEncode(b, s[:])
	return b
}

func TestJitterReorderAndLoss(t *testing.T) {
	l, peer := testLeg(t, time.Minute)
	to := l.localAddr()
	// Packets 1..6 with 3 missing, 5 before 4.
	for _, seq := range []uint16{1, 2, 5, 4, 6} {
		sendRTP(t, peer, to, ptPCMU, seq, uint32(seq)*160, constFrame(int16(seq)*1000))
	}
	waitFor(t, "packets buffered", func() bool { l.jmu.Lock(); defer l.jmu.Unlock(); return l.buffered == 5 })
	ctx := context.Background()
	var got []int16
	var f voice.Frame
	for range 6 {
		if err := l.ReadFrame(ctx, &f); err != nil {
			t.Fatal(err)
		}
		got = append(got, f[80])
	}
	want := []int16{1000, 2000, 0, 4000, 5000, 6000}
	for i := range want {
		if d := got[i] - want[i]; d < -200 || d > 200 {
			t.Fatalf("frames %v, want about %v", got, want)
		}
	}
	// Nothing more: silence within about a frame, never a stall.
	if err := l.ReadFrame(ctx, &f); err != nil || f != (voice.Frame{}) {
		t.Fatalf("empty buffer: %v, frame not silent", err)
	}
}

func TestDigitsFromPhone(t *testing.T) {
	l, peer := testLeg(t, time.Minute)
	to := l.localAddr()
	seq := uint16(10)
	press := func(code byte, ts uint32) {
		for i, d := range []uint16{160, 320, 480, 640, 640, 640} {
			flags := byte(10)
			if i >= 3 {
				flags |= 0x80
			}
			sendRTP(t, peer, to, ptEventWant, seq, ts, []byte{code, flags, byte(d >> 8), byte(d)})
			seq++
		}
	}
	press(1, 1000)
	press(11, 2000)
	press(1, 3000)
	for _, want := range []byte{'1', '#', '1'} {
		if got := recvWithin(t, l.Digits(), "digit"); got != want {
			t.Fatalf("digit %q, want %q", got, want)
		}
	}
	select {
	case d := <-l.Digits():
		t.Fatalf("extra digit %q", d)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestSendDigitAndFrames(t *testing.T) {
	l, peer := testLeg(t, time.Minute)
	var f voice.Frame
	f[0] = 1000
	if err := l.WriteFrame(&f); err != nil {
		t.Fatal(err)
	}
	if err := l.SendDigit('5'); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteFrame(&f); err != nil {
		t.Fatal(err)
	}
	if err := l.SendDigit('x'); err == nil {
		t.Fatal("SendDigit('x') worked")
	}
	buf := make([]byte, 1500)
	var pkts []rtp.Packet
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(pkts) < 1+digitPackets+digitEndRepeats+1 {
		n, _, err := peer.ReadFromUDP(buf)
		if err != nil {
			t.Fatal(err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(append([]byte(nil), buf[:n]...)); err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p)
	}
	first, ev, last := pkts[0], pkts[1:len(pkts)-1], pkts[len(pkts)-1]
	if first.PayloadType != ptPCMU || !first.Marker || first.SSRC != 0x1234 || len(first.Payload) != 160 || first.Timestamp != 1000 {
		t.Fatalf("first audio packet %v", first.Header)
	}
	for i, p := range ev {
		if p.PayloadType != ptEventWant || p.SequenceNumber != first.SequenceNumber+uint16(i)+1 || p.Timestamp != 1160 ||
			p.Marker != (i == 0) || p.Payload[0] != 5 || (p.Payload[1]&0x80 != 0) != (i >= digitPackets-1) {
			t.Fatalf("event packet %d: %v %x", i, p.Header, p.Payload)
		}
	}
	if last.PayloadType != ptPCMU || !last.Marker || last.Timestamp != 1160+digitPackets*160 ||
		last.SequenceNumber != first.SequenceNumber+uint16(len(pkts)-1) {
		t.Fatalf("audio after the digit %v", last.Header)
	}
}

func TestRTPTimeout(t *testing.T) {
	l, _ := testLeg(t, 300*time.Millisecond) // no packet ever comes
	select {
	case <-l.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("no RTP timeout")
	}
	if !errors.Is(l.Err(), ErrRTPTimeout) {
		t.Fatalf("Err = %v", l.Err())
	}
}

func TestFramePathAllocatesNothing(t *testing.T) {
	l, _ := testLeg(t, time.Minute)
	self := l.localAddr()
	l.remote.Store(&self) // talk to itself: every frame written comes back
	ctx := context.Background()
	var in, out voice.Frame
	out[3] = 500
	for range 10 {
		_ = l.WriteFrame(&out)
		_ = l.ReadFrame(ctx, &in)
	}
	allocs := testing.AllocsPerRun(200, func() {
		if err := l.WriteFrame(&out); err != nil {
			t.Fatal(err)
		}
		if err := l.ReadFrame(ctx, &in); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per frame", allocs)
	}
}

func BenchmarkFramePath(b *testing.B) {
	l, _ := testLeg(b, time.Minute)
	self := l.localAddr()
	l.remote.Store(&self)
	ctx := context.Background()
	var in, out voice.Frame
	b.ReportAllocs()
	for b.Loop() {
		_ = l.WriteFrame(&out)
		_ = l.ReadFrame(ctx, &in)
	}
}
