//go:build dspbench

// Command dspbench measures the hotline's DTMF receiver side by side with two open peers over
// one corpus it generates: spandsp's dtmf_rx (Debian libspandsp-dev, through cgo) and
// multimon-ng (the Debian binary, fed 22050 Hz audio made with voice.Resample). It prints a
// markdown table: per condition the keys detected, missed and inserted by each receiver, and
// their speed in samples per CPU-second.
//
// It is a benchmark-only helper, never part of the hotline binary: every file carries the
// build tag dspbench, so ordinary builds, vet, staticcheck and CGO_ENABLED=0 cross builds do
// not see it. Run it with
//
//	go run -tags dspbench ./voice/dspbench
//
// It needs libspandsp-dev, multimon-ng, sox and the speech corpus of voice/internal/testcorpus
// (asterisk-core-sounds-en-wav, asterisk-core-sounds-ru-wav, asterisk-moh-opsound-wav).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"hotline/voice"
	"hotline/voice/dtmf"
	"hotline/voice/internal/testcorpus"
	"hotline/voice/prompts"
	"hotline/voice/tone"
	"hotline/voice/wav"
)

// q24 says what ITU-T Q.24 (AT&T column) asks of a condition.
type q24 string

const (
	mustDetect q24 = "detect"
	mustReject q24 = "reject"
	either     q24 = "-"
)

// condition is one row of the table: a signal and the keys it carries.
type condition struct {
	name    string
	q24     q24
	samples []int16
	want    string // keys to be heard; "" for talk-off and must-reject rows
	pressed int    // key presses in the signal, out of limits in must-reject rows
}

// press is one key press of a generated signal.
type press struct {
	on, off       time.Duration
	lowDB, highDB float64 // level of each tone, dBm0
	dev           float64 // relative frequency error of both tones
	dropout       time.Duration
}

const keys = dtmf.Keys // all sixteen: "123A456B789C*0#D"

const reps = 4 // each condition sends every key this many times (64 keys)

// keySignal renders every key reps times with press p, and 200 ms of silence around.
func keySignal(p press) []int16 {
	s := tone.Silence(200 * time.Millisecond)
	for range reps {
		for i := range len(keys) {
			low, high, _ := tone.DTMFFreqs(keys[i])
			k := tone.Dual(low*(1+p.dev), high*(1+p.dev), p.on, p.lowDB, p.highDB)
			if p.dropout > 0 { // a gap in the middle of the tone
				mid := len(k) / 2
				clear(k[mid : mid+tone.Samples(p.dropout)])
			}
			s = append(s, k...)
			s = append(s, tone.Silence(p.off)...)
		}
	}
	return append(s, tone.Silence(200*time.Millisecond)...)
}

func std(on time.Duration, db float64) press {
	return press{on: on, off: on, lowDB: db, highDB: db}
}

func repeated(reject bool) string {
	if reject {
		return ""
	}
	return strings.Repeat(keys, reps)
}

// withNoise adds white Gaussian noise snr dB below the RMS of one tone at toneDB.
func withNoise(s []int16, toneDB, snr float64, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 7))
	sigma := tone.Amplitude(toneDB) / math.Sqrt2 * math.Pow(10, -snr/20)
	out := make([]int16, len(s))
	for i, v := range s {
		out[i] = clip(float64(v) + sigma*rng.NormFloat64())
	}
	return out
}

func clip(v float64) int16 {
	return int16(max(math.MinInt16, min(math.MaxInt16, math.Round(v))))
}

func g711(s []int16, enc func([]byte, []int16), dec func([]int16, []byte)) []int16 {
	b := make([]byte, len(s))
	enc(b, s)
	out := make([]int16, len(s))
	dec(out, b)
	return out
}

