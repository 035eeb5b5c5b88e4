package ivr

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

var (
	msk = func() *time.Location {
		l, err := time.LoadLocation("Europe/Moscow")
		if err != nil {
			panic(err)
		}
		return l
	}()
	mondayNoon   = time.Date(2026, 11, 23, 12, 0, 0, 0, msk)
	saturdayNoon = time.Date(2026, 11, 28, 12, 0, 0, 0, msk)
)

// runFake runs f over e in a synctest bubble and returns the result and the virtual time the
// call took.
func runFake(t *testing.T, f *Flow, e *fakeEnv) (res Result, took time.Duration) {
	t.Helper()
	if e.now.IsZero() {
		e.now = mondayNoon
	}
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		e.cancel = cancel
		start := time.Now()
		res = Run(ctx, f, e)
		took = time.Since(start)
	})
	return res, took
}

func path(ids string) []string { return strings.Fields(ids) }

// TestRunDefault: scripted callers through the first-run flow, on a box with no operator
// registered unless a Connect is scripted.
func TestRunDefault(t *testing.T) {
	answer := Connected{Answered: true, By: "anna", Wait: 5 * time.Second, Talk: time.Minute}
	for _, tt := range []struct {
		name     string
		env      fakeEnv
		outcome  Outcome
		path     string
		digits   string
		played   string // prompts, in order; "" not checked
		took     time.Duration
		check    func(t *testing.T, r Result, e *fakeEnv)
		fallback bool
	}{
		{name: "0 during the greeting, no operator: voicemail", env: fakeEnv{script: "0"},
			outcome: OutcomeVoicemail, path: "hours greeting menu operators busy bye", digits: "0",
			played: "greeting connecting all_busy goodbye", took: 1*time.Second + 3*3*time.Second + 20*time.Second},
		{name: "0 during the menu, no operator: voicemail", env: fakeEnv{script: ".0"},
			outcome: OutcomeVoicemail, path: "hours greeting menu operators busy bye", digits: "0",
			played: "greeting menu connecting all_busy goodbye"},
		{name: "0 after the menu", env: fakeEnv{script: "..0"},
			outcome: OutcomeVoicemail, path: "hours greeting menu operators busy bye", digits: "0"},
		{name: "1, then hang up during the information: completed", env: fakeEnv{script: "1H"},
			outcome: OutcomeCompleted, path: "hours greeting menu about", digits: "1", played: "greeting about"},
		{name: "1, information, then silence: voicemail", env: fakeEnv{script: "1"},
			outcome: OutcomeVoicemail, path: "hours greeting menu about menu voicemail bye", digits: "1",
			played: "greeting about menu menu voicemail goodbye"},
		{name: "1 twice, then 0", env: fakeEnv{script: ".1.10"},
			outcome: OutcomeVoicemail, path: "hours greeting menu about menu about menu operators busy bye", digits: "110"},
		{name: "silent caller: voicemail after two tries", env: fakeEnv{},
			outcome: OutcomeVoicemail, path: "hours greeting menu voicemail bye",
			played: "greeting menu menu voicemail goodbye",
			took:   3*time.Second + 2*(3+5)*time.Second + 3*time.Second + 20*time.Second + 3*time.Second},
		{name: "a wrong key, then 1", env: fakeEnv{script: "91H"},
			outcome: OutcomeCompleted, path: "hours greeting menu about", digits: "91", played: "greeting invalid menu about"},
		{name: "two wrong keys: voicemail", env: fakeEnv{script: "9.9"},
			outcome: OutcomeVoicemail, path: "hours greeting menu voicemail bye", digits: "99",
			played: "greeting invalid menu invalid voicemail goodbye"},
		{name: "after hours: voicemail", env: fakeEnv{now: saturdayNoon, script: "1"},
			outcome: OutcomeVoicemail, path: "hours after_hours voicemail bye", played: "after_hours voicemail goodbye",
			check: func(t *testing.T, r Result, e *fakeEnv) {
				if e.script != "1" {
					t.Errorf("the after-hours message took a key: %q left", e.script)
				}
			}},
		{name: "closed by the owner", env: fakeEnv{override: "closed"},
			outcome: OutcomeVoicemail, path: "hours after_hours voicemail bye"},
		{name: "opened by the owner on a Saturday", env: fakeEnv{now: saturdayNoon, override: "open", script: "1H"},
			outcome: OutcomeCompleted, path: "hours greeting menu about", digits: "1"},
		{name: "an operator answers: answered, with a score", env: fakeEnv{script: "04", connects: []Connected{answer}},
			outcome: OutcomeAnswered, path: "hours greeting menu operators survey bye", digits: "04",
			played: "greeting connecting survey survey_thanks goodbye",
			check: func(t *testing.T, r Result, e *fakeEnv) {
				if r.AnsweredBy != "anna" || r.Talk != time.Minute || r.QueueWait != 5*time.Second || r.Survey != 4 {
					t.Errorf("result %+v", r)
				}
				if !slices.Equal(e.scores, []int{4}) {
					t.Errorf("scores stored: %v", e.scores)
				}
				want := Connect{Node: "operators", Strategy: RingAll, Ring: 20 * time.Second, Queue: true,
					MaxWait: time.Minute, Announce: 30 * time.Second, LeaveKey: '0'}
				if len(e.connected) != 1 || !equalConnect(e.connected[0], want) {
					t.Errorf("connect %+v, want %+v", e.connected, want)
				}
			}},
		{name: "the caller hangs up after the talk: still answered", env: fakeEnv{script: "0", connects: []Connected{answer}, hangUpOn: "survey"},
			outcome: OutcomeAnswered, path: "hours greeting menu operators survey", digits: "0"},
		{name: "hang-up during the greeting: abandoned", env: fakeEnv{script: "H"},
			outcome: OutcomeAbandoned, path: "hours greeting"},
		{name: "hang-up during the menu: abandoned", env: fakeEnv{script: ".H"},
			outcome: OutcomeAbandoned, path: "hours greeting menu"},
		{name: "hang-up in the queue: missed", env: fakeEnv{script: "0", hangUpInConnect: true},
			outcome: OutcomeMissed, path: "hours greeting menu operators", digits: "0",
			check: func(t *testing.T, r Result, e *fakeEnv) {
				if r.QueueWait != 10*time.Second {
					t.Errorf("queue wait %v", r.QueueWait)
				}
			}},
		{name: "hang-up right after nobody answered: missed", env: fakeEnv{script: "0", hangUpOn: "all_busy"},
			outcome: OutcomeMissed, path: "hours greeting menu operators busy", digits: "0"},
		{name: "0 again in the queue: voicemail", env: fakeEnv{script: "0", connects: []Connected{{Left: true, Wait: 30 * time.Second}}},
			outcome: OutcomeVoicemail, path: "hours greeting menu operators voicemail bye", digits: "00",
			played: "greeting connecting voicemail goodbye"},
		{name: "hang-up during the recording: voicemail", env: fakeEnv{hangUpInVoicemail: true, now: saturdayNoon},
			outcome: OutcomeVoicemail, path: "hours after_hours voicemail"},
		{name: "the greeting cannot play: failed", env: fakeEnv{failOn: "greeting"},
			outcome: OutcomeFailed, path: "hours greeting",
			check: func(t *testing.T, r Result, e *fakeEnv) {
				if !errors.Is(r.Err, errDisk) {
					t.Errorf("Err = %v", r.Err)
				}
			}},
		{name: "the voicemail cannot be stored: failed", env: fakeEnv{voicemailErr: errDisk, now: saturdayNoon},
			outcome: OutcomeFailed, path: "hours after_hours voicemail"},
		{name: "the operators cannot be rung: failed", env: fakeEnv{script: "0", connectErr: errDisk},
			outcome: OutcomeFailed, path: "hours greeting menu operators", digits: "0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.env
			r, took := runFake(t, Default("ru"), &e)
			if r.Outcome != tt.outcome {
				t.Errorf("outcome %s, want %s (%+v)", r.Outcome, tt.outcome, r)
			}
			if !slices.Equal(r.Path, path(tt.path)) {
				t.Errorf("path %q, want %q", r.Path, tt.path)
			}
			if r.Digits != tt.digits {
				t.Errorf("digits %q, want %q", r.Digits, tt.digits)
			}
			if tt.played != "" && !slices.Equal(e.played, path(tt.played)) {
				t.Errorf("played %q, want %q", e.played, tt.played)
			}
			if tt.took != 0 && took != tt.took {
				t.Errorf("the call took %v, want %v", took, tt.took)
			}
			if r.Fallback != "" {
				t.Errorf("fell back: %s", r.Fallback)
			}
			if r.Outcome != OutcomeFailed && r.Err != nil {
				t.Errorf("Err = %v", r.Err)
			}
			if tt.check != nil {
				tt.check(t, r, &e)
			}
		})
	}
}

