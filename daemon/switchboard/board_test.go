package switchboard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"hotline/daemon/store"
	"hotline/hw"
	"hotline/voice"
	"hotline/voice/tone"
	"hotline/voice/wav"
)

// fakeStore keeps the call log in memory.
type fakeStore struct {
	mu        sync.Mutex
	calls     map[int64]*fakeCall
	vms       map[int64]time.Duration
	settings  map[string]string
	callbacks []string
	replied   map[string]bool
}

type fakeCall struct {
	line, number, path, outcome string
	answered, ended             bool
	vm                          int64
	sum                         store.Summary
}

func newFakeStore() *fakeStore {
	return &fakeStore{calls: map[int64]*fakeCall{}, vms: map[int64]time.Duration{}, settings: map[string]string{}, replied: map[string]bool{}}
}

func (s *fakeStore) StartCall(_ context.Context, line, number string, _ time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := int64(len(s.calls) + 1)
	s.calls[id] = &fakeCall{line: line, number: number}
	return id, nil
}

func (s *fakeStore) SetCallNumber(_ context.Context, id int64, number string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls[id].number == "" {
		s.calls[id].number = number
	}
	return nil
}

func (s *fakeStore) AnswerCall(_ context.Context, id int64, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[id].answered = true
	return nil
}

func (s *fakeStore) FinishCallSummary(_ context.Context, id int64, _ time.Time, sum store.Summary) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls[id]
	if c.ended {
		return fmt.Errorf("call %d finished twice", id)
	}
	c.ended, c.path, c.outcome, c.sum = true, sum.MenuPath, sum.Outcome, sum
	return nil
}

func (s *fakeStore) AddCallback(_ context.Context, callID int64, number string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callbacks = append(s.callbacks, number)
	return int64(len(s.callbacks)), nil
}

func (s *fakeStore) ClaimAutoReply(_ context.Context, number, day string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replied[number+" "+day] {
		return false, nil
	}
	s.replied[number+" "+day] = true
	return true, nil
}

func (s *fakeStore) StartVoicemail(_ context.Context, callID int64, _ string, _ time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := int64(len(s.vms) + 1)
	s.vms[id] = -1
	s.calls[callID].vm = id
	return id, nil
}

func (s *fakeStore) FinishVoicemail(_ context.Context, id int64, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vms[id] = d
	return nil
}

func (s *fakeStore) Setting(_ context.Context, key, def string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.settings[key]; ok {
		return v, nil
	}
	return def, nil
}

func (s *fakeStore) call(id int64) fakeCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.calls[id]
}

// fakeLine is a line whose caller follows a script of audio; time is the test bubble's.
type fakeLine struct {
	ev      chan hw.Event
	audio   *fakeAudio
	hungUp  chan struct{}
	once    sync.Once
	answers int
	id      string
	mu      sync.Mutex
	// answerErr, when set, is what Answer returns.
	answerErr error
}

func (l *fakeLine) ID() string {
	if l.id == "" {
		return "test1"
	}
	return l.id
}
func (l *fakeLine) Events() <-chan hw.Event { return l.ev }
func (l *fakeLine) Hangup(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.once.Do(func() { close(l.hungUp) })
	return nil
}
func (l *fakeLine) Answer(context.Context) (hw.Audio, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answers++
	if l.answerErr != nil {
		return nil, l.answerErr
	}
	l.audio.start = time.Now()
	return l.audio, nil
}

// next readies the line for its next call (soak tests).
func (l *fakeLine) next(a *fakeAudio) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hungUp = make(chan struct{})
	l.once = sync.Once{}
	l.audio = a
}

func (l *fakeLine) hungUpChan() chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hungUp
}

// fakeAudio plays the caller's script and keeps what the box played, 20 ms a frame in
// (fake) real time.
type fakeAudio struct {
	start  time.Time
	caller []int16
	pos    int
	heard  []int16
	closed chan struct{}
	mu     sync.Mutex
}

