package switchboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"hotline/voice"
	"hotline/voice/tone"
	"hotline/voice/wav"
)

// Defaults of the first flow; settings and the flow editor take them over later.
const (
	menuTimeout          = 5 * time.Second
	menuTries            = 2
	voicemailMax         = 2 * time.Minute
	voicemailSilence     = 4 * time.Second
	silenceThresholdDBm0 = -45
)

// run answers the call, runs its flow and completes its record.
func (c *call) run(parent context.Context) {
	defer close(c.done)
	// Store writes must outlive the caller's hang-up.
	bg := context.WithoutCancel(parent)
	ctx, stop := context.WithCancel(c.ctx)
	defer stop()
	go func() {
		select {
		case <-parent.Done():
			c.cancel(errors.New("box stopped"))
		case <-ctx.Done():
		}
	}()
	log := c.l.log.With("call", c.id)

	audio, err := c.l.line.Answer(ctx)
	if err != nil {
		log.Error("cannot answer", "err", err)
		c.finish(bg, time.Now(), "", "failed")
		return
	}
	answeredAt := time.Now()
	c.l.b.count.answered.Add(1)
	if c.id != 0 {
		if err := c.l.b.opts.Store.AnswerCall(bg, c.id, answeredAt); err != nil {
			log.Error("cannot record the answer", "err", err)
		}
	}
	p, err := newPump(audio, c.modemKey)
	if err != nil {
		log.Error("cannot start audio", "err", err)
		_ = c.l.line.Hangup(bg)
		c.finish(bg, time.Now(), "", "failed")
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := p.run(ctx); err != nil && ctx.Err() == nil {
			log.Warn("audio stopped", "err", err)
			stop()
		}
	}()

	f := &flow{c: c, ch: &channel{p: p}, log: log, bg: bg}
	outcome := f.run(ctx)
	hungUpByCaller := ctx.Err() != nil
	stop()
	wg.Wait()
	if !hungUpByCaller {
		if err := c.l.line.Hangup(bg); err != nil {
			log.Warn("hang-up failed", "err", err)
		}
	}
	if n := p.underruns.Load(); n > 0 {
		c.l.b.count.underruns.Add(n)
		log.Warn("audio underruns", "frames", n)
	}
	if n := p.dropped.Load(); n > 0 {
		c.l.b.count.drops.Add(n)
		log.Warn("recorder fell behind, audio dropped", "frames", n)
	}
	c.finish(bg, time.Now(), strings.Join(f.path, ","), outcome)
}

// flow is the default flow of the box: greeting, menu (1 about us, 0 message), voicemail.
type flow struct {
	c    *call
	ch   *channel
	log  *slog.Logger
	bg   context.Context
	lang string
	path []string
}

func (f *flow) prompt(name string) []int16 {
	s, err := f.c.l.b.opts.Prompts(f.lang, name)
	if err != nil {
		f.log.Error("prompt missing", "prompt", name, "err", err)
		return nil
	}
	return s
}

// run returns the call's outcome.
func (f *flow) run(ctx context.Context) string {
	f.lang, _ = f.c.l.b.opts.Store.Setting(f.bg, "language", "ru")
	heardAbout := false
	hungUp := func() string {
		if heardAbout {
			return "completed"
		}
		return "abandoned"
	}
	key, err := f.ch.Play(ctx, f.prompt("greeting"), true)
	if err != nil {
		return hungUp()
	}
	for tries := 0; tries < menuTries; {
		if key == 0 {
			if key, err = f.ch.Play(ctx, f.prompt("menu"), true); err != nil {
				return hungUp()
			}
		}
		if key == 0 {
			if key, err = f.ch.WaitKey(ctx, menuTimeout); err != nil {
				return hungUp()
			}
		}
		choice := key
		key = 0
		switch choice {
		case 0:
			tries++
			f.log.Info("no choice made", "try", tries)
		case '1':
			f.path = append(f.path, "1")
			heardAbout = true
			// A key pressed during "about us" is the next choice in the menu.
			if key, err = f.ch.Play(ctx, f.prompt("about"), true); err != nil {
				return hungUp()
			}
		case '0':
			f.path = append(f.path, "0")
			return f.voicemail(ctx)
		default:
			f.path = append(f.path, string(choice))
			tries++
			if _, err = f.ch.Play(ctx, f.prompt("invalid"), false); err != nil {
				return hungUp()
			}
		}
	}
	// Nobody chose: never a dead end, take a message.
	return f.voicemail(ctx)
}

// voicemail plays the prompt and the beep, records the caller and says goodbye.
func (f *flow) voicemail(ctx context.Context) string {
	if _, err := f.ch.Play(ctx, f.prompt("voicemail"), false); err != nil {
		return "abandoned"
	}
	if _, err := f.ch.Play(ctx, tone.Beep(), false); err != nil {
		return "abandoned"
	}
	started := time.Now()
	name := fmt.Sprintf("%s-%d.wav", started.UTC().Format("20060102-150405"), f.c.id)
	dir := f.c.l.b.opts.VoicemailDir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		f.log.Error("cannot make the voicemail folder", "err", err)
		return "failed"
	}
	path := filepath.Join(dir, name)
	// The row comes first, so that a power cut leaves a record that points at the audio.
	var vmID int64
	if f.c.id != 0 {
		var err error
		vmID, err = f.c.l.b.opts.Store.StartVoicemail(f.bg, f.c.id, name, started)
		if err != nil {
			f.log.Error("cannot record the voicemail", "err", err)
		}
	}
	w, err := wav.Create(path)
	if err != nil {
		f.log.Error("cannot write the voicemail", "err", err)
		return "failed"
	}
	rec, recErr := f.ch.Record(ctx, voicemailMax, voicemailSilence, func(fr *voice.Frame) error {
		return w.Write(fr[:])
	})
	if err := w.Close(); err != nil && recErr == nil {
		recErr = err
	}
	d := time.Duration(rec.Frames) * voice.FrameDuration
	if vmID != 0 {
		if err := f.c.l.b.opts.Store.FinishVoicemail(f.bg, vmID, d); err != nil {
			f.log.Error("cannot complete the voicemail", "err", err)
		}
	}
	f.log.Info("voicemail recorded", "voicemail", vmID, "seconds", d.Seconds(), "voice_frames", rec.VoiceFrames, "ended_by", rec.EndedBy)
	if recErr != nil {
		f.log.Error("recording failed", "err", recErr)
	}
	if ctx.Err() == nil {
		_, _ = f.ch.Play(ctx, f.prompt("goodbye"), false)
	}
	return "voicemail"
}
