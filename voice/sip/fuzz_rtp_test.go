package sip

import (
	"testing"
	"time"

	"github.com/pion/rtp"

	"hotline/voice"
)

// checkJitter checks the receive ring's bookkeeping: buffered counts exactly the full slots,
// and every full slot sits where its sequence number puts it. jmu is held.
func checkJitter(t *testing.T, l *Leg, after string) {
	t.Helper()
	full := 0
	for i := range l.slots {
		sl := &l.slots[i]
		if !sl.full {
			continue
		}
		full++
		if int(sl.seq%jbSlots) != i {
			t.Fatalf("%s: slot %d holds sequence %d", after, i, sl.seq)
		}
		if sl.n < 0 || sl.n > len(sl.data) {
			t.Fatalf("%s: slot %d has %d bytes", after, i, sl.n)
		}
		if ahead := int16(sl.seq - l.next); ahead < 0 || ahead >= jbSlots {
			t.Fatalf("%s: slot %d holds sequence %d, %d from the next one to play (%d)", after, i, sl.seq, ahead, l.next)
		}
	}
	if l.buffered != full || l.buffered < 0 || l.buffered > jbSlots {
		t.Fatalf("%s: buffered %d, %d slots full", after, l.buffered, full)
	}
}

// readStep is what ReadFrame does with the ring once a frame period has passed: play the next
// packet, or give up on it when it is missing.
func readStep(l *Leg, f *voice.Frame) {
	if !l.pop(f) && l.buffered > 0 {
		l.next++
	}
}

// FuzzJitterBuffer runs the phone-side jitter buffer on any order of packets (any sequence
// numbers, payload types and sizes, as anyone on the network can send) interleaved with reads:
// it never panics or loops, never plays more than a frame, and its bookkeeping stays right.
func FuzzJitterBuffer(f *testing.F) {
	f.Add([]byte{0, 0, 1, 160, 0, 0, 2, 160, 1, 0, 0, 0, 2, 160, 1})                 // in order, a read
	f.Add([]byte{0, 0, 5, 160, 0, 0, 4, 160, 0, 0, 3, 160, 1, 1, 1, 1})              // reordered
	f.Add([]byte{0, 0xff, 0xff, 10, 0, 0, 0, 10, 0, 0x80, 0, 200, 1, 0, 0x7f, 0xff}) // wrap and jumps
	f.Add([]byte{8, 0, 1, 0, 8, 0, 1, 255, 1, 1, 1})                                 // empty, oversized, duplicate

	// More than jbMax packets without a read: the oldest are dropped.
	var burst []byte
	for seq := range byte(15) {
		burst = append(burst, 0, 0, seq+1, 160)
	}
	f.Add(append(burst, 1, 1))
	f.Fuzz(func(t *testing.T, ops []byte) {
		l := &Leg{}
		var fr voice.Frame
		payload := make([]byte, 300)
		for i := range payload {
			payload[i] = byte(i)
		}
		for i := 0; i < len(ops); {
			op := ops[i]
			i++
			if op&1 == 1 { // a read
				readStep(l, &fr)
				checkJitter(t, l, "read")
				continue
			}
			if i+3 > len(ops) {
				return
			}
			pt := uint8(ptPCMU)
			if op&2 != 0 {
				pt = ptPCMA
			}
			seq := uint16(ops[i])<<8 | uint16(ops[i+1])
			n := int(ops[i+2]) + int(op>>2)*8 // up to 255+63*8 bytes, beyond a frame
			i += 3
			l.push(pt, seq, payload[:min(n, len(payload))])
			checkJitter(t, l, "push")
		}
		for range 2 * jbSlots { // play out what is left
			readStep(l, &fr)
			checkJitter(t, l, "play out")
		}
		if l.buffered != 0 {
			t.Fatalf("%d packets left after playing out", l.buffered)
		}
	})
}

// FuzzRTPReceive sends arbitrary datagrams to a call leg's RTP socket: what a phone, or anyone
// who can reach the port, may send. The leg's receive loop parses each one (header, padding,
// payload type, events), and afterwards the ring's bookkeeping is right and the leg still takes
// a well-formed packet.
func FuzzRTPReceive(f *testing.F) {
	pkt := func(h rtp.Header, payload []byte) []byte {
		h.Version = 2
		b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
		if err != nil {
			f.Fatal(err)
		}
		return append([]byte{byte(len(b))}, b...)
	}
	audio := make([]byte, 160)
	var seed []byte
	seed = append(seed, pkt(rtp.Header{PayloadType: ptPCMU, SequenceNumber: 1, Timestamp: 160}, audio[:100])...)
	seed = append(seed, pkt(rtp.Header{PayloadType: ptPCMA, SequenceNumber: 2, Timestamp: 320}, audio[:100])...)
	seed = append(seed, pkt(rtp.Header{PayloadType: ptEventWant, SequenceNumber: 3, Timestamp: 480}, []byte{5, 0x8a, 0, 160})...)
	f.Add(seed)
	padded := pkt(rtp.Header{PayloadType: ptPCMU, SequenceNumber: 9}, []byte{1, 2, 3, 4})
	padded[1] |= 0x20            // the padding bit,
	padded = append(padded, 200) // with more padding than the packet holds
	padded[0]++                  // (the length prefix)
	f.Add(padded)
	f.Add([]byte{12, 0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0})                   // 15 CSRCs announced, none there
	f.Add([]byte{16, 0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 9}) // extension longer than the packet
	f.Add([]byte{4, 0x40, 0, 0, 1})                                            // version 1, short
	f.Add([]byte{0})                                                           // an empty datagram
	f.Fuzz(func(t *testing.T, data []byte) {
		l, peer := testLeg(t, time.Hour)
		to := l.localAddr()
		for sent := 0; len(data) > 0 && sent < 32; sent++ {
			n := min(int(data[0]), len(data)-1)
			if _, err := peer.WriteToUDPAddrPort(data[1:1+n], to); err != nil {
				t.Fatal(err)
			}
			data = data[1+n:]
		}
		// A well-formed packet far ahead of anything sent: the leg starts over from it. The
		// loopback keeps the datagrams' order, so once it is in, the fuzzed ones were read.
		l.jmu.Lock()
		mark := l.next + 1000
		l.jmu.Unlock()
		deadline := time.Now().Add(10 * time.Second)
		for {
			sendRTP(t, peer, to, ptPCMU, mark, 0, audio)
			for range 10 {
				select { // each packet put in the ring signals arrive
				case <-l.arrive:
				case <-time.After(5 * time.Millisecond):
				}
				l.jmu.Lock()
				sl := &l.slots[mark%jbSlots]
				in := sl.full && sl.seq == mark && sl.n == len(audio)
				if in {
					checkJitter(t, l, "receive")
				}
				l.jmu.Unlock()
				if in {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("a well-formed packet after the fuzzed ones never reached the ring")
			}
			l.jmu.Lock()
			mark = l.next + 1000 // a fuzzed packet may have moved the ring meanwhile
			l.jmu.Unlock()
		}
	})
}
