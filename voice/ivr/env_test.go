package ivr

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"time"
)

// promptLength is how long every prompt plays in the fake Env.
const promptLength = 3 * time.Second

// fakeEnv is a scripted caller and box for Run, meant for a synctest bubble: prompts, waits,
// ringing and recording take virtual time.
type fakeEnv struct {
	now      time.Time
	override string
	// script answers each chance the caller has to press a key (a prompt with barge-in, then
	// a wait for a key), in order: a key is pressed 1 s in, '.' lets it pass, 'H' hangs up.
	// When it runs out the caller stays silent.
	script string
	// hangUpOn: the caller hangs up when this prompt starts.
	hangUpOn string
	// failOn: playing this prompt fails (not a hang-up).
	failOn string
	// connects answer the Connects in turn; when they run out, nobody answers at once (as when
	// no operator is registered). hangUpInConnect: the caller hangs up while it rings.
	connects          []Connected
	hangUpInConnect   bool
	connectErr        error
	voicemailErr      error
	hangUpInVoicemail bool
	smsErr            error
	surveyErr         error

	cancel context.CancelFunc
	log    bytes.Buffer

	played     []string
	connected  []Connect
	voicemails []string
	callbacks  int
	sms        []string
	scores     []int
	languages  []string
}

var errDisk = errors.New("disk on fire")

func (e *fakeEnv) Logger() *slog.Logger { return slog.New(slog.NewTextHandler(&e.log, nil)) }

func (e *fakeEnv) Now() time.Time         { return e.now }
func (e *fakeEnv) ClosedOverride() string { return e.override }
func (e *fakeEnv) SetLanguage(l string)   { e.languages = append(e.languages, l) }

// next takes the caller's next move.
func (e *fakeEnv) next() byte {
	if e.script == "" {
		return '.'
	}
	c := e.script[0]
	e.script = e.script[1:]
	return c
}

func (e *fakeEnv) hangUp(ctx context.Context) error {
	e.cancel()
	<-ctx.Done()
	return ctx.Err()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *fakeEnv) Play(ctx context.Context, prompt string, bargeIn bool) (byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	e.played = append(e.played, prompt)
	switch prompt {
	case e.hangUpOn:
		return 0, e.hangUp(ctx)
	case e.failOn:
		return 0, errDisk
	}
	if bargeIn {
		switch c := e.next(); c {
		case 'H':
			return 0, e.hangUp(ctx)
		case '.':
		default:
			return c, sleep(ctx, time.Second)
		}
	}
	return 0, sleep(ctx, promptLength)
}

func (e *fakeEnv) WaitKey(ctx context.Context, timeout time.Duration) (byte, error) {
	switch c := e.next(); c {
	case 'H':
		return 0, e.hangUp(ctx)
	case '.':
		return 0, sleep(ctx, timeout)
	default:
		return c, sleep(ctx, time.Second)
	}
}

func (e *fakeEnv) Connect(ctx context.Context, c Connect) (Connected, error) {
	e.connected = append(e.connected, c)
	if e.hangUpInConnect {
		if err := sleep(ctx, 10*time.Second); err != nil {
			return Connected{}, err
		}
		return Connected{Wait: 10 * time.Second}, e.hangUp(ctx)
	}
	if e.connectErr != nil {
		return Connected{}, e.connectErr
	}
	if len(e.connects) == 0 {
		return Connected{}, nil
	}
	got := e.connects[0]
	e.connects = e.connects[1:]
	return got, sleep(ctx, got.Wait+got.Talk)
}

func (e *fakeEnv) Voicemail(ctx context.Context, box string, max time.Duration) error {
	e.voicemails = append(e.voicemails, box)
	if e.voicemailErr != nil {
		return e.voicemailErr
	}
	if e.hangUpInVoicemail {
		if err := sleep(ctx, 7*time.Second); err != nil {
			return err
		}
		return e.hangUp(ctx)
	}
	return sleep(ctx, min(max, 20*time.Second))
}

func (e *fakeEnv) Callback(ctx context.Context) error {
	e.callbacks++
	return ctx.Err()
}

func (e *fakeEnv) SMS(ctx context.Context, text string) error {
	e.sms = append(e.sms, text)
	return e.smsErr
}

func (e *fakeEnv) Survey(ctx context.Context, score int) error {
	e.scores = append(e.scores, score)
	return e.surveyErr
}
