package custom

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/voice/importer"
	"hotline/voice/wav"
)

// toneWAV is secs seconds of a 440 Hz sine at amplitude amp, as a WAV file at rate.
func toneWAV(t *testing.T, secs float64, amp float64, rate int) []byte {
	t.Helper()
	n := int(secs * float64(rate))
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(amp * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
	}
	var b bytes.Buffer
	if err := wav.Encode(&b, s, rate); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestPromptsSaveLoadListDelete(t *testing.T) {
	p := Prompts{Dir: filepath.Join(t.TempDir(), PromptDir)}
	if list, err := p.List(); err != nil || len(list) != 0 {
		t.Fatalf("empty folder: %v, %v", list, err)
	}
	if _, err := p.Load("ru", "greeting"); !errors.Is(err, ErrNoPrompt) {
		t.Fatalf("load of a missing prompt: %v, want ErrNoPrompt", err)
	}
	// A quiet 16 kHz recording comes out at 8 kHz, louder, at the importer's level.
	got, err := p.Save("ru", "greeting", bytes.NewReader(toneWAV(t, 1.5, 800, 16000)), 0)
	if err != nil {
		t.Fatalf("save: %v", err)
	}
	if d := got.Duration; d < 1400*time.Millisecond || d > 1600*time.Millisecond {
		t.Errorf("duration %v, want about 1.5 s", d)
	}
	if l := got.Level.VoicedDBm0; math.Abs(l-importer.TargetDBm0) > 1.5 {
		t.Errorf("level %.1f dBm0, want about %.0f", l, importer.TargetDBm0)
	}
	s, err := p.Load("ru", "greeting")
	if err != nil || len(s) < 11000 || len(s) > 13000 {
		t.Fatalf("load: %d samples, %v", len(s), err)
	}
	if !p.Has("ru", "greeting") || p.Has("en", "greeting") {
		t.Errorf("Has is wrong")
	}
	if _, err := p.Save("en", "my_menu_2", bytes.NewReader(toneWAV(t, 0.5, 8000, 8000)), 0); err != nil {
		t.Fatalf("save a new name: %v", err)
	}
	list, err := p.List()
	if err != nil || len(list) != 2 || list[0].Lang != "en" || list[0].Name != "my_menu_2" || list[1].Name != "greeting" {
		t.Fatalf("list %+v, %v", list, err)
	}
	if err := p.Delete("ru", "greeting"); err != nil {
		t.Fatal(err)
	}
	if err := p.Delete("ru", "greeting"); err != nil {
		t.Errorf("delete twice: %v", err)
	}
	if _, err := p.Load("ru", "greeting"); !errors.Is(err, ErrNoPrompt) {
		t.Errorf("after delete: %v", err)
	}
	assertNoTemp(t, p.Dir)
}

func TestPromptsRefuse(t *testing.T) {
	p := Prompts{Dir: filepath.Join(t.TempDir(), PromptDir)}
	good := toneWAV(t, 0.5, 8000, 8000)
	torn := good[:30]
	for _, tc := range []struct {
		name, lang, prompt string
		data               []byte
		max                int64
		want               error
	}{
		{"dot dot", "ru", "../x", good, 0, ErrBadName},
		{"slash", "ru", "a/b", good, 0, ErrBadName},
		{"upper", "ru", "Greeting", good, 0, ErrBadName},
		{"too long", "ru", strings.Repeat("a", 41), good, 0, ErrBadName},
		{"empty", "ru", "", good, 0, ErrBadName},
		{"bad lang", "../..", "x", good, 0, ErrBadName},
		{"text file", "ru", "x", []byte("<html>hello</html>"), 0, importer.ErrNotAudio},
		{"torn wav", "ru", "x", torn, 0, importer.ErrNotAudio},
		{"too big", "ru", "x", good, 1000, importer.ErrTooLarge},
		{"silence", "ru", "x", toneWAV(t, 0.5, 0, 8000), 0, importer.ErrSilent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Save(tc.lang, tc.prompt, bytes.NewReader(tc.data), tc.max)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Save: %v, want %v", err, tc.want)
			}
			if list, _ := p.List(); len(list) != 0 {
				t.Errorf("a refused file left a prompt: %+v", list)
			}
			assertNoTemp(t, p.Dir)
		})
	}
}

// TestPromptsKeepOldOnFailure: a refused upload leaves the earlier prompt as it was.
func TestPromptsKeepOldOnFailure(t *testing.T) {
	p := Prompts{Dir: filepath.Join(t.TempDir(), PromptDir)}
	if _, err := p.Save("ru", "greeting", bytes.NewReader(toneWAV(t, 1, 8000, 8000)), 0); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(p.Dir, "ru", "greeting.wav"))
	if _, err := p.Save("ru", "greeting", strings.NewReader("RIFF\x00\x00"), 0); err == nil {
		t.Fatal("a torn file was taken")
	}
	after, _ := os.ReadFile(filepath.Join(p.Dir, "ru", "greeting.wav"))
	if !bytes.Equal(before, after) || len(after) == 0 {
		t.Error("the earlier prompt changed")
	}
}

func TestLoudness(t *testing.T) {
	if l := Loudness(make([]int16, 800)); l.VoicedDBm0 > -99 {
		t.Errorf("silence: %+v", l)
	}
	// A full-scale sine is +3.17 dBm0.
	s := make([]int16, 8000)
	for i := range s {
		s[i] = int16(32767 * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	l := Loudness(s)
	if math.Abs(l.VoicedDBm0-3.17) > 0.3 || math.Abs(l.PeakDBm0-3.17) > 0.3 {
		t.Errorf("full-scale sine: %+v", l)
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

func TestHasAll(t *testing.T) {
	p := Prompts{Dir: t.TempDir()}
	if _, err := p.Save("ru", "price", bytes.NewReader(toneWAV(t, 0.3, 8000, 8000)), 0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		langs []string
		want  bool
	}{{[]string{"ru"}, true}, {[]string{"ru", "en"}, false}, {nil, false}} {
		if got := p.HasAll("price", tc.langs); got != tc.want {
			t.Errorf("HasAll(price, %v) = %v", tc.langs, got)
		}
	}
}

func TestOr(t *testing.T) {
	dir := t.TempDir()
	p := Prompts{Dir: dir}
	if _, err := p.Save("ru", "greeting", bytes.NewReader(toneWAV(t, 0.3, 8000, 8000)), 0); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "ru", "menu.wav"), []byte("torn"))
	embedded := func(lang, name string) ([]int16, error) { return []int16{1, 2, 3}, nil }
	load := p.Or(embedded)
	for _, tc := range []struct {
		lang, name string
		own        bool
	}{{"ru", "greeting", true}, {"en", "greeting", false}, {"ru", "menu", false}, {"ru", "about", false}, {"xx-YY", "greeting", false}} {
		s, err := load(tc.lang, tc.name)
		if err != nil {
			t.Fatalf("%s/%s: %v", tc.lang, tc.name, err)
		}
		if own := len(s) > 3; own != tc.own {
			t.Errorf("%s/%s: owner's prompt %v, want %v", tc.lang, tc.name, own, tc.own)
		}
	}
}
