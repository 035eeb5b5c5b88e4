package mdns

import (
	"context"
	"net"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func query(t testing.TB, id uint16, name string, typ dnsmessage.Type, qu bool) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id})
	if err := b.StartQuestions(); err != nil {
		t.Fatal(err)
	}
	class := dnsmessage.ClassINET
	if qu {
		class |= 1 << 15
	}
	if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: class}); err != nil {
		t.Fatal(err)
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// answers parses a response into its A records and the question it repeats, if any.
func answers(t *testing.T, msg []byte) (ips []string, id uint16, questions int) {
	t.Helper()
	var m dnsmessage.Message
	if err := m.Unpack(msg); err != nil {
		t.Fatal(err)
	}
	if !m.Header.Response || !m.Header.Authoritative {
		t.Errorf("header %+v", m.Header)
	}
	for _, a := range m.Answers {
		if r, ok := a.Body.(*dnsmessage.AResource); ok {
			ips = append(ips, net.IP(r.A[:]).String())
		}
	}
	return ips, m.Header.ID, len(m.Questions)
}

func TestHandle(t *testing.T) {
	r, err := New("Hotline", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.addrs = func() []net.IP { return []net.IP{net.IPv4(192, 168, 1, 50), net.IPv4(10, 0, 0, 7)} }
	for _, tc := range []struct {
		name        string
		pkt         []byte
		port        int
		wantOK      bool
		wantUnicast bool
		wantID      uint16
	}{
		{name: "multicast A query", pkt: query(t, 0, "hotline.local.", dnsmessage.TypeA, false), port: 5353, wantOK: true},
		{name: "any type, other case", pkt: query(t, 0, "HOTLINE.local.", dnsmessage.TypeALL, false), port: 5353, wantOK: true},
		{name: "unicast asked (QU)", pkt: query(t, 0, "hotline.local.", dnsmessage.TypeA, true), port: 5353, wantOK: true, wantUnicast: true},
		{name: "legacy resolver", pkt: query(t, 4242, "hotline.local.", dnsmessage.TypeA, false), port: 40000, wantOK: true, wantUnicast: true, wantID: 4242},
		{name: "another name", pkt: query(t, 0, "printer.local.", dnsmessage.TypeA, false), port: 5353},
		{name: "IPv6 only", pkt: query(t, 0, "hotline.local.", dnsmessage.TypeAAAA, false), port: 5353},
		{name: "garbage", pkt: []byte("\x00\x01not dns"), port: 5353},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, unicast, ok := r.Handle(tc.pkt, tc.port)
			if ok != tc.wantOK || unicast != tc.wantUnicast {
				t.Fatalf("ok %v unicast %v, want %v %v", ok, unicast, tc.wantOK, tc.wantUnicast)
			}
			if !ok {
				return
			}
			ips, id, qs := answers(t, resp)
			if len(ips) != 2 || ips[0] != "192.168.1.50" || ips[1] != "10.0.0.7" || id != tc.wantID {
				t.Errorf("answer %v id %d", ips, id)
			}
			if (tc.port != 5353) != (qs == 1) {
				t.Errorf("%d questions repeated", qs)
			}
		})
	}
	// Our own answers seen on the group are not questions.
	if msg, ok := r.answer(0, false); !ok {
		t.Fatal("no announcement")
	} else if _, _, ok := r.Handle(msg, 5353); ok {
		t.Error("answered an answer")
	}
	if _, err := New("two.words", nil); err == nil {
		t.Error("a dotted name was accepted")
	}
}

// A real resolver's way in: a query from an ordinary port to the responder's socket gets the
// answer back to that port.
func TestRunAnswers(t *testing.T) {
	r, err := New("hotline", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.addrs = func() []net.IP { return []net.IP{net.IPv4(192, 168, 1, 50)} }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1500)
	for try := 0; try < 50; try++ {
		if _, err := c.WriteToUDP(query(t, 77, "hotline.local.", dnsmessage.TypeA, false), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			continue // the responder is still starting
		}
		ips, id, _ := answers(t, buf[:n])
		if len(ips) != 1 || ips[0] != "192.168.1.50" || id != 77 {
			t.Errorf("answer %v id %d", ips, id)
		}
		return
	}
	t.Fatal("no answer from the responder")
}

func FuzzHandle(f *testing.F) {
	f.Add(query(f, 0, "hotline.local.", dnsmessage.TypeA, false), 5353)
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 40000)
	r, err := New("hotline", nil)
	if err != nil {
		f.Fatal(err)
	}
	r.addrs = func() []net.IP { return []net.IP{net.IPv4(192, 168, 1, 50)} }
	f.Fuzz(func(t *testing.T, pkt []byte, port int) {
		resp, _, ok := r.Handle(pkt, port)
		if ok {
			var m dnsmessage.Message
			if err := m.Unpack(resp); err != nil {
				t.Errorf("our answer does not parse: %v", err)
			}
		}
	})
}
