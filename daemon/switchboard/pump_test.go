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
