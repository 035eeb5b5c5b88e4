package switchboard

import (
	"cmp"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"hotline/hw"
	"hotline/voice"
	"hotline/voice/ivr"
	"hotline/voice/tone"
	"hotline/voice/wav"
)

// fakeLeg is an operator's SIP phone that answered: it says a 1 kHz tone and keeps what it
// hears; it hangs up after talk.
type fakeLeg struct {
	talk  time.Duration
	start time.Time
	mu    sync.Mutex
	heard []int16
	done  chan struct{}
	once  sync.Once
	phase float64
	bye   bool // the box hung up on it
	held  atomic.Bool
	xfer  chan string
}

func (l *fakeLeg) Held() bool               { return l.held.Load() }
func (l *fakeLeg) Transfers() <-chan string { return l.xfer }

func newFakeLeg(talk time.Duration) *fakeLeg {
	l := &fakeLeg{talk: talk, start: time.Now(), done: make(chan struct{}), xfer: make(chan string, 1)}
	go func() {
		select {
		case <-time.After(talk):
			l.once.Do(func() { close(l.done) })
		case <-l.done:
		}
	}()
	return l
}

func (l *fakeLeg) ReadFrame(ctx context.Context, f *voice.Frame) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(voice.FrameDuration):
	}
	a := tone.Amplitude(-15)
	for i := range f {
		f[i] = int16(a * math.Sin(l.phase))
		l.phase += 2 * math.Pi * 1000 / voice.Rate
	}
	return nil
}

func (l *fakeLeg) WriteFrame(f *voice.Frame) error {
	l.mu.Lock()
	l.heard = append(l.heard, f[:]...)
	l.mu.Unlock()
	return nil
}

func (l *fakeLeg) Done() <-chan struct{} { return l.done }

func (l *fakeLeg) Hangup(context.Context) error {
	l.mu.Lock()
	l.bye = true
	l.mu.Unlock()
	l.once.Do(func() { close(l.done) })
	return nil
}

// fakePeople has one operator; her phone answers after answerAfter (never if 0) and talks for talk.
type fakePeople struct {
	persons     []Person
	answerAfter time.Duration
	talk        time.Duration
	mu          sync.Mutex
	legs        []*fakeLeg
	rung        []string
}

func (p *fakePeople) Available(context.Context, []string, ivr.Strategy, time.Time) ([]Person, error) {
	return p.persons, nil
}

func (p *fakePeople) RingSIP(ctx context.Context, users []string, _ string) (Leg, string, error) {
	p.mu.Lock()
	p.rung = append(p.rung, users...)
	p.mu.Unlock()
	if p.answerAfter == 0 {
		<-ctx.Done()
		return nil, "", ctx.Err()
	}
	select {
	case <-ctx.Done():
		return nil, "", ctx.Err()
	case <-time.After(p.answerAfter):
	}
	p.mu.Lock()
	l := newFakeLeg(p.talk)
	p.legs = append(p.legs, l)
	p.mu.Unlock()
	return l, users[0], nil
}

func (p *fakePeople) Called(context.Context, string, time.Time) {}

