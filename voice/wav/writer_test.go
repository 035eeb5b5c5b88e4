package wav

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hotline/voice"
)

// pattern is the deterministic test signal: sample i of a recording.
func pattern(i int) int16 { return int16((i*7919 + i/3) % 65536) }

func frameAt(n int) []int16 {
	f := make([]int16, voice.FrameSamples)
	for i := range f {
		f[i] = pattern(n*voice.FrameSamples + i)
	}
	return f
}

func decodeFile(t *testing.T, path string) *Audio {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return a
}

func checkPattern(t *testing.T, s []int16, want int) {
	t.Helper()
	if len(s) != want {
		t.Fatalf("%d samples, want %d", len(s), want)
	}
	for i, v := range s {
		if v != pattern(i) {
			t.Fatalf("sample %d = %d, want %d", i, v, pattern(i))
		}
	}
}

func declaredData(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(binary.LittleEndian.Uint32(b[40:44]))
}

func TestWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vm.wav")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// A new file is a valid, empty WAV file.
	if a := decodeFile(t, path); len(a.Samples) != 0 || a.Rate != 8000 || a.Channels != 1 {
		t.Fatalf("new file: %+v", a)
	}
	const frames = 125 // 2.5 s
	for n := range frames {
		if err := w.Write(frameAt(n)); err != nil {
			t.Fatal(err)
		}
		written := 2 * (n + 1) * voice.FrameSamples
		// The header never lags more than one second behind what was written.
		if lag := written - declaredData(t, path); lag < 0 || lag >= 2*voice.Rate {
			t.Fatalf("after %d bytes the header declares %d", written, declaredData(t, path))
		}
	}
	if w.Len() != frames*voice.FrameSamples {
		t.Errorf("Len = %d", w.Len())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Write(frameAt(0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	checkPattern(t, decodeFile(t, path).Samples, frames*voice.FrameSamples)
	st, _ := os.Stat(path)
	if st.Size() != headerSize+2*frames*voice.FrameSamples || declaredData(t, path) != 2*frames*voice.FrameSamples {
		t.Errorf("file %d bytes, declares %d", st.Size(), declaredData(t, path))
	}
	before, _ := os.ReadFile(path)
	if err := Repair(path); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("Repair changed a complete file")
	}
	if _, err := Create(filepath.Join(t.TempDir(), "no", "such", "dir.wav")); err == nil {
		t.Error("Create in a missing directory succeeded")
	}
}

// TestWriterPowerCut cuts a recording at many byte lengths, as a power cut would leave it (the
// header from the last commit, the data up to some point, possibly half a sample), and checks
// that the file plays as is and that Repair recovers every whole sample.
func TestWriterPowerCut(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "full.wav")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	headers := map[int][]byte{} // header as committed, by data bytes written when it was current
	for n := range 150 {
		if err := w.Write(frameAt(n)); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		headers[len(b)-headerSize] = b[:headerSize]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	full, _ := os.ReadFile(path)
	for _, cut := range []int{0, 1, 2, 319, 320, 321, 15999, 16000, 16001, 16321, 31999, 32000, 47777, len(full) - headerSize - 1} {
		t.Run(strconv.Itoa(cut), func(t *testing.T) {
			// The header as it was when the data reached at least cut bytes.
			hdr := full[:headerSize]
			for n := 320 * (cut / 320); n < len(full); n += 320 {
				if h, ok := headers[n]; ok && n >= cut {
					hdr = h
					break
				}
			}
			torn := append(append([]byte(nil), hdr...), full[headerSize:headerSize+cut]...)
			p := filepath.Join(dir, fmt.Sprintf("cut%d.wav", cut))
			if err := os.WriteFile(p, torn, 0o600); err != nil {
				t.Fatal(err)
			}
			// Playable as it is: at most one second (plus the cut frame) is lost.
			a := decodeFile(t, p)
			if got := len(a.Samples); got > cut/2 || cut/2-got > voice.Rate+voice.FrameSamples {
				t.Errorf("torn file plays %d of %d samples", got, cut/2)
			}
			checkPattern(t, a.Samples, len(a.Samples))
			if err := Repair(p); err != nil {
				t.Fatal(err)
			}
			checkPattern(t, decodeFile(t, p).Samples, cut/2)
			st, _ := os.Stat(p)
			if st.Size() != int64(headerSize+cut/2*2) {
				t.Errorf("repaired file is %d bytes, want %d", st.Size(), headerSize+cut/2*2)
			}
			b, _ := os.ReadFile(p)
			if riff := binary.LittleEndian.Uint32(b[4:]); int64(riff) != st.Size()-8 {
				t.Errorf("RIFF size %d, file %d", riff, st.Size())
			}
		})
	}
}

// TestWriterKilled kills a writing process with SIGKILL and checks what is left on disk.
func TestWriterKilled(t *testing.T) {
	if p := os.Getenv("WAV_TEST_WRITER"); p != "" {
		writeForever(p)
		return
	}
	path := filepath.Join(t.TempDir(), "killed.wav")
	cmd := selfCommand("-test.run=^TestWriterKilled$")
	cmd.Env = append(os.Environ(), "WAV_TEST_WRITER="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "written" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q", sc.Text())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	const frames = 170 // what the helper wrote: 3.4 s
	a := decodeFile(t, path)
	if n := len(a.Samples); n < frames*voice.FrameSamples-voice.Rate {
		t.Errorf("killed recording plays %d samples before repair", n)
	}
	checkPattern(t, a.Samples, len(a.Samples))
	if err := Repair(path); err != nil {
		t.Fatal(err)
	}
	checkPattern(t, decodeFile(t, path).Samples, frames*voice.FrameSamples)
}

// writeForever is the helper process of TestWriterKilled: it writes 3.4 s, says so, and waits to
// be killed without closing the file.
func writeForever(path string) {
	w, err := Create(path)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	for n := range 170 {
		if err := w.Write(frameAt(n)); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
	}
	fmt.Println("written")
	time.Sleep(time.Hour)
}

func TestRepairRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		body []byte
		want error
	}{
		{"empty", nil, ErrNotWAV},
		{"text", []byte("just some text, long enough to look at"), ErrNotWAV},
		{"no data chunk", chunk("RIFF", append([]byte("WAVE"), chunk("fmt ", fmtChunk(tagPCM, 1, 8000, 16), -1)...), -1), ErrMalformed},
		{"data before fmt", chunk("RIFF", append([]byte("WAVE"), chunk("data", []byte{1, 2}, -1)...), -1), ErrMalformed},
	} {
		p := filepath.Join(dir, tc.name)
		os.WriteFile(p, tc.body, 0o600)
		if err := Repair(p); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := Repair(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	// A stereo file with a torn frame loses the whole frame; a trailing chunk is kept.
	p := filepath.Join(dir, "stereo.wav")
	os.WriteFile(p, wavBytes(fmtChunk(tagPCM, 2, 8000, 16), []byte{1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6}, 0), 0o600)
	if err := Repair(p); err != nil {
		t.Fatal(err)
	}
	if a := decodeFile(t, p); !equal(a.Samples, []int16{1, 2, 3, 4}) {
		t.Errorf("stereo repaired to %v", a.Samples)
	}
	withList := append(wavBytes(fmtChunk(tagPCM, 1, 8000, 16), []byte{1, 0, 2, 0}, -1), chunk("LIST", []byte("INFOx"), -1)...)
	binary.LittleEndian.PutUint32(withList[4:], uint32(len(withList)-8))
	os.WriteFile(p, withList, 0o600)
	if err := Repair(p); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, withList) {
		t.Error("Repair changed a complete file with a LIST chunk after the data")
	}
}

func TestWriterAllocatesNothing(t *testing.T) {
	w, err := Create(filepath.Join(t.TempDir(), "a.wav"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	f := frameAt(0)
	w.Write(f) // grow the buffer
	// 120 frames cross two header commits.
	if n := testing.AllocsPerRun(120, func() { w.Write(f) }); n != 0 {
		t.Errorf("Write allocates %v times per frame", n)
	}
}

func BenchmarkWriterWrite(b *testing.B) {
	w, err := Create(filepath.Join(b.TempDir(), "a.wav"))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	f := frameAt(0)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode8kMono(b *testing.B) {
	var buf bytes.Buffer
	Encode(&buf, ramp(8000*10), 8000)
	data := buf.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

const tmpfsEnv = "WAV_TEST_TMPFS"

// TestWriterDiskFull writes frame by frame into a real 1 MB tmpfs (in a user and mount
// namespace of its own, no root needed) until it is full: the error says so plainly, and the
// file holds every frame written before, whole, with a header that declares them. Then the file
// system turns read-only: Create and Repair fail plainly.
func TestWriterDiskFull(t *testing.T) {
	dir := os.Getenv(tmpfsEnv)
	if dir == "" {
		if _, err := exec.LookPath("unshare"); err != nil {
			t.Fatalf("unshare (util-linux) is needed: %v", err)
		}
		dir = t.TempDir()
		cmd := exec.Command("unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
			`mount -t tmpfs -o size=1m tmpfs "$1" && exec $HOTLINE_TEST_EXEC "$2" -test.run='^TestWriterDiskFull$' -test.v`,
			"sh", dir, os.Args[0])
		cmd.Env = append(os.Environ(), tmpfsEnv+"="+dir)
		out, err := cmd.CombinedOutput()
		t.Logf("in a 1 MB tmpfs:\n%s", out)
		if err != nil || !strings.Contains(string(out), "--- PASS: TestWriterDiskFull") {
			t.Fatalf("the test in the tmpfs failed: %v", err)
		}
		return
	}
	path := filepath.Join(dir, "full.wav")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	n := 0
	for ; n < 10_000 && werr == nil; n++ {
		werr = w.Write(frameAt(n))
	}
	if !errors.Is(werr, ErrDiskFull) || !errors.Is(werr, syscall.ENOSPC) || !strings.Contains(werr.Error(), "disk is full") {
		t.Fatalf("after %d frames: %v; want a plain disk-full error", n, werr)
	}
	if err := w.Write(frameAt(n)); !errors.Is(err, ErrDiskFull) {
		t.Errorf("the next Write: %v; want the same error again", err)
	}
	frames := n - 1
	if w.Len() != frames*voice.FrameSamples {
		t.Errorf("Len %d after %d whole frames", w.Len(), frames)
	}
	if err := w.Close(); !errors.Is(err, ErrDiskFull) {
		t.Errorf("Close: %v", err)
	}
	if got := declaredData(t, path); got != frames*voice.FrameSamples*2 {
		t.Errorf("header declares %d bytes, %d frames were written", got, frames)
	}
	a := decodeFile(t, path)
	checkPattern(t, a.Samples, frames*voice.FrameSamples)
	if torn, err := isTorn(path); err != nil || torn {
		t.Errorf("file closed after the disk filled is torn %v (%v)", torn, err)
	}

	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v %s", err, out)
	}
	if _, err := Create(filepath.Join(dir, "new.wav")); !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("Create on a read-only disk: %v", err)
	}
	if err := Repair(path); err == nil {
		t.Error("Repair on a read-only disk said nothing")
	}
	checkPattern(t, decodeFile(t, path).Samples, frames*voice.FrameSamples)
}

// TestRepairDir repairs the torn files of a folder and only those.
func TestRepairDir(t *testing.T) {
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.wav")
	w, err := Create(whole)
	if err != nil {
		t.Fatal(err)
	}
	for n := range 60 {
		if err := w.Write(frameAt(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	full, _ := os.ReadFile(whole)
	// Torn: the header still declares nothing (a crash before the first second), and one with
	// an odd byte at the end.
	torn := append(append([]byte(nil), full...), 0x55)
	binary.LittleEndian.PutUint32(torn[40:], 0)
	binary.LittleEndian.PutUint32(torn[4:], 36)
	if err := os.WriteFile(filepath.Join(dir, "torn.wav"), torn, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not audio"), 0o600); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(whole)
	got, err := RepairDir(dir)
	if err != nil || len(got) != 1 || got[0] != "torn.wav" {
		t.Fatalf("RepairDir = %q, %v; want torn.wav only", got, err)
	}
	checkPattern(t, decodeFile(t, filepath.Join(dir, "torn.wav")).Samples, 60*voice.FrameSamples)
	if after, _ := os.Stat(whole); !after.ModTime().Equal(before.ModTime()) {
		t.Error("RepairDir rewrote a whole file")
	}
	if got, err := RepairDir(dir); err != nil || len(got) != 0 {
		t.Errorf("second RepairDir = %q, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.wav"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := RepairDir(dir); !errors.Is(err, ErrNotWAV) {
		t.Errorf("RepairDir with a file that is no WAV: %v", err)
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
