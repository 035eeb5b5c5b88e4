package framering

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"hotline/hw"
)

// frame is a test frame of n bytes whose content tells seed apart.
func frame(n int, seed byte) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = seed + byte(i)
	}
	return f
}

// put writes f into the ring as the producer does.
func put(r *Ring, f []byte) {
	copy(r.Buffer(), f)
	r.Publish()
}

func TestUnderrunClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := New(hw.S16LE)
		p := bytes.Repeat([]byte{0xAA}, r.FrameBytes())

		// Nothing from the device: the first underrun 60 ms after New, then every 20 ms.
		start := time.Now()
		for i, want := range []time.Duration{60, 80, 100, 120} {
			if err := r.Read(p, nil, nil); !errors.Is(err, hw.ErrUnderrun) {
				t.Fatalf("read %d: %v, want ErrUnderrun", i, err)
			}
			if d := time.Since(start); d != want*time.Millisecond {
				t.Errorf("underrun %d at %v, want %v", i, d, want*time.Millisecond)
			}
			if !bytes.Equal(p, make([]byte, len(p))) {
				t.Fatalf("underrun %d did not fill silence", i)
			}
		}

		// A frame is returned as soon as it is there.
		time.Sleep(5 * time.Millisecond)
		f := frame(r.FrameBytes(), 7)
		go func() {
			time.Sleep(3 * time.Millisecond)
			put(r, f)
		}()
		if err := r.Read(p, nil, nil); err != nil || !bytes.Equal(p, f) {
			t.Fatalf("Read = %v, frame %x...", err, p[:4])
		}
		at := time.Now()
		if d := at.Sub(start); d != 128*time.Millisecond {
			t.Errorf("frame returned at %v, want 128ms (when it came)", d)
		}
		// The next underrun counts from that frame.
		if err := r.Read(p, nil, nil); !errors.Is(err, hw.ErrUnderrun) {
			t.Fatalf("got %v, want ErrUnderrun", err)
		}
		if d := time.Since(at); d != FirstUnderrun {
			t.Errorf("underrun after a frame at %v, want %v", d, FirstUnderrun)
		}

		// A late consumer gets one underrun at once, then the cadence resumes.
		time.Sleep(time.Second)
		at = time.Now()
		if err := r.Read(p, nil, nil); !errors.Is(err, hw.ErrUnderrun) || time.Since(at) != 0 {
			t.Errorf("late read: %v after %v", err, time.Since(at))
		}
		if err := r.Read(p, nil, nil); !errors.Is(err, hw.ErrUnderrun) || time.Since(at) != UnderrunEvery {
			t.Errorf("next read: %v after %v", err, time.Since(at))
		}
	})
}

func TestSilencePerFormat(t *testing.T) {
	for _, tt := range []struct {
		f     hw.AudioFormat
		bytes int
		fill  byte
	}{
		{hw.S16LE, 320, 0x00},
		{hw.U8, 160, 0x80},
		{hw.ULaw, 160, 0xff},
		{hw.ALaw, 160, 0xd5},
	} {
		t.Run(tt.f.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := New(tt.f)
				if r.FrameBytes() != tt.bytes || len(r.Buffer()) != tt.bytes {
					t.Fatalf("frame of %d bytes (buffer %d), want %d", r.FrameBytes(), len(r.Buffer()), tt.bytes)
				}
				r.Release()
				p := make([]byte, tt.bytes)
				if err := r.Read(p, nil, nil); !errors.Is(err, hw.ErrUnderrun) {
					t.Fatalf("Read = %v, want ErrUnderrun", err)
				}
				if want := bytes.Repeat([]byte{tt.fill}, tt.bytes); !bytes.Equal(p, want) {
					t.Errorf("silence %x..., want %x...", p[:4], want[:4])
				}
			})
		})
	}
}

func TestLaggingConsumerLosesOldestFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := New(hw.U8)
		const sent = Frames + 3
		for i := range byte(sent) {
			put(r, frame(r.FrameBytes(), i))
		}
		if n := r.Dropped(); n != sent-Frames-1 {
			// Frames+1 buffers: the first overwrite comes with the Frames+2nd frame.
			t.Errorf("Dropped = %d, want %d", n, sent-Frames-1)
		}
		p := make([]byte, r.FrameBytes())
		for i := range byte(sent - (sent - Frames - 1)) {
			if err := r.Read(p, nil, nil); err != nil {
				t.Fatal(err)
			}
			if want := frame(r.FrameBytes(), sent-Frames-1+i); !bytes.Equal(p, want) {
				t.Fatalf("frame %d: got %x..., want %x...", i, p[:4], want[:4])
			}
		}
		if err := r.Read(p, nil, nil); !errors.Is(err, hw.ErrUnderrun) {
			t.Errorf("after the backlog: %v, want ErrUnderrun", err)
		}
	})
}

func TestReleaseAndPublishWithoutBuffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := New(hw.S16LE)
		r.Publish() // nothing held: no frame
		r.Release()
		copy(r.Buffer(), frame(r.FrameBytes(), 1))
		r.Release() // not wanted
		b := r.Buffer()
		if again := r.Buffer(); &again[0] != &b[0] {
			t.Error("Buffer twice without Publish gave another frame")
		}
		p := make([]byte, r.FrameBytes())
		if err := r.Read(p, nil, nil); !errors.Is(err, hw.ErrUnderrun) {
			t.Fatalf("Read = %v, want ErrUnderrun (nothing published)", err)
		}
		copy(b, frame(r.FrameBytes(), 2))
		r.Publish()
		if err := r.Read(p, nil, nil); err != nil || !bytes.Equal(p, frame(r.FrameBytes(), 2)) {
			t.Fatalf("Read = %v, frame %x...", err, p[:4])
		}
		for range bufCount * 3 { // every buffer came back: none lost, none dropped
			copy(r.Buffer(), frame(r.FrameBytes(), 3))
			r.Publish()
			if err := r.Read(p, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		if n := r.Dropped(); n != 0 {
			t.Errorf("Dropped = %d, want 0", n)
		}
	})
}

func TestFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := New(hw.ULaw)
		put(r, frame(r.FrameBytes(), 1)) // ringback, before the answer
		put(r, frame(r.FrameBytes(), 2))
		time.Sleep(time.Second)
		r.Flush()
		at := time.Now()
		p := make([]byte, r.FrameBytes())
		if err := r.Read(p, nil, nil); !errors.Is(err, hw.ErrUnderrun) {
			t.Fatalf("Read after Flush = %v, want ErrUnderrun", err)
		}
		if d := time.Since(at); d != FirstUnderrun {
			t.Errorf("first underrun %v after Flush, want %v", d, FirstUnderrun)
		}
		put(r, frame(r.FrameBytes(), 3))
		if err := r.Read(p, nil, nil); err != nil || !bytes.Equal(p, frame(r.FrameBytes(), 3)) {
			t.Fatalf("Read = %v %x..., want the frame after Flush", err, p[:4])
		}
	})
}

func TestStopAndFail(t *testing.T) {
	for _, tt := range []struct {
		name       string
		stop, fail bool
		waiting    bool // a frame waits when the read starts
		want       error
	}{
		{"stopped", true, false, false, ErrStopped},
		{"stop wins over a waiting frame", true, false, true, ErrStopped},
		{"stop wins over fail", true, true, false, ErrStopped},
		{"failed", false, true, false, ErrFailed},
		{"a waiting frame before the failure", false, true, true, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := New(hw.S16LE)
				stop, fail := make(chan struct{}), make(chan struct{})
				if tt.stop {
					close(stop)
				}
				if tt.fail {
					close(fail)
				}
				if tt.waiting {
					put(r, frame(r.FrameBytes(), 1))
				}
				if err := r.Read(make([]byte, r.FrameBytes()), stop, fail); err != tt.want {
					t.Errorf("Read = %v, want %v", err, tt.want)
				}
			})
		})
	}
}

func TestStopWakesBlockedRead(t *testing.T) {
	for _, which := range []string{"stop", "fail"} {
		t.Run(which, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := New(hw.S16LE)
				stop, fail := make(chan struct{}), make(chan struct{})
				errc := make(chan error, 1)
				go func() {
					p := make([]byte, r.FrameBytes())
					for {
						if err := r.Read(p, stop, fail); !errors.Is(err, hw.ErrUnderrun) {
							errc <- err
							return
						}
					}
				}()
				time.Sleep(70 * time.Millisecond) // mid-wait for the second underrun
				start := time.Now()
				want := ErrStopped
				if which == "stop" {
					close(stop)
				} else {
					close(fail)
					want = ErrFailed
				}
				if err := <-errc; err != want {
					t.Errorf("blocked Read = %v, want %v", err, want)
				}
				if d := time.Since(start); d != 0 {
					t.Errorf("woke after %v, want at once", d)
				}
			})
		})
	}
}