// power is the share of x's energy at f (0..1), by a Goertzel filter.
func power(x []int16, f float64) float64 {
	if len(x) == 0 {
		return 0
	}
	c := 2 * math.Cos(2*math.Pi*f/voice.Rate)
	var s1, s2, total float64
	for _, v := range x {
		s := float64(v) + c*s1 - s2
		s2, s1 = s1, s
		total += float64(v) * float64(v)
	}
	if total == 0 {
		return 0
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return 2 * p / (float64(len(x)) * total)
}

// hasTone reports whether some second of x is mostly the tone f.
func hasTone(x []int16, f float64) bool {
	for at := 0; at+voice.Rate <= len(x); at += voice.Rate / 4 {
		if power(x[at:at+voice.Rate], f) > 0.5 {
			return true
		}
	}
	return false
}

type connectCase struct {
	name        string
	people      *fakePeople
	caller      script
	hangupAt    time.Duration
	wantOutcome string
	wantBy      string
	wantSurvey  int
	wantVM      bool
}

func TestConnect(t *testing.T) {
	anna := []Person{{Name: "Anna", SIPUser: "anna"}}
	voiceTone := tone.Sine(300, 3*time.Second, -12)
	// Prompts are 1 s each: greeting 0-1 s, menu 1-2 s, 0 at 2.5 s, "connecting" until about
	// 3.6 s, then ringing.
	tests := []connectCase{
		{name: "an operator answers, talks, the caller rates 4",
			people:      &fakePeople{persons: anna, answerAfter: 2 * time.Second, talk: 5 * time.Second},
			caller:      script(nil).at(2500*time.Millisecond, key(t, '0')).at(6*time.Second, voiceTone).at(12500*time.Millisecond, key(t, '4')),
			wantOutcome: "answered", wantBy: "Anna", wantSurvey: 4},
		{name: "the caller hangs up while talking",
			people:   &fakePeople{persons: anna, answerAfter: 2 * time.Second, talk: time.Minute},
			caller:   script(nil).at(2500*time.Millisecond, key(t, '0')).at(6*time.Second, voiceTone),
			hangupAt: 10 * time.Second, wantOutcome: "answered", wantBy: "Anna"},
		{name: "nobody answers: the queue ends in voicemail",
			people:      &fakePeople{persons: anna},
			caller:      script(nil).at(2500*time.Millisecond, key(t, '0')).at(70*time.Second, voiceTone),
			wantOutcome: "voicemail", wantVM: true},
		{name: "the caller leaves the queue with 0",
			people:      &fakePeople{persons: anna},
			caller:      script(nil).at(2500*time.Millisecond, key(t, '0')).at(10*time.Second, key(t, '0')).at(13*time.Second, voiceTone),
			wantOutcome: "voicemail", wantVM: true},
		{name: "nobody registered: 0 goes straight to voicemail",
			people:      &fakePeople{},
			caller:      script(nil).at(2500*time.Millisecond, key(t, '0')).at(5*time.Second, voiceTone),
			wantOutcome: "voicemail", wantVM: true},
		{name: "the caller hangs up in the queue",
			people: &fakePeople{persons: anna}, caller: script(nil).at(2500*time.Millisecond, key(t, '0')),
			hangupAt: 20 * time.Second, wantOutcome: "missed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runConnect(t, tc) })
		})
	}
}

func runConnect(t *testing.T, tc connectCase) {
	st := newFakeStore()
	b := New(Options{Store: st, Prompts: testPrompts, VoicemailDir: t.TempDir(), Now: openHours, People: tc.people})
	line := &fakeLine{ev: make(chan hw.Event, 16), hungUp: make(chan struct{}), audio: &fakeAudio{caller: tc.caller, closed: make(chan struct{})}}
	ends, cancelSub := b.Subscribe()
	defer cancelSub()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Serve(ctx, line) }()
	line.ev <- hw.Event{Kind: hw.Ring, Rings: 1, Number: "+79161234567", Time: time.Now()}
	if tc.hangupAt > 0 {
		go func() {
			time.Sleep(tc.hangupAt)
			close(line.audio.closed)
			line.ev <- hw.Event{Kind: hw.Hangup, Cause: "caller hung up"}
		}()
	}
	var end CallEnd
	select {
	case end = <-ends:
	case <-time.After(10 * time.Minute):
		t.Fatal("the call never ended")
	}
	c := st.call(end.CallID)
	if c.outcome != tc.wantOutcome || c.sum.AnsweredBy != tc.wantBy || c.sum.Survey != tc.wantSurvey || (c.vm != 0) != tc.wantVM {
		t.Errorf("outcome %q by %q survey %d voicemail %d; want %q %q %d %v (path %s)",
			c.outcome, c.sum.AnsweredBy, c.sum.Survey, c.vm, tc.wantOutcome, tc.wantBy, tc.wantSurvey, tc.wantVM, c.sum.Nodes)
	}
	if tc.wantBy != "" {
		p := tc.people
		if len(p.legs) != 1 {
			t.Fatalf("%d phones answered", len(p.legs))
		}
		leg := p.legs[0]
		leg.mu.Lock()
		heard := leg.heard
		bye := leg.bye
		leg.mu.Unlock()
		// The operator heard the caller's voice (300 Hz, from 6 s; the phone answered at ~5.6 s).
		from := int((500 * time.Millisecond).Seconds() * voice.Rate)
		if len(heard) < from+8000 || power(heard[from:from+8000], 300) < 0.5 {
			t.Errorf("the operator did not hear the caller (%d samples)", len(heard))
		}
		// The caller heard the operator's 1 kHz tone while they talked.
		played := line.audio.heard
		at := int((7 * time.Second).Seconds() * voice.Rate)
		if len(played) < at+8000 || power(played[at:at+8000], 1000) < 0.5 {
			t.Errorf("the caller did not hear the operator")
		}
		if tc.hangupAt > 0 && !bye {
			t.Error("the caller hung up but the operator's phone was not hung up")
		}
		if c.sum.Talk < 3*time.Second || c.sum.QueueWait < time.Second {
			t.Errorf("talk %v, wait %v", c.sum.Talk, c.sum.QueueWait)
		}
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Serve: %v", err)
	}
}

