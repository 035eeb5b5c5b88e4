// Package progress hears what a telephone line says without words: call-progress tones with their
// cadence (dial tone, ringback, busy, congestion or reorder, special information tones) in the
// Russian, European (CEPT) and North American plans, fax calling and answer tones, and a line
// that has gone silent. The switchboard uses it to notice that the far end hung up on an analog
// line, to follow an outgoing call, and to hang up politely on a fax machine.
//
// # How it listens
//
// Each 20 ms frame goes through Goertzel filters at the plan's tone frequencies, the three
// frequencies of the special information tone (each at its round and its precise values), 1100 Hz and
// 2100 Hz. A frame holds a tone when the tone is above -42 dBm0 and the filters of the tone's
// group carry at least 60 % of the frame's energy: speech and music spread their energy, a
// signalling tone does not. A class must last two frames to count, so that a single odd frame
// neither starts nor breaks a tone. The tones and the gaps between them form segments, and the
// segments' durations are matched against the plan's cadences:
//
//	plan  dial tone           ringback                busy                congestion
//	RU    425 Hz steady       425 Hz 0.8 s / 3.2 s    425 Hz 0.4/0.4 s    425 Hz 0.175/0.175 s
//	EU    425 Hz steady       425 Hz 1 s / 4 s        425 Hz 0.5/0.5 s    425 Hz 0.25/0.25 s
//	US    350+440 Hz steady   440+480 Hz 2 s / 4 s    480+620 Hz 0.5/0.5  480+620 Hz 0.25/0.25
//
// Durations are accepted within 35 % of nominal. Busy and congestion are reported after three tone
// bursts with the gaps between them; ringback after one burst and 1.5 s without it; dial tone
// after 1.5 s of steady tone (1 s in the US plan, whose dial tone has its own frequencies); the
// special information tone (950, 1400, 1800 Hz, each 274-380 ms, ITU-T E.180) after its third
// tone; a fax calling tone (CNG, 1100 Hz for 0.5 s every 3.5 s) after one burst; a fax answer
// tone (CED, 2100 Hz for 2.6-4 s) after 1.5 s of it.
//
// A Detector is for one direction of one call, is not safe for concurrent use, and allocates
// nothing per frame.
package progress

import (
	"fmt"
	"math"
	"time"

	"hotline/voice"
)

// Kind is what the detector heard.
type Kind uint8

// The kinds of events.
const (
	None       Kind = iota
	DialTone        // the exchange is ready for a number: on an answered call, the far end hung up
	Ringback        // the called phone rings
	Busy            // the called line is busy, or the far end has hung up
	Congestion      // the network is congested (reorder in the US)
	SIT             // special information tone: number not in service, changed, and so on
	FaxCNG          // a fax machine calls
	FaxCED          // a fax machine answers
	Silence         // nothing heard for the configured time: a dead line or a silent caller
)

