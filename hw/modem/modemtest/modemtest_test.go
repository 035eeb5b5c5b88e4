package modemtest

import (
	"bytes"
	"io"
	"slices"
	"testing"
	"testing/synctest"
)

// exchange sends cmd and reads exactly len(want) bytes of reply.
func exchange(t *testing.T, m *Modem, cmd, want string) {
	t.Helper()
	if _, err := m.Port().Write([]byte(cmd + "\r")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(m.Port(), got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte(want)) {
		t.Errorf("reply to %q = %q, want %q", cmd, got, want)
	}
}

func TestModem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(t)
		m.On("AT", "OK")
		m.On("ATE0", "OK")
		m.On("AT+CGMM", "EC25", "OK")
		m.Expect("AT+CGMM", "+CME ERROR: 10")
		m.Expect("AT+CGMM", "EG25", "OK")

		exchange(t, m, "AT", "AT\r\r\nOK\r\n") // echo on at first
		exchange(t, m, "ATE0", "ATE0\r\r\nOK\r\n")
		exchange(t, m, "AT", "\r\nOK\r\n") // echo off now
		exchange(t, m, "AT+CGMM", "\r\n+CME ERROR: 10\r\n")
		exchange(t, m, "AT+CGMM", "\r\nEG25\r\n\r\nOK\r\n")
		exchange(t, m, "AT+CGMM", "\r\nEC25\r\n\r\nOK\r\n")
		exchange(t, m, "AT+QFOO", "\r\nERROR\r\n")

		m.WaitCommand("AT+CGMM", 3)
		if n := m.Count("AT+CGMM"); n != 3 {
			t.Errorf("Count = %d", n)
		}
		want := []string{"AT", "ATE0", "AT", "AT+CGMM", "AT+CGMM", "AT+CGMM", "AT+QFOO"}
		if got := m.Commands(); !slices.Equal(got, want) {
			t.Errorf("Commands = %q, want %q", got, want)
		}
		if got := m.Unexpected(); !slices.Equal(got, []string{"AT+QFOO"}) {
			t.Errorf("Unexpected = %q", got)
		}

		go func() {
			if err := m.Push("RING", "+CLIP: \"1\",129"); err != nil {
				t.Error(err)
			}
		}()
		got := make([]byte, len("\r\nRING\r\n\r\n+CLIP: \"1\",129\r\n"))
		if _, err := io.ReadFull(m.Port(), got); err != nil {
			t.Fatal(err)
		}
		if string(got) != "\r\nRING\r\n\r\n+CLIP: \"1\",129\r\n" {
			t.Errorf("pushed %q", got)
		}

		m.Close()
		if _, err := m.Port().Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("read after Close = %v, want EOF", err)
		}
	})
}

func TestSilentReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(t)
		m.Echo(false)
		m.On("ATA")
		if _, err := m.Port().Write([]byte("ATA\r")); err != nil {
			t.Fatal(err)
		}
		m.WaitCommand("ATA", 1)
		synctest.Wait()
		m.Close()
		if b, err := io.ReadAll(m.Port()); err != nil || len(b) != 0 {
			t.Errorf("silent command produced %q, %v", b, err)
		}
	})
}