// mobileLine is a second line on which the box calls an operator's mobile: the operator hears
// the announcement, presses 1 (as a real DTMF tone), says a 1 kHz tone, and hangs up after talk.
type mobileLine struct {
	fakeLine
	dialled chan string
	talk    time.Duration
	noKey   bool
	// reportKey: the modem reports the operator's 1 itself (an event, no tone in the audio).
	reportKey bool
	freq      float64 // what the far end says (default 1 kHz)

	dialMu    sync.Mutex
	dialTimes []time.Time // when the box dialled
	boxHangup func()      // the box hangs up the call dialled last
}

// reportKeyAt is how long after the answer the line reports the operator's key.
func (l *mobileLine) reportKeyAt() time.Duration {
	if l.reportKey {
		return 1500 * time.Millisecond
	}
	return 0
}

func (l *mobileLine) Hangup(ctx context.Context) error {
	l.dialMu.Lock()
	if l.boxHangup != nil {
		l.boxHangup()
	}
	l.dialMu.Unlock()
	return l.fakeLine.Hangup(ctx)
}

// dials returns when the box dialled the mobile.
func (l *mobileLine) dials() []time.Time {
	l.dialMu.Lock()
	defer l.dialMu.Unlock()
	return slices.Clone(l.dialTimes)
}

func (l *mobileLine) Dial(ctx context.Context, number string) (hw.Audio, error) {
	l.dialMu.Lock()
	l.dialTimes = append(l.dialTimes, time.Now())
	l.dialMu.Unlock()
	select {
	case l.dialled <- number:
	default: // the test reads the first few
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(3 * time.Second): // ringing
	}
	var op script
	if !l.noKey && !l.reportKey {
		op = script(nil).at(1500*time.Millisecond, key(nil, '1'))
	}
	f := l.freq
	if f == 0 {
		f = 1000
	}
	op = op.at(2*time.Second, tone.Sine(f, l.talk, -15))
	a := &fakeAudio{caller: op, closed: make(chan struct{}), start: time.Now()}
	boxHungUp := make(chan struct{})
	l.dialMu.Lock()
	l.audio, l.boxHangup = a, sync.OnceFunc(func() { close(boxHungUp) })
	l.dialMu.Unlock()
	go func() {
		if l.reportKey {
			select {
			case <-time.After(1500 * time.Millisecond):
				l.ev <- hw.Event{Kind: hw.Digit, Digit: '1'}
			case <-boxHungUp:
				return
			}
		}
		select {
		case <-time.After(2*time.Second + l.talk - l.reportKeyAt()):
			l.ev <- hw.Event{Kind: hw.Hangup, Cause: "operator hung up"}
		case <-boxHungUp:
		}
	}()
	return l.audio, nil
}