// gsm encodes s with GSM 06.10 full rate and decodes it again, with sox.
func gsm(s []int16) ([]int16, error) {
	var in bytes.Buffer
	if err := wav.Encode(&in, s, voice.Rate); err != nil {
		return nil, err
	}
	var enc, errOut bytes.Buffer
	c := exec.Command("sox", "-t", "wav", "-", "-t", "gsm", "-")
	c.Stdin, c.Stdout, c.Stderr = &in, &enc, &errOut
	if err := c.Run(); err != nil {
		return nil, fmt.Errorf("sox to GSM (Debian package sox): %w: %s", err, errOut.Bytes())
	}
	var out bytes.Buffer
	c = exec.Command("sox", "-t", "gsm", "-r", "8000", "-c", "1", "-", "-t", "raw", "-e", "signed", "-b", "16", "-L", "-")
	c.Stdin, c.Stdout, c.Stderr = &enc, &out, &errOut
	if err := c.Run(); err != nil {
		return nil, fmt.Errorf("sox from GSM: %w: %s", err, errOut.Bytes())
	}
	x := make([]int16, out.Len()/2)
	voice.DecodeS16LE(x, out.Bytes())
	return x, nil
}

// activeLevel is the RMS level in dBm0 of the 10 ms windows of s above -50 dBm0.
func activeLevel(s []int16) float64 {
	const w = voice.Rate / 100
	var p float64
	var n int
	for i := 0; i+w <= len(s); i += w {
		if l := tone.LevelDBm0(s[i : i+w]); l > -50 {
			p += math.Pow(10, l/10)
			n++
		}
	}
	if n == 0 {
		return -100
	}
	return 10 * math.Log10(p/float64(n))
}

// corpus builds every condition.
func corpus() ([]condition, error) {
	var cs []condition
	add := func(name string, q q24, s []int16, want string) {
		pressed := len(want)
		if q == mustReject && !strings.HasPrefix(name, "talk-off") {
			pressed = reps * len(keys)
		}
		cs = append(cs, condition{name, q, s, want, pressed})
	}
	for _, db := range []float64{0, -10, -25} {
		add(fmt.Sprintf("level %g dBm0", db), mustDetect, keySignal(std(50*time.Millisecond, db)), repeated(false))
	}
	add("level -35 dBm0", either, keySignal(std(50*time.Millisecond, -35)), repeated(false))
	add("level -45 dBm0", either, keySignal(std(50*time.Millisecond, -45)), repeated(false))
	add("level -55 dBm0", mustReject, keySignal(std(50*time.Millisecond, -55)), repeated(true))

	twist := func(name string, q q24, low, high float64) {
		p := std(50*time.Millisecond, 0)
		p.lowDB, p.highDB = low, high
		add(name, q, keySignal(p), repeated(q == mustReject))
	}
	twist("twist +4 dB (high louder)", mustDetect, -14, -10)
	twist("twist -8 dB (low louder)", mustDetect, -8, -16)
	twist("twist +6 dB", either, -16, -10)
	twist("twist -10 dB", either, -8, -18)

	for _, d := range []struct {
		dev float64
		q   q24
	}{{0.015, mustDetect}, {-0.015, mustDetect}, {0.025, either}, {-0.025, either}, {0.035, mustReject}, {-0.035, mustReject}} {
		p := std(50*time.Millisecond, -10)
		p.dev = d.dev
		add(fmt.Sprintf("frequency %+.1f %%", 100*d.dev), d.q, keySignal(p), repeated(d.q == mustReject))
	}

	for _, d := range []struct {
		on time.Duration
		q  q24
	}{{100 * time.Millisecond, mustDetect}, {40 * time.Millisecond, mustDetect}, {30 * time.Millisecond, either}, {23 * time.Millisecond, mustReject}} {
		add(fmt.Sprintf("tone and pause %v", d.on), d.q, keySignal(std(d.on, -10)), repeated(d.q == mustReject))
	}
	p := std(100*time.Millisecond, -10)
	p.dropout = 10 * time.Millisecond
	add("10 ms dropout in a 100 ms tone", mustDetect, keySignal(p), repeated(false))

	for i, snr := range []float64{20, 15, 10, 6} {
		q := either
		if snr >= 15 {
			q = mustDetect
		}
		add(fmt.Sprintf("white noise S/N %g dB", snr), q,
			withNoise(keySignal(std(50*time.Millisecond, -10)), -10, snr, uint64(i)), repeated(false))
	}

	add("G.711 mu-law, -10 dBm0", mustDetect, g711(keySignal(std(50*time.Millisecond, -10)), voice.ULawEncode, voice.ULawDecode), repeated(false))
	add("G.711 A-law, -25 dBm0", mustDetect, g711(keySignal(std(50*time.Millisecond, -25)), voice.ALawEncode, voice.ALawDecode), repeated(false))
	for _, db := range []float64{-10, -20} {
		s, err := gsm(keySignal(std(70*time.Millisecond, db)))
		if err != nil {
			return nil, err
		}
		add(fmt.Sprintf("GSM 06.10, 70 ms, %g dBm0", db), mustDetect, s, repeated(false))
	}

	files, err := testcorpus.Files()
	if err != nil {
		return nil, err
	}
	var speech []int16
	for _, f := range files {
		speech = append(speech, f.Samples...)
		speech = append(speech, tone.Silence(100*time.Millisecond)...)
	}

	// Talk-down: 70 ms keys at -10 dBm0 every 400 ms over English speech whose active level is
	// 12 dB below them.
	var en []int16
	for _, f := range files {
		if f.Package == testcorpus.Packages[0] && len(en) < 120*voice.Rate {
			en = append(en, f.Samples...)
		}
	}
	g := math.Pow(10, (-22-activeLevel(en))/20)
	mix := make([]float64, len(en))
	for i, v := range en {
		mix[i] = float64(v) * g
	}
	var want strings.Builder
	step := tone.Samples(400 * time.Millisecond)
	for at, i := step/2, 0; at+step <= len(mix); at, i = at+step, i+1 {
		k := keys[i%len(keys)]
		low, high, _ := tone.DTMFFreqs(k)
		for j, v := range tone.Dual(low, high, 70*time.Millisecond, -10, -10) {
			mix[at+j] += float64(v)
		}
		want.WriteByte(k)
	}
	talkDown := make([]int16, len(mix))
	for i, v := range mix {
		talkDown[i] = clip(v)
	}
	add("talk-down: speech 12 dB below the keys", either, talkDown, want.String())

	played, err := promptAudio()
	if err != nil {
		return nil, err
	}
	for i, e := range []struct {
		lossDB, keyDB float64
		on            time.Duration
	}{{6, -16, 50 * time.Millisecond}, {10, -16, 50 * time.Millisecond}, {20, -25, 70 * time.Millisecond}} {
		s, want := bargeIn(played, e.lossDB, e.keyDB, e.on, uint64(i))
		add(fmt.Sprintf("barge-in: %v keys at %g dBm0 over prompt echo %g dB down", e.on, e.keyDB, e.lossDB), either, s, want)
	}

	add(fmt.Sprintf("talk-off: %.1f min of speech and music", float64(len(speech))/voice.Rate/60), mustReject, speech, "")
	loud := make([]int16, len(speech))
	for i, v := range speech {
		loud[i] = clip(4 * float64(v))
	}
	add("talk-off: the same +12 dB, mu-law", either, g711(loud, voice.ULawEncode, voice.ULawDecode), "")
	return cs, nil
}

