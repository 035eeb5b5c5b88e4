package browserline

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"hotline/hw"
	"hotline/voice/dtmf"
	"hotline/voice/tone"
)

// fakeTransport is the browser's side: frames it sends go in on in (closing in is the browser's
// hang-up), frames the box sends come out on out.
type fakeTransport struct {
	in     chan []byte
	out    chan []byte
	closed chan struct{}
	once   sync.Once
}

func newFake() *fakeTransport {
	return &fakeTransport{in: make(chan []byte), out: make(chan []byte, 1000), closed: make(chan struct{})}
}

func (f *fakeTransport) ReadFrame(p []byte) error {
	select {
	case b, ok := <-f.in:
		if !ok {
			return ErrHangup
		}
		copy(p, b)
		return nil
	case <-f.closed:
		return net.ErrClosed
	}
}

func (f *fakeTransport) WriteFrame(p []byte) error {
	select {
	case <-f.closed:
		return net.ErrClosed
	default:
	}
	select {
	case f.out <- append([]byte(nil), p...):
	default:
	}
	return nil
}

func (f *fakeTransport) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

func frames(samples []int16) [][]byte {
	var out [][]byte
	for len(samples) > 0 {
		n := min(160, len(samples))
		b := make([]byte, FrameBytes)
		for i, s := range samples[:n] {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
		}
		out = append(out, b)
		samples = samples[n:]
	}
	return out
}

func samplesOf(b []byte) []int16 {
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}

func nextEvent(t *testing.T, l *Line) hw.Event {
	t.Helper()
	select {
	case ev := <-l.Events():
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event from the line")
	}
	return hw.Event{}
}

