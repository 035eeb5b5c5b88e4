package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// logCall is one call of the log tests.
type logCall struct {
	line, number string
	at           time.Duration // after logDay
	outcome      string        // "" = in progress
	sum          Summary
	status       string
}

var logDay = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// fillLog stores calls and returns their ids in order.
func fillLog(t *testing.T, s *Store, calls []logCall) []int64 {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	for i, c := range calls {
		start := logDay.Add(c.at)
		id, err := s.StartCall(ctx, c.line, c.number, start)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if c.outcome != "" {
			if c.outcome != OutcomeMissed {
				if err := s.AnswerCall(ctx, id, start.Add(2*time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			sum := c.sum
			sum.Outcome = c.outcome
			if err := s.FinishCallSummary(ctx, id, start.Add(time.Minute), sum); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		if c.status != "" {
			if err := s.SetCallStatus(ctx, id, c.status); err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, id)
	}
	return ids
}

var logCalls = []logCall{
	{line: "gsm1", number: "+79161234567", at: 9 * time.Hour, outcome: OutcomeAnswered,
		sum: Summary{MenuPath: "1", QueueWait: 4 * time.Second, Talk: 60 * time.Second, Survey: 5, AnsweredBy: "anna"}},
	{line: "gsm1", number: "+79161234567", at: 33 * time.Hour, outcome: OutcomeVoicemail, sum: Summary{MenuPath: "2"}, status: StatusDone},
	{line: "gsm2", number: "+74951112233", at: 34 * time.Hour, outcome: OutcomeMissed},
	{line: "gsm2", number: "+74951112233", at: 35 * time.Hour, outcome: OutcomeAnswered,
		sum: Summary{MenuPath: "1", QueueWait: 2 * time.Second, Talk: 120 * time.Second, Survey: 2}, status: StatusInProgress},
	{line: "fxo1", number: "", at: 57 * time.Hour, outcome: OutcomeCallback, sum: Summary{MenuPath: "1,0"}},
	{line: "gsm1", number: "+79160000000", at: 58 * time.Hour},
}

func TestSearchCalls(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	ids := fillLog(t, s, logCalls)
	tests := []struct {
		name string
		f    LogFilter
		want []int // indexes into logCalls, newest first
	}{
		{"all", LogFilter{}, []int{5, 4, 3, 2, 1, 0}},
		{"line", LogFilter{LineID: "gsm2"}, []int{3, 2}},
		{"answered", LogFilter{Outcome: OutcomeAnswered}, []int{3, 0}},
		{"callback", LogFilter{Outcome: OutcomeCallback}, []int{4}},
		{"in progress", LogFilter{Outcome: OutcomeInProgress}, []int{5}},
		{"status done", LogFilter{Status: StatusDone}, []int{1}},
		{"status in progress", LogFilter{Status: StatusInProgress}, []int{3}},
		{"second day", LogFilter{From: logDay.Add(24 * time.Hour), To: logDay.Add(48 * time.Hour)}, []int{3, 2, 1}},
		{"from only", LogFilter{From: logDay.Add(57 * time.Hour)}, []int{5, 4}},
		{"to is exclusive", LogFilter{To: logDay.Add(33 * time.Hour)}, []int{0}},
		{"number part", LogFilter{Number: "916 123"}, []int{1, 0}},
		{"number start", LogFilter{Number: "+7495"}, []int{3, 2}},
		{"number start is not anywhere", LogFilter{Number: "+916"}, nil},
		{"number digits anywhere", LogFilter{Number: "916"}, []int{5, 1, 0}},
		{"whole number", LogFilter{Number: " +79161234567"}, []int{1, 0}},
		{"number no digits", LogFilter{Number: "abc%_"}, []int{5, 4, 3, 2, 1, 0}},
		{"combined", LogFilter{LineID: "gsm1", Number: "7916", Outcome: OutcomeVoicemail}, []int{1}},
		{"limit", LogFilter{Limit: 2}, []int{5, 4}},
		{"before", LogFilter{BeforeID: ids[2], Limit: 10}, []int{1, 0}},
		{"nothing", LogFilter{LineID: "nope"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.SearchCalls(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var want []int64
			for _, i := range tt.want {
				want = append(want, ids[i])
			}
			var gotIDs []int64
			for _, c := range got {
				gotIDs = append(gotIDs, c.ID)
			}
			if !slices.Equal(gotIDs, want) {
				t.Errorf("got %v, want %v", gotIDs, want)
			}
		})
	}
	for _, f := range []LogFilter{{Outcome: "bogus"}, {Status: "closed"}} {
		if _, err := s.SearchCalls(ctx, f); !errors.Is(err, ErrBadFilter) {
			t.Errorf("%+v: %v, want ErrBadFilter", f, err)
		}
	}
}

func TestEachCall(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	n := eachCallBatch*2 + 7 // three batches, the last one short
	for i := range n {
		if _, err := s.StartCall(ctx, "gsm1", "+79161234567", logDay.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	var got []int64
	if err := s.EachCall(ctx, LogFilter{Limit: 3}, func(c Call) error {
		got = append(got, c.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d calls, want %d (the limit is ignored)", len(got), n)
	}
	for i := 1; i < len(got); i++ {
		if got[i] >= got[i-1] {
			t.Fatalf("not newest first at %d: %d after %d", i, got[i], got[i-1])
		}
	}
	// A filter applies across batches.
	count := 0
	if err := s.EachCall(ctx, LogFilter{From: logDay.Add(600 * time.Second)}, func(Call) error { count++; return nil }); err != nil {
		t.Fatal(err)
	}
	if count != n-600 {
		t.Errorf("filtered: %d calls, want %d", count, n-600)
	}
	// fn's error stops it.
	stop := errors.New("client went away")
	count = 0
	err := s.EachCall(ctx, LogFilter{}, func(Call) error {
		count++
		if count == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || count != 3 {
		t.Errorf("stop: %v after %d calls", err, count)
	}
	if err := s.EachCall(ctx, LogFilter{Outcome: "x"}, func(Call) error { return nil }); !errors.Is(err, ErrBadFilter) {
		t.Errorf("bad filter: %v", err)
	}
}

func TestCallerHistoryAndLines(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	ids := fillLog(t, s, logCalls)
	h, err := s.CallerHistory(ctx, "+74951112233", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[0].ID != ids[3] || h[1].ID != ids[2] {
		t.Errorf("history %+v", h)
	}
	if h[0].AnsweredBy != "" || h[0].Survey != 2 || h[0].Talk != 120*time.Second {
		t.Errorf("history row lacks its summary: %+v", h[0])
	}
	if h, err := s.CallerHistory(ctx, "", 0); err != nil || len(h) != 0 {
		t.Errorf("hidden number history: %v, %v", h, err)
	}
	lines, err := s.CallLines(ctx)
	if err != nil || !slices.Equal(lines, []string{"fxo1", "gsm1", "gsm2"}) {
		t.Errorf("lines %v, %v", lines, err)
	}
}

func TestRecordingPath(t *testing.T) {
	s := openTest(t, "", nil)
	p, err := s.RecordingPath(Call{ID: 1, Summary: Summary{Recording: "20261120-1-rec.wav"}})
	if err != nil || p != filepath.Join(s.Dir(), "recordings", "20261120-1-rec.wav") {
		t.Errorf("path %q, %v", p, err)
	}
	for _, bad := range []string{"", "../hotline.db", "a/b.wav", `a\b.wav`, "..", "."} {
		if _, err := s.RecordingPath(Call{ID: 1, Summary: Summary{Recording: bad}}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCallReport(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	fillLog(t, s, logCalls)
	msk := time.FixedZone("MSK", 3*3600)
	from := time.Date(2026, 11, 20, 0, 0, 0, 0, msk)
	r, err := s.CallReport(ctx, from, from.AddDate(0, 0, 3), msk)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 6 {
		t.Errorf("total %d", r.Total)
	}
	wantOut := map[string]int{OutcomeAnswered: 2, OutcomeVoicemail: 1, OutcomeMissed: 1, OutcomeCallback: 1, "": 1}
	for k, v := range wantOut {
		if r.Outcomes[k] != v {
			t.Errorf("outcome %q: %d, want %d", k, r.Outcomes[k], v)
		}
	}
	// 09:00 UTC is 12:00 in Moscow; 33h is 09:00 UTC the next day, 34h 10:00, 35h 11:00, 57h/58h 09/10 UTC.
	wantHours := map[int]int{12: 3, 13: 2, 14: 1}
	for h, n := range r.ByHour {
		if n != wantHours[h] {
			t.Errorf("hour %d: %d, want %d", h, n, wantHours[h])
		}
	}
	if len(r.ByDay) != 3 {
		t.Fatalf("%d days, want 3", len(r.ByDay))
	}
	wantDays := []DayCount{
		{Total: 1, Answered: 1},
		{Total: 3, Answered: 2, Missed: 1, Voicemail: 1},
		{Total: 2, Answered: 1},
	}
	for i, d := range r.ByDay {
		w := wantDays[i]
		w.Day = from.AddDate(0, 0, i)
		if !d.Day.Equal(w.Day) || d.Total != w.Total || d.Answered != w.Answered || d.Missed != w.Missed || d.Voicemail != w.Voicemail {
			t.Errorf("day %d: %+v, want %+v", i, d, w)
		}
	}
	if r.Waited != 2 || r.AvgWait != 3*time.Second || r.Talked != 2 || r.AvgTalk != 90*time.Second {
		t.Errorf("wait %d/%v talk %d/%v", r.Waited, r.AvgWait, r.Talked, r.AvgTalk)
	}
	if r.Surveys != 2 || r.AvgSurvey != 3.5 || r.Scores != [5]int{0, 1, 0, 0, 1} {
		t.Errorf("surveys %d avg %v scores %v", r.Surveys, r.AvgSurvey, r.Scores)
	}
	wantMenu := []KeyCount{{"1", 2}, {"1,0", 1}, {"2", 1}}
	if !slices.Equal(r.Menu, wantMenu) {
		t.Errorf("menu %v, want %v", r.Menu, wantMenu)
	}
	if _, err := s.CallReport(ctx, from, from, msk); err == nil {
		t.Error("empty period accepted")
	}
	utcDay := time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC)
	empty, err := s.CallReport(ctx, utcDay, utcDay.AddDate(0, 0, 1), nil)
	if err != nil || empty.Total != 0 || len(empty.ByDay) != 1 || empty.AvgSurvey != 0 {
		t.Errorf("empty report %+v, %v", empty, err)
	}
}

// benchLog fills a store with n calls over the year before logDay, four lines, a few thousand
// callers, written in one transaction.
func benchLog(b *testing.B, n int) *Store {
	b.Helper()
	s := openTest(b, "", nil)
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO calls (line_id, number, raw_number, started_at, answered_at, ended_at,
		outcome, menu_path, queue_wait_ms, talk_ms, survey) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	outcomes := []string{OutcomeAnswered, OutcomeMissed, OutcomeVoicemail, OutcomeCompleted, OutcomeCallback}
	start := logDay.AddDate(-1, 0, 0)
	step := 365 * 24 * time.Hour / time.Duration(n)
	for i := range n {
		at := start.Add(time.Duration(i) * step).UnixMilli()
		number := fmt.Sprintf("+7916%07d", i%5000)
		var survey any
		if i%7 == 0 {
			survey = i%5 + 1
		}
		if _, err := stmt.ExecContext(ctx, fmt.Sprintf("gsm%d", i%4), number, number, at, at+3000, at+60000,
			outcomes[i%len(outcomes)], "1,"+fmt.Sprint(i%3), i%20*1000, i%90*1000, survey); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkCallLog measures the call log's queries over a year of calls (make bench).
func BenchmarkCallLog(b *testing.B) {
	s := benchLog(b, 200_000)
	ctx := context.Background()
	for _, bm := range []struct {
		name string
		run  func() error
	}{
		{"page", func() error { _, err := s.SearchCalls(ctx, LogFilter{Limit: 51}); return err }},
		{"line and outcome", func() error {
			_, err := s.SearchCalls(ctx, LogFilter{LineID: "gsm2", Outcome: OutcomeMissed, Limit: 51})
			return err
		}},
		{"number start", func() error { _, err := s.SearchCalls(ctx, LogFilter{Number: "+79160001234", Limit: 51}); return err }},
		{"number anywhere", func() error { _, err := s.SearchCalls(ctx, LogFilter{Number: "0001234", Limit: 51}); return err }},
		{"lines", func() error { _, err := s.CallLines(ctx); return err }},
		{"report 30 days", func() error { _, err := s.CallReport(ctx, logDay.AddDate(0, 0, -30), logDay, time.UTC); return err }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bm.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
