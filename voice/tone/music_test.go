package tone_test

import (
	"testing"
	"time"

	"hotline/voice"
	"hotline/voice/dtmf"
	"hotline/voice/tone"
)

// The hold music is heard back as echo while the box listens for keys: looped, at its level
// and 12 dB louder, it must never look like a key.
func TestHoldMusicIsNoKey(t *testing.T) {
	m := tone.HoldMusic()
	if d := time.Duration(len(m)) * time.Second / voice.Rate; d < 5*time.Second || d > 30*time.Second {
		t.Fatalf("hold music lasts %v", d)
	}
	if lvl := tone.LevelDBm0(m); lvl > -20 || lvl < -40 {
		t.Errorf("hold music at %.1f dBm0, want quieter than speech but audible", lvl)
	}
	for _, gain := range []float64{1, 4} {
		var loop []int16
		for range 3 {
			for _, s := range m {
				loop = append(loop, int16(max(-32768, min(32767, float64(s)*gain))))
			}
		}
		if keys := dtmf.Decode(loop); keys != "" {
			t.Errorf("gain %.0f: the receiver heard %q in the hold music", gain, keys)
		}
	}
}
