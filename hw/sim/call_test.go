package sim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"hotline/voice"
	"hotline/voice/dtmf"
	"hotline/voice/tone"
)

type callOutcome struct {
	res Result
	err error
}

// placeCall runs m.Call in the background.
func placeCall(ctx context.Context, m *EC25, c Caller) <-chan callOutcome {
	ch := make(chan callOutcome, 1)
	go func() {
		res, err := m.Call(ctx, c)
		ch <- callOutcome{res, err}
	}()
	return ch
}

func awaitCall(t *testing.T, ch <-chan callOutcome) callOutcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("Call did not return")
	}
	return callOutcome{}
}

// TestCallFlow drives a whole call with a scripted box: answer on the first ring, play a 1 s
// prompt, wait for a key, play a beep, wait for the caller to speak, hang up. Two modems run
// their calls at the same time.
func TestCallFlow(t *testing.T) {
	say := tone.Sine(600, 500*time.Millisecond, -12)
	for _, tt := range []struct {
		name        string
		from        string
		digits      string
		toneReports bool
		inbandOnly  bool
	}{
		{name: "tone reports", from: "+4915112345678", digits: "27*", toneReports: true},
		{name: "in-band only, hostile caller ID", from: `<b onclick="x">` + strings.Repeat("9", 200),
			digits: "#", toneReports: false},
		{name: "in-band only call", from: "0301234567", digits: "0", toneReports: true, inbandOnly: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := startModem(t, Options{ToneReports: tt.toneReports, RingInterval: 2 * time.Second})
			at := dialAT(t, m)
			at.initBox(true)
			audio := dialAudio(t, m)

			calls := placeCall(t.Context(), m, Caller{From: tt.from, Digits: tt.digits, Say: say,
				NoToneReports: tt.inbandOnly})

			at.waitFor("RING", 2*time.Second)
			typ := numberType(tt.from)
			if got, want := at.mustLine(time.Second), fmt.Sprintf(`+CLIP: "%s",%d,,,,0`, tt.from, typ); got != want {
				t.Errorf("after RING got %q, want %q", got, want)
			}
			if got, want := at.mustLine(time.Second), fmt.Sprintf(`+QIND: "ccinfo",1,1,4,0,0,"%s",%d`, tt.from, typ); got != want {
				t.Errorf("after +CLIP got %q, want %q", got, want)
			}
			at.cmd("ATA", "OK")
			if got, want := at.mustLine(time.Second), fmt.Sprintf(`+QIND: "ccinfo",1,1,0,0,0,"%s",%d`, tt.from, typ); got != want {
				t.Errorf("after ATA got %q, want %q", got, want)
			}
			if got, want := at.cmd("AT+CLCC", "OK"), fmt.Sprintf(`+CLCC: 1,1,0,0,0,"%s",%d`, tt.from, typ); len(got) != 1 || got[0] != want {
				t.Errorf("AT+CLCC = %q, want %q", got, want)
			}

			// The box's side of the call, 20 ms at a time.
			prompt := tone.Sine(440, time.Second, -10)
			beep := tone.Sine(1000, 300*time.Millisecond, -10)
			play, pos, stage := prompt, 0, "prompt"
			tick := time.NewTicker(voice.FrameDuration)
			defer tick.Stop()
			timeout := time.After(20 * time.Second)
		loop:
			for {
				select {
				case <-tick.C:
				case <-timeout:
					t.Fatalf("box stuck at stage %s; caller said keys %q, 600 Hz frames %d", stage, detectKeys(audio.samples()), framesWithTone(audio.samples(), 600))
				}
				var frame []int16
				if pos < len(play) {
					frame = play[pos:min(pos+voice.FrameSamples, len(play))]
				}
				pos += voice.FrameSamples
				audio.writeFrame(t, frame)
				heard := audio.samples()
				switch stage {
				case "prompt":
					keys := detectKeys(heard)
					if !strings.HasPrefix(tt.digits, keys) {
						t.Fatalf("box heard keys %q, want %q", keys, tt.digits)
					}
					if keys == tt.digits {
						play, pos, stage = beep, 0, "record"
					}
				case "record":
					if framesWithTone(heard, 600) >= len(say)/voice.FrameSamples {
						break loop
					}
				}
			}
			lines := at.cmd("AT+CHUP", "OK")
			var wantTones []string
			for i := range len(tt.digits) {
				if tt.toneReports && !tt.inbandOnly {
					wantTones = append(wantTones, fmt.Sprintf("+QTONEDET: %d", tt.digits[i]))
				}
			}
			if got, want := strings.Join(lines, "|"), strings.Join(wantTones, "|"); got != want {
				t.Errorf("URCs during the call = %q, want %q", got, want)
			}
			if got, want := at.mustLine(time.Second), fmt.Sprintf(`+QIND: "ccinfo",1,1,-1,0,0,"%s",%d`, tt.from, typ); got != want {
				t.Errorf("after AT+CHUP got %q, want %q", got, want)
			}

			o := awaitCall(t, calls)
			if o.err != nil {
				t.Fatalf("Call: %v", o.err)
			}
			r := o.res
			if !r.Answered || r.Rings != 1 || r.AnsweredAfter <= 0 {
				t.Errorf("Answered %v after %d rings (%v); want answered on the first ring",
					r.Answered, r.Rings, r.AnsweredAfter)
			}
			if r.DigitsSent != tt.digits {
				t.Errorf("DigitsSent = %q, want %q", r.DigitsSent, tt.digits)
			}
			if r.PromptsHeard != 2 {
				t.Errorf("PromptsHeard = %d, want 2 (prompt and beep)", r.PromptsHeard)
			}
			if r.SecondsHeard < 1.25 || r.SecondsHeard > 1.35 {
				t.Errorf("SecondsHeard = %.2f, want 1.3", r.SecondsHeard)
			}
			if r.HungUpBy != "box" {
				t.Errorf("HungUpBy = %q, want box", r.HungUpBy)
			}
			if r.Duration <= 0 {
				t.Errorf("Duration = %v", r.Duration)
			}
			if n := framesWithTone(r.Heard, 440); n < 45 {
				t.Errorf("Heard holds %d frames of the prompt, want 50", n)
			}
			if n := framesWithTone(r.Heard, 1000); n < 14 {
				t.Errorf("Heard holds %d frames of the beep, want 15", n)
			}
			if keys := dtmf.Decode(audio.samples()); keys != tt.digits {
				t.Errorf("DTMF receiver hears keys %q in the caller's audio, want %q", keys, tt.digits)
			}
		})
	}
}

