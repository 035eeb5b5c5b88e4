package custom

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"hotline/internal/atomicfile"
	"hotline/voice"
	"hotline/voice/importer"
	"hotline/voice/wav"
)

// PromptDir is the folder of the owner's prompts inside the data directory.
const PromptDir = "prompts"

// MaxUploadBytes is the largest sound file Save takes by default.
const MaxUploadBytes = 20 << 20

// ErrNoPrompt means the owner has no prompt of that name and language (play the embedded one).
var ErrNoPrompt = errors.New("no custom prompt")

// ErrBadName means a prompt name or language that is not allowed.
var ErrBadName = errors.New("bad prompt name")

var (
	nameRE = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)
	langRE = regexp.MustCompile(`^[a-z]{2}$`)
)

// ValidName reports whether name may name a prompt: 1 to 40 of a-z, 0-9 and _.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// ValidLang reports whether lang may name a language folder: two letters a-z.
func ValidLang(lang string) bool { return langRE.MatchString(lang) }

// Prompts is the owner's prompt folder, DATA/prompts. The zero Dir is refused by every method.
type Prompts struct {
	Dir string
}

// Prompt describes one stored prompt.
type Prompt struct {
	Lang, Name string
	Duration   time.Duration
	Level      Level
	ModTime    time.Time
}

// Level is how loud a prompt is: the RMS of its voiced part and its peak, in dBm0.
type Level struct {
	VoicedDBm0, PeakDBm0 float64
}

func (p Prompts) path(lang, name string) (string, error) {
	if p.Dir == "" {
		return "", errors.New("custom prompts: no folder")
	}
	if !ValidLang(lang) || !ValidName(name) {
		return "", fmt.Errorf("custom prompts: %q/%q: %w", lang, name, ErrBadName)
	}
	return filepath.Join(p.Dir, lang, name+".wav"), nil
}

// Load returns the owner's prompt name in lang as 8 kHz samples, or an error wrapping
// ErrNoPrompt when there is none (the caller then plays the embedded prompt).
func (p Prompts) Load(lang, name string) ([]int16, error) {
	path, err := p.path(lang, name)
	if err != nil {
		return nil, err
	}
	s, err := wav.ReadFileMono8k(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("custom prompts: %s/%s: %w", lang, name, ErrNoPrompt)
	}
	if err != nil {
		return nil, fmt.Errorf("custom prompts: load %s/%s: %w", lang, name, err)
	}
	return s, nil
}

// Has reports whether the owner has a prompt name in lang.
func (p Prompts) Has(lang, name string) bool {
	path, err := p.path(lang, name)
	if err != nil {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// Path returns the file of the owner's prompt, or an error wrapping ErrNoPrompt.
func (p Prompts) Path(lang, name string) (string, error) {
	path, err := p.path(lang, name)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("custom prompts: %s/%s: %w", lang, name, ErrNoPrompt)
	}
	return path, nil
}

// List returns the owner's prompts sorted by language and name. A missing folder is an empty
// list; files that are not prompts (temporary files, other names) are left out.
func (p Prompts) List() ([]Prompt, error) {
	if p.Dir == "" {
		return nil, errors.New("custom prompts: no folder")
	}
	langs, err := os.ReadDir(p.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("custom prompts: list: %w", err)
	}
	var out []Prompt
	for _, l := range langs {
		if !l.IsDir() || !ValidLang(l.Name()) {
			continue
		}
		files, err := os.ReadDir(filepath.Join(p.Dir, l.Name()))
		if err != nil {
			return nil, fmt.Errorf("custom prompts: list %s: %w", l.Name(), err)
		}
		for _, f := range files {
			name, ok := strings.CutSuffix(f.Name(), ".wav")
			if !ok || !ValidName(name) || !f.Type().IsRegular() {
				continue
			}
			s, err := p.Load(l.Name(), name)
			if err != nil {
				continue // a damaged file plays as the embedded prompt; the page shows it missing
			}
			info, _ := f.Info()
			pr := Prompt{Lang: l.Name(), Name: name, Duration: Duration(s), Level: Loudness(s)}
			if info != nil {
				pr.ModTime = info.ModTime()
			}
			out = append(out, pr)
		}
	}
	slices.SortFunc(out, func(a, b Prompt) int {
		return strings.Compare(a.Lang+"/"+a.Name, b.Lang+"/"+b.Name)
	})
	return out, nil
}

// Save imports a WAV or MP3 file from r (at most maxBytes; MaxUploadBytes when <= 0) as the
// owner's prompt name in lang, replacing any earlier one. Nothing is written unless the whole
// file imports; the errors of hotline/voice/importer are wrapped (ErrNotAudio, ErrTooLarge,
// ErrSilent, ...), so the caller can explain them.
func (p Prompts) Save(lang, name string, r io.Reader, maxBytes int64) (Prompt, error) {
	path, err := p.path(lang, name)
	if err != nil {
		return Prompt{}, err
	}
	if maxBytes <= 0 {
		maxBytes = MaxUploadBytes
	}
	s, err := importer.Import(r, maxBytes)
	if err != nil {
		return Prompt{}, fmt.Errorf("custom prompts: import %s/%s: %w", lang, name, err)
	}
	var buf bytes.Buffer
	if err := wav.Encode(&buf, s, voice.Rate); err != nil {
		return Prompt{}, fmt.Errorf("custom prompts: %w", err)
	}
	if err := writeFileAtomic(path, buf.Bytes()); err != nil {
		return Prompt{}, fmt.Errorf("custom prompts: save %s/%s: %w", lang, name, err)
	}
	return Prompt{Lang: lang, Name: name, Duration: Duration(s), Level: Loudness(s), ModTime: time.Now()}, nil
}

// Delete removes the owner's prompt name in lang; the embedded one plays again. Deleting a
// prompt that is not there is not an error.
func (p Prompts) Delete(lang, name string) error {
	path, err := p.path(lang, name)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("custom prompts: delete %s/%s: %w", lang, name, err)
	}
	return syncDir(filepath.Dir(path))
}

