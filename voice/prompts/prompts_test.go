package prompts

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/voice"
	"hotline/voice/dtmf"
	"hotline/voice/tone"
	"hotline/voice/wav"
)

func TestCatalogue(t *testing.T) {
	if got, want := Languages(), []string{"ru", "en"}; !slices.Equal(got, want) {
		t.Errorf("Languages() = %v, want %v", got, want)
	}
	want := []string{Greeting, Menu, About, Invalid, Voicemail, Goodbye, AfterHours, Connecting, AllBusy,
		QueuePosition1, QueuePosition2, QueuePosition3, QueuePosition4, QueuePosition5, QueueWait,
		CallbackOffer, CallbackDone, Survey, SurveyThanks, OperatorAnnounce, RecordingNotice, LanguageChoice, SMSSent}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	// Every text has its file and every file its text.
	wavs, err := fs.Glob(files, "*/*.wav")
	if err != nil {
		t.Fatal(err)
	}
	if len(wavs) != len(Languages())*len(Names()) {
		t.Errorf("%d embedded files for %d languages x %d prompts: %v", len(wavs), len(Languages()), len(Names()), wavs)
	}
	for _, lang := range Languages() {
		for _, name := range Names() {
			text, err := Text(lang, name)
			if err != nil || strings.TrimSpace(text) == "" {
				t.Errorf("%s/%s: no text (%v)", lang, name, err)
			}
		}
	}
	if ru, _ := Text("ru", Greeting); !strings.Contains(ru, "Здравствуйте") {
		t.Errorf("ru greeting: %q", ru)
	}
	if en, _ := Text("en", Greeting); !strings.Contains(en, "Hello") {
		t.Errorf("en greeting: %q", en)
	}
}

func TestEveryPrompt(t *testing.T) {
	for _, lang := range Languages() {
		for _, name := range Names() {
			s, err := Load(lang, name)
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, name, err)
			}
			sec := float64(len(s)) / voice.Rate
			if sec < 0.5 || sec > 15 {
				t.Errorf("%s/%s: %.1f s long", lang, name, sec)
			}
			// Loud enough to hear, not so loud that it clips: RMS near -20 dBm0, peaks below
			// full scale.
			if l := tone.LevelDBm0(s); l < -23 || l > -17 {
				t.Errorf("%s/%s: level %.1f dBm0", lang, name, l)
			}
			var peak int
			for _, v := range s {
				peak = max(peak, int(v), -int(v))
			}
			if peak >= 32000 {
				t.Errorf("%s/%s: peak %d clips", lang, name, peak)
			}
			// The caller hears the voice at once: at most 100 ms of silence before it.
			if lead := leadingSilence(s); lead > 100*time.Millisecond {
				t.Errorf("%s/%s: %v of silence before the voice", lang, name, lead)
			}
			if keys := dtmf.Decode(s); keys != "" {
				t.Errorf("%s/%s: the DTMF receiver hears %q in it", lang, name, keys)
			}
			// The embedded file is 8 kHz mono G.711 A-law (format tag 6, 8 bits), one byte a
			// sample and a short header, and decodes to what Load returns.
			raw, err := fs.ReadFile(files, lang+"/"+name+".wav")
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) < 36 || binary.LittleEndian.Uint16(raw[20:]) != 6 || binary.LittleEndian.Uint16(raw[34:]) != 8 {
				t.Errorf("%s/%s: not an 8-bit A-law WAV file: % x", lang, name, raw[:min(len(raw), 36)])
			}
			if extra := len(raw) - len(s); extra < 0 || extra > 100 {
				t.Errorf("%s/%s: %d bytes for %d samples", lang, name, len(raw), len(s))
			}
			a, err := wav.Decode(bytes.NewReader(raw))
			if err != nil || a.Rate != voice.Rate || a.Channels != 1 || !slices.Equal(a.Samples, s) {
				t.Errorf("%s/%s: %v, %+v", lang, name, err, a)
			}
			// On an A-law line the prompt goes out bit for bit as stored.
			alaw := make([]byte, len(s))
			voice.ALawEncode(alaw, s)
			if !bytes.Contains(raw, alaw) {
				t.Errorf("%s/%s: A-law encoding of the decoded prompt differs from the stored bytes", lang, name)
			}
		}
	}
}

// leadingSilence is the time before the first 10 ms of s above -55 dBm0.
func leadingSilence(s []int16) time.Duration {
	const w = voice.Rate / 100
	for i := 0; i+w <= len(s); i += w {
		if tone.LevelDBm0(s[i:i+w]) > -55 {
			return time.Duration(i) * time.Second / voice.Rate
		}
	}
	return time.Duration(len(s)) * time.Second / voice.Rate
}

func TestLoadFallbackAndErrors(t *testing.T) {
	ru, err := Load("ru", Menu)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"de", "", "RU", "../en"} {
		s, err := Load(lang, Menu)
		if err != nil || !slices.Equal(s, ru) {
			t.Errorf("Load(%q, menu) did not fall back to ru: %v", lang, err)
		}
	}
	en, _ := Load("en", Menu)
	if slices.Equal(en, ru) {
		t.Error("en and ru menus are the same sound")
	}
	for _, name := range []string{"", "nope", "../ru/menu", "menu.wav", "texts"} {
		if _, err := Load("en", name); !errors.Is(err, ErrUnknown) {
			t.Errorf("Load(en, %q): %v, want ErrUnknown", name, err)
		}
		if _, err := Text("en", name); !errors.Is(err, ErrUnknown) {
			t.Errorf("Text(en, %q): %v, want ErrUnknown", name, err)
		}
	}
}

// TestMakePromptsReproducible runs make-prompts.sh in a scratch copy and checks that it makes
// exactly the committed files: the script is the source of the prompts. It needs espeak-ng and
// sox (with soxi), like `make prompts`.
func TestMakePromptsReproducible(t *testing.T) {
	for _, tool := range []string{"espeak-ng", "sox", "soxi"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("make-prompts.sh needs %s (apt-get install espeak-ng sox): %v", tool, err)
		}
	}
	dir := t.TempDir()
	for _, f := range []string{"make-prompts.sh", "texts.tsv"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sh", filepath.Join(dir, "make-prompts.sh"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make-prompts.sh: %v\n%s", err, out)
	}
	for _, lang := range Languages() {
		for _, name := range Names() {
			p := filepath.Join(lang, name+".wav")
			made, err := os.ReadFile(filepath.Join(dir, p))
			if err != nil {
				t.Fatal(err)
			}
			committed, err := fs.ReadFile(files, lang+"/"+name+".wav")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(made, committed) {
				t.Errorf("%s differs from what make-prompts.sh makes now (run make prompts)", p)
			}
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load("ru", About); err != nil {
			b.Fatal(err)
		}
	}
}

func TestQueuePosition(t *testing.T) {
	for n := -1; n <= 7; n++ {
		name, ok := QueuePosition(n)
		if ok != (n >= 1 && n <= 5) {
			t.Errorf("QueuePosition(%d) = %q, %v", n, name, ok)
			continue
		}
		if !ok {
			continue
		}
		if !slices.Contains(Names(), name) {
			t.Errorf("QueuePosition(%d) = %q, not a prompt", n, name)
		}
		if text, _ := Text("en", name); !strings.Contains(text, "in the queue") {
			t.Errorf("%s: %q", name, text)
		}
	}
}
