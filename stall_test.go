package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stallWatch is `hotline stallwatch` running beside a real-time test: at a real-time priority
// above the simulator's, on each processor, it reports each time the machine itself kept it
// from running (see cmdStallwatch), into a file, as the daemon and the simulator log.
type stallWatch struct {
	cmd     *exec.Cmd
	outPath string
}

// startStallWatch starts the stall watch; stop it with stalls.
func startStallWatch(t *testing.T) *stallWatch {
	t.Helper()
	// What the machine still has to write (the test's own builds of the hotline) goes to disk
	// first: on this virtual machine writing back a build's files stalls it again and again for
	// half a minute, and the frames the box answers late while catching up after each stall are
	// the build's doing, not the box's.
	syscall.Sync()
	w := &stallWatch{outPath: filepath.Join(t.TempDir(), "stalls.jsonl")}
	out, err := os.Create(w.outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w.cmd = exec.Command("chrt", "--fifo", "20", hotlineBinary(t), "stallwatch")
	w.cmd.Stdout = out
	w.cmd.Stderr = os.Stderr
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("stall watch: %v", err)
	}
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		_ = w.cmd.Wait()
	})
	return w
}

// stalls stops the watch and returns the machine's stalls it saw.
func (w *stallWatch) stalls(t *testing.T) []stall {
	t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatalf("stop the stall watch: %v", err)
	}
	if err := w.cmd.Wait(); err != nil {
		t.Fatalf("stall watch: %v", err)
	}
	f, err := os.Open(w.outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []stall
	dec := json.NewDecoder(f)
	for dec.More() {
		var s stall
		if err := dec.Decode(&s); err != nil {
			t.Fatalf("stall watch output: %v", err)
		}
		out = append(out, s)
	}
	return out
}

// frameMiss is one audio frame the daemon answered late, as its log names it.
type frameMiss struct {
	at   time.Time     // the reply was written
	took time.Duration // after the line's driver had the frame
}

// missLine is a call's deadline misses in the daemon's log; its list of times is quoted when
// it holds more than one.
var missLine = regexp.MustCompile(`(?m)^.*time=(\d{4}-\d\d-\d\d)T\S+ level=WARN msg="audio deadline missed(?: on the placed call)?" .*frames=(\d+) .*budget=(\S+) at=(?:"([^"]*)"|(\S+))`)

// deadlineMisses reads the daemon's log: every frame it answered late, listed (when the call
// names it) or not (more than a call lists), and the budget per frame.
func deadlineMisses(t *testing.T, log string) (listed []frameMiss, unlisted int, budget time.Duration) {
	t.Helper()
	for _, m := range missLine.FindAllStringSubmatch(log, -1) {
		frames, _ := strconv.Atoi(m[2])
		b, err := time.ParseDuration(m[3])
		if err != nil {
			t.Fatalf("budget in %q: %v", m[0], err)
		}
		budget = b
		n := 0
		for _, f := range strings.Fields(m[4] + m[5]) {
			clock, took, ok := strings.Cut(f, "+")
			at, err := time.ParseInLocation("2006-01-02 15:04:05.000000", m[1]+" "+clock, time.Local)
			d, derr := time.ParseDuration(took)
			if !ok || err != nil || derr != nil {
				t.Fatalf("miss %q in %q", f, m[0])
			}
			listed = append(listed, frameMiss{at: at, took: d})
			n++
		}
		unlisted += frames - n
	}
	return listed, unlisted, budget
}

