package switchboard

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"hotline/hw"
	"hotline/voice/ivr"
	"hotline/voice/tone"
)

// phones are operators' SIP phones each of which answers after its own delay (never when
// absent from answer) and talks for talk.
type phones struct {
	persons []Person
	answer  map[string]time.Duration
	talk    time.Duration

	mu   sync.Mutex
	rung [][]string // every RingSIP's users, in order
	legs map[string]*fakeLeg
}

func (p *phones) Available(context.Context, []string, ivr.Strategy, time.Time) ([]Person, error) {
	return p.persons, nil
}

func (p *phones) Called(context.Context, string, time.Time) {}

func (p *phones) RingSIP(ctx context.Context, users []string, _ string) (Leg, string, error) {
	p.mu.Lock()
	p.rung = append(p.rung, slices.Clone(users))
	p.mu.Unlock()
	for _, u := range users {
		d, ok := p.answer[u]
		if !ok {
			continue
		}
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-time.After(d):
		}
		l := newFakeLeg(p.talk)
		p.mu.Lock()
		if p.legs == nil {
			p.legs = map[string]*fakeLeg{}
		}
		p.legs[u] = l
		p.mu.Unlock()
		return l, u, nil
	}
	<-ctx.Done()
	return nil, "", ctx.Err()
}

// rings returns what was rung so far, one entry per ring, users joined by "+".
func (p *phones) rings() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.rung {
		out = append(out, strings.Join(r, "+"))
	}
	return out
}

func (p *phones) leg(user string) *fakeLeg {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.legs[user]
}

// controlCall is oneCall with the board handed to during.
func controlCall(t *testing.T, opts Options, caller script, during func(b *Board, line *fakeLine)) (fakeCall, *fakeLine) {
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
	wg.Go(func() { during(b, line) })
	var end CallEnd
	select {
	case end = <-ends:
	case <-time.After(10 * time.Minute):
		t.Fatal("the call never ended")
	}
	return st.call(end.CallID), line
}

// waitState waits (in the bubble's time, up to two minutes) until the line's call is in state,
// and returns it.
func waitState(t *testing.T, b *Board, lineID string, state CallState) LiveCall {
	t.Helper()
	for range 1200 {
		if lc, ok := b.Call(lineID); ok && lc.State == state {
			return lc
		}
		time.Sleep(100 * time.Millisecond)
	}
	lc, _ := b.Call(lineID)
	t.Errorf("line %s never reached %q (now %q)", lineID, state, lc.State)
	return lc
}

func hungUpByBox(line *fakeLine) bool {
	select {
	case <-line.hungUpChan():
		return true
	default:
		return false
	}
}

// The admin hangs up a call in the menu and one in a conversation: the box hangs up the line
// (and the operator's phone), and the record says the admin ended it.
func TestHangupFromAdmin(t *testing.T) {
	t.Run("in the menu", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var lc LiveCall
			var err error
			c, line := controlCall(t, Options{}, nil, func(b *Board, line *fakeLine) {
				lc = waitState(t, b, "test1", StateMenu)
				time.Sleep(time.Second)
				err = b.Hangup("test1", "owner")
			})
			if err != nil {
				t.Fatalf("Hangup: %v", err)
			}
			if lc.LineID != "test1" || lc.CallID != 1 || lc.Number != "+79161234567" || lc.Since.IsZero() || len(lc.With) != 0 {
				t.Errorf("the call in the menu: %+v", lc)
			}
			if c.sum.EndReason != "ended from the admin by owner" {
				t.Errorf("end reason %q", c.sum.EndReason)
			}
			if !hungUpByBox(line) {
				t.Error("the box did not hang up the line")
			}
		})
	})
	t.Run("talking", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			people := &phones{persons: []Person{{Name: "Anna", SIPUser: "anna"}}, answer: map[string]time.Duration{"anna": 2 * time.Second}, talk: time.Hour}
			var lc LiveCall
			var err error
			c, line := controlCall(t, Options{People: people}, script(nil).at(2500*time.Millisecond, key(t, '0')), func(b *Board, line *fakeLine) {
				lc = waitState(t, b, "test1", StateTalking)
				time.Sleep(3 * time.Second)
				err = b.Hangup("test1", "anna")
			})
			if err != nil {
				t.Fatalf("Hangup: %v", err)
			}
			if !slices.Equal(lc.With, []string{"Anna"}) {
				t.Errorf("talking with %q", lc.With)
			}
			if c.outcome != "answered" || c.sum.AnsweredBy != "Anna" || !strings.Contains(c.sum.EndReason, "ended from the admin by anna") {
				t.Errorf("outcome %q by %q, end reason %q", c.outcome, c.sum.AnsweredBy, c.sum.EndReason)
			}
			if c.sum.Talk < 2*time.Second || c.sum.Talk > 10*time.Second {
				t.Errorf("talk %v", c.sum.Talk)
			}
			leg := people.leg("anna")
			leg.mu.Lock()
			bye := leg.bye
			leg.mu.Unlock()
			if !bye {
				t.Error("the operator's phone was not hung up")
			}
			if !hungUpByBox(line) {
				t.Error("the box did not hang up the line")
			}
		})
	})
}

