package sim

import (
	"strings"
	"testing"
	"time"
)

// A stalled modem swallows commands; one stalled until reset still takes AT+CFUN=1,1, is deaf
// while it boots and then announces itself; PowerCycle ends any stall.
func TestStallAndRestart(t *testing.T) {
	t.Parallel()
	m := startModem(t, Options{BootTime: 300 * time.Millisecond})
	at := dialAT(t, m)
	at.send("ATE0\r")
	at.untilFinal(2 * time.Second)
	at.cmd("AT+CLIP=1", "OK")

	m.Stall(true)
	at.send("AT\r")
	if l, ok := at.line(300 * time.Millisecond); ok {
		t.Fatalf("stalled modem answered %q", l)
	}
	at.send("AT+CFUN=1,1\r")
	if l := at.mustLine(time.Second); l != "OK" {
		t.Errorf("AT+CFUN=1,1 on a modem stalled until reset: %q, want OK", l)
	}
	at.send("AT\r") // dropped: booting
	lines := at.waitFor("+QIND: PB DONE", 3*time.Second)
	if got := strings.Join(lines, "|"); !strings.Contains(got, "RDY|+CFUN: 1|+CPIN: READY") || strings.Contains(got, "OK|RDY") {
		t.Errorf("boot lines %q", got)
	}
	at.send("ATE0\r")
	at.untilFinal(2 * time.Second)
	if got := at.cmd("AT+CLIP?", "OK"); len(got) != 1 || got[0] != "+CLIP: 0,1" {
		t.Errorf("AT+CLIP? after the reset = %q, want the default", got)
	}

	m.Stall(false)
	at.send("AT+CFUN=1,1\r")
	if l, ok := at.line(500 * time.Millisecond); ok {
		t.Fatalf("modem stalled until a power cycle answered %q", l)
	}
	m.PowerCycle()
	at.waitFor("+QIND: PB DONE", 3*time.Second)
	at.send("ATE0\r")
	at.untilFinal(2 * time.Second)
	at.cmd("AT", "OK")
}

// Unplug removes the ports; Plug brings the modem back at new paths, serving as before.
func TestUnplugPlug(t *testing.T) {
	t.Parallel()
	m := startModem(t, Options{})
	oldAT, oldAudio := m.ATPath(), m.AudioPath()
	at := dialAT(t, m)
	at.cmd("AT", "OK")
	m.Unplug()
	if err := m.Plug(); err != nil {
		t.Fatal(err)
	}
	if m.ATPath() == oldAT || m.AudioPath() == oldAudio || m.ATPath() == oldAudio {
		t.Errorf("paths after the re-plug: %s %s, before %s %s", m.ATPath(), m.AudioPath(), oldAT, oldAudio)
	}
	at2 := dialAT(t, m)
	at2.send("ATE0\r")
	at2.untilFinal(2 * time.Second)
	at2.cmd("AT", "OK")
	at2.cmd("AT+QPCMV=1,0", "OK")
	audio := dialAudio(t, m)
	calls := make(chan callOutcome, 1)
	go func() {
		res, err := m.Call(t.Context(), Caller{From: "+4930123", HangupAfter: 500 * time.Millisecond})
		calls <- callOutcome{res, err}
	}()
	if l, ok := at2.line(2 * time.Second); l != "RING" {
		select {
		case o := <-calls:
			t.Fatalf("line %q %v, want RING; call %+v %v", l, ok, o.res, o.err)
		case <-time.After(time.Second):
			t.Fatalf("line %q %v, want RING", l, ok)
		}
	}
	at2.cmd("ATA", "OK")
	waitAudio(t, audio)
	if o := awaitCall(t, calls); o.err != nil || !o.res.Answered {
		t.Errorf("call after the re-plug: %+v, %v", o.res, o.err)
	}
}