var kindNames = [...]string{"none", "dial tone", "ringback", "busy", "congestion", "SIT", "fax CNG", "fax CED", "silence"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Event is one thing heard, and when: the audio time since the start (or Reset) at which the
// detector was sure, at the end of the frame that decided it.
type Event struct {
	Kind Kind
	At   time.Duration
}

// Plan is a national tone plan.
type Plan uint8

// The tone plans.
const (
	RU Plan = iota // Russia and most of the CIS: 425 Hz tones
	EU             // CEPT countries: 425 Hz tones (ETSI TR 101 041)
	US             // North America: precise tone plan (350, 440, 480, 620 Hz)
)

var planNames = [...]string{"ru", "eu", "us"}

func (p Plan) String() string {
	if int(p) < len(planNames) {
		return planNames[p]
	}
	return fmt.Sprintf("Plan(%d)", p)
}

// ParsePlan returns the plan named s: "ru", "eu" or "us".
func ParsePlan(s string) (Plan, error) {
	for i, n := range planNames {
		if s == n {
			return Plan(i), nil
		}
	}
	return 0, fmt.Errorf("progress: unknown tone plan %q (want ru, eu or us)", s)
}

// Config chooses what a Detector listens for.
type Config struct {
	Plan Plan
	// SilenceAfter, when positive, makes the detector report Silence once nothing louder than
	// SilenceDBm0 has been heard for this long (and again after the next sound).
	SilenceAfter time.Duration
	// SilenceDBm0 is the level below which a frame counts as silent; 0 means
	// voice.DefaultSilenceDBm0.
	SilenceDBm0 float64
}

// class is what one frame (and then one segment) holds.
type class uint8

const (
	off      class = iota // no tone: silence, speech, noise
	planTone              // the plan's tone (RU, EU: 425 Hz; US: dial, ringback or busy by class below)
	usDial                // 350+440 Hz
	usRing                // 440+480 Hz
	sitLow                // 913.8 or 985.2 Hz
	sitMid                // 1370.6 or 1428.5 Hz
	sitHigh               // 1776.7 Hz
	cng                   // 1100 Hz
	ced                   // 2100 Hz
)

// Filter indexes. The RU and EU plans use f425; the US plan f350..f620.
const (
	f425 = iota
	f350
	f440
	f480
	f620
	fSit1a
	fSit1b
	fSit1c
	fSit2a
	fSit2b
	fSit2c
	fSit3a
	fSit3b
	f1100
	f2100
	nFilters
)

var filterHz = [nFilters]float64{425, 350, 440, 480, 620, 913.8, 985.2, 950, 1370.6, 1428.5, 1400, 1776.7, 1800, 1100, 2100}

// cadence is a range of durations, in frames.
type cadence struct{ min, max int }

func around(nominal time.Duration) cadence {
	f := float64(nominal) / float64(voice.FrameDuration)
	return cadence{int(math.Floor(f * 0.65)), int(math.Ceil(f * 1.35))}
}

func (c cadence) holds(frames int) bool { return frames >= c.min && frames <= c.max }

// planSpec is a plan's tones and cadences.
type planSpec struct {
	dialClass, ringClass, busyClass class
	dialAfter                       int // frames of steady dial tone
	ringOn                          cadence
	busy, congestion                cadence // both the tone and the gap
}

var specs = [...]planSpec{
	RU: {planTone, planTone, planTone, 75, around(800 * time.Millisecond), around(400 * time.Millisecond), around(175 * time.Millisecond)},
	EU: {planTone, planTone, planTone, 75, around(time.Second), around(500 * time.Millisecond), around(250 * time.Millisecond)},
	US: {usDial, usRing, planTone, 50, around(2 * time.Second), around(500 * time.Millisecond), around(250 * time.Millisecond)},
}

const (
	// floorDBm0 is the weakest tone heard.
	floorDBm0 = -42
	// minShare is the least share of a frame's energy that a tone's filters must carry.
	minShare = 0.6
	// strongDB: in the US plan, a tone of a pair is present when it is at most this far below
	// the strongest of the four.
	strongDB = 9
	// settleFrames is how many frames a new class must last to start a segment.
	settleFrames = 2
	// ringGap is how long after a ringback burst the gap must last before ringback is reported.
	ringGap = 75
	// sitTone is the range of each special information tone, 274 to 380 ms, with margin.
	sitMin, sitMax = 11, 23
	// cngMin, cngMax bound a CNG burst (0.5 s); cedFrames is how long CED must last.
	cngMin, cngMax = 18, 35
	cedFrames      = 75
	// busyBursts is how many tone bursts of the busy or congestion cadence make it.
	busyBursts = 3
	// history is how many past segments are kept.
	history = 8
)

var (
	coef       [nFilters]float64
	floorPower float64 // |X|^2 of a tone at the floor, filling a frame
	strong     = math.Pow(10, -strongDB/10.0)
)

func init() {
	for i, f := range filterHz {
		coef[i] = 2 * math.Cos(2*math.Pi*f/voice.Rate)
	}
	// A sine of amplitude A over N samples gives |X|^2 = (A N / 2)^2; 0 dBm0 peaks 3.17 dB
	// below full scale (the scale of voice/tone).
	a := 32767 * math.Pow(10, (floorDBm0-3.17)/20)
	floorPower = a * a * voice.FrameSamples * voice.FrameSamples / 4
}

// segment is a stretch of frames of one class.
type segment struct {
	class  class
	frames int
}

// Detector hears call-progress tones, fax tones and silence on one direction of one call.
type Detector struct {
	spec    planSpec
	filters []int // the filters this plan runs
	cfg     Config
	silence *voice.SilenceDetector

	frames   int     // frames since Reset
	cur      segment // the segment under way
	pend     segment // a different class seen for fewer than settleFrames frames
	past     [history]segment
	npast    int
	last     Kind // the last kind reported: not reported again until another one is
	silenced bool // Silence reported for the current quiet spell
}

// NewDetector returns a detector for cfg.
func NewDetector(cfg Config) (*Detector, error) {
	if int(cfg.Plan) >= len(specs) {
		return nil, fmt.Errorf("progress: unknown tone plan %d", cfg.Plan)
	}
	if cfg.SilenceAfter < 0 {
		return nil, fmt.Errorf("progress: negative silence time %v", cfg.SilenceAfter)
	}
	if cfg.SilenceDBm0 == 0 {
		cfg.SilenceDBm0 = voice.DefaultSilenceDBm0
	}
	d := &Detector{spec: specs[cfg.Plan], cfg: cfg, silence: voice.NewSilenceDetector(cfg.SilenceDBm0)}
	if cfg.Plan == US {
		d.filters = []int{f350, f440, f480, f620}
	} else {
		d.filters = []int{f425}
	}
	d.filters = append(d.filters, fSit1a, fSit1b, fSit1c, fSit2a, fSit2b, fSit2c, fSit3a, fSit3b, f1100, f2100)
	for len(d.filters)%4 != 0 { // classify runs them in fours
		d.filters = append(d.filters, d.filters[len(d.filters)-1])
	}
	d.Reset()
	return d, nil
}

// Reset forgets everything heard, as at the start of a call.
func (d *Detector) Reset() {
	d.frames = 0
	d.cur, d.pend = segment{}, segment{}
	d.past, d.npast = [history]segment{}, 0
	d.last, d.silenced = None, false
	d.silence.Reset()
}

// Process takes the next 20 ms frame and returns an event when one is recognised in it.
func (d *Detector) Process(f *voice.Frame) (Event, bool) {
	d.frames++
	k := d.track(d.classify(f))
	if ks := d.checkSilence(f); k == None {
		k = ks
	}
	if k == None || k == d.last {
		return Event{}, false
	}
	d.last = k
	return Event{Kind: k, At: time.Duration(d.frames) * voice.FrameDuration}, true
}

// checkSilence reports Silence once the line has been quiet for cfg.SilenceAfter, and re-arms
// when sound comes back.
func (d *Detector) checkSilence(f *voice.Frame) Kind {
	d.silence.Process(f)
	if d.cfg.SilenceAfter <= 0 {
		return None
	}
	if d.silence.SilentFor() < d.cfg.SilenceAfter {
		if d.silenced && d.last == Silence {
			d.last = None
		}
		d.silenced = false
		return None
	}
	if d.silenced {
		return None
	}
	d.silenced = true
	return Silence
}

// classify returns the class of frame f. Like the receiver of voice/dtmf, it is not instrumented
// by the race detector, which would make it many times slower: it reads only f and the detector's
// fixed filter list, and Process, which changes the detector, stays instrumented.
//
//go:norace
func (d *Detector) classify(f *voice.Frame) class {
	var p [nFilters]float64
	var energy float64
	for _, v := range f {
		x := float64(v)
		energy += x * x
	}
	// Two tones at the floor make this much energy: below it, nothing to look at.
	if energy < 2*floorPower/voice.FrameSamples {
		return off
	}
	// The filters four at a time, so that their recurrences run side by side.
	for g := 0; g+4 <= len(d.filters); g += 4 {
		i0, i1, i2, i3 := d.filters[g], d.filters[g+1], d.filters[g+2], d.filters[g+3]
		c0, c1, c2, c3 := coef[i0], coef[i1], coef[i2], coef[i3]
		var a0, a1, a2, a3, b0, b1, b2, b3 float64
		for _, v := range f {
			x := float64(v)
			a0, b0 = x+c0*a0-b0, a0
			a1, b1 = x+c1*a1-b1, a1
			a2, b2 = x+c2*a2-b2, a2
			a3, b3 = x+c3*a3-b3, a3
		}
		p[i0] = a0*a0 + b0*b0 - c0*a0*b0
		p[i1] = a1*a1 + b1*b1 - c1*a1*b1
		p[i2] = a2*a2 + b2*b2 - c2*a2*b2
		p[i3] = a3*a3 + b3*b3 - c3*a3*b3
	}
	// share of the frame's energy in filters whose |X|^2 sum to sum.
	share := func(sum float64) float64 { return 2 * sum / voice.FrameSamples / energy }
	best, bestP := off, 0.0
	try := func(c class, sum, loudest float64) {
		if loudest >= floorPower && share(sum) >= minShare && sum > bestP {
			best, bestP = c, sum
		}
	}
	if d.cfg.Plan == US {
		p350, p440, p480, p620 := p[f350], p[f440], p[f480], p[f620]
		m := max(p350, p440, p480, p620)
		sum := p350 + p440 + p480 + p620
		switch {
		case p350 >= m*strong && p440 >= m*strong:
			try(usDial, sum, min(p350, p440))
		case p480 >= m*strong && p620 >= m*strong:
			try(planTone, sum, min(p480, p620))
		case p440 >= m*strong && p480 >= m*strong && p350 < m*strong && p620 < m*strong:
			try(usRing, sum, min(p440, p480))
		}
	} else {
		try(planTone, p[f425], p[f425])
	}
	// A special information tone may sit at either precise frequency or at the round one:
	// the closest filter measures it.
	sit1 := max(p[fSit1a], p[fSit1b], p[fSit1c])
	sit2 := max(p[fSit2a], p[fSit2b], p[fSit2c])
	sit3 := max(p[fSit3a], p[fSit3b])
	try(sitLow, sit1, sit1)
	try(sitMid, sit2, sit2)
	try(sitHigh, sit3, sit3)
	try(cng, p[f1100], p[f1100])
	try(ced, p[f2100], p[f2100])
	return best
}

// track moves the segments on by one frame of class c and returns what that completes.
func (d *Detector) track(c class) Kind {
	switch {
	case c == d.cur.class:
		d.cur.frames += 1 + d.pend.frames // a stray frame or two inside a segment belong to it
		d.pend = segment{}
	case c == d.pend.class && d.pend.frames > 0:
		d.pend.frames++
		if d.pend.frames >= settleFrames {
			k := d.end(d.cur)
			d.cur, d.pend = d.pend, segment{}
			return k
		}
	default:
		d.cur.frames += d.pend.frames
		d.pend = segment{c, 1}
	}
	return d.ongoing()
}

// ongoing checks the segment under way: steady tones and the gap after ringback.
func (d *Detector) ongoing() Kind {
	s := d.spec
	switch {
	case d.cur.class == s.dialClass && d.cur.frames == s.dialAfter:
		return DialTone
	case d.cur.class == ced && d.cur.frames == cedFrames:
		return FaxCED
	case d.cur.class == off && d.cur.frames == ringGap:
		if p := d.prev(0); p.class == s.ringClass && s.ringOn.holds(p.frames) {
			return Ringback
		}
	}
	return None
}

// prev returns the i-th last finished segment (0: the last one).
func (d *Detector) prev(i int) segment {
	if i >= d.npast {
		return segment{class: off}
	}
	return d.past[(d.npast-1-i)%history]
}

// end files the finished segment s and returns what it completes.
func (d *Detector) end(s segment) Kind {
	d.past[d.npast%history] = s
	d.npast++
	if d.npast >= 2*history {
		d.npast -= history // keep the index small; the ring position is unchanged
	}
	sp := d.spec
	switch s.class {
	case sp.busyClass:
		// The last busyBursts tones and the gaps between them, all of the same cadence.
		for _, c := range [2]struct {
			k Kind
			r cadence
		}{{Busy, sp.busy}, {Congestion, sp.congestion}} {
			ok := true
			for i := range 2*busyBursts - 1 {
				p := d.prev(i)
				want := s.class
				if i%2 == 1 {
					want = off
				}
				if p.class != want || !c.r.holds(p.frames) {
					ok = false
					break
				}
			}
			if ok {
				return c.k
			}
		}
	case sitHigh:
		mid, low := d.prev(1), d.prev(2)
		if mid.class == sitMid && low.class == sitLow && sitOK(s) && sitOK(mid) && sitOK(low) {
			return SIT
		}
	case cng:
		if s.frames >= cngMin && s.frames <= cngMax {
			return FaxCNG
		}
	}
	return None
}

func sitOK(s segment) bool { return s.frames >= sitMin && s.frames <= sitMax }