// The admin transfers a conversation to another operator: the first is hung up, the caller
// hears music while the second's phone rings, then talks with the second.
func TestTransferFromAdmin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		people := &phones{persons: []Person{{Name: "Anna", SIPUser: "anna"}},
			answer: map[string]time.Duration{"anna": 2 * time.Second, "boris": 3 * time.Second}, talk: time.Hour}
		var during, after LiveCall
		var err error
		var heardFrom int
		c, line := controlCall(t, Options{People: people}, script(nil).at(2500*time.Millisecond, key(t, '0')), func(b *Board, line *fakeLine) {
			waitState(t, b, "test1", StateTalking)
			time.Sleep(2 * time.Second)
			heardFrom = len(line.audio.heardSoFar())
			err = b.Transfer(context.Background(), "test1", Person{Name: "Boris", SIPUser: "boris"})
			time.Sleep(time.Second)
			during, _ = b.Call("test1")
			time.Sleep(4 * time.Second)
			after, _ = b.Call("test1")
			time.Sleep(5 * time.Second)
			_ = b.Hangup("test1", "")
		})
		if err != nil {
			t.Fatalf("Transfer: %v", err)
		}
		if got := people.rings(); !slices.Equal(got, []string{"anna", "boris"}) {
			t.Errorf("rung %q, want anna then boris", got)
		}
		if during.State != StateRinging || !slices.Equal(during.With, []string{"Boris"}) {
			t.Errorf("while Boris's phone rang: %+v", during)
		}
		if after.State != StateTalking || !slices.Equal(after.With, []string{"Boris"}) {
			t.Errorf("after Boris answered: %+v", after)
		}
		anna := people.leg("anna")
		anna.mu.Lock()
		bye := anna.bye
		anna.mu.Unlock()
		if !bye {
			t.Error("Anna's phone was not hung up after the transfer")
		}
		// Boris heard the caller's side, and the caller heard Boris's 1 kHz after the music.
		boris := people.leg("boris")
		if boris == nil {
			t.Fatal("Boris's phone never answered")
		}
		if !hasTone(line.audio.heardSoFar()[heardFrom:], 1000) {
			t.Error("the caller did not hear Boris")
		}
		if c.outcome != "answered" || c.sum.AnsweredBy != "Anna" || c.sum.EndReason != "ended from the admin" {
			t.Errorf("outcome %q by %q, end %q", c.outcome, c.sum.AnsweredBy, c.sum.EndReason)
		}
	})
}

