// Package hw is the boundary between the hotline and its devices. It names what a telephone
// line is to the rest of the box (the Line interface and its events) and how call audio leaves a
// device: as bytes in a named format, 20 ms at a time. Drivers live below it (modem, gsm, sim,
// ...); they never import voice/, so the only knowledge they share with the switchboard is
// written here.
package hw

import (
	"context"
	"errors"
	"time"
)

// AudioFormat names how a device carries call audio. All formats are 8 kHz mono.
type AudioFormat int

const (
	// S16LE is signed 16-bit little-endian linear PCM (Quectel QPCMV, SIMCom CPCMREG, Huawei).
	S16LE AudioFormat = iota + 1
	// ULaw is G.711 mu-law, one byte a sample.
	ULaw
	// ALaw is G.711 A-law, one byte a sample.
	ALaw
	// U8 is unsigned 8-bit linear PCM; 0x80 is silence (analog voice modems).
	U8
)

// String returns the short name of the format, as used in logs and settings.
func (f AudioFormat) String() string {
	switch f {
	case S16LE:
		return "s16le"
	case ULaw:
		return "mu-law"
	case ALaw:
		return "a-law"
	case U8:
		return "u8"
	}
	return "unknown"
}

// BytesPerSample returns how many bytes one sample takes in the format.
func (f AudioFormat) BytesPerSample() int {
	if f == S16LE {
		return 2
	}
	return 1
}

// FrameBytes returns the size of one 20 ms frame (160 samples) in the format.
func (f AudioFormat) FrameBytes() int { return 160 * f.BytesPerSample() }

// EventKind says what happened on a line.
type EventKind int

const (
	// Ring: an incoming call rings. Event.Rings counts the rings of this call so far (1 for the
	// first); Event.Number carries the caller ID once the line knows it (it may come with a later
	// ring, or never).
	Ring EventKind = iota + 1
	// Connected: the call is up and audio flows (after Answer, or when a dialled number answers).
	Connected
	// Digit: the device itself detected a DTMF digit (Event.Digit: '0'-'9', '*', '#', 'A'-'D').
	Digit
	// Hangup: the call ended, whoever ended it. Event.Cause says why in plain words for the log.
	Hangup
	// State: the line's own state changed (ready, down, registration, signal); see Event.State.
	State
	// CallerID: the caller's number became known only after the call's first Ring event
	// (Event.Number), for instance from the modem's call-state report after the answer.
	CallerID
)

// String names the kind for logs.
func (k EventKind) String() string {
	switch k {
	case Ring:
		return "ring"
	case Connected:
		return "connected"
	case Digit:
		return "digit"
	case Hangup:
		return "hangup"
	case State:
		return "state"
	case CallerID:
		return "caller-id"
	}
	return "unknown"
}

// Event is one thing a line reports. Everything in it came from a device or the telephone
// network and must be treated as untrusted input (Number may hold markup or hundreds of bytes).
type Event struct {
	Kind   EventKind
	Time   time.Time // when the driver saw it
	Number string    // caller ID as received, raw; empty when withheld or not yet known
	Rings  int       // Ring: rings of this call so far
	Digit  byte      // Digit: the key
	Cause  string    // Hangup: why, for the log ("remote hang-up", "local hang-up", "NO CARRIER")
	State  string    // State: "ready", "down", ... in plain words
	// NumberLater (Ring) says the caller ID may still come: analog lines send it in the pause
	// after the first ring, and going off hook first loses it. A CallerID event follows when
	// it comes (with an empty Number when the caller withheld it).
	NumberLater bool
}

// Line is one telephone line (a GSM modem with its SIM, an analog voice modem, a SIP trunk).
// A Line handles one call at a time. Its events arrive in order on Events, which is closed when
// the line's Run returns.
type Line interface {
	// ID is the stable name of the line ("gsm1"), used in the call log.
	ID() string
	// Events delivers what happens on the line. The receiver must keep reading.
	Events() <-chan Event
	// Answer takes the ringing call off hook and returns its audio, which stays usable until the
	// call ends (Hangup event or a call to Hangup).
	Answer(ctx context.Context) (Audio, error)
	// Hangup ends the current call, if any. It is safe to call when no call is up.
	Hangup(ctx context.Context) error
}

// Audio is the sound of one call as the device carries it: frames of 20 ms in Format, read from
// the caller and written to the caller. One goroutine reads and writes (the call's audio pump).
type Audio interface {
	// Format is the encoding of every frame read and written.
	Format() AudioFormat
	// ReadFrame fills p (exactly Format().FrameBytes() long) with the next 20 ms heard from the
	// caller. It returns as soon as the device has delivered a whole frame; when the device stays
	// silent past the frame's due time it fills p with silence and returns ErrUnderrun, so the
	// caller can count it and go on. Any other error means the audio is gone for good.
	ReadFrame(p []byte) error
	// WriteFrame sends 20 ms to the caller. p is Format().FrameBytes() long.
	WriteFrame(p []byte) error
}

// FrameWaiter is an Audio whose frames wait in a queue between the goroutine that receives
// them from the device and ReadFrame (every modem driver's frame ring). FrameWaited is how long
// the frame ReadFrame returned last waited there: the part of the frame's delay that is the
// box's, not the device's.
type FrameWaiter interface {
	FrameWaited() time.Duration
}

// ErrUnderrun is returned by Audio.ReadFrame when the device delivered no frame in time and
// silence was substituted.
var ErrUnderrun = errors.New("audio underrun: device sent no frame in time")

// CauseModemLost is the Hangup cause when the modem stopped answering or vanished mid-call:
// the call did not end by anyone's choice, and its record says so.
const CauseModemLost = "modem lost"

// ErrNoCall is returned when an operation needs a call and the line has none.
var ErrNoCall = errors.New("no call on the line")

// Dialer is a line that can place calls: the building block for forwarding a caller to a mobile
// and for calling back. Lines that cannot dial (an analog line without a dial tone check, a
// simulated line) simply do not implement it.
type Dialer interface {
	// Dial calls number (digits, with an optional leading '+', and '*' or '#'; at most 20) and
	// returns once the callee answered, with the call's audio as Answer returns it; a Connected
	// event follows. A dialled call then ends like an answered one (Hangup, Hangup event). When
	// the callee is busy the error wraps ErrBusy; when the call is not answered, is rejected or
	// cannot be put through, or the line's own time limit passes, it wraps ErrNoAnswer. When ctx
	// ends first the call is abandoned and ctx's error returned. A failed dial sends no events.
	Dial(ctx context.Context, number string) (Audio, error)
}

// ErrBusy is wrapped by Dial's error when the called number is busy.
var ErrBusy = errors.New("the called number is busy")

// ErrNoAnswer is wrapped by Dial's error when the called number did not answer in time, or the
// network ended the call before it was answered (rejected, unreachable, no carrier).
var ErrNoAnswer = errors.New("the called number did not answer")
