package progress

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"hotline/voice"
	"hotline/voice/internal/testcorpus"
	"hotline/voice/tone"
)

const ms = time.Millisecond

// burst is one tone of a cadence: up to two frequencies, on for on, then off for off.
type burst struct {
	f1, f2  float64
	on, off time.Duration
}

// render plays the bursts n times at level dBm0 per frequency, with frequencies scaled by
// 1+drift, after lead samples of silence.
func render(lead, n int, db, drift float64, bs ...burst) []int16 {
	s := make([]int16, lead)
	for range n {
		for _, b := range bs {
			lvl2 := db
			if b.f2 == 0 {
				lvl2 = math.Inf(-1)
			}
			s = append(s, tone.Dual(b.f1*(1+drift), b.f2*(1+drift), b.on, db, lvl2)...)
			s = append(s, tone.Silence(b.off)...)
		}
	}
	return s
}

// run feeds s to a detector for cfg and returns the events.
func run(t testing.TB, cfg Config, s []int16) []Event {
	t.Helper()
	d, err := NewDetector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var evs []Event
	var f voice.Frame
	for i := 0; i < len(s); i += voice.FrameSamples {
		n := copy(f[:], s[i:])
		clear(f[n:])
		if e, ok := d.Process(&f); ok {
			evs = append(evs, e)
		}
	}
	return evs
}

func kinds(evs []Event) []Kind {
	var ks []Kind
	for _, e := range evs {
		ks = append(ks, e.Kind)
	}
	return ks
}

// signals are the tones of each plan, as an exchange sends them, and what they must be heard as.
var signals = []struct {
	plan Plan
	name string
	n    int
	b    []burst
	want Kind
}{
	{RU, "dial", 1, []burst{{425, 0, 3 * time.Second, 0}}, DialTone},
	{RU, "ringback", 2, []burst{{425, 0, 800 * ms, 3200 * ms}}, Ringback},
	{RU, "ringback 1/4", 2, []burst{{425, 0, time.Second, 4 * time.Second}}, Ringback},
	{RU, "busy", 4, []burst{{425, 0, 400 * ms, 400 * ms}}, Busy},
	{RU, "busy 0.35", 4, []burst{{425, 0, 350 * ms, 350 * ms}}, Busy},
	{RU, "congestion", 8, []burst{{425, 0, 175 * ms, 175 * ms}}, Congestion},
	{EU, "dial", 1, []burst{{425, 0, 3 * time.Second, 0}}, DialTone},
	{EU, "ringback", 2, []burst{{425, 0, time.Second, 4 * time.Second}}, Ringback},
	{EU, "busy", 4, []burst{{425, 0, 500 * ms, 500 * ms}}, Busy},
	{EU, "congestion", 8, []burst{{425, 0, 250 * ms, 250 * ms}}, Congestion},
	{EU, "congestion 0.2", 8, []burst{{425, 0, 200 * ms, 200 * ms}}, Congestion},
	{US, "dial", 1, []burst{{350, 440, 3 * time.Second, 0}}, DialTone},
	{US, "ringback", 2, []burst{{440, 480, 2 * time.Second, 4 * time.Second}}, Ringback},
	{US, "busy", 4, []burst{{480, 620, 500 * ms, 500 * ms}}, Busy},
	{US, "reorder", 8, []burst{{480, 620, 250 * ms, 250 * ms}}, Congestion},
	{US, "reorder 0.3/0.2", 8, []burst{{480, 620, 300 * ms, 200 * ms}}, Congestion},
	// E.180 special information tone: 950, 1400, 1800 Hz (in the precise plan 913.8/985.2,
	// 1370.6/1428.5, 1776.7 Hz), 274 to 380 ms each, then silence.
	{RU, "SIT", 2, []burst{{950, 0, 330 * ms, 0}, {1400, 0, 330 * ms, 0}, {1800, 0, 330 * ms, time.Second}}, SIT},
	{EU, "SIT", 2, []burst{{950, 0, 330 * ms, 0}, {1400, 0, 330 * ms, 0}, {1800, 0, 330 * ms, time.Second}}, SIT},
	{US, "SIT short", 2, []burst{{913.8, 0, 274 * ms, 0}, {1370.6, 0, 274 * ms, 0}, {1776.7, 0, 380 * ms, 2 * time.Second}}, SIT},
	{US, "SIT long", 2, []burst{{985.2, 0, 380 * ms, 0}, {1428.5, 0, 380 * ms, 0}, {1776.7, 0, 380 * ms, 2 * time.Second}}, SIT},
	{RU, "fax CNG", 2, []burst{{1100, 0, 500 * ms, 3 * time.Second}}, FaxCNG},
	{US, "fax CNG", 2, []burst{{1100, 0, 500 * ms, 3 * time.Second}}, FaxCNG},
	{EU, "fax CED", 1, []burst{{2100, 0, 3 * time.Second, time.Second}}, FaxCED},
	{US, "fax CED", 1, []burst{{2100, 0, 3 * time.Second, time.Second}}, FaxCED},
}

