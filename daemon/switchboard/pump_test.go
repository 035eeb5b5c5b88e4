package switchboard

import (
	"context"
	"errors"
	"strings"
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

// scriptAudio delivers a frame ('F') or reports an underrun ('U') as its script says, then
// reports the end of the call.
type scriptAudio struct {
	script string
	pos    int
}

func (a *scriptAudio) Format() hw.AudioFormat    { return hw.S16LE }
func (a *scriptAudio) WriteFrame(p []byte) error { return nil }
func (a *scriptAudio) ReadFrame(p []byte) error {
	if a.pos >= len(a.script) {
		return hw.ErrNoCall
	}
	a.pos++
	if a.script[a.pos-1] == 'U' {
		clear(p)
		return hw.ErrUnderrun
	}
	return nil
}

// An underrun is a frame the line failed to deliver on its clock while its audio flowed: the
// silence before its audio first flows (a modem still switching its PCM on) is not one, unless
// no audio ever comes, nor is one in the last second of a call, when the audio stops before the
// hang-up is reported.
func TestPumpCountsUnderrunsWhileAudioFlows(t *testing.T) {
	end := strings.Repeat("F", hangupGrace) // the last second, not judged
	for _, tc := range []struct {
		script string
		want   int64
	}{
		{"FFFFF", 0},
		{"UUUUFFFF" + end, 0},
		{"FUUF" + end, 2},
		{"UUFUFFUUUF" + end, 4},
		{"FUF" + end, 1},
		{"FUF", 0},
		{"FF" + strings.Repeat("U", hangupGrace), 0},
		{"FUF" + strings.Repeat("U", hangupGrace+1), 2},
		{"UUUU", 0},
		{strings.Repeat("U", hangupGrace+10), 10},
		{"", 0},
	} {
		p, err := newPump(&scriptAudio{script: tc.script}, make(chan byte, 1))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.run(context.Background()); !errors.Is(err, hw.ErrNoCall) {
			t.Errorf("%q: run returned %v, want the end of the call", tc.script, err)
		}
		if got := p.underruns.Load(); got != tc.want {
			t.Errorf("%q: %d underruns, want %d", tc.script, got, tc.want)
		}
	}
}