// TestProducerAndConsumer runs both sides at once (under -race): every frame the consumer gets
// is whole, and they come in order.
func TestProducerAndConsumer(t *testing.T) {
	r := New(hw.S16LE)
	const n = 2000
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			b := r.Buffer()
			for j := range b {
				b[j] = byte(i)
			}
			b[0], b[1] = byte(i), byte(i>>8)
			r.Publish()
			if i%64 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	})
	p := make([]byte, r.FrameBytes())
	last, got := -1, 0
	deadline := time.Now().Add(time.Minute)
	for got+int(r.Dropped()) < n && time.Now().Before(deadline) {
		err := r.Read(p, stop, nil)
		if errors.Is(err, hw.ErrUnderrun) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		i := int(p[0]) | int(p[1])<<8
		if !bytes.Equal(p[2:], bytes.Repeat([]byte{byte(i)}, len(p)-2)) {
			t.Fatalf("torn frame %x...", p[:8])
		}
		if i <= last {
			t.Fatalf("frame %d after frame %d", i, last)
		}
		last = i
		got++
	}
	wg.Wait()
	close(stop)
	if got+int(r.Dropped()) != n {
		t.Errorf("read %d + dropped %d frames, want %d", got, r.Dropped(), n)
	}
}

func TestFramePathAllocatesNothing(t *testing.T) {
	r := New(hw.S16LE)
	in := frame(r.FrameBytes(), 5)
	p := make([]byte, r.FrameBytes())
	stop := make(chan struct{})
	allocs := testing.AllocsPerRun(500, func() {
		copy(r.Buffer(), in)
		r.Publish()
		if err := r.Read(p, stop, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Buffer+Publish+Read allocate %v times per frame, want 0", allocs)
	}
	// The underrun path, which waits on the timer, too.
	allocs = testing.AllocsPerRun(5, func() {
		if err := r.Read(p, stop, nil); !errors.Is(err, hw.ErrUnderrun) {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("underrun allocates %v times, want 0", allocs)
	}
}

func BenchmarkFrame(b *testing.B) {
	r := New(hw.S16LE)
	in := frame(r.FrameBytes(), 5)
	p := make([]byte, r.FrameBytes())
	b.ReportAllocs()
	b.SetBytes(int64(r.FrameBytes()))
	for b.Loop() {
		copy(r.Buffer(), in)
		r.Publish()
		if err := r.Read(p, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// Waited is each frame's own time in the ring, from Publish to Read; an underrun's is zero,
// and a device's pause before a frame is not in it.
func TestWaited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := New(hw.S16LE)
		p := make([]byte, r.FrameBytes())
		put(r, frame(r.FrameBytes(), 1))
		time.Sleep(5 * time.Millisecond)
		put(r, frame(r.FrameBytes(), 2))
		time.Sleep(7 * time.Millisecond)
		for _, want := range []time.Duration{12 * time.Millisecond, 7 * time.Millisecond} {
			if err := r.Read(p, nil, nil); err != nil {
				t.Fatal(err)
			}
			if got := r.Waited(); got != want {
				t.Errorf("Waited = %v, want %v", got, want)
			}
		}
		if err := r.Read(p, nil, nil); !errors.Is(err, hw.ErrUnderrun) {
			t.Fatalf("empty ring: %v, want ErrUnderrun", err)
		}
		if got := r.Waited(); got != 0 {
			t.Errorf("Waited after an underrun = %v, want 0", got)
		}
		// The device pauses 200 ms, then the frame is read at once: it waited no time.
		go func() {
			time.Sleep(200 * time.Millisecond)
			put(r, frame(r.FrameBytes(), 3))
		}()
		for {
			err := r.Read(p, nil, nil)
			if err == nil {
				break
			}
			if !errors.Is(err, hw.ErrUnderrun) {
				t.Fatal(err)
			}
		}
		if got := r.Waited(); got != 0 {
			t.Errorf("Waited after the device's pause = %v, want 0", got)
		}
	})
}