// Duration is how long samples at 8 kHz last.
func Duration(s []int16) time.Duration {
	return time.Duration(len(s)) * time.Second / voice.Rate
}

// Loudness measures s (8 kHz) the way the importer levels it: the RMS of the 20 ms frames no
// more than 30 dB below the loudest one, and the peak. Silence is voice.SilenceLevel.
func Loudness(s []int16) Level {
	var f voice.Frame
	var levels []float64
	peak := voice.SilenceLevel
	for i := 0; i < len(s); i += voice.FrameSamples {
		f = voice.Frame{}
		copy(f[:], s[i:min(i+voice.FrameSamples, len(s))])
		rms, pk := voice.FrameLevels(&f)
		levels = append(levels, rms)
		peak = max(peak, pk)
	}
	loudest := voice.SilenceLevel
	for _, l := range levels {
		loudest = max(loudest, l)
	}
	if loudest <= voice.SilenceLevel {
		return Level{VoicedDBm0: voice.SilenceLevel, PeakDBm0: voice.SilenceLevel}
	}
	var power float64
	n := 0
	for _, l := range levels {
		if l >= loudest-30 {
			power += math.Pow(10, l/10)
			n++
		}
	}
	return Level{VoicedDBm0: 10 * math.Log10(power/float64(n)), PeakDBm0: peak}
}

// writeFileAtomic writes data whole or not at all (see atomicfile.Write).
func writeFileAtomic(path string, data []byte) error {
	return atomicfile.Write(path, data, 0o640)
}

// syncDir makes a rename or remove in dir durable.
func syncDir(dir string) error { return atomicfile.SyncDir(dir) }

// HasAll reports whether the owner has a prompt name in every one of langs: a flow may then
// name it even when no embedded prompt has that name (for the linter's Known.Prompt).
func (p Prompts) HasAll(name string, langs []string) bool {
	for _, l := range langs {
		if !p.Has(l, name) {
			return false
		}
	}
	return len(langs) > 0
}

// Or returns a prompt loader for the switchboard: the owner's prompt when there is one that
// loads, else fallback's (the embedded prompts.Load). A damaged file of the owner's is passed
// over, so a caller always hears something.
func (p Prompts) Or(fallback func(lang, name string) ([]int16, error)) func(lang, name string) ([]int16, error) {
	return func(lang, name string) ([]int16, error) {
		if s, err := p.Load(lang, name); err == nil {
			return s, nil
		}
		return fallback(lang, name)
	}
}
