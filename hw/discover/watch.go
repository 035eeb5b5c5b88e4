package discover

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Key names a modem across re-plugs: "serial:<USB serial number>" when the device has one
// (Quectel and SIMCom modules report their IMEI there), else "usb:<USB path>", the socket it
// sits in.
func Key(m Modem) string {
	if m.Serial != "" {
		return "serial:" + m.Serial
	}
	return "usb:" + m.USBPath
}

// Change is a modem that appeared, went away, or came back at other paths.
type Change struct {
	Key   string
	Modem Modem // the modem now; for Gone, as it was last seen
	Gone  bool
}

// Watcher notices modems being unplugged and plugged back by listing them (Find) every few
// seconds: no udev or netlink is needed. Create it with NewWatcher and serve it with Run.
type Watcher struct {
	find  func() ([]Modem, error)
	every time.Duration
	log   *slog.Logger
	out   chan Change

	mu     sync.Mutex
	now    map[string]Modem
	looked chan struct{} // closed and replaced after each look
	begun  uint64        // looks started
	done   uint64        // the last look finished
}

// NewWatcher returns a watcher that lists the modems with find (for the box:
// func() ([]Modem, error) { return Find("/") }) every every (0 means 3 s).
func NewWatcher(find func() ([]Modem, error), every time.Duration, log *slog.Logger) *Watcher {
	if every <= 0 {
		every = 3 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{find: find, every: every, log: log, out: make(chan Change, 16),
		now: map[string]Modem{}, looked: make(chan struct{})}
}

// Changes delivers what changed, in order. Changes that find no reader are dropped (Find and
// Wait always tell the present state); the channel is closed when Run returns.
func (w *Watcher) Changes() <-chan Change { return w.out }

// Run looks at once and then every interval until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	defer close(w.out)
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		w.look()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// look lists the modems once and reports the differences.
func (w *Watcher) look() {
	w.mu.Lock()
	w.begun++
	mine := w.begun
	w.mu.Unlock()
	found, err := w.find()
	if err != nil {
		w.log.Warn("listing the modems failed", "err", err)
		w.mu.Lock()
		w.finished(mine)
		w.mu.Unlock()
		return
	}
	now := make(map[string]Modem, len(found))
	for _, m := range found {
		now[Key(m)] = m
	}
	w.mu.Lock()
	var changes []Change
	for k, old := range w.now {
		if _, ok := now[k]; !ok {
			changes = append(changes, Change{Key: k, Modem: old, Gone: true})
		}
	}
	for k, m := range now {
		if old, ok := w.now[k]; !ok || !samePorts(old, m) {
			changes = append(changes, Change{Key: k, Modem: m})
		}
	}
	w.now = now
	w.finished(mine)
	w.mu.Unlock()
	slices.SortFunc(changes, func(a, b Change) int {
		switch {
		case a.Gone != b.Gone: // the departures first
			if a.Gone {
				return -1
			}
			return 1
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	for _, c := range changes {
		if c.Gone {
			w.log.Info("modem gone", "key", c.Key, "at", c.Modem.AT)
		} else {
			w.log.Info("modem present", "key", c.Key, "at", c.Modem.AT, "audio", c.Modem.Audio)
		}
		select {
		case w.out <- c:
		default:
			w.log.Debug("modem change not read", "key", c.Key)
		}
	}
}

// finished records the end of look n and wakes the waiters; w.mu is held.
func (w *Watcher) finished(n uint64) {
	w.done = n
	close(w.looked)
	w.looked = make(chan struct{})
}

// samePorts reports whether a and b have the same ports at the same paths.
func samePorts(a, b Modem) bool {
	return a.AT == b.AT && a.Audio == b.Audio && slices.Equal(a.Ports, b.Ports)
}

// Find returns the modem key names, if it is plugged in now (as of the last look).
func (w *Watcher) Find(key string) (Modem, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	m, ok := w.now[key]
	return m, ok
}

// Wait returns the modem key names as soon as it is plugged in (at once when it is), or ctx's
// error. Run must be serving the watcher.
func (w *Watcher) Wait(ctx context.Context, key string) (Modem, error) {
	for {
		w.mu.Lock()
		m, ok := w.now[key]
		looked := w.looked
		w.mu.Unlock()
		if ok {
			return m, nil
		}
		select {
		case <-looked:
		case <-ctx.Done():
			return Modem{}, fmt.Errorf("discover: waiting for modem %s: %w", key, ctx.Err())
		}
	}
}

// WaitOpen waits for a look that starts after the call, so that a modem just pulled out is no
// longer listed at its old paths (which another device may have taken meanwhile), then for
// modem key, and calls open with it until open succeeds, trying again after each look while it
// fails (the ports of a modem just plugged in may need a moment). It returns ctx's error, with
// open's last error, when ctx ends first.
func (w *Watcher) WaitOpen(ctx context.Context, key string, open func(Modem) error) error {
	if err := w.fresh(ctx); err != nil {
		return err
	}
	var last error
	for {
		m, err := w.Wait(ctx, key)
		if err != nil {
			if last != nil {
				return fmt.Errorf("%w (last try: %w)", err, last)
			}
			return err
		}
		if last = open(m); last == nil {
			return nil
		}
		t := time.NewTimer(w.every)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("discover: opening modem %s: %w (last try: %w)", key, ctx.Err(), last)
		}
	}
}

// fresh waits until a look that began after the call has finished.
func (w *Watcher) fresh(ctx context.Context) error {
	w.mu.Lock()
	want := w.begun + 1
	w.mu.Unlock()
	for {
		w.mu.Lock()
		done, looked := w.done, w.looked
		w.mu.Unlock()
		if done >= want {
			return nil
		}
		select {
		case <-looked:
		case <-ctx.Done():
			return fmt.Errorf("discover: waiting for a fresh look: %w", ctx.Err())
		}
	}
}
