package switchboard

import (
	"testing"
	"time"

	"hotline/hw"
	"hotline/voice"
	"hotline/voice/tone"
)

// loopAudio hands out the same caller frame at once, as fast as it is asked.
type loopAudio struct {
	in  []byte
	out int
}

func (a *loopAudio) Format() hw.AudioFormat   { return hw.S16LE }
func (a *loopAudio) ReadFrame(p []byte) error { copy(p, a.in); return nil }
func (a *loopAudio) WriteFrame(p []byte) error {
	a.out += len(p)
	return nil
}

func newLoopPump(t testing.TB) *pump {
	speech := tone.Dual(350, 1100, voice.FrameDuration, -15, -20)
	a := &loopAudio{in: make([]byte, hw.S16LE.FrameBytes())}
	voice.EncodeS16LE(a.in, speech)
	p, err := newPump(a, make(chan byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The 20 ms path allocates nothing: reading, listening for keys, recording, playing, writing.
func TestPumpAllocatesNothing(t *testing.T) {
	p := newLoopPump(t)
	prompt := tone.Sine(400, 10*time.Second, -15)
	p.play <- prompt
	p.record.Store(true)
	allocs := testing.AllocsPerRun(500, func() {
		if err := p.step(); err != nil {
			t.Fatal(err)
		}
		select {
		case f := <-p.recorded:
			p.free <- f
		default:
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame, want 0", allocs)
	}
	if p.dropped.Load() != 0 {
		t.Errorf("recorder dropped %d frames", p.dropped.Load())
	}
}

// BenchmarkPumpFrame is the cost of one 20 ms frame of a call: decode, DTMF, play, encode.
func BenchmarkPumpFrame(b *testing.B) {
	p := newLoopPump(b)
	prompt := tone.Sine(400, 10*time.Second, -15)
	b.ReportAllocs()
	for b.Loop() {
		if p.prompt == nil {
			p.prompt, p.pos = prompt, 0
		}
		if err := p.step(); err != nil {
			b.Fatal(err)
		}
	}
}

// Two pumps bridged (a caller and an operator's mobile) allocate nothing per frame either,
// and each hears the other.
func TestBridgedPumpsAllocateNothing(t *testing.T) {
	a, b := newLoopPump(t), newLoopPump(t)
	ab, ba := newFrameQueue(bridgeFrames), newFrameQueue(bridgeFrames)
	a.link(&peer{hear: ab, say: ba})
	b.link(&peer{hear: ba, say: ab})
	allocs := testing.AllocsPerRun(500, func() {
		if err := a.step(); err != nil {
			t.Fatal(err)
		}
		if err := b.step(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame, want 0", allocs)
	}
	// b plays what a heard: the same speech-like frame.
	if a.outPCM != b.frame || b.outPCM != a.frame {
		t.Error("the bridged pumps do not pass each other's audio")
	}
}

// A full queue drops its oldest frame, so the delay between two drifting clocks stays bounded.
func TestFrameQueueDropsOldest(t *testing.T) {
	q := newFrameQueue(3)
	for i := range 5 {
		var f voice.Frame
		f[0] = int16(i)
		q.push(&f)
	}
	var got []int16
	var f voice.Frame
	for q.pop(&f) {
		got = append(got, f[0])
	}
	if len(got) != 3 || got[0] != 2 || got[2] != 4 {
		t.Errorf("queue gave %v, want [2 3 4]", got)
	}
}
