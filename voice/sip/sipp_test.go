package sip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"hotline/voice"
	"hotline/voice/dtmf"
	"hotline/voice/tone"
)

// sippCmd starts sipp (Debian package sip-tester) with a scenario from testdata.
func sippCmd(t *testing.T, ctx context.Context, scenario string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp is needed (apt-get install sip-tester): %v", err)
	}
	var out bytes.Buffer
	args = append([]string{"-sf", filepath.Join("testdata", scenario), "-nostdin", "-m", "1", "-i", "127.0.0.1",
		"-timeout", "30s", "-timeout_error"}, args...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Args[2], _ = filepath.Abs(filepath.Join("testdata", scenario))
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

// sippOperator registers user through sipp (digest auth) and starts a sipp that answers the
// box's call with the given scenario, echoing RTP. It returns a channel with that sipp's exit.
func sippOperator(t *testing.T, s *Server, user, password, scenario string) <-chan error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	t.Cleanup(cancel)
	uasPort, mediaPort := freeUDPPort(t), freeUDPPort(t)
	uas, uasOut := sippCmd(t, ctx, scenario, "-p", strconv.Itoa(uasPort), "-mi", "127.0.0.1",
		"-mp", strconv.Itoa(mediaPort), "-rtp_echo", "-s", user)
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		err := uas.Wait()
		if err != nil {
			err = fmt.Errorf("sipp %s: %w\n%s", scenario, err, uasOut)
		}
		exited <- err
	}()
	t.Cleanup(func() {
		cancel()
		<-waited
	})

	// A wrong password is refused, the right one registers.
	for _, tc := range []struct{ pw, scenario string }{{password + "x", "register_refused.xml"}, {password, "register.xml"}} {
		reg, out := sippCmd(t, ctx, tc.scenario, s.Addr(), "-p", strconv.Itoa(freeUDPPort(t)),
			"-s", user, "-au", user, "-ap", tc.pw, "-key", "contact_port", strconv.Itoa(uasPort))
		if err := reg.Run(); err != nil {
			t.Fatalf("sipp %s: %v\n%s", tc.scenario, err, out)
		}
	}
	if !s.Registered(user) {
		t.Fatalf("%s not registered after sipp's REGISTER", user)
	}
	return exited
}

// talk is the daemon's bridge loop: every 20 ms it writes the next frame of send (silence after
// its end) and reads one frame; it returns what was read over len(send) plus tail frames.
func talk(t *testing.T, leg *Leg, send []int16, tail int) []int16 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	frames := len(send) / voice.FrameSamples
	tick := time.NewTicker(voice.FrameDuration)
	defer tick.Stop()
	var got []int16
	var in, out voice.Frame
	for i := range frames + tail {
		out = voice.Frame{}
		if i < frames {
			copy(out[:], send[i*voice.FrameSamples:])
		}
		if err := leg.WriteFrame(&out); err != nil {
			t.Fatal(err)
		}
		if err := leg.ReadFrame(ctx, &in); err != nil {
			t.Fatalf("ReadFrame after %d frames: %v", i, err)
		}
		got = append(got, in[:]...)
		<-tick.C
	}
	return got
}

// testSignal is a 1 kHz tone of 600 ms, a pause, then the DTMF keys, each 100 ms on and off.
func testSignal(t *testing.T, keys string) []int16 {
	t.Helper()
	s := append(tone.Sine(1000, 600*time.Millisecond, -10), tone.Silence(200*time.Millisecond)...)
	for i := range len(keys) {
		k, err := tone.DTMF(keys[i], 100*time.Millisecond, -8)
		if err != nil {
			t.Fatal(err)
		}
		s = append(s, k...)
		s = append(s, tone.Silence(100*time.Millisecond)...)
	}
	s = append(s, tone.Silence(200*time.Millisecond)...)
	return s[:len(s)/voice.FrameSamples*voice.FrameSamples]
}

// toneFrames counts the frames of x where 1 kHz stands far above its neighbours and is loud.
func toneFrames(x []int16) int {
	n := 0
	for i := 0; i+voice.FrameSamples <= len(x); i += voice.FrameSamples {
		f := x[i : i+voice.FrameSamples]
		p := goertzel(f, 1000)
		if p > 1e5 && p > 50*goertzel(f, 1400) && p > 50*goertzel(f, 600) {
			n++
		}
	}
	return n
}

// checkEcho asserts that the echoed audio holds the tone and the keys that were sent.
func checkEcho(t *testing.T, got []int16, keys string) {
	t.Helper()
	if n := toneFrames(got); n < 20 {
		t.Errorf("1 kHz heard in %d frames of the echo, want at least 20 of 30", n)
	}
	if d := dtmf.Decode(got); d != keys {
		t.Errorf("keys in the echo %q, want %q", d, keys)
	}
}

func TestSippOperatorBoxHangsUp(t *testing.T) {
	s := startServer(t, newAccounts("alice", "s3cret"))
	exited := sippOperator(t, s, "alice", "s3cret", "answer.xml")
	regs := s.Registrations()
	if len(regs) != 1 || regs[0].UserAgent != "sipp operator" {
		t.Fatalf("Registrations = %+v", regs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	leg, err := s.Ring(ctx, []string{"alice"}, Caller{Number: "+4930123456", Name: "Caller"})
	if err != nil {
		t.Fatal(err)
	}
	const keys = "159#"
	got := talk(t, leg, testSignal(t, keys), 15)
	checkEcho(t, got, keys)
	if err := leg.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(leg.Err(), ErrLocalHangup) {
		t.Fatalf("Err = %v", leg.Err())
	}
	if err := recvWithin(t, exited, "sipp to finish"); err != nil {
		t.Fatal(err)
	}
}

func TestSippOperatorHangsUp(t *testing.T) {
	s := startServer(t, newAccounts("bob", "pa\"ss"))
	exited := sippOperator(t, s, "bob", "pa\"ss", "answer_bye.xml")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	leg, err := s.Ring(ctx, []string{"bob"}, Caller{Number: "100"})
	if err != nil {
		t.Fatal(err)
	}
	// Keep talking until the phone hangs up.
	var f voice.Frame
	for leg.WriteFrame(&f) == nil {
		time.Sleep(voice.FrameDuration)
	}
	recvWithin(t, leg.Done(), "the leg to end")
	if !errors.Is(leg.Err(), ErrRemoteHangup) {
		t.Fatalf("Err = %v", leg.Err())
	}
	if err := leg.ReadFrame(ctx, &f); !errors.Is(err, ErrRemoteHangup) {
		t.Fatalf("ReadFrame after the end: %v", err)
	}
	if err := recvWithin(t, exited, "sipp to finish"); err != nil {
		t.Fatal(err)
	}
}
