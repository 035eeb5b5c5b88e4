package sip

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"hotline/voice"
	"hotline/voice/dtmf"
	"hotline/voice/tone"
	"hotline/voice/wav"
)

// baresipOperator starts baresip (Debian package baresip-core) as an operator's softphone:
// its account registers to the box with a password and answers calls at once; it says the
// contents of say (an 8 kHz WAV, aufile module; at its end baresip hangs up) and keeps what it hears in WAV files under the
// returned directory (sndfile module).
func baresipOperator(t *testing.T, s *Server, user, password string, say []int16) (dumps string) {
	t.Helper()
	bin, err := exec.LookPath("baresip")
	if err != nil {
		t.Fatalf("baresip is needed (apt-get install baresip-core): %v", err)
	}
	dir := t.TempDir()
	dumps = filepath.Join(dir, "dumps")
	if err := os.Mkdir(dumps, 0o755); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "say.wav")
	var b bytes.Buffer
	if err := wav.Encode(&b, say, voice.Rate); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`poll_method		epoll
sip_listen		127.0.0.1:%d
audio_player		aubridge,speaker
audio_source		aufile,%s
audio_alert		aubridge,alert
rtp_ports		%d-%d
module_path		/usr/lib/baresip/modules
module			g711.so
module			aufile.so
module			aubridge.so
module			sndfile.so
module_app		account.so
snd_path		%s
`, freeUDPPort(t), in, 41000, 41998, dumps)
	account := fmt.Sprintf("<sip:%s@%s>;auth_pass=%s;answermode=auto;regint=300;audio_codecs=PCMU,PCMA\n",
		user, s.Addr(), password)
	for name, body := range map[string]string{"config": config, "accounts": account, "contacts": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-f", dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()
	t.Cleanup(func() {
		cancel()
		<-waited
		if t.Failed() {
			t.Logf("baresip said:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !s.Registered(user) {
		if time.Now().After(deadline) {
			t.Fatalf("baresip did not register:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return dumps
}

func TestBaresipOperator(t *testing.T) {
	s := startServer(t, newAccounts("carol", "c4rol-pw"))
	const phoneKeys, boxKeys = "2580", "147*"
	say := append(tone.Silence(300*time.Millisecond), testSignal(t, phoneKeys)...)
	// baresip ends the call when its file ends: the silence after the signal outlasts the test.
	dumps := baresipOperator(t, s, "carol", "c4rol-pw", append(say, tone.Silence(10*time.Second)...))

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	leg, err := s.Ring(ctx, []string{"carol"}, Caller{Number: "+15550001", Name: "Test caller"})
	if err != nil {
		t.Fatal(err)
	}
	// The box says a tone and keys while it listens to what baresip says (2 s more than its
	// signal: baresip starts its file when the answer is through, which a busy machine delays).
	heard := talk(t, leg, testSignal(t, boxKeys), len(say)/voice.FrameSamples+100)
	if n := toneFrames(heard); n < 20 {
		t.Errorf("1 kHz from baresip in %d frames, want at least 20", n)
	}
	if d := dtmf.Decode(heard); d != phoneKeys {
		t.Errorf("keys from baresip %q, want %q", d, phoneKeys)
	}
	if err := leg.Hangup(ctx); err != nil {
		t.Fatal(err)
	}

	// baresip closes its recordings when the call ends.
	var rec []int16
	deadline := time.Now().Add(15 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dumps, "*-dec.wav"))
		if len(files) == 1 {
			rec, err = wav.ReadFileMono8k(files[0])
			if err == nil && len(rec) > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recording of baresip in %s (files %v, err %v)", dumps, files, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := toneFrames(rec); n < 20 {
		t.Errorf("1 kHz heard by baresip in %d frames, want at least 20", n)
	}
	if d := dtmf.Decode(rec); d != boxKeys {
		t.Errorf("keys heard by baresip %q, want %q", d, boxKeys)
	}
}
