package switchboard

import (
	"context"
	"strings"
	"testing"

	"hotline/voice"
)

// A call whose audio never came, or stopped for two seconds or more in a row, says so in its
// record; lost frames here and there, a modem switching its audio on late and the last second
// of a call do not.
func TestMissingAudioIsInTheRecord(t *testing.T) {
	f := func(n int) string { return strings.Repeat("F", n) }
	u := func(n int) string { return strings.Repeat("U", n) }
	for _, tc := range []struct {
		name, script, want string
	}{
		{"whole", f(500), ""},
		{"late start", u(80) + f(500), ""},
		{"lossy", strings.Repeat("FFFFFFFFU", 100), ""},
		{"gaps under 2 s", f(50) + u(99) + f(10) + u(99) + f(50), ""},
		{"hang-up after the audio stopped", f(200) + u(60), ""},
		{"stopped", f(200) + u(260) + f(20), "the modem's audio stopped for 5.2 s during the call"},
		{"stopped to the end", f(200) + u(100), "the modem's audio stopped for 2.0 s during the call"},
		{"never came", u(300), "the modem sent no audio during the call"},
		{"short call without audio", u(60), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newPump(&scriptAudio{script: tc.script}, make(chan byte, 1), voice.FrameDuration)
			if err != nil {
				t.Fatal(err)
			}
			_ = p.run(context.Background())
			if got := p.missingAudio(); got != tc.want {
				t.Errorf("missingAudio() = %q, want %q", got, tc.want)
			}
		})
	}
}