// TestCallerHangsUp: the caller ends the call after HangupAfter; the modem reports the release
// and NO CARRIER, and the audio stops. Audio is sent only when the box routed it with QPCMV, and
// what the box writes outside a call is dropped.
func TestCallerHangsUp(t *testing.T) {
	for _, pcm := range []bool{true, false} {
		t.Run(fmt.Sprintf("QPCMV %v", pcm), func(t *testing.T) {
			t.Parallel()
			m := startModem(t, Options{RingInterval: 2 * time.Second})
			at := dialAT(t, m)
			at.initBox(false)
			if !pcm {
				at.cmd("AT+QPCMV=0", "OK")
			}
			audio := dialAudio(t, m)
			// Sound before the call goes nowhere.
			loud := tone.Sine(440, 200*time.Millisecond, -10)
			for i := 0; i < len(loud); i += voice.FrameSamples {
				audio.writeFrame(t, loud[i:i+voice.FrameSamples])
			}

			const after = 600 * time.Millisecond
			calls := placeCall(t.Context(), m, Caller{From: "+4930123456", HangupAfter: after})
			at.waitFor("RING", 2*time.Second)
			at.cmd("ATA", "OK")
			lines := at.waitFor("NO CARRIER", 5*time.Second)
			want := []string{`+QIND: "ccinfo",1,1,0,0,0,"+4930123456",145`,
				`+QIND: "ccinfo",1,1,-1,0,0,"+4930123456",145`}
			if strings.Join(lines, "\n") != strings.Join(want, "\n") {
				t.Errorf("lines before NO CARRIER = %q, want %q", lines, want)
			}
			o := awaitCall(t, calls)
			if o.err != nil {
				t.Fatalf("Call: %v", o.err)
			}
			r := o.res
			if !r.Answered || r.HungUpBy != "caller" || r.Duration < after {
				t.Errorf("Answered %v, HungUpBy %q, Duration %v; want answered, caller, >= %v",
					r.Answered, r.HungUpBy, r.Duration, after)
			}
			if len(r.Heard) != 0 || r.PromptsHeard != 0 {
				t.Errorf("caller heard %d samples, %d prompts; want nothing", len(r.Heard), r.PromptsHeard)
			}

			// The audio stops: once what was sent has arrived, nothing more comes.
			n := audio.bytesRead()
			for quiet := 0; quiet < 10; {
				time.Sleep(20 * time.Millisecond)
				if now := audio.bytesRead(); now != n {
					n, quiet = now, 0
				} else {
					quiet++
				}
			}
			time.Sleep(200 * time.Millisecond)
			if got := audio.bytesRead(); got != n {
				t.Errorf("audio went on after the hang-up: %d more bytes", got-n)
			}
			if pcm && (n == 0 || n%320 != 0) {
				t.Errorf("caller sent %d bytes of audio, want whole 320-byte frames", n)
			}
			if !pcm && n != 0 {
				t.Errorf("caller sent %d bytes of audio with QPCMV off", n)
			}

			// The call is gone.
			at.cmd("ATA", "NO CARRIER")
			if got := at.cmd("AT+CLCC", "OK"); len(got) != 0 {
				t.Errorf("AT+CLCC after the call = %q", got)
			}
		})
	}
}

