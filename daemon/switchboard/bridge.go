package switchboard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"hotline/hw"
	"hotline/voice"
	"hotline/voice/tone"
)

// bridgeFrames is how many frames may wait between the two ends of a bridge (100 ms): more,
// and the oldest is dropped, so that two clocks that drift apart never build up a delay.
const bridgeFrames = 5

// frameQueue carries frames from one goroutine to another without allocating: frames come
// from a fixed pool, and a full queue drops its oldest frame.
type frameQueue struct {
	q, free chan *voice.Frame
	primed  bool // take: frames flow; after running dry, wait for bridgePrime frames again
}

// bridgePrime is how many frames a bridge holds before it plays them (40 ms): two lines keep
// time by two clocks, and without this slack a frame that comes a little late would leave a
// 20 ms hole — enough to split a key the far end presses in two.
const bridgePrime = 2

// take is pop for the playing side of a bridge: it plays nothing until bridgePrime frames
// wait, and after running dry waits for them again. Only the consumer calls it.
func (fq *frameQueue) take(dst *voice.Frame) bool {
	if !fq.primed {
		if len(fq.q) < bridgePrime {
			return false
		}
		fq.primed = true
	}
	if fq.pop(dst) {
		return true
	}
	fq.primed = false
	return false
}

func newFrameQueue(n int) *frameQueue {
	fq := &frameQueue{q: make(chan *voice.Frame, n), free: make(chan *voice.Frame, n)}
	for range n {
		fq.free <- new(voice.Frame)
	}
	return fq
}

// push copies f into the queue; only one goroutine may push.
func (fq *frameQueue) push(f *voice.Frame) {
	var slot *voice.Frame
	select {
	case slot = <-fq.free:
	default:
		select {
		case slot = <-fq.q: // full: the oldest frame makes room
		default:
			return // the consumer holds every frame for the moment
		}
	}
	*slot = *f
	fq.q <- slot // cannot block: q and free together hold n frames
}

// pop copies the oldest frame into dst, or reports false when none is waiting.
func (fq *frameQueue) pop(dst *voice.Frame) bool {
	select {
	case f := <-fq.q:
		*dst = *f
		fq.free <- f
		return true
	default:
		return false
	}
}

