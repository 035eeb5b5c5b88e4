package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/daemon"
	"hotline/daemon/custom"
	"hotline/daemon/store"
	"hotline/hw/sim"
	"hotline/voice"
	"hotline/voice/ivr"
	"hotline/voice/prompts"
	"hotline/voice/wav"
)

// The soak runs the real daemon (store on disk, line drivers, switchboard, flow) over simulated
// modems of every dialect, in a process of their own (`hotline sim`) and opened through the
// serial code real modems are opened with, for thousands of calls with mixed outcomes, on an
// accelerated clock:
// the simulated modems send their 20 ms frames and rings, and the switchboard runs its
// timeouts, speed times faster than real time (daemon.Config.Speed), so the audio path, paced
// by the modems' frames, handles speed x 50 frames a second on each line. The drivers' AT
// timeouts and their 60 ms underrun deadline stay on the wall clock. The calls are kept short
// too by the owner's own short prompts and a flow with short timeouts (docs/RELIABILITY.md).

// soakPlan is the size of the soak: 60 calls over 8 lines in real time in `make test` (about
// a minute under the race detector, sharing the machine with the other packages' tests);
// under `make soak` (HOTLINE_SOAK=1) 10,000 calls over 16 lines at 5 times real time. HOTLINE_SOAK_CALLS, HOTLINE_SOAK_LINES and
// HOTLINE_SOAK_SPEED change each.
func soakPlan() (calls, lines int, speed float64) {
	calls, lines, speed = 60, 8, 1
	if os.Getenv("HOTLINE_SOAK") != "" {
		calls, lines, speed = 10000, 16, 5
	}
	if n, err := strconv.Atoi(os.Getenv("HOTLINE_SOAK_CALLS")); err == nil && n > 0 {
		calls = n
	}
	if n, err := strconv.Atoi(os.Getenv("HOTLINE_SOAK_LINES")); err == nil && n >= 4 {
		lines = n
	}
	if f, err := strconv.ParseFloat(os.Getenv("HOTLINE_SOAK_SPEED"), 64); err == nil && f >= 1 {
		speed = f
	}
	return calls, lines, speed
}

// soakKind is what a soak caller does.
type soakKind int

const (
	soakGreetingHangup soakKind = iota // hangs up during the greeting or the menu
	soakInfo                           // presses 1, hears the information, hangs up
	soakVoicemail                      // presses 2 and leaves a message
	soakOperator                       // presses 0; an operator takes the call on a mobile
	soakQueueGiveUp                    // presses 3, waits in a queue nobody answers, hangs up
	soakSilent                         // presses nothing: the menu times out into voicemail
	soakKinds
)

func (k soakKind) String() string {
	return [...]string{"greeting hang-up", "info", "voicemail", "operator", "queue give-up", "silent"}[k]
}

// weight is how often a caller of each kind comes, out of 100.
var soakWeights = [soakKinds]int{29, 24, 25, 8, 6, 8}

const (
	soakMobile         = "+79990000001"          // Anna's: answers
	soakMobileNoAnswer = "+79990000002"          // Boris's: rings and rings
	soakSay            = 1500 * time.Millisecond // the message a voicemail caller leaves
	soakPromptLen      = 300 * time.Millisecond
)

