package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wavHeader returns a RIFF/WAVE header for 16-bit mono PCM at rate declaring dataLen bytes
// of audio, preceded by extra chunks.
func wavHeader(rate, channels, bits int, dataLen uint32, extra ...[]byte) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+dataLen))
	b.WriteString("WAVE")
	b.WriteString("fmt ")
	binary.Write(&b, binary.LittleEndian, uint32(16))
	binary.Write(&b, binary.LittleEndian, uint16(1))
	binary.Write(&b, binary.LittleEndian, uint16(channels))
	binary.Write(&b, binary.LittleEndian, uint32(rate))
	binary.Write(&b, binary.LittleEndian, uint32(rate*channels*bits/8))
	binary.Write(&b, binary.LittleEndian, uint16(channels*bits/8))
	binary.Write(&b, binary.LittleEndian, uint16(bits))
	for _, e := range extra {
		b.Write(e)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, dataLen)
	return b.Bytes()
}

func chunk(id string, body []byte) []byte {
	b := []byte(id)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(body)))
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func TestWAVDuration(t *testing.T) {
	audio := func(n int) []byte { return bytes.Repeat([]byte{0x12}, n) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name    string
		file    []byte
		want    time.Duration
		wantErr bool
	}{
		{"complete header", cat(wavHeader(8000, 1, 16, 16000), audio(16000)), time.Second, false},
		{"placeholder size 0 (torn by a power cut)", cat(wavHeader(8000, 1, 16, 0), audio(8000)), 500 * time.Millisecond, false},
		{"placeholder size 0xFFFFFFFF", cat(wavHeader(8000, 1, 16, 0xFFFFFFFF), audio(24000)), 1500 * time.Millisecond, false},
		{"header promises more than the file holds", cat(wavHeader(8000, 1, 16, 160000), audio(3200)), 200 * time.Millisecond, false},
		{"chunk after the audio", cat(wavHeader(8000, 1, 16, 16000), audio(16000), chunk("LIST", audio(999))), time.Second, false},
		{"chunks before the audio, odd size padded", cat(wavHeader(8000, 1, 16, 16000, chunk("LIST", audio(7)), chunk("fact", audio(4))), audio(16000)), time.Second, false},
		{"mu-law 8 bit", cat(wavHeader(8000, 1, 8, 8000), audio(8000)), time.Second, false},
		{"16 kHz stereo", cat(wavHeader(16000, 2, 16, 64000), audio(64000)), time.Second, false},
		{"header only", wavHeader(8000, 1, 16, 0), 0, false},
		{"no RIFF header: 44 bytes then 8 kHz s16", cat(make([]byte, 44), audio(16000)), time.Second, false},
		{"RIFF without data chunk counts as canonical", cat([]byte("RIFF\x00\x00\x00\x00WAVE"), chunk("junk", audio(24)), audio(16000)), time.Second, false},
		{"too short to be anything", []byte("RIFF"), 0, true},
		{"empty", nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wavDuration(bytes.NewReader(tt.file), int64(len(tt.file)))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("duration = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzWAVDuration(f *testing.F) {
	f.Add(append(wavHeader(8000, 1, 16, 0), make([]byte, 320)...))
	f.Add(wavHeader(8000, 1, 16, 0xFFFFFFFF))
	f.Add(append(wavHeader(44100, 2, 24, 10, chunk("LIST", []byte("abc"))), make([]byte, 10)...))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEdata\xff\xff\xff\xff"))
	f.Add(make([]byte, 100))
	f.Fuzz(func(t *testing.T, file []byte) {
		d, err := wavDuration(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			if d != 0 {
				t.Errorf("error %v with duration %v", err, d)
			}
			return
		}
		if d < 0 {
			t.Errorf("negative duration %v", d)
		}
		// No rate is below one byte per second, so the duration is bounded by the size.
		if d > time.Duration(len(file))*time.Second {
			t.Errorf("duration %v from %d bytes", d, len(file))
		}
	})
}

// writeTornWAV writes a recording as a power cut leaves it: the header still carries the
// placeholder sizes, the audio is there.
func writeTornWAV(t testing.TB, path string, audioBytes int) {
	t.Helper()
	b := append(wavHeader(8000, 1, 16, 0), make([]byte, audioBytes)...)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// crashScene leaves, as a power cut would, a finished call, a call ringing, and an answered
// call in the middle of recording 3.5 s of voicemail, plus a voicemail whose file never made
// it to disk. It returns the call ids and the voicemail ids.
func crashScene(t testing.TB, s *Store, t0 time.Time) (done, ringing, recording int64, vm, lostVM int64) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	done, err = s.StartCall(ctx, "gsm1", "+100", t0)
	must(err)
	must(s.AnswerCall(ctx, done, t0.Add(time.Second)))
	must(s.FinishCall(ctx, done, t0.Add(10*time.Second), "1", OutcomeCompleted))

	ringing, err = s.StartCall(ctx, "gsm2", "+200", t0.Add(20*time.Second))
	must(err)

	recording, err = s.StartCall(ctx, "gsm3", "+300", t0.Add(30*time.Second))
	must(err)
	must(s.AnswerCall(ctx, recording, t0.Add(32*time.Second)))
	vm, err = s.StartVoicemail(ctx, recording, "crash.wav", t0.Add(40*time.Second))
	must(err)
	writeTornWAV(t, filepath.Join(s.Dir(), VoicemailDir, "crash.wav"), 56000) // 3.5 s

	lost, err := s.StartCall(ctx, "gsm4", "+400", t0.Add(50*time.Second))
	must(err)
	lostVM, err = s.StartVoicemail(ctx, lost, "lost.wav", t0.Add(55*time.Second))
	must(err)
	return done, ringing, recording, vm, lostVM
}

// checkRecovered checks what Open made of crashScene.
func checkRecovered(t *testing.T, s *Store, t0 time.Time, done, ringing, recording, vm, lostVM int64) {
	t.Helper()
	ctx := context.Background()
	if c, v := s.Recovered(); c != 3 || v != 2 {
		t.Errorf("Recovered() = %d calls, %d voicemail; want 3, 2", c, v)
	}
	tests := []struct {
		id      int64
		outcome string
		ended   time.Time
	}{
		{done, OutcomeCompleted, t0.Add(10 * time.Second)},
		{ringing, OutcomeFailed, t0.Add(20 * time.Second)},                         // ended when it began
		{recording, OutcomeFailed, t0.Add(40*time.Second + 3500*time.Millisecond)}, // end of the message
	}
	for _, tt := range tests {
		c, err := s.Call(ctx, tt.id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Outcome != tt.outcome || !c.EndedAt.Equal(tt.ended) {
			t.Errorf("call %d: outcome %q ended %v; want %q %v", tt.id, c.Outcome, c.EndedAt, tt.outcome, tt.ended)
		}
	}
	v, err := s.Voicemail(ctx, vm)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Complete || v.Duration != 3500*time.Millisecond {
		t.Errorf("recovered voicemail = complete %v duration %v; want true 3.5s", v.Complete, v.Duration)
	}
	lost, err := s.Voicemail(ctx, lostVM)
	if err != nil {
		t.Fatal(err)
	}
	if !lost.Complete || lost.Duration != 0 {
		t.Errorf("voicemail without file = complete %v duration %v; want true 0", lost.Complete, lost.Duration)
	}
}

func TestRecoverAfterUncleanStop(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	s1 := openTest(t, dir, nil)
	done, ringing, recording, vm, lostVM := crashScene(t, s1, t0)
	if err := s1.Close(); err != nil { // nothing finished: as if the process died
		t.Fatal(err)
	}

	s2 := openTest(t, dir, nil)
	checkRecovered(t, s2, t0, done, ringing, recording, vm, lostVM)
	s2.Close()

	s3 := openTest(t, dir, nil)
	if c, v := s3.Recovered(); c != 0 || v != 0 {
		t.Errorf("second reopen recovered %d calls, %d voicemail; want none", c, v)
	}
}

const crashEnv = "HOTLINE_STORE_CRASH_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashHelper(dir)
		return
	}
	os.Exit(m.Run())
}

// crashHelper runs in a child process: it sets up crashScene, says "ready" and waits to be
// killed.
func crashHelper(dir string) {
	t := &helperTB{}
	s, err := openWith(context.Background(), dir, testOptions(newClock()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	done, ringing, recording, vm, lostVM := crashScene(t, s, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	fmt.Println("ready", done, ringing, recording, vm, lostVM)
	select {}
}

// helperTB is the bit of testing.TB crashScene uses, for the child process.
type helperTB struct{ testing.TB }

func (*helperTB) Helper() {}
func (*helperTB) Fatal(args ...any) {
	fmt.Fprintln(os.Stderr, args...)
	os.Exit(2)
}

func TestRecoverAfterKill(t *testing.T) {
	dir := t.TempDir()
	cmd := selfCommand("-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child: %v", err)
	}
	var done, ringing, recording, vm, lostVM int64
	if _, err := fmt.Sscan(strings.TrimPrefix(line, "ready"), &done, &ringing, &recording, &vm, &lostVM); err != nil {
		t.Fatalf("child said %q: %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no Close, no checkpoint
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("child exited cleanly; want killed")
	}
	if _, err := os.Stat(filepath.Join(dir, DBName+"-wal")); err != nil {
		t.Errorf("no WAL left behind by the killed process: %v", err)
	}
	s := openTest(t, dir, nil)
	checkRecovered(t, s, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), done, ringing, recording, vm, lostVM)
}

// TestNoRecoveryWhileInUse opens the directory a second time while the first Store still runs
// calls (as `hotline passwd` does next to the daemon): the second Open must not fail them.
func TestNoRecoveryWhileInUse(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s1 := openTest(t, dir, nil)
	id, err := s1.StartCall(ctx, "gsm1", "+1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, dir, nil)
	if c, v := s2.Recovered(); c != 0 || v != 0 {
		t.Errorf("second Open recovered %d calls, %d voicemail", c, v)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s1.FinishCall(ctx, id, time.Time{}, "", OutcomeCompleted); err != nil {
		t.Errorf("call of the first Store: %v", err)
	}
	if c, _ := s1.Call(ctx, id); c.Outcome != OutcomeCompleted {
		t.Errorf("outcome = %q", c.Outcome)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s1.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, err = s1.Call(ctx, id)
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Call after Close = %v; want a closed-database error", err)
	}
}

// selfCommand runs this test binary again, under the same emulator when the tests run under
// one (make cross-test sets HOTLINE_TEST_EXEC to qemu-aarch64-static or qemu-arm-static).
func selfCommand(args ...string) *exec.Cmd {
	if emu := os.Getenv("HOTLINE_TEST_EXEC"); emu != "" {
		return exec.Command(emu, append([]string{os.Args[0]}, args...)...)
	}
	return exec.Command(os.Args[0], args...)
}
