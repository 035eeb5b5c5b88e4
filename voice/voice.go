// Package voice holds what the hotline does with sound, independent of any device or network:
// the 20 ms frame of 8 kHz 16-bit mono that every part speaks, G.711, WAV files, resampling and
// the level meter. Receivers and generators live in its subpackages (dtmf, tone, progress), prompt
// import in voice/importer.
//
// # Concepts
//
// A frame is 20 ms of audio: 160 signed 16-bit samples at 8000 Hz. Devices deliver bytes in their
// own format; the switchboard converts them to frames once, at the edge. Functions used once per
// frame take caller-owned buffers and allocate nothing.
package voice

import "time"

const (
	// Rate is the sample rate of every frame, in Hz.
	Rate = 8000
	// FrameSamples is the number of samples in one 20 ms frame.
	FrameSamples = 160
	// FrameDuration is the length of one frame.
	FrameDuration = 20 * time.Millisecond
	// FramesPerSecond is how many frames make one second.
	FramesPerSecond = 50
)

// Frame is 20 ms of 8 kHz 16-bit mono audio.
type Frame [FrameSamples]int16