// soakFlow: greeting, a menu (1 information, 2 voicemail, 0 an operator who answers on a
// mobile, 3 a queue for an operator whose mobile rings unanswered), an eight-second timeout
// for the key: on a starved machine the simulated callers hear the end of the menu late (their
// modem's 20 ms clock is theirs, and it stalls with them), while the box's timeout runs on its
// own clock; four seconds (0.8 s of the wall at 5x) was too short for that.
func soakFlow() *ivr.Flow {
	return &ivr.Flow{
		Name:  "Soak",
		Start: "greeting",
		Nodes: []ivr.Node{
			{ID: "greeting", Kind: ivr.KindPlay, Prompt: ivr.PromptGreeting, Next: "menu"},
			{ID: "menu", Kind: ivr.KindMenu, Prompt: ivr.PromptMenu,
				Choices:    map[string]string{"1": "about", "2": "voicemail", "0": "mobile", "3": "queue"},
				TimeoutSec: 8, Retries: 1, Invalid: ivr.PromptInvalid, NoInput: "voicemail"},
			{ID: "about", Kind: ivr.KindPlay, Prompt: ivr.PromptAbout, Next: "menu"},
			{ID: "mobile", Kind: ivr.KindQueue, Prompt: ivr.PromptConnecting, Operators: []string{"Anna"},
				Strategy: ivr.RingAll, RingSec: 10, MaxWaitSec: 20, AnnounceSec: 30, NoAnswer: "voicemail", Next: "bye"},
			{ID: "queue", Kind: ivr.KindQueue, Prompt: ivr.PromptConnecting, Operators: []string{"Boris"},
				Strategy: ivr.RingAll, RingSec: 10, MaxWaitSec: 60, AnnounceSec: 30, NoAnswer: "voicemail", Next: "bye"},
			{ID: "voicemail", Kind: ivr.KindVoicemail, Prompt: ivr.PromptVoicemail, MaxLengthSec: 30, Next: "bye"},
			{ID: "bye", Kind: ivr.KindHangup, Prompt: ivr.PromptGoodbye},
		},
	}
}