// wait is pop that blocks until a frame comes or ctx ends.
func (fq *frameQueue) wait(ctx context.Context, dst *voice.Frame) error {
	select {
	case f := <-fq.q:
		*dst = *f
		fq.free <- f
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// peer is where a bridged pump sends what it hears and takes what it plays.
type peer struct {
	hear *frameQueue // frames heard on this pump's line go here
	say  *frameQueue // frames played on this pump's line come from here
}

// Leg is the far end of a bridge: an operator's SIP phone. Its frames are 20 ms of 8 kHz audio.
type Leg interface {
	// ReadFrame returns the next 20 ms heard from the far end; it gives silence rather than
	// block for long when nothing came.
	ReadFrame(ctx context.Context, f *voice.Frame) error
	WriteFrame(f *voice.Frame) error
	// Done is closed when the far end hung up (or the leg failed).
	Done() <-chan struct{}
	Hangup(ctx context.Context) error
}

// bridgeLeg connects a call's pump with leg until ctx ends, the leg is done, or a transfer
// comes (from the phone, or from admin: nil for none); it returns why it ended. The pump goes back to prompts and silence afterwards.
func bridgeLeg(ctx context.Context, p *pump, leg Leg, admin <-chan transferred) error {
	toLeg, fromLeg := newFrameQueue(bridgeFrames), newFrameQueue(bridgeFrames)
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	p.link(&peer{hear: toLeg, say: fromLeg})
	defer p.link(nil)

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		var f voice.Frame
		for {
			if err := toLeg.wait(ctx, &f); err != nil {
				return
			}
			if err := leg.WriteFrame(&f); err != nil {
				errs <- fmt.Errorf("send to the phone: %w", err)
				stop()
				return
			}
		}
	}()
	held, _ := leg.(interface{ Held() bool })
	go func() {
		defer wg.Done()
		var f voice.Frame
		music := tone.HoldMusic()
		pos := 0
		for ctx.Err() == nil {
			if err := leg.ReadFrame(ctx, &f); err != nil {
				if ctx.Err() == nil {
					errs <- fmt.Errorf("hear the phone: %w", err)
					stop()
				}
				return
			}
			if held != nil && held.Held() {
				// On hold: the caller hears music, not the phone's silence.
				for i := range f {
					f[i] = music[pos]
					pos = (pos + 1) % len(music)
				}
			}
			fromLeg.push(&f)
		}
	}()
	var transfers <-chan string
	if t, ok := leg.(interface{ Transfers() <-chan string }); ok {
		transfers = t.Transfers()
	}
	var err error
	select {
	case <-ctx.Done():
		err = context.Cause(ctx)
	case <-leg.Done():
		err = errLegDone
	case user := <-transfers:
		err = transferred{user: user}
	case t := <-admin:
		err = t
	}
	stop()
	wg.Wait()
	select {
	case e := <-errs:
		err = e
	default:
	}
	return err
}

// errLegDone ends a bridge when the far end hung up.
var errLegDone = errors.New("the other side hung up")

// transferred ends a bridge when the operator transferred the call to another SIP user (or
// the admin did, naming the person).
type transferred struct{ user, name string }

func (t transferred) Error() string { return "transferred to " + t.user }

// linkPumps connects two calls' pumps both ways until ctx ends; each then plays silence or
// prompts again.
func linkPumps(ctx context.Context, a, b *pump) {
	ab, ba := newFrameQueue(bridgeFrames), newFrameQueue(bridgeFrames)
	a.link(&peer{hear: ab, say: ba})
	b.link(&peer{hear: ba, say: ab})
	<-ctx.Done()
	a.link(nil)
	b.link(nil)
}

// lineAudioLeg is a dialled call on another line (an operator's mobile) as a pump of its own.
type dialled struct {
	line   *lineState
	pump   *pump
	ch     *channel
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// dialOut places a call on l to number and starts its audio pump. The call ends when ctx
// ends, the far end hangs up (the line's Hangup event), or hangup is called.
func (l *lineState) dialOut(ctx context.Context, number string) (*dialled, error) {
	d, ok := l.line.(hw.Dialer)
	if !ok {
		return nil, fmt.Errorf("line %s cannot place calls", l.line.ID())
	}
	if !l.reserve() {
		return nil, fmt.Errorf("line %s is busy", l.line.ID())
	}
	audio, err := d.Dial(ctx, number)
	if err != nil {
		l.release()
		return nil, fmt.Errorf("call %s on line %s: %w", number, l.line.ID(), err)
	}
	// Once answered, the call lives until hangup or the far end's hang-up, not as long as the
	// ringing did.
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p, err := newPump(audio, make(chan byte, 16), l.b.clk.wall(voice.FrameDuration))
	if err != nil {
		cancel()
		_ = l.line.Hangup(context.WithoutCancel(ctx))
		l.release()
		return nil, err
	}
	out := &dialled{line: l, pump: p, ch: &channel{p: p}, cancel: cancel, done: make(chan struct{})}
	l.setOut(out)
	go func() {
		defer close(out.done)
		err := p.run(ctx)
		l.b.count.addAudio(p, l.log, " on the placed call")
		if err != nil && ctx.Err() == nil {
			out.err = err
		}
		cancel()
	}()
	return out, nil
}

// Done is closed once the dialled call's audio stopped.
func (d *dialled) Done() <-chan struct{} { return d.done }

// hangup ends the dialled call and frees the line.
func (d *dialled) hangup() {
	d.cancel()
	<-d.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.line.line.Hangup(ctx); err != nil && !errors.Is(err, hw.ErrNoCall) {
		d.line.log.Warn("hang-up of the dialled call failed", "err", err)
	}
	d.line.setOut(nil)
	d.line.release()
}
