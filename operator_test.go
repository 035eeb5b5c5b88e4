package main

import (
	"bytes"
	"context"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"hotline/voice"
	"hotline/voice/tone"
	"hotline/voice/wav"
)

// freeUDPPort asks the kernel for a UDP port nobody uses.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// sipp runs sipp (Debian package sip-tester) with a scenario from testdata/sipp.
func sipp(t *testing.T, ctx context.Context, scenario string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp is needed (make test installs sip-tester): %v", err)
	}
	sf, err := filepath.Abs(filepath.Join("testdata", "sipp", scenario))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append([]string{"-sf", sf, "-nostdin", "-m", "1", "-i", "127.0.0.1",
		"-timeout", "60s", "-timeout_error"}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

// TestOperatorAnswersOnSIPPhone: an operator added from the command line registers a real SIP
// phone (sipp, digest auth) to the running box; a caller presses 0, the phone rings, answers
// and echoes what it hears, then hangs up. The caller hears its own tone come back through the
// phone (audio both ways, by tone detection), and `hotline call` reports who answered.
func TestOperatorAnswersOnSIPPhone(t *testing.T) {
	t.Parallel()
	b := startBox(t)
	if b.sip == "" {
		t.Fatal("hotline run printed no SIP address")
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"operator", "add", "--data", b.data, "--name", "Анна",
		"--sip-user", "anna", "--sip-password", "correct-horse"}, nil, &out, &errb); err != nil {
		t.Fatalf("operator add: %v %s", err, errb.String())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	phonePort, mediaPort := freeUDPPort(t), freeUDPPort(t)
	phone, phoneOut := sipp(t, ctx, "operator.xml", "-p", strconv.Itoa(phonePort), "-mi", "127.0.0.1",
		"-mp", strconv.Itoa(mediaPort), "-rtp_echo", "-s", "anna")
	if err := phone.Start(); err != nil {
		t.Fatal(err)
	}
	phoneDone := make(chan error, 1)
	go func() { phoneDone <- phone.Wait() }()
	reg, regOut := sipp(t, ctx, "register.xml", b.sip, "-p", strconv.Itoa(freeUDPPort(t)),
		"-s", "anna", "-au", "anna", "-ap", "correct-horse", "-key", "contact_port", strconv.Itoa(phonePort))
	if err := reg.Run(); err != nil {
		t.Fatalf("sipp REGISTER: %v\n%s", err, regOut)
	}

	// The caller says a 1 kHz tone for 3 s once the phone answered.
	say := filepath.Join(t.TempDir(), "tone.wav")
	w, err := wav.Create(say)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(tone.Sine(1000, 3*time.Second, -12)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	heard := filepath.Join(t.TempDir(), "heard.wav")
	res := b.call(t, "--from", "+79161234567", "--digits", "0", "--say", say, "--record", heard, "--hangup-after", "25s")
	if res.Outcome != "answered" || res.AnsweredBy != "Анна" {
		t.Errorf("call: %+v; want answered by Анна", res)
	}
	select {
	case err := <-phoneDone:
		if err != nil {
			t.Errorf("the sipp phone: %v\n%s", err, phoneOut)
		}
	case <-ctx.Done():
		t.Errorf("the sipp phone never finished\n%s", phoneOut)
	}

	// The echo: the caller heard its 1 kHz come back from the phone.
	f, err := os.Open(heard)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := wav.ReadMono8k(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// 50 ms blocks (20 Hz apart), so that the hold music's 1046 Hz overtone cannot pass for it.
	const block = 400
	blocks := 0
	for i := 0; i+block <= len(samples); i += block {
		fr := samples[i : i+block]
		p := goertzel(fr, 1000)
		if p > 1e6 && p > 30*goertzel(fr, 1046) && p > 30*goertzel(fr, 950) {
			blocks++
		}
	}
	if blocks < 20 {
		t.Errorf("the caller heard its tone back from the phone in %d blocks of 50 ms, want at least 20 (1 s)", blocks)
	}
}

// goertzel is the power of x at f hertz.
func goertzel(x []int16, f float64) float64 {
	c := 2 * math.Cos(2*math.Pi*f/voice.Rate)
	var s1, s2 float64
	for _, v := range x {
		s := float64(v) + c*s1 - s2
		s2, s1 = s1, s
	}
	return s1*s1 + s2*s2 - c*s1*s2
}
