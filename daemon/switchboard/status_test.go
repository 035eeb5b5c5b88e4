package switchboard

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"hotline/hw"
)

// underrunLine is a fakeLine whose audio misses frames right after its first.
type underrunLine struct {
	*fakeLine
	underruns int
}

func (l *underrunLine) Answer(ctx context.Context) (hw.Audio, error) {
	a, err := l.fakeLine.Answer(ctx)
	return &underrunAudio{fakeAudio: a.(*fakeAudio), n: l.underruns}, err
}

type underrunAudio struct {
	*fakeAudio
	n    int // frames still to miss; the pump goroutine alone reads frames
	read int
}

func (a *underrunAudio) ReadFrame(p []byte) error {
	err := a.fakeAudio.ReadFrame(p)
	if a.read++; err == nil && a.read > 1 && a.n > 0 {
		a.n--
		return hw.ErrUnderrun
	}
	return err
}

// The board tells which line has a call, from whom since when, and counts calls, answers,
// voicemail and audio trouble.
func TestActiveCallAndCounters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newFakeStore()
		st.settings["answer_rings"] = "2"
		b := New(Options{Store: st, Prompts: testPrompts, VoicemailDir: t.TempDir()})
		line := &underrunLine{
			fakeLine:  &fakeLine{ev: make(chan hw.Event, 16), hungUp: make(chan struct{}), audio: &fakeAudio{closed: make(chan struct{})}},
			underruns: 3,
		}
		ends, cancelSub := b.Subscribe()
		defer cancelSub()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- b.Serve(ctx, line) }()

		check := func(step string, want Counters) {
			t.Helper()
			synctest.Wait()
			if got := b.Counters(); got != want {
				t.Errorf("%s: counters %+v, want %+v", step, got, want)
			}
		}
		if _, _, ok := b.ActiveCall("test1"); ok {
			t.Error("idle line has a call")
		}
		check("idle", Counters{})

		first := time.Now()
		line.ev <- hw.Event{Kind: hw.Ring, Rings: 1, Time: first}
		synctest.Wait()
		if n, since, ok := b.ActiveCall("test1"); !ok || n != "" || !since.Equal(first) {
			t.Errorf("ringing: ActiveCall = %q, %v, %v; want \"\", %v, true", n, since, ok, first)
		}
		check("ringing", Counters{CallsTotal: 1, ActiveCalls: 1})
		line.ev <- hw.Event{Kind: hw.CallerID, Number: "<b>+79161234567</b>"}
		synctest.Wait()
		if n, _, _ := b.ActiveCall("test1"); n != "<b>+79161234567</b>" {
			t.Errorf("number learned later: %q", n)
		}
		time.Sleep(3 * time.Second)
		line.ev <- hw.Event{Kind: hw.Ring, Rings: 2, Time: time.Now()}
		time.Sleep(100 * time.Millisecond)
		if _, since, ok := b.ActiveCall("test1"); !ok || !since.Equal(first) {
			t.Errorf("answered: ActiveCall since %v, %v; want the first ring %v", since, ok, first)
		}
		check("answered", Counters{CallsTotal: 1, CallsAnswered: 1, ActiveCalls: 1})
		if _, _, ok := b.ActiveCall("other"); ok {
			t.Error("a line without calls has one")
		}

		// A silent caller ends in voicemail and the box hangs up itself: the line sends no
		// hang-up event, the completed record ends the call.
		select {
		case <-ends:
		case <-time.After(10 * time.Minute):
			t.Fatal("the call never ended")
		}
		if _, _, ok := b.ActiveCall("test1"); ok {
			t.Error("the call is still shown after its end")
		}
		check("voicemail", Counters{CallsTotal: 1, CallsAnswered: 1, Voicemails: 1, Underruns: 3})
		// The line confirms the box's hang-up, as real lines do.
		line.ev <- hw.Event{Kind: hw.Hangup, Cause: "local hang-up"}
		check("hung up", Counters{CallsTotal: 1, CallsAnswered: 1, Voicemails: 1, Underruns: 3})

		// A caller who gives up before the answer: the line's hang-up ends it.
		line.ev <- hw.Event{Kind: hw.Ring, Rings: 1, Number: "+74950000000", Time: time.Now()}
		synctest.Wait()
		if n, _, ok := b.ActiveCall("test1"); !ok || n != "+74950000000" {
			t.Errorf("second call: %q, %v", n, ok)
		}
		line.ev <- hw.Event{Kind: hw.Hangup, Cause: "caller gave up"}
		<-ends
		if _, _, ok := b.ActiveCall("test1"); ok {
			t.Error("the missed call is still shown")
		}
		check("missed", Counters{CallsTotal: 2, CallsAnswered: 1, Voicemails: 1, Underruns: 3})

		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}