// An operator takes a queued caller from the panel: the phones ringing for the call stop and
// only that operator's rings, at once; if they do not answer, the call goes on as the flow says.
func TestTakeFromAdmin(t *testing.T) {
	anna := []Person{{Name: "Anna", SIPUser: "anna"}}
	for _, tc := range []struct {
		name        string
		from        CallState // the call's state when taken
		answer      map[string]time.Duration
		caller      script
		wantOutcome string
		wantBy      string
		wantRings   []string
	}{
		{name: "while Anna's phone rings; Boris answers", from: StateRinging,
			answer: map[string]time.Duration{"boris": 2 * time.Second},
			caller: script(nil).at(2500*time.Millisecond, key(t, '0')), wantOutcome: "answered", wantBy: "Boris",
			wantRings: []string{"anna", "boris"}},
		{name: "between the queue's rounds; Boris answers", from: StateQueue,
			answer: map[string]time.Duration{"boris": 2 * time.Second},
			caller: script(nil).at(2500*time.Millisecond, key(t, '0')), wantOutcome: "answered", wantBy: "Boris",
			wantRings: []string{"anna", "boris"}},
		{name: "Boris does not answer: the queue goes on, then voicemail", from: StateRinging,
			caller:      script(nil).at(2500*time.Millisecond, key(t, '0')).at(70*time.Second, tone.Sine(300, 3*time.Second, -12)),
			wantOutcome: "voicemail", wantRings: []string{"anna", "boris", "anna", "anna"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				people := &phones{persons: anna, answer: tc.answer, talk: 3 * time.Second}
				var before, after LiveCall
				var err error
				c, _ := controlCall(t, Options{People: people}, tc.caller, func(b *Board, line *fakeLine) {
					before = waitState(t, b, "test1", StateRinging)
					if tc.from == StateQueue {
						before = waitState(t, b, "test1", StateQueue) // Anna's ring ran out
					}
					time.Sleep(time.Second)
					err = b.Take(context.Background(), "test1", Person{Name: "Boris", SIPUser: "boris"})
					time.Sleep(time.Second)
					after, _ = b.Call("test1")
				})
				if err != nil {
					t.Fatalf("Take: %v", err)
				}
				if tc.from == StateRinging && !slices.Equal(before.With, []string{"Anna"}) {
					t.Errorf("before: ringing %q", before.With)
				}
				if before.Position != 1 {
					t.Errorf("queue position %d", before.Position)
				}
				if after.State != StateRinging || !slices.Equal(after.With, []string{"Boris"}) {
					t.Errorf("after the take: %+v", after)
				}
				if got := people.rings(); !slices.Equal(got, tc.wantRings) {
					t.Errorf("rung %q, want %q", got, tc.wantRings)
				}
				if c.outcome != tc.wantOutcome || c.sum.AnsweredBy != tc.wantBy {
					t.Errorf("outcome %q by %q, want %q %q (path %s)", c.outcome, c.sum.AnsweredBy, tc.wantOutcome, tc.wantBy, c.sum.Nodes)
				}
			})
		})
	}
}

// Control requests that do not fit the call's state are refused with the right error.
func TestControlErrors(t *testing.T) {
	boris := Person{Name: "Boris", SIPUser: "boris"}
	synctest.Test(t, func(t *testing.T) {
		people := &phones{persons: []Person{{Name: "Anna", SIPUser: "anna"}}, answer: map[string]time.Duration{"anna": 2 * time.Second}, talk: time.Hour}
		ctx := context.Background()
		_, _ = controlCall(t, Options{People: people}, script(nil).at(2500*time.Millisecond, key(t, '0')), func(b *Board, line *fakeLine) {
			check := func(what string, err, want error) {
				t.Helper()
				if !errors.Is(err, want) {
					t.Errorf("%s: %v, want %v", what, err, want)
				}
			}
			check("hang-up of an idle line", b.Hangup("gsm9", ""), ErrNoCall)
			check("transfer on an idle line", b.Transfer(ctx, "gsm9", boris), ErrNoCall)
			check("take on an idle line", b.Take(ctx, "gsm9", boris), ErrNoCall)
			waitState(t, b, "test1", StateMenu)
			check("transfer in the menu", b.Transfer(ctx, "test1", boris), ErrNotTalking)
			check("take in the menu", b.Take(ctx, "test1", boris), ErrNotWaiting)
			check("take of someone without a phone", b.Take(ctx, "test1", Person{Name: "Vera"}), ErrNoPhone)
			waitState(t, b, "test1", StateTalking)
			check("take while talking", b.Take(ctx, "test1", boris), ErrNotWaiting)
			check("transfer to someone without a SIP phone", b.Transfer(ctx, "test1", Person{Name: "Vera", Mobile: "+79160000009"}), ErrNoPhone)
			if calls := b.Calls(); len(calls) != 1 || calls[0].State != StateTalking {
				t.Errorf("Calls() = %+v", calls)
			}
			check("hang-up", b.Hangup("test1", ""), nil)
		})
	})
	// A call the box has not answered yet (it waits for the third ring) cannot be controlled.
	synctest.Test(t, func(t *testing.T) {
		st := newFakeStore()
		st.settings["answer_rings"] = "3"
		b := New(Options{Store: st, Prompts: testPrompts, VoicemailDir: t.TempDir(), Now: openHours})
		line := &fakeLine{ev: make(chan hw.Event, 16), hungUp: make(chan struct{}), audio: &fakeAudio{closed: make(chan struct{})}}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = b.Serve(ctx, line) })
		line.ev <- hw.Event{Kind: hw.Ring, Rings: 1, Number: "+79161234567", Time: time.Now()}
		time.Sleep(time.Second)
		if calls := b.Calls(); len(calls) != 1 || calls[0].State != StateIncoming {
			t.Errorf("Calls() = %+v", calls)
		}
		if err := b.Hangup("test1", ""); !errors.Is(err, ErrNotAnswered) {
			t.Errorf("Hangup of a ringing call: %v", err)
		}
		line.ev <- hw.Event{Kind: hw.Hangup, Cause: "caller hung up"}
		time.Sleep(time.Second)
		if calls := b.Calls(); len(calls) != 0 {
			t.Errorf("Calls() after the end = %+v", calls)
		}
		cancel()
		wg.Wait()
	})
}