func equalConnect(a, b Connect) bool {
	return slices.Equal(a.Operators, b.Operators) && a.Node == b.Node && a.Strategy == b.Strategy && a.Ring == b.Ring &&
		a.Number == b.Number && a.Record == b.Record && a.Queue == b.Queue && a.MaxWait == b.MaxWait &&
		a.Music == b.Music && a.Announce == b.Announce && a.LeaveKey == b.LeaveKey
}

// TestDefaultLints: the first-run flow is clean on a box with no operators, and every prompt
// it plays is one of the default prompts.
func TestDefaultLints(t *testing.T) {
	for _, lang := range []string{"ru", "en"} {
		f := Default(lang)
		if ps := Lint(f, Known{Prompt: testKnown.Prompt}); len(ps) != 0 {
			t.Errorf("Default(%q): %v", lang, ps)
		}
		if ps := Lint(f, Known{}); len(ps) != 0 {
			t.Errorf("Default(%q) without prompt check: %v", lang, ps)
		}
	}
	if Default("ru").Nodes[1].Title == Default("en").Nodes[1].Title {
		t.Error("the titles are not in the owner's language")
	}
}

func mustParse(t *testing.T, s string) *Flow {
	t.Helper()
	f, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestRunNodes: the kinds of node the default flow does not use, and flows that went wrong.
func TestRunNodes(t *testing.T) {
	for _, tt := range []struct {
		name     string
		flow     string
		env      fakeEnv
		outcome  Outcome
		path     string
		digits   string
		played   string
		fallback string // a substring of Result.Fallback
		check    func(t *testing.T, r Result, e *fakeEnv)
	}{
		{name: "language", flow: `{"start":"l","nodes":[{"id":"l","kind":"language","languages":{"1":"ru","2":"en"},"next":"h"},{"id":"h","kind":"hangup","prompt":"goodbye"}]}`,
			env: fakeEnv{script: "2"}, outcome: OutcomeCompleted, path: "l h", digits: "2", played: "language_choice goodbye",
			check: func(t *testing.T, r Result, e *fakeEnv) {
				if r.Language != "en" || !slices.Equal(e.languages, []string{"en"}) {
					t.Errorf("language %q, set %v", r.Language, e.languages)
				}
			}},
		{name: "language: wrong key, then none", flow: `{"start":"l","nodes":[{"id":"l","kind":"language","languages":{"1":"ru"},"next":"h"},{"id":"h","kind":"hangup"}]}`,
			env: fakeEnv{script: "9"}, outcome: OutcomeCompleted, path: "l h", digits: "9", played: "language_choice invalid language_choice",
			check: func(t *testing.T, r Result, e *fakeEnv) {
				if r.Language != "" || len(e.languages) != 0 {
					t.Errorf("language %q, set %v", r.Language, e.languages)
				}
			}},
		{name: "sms, even when it cannot be sent", flow: `{"start":"s","nodes":[{"id":"s","kind":"sms","text":"Hi","next":"h"},{"id":"h","kind":"hangup","prompt":"sms_sent"}]}`,
			env: fakeEnv{smsErr: errDisk}, outcome: OutcomeCompleted, path: "s h", played: "sms_sent",
			check: func(t *testing.T, r Result, e *fakeEnv) {
				if !slices.Equal(e.sms, []string{"Hi"}) || r.Err != nil {
					t.Errorf("sms %q, err %v", e.sms, r.Err)
				}
			}},
		{name: "callback offer", flow: `{"start":"m","nodes":[
			{"id":"m","kind":"menu","prompt":"callback_offer","choices":{"1":"cb","0":"vm"},"no_input":"vm"},
			{"id":"cb","kind":"callback"},{"id":"vm","kind":"voicemail"}]}`,
			env: fakeEnv{script: "1"}, outcome: OutcomeCallback, path: "m cb", digits: "1", played: "callback_offer callback_done",
			check: func(t *testing.T, r Result, e *fakeEnv) {
				if e.callbacks != 1 {
					t.Errorf("%d callbacks", e.callbacks)
				}
			}},
		{name: "forward", flow: `{"start":"f","nodes":[{"id":"f","kind":"forward","number":"+79001234567","operators":["anna"],"ring_sec":30,"no_answer":"vm"},{"id":"vm","kind":"voicemail","box":"boss"}]}`,
			env:     fakeEnv{connects: []Connected{{Answered: true, By: "+79001234567", Talk: time.Second}}},
			outcome: OutcomeAnswered, path: "f", played: "connecting",
			check: func(t *testing.T, r Result, e *fakeEnv) {
				want := Connect{Node: "f", Number: "+79001234567", Strategy: RingAll, Ring: 30 * time.Second}
				if len(e.connected) != 1 || !equalConnect(e.connected[0], want) || r.AnsweredBy != "+79001234567" {
					t.Errorf("connect %+v, result %+v", e.connected, r)
				}
			}},
		{name: "forward unanswered: the box", flow: `{"start":"f","nodes":[{"id":"f","kind":"forward","number":"+7900","no_answer":"vm"},{"id":"vm","kind":"voicemail","box":"boss","max_length_sec":30}]}`,
			outcome: OutcomeVoicemail, path: "f vm", played: "connecting voicemail",
			check: func(t *testing.T, r Result, e *fakeEnv) {
				if !slices.Equal(e.voicemails, []string{"boss"}) {
					t.Errorf("voicemail boxes %q", e.voicemails)
				}
			}},
		{name: "ring with recording, no answer, hang-up node: missed", flow: `{"start":"r","nodes":[{"id":"r","kind":"ring","record":true,"operators":["anna","boris"],"strategy":"order","no_answer":"h"},{"id":"h","kind":"hangup","prompt":"goodbye"}]}`,
			outcome: OutcomeMissed, path: "r h", played: "recording_notice connecting goodbye",
			check: func(t *testing.T, r Result, e *fakeEnv) {
				want := Connect{Node: "r", Operators: []string{"anna", "boris"}, Strategy: RingInOrder, Ring: DefaultRing, Record: true}
				if len(e.connected) != 1 || !equalConnect(e.connected[0], want) {
					t.Errorf("connect %+v", e.connected)
				}
			}},
		{name: "survey: a wrong key, then 5", flow: `{"start":"s","nodes":[{"id":"s","kind":"survey"}]}`,
			env: fakeEnv{script: "75"}, outcome: OutcomeCompleted, path: "s", digits: "75", played: "survey survey survey_thanks",
			check: func(t *testing.T, r Result, e *fakeEnv) {
				if r.Survey != 5 || !slices.Equal(e.scores, []int{5}) {
					t.Errorf("survey %d, stored %v", r.Survey, e.scores)
				}
			}},
		{name: "survey: two wrong keys", flow: `{"start":"s","nodes":[{"id":"s","kind":"survey","next":"h"},{"id":"h","kind":"hangup"}]}`,
			env: fakeEnv{script: "7#"}, outcome: OutcomeCompleted, path: "s h", digits: "7#", played: "survey survey",
			check: func(t *testing.T, r Result, e *fakeEnv) {
				if r.Survey != 0 || len(e.scores) != 0 {
					t.Errorf("survey %d, stored %v", r.Survey, e.scores)
				}
			}},
		{name: "survey: the score cannot be stored", flow: `{"start":"s","nodes":[{"id":"s","kind":"survey"}]}`,
			env: fakeEnv{script: ".3", surveyErr: errDisk}, outcome: OutcomeCompleted, path: "s", digits: "3", played: "survey survey_thanks"},
		{name: "holiday", flow: `{"start":"h","nodes":[{"id":"h","kind":"schedule","schedule":{"tz":"Europe/Moscow","week":{"mon":["09:00-18:00"]},"holidays":["11-23"]},
			"open":"x","closed":"x","holiday":"hol"},{"id":"x","kind":"hangup"},{"id":"hol","kind":"hangup","prompt":"after_hours"}]}`,
			outcome: OutcomeCompleted, path: "h hol", played: "after_hours"},
		{name: "a message that is a dead end", flow: `{"start":"p","nodes":[{"id":"p","kind":"play","prompt":"about"}]}`,
			outcome: OutcomeVoicemail, path: "p", played: "about voicemail goodbye", fallback: `dead end after "p"`},
		{name: "a way to nowhere", flow: `{"start":"m","nodes":[{"id":"m","kind":"menu","prompt":"menu","choices":{"1":"gone"},"no_input":"gone"}]}`,
			env: fakeEnv{script: "1"}, outcome: OutcomeVoicemail, path: "m", digits: "1", fallback: `no node "gone"`},
		{name: "no start", flow: `{"start":"","nodes":[]}`, outcome: OutcomeVoicemail, fallback: "no start"},
		{name: "an unknown kind", flow: `{"start":"x","nodes":[{"id":"x","kind":"teleport"}]}`, outcome: OutcomeVoicemail, path: "x", fallback: "dead end"},
		{name: "a broken schedule opens", flow: `{"start":"h","nodes":[{"id":"h","kind":"schedule","schedule":{"tz":"Nowhere","week":{}},"open":"o","closed":"c"},
			{"id":"o","kind":"hangup"},{"id":"c","kind":"voicemail"}]}`, outcome: OutcomeCompleted, path: "h o"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.env
			r, _ := runFake(t, mustParse(t, tt.flow), &e)
			if r.Outcome != tt.outcome {
				t.Errorf("outcome %s, want %s (%+v)", r.Outcome, tt.outcome, r)
			}
			if !slices.Equal(r.Path, path(tt.path)) {
				t.Errorf("path %q, want %q", r.Path, tt.path)
			}
			if r.Digits != tt.digits {
				t.Errorf("digits %q, want %q", r.Digits, tt.digits)
			}
			if tt.played != "" && !slices.Equal(e.played, path(tt.played)) {
				t.Errorf("played %q, want %q", e.played, tt.played)
			}
			if !strings.Contains(r.Fallback, tt.fallback) || (tt.fallback == "") != (r.Fallback == "") {
				t.Errorf("fallback %q, want %q", r.Fallback, tt.fallback)
			}
			if tt.check != nil {
				tt.check(t, r, &e)
			}
		})
	}
}