// promptAudio returns every default prompt of every language, one after the other with 300 ms
// between: what the box plays while it listens for keys.
func promptAudio() ([]int16, error) {
	var all []int16
	for _, lang := range prompts.Languages() {
		for _, name := range prompts.Names() {
			s, err := prompts.Load(lang, name)
			if err != nil {
				return nil, err
			}
			all = append(all, s...)
			all = append(all, tone.Silence(300*time.Millisecond)...)
		}
	}
	return all, nil
}

// bargeIn returns keys pressed over the echo of played, and the keys: the echo lossDB down and
// 32 ms late with a second reflection 6 dB weaker 12 ms after it, line noise at -65 dBm0, a key
// every 330 ms, all through mu-law.
func bargeIn(played []int16, lossDB, keyDB float64, on time.Duration, seed uint64) ([]int16, string) {
	g := math.Pow(10, -lossDB/20)
	d1 := tone.Samples(32 * time.Millisecond)
	d2 := d1 + tone.Samples(12*time.Millisecond)
	rng := rand.New(rand.NewPCG(seed, 9))
	noise := tone.Amplitude(-65) / math.Sqrt2
	x := make([]float64, len(played)+d2)
	for i, v := range played {
		x[i+d1] += g * float64(v)
		x[i+d2] += g / 2 * float64(v)
	}
	for i := range x {
		x[i] += rng.NormFloat64() * noise
	}
	var want strings.Builder
	step := tone.Samples(330 * time.Millisecond)
	for at, i := step/3, 0; at+2*step <= len(x); at, i = at+step, i+1 {
		k := keys[i%len(keys)]
		low, high, _ := tone.DTMFFreqs(k)
		for j, v := range tone.Dual(low, high, on, keyDB, keyDB) {
			x[at+j] += float64(v)
		}
		want.WriteByte(k)
	}
	s := make([]int16, len(x))
	for i, v := range x {
		s[i] = clip(v)
	}
	return g711(s, voice.ULawEncode, voice.ULawDecode), want.String()
}