func TestConnectToMobile(t *testing.T) {
	for _, tc := range []struct {
		name         string
		noKey        bool
		reportKey    bool
		talk         time.Duration // the operator hangs up this long after 2 s on the phone (default 6 s)
		wantOutcome  string
		wantBy       string
		redialWithin time.Duration // the next dial comes this soon after the operator hung up
	}{
		{name: "the operator presses 1 and talks", wantOutcome: "answered", wantBy: "Boris"},
		{name: "the operator does not press 1", noKey: true, wantOutcome: "voicemail"},
		{name: "the modem reports the operator's 1", reportKey: true, wantOutcome: "answered", wantBy: "Boris"},
		// The box rings again after its pause between rounds (3 s), not after the rest of
		// the ring time.
		{name: "the operator hangs up without pressing 1", noKey: true, talk: 500 * time.Millisecond, wantOutcome: "voicemail", redialWithin: 4 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := newFakeStore()
				people := &fakePeople{persons: []Person{{Name: "Boris", Mobile: "+79160000001"}}}
				b := New(Options{Store: st, Prompts: testPrompts, VoicemailDir: t.TempDir(), Now: openHours, People: people})
				caller := script(nil).at(2500*time.Millisecond, key(t, '0')).at(9*time.Second, tone.Sine(300, 3*time.Second, -12))
				line := &fakeLine{ev: make(chan hw.Event, 16), hungUp: make(chan struct{}), audio: &fakeAudio{caller: caller, closed: make(chan struct{})}}
				talk := cmp.Or(tc.talk, 6*time.Second)
				mobile := &mobileLine{fakeLine: fakeLine{id: "test2", ev: make(chan hw.Event, 16), hungUp: make(chan struct{})}, dialled: make(chan string, 4), talk: talk, noKey: tc.noKey, reportKey: tc.reportKey}
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
				c := st.call(end.CallID)
				if c.outcome != tc.wantOutcome || c.sum.AnsweredBy != tc.wantBy {
					t.Errorf("outcome %q by %q; want %q %q (path %s)", c.outcome, c.sum.AnsweredBy, tc.wantOutcome, tc.wantBy, c.sum.Nodes)
				}
				if n := <-mobile.dialled; n != "+79160000001" {
					t.Errorf("dialled %q", n)
				}
				if tc.redialWithin > 0 {
					d := mobile.dials()
					// The operator hung up 3 s (ringing) + 2 s + talk after the first dial.
					if len(d) < 2 {
						t.Errorf("dialled %d times", len(d))
					} else if gap := d[1].Sub(d[0]) - (5*time.Second + talk); gap > tc.redialWithin {
						t.Errorf("the box rang again %v after the operator hung up, want within %v", gap, tc.redialWithin)
					}
				}
				if tc.wantBy != "" {
					// The operator heard the caller; the caller heard the operator.
					if !hasTone(mobile.audio.heard, 300) {
						t.Errorf("the operator did not hear the caller (%d samples)", len(mobile.audio.heard))
					}
					if !hasTone(line.audio.heard, 1000) {
						t.Error("the caller did not hear the operator")
					}
				}
				select {
				case <-mobile.hungUp:
				default:
					t.Error("the mobile call was not hung up by the box")
				}
				cancel()
				wg.Wait()
			})
		})
	}
}

// The box calls back: it rings the operator's SIP phone first, then the caller on a free line,
// and bridges them; each hears the other.
func TestCallbackRingsOperatorFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		people := &fakePeople{persons: []Person{{Name: "Anna", SIPUser: "anna"}}, answerAfter: time.Second, talk: time.Minute}
		b := New(Options{Store: newFakeStore(), Prompts: testPrompts, VoicemailDir: t.TempDir(), Now: openHours, People: people})
		out := &mobileLine{fakeLine: fakeLine{id: "gsm2", ev: make(chan hw.Event, 16), hungUp: make(chan struct{})},
			dialled: make(chan string, 4), talk: 6 * time.Second, noKey: true, freq: 300}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = b.Serve(ctx, out) })
		out.ev <- hw.Event{Kind: hw.State, State: "ready"}
		time.Sleep(time.Millisecond)

		who, talk, err := b.Callback(ctx, "+79161234567", nil, "ru")
		if err != nil || who != "Anna" || talk < 5*time.Second {
			t.Fatalf("Callback = %q, %v, %v", who, talk, err)
		}
		if n := <-out.dialled; n != "+79161234567" {
			t.Errorf("dialled %q", n)
		}
		if len(people.rung) != 1 || people.rung[0] != "anna" {
			t.Errorf("rung %v", people.rung)
		}
		leg := people.legs[0]
		leg.mu.Lock()
		heard := leg.heard
		leg.mu.Unlock()
		if !hasTone(heard, 300) {
			t.Error("the operator did not hear the caller")
		}
		if !hasTone(out.audio.heard, 1000) {
			t.Error("the caller did not hear the operator")
		}
		// Nobody available: the caller is not called at all.
		people.persons = nil
		if _, _, err := b.Callback(ctx, "+79161234567", nil, "ru"); !errors.Is(err, ErrNobody) {
			t.Errorf("Callback with nobody = %v, want ErrNobody", err)
		}
		select {
		case n := <-out.dialled:
			t.Errorf("called %s with no operator on the line", n)
		default:
		}
		cancel()
		wg.Wait()
	})
}

