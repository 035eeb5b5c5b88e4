package switchboard

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
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
	p, err := newPump(a, make(chan byte, 16), voice.FrameDuration)
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
		p, err := newPump(&scriptAudio{script: tc.script}, make(chan byte, 1), voice.FrameDuration)
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

// timedAudio delivers frames whose wait in the driver's ring, and whose reply's write, take
// the times given (in a synctest bubble: virtual time); a device pause before a frame is an
// underrun after 60 ms, then one every 20 ms, as the drivers' rings do it.
type timedAudio struct {
	frames []timedFrame
	pos    int
	waited time.Duration
}

type timedFrame struct {
	pause  time.Duration // the device sends nothing this long first (underruns)
	waited time.Duration // then the frame waits this long in the ring
	write  time.Duration // and writing the reply takes this long
}

func (a *timedAudio) Format() hw.AudioFormat { return hw.S16LE }
func (a *timedAudio) ReadFrame(p []byte) error {
	if a.pos >= len(a.frames) {
		return hw.ErrNoCall
	}
	f := &a.frames[a.pos]
	if f.pause >= 60*time.Millisecond {
		step := min(f.pause, 60*time.Millisecond)
		if f.pause > 60*time.Millisecond {
			step = 20 * time.Millisecond
		}
		time.Sleep(step)
		f.pause -= step
		a.waited = 0
		clear(p)
		return hw.ErrUnderrun
	}
	time.Sleep(f.pause + f.waited)
	a.waited = f.waited
	return nil
}
func (a *timedAudio) WriteFrame(p []byte) error {
	time.Sleep(a.frames[a.pos].write)
	a.pos++
	return nil
}
func (a *timedAudio) FrameWaited() time.Duration { return a.waited }

// untimed is an Audio that cannot tell how long its frames waited.
type untimed struct{ a *timedAudio }

func (u untimed) Format() hw.AudioFormat    { return u.a.Format() }
func (u untimed) ReadFrame(p []byte) error  { return u.a.ReadFrame(p) }
func (u untimed) WriteFrame(p []byte) error { return u.a.WriteFrame(p) }

// A deadline miss is a frame the box itself answered late: its wait in the driver's ring plus
// the pump's work and the reply's write over the budget. A device that pauses (underruns) or
// delivers late is not the box missing its deadline.
func TestPumpCountsDeadlineMisses(t *testing.T) {
	ms := time.Millisecond
	steady := func(n int) []timedFrame { return make([]timedFrame, n) }
	for _, tc := range []struct {
		name    string
		frames  []timedFrame
		budget  time.Duration
		hidden  bool // the audio is no FrameWaiter
		misses  int64
		slowest time.Duration
	}{
		{name: "on time", frames: steady(100), budget: 20 * ms},
		{name: "a frame waited in the ring", frames: append(steady(10), timedFrame{waited: 25 * ms}), budget: 20 * ms, misses: 1, slowest: 25 * ms},
		{name: "wait and write add up", frames: append(steady(10), timedFrame{waited: 15 * ms, write: 10 * ms}), budget: 20 * ms, misses: 1, slowest: 25 * ms},
		{name: "just in time", frames: []timedFrame{{waited: 10 * ms, write: 10 * ms}, {write: 19 * ms}}, budget: 20 * ms, slowest: 20 * ms},
		{name: "the device pauses", frames: []timedFrame{{}, {pause: 300 * ms}, {pause: 45 * ms}, {}}, budget: 20 * ms},
		{name: "a faster clock's budget", frames: []timedFrame{{write: 3 * ms}, {write: 5 * ms}}, budget: 4 * ms, misses: 1, slowest: 5 * ms},
		{name: "no ring: the pump's own time", frames: []timedFrame{{waited: 30 * ms}, {write: 21 * ms}}, budget: 20 * ms, hidden: true, misses: 1, slowest: 21 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var a hw.Audio = &timedAudio{frames: tc.frames}
				if tc.hidden {
					a = untimed{a.(*timedAudio)}
				}
				p, err := newPump(a, make(chan byte, 1), tc.budget)
				if err != nil {
					t.Fatal(err)
				}
				if err := p.run(t.Context()); !errors.Is(err, hw.ErrNoCall) {
					t.Fatalf("run returned %v, want the end of the call", err)
				}
				if got := p.misses.Load(); got != tc.misses {
					t.Errorf("%d deadline misses, want %d", got, tc.misses)
				}
				if got := time.Duration(p.slowest.Load()); got != tc.slowest {
					t.Errorf("slowest frame %v, want %v", got, tc.slowest)
				}
				if got := strings.Count(p.missTimes(), "+"); got != int(tc.misses) {
					t.Errorf("the log names %d misses (%q), want %d", got, p.missTimes(), tc.misses)
				}
			})
		})
	}
}