func (a *fakeAudio) Format() hw.AudioFormat { return hw.S16LE }
func (a *fakeAudio) ReadFrame(p []byte) error {
	select {
	case <-a.closed:
		return hw.ErrNoCall
	case <-time.After(voice.FrameDuration):
	}
	var f voice.Frame
	n := copy(f[:], a.caller[min(a.pos, len(a.caller)):])
	a.pos += n
	voice.EncodeS16LE(p, f[:])
	return nil
}
func (a *fakeAudio) WriteFrame(p []byte) error {
	var f voice.Frame
	voice.DecodeS16LE(f[:], p)
	a.mu.Lock()
	a.heard = append(a.heard, f[:]...)
	a.mu.Unlock()
	return nil
}

// heardSoFar is what the box played until now.
func (a *fakeAudio) heardSoFar() []int16 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.heard[:len(a.heard):len(a.heard)]
}

// script builds the caller's audio: silence and keys at given times after the answer.
type script []int16

func (s script) at(d time.Duration, samples []int16) script {
	n := tone.Samples(d)
	for len(s) < n {
		s = append(s, 0)
	}
	return append(s[:n], samples...)
}

func key(t *testing.T, k byte) []int16 {
	d, err := tone.DTMF(k, 100*time.Millisecond, -10)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// openHours is a Monday at 11:00 in Moscow, in the default flow's working hours.
func openHours() time.Time {
	return time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
}

// Short synthetic prompts so that times in the tests are known: each is 1 s of a 400 Hz tone.
func testPrompts(lang, name string) ([]int16, error) {
	return tone.Sine(400, time.Second, -15), nil
}

type scenario struct {
	name     string
	rings    int                    // rings the caller waits (events sent)
	setting  string                 // answer_rings
	caller   script                 // caller's audio from the answer
	modemKey map[time.Duration]byte // keys the modem reports itself, by time after answer
	hangupAt time.Duration          // caller hangs up (0 = never)

	wantOutcome string
	wantPath    string
	wantVM      bool
	wantAnswer  bool
}

func TestFlows(t *testing.T) {
	voiceTone := tone.Sine(300, 2*time.Second, -12) // a caller "speaking" for 2 s
	// Prompts: greeting 0-1 s, menu 1-2 s, wait for a key 2-7 s.
	tests := []scenario{
		{name: "0 heard in-band leaves a message", caller: script(nil).at(2500*time.Millisecond, key(t, '0')).at(5*time.Second, voiceTone),
			wantOutcome: "voicemail", wantPath: "0", wantVM: true, wantAnswer: true},
		{name: "0 reported by the modem and heard in-band is one key", caller: script(nil).at(2500*time.Millisecond, key(t, '0')).at(5*time.Second, voiceTone),
			modemKey: map[time.Duration]byte{2500 * time.Millisecond: '0'}, wantOutcome: "voicemail", wantPath: "0", wantVM: true, wantAnswer: true},
		{name: "1 reported by the modem and heard in-band is one key", caller: script(nil).at(2500*time.Millisecond, key(t, '1')), hangupAt: 5 * time.Second,
			modemKey: map[time.Duration]byte{2500 * time.Millisecond: '1'}, wantOutcome: "completed", wantPath: "1", wantAnswer: true},
		{name: "0 reported by the modem only", caller: script(nil).at(5*time.Second, voiceTone),
			modemKey: map[time.Duration]byte{2500 * time.Millisecond: '0'}, wantOutcome: "voicemail", wantPath: "0", wantVM: true, wantAnswer: true},
		{name: "key during the greeting interrupts it", caller: script(nil).at(300*time.Millisecond, key(t, '0')).at(3*time.Second, voiceTone),
			wantOutcome: "voicemail", wantPath: "0", wantVM: true, wantAnswer: true},
		{name: "silent caller ends in voicemail", caller: nil, wantOutcome: "voicemail", wantPath: "", wantVM: true, wantAnswer: true},
		{name: "invalid key then 0", caller: script(nil).at(2500*time.Millisecond, key(t, '7')).at(6*time.Second, key(t, '0')),
			wantOutcome: "voicemail", wantPath: "7,0", wantVM: true, wantAnswer: true},
		{name: "1 then hang up", caller: script(nil).at(2500*time.Millisecond, key(t, '1')), hangupAt: 3 * time.Second,
			wantOutcome: "completed", wantPath: "1", wantAnswer: true},
		{name: "0 during about us is a menu choice", caller: script(nil).at(2500*time.Millisecond, key(t, '1')).at(3000*time.Millisecond, key(t, '0')),
			wantOutcome: "voicemail", wantPath: "1,0", wantVM: true, wantAnswer: true},
		{name: "hang up in the greeting", hangupAt: 500 * time.Millisecond, wantOutcome: "abandoned", wantAnswer: true},
		{name: "hang up while recording", caller: script(nil).at(2500*time.Millisecond, key(t, '0')).at(5*time.Second, voiceTone), hangupAt: 6 * time.Second,
			wantOutcome: "voicemail", wantPath: "0", wantVM: true, wantAnswer: true},
		{name: "answers on the third ring", setting: "3", rings: 3, caller: script(nil).at(2500*time.Millisecond, key(t, '0')),
			wantOutcome: "voicemail", wantPath: "0", wantVM: true, wantAnswer: true},
		{name: "caller gives up before the third ring", setting: "3", rings: 2, hangupAt: -1, wantOutcome: "missed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runScenario(t, tc) })
		})
	}
}