// An operator whose calls are recorded: the caller hears the notice, and the recording holds
// both sides.
func TestConnectRecordsTheTalk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		people := &fakePeople{persons: []Person{{Name: "Anna", SIPUser: "anna", Record: true}}, answerAfter: 2 * time.Second, talk: 6 * time.Second}
		recDir := t.TempDir()
		caller := script(nil).at(2500*time.Millisecond, key(t, '0')).at(7*time.Second, tone.Sine(300, 3*time.Second, -12))
		c, _ := oneCall(t, Options{RecordingDir: recDir, People: people}, caller, nil)
		if c.outcome != "answered" || c.sum.Recording == "" {
			t.Fatalf("outcome %q recording %q", c.outcome, c.sum.Recording)
		}
		f, err := os.Open(filepath.Join(recDir, c.sum.Recording))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := wav.ReadMono8k(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Duration(len(rec)) * time.Second / voice.Rate; d < 4*time.Second {
			t.Errorf("recording of %v", d)
		}
		if !hasTone(rec, 1000) {
			t.Error("the recording misses the operator")
		}
		// The caller's voice is mixed with the operator's tone: look for it in the mix.
		found := false
		for at := 0; at+voice.Rate <= len(rec); at += voice.Rate / 4 {
			if power(rec[at:at+voice.Rate], 300) > 0.2 {
				found = true
			}
		}
		if !found {
			t.Error("the recording misses the caller")
		}
	})
}

// The operator puts the caller on hold (the caller hears music), then transfers the call to a
// colleague, whose phone rings and takes over.
func TestHoldAndTransfer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		people := &fakePeople{persons: []Person{{Name: "Anna", SIPUser: "anna"}}, answerAfter: 2 * time.Second, talk: time.Minute}
		var anna *fakeLeg
		var holdFrom, holdTo int
		// Wait for Anna's phone, then hold for 3 s, then transfer to boris.
		c, line := oneCall(t, Options{People: people}, script(nil).at(2500*time.Millisecond, key(t, '0')), func(line *fakeLine) {
			for anna == nil {
				time.Sleep(100 * time.Millisecond)
				people.mu.Lock()
				if len(people.legs) > 0 {
					anna = people.legs[0]
				}
				people.mu.Unlock()
			}
			time.Sleep(2 * time.Second)
			holdFrom = len(line.audio.heardSoFar())
			anna.held.Store(true)
			time.Sleep(3 * time.Second)
			holdTo = len(line.audio.heardSoFar())
			anna.held.Store(false)
			people.mu.Lock()
			people.talk = 4 * time.Second
			people.mu.Unlock()
			anna.xfer <- "boris"
		})
		if c.outcome != "answered" || c.sum.AnsweredBy != "Anna" {
			t.Errorf("outcome %q by %q", c.outcome, c.sum.AnsweredBy)
		}
		if len(people.rung) != 2 || people.rung[1] != "boris" {
			t.Errorf("rung %v, want anna then boris", people.rung)
		}
		anna.mu.Lock()
		bye := anna.bye
		anna.mu.Unlock()
		if !bye {
			t.Error("Anna's leg was not hung up after the transfer")
		}
		// On hold the caller heard music: sound, and not the phone's 1 kHz.
		held := line.audio.heardSoFar()[holdFrom+voice.Rate/2 : holdTo]
		if power(held, 1000) > 0.1 || tone.LevelDBm0(held) < -40 {
			t.Errorf("on hold the caller heard %.1f dBm0, 1 kHz share %.2f", tone.LevelDBm0(held), power(held, 1000))
		}
	})
}

