// Package supervise keeps a modem line alive. A Line wraps a driver line (gsm.Quectel,
// gsm.SIM7600, gsm.Huawei, fxo.Modem) and, when the driver loses its modem (the port failed,
// the modem stopped answering, it could not be initialised), walks the recovery chain:
//
//  1. "recovering": close and reopen the ports (Config.Open finds them again, at new paths
//     after a re-plug) and start a fresh driver line;
//  2. "restarting modem": send AT+CFUN=1,1, wait Config.BootWait, reopen;
//  3. "power cycling": pulse the modem's PWRKEY or RESET GPIO line (Config.Power), wait, reopen;
//  4. "down: <reason>": wait Config.RetryAfter and start again at step 1.
//
// A step succeeds when the fresh driver line reports its first State (normally "ready") within
// Config.ReadyTimeout; the chain then starts from step 1 the next time. Each step is reported
// as an hw.State event on the Line's Events, among the driver's own events, so the admin and
// /metrics show it.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"hotline/hw"
	"hotline/hw/gpio"
	"hotline/hw/gsm"
	"hotline/hw/modem"
)

// States reported by a Line during recovery; "down: <reason>" starts with StateDown.
const (
	StateRecovering = "recovering"
	StateRestarting = "restarting modem"
	StatePowerCycle = "power cycling"
	StateDown       = "down"
)

// Runner is a driver line with its Run.
type Runner interface {
	hw.Line
	Run(ctx context.Context) error
}

// Ports are the opened ports of one modem. Audio is nil for a modem with one port (FXO).
type Ports struct {
	AT    io.ReadWriteCloser
	Audio io.ReadWriteCloser
}

func (p Ports) close() {
	if p.AT != nil {
		p.AT.Close()
	}
	if p.Audio != nil {
		p.Audio.Close()
	}
}

// Config describes a supervised line.
type Config struct {
	ID     string
	Logger *slog.Logger
	// Open opens the modem's ports. It is called at the start and at every recovery step; after
	// a re-plug it must find the modem at its new paths (discover.Watcher.Find).
	Open func(ctx context.Context) (Ports, error)
	// New builds a fresh driver line on opened ports.
	New func(p Ports) Runner
	// Power are the modem's PWRKEY/RESET lines; without either, step 3 is skipped.
	Power gpio.Lines
	// ReadyTimeout bounds a fresh line's start (its first State event); 0 means 60 s.
	ReadyTimeout time.Duration
	// BootWait is how long the modem takes to come back after AT+CFUN=1,1 or a power cycle
	// before its ports are opened again; 0 means 15 s.
	BootWait time.Duration
	// RetryAfter is the pause after "down" before the chain starts again; 0 means 5 minutes.
	RetryAfter time.Duration
}

// Line is a supervised line. It is an hw.Line and an hw.Dialer; what it does it hands to the
// driver line running at the moment (Current).
type Line struct {
	cfg    Config
	log    *slog.Logger
	events chan hw.Event
	sms    chan gsm.IncomingSMS

	mu      sync.Mutex
	cur     Runner
	started bool
}

var (
	_ hw.Line   = (*Line)(nil)
	_ hw.Dialer = (*Line)(nil)
)

// New returns the supervised line; nothing happens until Run.
func New(cfg Config) *Line {
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 60 * time.Second
	}
	if cfg.BootWait <= 0 {
		cfg.BootWait = 15 * time.Second
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 5 * time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Line{cfg: cfg, log: log.With("line", cfg.ID), events: make(chan hw.Event, 16),
		sms: make(chan gsm.IncomingSMS)}
}

// ID is the line's name.
func (l *Line) ID() string { return l.cfg.ID }

// Events delivers the driver's events and the recovery states; it is closed when Run returns.
func (l *Line) Events() <-chan hw.Event { return l.events }

// Current returns the driver line running now, or nil while the modem is being recovered. Use
// it for what only the driver offers (SMS, USSD, Status), by type assertion.
func (l *Line) Current() hw.Line {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil {
		return nil
	}
	return l.cur
}

// Answer answers on the current driver line; see hw.Line.
func (l *Line) Answer(ctx context.Context) (hw.Audio, error) {
	cur := l.Current()
	if cur == nil {
		return nil, fmt.Errorf("line %s: modem not up: %w", l.cfg.ID, hw.ErrNoCall)
	}
	return cur.Answer(ctx)
}

// Hangup hangs up on the current driver line; see hw.Line. With no line up it does nothing.
func (l *Line) Hangup(ctx context.Context) error {
	cur := l.Current()
	if cur == nil {
		return nil
	}
	return cur.Hangup(ctx)
}