// The admin transfers a conversation an operator holds on their mobile (a call on the other
// line) to a SIP phone: the mobile call is hung up, and the caller talks with the SIP phone.
func TestTransferFromMobile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		people := &phones{persons: []Person{{Name: "Boris", Mobile: "+79160000001"}}, answer: map[string]time.Duration{"anna": time.Second}, talk: time.Hour}
		st := newFakeStore()
		b := New(Options{Store: st, Prompts: testPrompts, VoicemailDir: t.TempDir(), Now: openHours, People: people})
		line := &fakeLine{ev: make(chan hw.Event, 16), hungUp: make(chan struct{}), audio: &fakeAudio{caller: script(nil).at(2500*time.Millisecond, key(t, '0')), closed: make(chan struct{})}}
		mobile := &mobileLine{fakeLine: fakeLine{id: "test2", ev: make(chan hw.Event, 16), hungUp: make(chan struct{})}, dialled: make(chan string, 4), talk: 20 * time.Second}
		ends, cancelSub := b.Subscribe()
		defer cancelSub()
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = b.Serve(ctx, line) })
		wg.Go(func() { _ = b.Serve(ctx, mobile) })
		mobile.ev <- hw.Event{Kind: hw.State, State: "ready"}
		line.ev <- hw.Event{Kind: hw.Ring, Rings: 1, Number: "+79161234567", Time: time.Now()}

		onMobile := waitState(t, b, "test1", StateTalking)
		time.Sleep(time.Second)
		if err := b.Transfer(ctx, "test1", Person{Name: "Anna", SIPUser: "anna"}); err != nil {
			t.Fatalf("Transfer: %v", err)
		}
		time.Sleep(3 * time.Second)
		onSIP, _ := b.Call("test1")
		select {
		case <-mobile.hungUp:
		default:
			t.Error("the mobile call was not hung up after the transfer")
		}
		if err := b.Hangup("test1", "owner"); err != nil {
			t.Fatalf("Hangup: %v", err)
		}
		c := st.call((<-ends).CallID)
		if !slices.Equal(onMobile.With, []string{"Boris"}) || onSIP.State != StateTalking || !slices.Equal(onSIP.With, []string{"Anna"}) {
			t.Errorf("before %+v, after %+v", onMobile, onSIP)
		}
		if people.leg("anna") == nil || c.outcome != "answered" || c.sum.AnsweredBy != "Boris" {
			t.Errorf("outcome %q by %q; Anna's phone answered: %v", c.outcome, c.sum.AnsweredBy, people.leg("anna") != nil)
		}
		time.Sleep(30 * time.Second) // the far end's own hang-up (the fake mobile's timer) comes and goes
		cancel()
		wg.Wait()
	})
}