// While the box's clock is unset (a board that booted in 1970), the schedule is not trusted:
// the caller gets the menu, not "we are closed".
func TestUnsetClockCountsAsOpen(t *testing.T) {
	for _, unset := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			c, _ := oneCall(t, Options{
				Now:        func() time.Time { return time.Date(1970, 1, 3, 3, 0, 0, 0, time.UTC) }, // a Saturday night
				ClockUnset: func() bool { return unset }}, script(nil).at(2500*time.Millisecond, key(t, '1')), nil)
			heardMenu := strings.Contains(c.sum.Nodes, "menu")
			if heardMenu != unset {
				t.Errorf("clock unset %v: path %s", unset, c.sum.Nodes)
			}
		})
	}
}

// A modem lost mid-call ends the call with the reason in its record.
func TestModemLostIsInTheRecord(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := oneCall(t, Options{}, nil, func(line *fakeLine) {
			time.Sleep(3 * time.Second)
			close(line.audio.closed)
			line.ev <- hw.Event{Kind: hw.Hangup, Cause: hw.CauseModemLost}
		})
		if !strings.Contains(c.sum.EndReason, "modem") {
			t.Errorf("end reason %q", c.sum.EndReason)
		}
	})
}

// oneCall serves one line with opts (the store, prompts, voicemail folder and clock filled in
// when empty) and places a call whose caller follows script; during runs alongside the call
// (nil: nothing). It returns the call's record once complete, and the line.
func oneCall(t *testing.T, opts Options, caller script, during func(l *fakeLine)) (fakeCall, *fakeLine) {
	t.Helper()
	st, _ := opts.Store.(*fakeStore)
	if st == nil {
		st = newFakeStore()
		opts.Store = st
	}
	if opts.Prompts == nil {
		opts.Prompts = testPrompts
	}
	if opts.VoicemailDir == "" {
		opts.VoicemailDir = t.TempDir()
	}
	if opts.Now == nil {
		opts.Now = openHours
	}
	b := New(opts)
	line := &fakeLine{ev: make(chan hw.Event, 16), hungUp: make(chan struct{}), audio: &fakeAudio{caller: caller, closed: make(chan struct{})}}
	ends, cancelSub := b.Subscribe()
	defer cancelSub()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	wg.Go(func() { _ = b.Serve(ctx, line) })
	line.ev <- hw.Event{Kind: hw.Ring, Rings: 1, Number: "+79161234567", Time: time.Now()}
	if during != nil {
		wg.Go(func() { during(line) })
	}
	return st.call((<-ends).CallID), line
}

// A caller who rings after hours and leaves no message gets the owner's SMS, once a day.
func TestAfterHoursSMS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newFakeStore()
		var mu sync.Mutex
		var sent []string
		opts := Options{Store: st,
			Now: func() time.Time { return time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC) }, // a Saturday night in Moscow
			SendSMS: func(_ context.Context, number, text string) error {
				mu.Lock()
				defer mu.Unlock()
				sent = append(sent, number+": "+text)
				return nil
			},
			MissedSMS: func(context.Context) string { return "Мы перезвоним в понедельник." }}
		for range 2 {
			c, _ := oneCall(t, opts, nil, func(line *fakeLine) {
				time.Sleep(500 * time.Millisecond) // hangs up during the after-hours message
				close(line.audio.closed)
				line.ev <- hw.Event{Kind: hw.Hangup, Cause: "caller hung up"}
			})
			if !strings.Contains(c.sum.Nodes, "after_hours") {
				t.Errorf("path %s, want the after-hours message", c.sum.Nodes)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(sent) != 1 || sent[0] != "+79161234567: Мы перезвоним в понедельник." {
			t.Errorf("SMS sent: %q, want one", sent)
		}
	})
}