// TestCallAudioBothWays rings the line, answers after the second ring, hears keys the browser
// sends as tones, sends frames back, and sees the browser's hang-up end the call.
func TestCallAudioBothWays(t *testing.T) {
	l := New("browser", nil)
	l.RingEvery = 10 * time.Millisecond
	f := newFake()
	done := make(chan error, 1)
	go func() { done <- l.Call(context.Background(), f) }()

	for want := 1; want <= 2; want++ {
		ev := nextEvent(t, l)
		if ev.Kind != hw.Ring || ev.Rings != want || ev.Number != Number {
			t.Fatalf("event %d: %+v, want ring %d from %q", want, ev, want, Number)
		}
	}
	if !l.Busy() {
		t.Fatal("line not busy during a call")
	}
	a, err := l.Answer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if a.Format() != hw.S16LE {
		t.Fatalf("format %v", a.Format())
	}
	for ev := nextEvent(t, l); ev.Kind != hw.Connected; ev = nextEvent(t, l) {
		if ev.Kind != hw.Ring {
			t.Fatalf("event %+v before connected", ev)
		}
	}
	// A second call while this one is up is refused.
	if err := l.Call(context.Background(), newFake()); !errors.Is(err, ErrBusy) {
		t.Fatalf("second call: %v, want ErrBusy", err)
	}

	// The browser presses 5 then #: the box's receiver hears them in the frames read.
	var pcm []int16
	for _, k := range []byte{'5', '#'} {
		d, err := tone.DTMF(k, 100*time.Millisecond, -10)
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(append(pcm, d...), tone.Silence(100*time.Millisecond)...)
	}
	// One frame at a time, as a browser paced by its clock sends them.
	var heard []int16
	p := make([]byte, FrameBytes)
	for _, b := range frames(pcm) {
		f.in <- b
		for {
			err := a.ReadFrame(p)
			if errors.Is(err, hw.ErrUnderrun) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		heard = append(heard, samplesOf(p)...)
	}
	if got := dtmf.Decode(heard); got != "5#" {
		t.Fatalf("keys heard %q, want 5#", got)
	}

	// The box speaks: the browser gets the frames in order.
	for i := range 3 {
		b := make([]byte, FrameBytes)
		b[0] = byte(i + 1)
		if err := a.WriteFrame(b); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if b := <-f.out; b[0] != byte(i+1) {
			t.Fatalf("frame %d to the browser starts %d", i, b[0])
		}
	}

	// No frame from the browser: silence and an underrun, on time.
	p[0] = 9
	if err := a.ReadFrame(p); !errors.Is(err, hw.ErrUnderrun) || p[0] != 0 {
		t.Fatalf("underrun read: %v, first byte %d", err, p[0])
	}

	close(f.in) // the browser hangs up
	if err := <-done; err != nil {
		t.Fatalf("call: %v", err)
	}
	if ev := nextEvent(t, l); ev.Kind != hw.Hangup || ev.Cause != "remote hang-up" {
		t.Fatalf("event %+v, want remote hang-up", ev)
	}
	if err := a.ReadFrame(p); !errors.Is(err, hw.ErrNoCall) {
		t.Fatalf("read after hang-up: %v", err)
	}
	if err := a.WriteFrame(p); !errors.Is(err, hw.ErrNoCall) {
		t.Fatalf("write after hang-up: %v", err)
	}
	if l.Busy() {
		t.Fatal("line busy after the call")
	}
}

func TestCallEnds(t *testing.T) {
	tests := []struct {
		name    string
		answer  bool
		end     func(l *Line, f *fakeTransport, cancel context.CancelFunc)
		cause   string
		wantErr error
	}{
		{"box hangs up", true, func(l *Line, f *fakeTransport, _ context.CancelFunc) { _ = l.Hangup(context.Background()) }, "local hang-up", nil},
		{"browser hangs up while ringing", false, func(l *Line, f *fakeTransport, _ context.CancelFunc) { close(f.in) }, "remote hang-up", nil},
		{"connection lost", true, func(l *Line, f *fakeTransport, _ context.CancelFunc) { _ = f.Close() }, "local hang-up", net.ErrClosed},
		{"page closed", true, func(l *Line, f *fakeTransport, cancel context.CancelFunc) { cancel() }, "call ended", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New("browser", nil)
			f := newFake()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- l.Call(ctx, f) }()
			if ev := nextEvent(t, l); ev.Kind != hw.Ring {
				t.Fatalf("first event %+v", ev)
			}
			if tt.answer {
				if _, err := l.Answer(ctx); err != nil {
					t.Fatal(err)
				}
				if ev := nextEvent(t, l); ev.Kind != hw.Connected {
					t.Fatalf("event %+v, want connected", ev)
				}
			}
			tt.end(l, f, cancel)
			err := <-done
			if tt.wantErr == nil && err != nil && !errors.Is(err, context.Canceled) || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("call: %v, want %v", err, tt.wantErr)
			}
			ev := nextEvent(t, l)
			if ev.Kind != hw.Hangup {
				t.Fatalf("event %+v, want hang-up", ev)
			}
			if tt.name != "connection lost" && ev.Cause != tt.cause {
				t.Fatalf("cause %q, want %q", ev.Cause, tt.cause)
			}
			select {
			case <-f.closed:
			default:
				t.Fatal("transport left open")
			}
			if _, err := l.Answer(ctx); !errors.Is(err, hw.ErrNoCall) {
				t.Fatalf("answer with no call: %v", err)
			}
		})
	}
}

// nullTransport is a browser that always has a frame ready and swallows what it gets.
type nullTransport struct{ closed chan struct{} }

func (n nullTransport) ReadFrame(p []byte) error {
	select {
	case <-n.closed:
		return net.ErrClosed
	default:
		return nil
	}
}
func (n nullTransport) WriteFrame(p []byte) error { return nil }
func (n nullTransport) Close() error              { return nil }

func TestAudioAllocatesNothing(t *testing.T) {
	l := New("browser", nil)
	tr := nullTransport{closed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Call(ctx, tr) }()
	nextEvent(t, l)
	a, err := l.Answer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, FrameBytes)
	allocs := testing.AllocsPerRun(200, func() {
		if err := a.ReadFrame(p); err != nil && !errors.Is(err, hw.ErrUnderrun) {
			t.Fatal(err)
		}
		if err := a.WriteFrame(p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per frame", allocs)
	}
	close(tr.closed)
	cancel()
	<-done
}

func BenchmarkFrame(b *testing.B) {
	l := New("browser", nil)
	tr := nullTransport{closed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Call(ctx, tr) }()
	<-l.Events()
	a, _ := l.Answer(ctx)
	p := make([]byte, FrameBytes)
	b.ReportAllocs()
	for b.Loop() {
		_ = a.ReadFrame(p)
		_ = a.WriteFrame(p)
	}
	close(tr.closed)
	cancel()
	<-done
}