// TestRunStepLimit: a caller who keeps pressing 1 in a lint-clean menu loop is taken to
// voicemail after MaxSteps nodes.
func TestRunStepLimit(t *testing.T) {
	f := mustParse(t, `{"start":"m","nodes":[
		{"id":"m","kind":"menu","prompt":"menu","choices":{"1":"a","0":"q"},"no_input":"vm"},
		{"id":"a","kind":"play","prompt":"about","next":"m"},
		{"id":"q","kind":"queue","no_answer":"vm"},
		{"id":"vm","kind":"voicemail"}]}`)
	if ps := Lint(f, testKnown); len(ps) != 0 {
		t.Fatalf("lint: %v", ps)
	}
	e := &fakeEnv{script: strings.Repeat("1", 1000)}
	r, _ := runFake(t, f, e)
	if r.Outcome != OutcomeVoicemail || len(r.Path) != MaxSteps || !strings.Contains(r.Fallback, "steps") || len(e.voicemails) != 1 {
		t.Errorf("outcome %s after %d steps, fallback %q, voicemails %d", r.Outcome, len(r.Path), r.Fallback, len(e.voicemails))
	}
	if !strings.Contains(e.log.String(), `level=WARN msg="call flow went wrong, taking a message" why="more than 200 steps"`) {
		t.Errorf("not logged:\n%s", e.log.String())
	}
}

// TestRunCancelled: a call whose context is already done does nothing.
func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	e := &fakeEnv{now: mondayNoon, cancel: cancel}
	r := Run(ctx, Default("en"), e)
	if r.Outcome != OutcomeAbandoned || len(r.Path) != 0 || len(e.played) != 0 {
		t.Errorf("%+v, played %v", r, e.played)
	}
	if r := Run(ctx, nil, e); r.Outcome != OutcomeAbandoned {
		t.Errorf("nil flow: %+v", r)
	}
}
