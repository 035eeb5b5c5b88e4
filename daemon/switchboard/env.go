package switchboard

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"hotline/voice"
	"hotline/voice/ivr"
	"hotline/voice/tone"
	"hotline/voice/wav"
)

// Defaults where a flow node leaves a value out.
const (
	voicemailMax         = 2 * time.Minute
	voicemailSilence     = 4 * time.Second
	silenceThresholdDBm0 = -45
)

// callEnv is one call as the flow interpreter sees it (ivr.Env).
type callEnv struct {
	c    *call
	ch   *channel
	log  *slog.Logger
	bg   context.Context // for store writes that must outlive the caller's hang-up
	lang string

	// what the call did, for its record
	survey      int
	smsSent     bool
	callback    bool
	recording   string
	noRecording string // why a message could not be taken (the disk)
	cutShort    string // why a message stopped before the caller was done (the disk)

	took *Person // an operator who took the call from the panel, to ring next (control.go)
}

var _ ivr.Env = (*callEnv)(nil)

func (e *callEnv) board() *Board { return e.c.l.b }

func (e *callEnv) Now() time.Time { return e.board().now() }

func (e *callEnv) ClosedOverride() string {
	v, err := e.board().opts.Store.Setting(e.bg, "closed_override", "")
	if err == nil && v == "" && e.board().opts.ClockUnset != nil && e.board().opts.ClockUnset() {
		// The clock is not set: better a person or a message than "we are closed" at noon.
		return "open"
	}
	if err != nil {
		e.log.Warn("cannot read the open/closed switch", "err", err)
		return ""
	}
	return v
}

func (e *callEnv) SetLanguage(lang string) { e.lang = lang }

// samples loads a prompt in the call's language; a missing prompt is logged and skipped (the
// linter refuses flows that name one, so this is a file gone from the disk).
func (e *callEnv) samples(name string) []int16 {
	s, err := e.board().opts.Prompts(e.lang, name)
	if err != nil {
		e.log.Error("prompt missing", "prompt", name, "err", err)
		return nil
	}
	return s
}

func (e *callEnv) Play(ctx context.Context, prompt string, bargeIn bool) (byte, error) {
	return e.ch.Play(ctx, e.samples(prompt), bargeIn)
}

func (e *callEnv) WaitKey(ctx context.Context, timeout time.Duration) (byte, error) {
	return e.ch.WaitKey(ctx, e.board().clk.wall(timeout))
}