// Dial places a call on the current driver line; see hw.Dialer. While the modem is being
// recovered, or when its driver cannot dial, the error wraps hw.ErrNoAnswer.
func (l *Line) Dial(ctx context.Context, number string) (hw.Audio, error) {
	d, ok := l.Current().(hw.Dialer)
	if !ok {
		return nil, fmt.Errorf("line %s: cannot dial now: %w", l.cfg.ID, hw.ErrNoAnswer)
	}
	return d.Dial(ctx, number)
}

// Run keeps the line up until ctx ends, then returns nil once the driver line has stopped.
// Events is closed when Run returns. Run may be called once.
func (l *Line) Run(ctx context.Context) error {
	l.mu.Lock()
	if l.started {
		l.mu.Unlock()
		return fmt.Errorf("line %s: Run called twice", l.cfg.ID)
	}
	l.started = true
	l.mu.Unlock()
	defer close(l.events)

	step := 0 // 0: first start; 1-3: the recovery step now tried
	var lastErr error
	for ctx.Err() == nil {
		switch step {
		case 1:
			l.state(ctx, StateRecovering, lastErr)
		case 2:
			l.state(ctx, StateRestarting, lastErr)
			l.restart(ctx)
			if !sleep(ctx, l.cfg.BootWait) {
				return nil
			}
		case 3:
			if l.cfg.Power.PowerKey == nil && l.cfg.Power.Reset == nil {
				step = 4
				continue
			}
			l.state(ctx, StatePowerCycle, lastErr)
			if err := l.cfg.Power.PowerCycle(ctx); err != nil {
				l.log.Error("power cycle failed", "err", err)
			}
			if !sleep(ctx, l.cfg.BootWait) {
				return nil
			}
		case 4:
			l.state(ctx, StateDown+": "+reason(lastErr), nil)
			if !sleep(ctx, l.cfg.RetryAfter) {
				return nil
			}
			step = 1
			continue
		}
		came, err := l.runOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		lastErr = err
		if came {
			step = 1
		} else {
			step++
		}
	}
	return nil
}

// reason is the plain-words cause of a failure for the "down" state.
func reason(err error) string {
	if err == nil {
		return hw.CauseModemLost
	}
	return err.Error()
}

// state reports a recovery step.
func (l *Line) state(ctx context.Context, s string, cause error) {
	l.log.Warn("line state", "state", s, "cause", cause)
	l.send(ctx, hw.Event{Kind: hw.State, State: s, Time: time.Now()})
}

// send hands ev to the consumer, or drops it once ctx has ended.
func (l *Line) send(ctx context.Context, ev hw.Event) {
	select {
	case l.events <- ev:
	case <-ctx.Done():
	}
}

// runOnce opens the ports and runs a fresh driver line until it fails or ctx ends. came
// reports whether the line started (its first State event came in time).
func (l *Line) runOnce(ctx context.Context) (came bool, err error) {
	ports, err := l.cfg.Open(ctx)
	if err != nil {
		return false, fmt.Errorf("open the ports: %w", err)
	}
	defer ports.close()
	drv := l.cfg.New(ports)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- drv.Run(runCtx) }()
	smsStop := make(chan struct{})
	smsDone := make(chan struct{})
	go func() {
		defer close(smsDone)
		l.forwardSMS(drv, smsStop)
	}()
	defer func() {
		close(smsStop)
		<-smsDone
	}()

	l.mu.Lock()
	l.cur = drv
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.cur = nil
		l.mu.Unlock()
	}()

	ready := time.NewTimer(l.cfg.ReadyTimeout)
	defer ready.Stop()
	readyC := ready.C
	timedOut := false
	for evs := drv.Events(); evs != nil; {
		select {
		case ev, ok := <-evs:
			if !ok {
				evs = nil
				continue
			}
			if ev.Kind == hw.State {
				if ev.State == "down" {
					continue // the chain says what happens next
				}
				came, readyC = true, nil
			}
			l.send(ctx, ev)
		case <-readyC:
			readyC, timedOut = nil, true
			stop()
		}
	}
	err = <-runErr
	switch {
	case ctx.Err() != nil:
		return came, nil
	case timedOut:
		return false, fmt.Errorf("the modem did not start within %v", l.cfg.ReadyTimeout)
	case err == nil:
		return came, errors.New("the driver stopped")
	}
	return came, err
}

// restart asks the modem to restart with AT+CFUN=1,1 on freshly opened ports. A modem that
// does not answer is left to the next step.
func (l *Line) restart(ctx context.Context) {
	ports, err := l.cfg.Open(ctx)
	if err != nil {
		l.log.Warn("cannot open the ports to restart the modem", "err", err)
		return
	}
	defer ports.close()
	ch := modem.New(ports.AT, modem.Options{Logger: l.log})
	chCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ch.Run(chCtx)
	}()
	if _, err := ch.Command(ctx, "AT+CFUN=1,1", min(10*time.Second, l.cfg.ReadyTimeout)); err != nil {
		l.log.Warn("AT+CFUN=1,1 failed", "err", err)
	}
	stop()
	<-done
}

// sleep waits d and reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
