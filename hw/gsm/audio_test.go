package gsm

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"hotline/hw"
	"hotline/hw/framering"
)

// TestUnderrun: a silent modem gives silence and hw.ErrUnderrun on the frame ring's clock from
// the answer; a frame is returned as soon as it is there (the clock itself: hw/framering).
func TestUnderrun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		a := r.answer("+79161234567")
		p := bytes.Repeat([]byte{0xAA}, frameBytes)
		start := time.Now()
		if err := a.ReadFrame(p); !errors.Is(err, hw.ErrUnderrun) {
			t.Fatalf("ReadFrame = %v, want ErrUnderrun", err)
		}
		if d := time.Since(start); d != framering.FirstUnderrun {
			t.Errorf("first underrun %v after the answer, want %v", d, framering.FirstUnderrun)
		}
		if !bytes.Equal(p, make([]byte, frameBytes)) {
			t.Fatal("the underrun did not fill silence")
		}
		f := testFrame(7)
		go r.sendFrame(f)
		if err := a.ReadFrame(p); err != nil || !bytes.Equal(p, f) {
			t.Fatalf("ReadFrame = %v", err)
		}
		if d := time.Since(start); d != framering.FirstUnderrun {
			t.Errorf("frame returned after %v, want at once", d-framering.FirstUnderrun)
		}
	})
}

func TestHangupWakesBlockedReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		a := r.answer("+79161234567")
		errc := make(chan error, 1)
		go func() {
			p := make([]byte, frameBytes)
			for {
				if err := a.ReadFrame(p); !errors.Is(err, hw.ErrUnderrun) {
					errc <- err
					return
				}
			}
		}()
		time.Sleep(70 * time.Millisecond) // mid-wait
		r.push("NO CARRIER")
		if err := <-errc; !errors.Is(err, hw.ErrNoCall) {
			t.Errorf("blocked ReadFrame = %v, want ErrNoCall", err)
		}
	})
}

func TestConsumerLagDropsOldestFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		a := r.answer("+79161234567")
		const sent = framering.Frames + 3
		for i := range byte(sent) {
			r.sendFrame(testFrame(i))
		}
		synctest.Wait()
		p := make([]byte, frameBytes)
		for i := range byte(framering.Frames) {
			if err := a.ReadFrame(p); err != nil {
				t.Fatal(err)
			}
			if want := testFrame(sent - framering.Frames + i); !bytes.Equal(p, want) {
				t.Fatalf("frame %d: got %x..., want %x...", i, p[:4], want[:4])
			}
		}
		if err := a.ReadFrame(p); !errors.Is(err, hw.ErrUnderrun) {
			t.Errorf("after the backlog: %v, want ErrUnderrun", err)
		}
	})
}

func TestPartialWritesMakeWholeFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		a := r.answer("+79161234567")
		f1, f2 := testFrame(1), testFrame(2)
		stream := append(append([]byte{}, f1...), f2...)
		go func() {
			for _, n := range []int{1, 100, 219, 7, 313} { // 640 bytes in odd pieces
				r.sendFrame(stream[:n])
				stream = stream[n:]
			}
		}()
		p := make([]byte, frameBytes)
		for _, want := range [][]byte{f1, f2} {
			if err := a.ReadFrame(p); err != nil || !bytes.Equal(p, want) {
				t.Fatalf("ReadFrame = %v, frame %x...", err, p[:4])
			}
		}
	})
}

func TestStaleAudioDroppedAtAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		var wg sync.WaitGroup
		wg.Go(func() {
			r.sendFrame(bytes.Repeat([]byte{0x55}, 1001)) // left over, not frame aligned
		})
		synctest.Wait()
		a := r.answer("+79161234567")
		wg.Wait()
		f := testFrame(9)
		go r.sendFrame(f)
		p := make([]byte, frameBytes)
		if err := a.ReadFrame(p); err != nil || !bytes.Equal(p, f) {
			t.Fatalf("first frame: %v %x..., want the fresh frame", err, p[:4])
		}
	})
}

func TestFrameSizeChecked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		a := r.answer("+79161234567")
		for _, n := range []int{0, 160, 319, 321, 640} {
			if err := a.ReadFrame(make([]byte, n)); err == nil {
				t.Errorf("ReadFrame with %d bytes succeeded", n)
			}
			if err := a.WriteFrame(make([]byte, n)); err == nil {
				t.Errorf("WriteFrame with %d bytes succeeded", n)
			}
		}
	})
}

func TestAudioPortFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		a := r.answer("+79161234567")
		r.audio.Close()
		err := a.ReadFrame(make([]byte, frameBytes))
		if err == nil || errors.Is(err, hw.ErrUnderrun) || !errors.Is(err, io.EOF) {
			t.Errorf("ReadFrame on a dead port = %v, want the port's error", err)
		}
	})
}

// tickPort is an audio port for allocation tests: each token on tick lets one 320-byte frame be
// read; writes vanish. Nothing in it allocates.
type tickPort struct {
	tick   chan struct{}
	closed chan struct{}
	frame  [frameBytes]byte
}

func newTickPort() *tickPort {
	return &tickPort{tick: make(chan struct{}), closed: make(chan struct{})}
}

func (p *tickPort) Read(b []byte) (int, error) {
	select {
	case <-p.tick:
		return copy(b, p.frame[:]), nil
	case <-p.closed:
		return 0, io.EOF
	}
}

func (p *tickPort) Write(b []byte) (int, error) { return len(b), nil }

// startTickAudio runs a call's audio on a tickPort, as Answer does.
func startTickAudio(tb testing.TB) (*callAudio, *tickPort) {
	port := newTickPort()
	a := newCallAudio("gsm1", port, slog.New(slog.DiscardHandler))
	go a.readLoop()
	tb.Cleanup(func() {
		a.stop()
		close(port.closed)
		<-a.readerDone
	})
	return a, port
}

// readFrame reads the next real frame, riding out underruns (the machine may be busy).
func readFrame(tb testing.TB, a hw.Audio, p []byte) {
	for {
		err := a.ReadFrame(p)
		if err == nil {
			return
		}
		if !errors.Is(err, hw.ErrUnderrun) {
			tb.Fatal(err)
		}
	}
}

func TestFramePathAllocatesNothing(t *testing.T) {
	a, port := startTickAudio(t)
	in := make([]byte, frameBytes)
	out := make([]byte, frameBytes)
	allocs := testing.AllocsPerRun(500, func() {
		port.tick <- struct{}{}
		readFrame(t, a, in)
		if err := a.WriteFrame(out); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ReadFrame+WriteFrame allocate %v times per frame, want 0", allocs)
	}
	// The underrun path, too.
	allocs = testing.AllocsPerRun(5, func() {
		if err := a.ReadFrame(in); !errors.Is(err, hw.ErrUnderrun) {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("underrun allocates %v times, want 0", allocs)
	}
}

func BenchmarkFrame(b *testing.B) {
	a, port := startTickAudio(b)
	in := make([]byte, frameBytes)
	out := make([]byte, frameBytes)
	b.ReportAllocs()
	b.SetBytes(2 * frameBytes)
	for b.Loop() {
		port.tick <- struct{}{}
		readFrame(b, a, in)
		if err := a.WriteFrame(out); err != nil {
			b.Fatal(err)
		}
	}
}