// Voicemail plays the beep and records the caller into a WAV file under the voicemail folder;
// the row is written before the audio, so that a power cut leaves a record that points at it.
func (e *callEnv) Voicemail(ctx context.Context, box string, max time.Duration) error {
	if max <= 0 {
		max = voicemailMax
	}
	b := e.board()
	e.c.setPhase(StateVoicemail)
	defer e.c.setPhase(StateMenu)
	if _, err := e.ch.Play(ctx, tone.Beep(), false); err != nil {
		return err
	}
	if b.opts.CanRecord != nil {
		if err := b.opts.CanRecord(); err != nil {
			e.log.Error("voicemail not recorded", "err", err)
			e.noRecording = err.Error()
			return fmt.Errorf("%w: %w", ivr.ErrNoRecording, err)
		}
	}
	started := time.Now()
	name := fmt.Sprintf("%s-%d.wav", started.UTC().Format("20060102-150405"), e.c.id)
	dir := b.opts.VoicemailDir
	// The file first: one that cannot be made (a read-only disk) leaves no row behind, and the
	// caller is logged as one whose message could not be taken. The row still comes before any
	// audio, so a power cut leaves a record that points at it.
	refuse := func(err error) error {
		e.log.Error("voicemail not recorded", "err", err)
		if b.opts.WriteFailed != nil {
			b.opts.WriteFailed(err)
		}
		e.noRecording = err.Error()
		return fmt.Errorf("%w: %w", ivr.ErrNoRecording, err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return refuse(fmt.Errorf("voicemail folder: %w", err))
	}
	w, err := wav.Create(filepath.Join(dir, name))
	if err != nil {
		return refuse(err)
	}
	var vmID int64
	if e.c.id != 0 {
		var err error
		vmID, err = b.opts.Store.StartVoicemail(e.bg, e.c.id, name, started)
		if err != nil {
			e.log.Error("cannot record the voicemail", "err", err)
		}
	}
	rec, recErr := e.ch.Record(ctx, max, voicemailSilence, func(fr *voice.Frame) error {
		if b.opts.CanRecord != nil {
			if err := b.opts.CanRecord(); err != nil {
				return err
			}
		}
		return w.Write(fr[:])
	})
	if err := w.Close(); err != nil && recErr == nil {
		recErr = err
	}
	d := time.Duration(rec.Frames) * voice.FrameDuration
	if recErr != nil && b.opts.WriteFailed != nil {
		// Before the row is completed: a full disk gives up its reserve for the call log.
		b.opts.WriteFailed(recErr)
	}
	if vmID != 0 {
		if err := b.opts.Store.FinishVoicemail(e.bg, vmID, d); err != nil {
			e.log.Error("cannot complete the voicemail", "err", err)
		}
	}
	b.count.voicemails.Add(1)
	e.log.Info("voicemail recorded", "voicemail", vmID, "seconds", d.Seconds(), "voice_frames", rec.VoiceFrames, "ended_by", rec.EndedBy)
	if recErr != nil {
		e.log.Error("recording stopped", "err", recErr)
		e.cutShort = recErr.Error()
	}
	return nil
}

func (e *callEnv) Callback(ctx context.Context) error {
	if e.c.id == 0 {
		return fmt.Errorf("callback: the call has no record")
	}
	if _, err := e.board().opts.Store.AddCallback(e.bg, e.c.id, e.c.callerNumber()); err != nil {
		return err
	}
	e.callback = true
	return nil
}

// SMS sends text to the caller, at most once per number per day.
func (e *callEnv) SMS(ctx context.Context, text string) error {
	b := e.board()
	number := e.c.callerNumber()
	if b.opts.SendSMS == nil || number == "" || text == "" {
		return nil
	}
	ok, err := b.opts.Store.ClaimAutoReply(e.bg, number, e.Now().Format(time.DateOnly))
	if err != nil || !ok {
		return err
	}
	if err := b.opts.SendSMS(e.bg, number, text); err != nil {
		return fmt.Errorf("SMS to the caller: %w", err)
	}
	e.smsSent = true
	return nil
}

func (e *callEnv) Survey(ctx context.Context, score int) error {
	if score < 1 || score > 5 {
		return fmt.Errorf("survey score %d is not 1 to 5", score)
	}
	e.survey = score
	return nil
}

// Logger gives the interpreter the call's logger (ivr.Logger).
func (e *callEnv) Logger() *slog.Logger { return e.log }

// recordTalk records both sides of the conversation into a WAV file under RecordingDir, after
// telling the caller so (the "recording_notice" prompt). The returned stop ends it and waits.
func (e *callEnv) recordTalk(ctx context.Context) func() {
	b := e.board()
	if b.opts.RecordingDir == "" {
		return func() {}
	}
	if b.opts.CanRecord != nil {
		if err := b.opts.CanRecord(); err != nil {
			e.log.Error("conversation not recorded", "err", err)
			return func() {}
		}
	}
	if _, err := e.ch.Play(ctx, e.samples("recording_notice"), false); err != nil {
		return func() {}
	}
	if err := os.MkdirAll(b.opts.RecordingDir, 0o750); err != nil {
		e.log.Error("conversation not recorded", "err", err)
		return func() {}
	}
	name := fmt.Sprintf("%s-%d-talk.wav", time.Now().UTC().Format("20060102-150405"), e.c.id)
	w, err := wav.Create(filepath.Join(b.opts.RecordingDir, name))
	if err != nil {
		e.log.Error("conversation not recorded", "err", err)
		return func() {}
	}
	e.recording = name
	q := newFrameQueue(50) // a second of slack for the disk
	e.ch.p.tap.Store(q)
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		var f voice.Frame
		for {
			if q.wait(rctx, &f) != nil {
				for q.pop(&f) { // what is still queued when the talk ends
					if w.Write(f[:]) != nil {
						break
					}
				}
				return
			}
			if b.opts.CanRecord != nil {
				if err := b.opts.CanRecord(); err != nil {
					e.log.Error("conversation recording stopped", "err", err)
					return
				}
			}
			if err := w.Write(f[:]); err != nil {
				e.log.Error("conversation recording stopped", "err", err)
				if b.opts.WriteFailed != nil {
					b.opts.WriteFailed(err)
				}
				return
			}
		}
	}()
	return func() {
		e.ch.p.tap.Store(nil)
		cancel()
		<-done
		if err := w.Close(); err != nil {
			e.log.Error("conversation recording", "err", err)
		}
	}
}
