package switchboard

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"hotline/hw"
	"hotline/voice"
)

// gapAudio is a far end whose frames stop for a while mid-call: from its from+1st frame on, n
// reads wait their 20 ms and report hw.ErrUnderrun.
type gapAudio struct {
	*fakeAudio
	reads, from, n int
}

func (a *gapAudio) ReadFrame(p []byte) error {
	a.reads++
	if a.reads <= a.from || a.reads > a.from+a.n {
		return a.fakeAudio.ReadFrame(p)
	}
	select {
	case <-a.closed:
		return hw.ErrNoCall
	case <-time.After(voice.FrameDuration):
	}
	clear(p)
	return hw.ErrUnderrun
}

// gapMobile is a mobileLine whose call's audio stops for n frames 2 s after the answer.
type gapMobile struct {
	mobileLine
	n int
}

func (l *gapMobile) Dial(ctx context.Context, number string) (hw.Audio, error) {
	a, err := l.mobileLine.Dial(ctx, number)
	if err != nil {
		return nil, err
	}
	return &gapAudio{fakeAudio: a.(*fakeAudio), from: 100, n: l.n}, nil
}

// TestMobileLegUnderrunsCounted: the frames the operator's mobile leg did not deliver count in
// the board's underruns, as the caller's do.
func TestMobileLegUnderrunsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const gap = 10
		st := newFakeStore()
		people := &fakePeople{persons: []Person{{Name: "Boris", Mobile: "+79160000001"}}}
		b := New(Options{Store: st, Prompts: testPrompts, VoicemailDir: t.TempDir(), Now: openHours, People: people})
		caller := script(nil).at(2500*time.Millisecond, key(t, '0'))
		line := &fakeLine{ev: make(chan hw.Event, 16), hungUp: make(chan struct{}), audio: &fakeAudio{caller: caller, closed: make(chan struct{})}}
		mobile := &gapMobile{n: gap, mobileLine: mobileLine{fakeLine: fakeLine{id: "test2", ev: make(chan hw.Event, 16), hungUp: make(chan struct{})},
			dialled: make(chan string, 4), talk: 6 * time.Second}}
		ends, cancelSub := b.Subscribe()
		defer cancelSub()
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = b.Serve(ctx, line) })
		wg.Go(func() { _ = b.Serve(ctx, mobile) })
		mobile.ev <- hw.Event{Kind: hw.State, State: "ready"}
		line.ev <- hw.Event{Kind: hw.Ring, Rings: 1, Number: "+79161234567", Time: time.Now()}
		var end CallEnd
		select {
		case end = <-ends:
		case <-time.After(10 * time.Minute):
			t.Fatal("the call never ended")
		}
		if c := st.call(end.CallID); c.outcome != "answered" || c.sum.AnsweredBy != "Boris" {
			t.Fatalf("outcome %q by %q, want answered by Boris", c.outcome, c.sum.AnsweredBy)
		}
		cancel()
		wg.Wait()
		synctest.Wait()
		if n := b.Counters().Underruns; n != gap {
			t.Errorf("underruns %d, want the mobile leg's %d", n, gap)
		}
	})
}
