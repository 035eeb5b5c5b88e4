package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hotline/daemon/store"
	"hotline/voice/wav"
)

// TestKill9CallsInEveryPhase kills the daemon (SIGKILL) on four lines with a call in each
// phase a call can be in: two callers leaving a message, one listening to the greeting, one
// whose call still rings (the box answers on the third ring), after two calls that already
// ended. After a restart every call that rang has exactly one record, closed: the two that
// ended as they did, the four cut by the kill as failed; both messages are complete, play up
// to the last second before the kill and hold the caller's voice; the database passes
// PRAGMA integrity_check.
func TestKill9CallsInEveryPhase(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	messageFlow(t, data)
	st, err := store.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetSetting(context.Background(), "answer_rings", "3"); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	p := startDaemon(t, data, 4)
	waitLinesUp(t, p.url, 4, time.Minute)

	// Two calls that end before the kill: a caller who hangs up in the greeting.
	for _, line := range []string{"gsm1", "gsm2"} {
		if err := <-placeCall(p.url, "--line", line, "--from", "+74951234567", "--hangup-after", "1s"); err != nil {
			t.Fatalf("short call on %s: %v", line, err)
		}
	}
	say := noiseWAV(t, 40)
	var inFlight []<-chan error
	for _, line := range []string{"gsm1", "gsm2"} {
		inFlight = append(inFlight, placeCall(p.url, "--line", line, "--from", "+79161234567", "--digits", "0", "--say", say))
	}
	files := growingVoicemail(t, p, data, 2, 2*16000)
	// A caller who listens to the greeting and presses nothing, and one whose call rings.
	inFlight = append(inFlight, placeCall(p.url, "--line", "gsm3", "--from", "+79161112233", "--hangup-after", "60s"))
	for deadline := time.Now().Add(30 * time.Second); metric(t, p.url, "hotline_active_calls") < 3; {
		if time.Now().After(deadline) {
			t.Fatal("the third call did not come in")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(7 * time.Second) // answered on its third ring: in the greeting now
	inFlight = append(inFlight, placeCall(p.url, "--line", "gsm4", "--from", "+79164445566", "--hangup-after", "60s"))
	for deadline := time.Now().Add(30 * time.Second); metric(t, p.url, "hotline_active_calls") < 4; {
		if time.Now().After(deadline) {
			t.Fatal("the fourth call did not ring")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.kill(t)
	sizes := map[string]int64{}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		sizes[filepath.Base(f)] = fi.Size()
	}
	for _, errc := range inFlight {
		select {
		case err := <-errc:
			if err == nil {
				t.Error("a test call ended well although the box was killed in the middle")
			}
		case <-time.After(90 * time.Second):
			t.Fatal("hotline call did not notice the box was killed")
		}
	}

	p2 := startDaemon(t, data, 4)
	p2.stop(t)
	db := checkedDB(t, data)
	var ringing, greeting int
	if err := db.QueryRow(`SELECT count(*) FILTER (WHERE line_id = 'gsm4' AND answered_at IS NULL),
		count(*) FILTER (WHERE line_id = 'gsm3' AND answered_at IS NOT NULL) FROM calls`).Scan(&ringing, &greeting); err != nil {
		t.Fatal(err)
	}
	t.Logf("at the kill: %d call still ringing (gsm4), %d answered and in the greeting (gsm3)", ringing, greeting)
	rows, err := db.Query(`SELECT line_id, outcome, ended_at IS NOT NULL FROM calls ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		line, outcome string
		ended         bool
	}
	var got []rec
	for rows.Next() {
		var r rec
		if err := rows.Scan(&r.line, &r.outcome, &r.ended); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	rows.Close()
	want := []rec{{"gsm1", "abandoned", true}, {"gsm2", "abandoned", true}, {"gsm1", "failed", true}, {"gsm2", "failed", true},
		{"gsm3", "failed", true}, {"gsm4", "failed", true}}
	if len(got) != len(want) {
		t.Fatalf("call records after the kill: %+v; want %+v", got, want)
	}
	// The two messages start in either order.
	if got[2].line == "gsm2" {
		got[2], got[3] = got[3], got[2]
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("call record %d after the kill: %+v, want %+v", i+1, got[i], want[i])
		}
	}
	vms := voicemailRows(t, db)
	if len(vms) != 2 {
		t.Fatalf("%d voicemail rows, want 2", len(vms))
	}
	for _, v := range vms {
		size, ok := sizes[v.file]
		if !ok {
			t.Errorf("voicemail %d names %q, not one of the files recording at the kill", v.id, v.file)
			continue
		}
		checkKilledVoicemail(t, data, v, size)
		// The caller's voice, not silence: the noise the caller said is loud all through.
		samples, err := wav.ReadFileMono8k(filepath.Join(data, "voicemail", v.file))
		if err != nil {
			t.Fatal(err)
		}
		loud := 0
		for _, s := range samples {
			if s > 1000 || s < -1000 {
				loud++
			}
		}
		if loud < len(samples)/4 {
			t.Errorf("voicemail %d: %d of %d samples are the caller's voice", v.id, loud, len(samples))
		}
	}
}