// score aligns the keys heard with the keys sent (longest common subsequence).
func score(want, got string) (detected, missed, inserted int) {
	prev := make([]int, len(got)+1)
	cur := make([]int, len(got)+1)
	for i := range len(want) {
		for j := range len(got) {
			if want[i] == got[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(cur[j], prev[j+1])
			}
		}
		prev, cur = cur, prev
	}
	l := prev[len(got)]
	return l, len(want) - l, len(got) - l
}

// threadCPU returns the CPU time of the calling OS thread.
func threadCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// receiver decodes a whole signal and reports the CPU time it took.
type receiver struct {
	name   string
	decode func([]int16) (string, time.Duration, error)
}

// inProcess times f on the current thread.
func inProcess(f func([]int16) (string, error)) func([]int16) (string, time.Duration, error) {
	return func(s []int16) (string, time.Duration, error) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		t0 := threadCPU()
		k, err := f(s)
		return k, threadCPU() - t0, err
	}
}

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run -tags dspbench ./voice/dspbench\n\nPrints a markdown table of the DTMF receivers side by side.")
	}
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dspbench:", err)
		os.Exit(1)
	}
}

func run() error {
	cs, err := corpus()
	if err != nil {
		return err
	}
	rs := []receiver{
		{"hotline", inProcess(func(s []int16) (string, error) { return dtmf.Decode(s), nil })},
		{"spandsp", inProcess(spandspDecode)},
		{"multimon-ng", multimonDecode},
	}
	type result struct{ d, m, i int }
	results := make([][]result, len(cs))
	cpu := make([]time.Duration, len(rs))
	var samples int
	for ci, c := range cs {
		samples += len(c.samples)
		for ri, r := range rs {
			got, t, err := r.decode(c.samples)
			if err != nil {
				return fmt.Errorf("%s, %s: %w", r.name, c.name, err)
			}
			cpu[ri] += t
			d, m, i := score(c.want, got)
			results[ci] = append(results[ci], result{d, m, i})
		}
		fmt.Fprintf(os.Stderr, "%s done\n", c.name)
	}

	fmt.Printf("Keys detected / missed / inserted; Q.24 says which rows must detect every key and which must\n")
	fmt.Printf("detect none (%s, %s/%s, %d CPUs).\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Print("| condition | Q.24 | key presses |")
	for _, r := range rs {
		fmt.Printf(" %s |", r.name)
	}
	fmt.Print("\n|---|---|---|")
	for range rs {
		fmt.Print("---|")
	}
	fmt.Println()
	for ci, c := range cs {
		fmt.Printf("| %s | %s | %d |", c.name, c.q24, c.pressed)
		for ri := range rs {
			r := results[ci][ri]
			mark := ""
			if c.q24 == mustDetect && (r.m > 0 || r.i > 0) || c.q24 == mustReject && r.i > 0 {
				mark = " **fail**"
			}
			fmt.Printf(" %d / %d / %d%s |", r.d, r.m, r.i, mark)
		}
		fmt.Println()
	}
	fmt.Printf("| speed: 8 kHz samples per CPU-second (%.1f min of audio) | | |", float64(samples)/voice.Rate/60)
	for ri := range rs {
		fmt.Printf(" %.3g (%.0fx real time) |", float64(samples)/cpu[ri].Seconds(), float64(samples)/voice.Rate/cpu[ri].Seconds())
	}
	fmt.Println()
	return nil
}
