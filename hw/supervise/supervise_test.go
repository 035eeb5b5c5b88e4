package supervise_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotline/hw"
	"hotline/hw/discover"
	"hotline/hw/gpio"
	"hotline/hw/gsm"
	"hotline/hw/modem"
	"hotline/hw/sim"
	"hotline/hw/supervise"
)

// rig is a simulated EC25 under a supervised Quectel line, over real ptys.
type rig struct {
	t    *testing.T
	m    *sim.EC25
	line *supervise.Line
	done chan error
}

func newRig(t *testing.T, power func(m *sim.EC25) gpio.Lines) *rig {
	t.Helper()
	m, err := sim.NewEC25(sim.Options{ID: t.Name(), BootTime: 300 * time.Millisecond, RingInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	simDone := make(chan error, 1)
	go func() { simDone <- m.Run(ctx) }()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg := supervise.Config{
		ID:     "gsm1",
		Logger: log,
		Open: func(context.Context) (supervise.Ports, error) {
			at, err := modem.OpenPort(m.ATPath())
			if err != nil {
				return supervise.Ports{}, err
			}
			audio, err := modem.OpenPort(m.AudioPath())
			if err != nil {
				at.Close()
				return supervise.Ports{}, err
			}
			return supervise.Ports{AT: at, Audio: audio}, nil
		},
		New: func(p supervise.Ports) supervise.Runner {
			return gsm.NewQuectel("gsm1", p.AT, p.Audio, gsm.QuectelOptions{Logger: log, Watchdog: 200 * time.Millisecond})
		},
		ReadyTimeout: 4 * time.Second,
		BootWait:     time.Second,
		RetryAfter:   3 * time.Second,
	}
	if power != nil {
		cfg.Power = power(m)
	}
	r := &rig{t: t, m: m, line: supervise.New(cfg), done: make(chan error, 1)}
	lineCtx, stopLine := context.WithCancel(context.Background())
	go func() { r.done <- r.line.Run(lineCtx) }()
	t.Cleanup(func() {
		stopLine()
		for range r.line.Events() {
		}
		if err := <-r.done; err != nil {
			t.Errorf("line Run: %v", err)
		}
		cancel()
		if err := <-simDone; err != nil {
			t.Errorf("sim Run: %v", err)
		}
		m.Close()
	})
	r.want(gsm.StateReady)
	return r
}

// next returns the next event, skipping signal and registration reports.
func (r *rig) next() hw.Event {
	r.t.Helper()
	for {
		select {
		case ev, ok := <-r.line.Events():
			if !ok {
				r.t.Fatal("events closed")
			}
			return ev
		case <-time.After(30 * time.Second):
			r.t.Fatal("no event within 30 s")
		}
	}
}

// want reads State events until one is s, and fails on any other State in between.
func (r *rig) want(states ...string) {
	r.t.Helper()
	for _, s := range states {
		ev := r.next()
		if ev.Kind != hw.State || !strings.HasPrefix(ev.State, s) {
			r.t.Fatalf("event %v %q %q, want State %q", ev.Kind, ev.State, ev.Cause, s)
		}
	}
}

// Step 1: a modem that hangs mid-call and comes back by itself is found by the watchdog; the
// call ends as "modem lost", the ports are reopened and the line is ready again.
func TestRecoverByReopen(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	callCtx, hangUp := context.WithCancel(t.Context())
	defer hangUp()
	called := make(chan struct{})
	go func() {
		defer close(called)
		r.m.Call(callCtx, sim.Caller{From: "+79161234567"})
	}()
	if ev := r.next(); ev.Kind != hw.Ring {
		t.Fatalf("event %+v, want Ring", ev)
	}
	if _, err := r.line.Answer(t.Context()); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	if ev := r.next(); ev.Kind != hw.Connected {
		t.Fatalf("event %+v, want Connected", ev)
	}
	r.m.Stall(false)
	if ev := r.next(); ev.Kind != hw.Hangup || ev.Cause != gsm.CauseModemLost {
		t.Fatalf("event %+v, want Hangup %q", ev, gsm.CauseModemLost)
	}
	r.want(supervise.StateRecovering)
	r.m.Unstall()
	hangUp()
	<-called
	r.want(gsm.StateReady)
	if r.line.Current() == nil {
		t.Error("no current line once ready")
	}
}

// Step 2: a modem whose command interpreter hangs but still takes AT+CFUN=1,1 comes back after
// the restart.
func TestRecoverByRestart(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	r.m.Stall(true)
	r.want(supervise.StateRecovering, supervise.StateRestarting, gsm.StateReady)
}

// Step 3: a modem only a power cycle brings back: PWRKEY off, wait, on.
func TestRecoverByPowerCycle(t *testing.T) {
	t.Parallel()
	var pk gpio.Fake
	var pulses atomic.Int32
	r := newRig(t, func(m *sim.EC25) gpio.Lines {
		pk.OnPulse = func(gpio.Pulse) {
			if pulses.Add(1) == 2 { // the on pulse
				m.PowerCycle()
			}
		}
		return gpio.Lines{PowerKey: &pk, Active: 1, Timing: gpio.Timing{On: 20 * time.Millisecond, Off: 30 * time.Millisecond, Down: 100 * time.Millisecond}}
	})
	r.m.Stall(false)
	r.want(supervise.StateRecovering, supervise.StateRestarting, supervise.StatePowerCycle, gsm.StateReady)
	want := []gpio.Pulse{{Level: 1, Len: 30 * time.Millisecond}, {Level: 1, Len: 20 * time.Millisecond}}
	if got := pk.Pulses(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("PWRKEY pulses %v, want %v", got, want)
	}
}

// Step 4: with no GPIO lines and a modem that stays hung, the line is down with the reason,
// tries again later, and is ready once the modem answers.
func TestDownThenBack(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	r.m.Stall(false)
	r.want(supervise.StateRecovering, supervise.StateRestarting)
	ev := r.next()
	if ev.Kind != hw.State || !strings.HasPrefix(ev.State, supervise.StateDown+": ") || len(ev.State) < len("down: x") {
		t.Fatalf("event %+v, want State down: <reason>", ev)
	}
	if _, err := r.line.Dial(t.Context(), "+4930123"); !errors.Is(err, hw.ErrNoAnswer) {
		t.Errorf("Dial while down = %v, want ErrNoAnswer", err)
	}
	if _, err := r.line.Answer(t.Context()); !errors.Is(err, hw.ErrNoCall) {
		t.Errorf("Answer while down = %v, want ErrNoCall", err)
	}
	r.m.Unstall()
	r.want(supervise.StateRecovering, gsm.StateReady)
}

// A modem unplugged mid-call and plugged back comes back on its own: the call is logged as
// lost, the watcher finds the modem again by its serial number at new paths, and the line
// reopens there.
func TestReplug(t *testing.T) {
	t.Parallel()
	m, err := sim.NewEC25(sim.Options{ID: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := m.Run(ctx); err != nil {
			t.Errorf("sim Run: %v", err)
		}
	})
	var plugged atomic.Bool
	plugged.Store(true)
	const serial = "861234567890123"
	w := discover.NewWatcher(func() ([]discover.Modem, error) {
		if !plugged.Load() {
			return nil, nil
		}
		return []discover.Modem{{Kind: discover.Quectel, Serial: serial, USBPath: "1-1.2", AT: m.ATPath(), Audio: m.AudioPath()}}, nil
	}, 100*time.Millisecond, nil)
	wg.Go(func() { w.Run(ctx) })
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	var opened []string
	line := supervise.New(supervise.Config{
		ID:     "gsm1",
		Logger: log,
		Open: func(ctx context.Context) (supervise.Ports, error) {
			ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			var ports supervise.Ports
			var foundAT string
			err := w.WaitOpen(ctx, "serial:"+serial, func(found discover.Modem) error {
				at, err := modem.OpenPort(found.AT)
				if err != nil {
					return err
				}
				audio, err := modem.OpenPort(found.Audio)
				if err != nil {
					at.Close()
					return err
				}
				ports, foundAT = supervise.Ports{AT: at, Audio: audio}, found.AT
				return nil
			})
			if err != nil {
				return supervise.Ports{}, err
			}
			opened = append(opened, foundAT)
			return ports, nil
		},
		New: func(p supervise.Ports) supervise.Runner {
			return gsm.NewQuectel("gsm1", p.AT, p.Audio, gsm.QuectelOptions{Logger: log})
		},
		ReadyTimeout: 30 * time.Second,
	})
	lineCtx, stopLine := context.WithCancel(context.Background())
	wg.Go(func() {
		if err := line.Run(lineCtx); err != nil {
			t.Errorf("line Run: %v", err)
		}
	})
	t.Cleanup(func() {
		stopLine()
		for range line.Events() {
		}
		cancel()
		wg.Wait()
		m.Close()
	})
	r := &rig{t: t, m: m, line: line}
	r.want(gsm.StateReady)
	called := make(chan struct{})
	go func() {
		defer close(called)
		m.Call(t.Context(), sim.Caller{From: "+79161234567"})
	}()
	if ev := r.next(); ev.Kind != hw.Ring {
		t.Fatalf("event %+v, want Ring", ev)
	}
	if _, err := line.Answer(t.Context()); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	if ev := r.next(); ev.Kind != hw.Connected {
		t.Fatalf("event %+v, want Connected", ev)
	}
	// Pulled out mid-call: the call ends as "modem lost", the line waits for the modem.
	plugged.Store(false)
	m.Unplug()
	<-called
	if ev := r.next(); ev.Kind != hw.Hangup || ev.Cause != gsm.CauseModemLost {
		t.Fatalf("event %+v, want Hangup %q", ev, gsm.CauseModemLost)
	}
	r.want(supervise.StateRecovering)
	if err := m.Plug(); err != nil {
		t.Fatal(err)
	}
	plugged.Store(true)
	r.want(gsm.StateReady)
	if len(opened) != 2 || opened[0] == opened[1] {
		t.Errorf("opened %q, want the old then a new path", opened)
	}
	if _, err := line.USSD(t.Context(), "*100#"); err != nil {
		t.Errorf("USSD after the re-plug: %v", err)
	}
	// The SMS of the new driver line come through the same channel.
	if err := m.DeliverSMS("+79161234567", "hello again"); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-line.SMS():
		if msg.Text != "hello again" {
			t.Errorf("SMS %q", msg.Text)
		}
		if err := msg.Ack(t.Context()); err != nil {
			t.Errorf("Ack: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("no SMS after the re-plug")
	}
}