// whiteNoise adds Gaussian noise at db dBm0 RMS to s.
func whiteNoise(s []int16, seed uint64, db float64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	sigma := tone.Amplitude(db) / math.Sqrt2
	for i := range s {
		s[i] = int16(max(-32768, min(32767, math.Round(float64(s[i])+rng.NormFloat64()*sigma))))
	}
}

func muLaw(s []int16) {
	b := make([]byte, len(s))
	voice.ULawEncode(b, s)
	voice.ULawDecode(s, b)
}

func TestSignals(t *testing.T) {
	type cond struct {
		name  string
		db    float64
		drift float64
		snr   float64 // 0: no noise
		mulaw bool
	}
	conds := []cond{
		{"-10 dBm0", -10, 0, 0, false},
		{"-3 dBm0", -3, 0, 0, false},
		{"-20 dBm0", -20, 0, 0, false},
		{"-30 dBm0", -30, 0, 0, false},
		{"-36 dBm0", -36, 0, 0, false},
		{"+1.5 %", -15, +0.015, 0, false},
		{"-1.5 %", -15, -0.015, 0, false},
		{"S/N 15 dB", -15, 0, 15, false},
		{"S/N 10 dB, -25 dBm0", -25, 0, 10, false},
		{"mu-law -25 dBm0, +1 %, S/N 20 dB", -25, 0.01, 20, true},
	}
	for _, sg := range signals {
		t.Run(fmt.Sprintf("%v %s", sg.plan, sg.name), func(t *testing.T) {
			for i, c := range conds {
				drift := c.drift
				if sg.want == SIT || sg.want == FaxCNG || sg.want == FaxCED {
					// Their tolerance is tighter: +-15 Hz for CED (V.25), so +-0.75 %.
					drift /= 2
				}
				for _, lead := range []int{0, 71, 123} {
					s := render(lead, sg.n, c.db, drift, sg.b...)
					if c.snr > 0 {
						whiteNoise(s, uint64(i*1000+lead), c.db-c.snr)
					}
					if c.mulaw {
						muLaw(s)
					}
					got := kinds(run(t, Config{Plan: sg.plan}, s))
					if !slices.Equal(got, []Kind{sg.want}) {
						t.Errorf("%s, lead %d: heard %v, want %v", c.name, lead, got, sg.want)
					}
				}
			}
		})
	}
}

