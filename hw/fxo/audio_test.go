package fxo

import (
	"errors"
	"io"
	"log/slog"
	"testing"

	"hotline/hw"
)

// newDataStream returns a stream in data mode with the audio of a call in format f, writing to
// io.Discard.
func newDataStream(f hw.AudioFormat) (*stream, *callAudio) {
	log := slog.New(slog.DiscardHandler)
	s := newStream(struct {
		io.Reader
		io.Writer
	}{nil, io.Discard}, log)
	a := newCallAudio("t", s, f, log)
	s.arm(a)
	s.mu.Lock()
	s.armed = false
	s.enterDataLocked()
	s.mu.Unlock()
	return s, a
}

// TestFramePath: shielded bytes from the modem become frames; a 0x10 sample survives; the
// silence detector sees voice.
func TestFramePath(t *testing.T) {
	s, a := newDataStream(hw.U8)
	in := make([]byte, 160)
	for i := range in {
		in[i] = byte(i)
	}
	wire := shield(nil, in)
	if err := s.feed(wire[:7]); err != nil {
		t.Fatal(err)
	}
	if err := s.feed(append(wire[7:], 0x10, '5')); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 160)
	if err := a.ReadFrame(got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(in) {
		t.Errorf("frame = %x, want %x", got, in)
	}
	if ev := <-s.events; ev != '5' {
		t.Errorf("event %q, want '5'", ev)
	}
	if err := a.ReadFrame(got); !errors.Is(err, hw.ErrUnderrun) || got[0] != 0x80 {
		t.Errorf("empty read: %v %x, want underrun with silence", err, got[0])
	}
	if err := a.WriteFrame(in); err != nil {
		t.Fatal(err)
	}
	a.stop()
	if err := a.ReadFrame(got); !errors.Is(err, hw.ErrNoCall) {
		t.Errorf("after stop: %v", err)
	}
}

func TestFramePathAllocatesNothing(t *testing.T) {
	for _, f := range []hw.AudioFormat{hw.U8, hw.ULaw, hw.S16LE} {
		s, a := newDataStream(f)
		frame := make([]byte, f.FrameBytes())
		for i := range frame {
			frame[i] = byte(i * 7)
		}
		wire := shield(nil, frame)
		got := make([]byte, f.FrameBytes())
		allocs := testing.AllocsPerRun(200, func() {
			if err := s.feed(wire); err != nil {
				t.Fatal(err)
			}
			if err := a.ReadFrame(got); err != nil {
				t.Fatal(err)
			}
			if err := a.WriteFrame(frame); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per frame, want 0", f, allocs)
		}
	}
}

func BenchmarkFrame(b *testing.B) {
	s, a := newDataStream(hw.U8)
	frame := make([]byte, 160)
	for i := range frame {
		frame[i] = byte(i)
	}
	wire := shield(nil, frame)
	got := make([]byte, 160)
	b.ReportAllocs()
	for b.Loop() {
		_ = s.feed(wire)
		_ = a.ReadFrame(got)
		_ = a.WriteFrame(frame)
	}
}
