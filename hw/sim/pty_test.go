package sim

import (
	"errors"
	"os"
	"testing"
	"time"
)

// TestPortRawAndFlush: bytes cross the pty unchanged in both directions (no echo, no CR/LF
// translation), and flush drops what is under way both ways.
func TestPortRawAndFlush(t *testing.T) {
	p, err := openPort()
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	d := openSerial(t, p.path)
	defer d.Close()
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}

	// Daemon -> simulator.
	if _, err := d.Write(all); err != nil {
		t.Fatal(err)
	}
	got := readN(t, p.master, len(all))
	if string(got) != string(all) {
		t.Errorf("daemon -> sim: got % x", got)
	}
	// Simulator -> daemon, and nothing echoed back.
	if _, err := p.master.Write(all); err != nil {
		t.Fatal(err)
	}
	var back []byte
	buf := make([]byte, 512)
	d.SetReadTimeout(200 * time.Millisecond)
	for len(back) < len(all) {
		n, err := d.Read(buf)
		if err != nil || n == 0 {
			t.Fatalf("sim -> daemon: got %d of %d bytes (%v)", len(back), len(all), err)
		}
		back = append(back, buf[:n]...)
	}
	if string(back) != string(all) {
		t.Errorf("sim -> daemon: got % x", back)
	}
	if echo := readN(t, p.master, 0); len(echo) != 0 {
		t.Errorf("echoed back to the simulator: % x", echo)
	}

	// Flush drops both directions.
	d.Write([]byte("stale from the daemon"))
	p.master.Write([]byte("stale from the sim"))
	time.Sleep(50 * time.Millisecond)
	if err := p.flush(); err != nil {
		t.Fatal(err)
	}
	if stale := readN(t, p.master, 0); len(stale) != 0 {
		t.Errorf("after flush the simulator still reads %q", stale)
	}
	if n, _ := d.Read(buf); n != 0 {
		t.Errorf("after flush the daemon still reads %q", buf[:n])
	}
}

// readN reads want bytes from the master, or whatever arrives within 100 ms when want is 0.
func readN(t *testing.T, f *os.File, want int) []byte {
	t.Helper()
	var got []byte
	buf := make([]byte, 512)
	f.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	for want == 0 || len(got) < want {
		n, err := f.Read(buf)
		got = append(got, buf[:n]...)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if want != 0 {
				t.Fatalf("read %d of %d bytes", len(got), want)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return got
}
