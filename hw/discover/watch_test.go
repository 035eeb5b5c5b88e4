package discover

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestWatcher follows a modem that is unplugged and comes back at other ports, and one without
// a serial number, known by its USB socket.
func TestWatcher(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		ec25 := Modem{Kind: Quectel, Serial: "861234567890123", USBPath: "1-1.2", AT: "/dev/ttyUSB2", Audio: "/dev/ttyUSB1"}
		fxo := Modem{Kind: FXO, USBPath: "1-1.4", AT: "/dev/ttyACM0"}
		present := []Modem{ec25, fxo}
		failing := false
		w := NewWatcher(func() ([]Modem, error) {
			mu.Lock()
			defer mu.Unlock()
			if failing {
				return nil, errors.New("sysfs unreadable")
			}
			return append([]Modem(nil), present...), nil
		}, time.Second, nil)
		set := func(ms ...Modem) {
			mu.Lock()
			present = ms
			mu.Unlock()
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()

		next := func() Change {
			t.Helper()
			select {
			case c := <-w.Changes():
				return c
			case <-time.After(time.Minute):
				t.Fatal("no change")
			}
			return Change{}
		}
		got := map[string]bool{}
		for range 2 {
			c := next()
			got[c.Key] = !c.Gone
		}
		if !got["serial:861234567890123"] || !got["usb:1-1.4"] {
			t.Fatalf("first look: %v", got)
		}
		if m, ok := w.Find("serial:861234567890123"); !ok || m.AT != "/dev/ttyUSB2" {
			t.Errorf("Find = %+v, %v", m, ok)
		}

		// Unplugged: gone at the next look; Wait blocks.
		set(fxo)
		if c := next(); c.Key != "serial:861234567890123" || !c.Gone {
			t.Errorf("change %+v, want the EC25 gone", c)
		}
		waited := make(chan Modem)
		go func() {
			m, err := w.Wait(t.Context(), "serial:861234567890123")
			if err != nil {
				t.Error(err)
			}
			waited <- m
		}()
		synctest.Wait()
		select {
		case <-waited:
			t.Fatal("Wait returned while the modem is out")
		default:
		}

		// A failed listing changes nothing.
		mu.Lock()
		failing = true
		mu.Unlock()
		time.Sleep(2 * time.Second)
		mu.Lock()
		failing = false
		mu.Unlock()

		// Plugged back, re-enumerated at other ports.
		back := ec25
		back.AT, back.Audio = "/dev/ttyUSB6", "/dev/ttyUSB5"
		set(fxo, back)
		if c := next(); c.Key != "serial:861234567890123" || c.Gone || c.Modem.AT != "/dev/ttyUSB6" {
			t.Errorf("change %+v, want the EC25 back at ttyUSB6", c)
		}
		if m := <-waited; m.AT != "/dev/ttyUSB6" || m.Audio != "/dev/ttyUSB5" {
			t.Errorf("Wait = %+v", m)
		}
		wctx, wcancel := context.WithTimeout(t.Context(), time.Second)
		defer wcancel()
		if _, err := w.Wait(wctx, "usb:9-9"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Wait for an absent modem = %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
		if _, ok := <-w.Changes(); ok {
			t.Error("Changes not closed after Run")
		}
	})
}

func TestKey(t *testing.T) {
	if k := Key(Modem{Serial: "abc", USBPath: "1-1"}); k != "serial:abc" {
		t.Errorf("Key = %q", k)
	}
	if k := Key(Modem{USBPath: "1-1.3"}); k != "usb:1-1.3" {
		t.Errorf("Key = %q", k)
	}
}

// WaitOpen tries again at each look while the listed ports do not open.
func TestWaitOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := Modem{Serial: "1", AT: "/dev/ttyUSB2"}
		w := NewWatcher(func() ([]Modem, error) { return []Modem{m}, nil }, time.Second, nil)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go w.Run(ctx)
		synctest.Wait() // the first look is done: WaitOpen waits for the next one
		tries := 0
		start := time.Now()
		err := w.WaitOpen(t.Context(), "serial:1", func(Modem) error {
			tries++
			if tries < 3 {
				return errors.New("no such file")
			}
			return nil
		})
		if err != nil || tries != 3 || time.Since(start) != 3*time.Second {
			t.Errorf("WaitOpen = %v after %d tries and %v", err, tries, time.Since(start))
		}
		wctx, wcancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
		defer wcancel()
		err = w.WaitOpen(wctx, "serial:1", func(Modem) error { return errors.New("broken") })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("WaitOpen on a broken port = %v", err)
		}
	})
}