func runScenario(t *testing.T, tc scenario) {
	st := newFakeStore()
	if tc.setting != "" {
		st.settings["answer_rings"] = tc.setting
	}
	dir := t.TempDir()
	b := New(Options{Store: st, Prompts: testPrompts, VoicemailDir: dir, Now: openHours})
	line := &fakeLine{ev: make(chan hw.Event, 16), hungUp: make(chan struct{}), audio: &fakeAudio{caller: tc.caller, closed: make(chan struct{})}}
	ends, cancelSub := b.Subscribe()
	defer cancelSub()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Serve(ctx, line) }()

	rings := max(tc.rings, 1)
	for i := 1; i <= rings; i++ {
		line.ev <- hw.Event{Kind: hw.Ring, Rings: i, Number: "+79161234567", Time: time.Now()}
		if i < rings {
			time.Sleep(3 * time.Second)
		}
	}
	if tc.hangupAt < 0 {
		line.ev <- hw.Event{Kind: hw.Hangup, Cause: "caller gave up"}
	} else {
		// Keys the modem reports, and the caller's hang-up, at their times.
		go func() {
			var last time.Duration
			for d, k := range tc.modemKey {
				time.Sleep(d - last)
				last = d
				line.ev <- hw.Event{Kind: hw.Digit, Digit: k}
			}
			if tc.hangupAt > 0 {
				time.Sleep(tc.hangupAt - last)
				close(line.audio.closed)
				line.ev <- hw.Event{Kind: hw.Hangup, Cause: "caller hung up"}
			}
		}()
	}
	var end CallEnd
	select {
	case end = <-ends:
	case <-time.After(10 * time.Minute):
		t.Fatal("the call never ended")
	}
	c := st.call(end.CallID)
	if c.outcome != tc.wantOutcome || c.path != tc.wantPath {
		t.Errorf("outcome %q keys %q (path %s); want %q %q", c.outcome, c.path, c.sum.Nodes, tc.wantOutcome, tc.wantPath)
	}
	if c.answered != tc.wantAnswer {
		t.Errorf("answered %v, want %v", c.answered, tc.wantAnswer)
	}
	if (c.vm != 0) != tc.wantVM {
		t.Errorf("voicemail %d, want one: %v", c.vm, tc.wantVM)
	}
	if tc.wantVM {
		d := st.vms[c.vm]
		if d < time.Second {
			t.Errorf("voicemail of %v", d)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.wav"))
		if len(files) != 1 {
			t.Fatalf("voicemail files: %v", files)
		}
		f, err := os.Open(files[0])
		if err != nil {
			t.Fatal(err)
		}
		samples, err := wav.ReadMono8k(f)
		f.Close()
		if err != nil {
			t.Fatalf("voicemail WAV: %v", err)
		}
		if got := time.Duration(len(samples)) * time.Second / voice.Rate; got != d {
			t.Errorf("voicemail file holds %v, record says %v", got, d)
		}
	}
	if tc.wantAnswer && tc.hangupAt == 0 {
		select {
		case <-line.hungUp:
		default:
			t.Error("the box did not hang up")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// A number the line learns after the first ring lands in the call record.
func TestCallerIDAfterRing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		line := newRingLine()
		st, ends := serveLine(t, line)
		line.ev <- hw.Event{Kind: hw.Ring, Rings: 1}
		time.Sleep(100 * time.Millisecond)
		line.ev <- hw.Event{Kind: hw.CallerID, Number: "+79161234567"}
		line.ev <- hw.Event{Kind: hw.CallerID, Number: "+70000000000"} // only the first counts
		time.Sleep(time.Second)
		close(line.audio.closed)
		line.ev <- hw.Event{Kind: hw.Hangup, Cause: "caller hung up"}
		end := <-ends
		if c := st.call(end.CallID); c.number != "+79161234567" || c.outcome != "abandoned" {
			t.Errorf("call %+v; want the learned number, abandoned", c)
		}
	})
}

