package tone

import (
	"math"
	"testing"
)

func TestBeep(t *testing.T) {
	b := Beep()
	if len(b) != 2400 {
		t.Fatalf("beep is %d samples, want 2400 (300 ms)", len(b))
	}
	if l := LevelDBm0(b[40 : len(b)-40]); math.Abs(l-BeepLevel) > 0.1 {
		t.Errorf("beep level %.2f dBm0, want %d", l, BeepLevel)
	}
	// Starts and ends quietly (no click), loudest in the middle.
	if b[0] != 0 || abs16(b[1]) > 50 || abs16(b[len(b)-1]) > 50 {
		t.Errorf("edges %d %d %d", b[0], b[1], b[len(b)-1])
	}
	// 1 kHz at 8 kHz: 8 samples per period, zero crossings every 4 samples.
	var crossings int
	for i := 1; i < len(b); i++ {
		if (b[i-1] < 0) != (b[i] < 0) {
			crossings++
		}
	}
	if crossings < 595 || crossings > 605 {
		t.Errorf("%d zero crossings in 300 ms, want about 600 (1 kHz)", crossings)
	}
}

func abs16(v int16) int16 {
	if v < 0 {
		return -v
	}
	return v
}