// soakPrompts writes the owner's prompts: every prompt of the box, in every language, as 300 ms
// of a two-tone chord that is neither a key nor a call-progress tone.
func soakPrompts(t *testing.T, data string) {
	t.Helper()
	n := int(soakPromptLen / (time.Second / voice.Rate))
	s := make([]int16, n)
	for i := range s {
		x := float64(i) / voice.Rate
		s[i] = int16(3000*math.Sin(2*math.Pi*523*x) + 3000*math.Sin(2*math.Pi*659*x))
	}
	names := prompts.Names()
	for _, lang := range prompts.Languages() {
		dir := filepath.Join(data, custom.PromptDir, lang)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			f, err := os.Create(filepath.Join(dir, name+".wav"))
			if err != nil {
				t.Fatal(err)
			}
			if err := wav.Encode(f, s, voice.Rate); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestSoak places many calls of mixed kinds into the real daemon on simulated lines of every
// dialect (a pair of lines only places the daemon's calls to the operator's mobile): every call
// placed has exactly one complete record whose outcome is what the caller did, every message is
// whole, goroutines, file descriptors and heap do not grow from the first tenth of the soak to
// its end, and no line misses an audio deadline.
func TestSoak(t *testing.T) {
	// Not parallel: the goroutines, descriptors and heap measured are the whole process's, so
	// no other test may start or end meanwhile (the parallel ones wait until it is done).
	calls, lines, speed := soakPlan()
	data := t.TempDir()
	ctx := context.Background()

	st, err := store.Open(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	soakPrompts(t, data)
	for _, o := range []store.Operator{
		{Name: "Anna", Mobile: soakMobile, Available: true},
		{Name: "Boris", Mobile: soakMobileNoAnswer, Available: true},
	} {
		if _, err := st.AddOperator(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	flow, err := soakFlow().MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	if _, problems, err := daemon.SaveFlow(ctx, st, flow, "test", "soak"); err != nil {
		t.Fatalf("soak flow: %v %v", err, problems)
	}
	st.Close()

	// A quarter of the lines (GSM: they dial) stays free for the box's own calls to the
	// operators' mobiles: the box dials on the first free line in the order of their names
	// (gsm1, gsm10, gsm11, ..., gsm2), so those first in that order. Callers ring the others,
	// of every kind, one call after another on each. Each operator takes one call at a time,
	// so the box never dials more than two at once, and a line to dial on is always free.
	var ids []string
	for i := range lines {
		ids = append(ids, fmt.Sprintf("gsm%d", i+1))
	}
	byName := slices.Sorted(slices.Values(ids))
	dialing := byName[:max(2, lines/4)]
	var simKinds, lanes []string
	for _, id := range ids {
		if slices.Contains(dialing, id) {
			simKinds = append(simKinds, []string{"quectel", "simcom", "huawei"}[len(simKinds)%3])
		} else {
			simKinds = append(simKinds, []string{"huawei", "fxo", "quectel", "simcom"}[len(lanes)%4])
			lanes = append(lanes, id)
		}
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "daemon.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	// The modems are devices apart from the box, with clocks of their own: the simulated ones
	// run in a process of their own (`hotline sim`, at a real-time priority), and the daemon
	// opens their pseudo-terminals with the serial code it opens real modems with. A frame the
	// daemon does not take in time is then the daemon's, not the simulator's.
	modems := startSim(t, strings.Join(simKinds, ","), "--speed", strconv.FormatFloat(speed, 'f', -1, 64))
	var specs []daemon.ModemSpec
	for _, m := range modems.modems {
		spec, err := daemon.ParseModemSpec(m)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, spec)
	}
	h, err := daemon.Open(ctx, daemon.Config{DataDir: data, Modems: specs, Speed: speed,
		Logger: slog.New(slog.NewTextHandler(logf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	// The operator's mobile answers after half a second, takes the call with 1 once the box
	// announced it, talks, and hangs up.
	setCallee(t, modems.url, soakMobile, sim.Callee{AnswerAfter: 300 * time.Millisecond, Digits: "1",
		DigitsAfter: 400 * time.Millisecond, HangupAfter: 2 * time.Second})
	setCallee(t, modems.url, soakMobileNoAnswer, sim.Callee{Outcome: sim.NoAnswer, AnswerAfter: time.Minute})
	runCtx, stop := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- h.Run(runCtx) }()
	for deadline := time.Now().Add(time.Minute); readyLines(h) < lines; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d lines ready after a minute", readyLines(h), lines)
		}
	}
	stopped := false
	shut := func() {
		if stopped {
			return
		}
		stopped = true
		stop()
		if err := <-runDone; err != nil {
			t.Errorf("daemon run: %v", err)
		}
		if err := h.Close(); err != nil {
			t.Errorf("daemon close: %v", err)
		}
	}
	defer func() {
		shut()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			if len(b) > 64<<10 {
				b = b[len(b)-64<<10:]
			}
			t.Logf("daemon log (end):\n%s", b)
		}
	}()

	say := noisePCM(soakSay)
	var annaMu, borisMu sync.Mutex

	var mu sync.Mutex
	results := make([]soakResult, 0, calls) // whole from the start: no growth of the test itself
	perKind := map[soakKind]int{}
	simLate := map[string]int{} // by line
	failed := 0
	failedKind := map[soakKind]int{}

	runPhase := func(n, phase int) {
		var wg sync.WaitGroup
		for li, lane := range lanes {
			share := n / len(lanes)
			if li < n%len(lanes) {
				share++
			}
			rnd := rand.New(rand.NewPCG(uint64(li), uint64(phase)))
			wg.Go(func() {
				for j := range share {
					kind := pickKind(rnd)
					res, callee, err := soakCall(ctx, h, modems.url, lane, kind, fmt.Sprintf("+79%d%03d%05d", phase, li, j), say, speed, &annaMu, &borisMu)
					mu.Lock()
					if callee.Modem != "" {
						simLate[callee.Modem] += callee.LateFrames
					}
					if err != nil {
						failed++
						failedKind[kind]++
						if failed <= 30 {
							t.Errorf("%s call %d (%v): %v", lane, j, kind, err)
						}
					} else {
						results = append(results, soakResult{kind, res.CallID, res.Line, res.Outcome})
						perKind[kind]++
						simLate[lane] += res.SimLateFrames
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	waitIdle := func() {
		deadline := time.Now().Add(time.Minute)
		for h.Board.Counters().ActiveCalls != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("calls still up a minute after the last one ended: %+v", h.Board.Counters())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	watch := startStallWatch(t)
	start := time.Now()
	first := max(calls/10, len(lanes))
	runPhase(first, 1)
	waitIdle()
	base := sampleResources(t)
	runPhase(calls-first, 2)
	waitIdle()
	// Goroutines that finish a call's last bookkeeping get a moment to end.
	var end resources
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		end = sampleResources(t)
		if end.within(base) || time.Now().After(deadline) {
			break
		}
	}
	elapsed := time.Since(start)
	stalls := watch.stalls(t)
	counters := h.Board.Counters()
	t.Logf("%d calls on %d lines (%d ringing in) at %v times real time in %v: %v; counters %+v", len(results), lines, len(lanes),
		speed, elapsed.Round(time.Second), perKind, counters)
	t.Logf("after the first tenth: %+v; at the end: %+v", base, end)
	if !end.within(base) {
		t.Errorf("resources grew from the first tenth of the soak to its end: %+v, then %+v", base, end)
	}
	if counters.RecorderDrops != 0 {
		t.Errorf("%d audio frames lost by the recorder; want none", counters.RecorderDrops)
	}
	// No deadline missed: on every line, each underrun the daemon counted is one the simulated
	// modems' process (at a real-time priority) may have caused by pausing itself, which it
	// measures; on time, none.
	logged, _ := os.ReadFile(logf.Name())
	underruns := map[string]int{}
	total := 0
	for _, m := range regexp.MustCompile(`msg="audio underruns(?: on the placed call)?" subsys=switchboard line=(gsm\d+)(?: call=\d+)? frames=(\d+)`).FindAllSubmatch(logged, -1) {
		n, _ := strconv.Atoi(string(m[2]))
		underruns[string(m[1])] += n
		total += n
	}
	if int64(total) != counters.Underruns {
		t.Errorf("the log names %d underruns, the counters %d", total, counters.Underruns)
	}
	late := 0
	for _, line := range ids {
		late += simLate[line]
		if underruns[line] > simLate[line] {
			t.Errorf("%s: the daemon counted %d underruns, the simulator's pauses explain %d: the daemon missed deadlines", line, underruns[line], simLate[line])
		}
	}
	t.Logf("audio underruns: %d; the simulator's own pauses could cause %d", total, late)
	// The box's own deadline: every frame answered within 20 ms from the moment the line's
	// driver had it, but where the machine itself stood still. Judged in real time only: on the
	// accelerated clock the budget shrinks with the frames (4 ms at 5 times real time), and a
	// box that meets it on two shared cores is not what a real line needs; the misses are
	// counted and reported there (docs/RELIABILITY.md, "Many calls").
	// Read once the daemon has stopped: the legs to the operators' mobiles may still be ending
	// when the callers' calls are all over.
	shut()
	counters = h.Board.Counters()
	logged, _ = os.ReadFile(logf.Name())
	t.Logf("slowest frame answered in %v (budget %v)", counters.SlowestFrame, time.Duration(float64(voice.FrameDuration)/speed))
	checkDeadlines(t, string(logged), counters.DeadlineMisses, stalls, speed == 1)
	if failed > 0 {
		t.Fatalf("%d of %d calls could not be placed or went another way than their caller meant: %v", failed, calls, failedKind)
	}
	checkSoakRecords(t, data, results)
}

// pickKind draws a caller by soakWeights.
func pickKind(rnd *rand.Rand) soakKind {
	n := rnd.IntN(100)
	for k, w := range soakWeights {
		if n < w {
			return soakKind(k)
		}
		n -= w
	}
	return soakGreetingHangup
}

// soakCall places one call of kind on line through the simulator's call API at sim, at speed
// times real time, and checks what the caller and the call log say; it returns what the
// caller experienced with the record's id and outcome, and what the operator's mobile
// experienced when the box dialled it. anna and boris are held while a call rings the
// operator's mobile.
func soakCall(ctx context.Context, h *daemon.Hotline, sim, line string, kind soakKind, from string, say []byte, speed float64, anna, boris *sync.Mutex) (daemon.TestCallResult, simCalleeResult, error) {
	var callee simCalleeResult
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	tc := daemon.TestCall{From: from, Line: line}
	want, dials := "", ""
	var operator *sync.Mutex
	switch kind {
	case soakGreetingHangup:
		// 150 ms of the wall clock: the drivers answer in real time (ATA, and the SIM7600's
		// AT+CPCMREG=1 100 ms later), and a caller gone within a few milliseconds of ATA makes
		// the answer itself not go through (outcome "missed"), which is not what this caller tests.
		tc.HangupAfterMS = int(150 * speed)
		want = store.OutcomeAbandoned
	case soakInfo:
		// Hears 200 ms of the (300 ms) information, then hangs up: timed on what the caller
		// hears, so a simulator or a box running late on a loaded machine cannot move the
		// hang-up into the menu's timeout and voicemail (the callers' own 20 ms steps can run
		// at half speed when the machine is starved).
		tc.Digits, tc.HangupAfterHeardMS = "1", 200
		want = store.OutcomeCompleted
	case soakVoicemail:
		tc.Digits, tc.Say = "2", say
		want = store.OutcomeVoicemail
	case soakOperator:
		tc.Digits, dials, operator = "0", soakMobile, anna
		want = store.OutcomeAnswered
	case soakQueueGiveUp:
		tc.Digits, tc.HangupAfterMS, dials, operator = "3", 5000, soakMobileNoAnswer, boris
		want = store.OutcomeMissed
	case soakSilent:
		want = store.OutcomeVoicemail
	}
	if operator != nil {
		operator.Lock()
		defer operator.Unlock()
	}
	res, err := simCall(ctx, sim, tc)
	if err != nil {
		return res, callee, err
	}
	// The record, closed: the daemon writes it as it sees the call end.
	for {
		// By the digits: an analog line's caller ID carries no "+".
		calls, err := h.Store.SearchCalls(ctx, store.LogFilter{Number: strings.TrimPrefix(from, "+"), Limit: 2})
		if err != nil {
			return res, callee, err
		}
		if len(calls) > 1 {
			return res, callee, fmt.Errorf("%d records for %s", len(calls), from)
		}
		if len(calls) == 1 && !calls[0].EndedAt.IsZero() {
			res.CallID, res.Outcome = calls[0].ID, calls[0].Outcome
			break
		}
		select {
		case <-ctx.Done():
			return res, callee, fmt.Errorf("no closed record for the call from %s (%d records): %w: %+v", from, len(calls), ctx.Err(), res)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if res.Outcome != want {
		return res, callee, fmt.Errorf("call %d: outcome %q, want %q: %+v", res.CallID, res.Outcome, want, res)
	}
	if dials != "" {
		// The operator is free again once the line the box dialled on is ready for the next.
		callee, err = nextCallee(ctx, sim, dials)
		if err != nil {
			return res, callee, err
		}
		for h.Board.LineState(callee.Modem) != "ready" {
			select {
			case <-ctx.Done():
				return res, callee, fmt.Errorf("line %s not ready after the call to %s: %w", callee.Modem, dials, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return res, callee, nil
}

// simCalleeResult is what `hotline sim` tells of a call the box placed to a virtual callee.
type simCalleeResult struct {
	Modem      string
	LateFrames int
}

// setCallee tells `hotline sim` at base how number answers the box's calls.
func setCallee(t *testing.T, base, number string, c sim.Callee) {
	t.Helper()
	if err := postJSON(context.Background(), base+"/api/sim/callee", map[string]any{"number": number, "callee": c}, nil); err != nil {
		t.Fatal(err)
	}
}

// nextCallee waits for the next call the box placed to number to end, at `hotline sim` base.
func nextCallee(ctx context.Context, base, number string) (simCalleeResult, error) {
	var r simCalleeResult
	err := postJSON(ctx, base+"/api/sim/callee/next", map[string]string{"number": number}, &r)
	return r, err
}

// readyLines counts the daemon's lines that are ready for calls.
func readyLines(h *daemon.Hotline) int {
	n := 0
	for _, id := range h.Lines() {
		if h.Board.LineState(id) == "ready" {
			n++
		}
	}
	return n
}

// noisePCM is d of steady noise at a speaking level as s16le: a message that never falls silent.
func noisePCM(d time.Duration) []byte {
	n := int(d / (time.Second / voice.Rate))
	out := make([]byte, 2*n)
	x := uint32(987654321)
	for i := range n {
		x = x*1664525 + 1013904223
		s := int16(int32(x>>16)-32768) / 6
		out[2*i], out[2*i+1] = byte(s), byte(uint16(s)>>8)
	}
	return out
}

// resources is what the process holds.
type resources struct {
	Goroutines int
	FDs        int
	HeapKB     uint64
}

func sampleResources(t *testing.T) resources {
	t.Helper()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return resources{Goroutines: runtime.NumGoroutine(), FDs: len(fds), HeapKB: ms.HeapAlloc >> 10}
}

// within reports whether r holds no more than base: a few goroutines and descriptors of
// idle housekeeping, and a quarter more heap (at least 4 MB: caches that fill once).
func (r resources) within(base resources) bool {
	return r.Goroutines <= base.Goroutines+4 && r.FDs <= base.FDs+2 &&
		r.HeapKB <= base.HeapKB+max(base.HeapKB/4, 4<<10)
}

// soakResult is one call the soak placed (what the checks need of it: the test's own memory
// must not look like the daemon's growth).
type soakResult struct {
	kind    soakKind
	id      int64
	line    string
	outcome string
}

// checkSoakRecords: after the daemon stopped, the database is whole, every call placed has
// exactly one record, closed, with the outcome the caller saw, and every message plays for as
// long as its record says.
func checkSoakRecords(t *testing.T, data string, results []soakResult) {
	t.Helper()
	db := checkedDB(t, data)
	type row struct {
		outcome string
		ended   bool
		vm      int64
	}
	rows, err := db.Query(`SELECT c.id, c.outcome, c.ended_at IS NOT NULL,
		coalesce((SELECT max(v.id) FROM voicemails v WHERE v.call_id = c.id), 0) FROM calls c`)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[int64]row{}
	for rows.Next() {
		var id int64
		var r row
		if err := rows.Scan(&id, &r.outcome, &r.ended, &r.vm); err != nil {
			t.Fatal(err)
		}
		calls[id] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(calls) != len(results) {
		t.Errorf("%d calls placed, %d records in the call log", len(results), len(calls))
	}
	vms := map[int64]vmRow{}
	for _, v := range voicemailRows(t, db) {
		if _, dup := vms[v.callID]; dup {
			t.Errorf("call %d has two voicemail rows", v.callID)
		}
		vms[v.callID] = v
	}
	seen := map[int64]bool{}
	bad := 0
	for _, p := range results {
		id := p.id
		r, ok := calls[id]
		switch {
		case seen[id]:
			t.Errorf("two calls got record %d", id)
		case !ok:
			t.Errorf("%s call on %s has no record %d", p.kind, p.line, id)
		case !r.ended || r.outcome != p.outcome:
			t.Errorf("record %d (%s): outcome %q, ended %v; the caller saw %q", id, p.kind, r.outcome, r.ended, p.outcome)
		}
		seen[id] = true
		v, hasVM := vms[id]
		if (r.outcome == store.OutcomeVoicemail) != hasVM || (hasVM && r.vm != v.id) {
			t.Errorf("record %d (%s): outcome %q, voicemail %d, voicemail rows %+v", id, p.kind, r.outcome, r.vm, v)
			continue
		}
		if !hasVM {
			continue
		}
		samples, err := wav.ReadFileMono8k(filepath.Join(data, store.VoicemailDir, v.file))
		plays := time.Duration(len(samples)) * time.Second / voice.Rate
		switch {
		case err != nil:
			t.Errorf("voicemail %d does not play: %v", v.id, err)
		case !v.complete || plays < v.duration-voice.FrameDuration || plays > v.duration+voice.FrameDuration:
			t.Errorf("voicemail %d: complete %v, row %v, file plays %v", v.id, v.complete, v.duration, plays)
		case p.kind == soakVoicemail && plays < soakSay-200*time.Millisecond:
			t.Errorf("voicemail %d plays %v of a %v message", v.id, plays, soakSay)
		default:
			continue
		}
		if bad++; bad > 10 {
			t.Fatal("too many bad messages")
		}
	}
	if len(vms) != countKinds(results, soakVoicemail, soakSilent) {
		t.Errorf("%d voicemail rows for %d callers who left one", len(vms), countKinds(results, soakVoicemail, soakSilent))
	}
}

func countKinds(results []soakResult, kinds ...soakKind) int {
	n := 0
	for _, p := range results {
		for _, k := range kinds {
			if p.kind == k {
				n++
			}
		}
	}
	return n
}