// newRingLine is a fake line ready for one call.
func newRingLine() *fakeLine {
	return &fakeLine{ev: make(chan hw.Event, 16), hungUp: make(chan struct{}), audio: &fakeAudio{closed: make(chan struct{})}}
}

// serveLine runs a board with a fake store on line until the test ends, and returns the store
// and the board's call ends.
func serveLine(t *testing.T, line *fakeLine) (*fakeStore, <-chan CallEnd) {
	t.Helper()
	st := newFakeStore()
	b := New(Options{Store: st, Prompts: testPrompts, VoicemailDir: t.TempDir()})
	ends, cancelSub := b.Subscribe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Serve(ctx, line) }()
	t.Cleanup(func() {
		cancel()
		<-done
		cancelSub()
	})
	return st, ends
}

// An analog line sends its caller ID in the pause after the first ring: the box waits for it
// before it answers (going off hook first would lose the number to call back), and answers
// at once when it comes, withheld or not, or at the second ring when none comes.
func TestAnalogAnswerWaitsForCallerID(t *testing.T) {
	for _, tt := range []struct {
		name       string
		then       hw.Event // after the first ring, 1 s later
		wantNumber string
	}{
		{"number", hw.Event{Kind: hw.CallerID, Number: "+79161234567"}, "+79161234567"},
		{"withheld", hw.Event{Kind: hw.CallerID}, ""},
		{"none, second ring", hw.Event{Kind: hw.Ring, Rings: 2}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				line := newRingLine()
				st, ends := serveLine(t, line)
				answers := func() int {
					line.mu.Lock()
					defer line.mu.Unlock()
					return line.answers
				}
				line.ev <- hw.Event{Kind: hw.Ring, Rings: 1, NumberLater: true}
				time.Sleep(time.Second)
				if n := answers(); n != 0 {
					t.Errorf("answered %d times before the caller ID could come", n)
				}
				line.ev <- tt.then
				time.Sleep(100 * time.Millisecond)
				if n := answers(); n != 1 {
					t.Errorf("answered %d times after %v, want 1", n, tt.then.Kind)
				}
				time.Sleep(time.Second)
				close(line.audio.closed)
				line.ev <- hw.Event{Kind: hw.Hangup, Cause: "caller hung up"}
				end := <-ends
				if c := st.call(end.CallID); c.number != tt.wantNumber || c.outcome != "abandoned" {
					t.Errorf("call %+v; want number %q, abandoned", c, tt.wantNumber)
				}
			})
		})
	}
}

// A caller who hangs up while the box picks up (the modem answers ATA with NO CARRIER) is a
// missed call, not a failure of the box; an answer that fails otherwise is one.
func TestAnswerFailures(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"caller gone", fmt.Errorf("gsm gsm1: answer: %w: NO CARRIER", hw.ErrNoCall), "missed"},
		{"modem refused", errors.New("gsm gsm1: answer: ERROR"), "failed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				line := newRingLine()
				line.answerErr = tt.err
				st, ends := serveLine(t, line)
				line.ev <- hw.Event{Kind: hw.Ring, Rings: 1, Number: "+79161234567"}
				end := <-ends
				if c := st.call(end.CallID); c.outcome != tt.want {
					t.Errorf("call %+v; want outcome %q", c, tt.want)
				}
			})
		})
	}
}
