package switchboard

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNoLine is returned when no line is free to place a call.
var ErrNoLine = errors.New("no free line to place the call")

// ErrNobody is returned when no operator is available or none took the call.
var ErrNobody = errors.New("no operator took the call")

// Callback places a callback the way a hotline should: it rings an operator first (their SIP
// phone, or their mobile with the announcement and the take key), and only when one took it
// calls the caller on a free line and bridges the two. It returns who talked and for how long;
// the caller's not answering is hw.ErrBusy or hw.ErrNoAnswer wrapped.
func (b *Board) Callback(ctx context.Context, number string, operators []string, lang string) (who string, talk time.Duration, err error) {
	if b.opts.People == nil {
		return "", 0, ErrNobody
	}
	persons, err := b.opts.People.Available(ctx, operators, "order", b.now())
	if err != nil {
		return "", 0, fmt.Errorf("callback: %w", err)
	}
	persons = b.notTalking(persons)
	log := b.log.With("callback", number)
	e := &callEnv{log: log, bg: context.WithoutCancel(ctx), lang: lang, c: &call{l: &lineState{b: b, log: log}, number: number}}
	var t taken
	for _, p := range persons {
		t, _, err = e.ringOperator(ctx, p, defaultRing)
		if err != nil {
			return "", 0, err
		}
		if t.who != "" {
			break
		}
	}
	if t.who == "" {
		return "", 0, ErrNobody
	}
	b.setTalking(t.who, true)
	defer b.setTalking(t.who, false)
	l := b.freeDialer(nil)
	if l == nil {
		t.drop()
		return t.who, 0, ErrNoLine
	}
	d, err := l.dialOut(ctx, number)
	if err != nil {
		t.drop()
		return t.who, 0, fmt.Errorf("callback: %w", err)
	}
	log.Info("callback connected", "operator", t.who, "line", l.line.ID())
	start := time.Now()
	switch {
	case t.leg != nil:
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-d.Done():
			case <-lctx.Done():
			}
			cancel()
		}()
		err := bridgeLeg(lctx, d.pump, t.leg, nil)
		cancel()
		if !errors.Is(err, errLegDone) {
			t.drop()
		}
	case t.call != nil:
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-d.Done():
			case <-t.call.Done():
			case <-lctx.Done():
			}
			cancel()
		}()
		linkPumps(lctx, t.call.pump, d.pump)
		cancel()
		t.drop()
	}
	d.hangup()
	return t.who, b.clk.since(start), nil
}
