package switchboard

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"hotline/daemon/store"
	"hotline/hw"
	"hotline/voice"
	"hotline/voice/ivr"
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
	if errors.Is(err, hw.ErrNoCall) {
		// The caller hung up while the box picked up (NO CARRIER to ATA): a missed call, as
		// one that stops ringing, not a failure of the box.
		log.Info("the caller hung up before the answer went through", "err", err)
		c.finish(bg, time.Now(), "", "missed")
		return
	}
	if err != nil {
		log.Error("cannot answer", "err", err)
		c.finish(bg, time.Now(), "", "failed")
		return
	}
	answeredAt := time.Now()
	c.setPhase(StateMenu)
	c.l.b.count.answered.Add(1)
	p, err := newPump(audio, c.modemKey, c.l.b.clk.wall(voice.FrameDuration))
	if err != nil {
		log.Error("cannot start audio", "err", err)
		_ = c.l.line.Hangup(bg)
		c.finish(bg, time.Now(), "", "failed")
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var audioErr error // set before stop(), read after wg.Wait()
	go func() {
		defer wg.Done()
		if err := p.run(ctx); err != nil && ctx.Err() == nil {
			log.Warn("audio stopped", "err", err)
			audioErr = err
			stop()
		}
	}()
	// The answer is written down once the audio flows: the frames that come meanwhile would
	// otherwise wait for the database.
	if c.id != 0 {
		if err := c.l.b.opts.Store.AnswerCall(bg, c.id, answeredAt); err != nil {
			log.Error("cannot record the answer", "err", err)
		}
	}

	env := &callEnv{c: c, ch: &channel{p: p}, log: log, bg: bg}
	env.lang, _ = c.l.b.opts.Store.Setting(bg, "language", "ru")
	flow, version := c.l.b.flow(bg, env.lang)
	res := ivr.Run(ctx, flow, env)
	// Ended from the admin (control.go): the box hangs up the line itself.
	hungUpByCaller := ctx.Err() != nil && !errors.Is(context.Cause(ctx), errEndedFromAdmin)
	stop()
	wg.Wait()
	if !hungUpByCaller {
		if err := c.l.line.Hangup(bg); err != nil {
			log.Warn("hang-up failed", "err", err)
		}
	}
	c.l.b.count.addAudio(p, log, "")
	outcome := string(res.Outcome)
	if env.callback && (res.Outcome == ivr.OutcomeCompleted || res.Outcome == ivr.OutcomeMissed) {
		outcome = store.OutcomeCallback
	}
	sum := store.Summary{
		Outcome:     outcome,
		MenuPath:    strings.Join(strings.Split(res.Digits, ""), ","),
		Nodes:       strings.Join(res.Path, ","),
		FlowVersion: version,
		Digits:      res.Digits,
		Language:    res.Language,
		QueueWait:   res.QueueWait,
		AnsweredBy:  res.AnsweredBy,
		Talk:        res.Talk,
		Survey:      env.survey,
		Recording:   env.recording,
		SMSSent:     env.smsSent,
	}
	if audioErr != nil {
		// The audio died under the call: the line's own report of why (a lost modem) follows
		// at once; wait for it a moment.
		select {
		case <-c.ctx.Done():
		case <-c.l.b.clk.after(time.Second):
		}
	}
	switch cause := context.Cause(ctx); {
	case c.lost.Load():
		sum.EndReason = "the modem stopped answering or was unplugged during the call"
	case cause != nil && !errors.Is(cause, errHungUp) && !errors.Is(cause, context.Canceled):
		sum.EndReason = cause.Error()
	case audioErr != nil:
		sum.EndReason = "the call's audio stopped"
	case env.noRecording != "":
		sum.EndReason = "no message could be recorded: " + env.noRecording
	case env.cutShort != "":
		sum.EndReason = "the message was cut short: " + env.cutShort
	case res.Err != nil:
		sum.EndReason = res.Err.Error()
	default:
		sum.EndReason = p.missingAudio()
	}
	if res.Survey > 0 {
		sum.Survey = res.Survey
	}
	if res.Closed && outcome != store.OutcomeVoicemail && outcome != store.OutcomeCallback && c.l.b.opts.MissedSMS != nil {
		// Called after hours and left no message: the owner's text by SMS (once a day).
		if text := c.l.b.opts.MissedSMS(bg); text != "" {
			if err := env.SMS(bg, text); err != nil {
				log.Warn("after-hours SMS not sent", "err", err)
			}
			sum.SMSSent = sum.SMSSent || env.smsSent
		}
	}
	c.finishSummary(bg, time.Now(), sum)
}

// flow returns the flow a new call runs: the store's newest, or the default one.
func (b *Board) flow(ctx context.Context, lang string) (*ivr.Flow, int64) {
	if b.opts.Flow != nil {
		f, v, err := b.opts.Flow(ctx)
		if err == nil && f != nil {
			return f, v
		}
		b.log.Error("cannot load the call flow; the default flow answers", "err", err)
	}
	return ivr.Default(lang), 0
}
