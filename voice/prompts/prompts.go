// Package prompts holds the box's default voice prompts (greeting, menu, voicemail, ...) in
// Russian and English, embedded in the binary so that a fresh box can answer calls before the
// owner records anything. The files are 8 kHz mono G.711 A-law WAV (one byte a sample, half the
// size of 16-bit PCM, and as good as a G.711 line carries), made from texts.tsv by
// make-prompts.sh (espeak-ng and sox) and committed; Load decodes them to 16-bit samples.
package prompts

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"strings"

	"hotline/voice/wav"
)

// The names of the default prompts, in the order of texts.tsv.
const (
	Greeting         = "greeting"          // "Hello! You have reached our hotline."
	Menu             = "menu"              // "For information, press one. To talk to an operator, press zero."
	About            = "about"             // who we are and the working hours
	Invalid          = "invalid"           // "Sorry, there is no such option."
	Voicemail        = "voicemail"         // "Please leave your message after the tone. ..."
	Goodbye          = "goodbye"           // "Thank you for calling. Goodbye!"
	AfterHours       = "after_hours"       // "... We are closed now. Our working hours are ..."
	Connecting       = "connecting"        // "Please hold, connecting you."
	AllBusy          = "all_busy"          // "All our operators are busy. Please leave a message after the tone."
	QueuePosition1   = "queue_position_1"  // "You are first in the queue." (_2 .. _5 alike)
	QueuePosition2   = "queue_position_2"  //
	QueuePosition3   = "queue_position_3"  //
	QueuePosition4   = "queue_position_4"  //
	QueuePosition5   = "queue_position_5"  //
	QueueWait        = "queue_wait"        // "Please stay on the line ... To leave a message, press zero."
	CallbackOffer    = "callback_offer"    // "To be called back, press one. To leave a message, press zero."
	CallbackDone     = "callback_done"     // "Thank you. We will call you back as soon as we can."
	Survey           = "survey"            // "Please rate our conversation from one to five ..."
	SurveyThanks     = "survey_thanks"     // "Thank you for your rating."
	OperatorAnnounce = "operator_announce" // to an operator's mobile: "... Press one to take it."
	RecordingNotice  = "recording_notice"  // "This call may be recorded."
	LanguageChoice   = "language_choice"   // both languages: "For English, press two. ..."
	SMSSent          = "sms_sent"          // "We have sent you a text message with our details."
)

// QueuePosition returns the name of the prompt that tells a caller their place in the queue,
// and false for a place with no prompt (below 1 or above 5: say QueueWait instead).
func QueuePosition(n int) (string, bool) {
	if n < 1 || n > 5 {
		return "", false
	}
	return fmt.Sprintf("queue_position_%d", n), true
}

// DefaultLanguage is used for a language that has no prompts.
const DefaultLanguage = "ru"

//go:embed texts.tsv ru/*.wav en/*.wav
var files embed.FS

// ErrUnknown is wrapped by Load and Text for a prompt name that does not exist.
var ErrUnknown = errors.New("no such prompt")

type entry struct{ lang, name, text string }

// table is texts.tsv: the prompts in their natural order, per language.
var table = func() []entry {
	b, err := files.ReadFile("texts.tsv")
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	var out []entry
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 {
			panic(fmt.Sprintf("prompts: bad line in texts.tsv: %q", line))
		}
		out = append(out, entry{f[0], f[1], f[2]})
	}
	return out
}()

// Languages returns the languages with prompts, DefaultLanguage first.
func Languages() []string {
	out := []string{DefaultLanguage}
	for _, e := range table {
		if !contains(out, e.lang) {
			out = append(out, e.lang)
		}
	}
	return out
}

// Names returns the names of the prompts, in the order a call usually meets them.
func Names() []string {
	var out []string
	for _, e := range table {
		if !contains(out, e.name) {
			out = append(out, e.name)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// resolve maps an unknown language to DefaultLanguage.
func resolve(lang string) string {
	if contains(Languages(), lang) {
		return lang
	}
	return DefaultLanguage
}

// Load returns the prompt name in lang as 8 kHz mono samples. A language without prompts falls
// back to DefaultLanguage; an unknown name is an error wrapping ErrUnknown.
func Load(lang, name string) ([]int16, error) {
	lang = resolve(lang)
	if !contains(Names(), name) {
		return nil, fmt.Errorf("prompts: %q: %w", name, ErrUnknown)
	}
	f, err := files.Open(lang + "/" + name + ".wav")
	if err != nil {
		return nil, fmt.Errorf("prompts: %s/%s: %w", lang, name, err)
	}
	defer f.Close()
	s, err := wav.ReadMono8k(f)
	if err != nil {
		return nil, fmt.Errorf("prompts: %s/%s: %w", lang, name, err)
	}
	return s, nil
}

// Text returns what the prompt name says in lang (with the same fallback as Load), for showing
// next to the sound in the admin.
func Text(lang, name string) (string, error) {
	lang = resolve(lang)
	for _, e := range table {
		if e.lang == lang && e.name == name {
			return e.text, nil
		}
	}
	return "", fmt.Errorf("prompts: %q: %w", name, ErrUnknown)
}