// TestSpeechAndMusic runs a detector of every plan over the corpus of real speech and music,
// plain and 12 dB louder: no tone may be heard in it.
func TestSpeechAndMusic(t *testing.T) {
	files := testcorpus.Load(t)
	var total int
	for _, f := range files {
		total += len(f.Samples)
	}
	plans := []Plan{RU, EU, US}
	err := testcorpus.Parallel(len(files)*2, func(i int) error {
		f := files[i/2]
		s := f.Samples
		if i%2 == 1 {
			s = make([]int16, len(f.Samples))
			for j, v := range f.Samples {
				s[j] = int16(max(-32768, min(32767, 4*int(v))))
			}
		}
		for _, p := range plans {
			if evs := run(t, Config{Plan: p}, s); len(evs) > 0 {
				t.Errorf("%v plan, %s (gain x%d): heard %v", p, f.Path, 1+3*(i%2), evs)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%.1f min of speech and music, 2 levels, 3 plans: no tone heard", float64(total)/voice.Rate/60)
}

func TestSilence(t *testing.T) {
	cfg := Config{Plan: RU, SilenceAfter: 5 * time.Second}
	// Speech-like sound (noise at -20 dBm0) for 2 s, quiet line noise for 7 s, sound again for
	// 1 s, and quiet for 6 s: silence is reported 5 s into each quiet spell.
	var s []int16
	add := func(d time.Duration, db float64) {
		x := tone.Silence(d)
		whiteNoise(x, uint64(len(s)), db)
		s = append(s, x...)
	}
	add(2*time.Second, -20)
	add(7*time.Second, -60)
	add(time.Second, -20)
	add(6*time.Second, -60)
	evs := run(t, cfg, s)
	if len(evs) != 2 || evs[0].Kind != Silence || evs[1].Kind != Silence {
		t.Fatalf("heard %v, want silence twice", evs)
	}
	// The silence detector calls it silence after its hangover; the event comes SilenceAfter
	// after the last loud frame.
	for i, want := range []time.Duration{7 * time.Second, 15 * time.Second} {
		if d := evs[i].At - want; d < -100*ms || d > 100*ms {
			t.Errorf("silence %d at %v, want about %v", i, evs[i].At, want)
		}
	}
	// Without SilenceAfter, nothing.
	if evs := run(t, Config{Plan: RU}, s); len(evs) != 0 {
		t.Errorf("no silence wanted: heard %v", evs)
	}
	// A steady tone is not silence: dial tone is reported instead.
	if got := kinds(run(t, cfg, render(0, 1, -20, 0, burst{425, 0, 10 * time.Second, 0}))); !slices.Equal(got, []Kind{DialTone}) {
		t.Errorf("dial tone: heard %v", got)
	}
}

func TestEventTimes(t *testing.T) {
	for _, tc := range []struct {
		plan Plan
		b    burst
		n    int
		want time.Duration // when the event is due
	}{
		{RU, burst{425, 0, 3 * time.Second, 0}, 1, 1500 * ms},            // dial tone after 1.5 s
		{US, burst{350, 440, 3 * time.Second, 0}, 1, time.Second},        // US dial tone after 1 s
		{RU, burst{425, 0, 400 * ms, 400 * ms}, 4, 2000 * ms},            // busy at the end of the 3rd burst
		{RU, burst{425, 0, 800 * ms, 3200 * ms}, 2, 2300 * ms},           // ringback 1.5 s after the 1st burst
		{EU, burst{2100, 0, 3 * time.Second, time.Second}, 1, 1500 * ms}, // CED after 1.5 s
		{EU, burst{1100, 0, 500 * ms, 3 * time.Second}, 2, 500 * ms},     // CNG at the end of the 1st burst
		{US, burst{480, 620, 250 * ms, 250 * ms}, 8, 1250 * ms},          // reorder at the end of the 3rd burst
	} {
		evs := run(t, Config{Plan: tc.plan}, render(0, tc.n, -15, 0, tc.b))
		if len(evs) != 1 {
			t.Errorf("%v %v: heard %v", tc.plan, tc.b, evs)
			continue
		}
		// Two frames to settle, and a frame of alignment.
		if d := evs[0].At - tc.want; d < 0 || d > 3*voice.FrameDuration {
			t.Errorf("%v %v: %v at %v, want %v (+60 ms)", tc.plan, tc.b, evs[0].Kind, evs[0].At, tc.want)
		}
	}
}

func TestWrongPlan(t *testing.T) {
	// 425 Hz tones mean nothing to a US detector, nor US tones to a RU one.
	if evs := run(t, Config{Plan: US}, render(0, 4, -10, 0, burst{425, 0, 500 * ms, 500 * ms})); len(evs) != 0 {
		t.Errorf("US plan, 425 Hz busy: heard %v", evs)
	}
	if evs := run(t, Config{Plan: RU}, render(0, 4, -10, 0, burst{480, 620, 500 * ms, 500 * ms})); len(evs) != 0 {
		t.Errorf("RU plan, US busy: heard %v", evs)
	}
	// Cadences that fit no pattern: 1 s on 1 s off, 100 ms on 100 ms off.
	for _, b := range []burst{{425, 0, time.Second, time.Second}, {425, 0, 100 * ms, 100 * ms}} {
		if evs := run(t, Config{Plan: EU}, render(0, 4, -10, 0, b)); len(evs) != 0 {
			t.Errorf("EU plan, %v: heard %v", b, evs)
		}
	}
	// Too weak.
	if evs := run(t, Config{Plan: EU}, render(0, 4, -50, 0, burst{425, 0, 500 * ms, 500 * ms})); len(evs) != 0 {
		t.Errorf("busy at -50 dBm0: heard %v", evs)
	}
}

func TestConfig(t *testing.T) {
	for _, s := range []string{"ru", "eu", "us"} {
		p, err := ParsePlan(s)
		if err != nil || p.String() != s {
			t.Errorf("ParsePlan(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParsePlan("uk"); err == nil {
		t.Error("ParsePlan(uk): no error")
	}
	if _, err := NewDetector(Config{Plan: 9}); err == nil {
		t.Error("plan 9: no error")
	}
	if _, err := NewDetector(Config{SilenceAfter: -time.Second}); err == nil {
		t.Error("negative SilenceAfter: no error")
	}
	if Busy.String() != "busy" || Kind(99).String() != "Kind(99)" {
		t.Error("Kind.String")
	}
}

func TestProcessAllocatesNothing(t *testing.T) {
	for _, p := range []Plan{RU, US} {
		d, err := NewDetector(Config{Plan: p, SilenceAfter: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		s := render(0, 4, -10, 0, burst{425, 0, 400 * ms, 400 * ms}, burst{480, 620, 500 * ms, 500 * ms})
		var f voice.Frame
		i := 0
		n := testing.AllocsPerRun(500, func() {
			copy(f[:], s[(i*voice.FrameSamples)%(len(s)-voice.FrameSamples):])
			i++
			d.Process(&f)
		})
		if n != 0 {
			t.Errorf("%v: Process allocates %v times per frame", p, n)
		}
	}
}

func BenchmarkProcess(b *testing.B) {
	for _, p := range []Plan{RU, US} {
		b.Run(p.String(), func(b *testing.B) {
			d, err := NewDetector(Config{Plan: p, SilenceAfter: 5 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			s := render(0, 4, -10, 0, burst{425, 0, 400 * ms, 400 * ms}, burst{480, 620, 500 * ms, 500 * ms})
			whiteNoise(s, 1, -30)
			frames := len(s) / voice.FrameSamples
			var f voice.Frame
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				copy(f[:], s[(i%frames)*voice.FrameSamples:])
				i++
				d.Process(&f)
			}
		})
	}
}
