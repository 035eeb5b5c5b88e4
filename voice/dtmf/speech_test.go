package dtmf

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"hotline/voice"
	"hotline/voice/tone"
	"hotline/voice/wav"
)

// Talk-off: speech must not make keys. The speech is synthesised with espeak-ng (which the tests
// need, like `make test` installs it) in several voices, speeds and pitches.

var speechTexts = map[string]string{
	"en": `Good morning, and thank you for calling. My name is Margaret, how can I help you today?
I was hoping to book a table for six people on Saturday evening, around seven thirty if possible.
The weather has been awful this week: rain, wind, and even a little snow on Tuesday morning.
Could you please repeat the number? Was it four, five, nine, or was it one, three, eight?
We sell fresh bread, cheese, vegetables and flowers at the market every Friday from eight to two.
Oh really? That is wonderful news! I am so happy for both of you, congratulations!
Please hold the line while I check whether the manager is available to speak with you.
She sells sea shells by the sea shore, and the shells she sells are surely sea shells.
Our address is twenty two Baker Street, on the second floor, next to the pharmacy.
Hmm, let me think. Yes, yes, I remember now, the delivery came on the seventeenth of March.
Whistling, humming, singing: oooh, aaah, eeeh, mmmm, la la la, do re mi fa sol la ti do.
The quick brown fox jumps over the lazy dog, while the children laugh and shout in the garden.`,
	"ru": `Добрый день! Спасибо, что позвонили. Меня зовут Ольга, чем я могу вам помочь?
Я хотел бы заказать доставку на завтра, на утро, если это возможно, часов на десять.
Погода на этой неделе ужасная: дождь, ветер, а во вторник утром даже выпал снег.
Повторите, пожалуйста, номер. Четыре, пять, девять? Или один, три, восемь?
Мы продаём свежий хлеб, сыр, овощи и цветы на рынке каждую пятницу с восьми до двух.
Правда? Это замечательная новость! Я так рада за вас обоих, поздравляю!
Подождите, пожалуйста, на линии, я проверю, может ли менеджер с вами поговорить.
Шла Саша по шоссе и сосала сушку. Карл у Клары украл кораллы, а Клара у Карла украла кларнет.
Наш адрес: улица Ленина, дом двадцать два, второй этаж, рядом с аптекой.
Так, сейчас подумаю. Да, да, вспомнила: доставка пришла семнадцатого марта.
Ааа, ооо, ууу, иии, эээ, ммм, ля-ля-ля, до, ре, ми, фа, соль, ля, си, до.
Съешь же ещё этих мягких французских булок, да выпей чаю.`,
}

// speaker is one espeak-ng setting.
type speaker struct{ lang, voice, speed, pitch string }

var speakers = []speaker{
	{"en", "en-us", "160", "50"},
	{"en", "en-gb", "200", "30"},
	{"en", "en-us+f3", "150", "70"},
	{"en", "en-us+f2", "130", "99"},
	{"ru", "ru", "160", "50"},
	{"ru", "ru+f2", "150", "75"},
	{"ru", "ru+m3", "190", "25"},
	{"ru", "ru+f4", "130", "99"},
}

var (
	speechOnce  sync.Once
	speechAudio map[speaker][]int16
	speechErr   error
)

// speech returns the test speech of every speaker at 8 kHz, made once per test run.
func speech(t *testing.T) map[speaker][]int16 {
	t.Helper()
	speechOnce.Do(func() {
		if _, err := exec.LookPath("espeak-ng"); err != nil {
			speechErr = fmt.Errorf("the talk-off tests need espeak-ng (apt-get install espeak-ng): %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "talkoff")
		if err != nil {
			speechErr = err
			return
		}
		defer os.RemoveAll(dir)
		speechAudio = map[speaker][]int16{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		errs := make(chan error, len(speakers))
		for i, sp := range speakers {
			wg.Go(func() {
				path := filepath.Join(dir, fmt.Sprintf("s%d.wav", i))
				cmd := exec.Command("espeak-ng", "-v", sp.voice, "-s", sp.speed, "-p", sp.pitch, "-w", path, "--", speechTexts[sp.lang])
				if out, err := cmd.CombinedOutput(); err != nil {
					errs <- fmt.Errorf("espeak-ng %v: %w: %s", sp, err, out)
					return
				}
				s, err := wav.ReadFileMono8k(path)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				speechAudio[sp] = s
				mu.Unlock()
			})
		}
		wg.Wait()
		close(errs)
		speechErr = <-errs
	})
	if speechErr != nil {
		t.Fatal(speechErr)
	}
	return speechAudio
}

// setLevel scales s so that its RMS is db dBm0, clipping at full scale.
//
//go:norace
func setLevel(s []int16, db float64) []int16 {
	g := math.Pow(10, (db-tone.LevelDBm0(s))/20)
	out := make([]int16, len(s))
	for i, v := range s {
		out[i] = clip(float64(v) * g)
	}
	return out
}

func TestTalkOff(t *testing.T) {
	var total float64
	type job struct {
		sp   speaker
		name string
		x    []int16
	}
	var jobs []job
	for sp, s := range speech(t) {
		if len(s) < 20*voice.Rate {
			t.Fatalf("%v: only %d samples of speech", sp, len(s))
		}
		total += float64(len(s)) / voice.Rate
		for _, tc := range []struct {
			name string
			db   float64
		}{
			{"as synthesised", math.NaN()},
			{"-20 dBm0", -20},
			{"-30 dBm0", -30},
			{"-8 dBm0, clipped", -8}, // +12 dB over a usual level
			{"-2 dBm0, clipped", -2}, // hard clipping
		} {
			x := s
			if !math.IsNaN(tc.db) {
				x = setLevel(s, tc.db)
			}
			jobs = append(jobs, job{sp, tc.name, x})
		}
	}
	// Each condition plain and through G.711 as well, on every core.
	err := parallel(2*len(jobs), func(i int) error {
		j := jobs[i/2]
		name, x := j.name, j.x
		if i%2 == 1 {
			name += ", A-law"
			x = slices.Clone(x)
			codecRoundTrip(voice.ALawEncode, voice.ALawDecode)(x)
		}
		if got := Decode(x); got != "" {
			t.Errorf("%v %s: speech made keys %q", j.sp, name, got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%.0f s of speech in %d voices, each at 5 levels", total, len(speakers))
}

// TestTalkDown mixes digits over speech 12 dB below them; every digit must be heard, and nothing
// else.
func TestTalkDown(t *testing.T) {
	for sp, s := range speech(t) {
		x := setLevel(s, -22) // the tones are at -10 dBm0 each
		var want strings.Builder
		// A digit every 400 ms: 70 ms tone, the rest speech only.
		for i, n := 0, voice.Rate/2; n+voice.Rate/10 < len(x); i, n = i+1, n+2*voice.Rate/5 {
			k := Keys[i%len(Keys)]
			d, err := tone.DTMF(k, 70*ms, -10)
			if err != nil {
				t.Fatal(err)
			}
			for j, v := range d {
				x[n+j] = clip(float64(x[n+j]) + float64(v))
			}
			want.WriteByte(k)
		}
		if got := Decode(x); got != want.String() {
			t.Errorf("%v: heard\n%q, want\n%q", sp, got, want.String())
		}
	}
}
