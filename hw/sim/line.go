package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"hotline/voice"
)

// line is what every simulated modem has around its calls: its options and log, the
// bookkeeping of Run and Close, and the one call the network presents. Modems embed it.
type line struct {
	opts Options
	log  *slog.Logger
	// releaseByCaller ends cs from the caller's side with mu held and reports whether the
	// caller was first (false: the box had released it already). The modem sets it.
	releaseByCaller func(cs *callState) bool

	closeOnce sync.Once
	closeErr  error
	runDone   chan struct{} // closed when Run returns

	// mu guards the modem's state (the modem's own fields too) and serialises everything
	// written to its AT port, so a reply is never split by a URC and URCs follow the state
	// they announce.
	mu      sync.Mutex
	started bool // Run was called
	running bool // Run is serving
	closed  bool
	call    *callState // the call the network presents, until it is released
	calling bool       // a Call is under way
}

// setUp readies l for a modem named by opts.ID, or defaultID, and returns the logger its log
// derives from.
func (l *line) setUp(opts *Options, defaultID string) *slog.Logger {
	if opts.ID == "" {
		opts.ID = defaultID
	}
	if opts.RingInterval <= 0 {
		opts.RingInterval = 3 * time.Second
	}
	l.opts = *opts
	l.runDone = make(chan struct{})
	if opts.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return opts.Logger
}

// enter starts Run: ErrClosed on a closed modem, an error on a second Run.
func (l *line) enter() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return ErrClosed
	case l.started:
		return fmt.Errorf("sim %s: Run called twice", l.opts.ID)
	}
	l.started, l.running = true, true
	return nil
}

// leave ends Run; stop runs with mu held.
func (l *line) leave(stop func()) {
	l.mu.Lock()
	l.running = false
	stop()
	l.mu.Unlock()
	close(l.runDone)
}

// shut is Close: it marks the modem closed (stop runs with mu held), closes the ports with
// closePorts and waits for a running Run. It does so once and returns the first result again.
func (l *line) shut(stop func(), closePorts func() error) error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		running := l.running
		stop()
		l.mu.Unlock()
		l.closeErr = closePorts()
		if running {
			<-l.runDone
		}
	})
	return l.closeErr
}

// send writes p to the box on f; mu is held. A box that does not read its port does not stall
// the modem for long: output it cannot take within a second is dropped, with a warning msg.
func (l *line) send(f *os.File, p []byte, msg string) {
	f.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := f.Write(p); err != nil && !errors.Is(err, os.ErrClosed) {
		l.log.Warn(msg, "err", err, "bytes", len(p))
	}
}

// admit registers a new incoming call from from; mu is held.
func (l *line) admit(from string) (*callState, error) {
	switch {
	case l.closed:
		return nil, ErrClosed
	case !l.running:
		return nil, ErrNotRunning
	case l.calling:
		return nil, ErrBusy
	}
	l.calling = true
	l.call = &callState{
		from:     from,
		stat:     statIncoming,
		answered: make(chan struct{}, 1),
		hungUp:   make(chan struct{}, 1),
		frames:   make(chan voice.Frame, 64),
	}
	return l.call, nil
}

// The virtual caller's side (network) that is the same for every modem.

// giveUp ends a ringing call from the caller's side. It reports answered when ATA came first,
// in which case the call goes on, and released when the caller ended the call (false: the box
// had released it already).
func (l *line) giveUp(cs *callState) (answered, released bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.call == cs && cs.stat == statActive {
		return true, false
	}
	return false, l.releaseByCaller(cs)
}

// callerHangUp ends cs from the caller's side and reports whether the caller was first.
func (l *line) callerHangUp(cs *callState) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.releaseByCaller(cs)
}

// answerTime is when the box answered cs.
func (l *line) answerTime(cs *callState) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return cs.answeredAt
}

func (l *line) stopped() <-chan struct{}    { return l.runDone }
func (l *line) ringInterval() time.Duration { return l.wall(l.opts.RingInterval) }

// wall is how long d of call time lasts on the wall clock at the modem's speed.
func (l *line) wall(d time.Duration) time.Duration { return wallTime(d, l.opts.Speed) }

// callTime is how much call time a wall-clock d is at the modem's speed.
func (l *line) callTime(d time.Duration) time.Duration { return callTime(d, l.opts.Speed) }

// wallTime is d of call time on the wall clock at speed (below 1: real time).
func wallTime(d time.Duration, speed float64) time.Duration {
	if speed <= 1 {
		return d
	}
	return time.Duration(float64(d) / speed)
}

// callTime is the call time a wall-clock d stands for at speed (below 1: real time).
func callTime(d time.Duration, speed float64) time.Duration {
	if speed <= 1 {
		return d
	}
	return time.Duration(float64(d) * speed)
}
