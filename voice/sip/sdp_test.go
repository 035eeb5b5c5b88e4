package sip

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseSDP(t *testing.T) {
	for _, tc := range []struct {
		name, sdp string
		addr      string
		port      int
		codec     uint8
		event     int
		dir       string
		held      bool
		err       bool
	}{
		{name: "phone answer", sdp: "v=0\r\no=x 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n" +
			"m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
			addr: "10.0.0.5", port: 4000, codec: 8, event: 101, dir: dirSendRecv},
		{name: "media-level c and hold", sdp: "v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\nm=video 5000 RTP/AVP 96\n" +
			"m=audio 4002 RTP/AVP 0 96\nc=IN IP4 192.0.2.1\na=rtpmap:96 TELEPHONE-EVENT/8000\na=sendonly\n",
			addr: "192.0.2.1", port: 4002, codec: 0, event: 96, dir: dirSendOnly, held: true},
		{name: "old hold", sdp: "v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0\r\n",
			addr: "0.0.0.0", port: 4000, codec: 0, event: -1, dir: dirSendRecv, held: true},
		{name: "session inactive", sdp: "v=0\r\nc=IN IP6 ::1\r\na=inactive\r\nm=audio 4000 RTP/AVP 0\r\n",
			addr: "::1", port: 4000, codec: 0, event: -1, dir: dirInactive, held: true},
		{name: "no v", sdp: "c=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\n", err: true},
		{name: "no audio", sdp: "v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 4000 RTP/AVP 0\r\n", err: true},
		{name: "no address", sdp: "v=0\r\nm=audio 4000 RTP/AVP 0\r\n", err: true},
		{name: "bad port", sdp: "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 70000 RTP/AVP 0\r\n", err: true},
		{name: "bad pt", sdp: "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 200\r\n", err: true},
		{name: "family mix", sdp: "v=0\r\nc=IN IP6 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\n", err: true},
		{name: "srtp", sdp: "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/SAVP 0\r\n", err: true},
		{name: "junk line", sdp: "v=0\r\nhello\r\n", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseSDP([]byte(tc.sdp))
			if tc.err {
				if !errors.Is(err, errSDP) {
					t.Fatalf("err = %v, want errSDP", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			codec, _ := m.codec()
			if m.Addr != netip.MustParseAddr(tc.addr) || m.Port != tc.port || codec != tc.codec ||
				m.EventPT != tc.event || m.Direction != tc.dir || m.held() != tc.held {
				t.Fatalf("got %+v held=%v", m, m.held())
			}
		})
	}
}

func TestOfferParsesBack(t *testing.T) {
	for _, ip := range []string{"127.0.0.1", "2001:db8::1"} {
		b := sdpOffer(netip.MustParseAddr(ip), 30000, 7, 2, -1, ptEventWant, dirSendRecv)
		m, err := parseSDP(b)
		if err != nil {
			t.Fatalf("%s: %v\n%s", ip, err, b)
		}
		if m.Addr.String() != ip || m.Port != 30000 || len(m.Formats) != 3 || m.EventPT != ptEventWant || m.held() {
			t.Fatalf("%s: %+v", ip, m)
		}
		if !strings.Contains(string(b), "a=rtpmap:101 telephone-event/8000\r\n") {
			t.Fatalf("no telephone-event in\n%s", b)
		}
	}
}

func FuzzParseSDP(f *testing.F) {
	f.Add([]byte(sdpOffer(netip.MustParseAddr("10.1.2.3"), 4000, 1, 1, -1, 101, dirSendRecv)))
	f.Add([]byte("v=0\nc=IN IP4 0.0.0.0\nm=audio 0 RTP/AVP 8\na=inactive\n"))
	f.Add([]byte("v=0\r\nc=IN IP6 ::\r\nm=audio 1/2 RTP/AVPF 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseSDP(b)
		if err != nil {
			if !errors.Is(err, errSDP) {
				t.Fatalf("error %v does not wrap errSDP", err)
			}
			return
		}
		if !m.Addr.IsValid() || m.Port < 0 || m.Port > 65535 || len(m.Formats) == 0 {
			t.Fatalf("accepted %+v", m)
		}
		switch m.Direction {
		case dirSendRecv, dirSendOnly, dirRecvOnly, dirInactive:
		default:
			t.Fatalf("direction %q", m.Direction)
		}
		for _, pt := range m.Formats {
			if pt > 127 {
				t.Fatalf("payload type %d", pt)
			}
		}
		if m.EventPT > 127 {
			t.Fatalf("event payload type %d", m.EventPT)
		}
		// What the box answers with must parse again.
		if _, err := parseSDP(sdpOffer(m.Addr, m.Port, 1, 1, ptPCMU, m.EventPT, answerDirection(m.Direction))); err != nil {
			t.Fatalf("own answer does not parse: %v", err)
		}
	})
}