// unexcused returns the misses the machine's own stalls do not explain: a miss is explained
// when, within the time its frame took, one or another of the machine's processors stood still
// for at least as long as the frame was late, in one stall or several (the thread answering the
// frame may have been on either, and moved). The watch notes only stalls over 2 ms; shorter ones
// never count, so the time can only fall short.
func unexcused(misses []frameMiss, stalls []stall, budget time.Duration) []frameMiss {
	var out []frameMiss
	for _, m := range misses {
		from, late := m.at.Add(-m.took), m.took-budget
		// The parts of the stalls inside the frame's time, then their union.
		var parts [][2]time.Time
		for _, s := range stalls {
			// The watch meant to wake 1 ms after From: the processor stood still from then to To.
			lo, hi := maxTime(s.From.Add(time.Millisecond), from), minTime(s.To, m.at)
			if hi.After(lo) {
				parts = append(parts, [2]time.Time{lo, hi})
			}
		}
		slices.SortFunc(parts, func(a, b [2]time.Time) int { return a[0].Compare(b[0]) })
		var still time.Duration
		var end time.Time
		for _, p := range parts {
			if p[0].Before(end) {
				p[0] = end
			}
			if p[1].After(p[0]) {
				still += p[1].Sub(p[0])
				end = p[1]
			}
		}
		if still < late {
			out = append(out, m)
		}
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// checkDeadlines reads the audio frames the daemon answered late from its log, checks that they
// add up to the daemon's counter, and (when judge) fails the test for every one the machine's
// own stalls do not explain; it logs what it found.
func checkDeadlines(t *testing.T, log string, counted int64, stalls []stall, judge bool) {
	t.Helper()
	listed, unlisted, budget := deadlineMisses(t, log)
	if total := int64(len(listed) + unlisted); total != counted {
		t.Errorf("the log names %d late frames, the counter %d", total, counted)
	}
	bad := unexcused(listed, stalls, budget)
	longest := 0.0
	for _, s := range stalls {
		longest = max(longest, s.MS)
	}
	t.Logf("audio deadline misses: %d (%d of those listed explained by the machine's own stalls: %d stalls over 2 ms, the longest %.1f ms)",
		len(listed)+unlisted, len(listed)-len(bad), len(stalls), longest)
	if !judge {
		return
	}
	if unlisted > 0 {
		t.Errorf("%d more late frames than the log lists one by one", unlisted)
	}
	for _, m := range bad {
		t.Errorf("the box answered a frame %v late at %s (budget %v), with no stall of the machine to explain it", m.took-budget, m.at.Format("15:04:05.000000"), budget)
	}
}

// TestUnexcusedMisses: stalls explain a miss only when together (on any processor, counted
// once where they overlap) they cover its lateness within the frame's own time.
func TestUnexcusedMisses(t *testing.T) {
	base := time.Date(2026, 11, 24, 8, 0, 0, 0, time.Local)
	ms := func(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
	at := func(n float64) time.Time { return base.Add(ms(n)) }
	// The first processor stood still from 101 ms to 131 ms, and twice for 6 ms around 300 ms;
	// the second from 401 to 411 ms and from 406 to 416 ms (overlapping the first's 405-411 ms).
	stalls := []stall{{From: at(100), To: at(131), MS: 30}, {From: at(290), To: at(297), MS: 6}, {From: at(297.5), To: at(304.5), MS: 6},
		{CPU: 1, From: at(400), To: at(411), MS: 10}, {CPU: 0, From: at(404), To: at(411), MS: 6}, {CPU: 1, From: at(411), To: at(417), MS: 5}}
	for i, tc := range []struct {
		miss frameMiss
		want bool // explained
	}{
		{frameMiss{at: at(135), took: ms(30)}, true},  // 10 ms late, 26 ms of stall in its time
		{frameMiss{at: at(160), took: ms(50)}, false}, // 30 ms late, 21 ms of stall in its time
		{frameMiss{at: at(200), took: ms(25)}, false}, // after the stall
		{frameMiss{at: at(140), took: ms(60)}, false}, // 40 ms late, only 30 ms of stall
		{frameMiss{at: at(110), took: ms(21)}, true},  // 1 ms late, 9 ms of stall in its time
		{frameMiss{at: at(99), took: ms(25)}, false},  // before the stall
		{frameMiss{at: at(310), took: ms(31)}, true},  // 11 ms late, two stalls of 6 ms in its time
		{frameMiss{at: at(310), took: ms(33)}, false}, // 13 ms late, only 12 ms of stalls
		{frameMiss{at: at(302), took: ms(30)}, false}, // 10 ms late, 6 + 3.5 ms of stalls in its time
		{frameMiss{at: at(420), took: ms(35)}, true},  // 15 ms late; one processor or the other stood still 401-411 and 412-417: 15 ms
		{frameMiss{at: at(420), took: ms(37)}, false}, // 17 ms late: the overlap counts once, not 10 + 6 + 5
	} {
		got := len(unexcused([]frameMiss{tc.miss}, stalls, ms(20))) == 0
		if got != tc.want {
			t.Errorf("miss %d (%v at +%v): explained %v, want %v", i, tc.miss.took, tc.miss.at.Sub(base), got, tc.want)
		}
	}
	log := `time=2026-11-24T08:00:00.200Z level=WARN msg="audio deadline missed" subsys=switchboard line=gsm4 call=11 frames=10 slowest=40ms budget=20ms at="08:00:00.135000+30ms 08:00:00.200000+25ms"` + "\n" +
		`time=2026-11-24T08:00:00.300Z level=WARN msg="audio deadline missed on the placed call" subsys=switchboard line=gsm1 frames=1 slowest=21ms budget=20ms at=08:00:00.110000+21ms` + "\n"
	listed, unlisted, budget := deadlineMisses(t, log)
	if len(listed) != 3 || unlisted != 8 || budget != ms(20) {
		t.Fatalf("read %v, %d unlisted, budget %v", listed, unlisted, budget)
	}
	if !listed[0].at.Equal(at(135)) || listed[0].took != ms(30) {
		t.Errorf("first miss %+v", listed[0])
	}
	if bad := unexcused(listed, stalls, budget); len(bad) != 1 || !bad[0].at.Equal(at(200)) {
		t.Errorf("unexcused %+v, want the one at +200 ms", bad)
	}
}