// TestBoxRejects: the box hangs up a ringing call.
func TestBoxRejects(t *testing.T) {
	m := startModem(t, Options{RingInterval: 2 * time.Second})
	at := dialAT(t, m)
	at.initBox(false)
	calls := placeCall(t.Context(), m, Caller{From: "+4930123456"})
	at.waitFor("RING", 2*time.Second)
	at.waitFor(`+QIND: "ccinfo",1,1,4,0,0,"+4930123456",145`, time.Second)
	if got, want := at.cmd("AT+CLCC", "OK"), `+CLCC: 1,1,4,0,0,"+4930123456",145`; len(got) != 1 || got[0] != want {
		t.Errorf("AT+CLCC while ringing = %q, want %q", got, want)
	}
	at.cmd("ATH", "OK")
	if got, want := at.mustLine(time.Second), `+QIND: "ccinfo",1,1,-1,0,0,"+4930123456",145`; got != want {
		t.Errorf("after ATH got %q, want %q", got, want)
	}
	o := awaitCall(t, calls)
	if o.err != nil || o.res.Answered || o.res.HungUpBy != "box" || o.res.Rings != 1 {
		t.Errorf("Call = %+v, %v; want unanswered, hung up by the box after 1 ring", o.res, o.err)
	}
}

// TestRings checks the URCs of each ring under the modem's switches, and that the caller gives
// up after MaxRings.
func TestRings(t *testing.T) {
	for _, tt := range []struct {
		name string
		init []string
		from string
		ring []string
	}{
		{name: "defaults", from: "+4930123456", ring: []string{"RING"}},
		{name: "clip and ccinfo", init: []string{"AT+CLIP=1", `AT+QINDCFG="ccinfo",1`}, from: "+4930123456",
			ring: []string{"RING", `+CLIP: "+4930123456",145,,,,0`, `+QIND: "ccinfo",1,1,4,0,0,"+4930123456",145`}},
		{name: "national number", init: []string{"AT+CLIP=1"}, from: "0301234567",
			ring: []string{"RING", `+CLIP: "0301234567",129,,,,0`}},
		{name: "withheld, extended ring", init: []string{"AT+CRC=1", "AT+CLIP=1"}, from: "",
			ring: []string{"+CRING: VOICE", `+CLIP: "",128,,,,1`}},
		{name: "all URCs off", init: []string{"AT+CLIP=0", `AT+QINDCFG="all",0`}, from: "+1",
			ring: []string{"RING"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := startModem(t, Options{RingInterval: 100 * time.Millisecond})
			at := dialAT(t, m)
			at.cmd("ATE0", "OK")
			for _, c := range tt.init {
				at.cmd(c, "OK")
			}
			const maxRings = 3
			calls := placeCall(t.Context(), m, Caller{From: tt.from, MaxRings: maxRings})
			var want []string
			for range maxRings {
				want = append(want, tt.ring...)
			}
			if slicesHave(tt.ring, "ccinfo") {
				want = append(want, fmt.Sprintf(`+QIND: "ccinfo",1,1,-1,0,0,"%s",%d`, tt.from, numberType(tt.from)))
			}
			got := at.waitFor("NO CARRIER", 3*time.Second)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("URCs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			o := awaitCall(t, calls)
			if o.err != nil || o.res.Answered || o.res.Rings != maxRings || o.res.HungUpBy != "caller" {
				t.Errorf("Call = %+v, %v; want unanswered after %d rings, caller gave up", o.res, o.err, maxRings)
			}
			at.cmd("ATA", "NO CARRIER")
		})
	}
}

func slicesHave(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func TestCallErrors(t *testing.T) {
	t.Run("not running", func(t *testing.T) {
		m, err := NewEC25(Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if _, err := m.Call(t.Context(), Caller{}); !errors.Is(err, ErrNotRunning) {
			t.Errorf("Call before Run: %v, want ErrNotRunning", err)
		}
	})
	t.Run("bad digits", func(t *testing.T) {
		m := startModem(t, Options{})
		if _, err := m.Call(t.Context(), Caller{Digits: "1x"}); err == nil {
			t.Error("Call with digit 'x' succeeded")
		}
	})
	t.Run("busy, then cancelled", func(t *testing.T) {
		m := startModem(t, Options{RingInterval: time.Second})
		at := dialAT(t, m)
		at.cmd("ATE0", "OK")
		ctx, cancel := context.WithCancel(t.Context())
		calls := placeCall(ctx, m, Caller{From: "+1"})
		at.waitFor("RING", 2*time.Second)
		if _, err := m.Call(t.Context(), Caller{From: "+2"}); !errors.Is(err, ErrBusy) {
			t.Errorf("second Call: %v, want ErrBusy", err)
		}
		cancel()
		o := awaitCall(t, calls)
		if !errors.Is(o.err, context.Canceled) || o.res.Answered || o.res.HungUpBy != "caller" {
			t.Errorf("cancelled Call = %+v, %v", o.res, o.err)
		}
		at.waitFor("NO CARRIER", time.Second)
		// The modem takes the next call.
		calls = placeCall(t.Context(), m, Caller{From: "+3", MaxRings: 1})
		at.waitFor("RING", 2*time.Second)
		if o := awaitCall(t, calls); o.err != nil || o.res.Rings != 1 {
			t.Errorf("next Call = %+v, %v", o.res, o.err)
		}
	})
}

// TestGarbage: with Garbage on, junk appears between replies, and every command still gets
// exactly its own final result.
func TestGarbage(t *testing.T) {
	m := startModem(t, Options{Garbage: true})
	at := dialAT(t, m)
	at.cmd("ATE0", "OK")
	var junk []string
	binary := false
	deadline := time.Now().Add(1500 * time.Millisecond)
	for n := 0; time.Now().Before(deadline) || len(junk) == 0; n++ {
		if n > 100 {
			t.Fatal("no garbage after 100 commands")
		}
		lines := at.cmd("AT+CSQ", "OK")
		for _, l := range lines {
			if l == "+CSQ: 25,99" {
				continue
			}
			junk = append(junk, l)
			for i := range len(l) {
				binary = binary || l[i] >= 0x80 || l[i] == 0
			}
			if l == "RING" || l == "NO CARRIER" || strings.HasPrefix(l, "+CLIP") {
				t.Errorf("garbage looks like a call event: %q", l)
			}
		}
		if c := strings.Count(strings.Join(lines, "\n"), "+CSQ: 25,99"); c != 1 {
			t.Errorf("AT+CSQ answered %d times: %q", c, lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !binary {
		// More time: binary junk is one kind in three.
		for range 40 {
			if l, ok := at.line(200 * time.Millisecond); ok {
				for i := range len(l) {
					binary = binary || l[i] >= 0x80 || l[i] == 0
				}
			}
		}
	}
	if !binary {
		t.Errorf("no binary junk among %q", junk)
	}
}

// TestCloseWhileRunning: Close stops Run, ends a call in progress, and leaves no goroutine.
func TestCloseWhileRunning(t *testing.T) {
	base := countGoroutines()
	m, err := NewEC25(Options{ID: "closing", Garbage: true, RingInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- m.Run(context.Background()) }()
	waitRunning(t, m)
	at := dialAT(t, m)
	audio := dialAudio(t, m)
	calls := placeCall(context.Background(), m, Caller{From: "+1"})
	at.waitFor("RING", 2*time.Second)

	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Errorf("Run after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	if o := awaitCall(t, calls); !errors.Is(o.err, ErrStopped) {
		t.Errorf("Call after Close: %+v, %v; want ErrStopped", o.res, o.err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := m.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
	at.close()
	audio.port.Close()
	<-audio.done

	for i := 0; countGoroutines() > base; i++ {
		if i == 200 {
			t.Fatalf("goroutines: %d before, %d after", base, countGoroutines())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunStopsOnCancel: Run returns nil when its context ends, and a call in progress ends with
// ErrStopped.
func TestRunStopsOnCancel(t *testing.T) {
	base := countGoroutines()
	m, err := NewEC25(Options{RingInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- m.Run(ctx) }()
	waitRunning(t, m)
	calls := placeCall(context.Background(), m, Caller{From: "+1"})
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-runErr; err != nil {
		t.Errorf("Run: %v", err)
	}
	if o := awaitCall(t, calls); !errors.Is(o.err, ErrStopped) {
		t.Errorf("Call: %v, want ErrStopped", o.err)
	}
	if err := m.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
	for i := 0; countGoroutines() > base; i++ {
		if i == 200 {
			t.Fatalf("goroutines: %d before, %d after", base, countGoroutines())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAudioPathAllocs: the caller's 20 ms step (hear a frame, send a frame) allocates nothing.
func TestAudioPathAllocs(t *testing.T) {
	m := startModem(t, Options{})
	audio := dialAudio(t, m)
	cs := &callState{from: "+1", stat: statActive, answered: make(chan struct{}, 1),
		hungUp: make(chan struct{}, 1), frames: make(chan voice.Frame, 1)}
	m.mu.Lock()
	m.pcmOn, m.call, m.calling = true, cs, true
	m.mu.Unlock()
	say := tone.Sine(600, 10*time.Second, -12)
	r := &callRun{e: m, cs: cs, c: Caller{Say: say}, phase: phSay,
		res: Result{Heard: make([]int16, 0, 1<<20)}}
	var f voice.Frame
	copy(f[:], tone.Sine(440, voice.FrameDuration, -10))
	// 101 frames (32 KB) stay well inside a pseudo-terminal's buffer, so none is dropped for a
	// slow reader on a loaded machine (the caller drops frames the box does not take in time).
	const runs = 100
	allocs := testing.AllocsPerRun(runs, func() {
		now := time.Now()
		r.hear(&f, now)
		r.tick(now)
	})
	if allocs != 0 {
		t.Errorf("20 ms step allocates %v times", allocs)
	}
	if r.soundFrames != runs+1 {
		t.Errorf("heard %d sound frames, want %d", r.soundFrames, runs+1)
	}
	// The frames reached the box intact.
	want := (runs + 1) * 320
	for i := 0; audio.bytesRead() < want; i++ {
		if i == 200 {
			t.Fatalf("box got %d bytes, want %d", audio.bytesRead(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	got := audio.samples()
	for i := range got {
		if got[i] != say[i] {
			t.Fatalf("sample %d: box got %d, caller said %d", i, got[i], say[i])
		}
	}
}

func TestFrameCoding(t *testing.T) {
	var f, g voice.Frame
	for i := range f {
		f[i] = int16(i*411 - 32768)
	}
	f[0], f[1] = -1, 32767
	var b [320]byte
	encodeFrame(&b, &f)
	if b[0] != 0xff || b[1] != 0xff || b[2] != 0xff || b[3] != 0x7f {
		t.Errorf("not little-endian: % x", b[:4])
	}
	decodeFrame(&g, &b)
	if f != g {
		t.Error("decode(encode(f)) != f")
	}
}

// A pause of the simulator's own clock is excused as the underruns a box taking frames up to
// 20 ms late itself would count for it: none up to 40 ms, then one, and one per 20 ms more.
func TestPauseUnderruns(t *testing.T) {
	for _, tc := range []struct {
		gap  time.Duration
		want int
	}{
		{20 * time.Millisecond, 0},
		{40 * time.Millisecond, 0},
		{41 * time.Millisecond, 1},
		{59 * time.Millisecond, 1},
		{60 * time.Millisecond, 2},
		{100 * time.Millisecond, 4},
		{time.Second, 49},
	} {
		if got := pauseUnderruns(tc.gap); got != tc.want {
			t.Errorf("pauseUnderruns(%v) = %d, want %d", tc.gap, got, tc.want)
		}
	}
}

// TestSpeed: at Options.Speed 10 a call's rings, frames and the caller's timing run ten times
// faster than real time, and the result reports call time.
func TestSpeed(t *testing.T) {
	const (
		speed = 10
		after = 4 * time.Second // call time: 0.4 s on the wall clock
	)
	m := startModem(t, Options{RingInterval: 3 * time.Second, Speed: speed})
	at := dialAT(t, m)
	at.initBox(false)
	audio := dialAudio(t, m)
	start := time.Now()
	calls := placeCall(t.Context(), m, Caller{From: "+4930123456", HangupAfter: after, MaxRings: 2})
	// Let the first ring pass: the second comes 0.3 s later.
	at.waitFor("RING", 2*time.Second)
	at.waitFor("RING", 2*time.Second)
	rang := time.Since(start)
	at.cmd("ATA", "OK")
	at.waitFor("NO CARRIER", 5*time.Second)
	o := awaitCall(t, calls)
	took := time.Since(start)
	if o.err != nil {
		t.Fatalf("Call: %v", o.err)
	}
	r := o.res
	if !r.Answered || r.HungUpBy != "caller" || r.Duration < after || r.AnsweredAfter < 3*time.Second {
		t.Errorf("Answered %v, HungUpBy %q, Duration %v, AnsweredAfter %v; want answered, caller, >= %v after >= 3 s of call time",
			r.Answered, r.HungUpBy, r.Duration, r.AnsweredAfter, after)
	}
	// At real time two rings take 3 s and the call 4 s more: 7 s in all. (Generous bounds: a
	// busy machine slows the test down, never speeds it up.)
	if rang >= 3*time.Second || took >= 7*time.Second {
		t.Errorf("two rings took %v and the whole call %v: not faster than real time", rang, took)
	}
	// Frames came every 2 ms: far more than the 20 ms pace would send in that time.
	time.Sleep(100 * time.Millisecond)
	if n, real := audio.bytesRead()/320, int(took/voice.FrameDuration); n <= real {
		t.Errorf("caller sent %d frames in %v; at real time %d", n, took, real)
	}
}
