package daemon

import (
	"context"
	"io"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"hotline/daemon/browserline"
	"hotline/voice"
	"hotline/voice/tone"
)

// scriptedBrowser is the owner's browser on the test-call page: it says what script holds, 20 ms
// a frame on the clock, keeps what the box sends, and hangs up at the end of the script.
type scriptedBrowser struct {
	script []int16
	pos    int
	mu     sync.Mutex
	heard  int // frames from the box with sound
}

func (b *scriptedBrowser) ReadFrame(p []byte) error {
	time.Sleep(voice.FrameDuration)
	if b.pos >= len(b.script) {
		return browserline.ErrHangup
	}
	var f voice.Frame
	n := copy(f[:], b.script[b.pos:])
	b.pos += n
	voice.EncodeS16LE(p, f[:])
	return nil
}

func (b *scriptedBrowser) WriteFrame(p []byte) error {
	var f voice.Frame
	voice.DecodeS16LE(f[:], p)
	if tone.LevelDBm0(f[:]) > -40 {
		b.mu.Lock()
		b.heard++
		b.mu.Unlock()
	}
	return nil
}

func (b *scriptedBrowser) Close() error { return nil }

// The test call from the admin page runs through the real switchboard and the default flow: the
// browser hears the greeting, presses 0 as a real tone, and — with nobody to take it — leaves a
// message that is logged like any call's.
func TestBrowserTestCall(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	h, err := Open(ctx, Config{DataDir: t.TempDir(), Now: workingHours, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.Run(ctx) })
	defer func() { cancel(); wg.Wait(); h.Close() }()

	key, err := tone.DTMF('0', 120*time.Millisecond, -8)
	if err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) int { return tone.Samples(d) }
	script := make([]int16, at(40*time.Second))
	copy(script[at(12*time.Second):], key) // after the greeting and the menu
	for i := at(20 * time.Second); i < at(30*time.Second); i++ {
		script[i] = int16(8000 * math.Sin(2*math.Pi*300*float64(i)/voice.Rate))
	}
	b := &scriptedBrowser{script: script}
	ends, cancelSub := h.Board.Subscribe()
	defer cancelSub()
	if err := h.Browser.Call(ctx, b); err != nil {
		t.Fatalf("test call: %v", err)
	}
	var id int64
	select {
	case e := <-ends:
		id = e.CallID
	case <-time.After(30 * time.Second):
		t.Fatal("no call record")
	}
	c, err := h.Store.Call(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.LineID != "browser" || c.MenuPath != "0" || c.Outcome != "voicemail" || c.VoicemailID == 0 {
		t.Errorf("test call record: line %q keys %q outcome %q voicemail %d (path %s)", c.LineID, c.MenuPath, c.Outcome, c.VoicemailID, c.Nodes)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.heard < 100 {
		t.Errorf("the browser heard %d frames of sound, want the greeting and menu", b.heard)
	}
}
