package tone

import (
	"math"
	"sync"
	"time"

	"hotline/voice"
)

// holdNotes is the tune of the default hold music: a slow arpeggio over four chords (C, Am,
// F, G), one note at a time, in hertz. Single notes only, all below the DTMF low group or
// between the groups' bins, so that no echo of the music can look like a key.
var holdNotes = []float64{
	261.63, 329.63, 392.00, 523.25, 392.00, 329.63, // C
	220.00, 261.63, 329.63, 440.00, 329.63, 261.63, // Am
	174.61, 220.00, 261.63, 349.23, 261.63, 220.00, // F
	196.00, 246.94, 293.66, 392.00, 293.66, 246.94, // G
}

const (
	holdNote  = 400 * time.Millisecond
	holdLevel = -24 // dBm0: quieter than speech prompts (about -20)
)

var holdMusic = sync.OnceValue(func() []int16 {
	n := Samples(holdNote)
	out := make([]int16, 0, n*len(holdNotes))
	a := Amplitude(holdLevel)
	for _, f := range holdNotes {
		for i := range n {
			t := float64(i) / voice.Rate
			// A soft bell: quick rise, exponential decay, with a quiet octave for colour.
			env := math.Min(1, float64(i)/80) * math.Exp(-2.5*t)
			v := a * env * (0.8*math.Sin(2*math.Pi*f*t) + 0.2*math.Sin(4*math.Pi*f*t))
			out = append(out, clip(v))
		}
	}
	return out
})

// HoldMusic is the box's own hold music, about ten seconds to be played in a loop. The slice
// is shared: do not change it.
func HoldMusic() []int16 { return holdMusic() }
