package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// fillRandomCalls logs n calls at random moments of [from, from+span) in one transaction, as
// the store writes them: the row on the first ring, then the update that ends it (answered or
// not, with an outcome, menu path and summary), a few left in progress.
func fillRandomCalls(t *testing.T, s *Store, rng *rand.Rand, n int, from time.Time, span time.Duration) {
	t.Helper()
	ctx := context.Background()
	outcomes := []string{OutcomeAnswered, OutcomeVoicemail, OutcomeCallback, OutcomeAbandoned, OutcomeMissed, OutcomeCompleted, OutcomeFailed}
	menus := []string{"", "1", "2", "1,0", "2,1", "0"}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Prepared once: preparing a statement codes the triggers too.
		insert, err := tx.PrepareContext(ctx, `INSERT INTO calls (line_id, number, raw_number, started_at) VALUES (?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer insert.Close()
		finish, err := tx.PrepareContext(ctx, `UPDATE calls SET answered_at = ?, ended_at = ?, outcome = ?, menu_path = ?,
	queue_wait_ms = ?, talk_ms = ?, survey = ? WHERE id = ?`)
		if err != nil {
			return err
		}
		defer finish.Close()
		for range n {
			at := from.Add(time.Duration(rng.Int64N(int64(span)))).UnixMilli()
			number := fmt.Sprintf("+7916%07d", rng.IntN(40))
			if rng.IntN(20) == 0 {
				number = ""
			}
			res, err := insert.ExecContext(ctx, fmt.Sprintf("gsm%d", rng.IntN(3)), number, number, at)
			if err != nil {
				return err
			}
			id, _ := res.LastInsertId()
			if rng.IntN(15) == 0 {
				continue // in progress
			}
			var answered, survey any
			if rng.IntN(3) > 0 {
				answered = at + 5000
			}
			var wait, talk int
			if rng.IntN(2) == 0 {
				wait, talk = rng.IntN(60_000), rng.IntN(600_000)
			}
			if rng.IntN(4) == 0 {
				survey = 1 + rng.IntN(5)
			}
			_, err = finish.ExecContext(ctx, answered, at+60_000, outcomes[rng.IntN(len(outcomes))], menus[rng.IntN(len(menus))], wait, talk, survey, id)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReportSummariesMatchCalls checks that a report read from the summaries is the report
// counted from the calls, in time zones with summer time and with offsets of quarter hours,
// for days, weeks and months, after calls change number, start and end and are deleted.
func TestReportSummariesMatchCalls(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	rng := rand.New(rand.NewPCG(7, 8))
	start := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	fillRandomCalls(t, s, rng, 400, start, 60*24*time.Hour)
	// Calls change after the fact: a number learnt late, a start moved, some deleted.
	for _, q := range []string{
		`UPDATE calls SET number = '+79160000001' WHERE id % 17 = 0`,
		`UPDATE calls SET started_at = started_at + 3600000 WHERE id % 23 = 0`,
		`UPDATE calls SET outcome = 'missed', survey = NULL WHERE id % 29 = 0`,
		`DELETE FROM calls WHERE id % 31 = 0`,
	} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	zones := []string{"UTC", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"}
	for _, name := range zones {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatalf("time zone %s: %v", name, err)
		}
		for _, days := range []int{1, 7, 40} {
			// Periods that cross the changes of clocks in March and April (America: 8 March,
			// Lord Howe Island, by half an hour: 5 April).
			for _, first := range []time.Time{time.Date(2026, 3, 7, 0, 0, 0, 0, loc), time.Date(2026, 3, 28, 0, 0, 0, 0, loc)} {
				to := first.AddDate(0, 0, days)
				fast, err := s.callReport(ctx, first, to, loc, true)
				if err != nil {
					t.Fatal(err)
				}
				slow, err := s.callReport(ctx, first, to, loc, false)
				if err != nil {
					t.Fatal(err)
				}
				if slow.Total == 0 && days > 1 {
					t.Fatalf("%s %s +%d days: no calls in the test's period", name, first, days)
				}
				if !reflect.DeepEqual(fast, slow) {
					t.Errorf("%s from %s, %d days:\nsummaries %+v\ncalls     %+v", name, first.Format(time.DateOnly), days, fast, slow)
				}
			}
		}
	}
	// A period off the quarter hours is counted from the calls, and right.
	odd := start.Add(10*24*time.Hour + 7*time.Minute)
	r, err := s.CallReport(ctx, odd, odd.Add(50*time.Hour), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM calls WHERE started_at >= ? AND started_at < ?`,
		odd.UnixMilli(), odd.Add(50*time.Hour).UnixMilli()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if r.Total != n || n == 0 {
		t.Errorf("odd period: %d calls, want %d", r.Total, n)
	}
	// The reports above did read the summaries: the hours of a zone of whole hours come from
	// call_hours, those of a zone of half hours from call_slots, and without any summary a
	// week has no calls.
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	kathmandu, err := time.LoadLocation("Asia/Kathmandu")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM call_hours`); err != nil {
		t.Fatal(err)
	}
	if r, err := s.CallReport(ctx, day, day.AddDate(0, 0, 7), time.UTC); err != nil || r.Total == 0 || r.ByHour != [24]int{} {
		t.Errorf("UTC without call_hours: %d calls, by hour %v (%v)", r.Total, r.ByHour, err)
	}
	if r, err := s.CallReport(ctx, day.Add(-345*time.Minute), day.Add(-345*time.Minute).AddDate(0, 0, 7), kathmandu); err != nil || r.ByHour == [24]int{} {
		t.Errorf("Kathmandu without call_hours: by hour %v (%v)", r.ByHour, err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM call_slots; DELETE FROM call_days`); err != nil {
		t.Fatal(err)
	}
	if r, err := s.CallReport(ctx, day, day.AddDate(0, 0, 7), time.UTC); err != nil || r.Total != 0 {
		t.Errorf("a report without its summary still counted %d calls (%v)", r.Total, err)
	}
}

// TestCallNumbersInStep checks the call_numbers summary against the calls after inserts,
// number changes and deletes.
func TestCallNumbersInStep(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	rng := rand.New(rand.NewPCG(9, 10))
	fillRandomCalls(t, s, rng, 120, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), 10*24*time.Hour)
	for _, q := range []string{
		`UPDATE calls SET number = '+79160000001' WHERE id % 7 = 0`,
		`UPDATE calls SET number = '' WHERE id % 11 = 0`,
		`DELETE FROM calls WHERE id % 5 = 0`,
	} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	want := map[string]int{}
	err := s.eachRow(ctx, `SELECT number, count(*) FROM calls WHERE number != '' GROUP BY 1`, nil, func(scan func(...any) error) error {
		var k string
		var n int
		err := scan(&k, &n)
		want[k] = n
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	err = s.eachRow(ctx, `SELECT number, n FROM call_numbers`, nil, func(scan func(...any) error) error {
		var k string
		var n int
		err := scan(&k, &n)
		got[k] = n
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 10 || !reflect.DeepEqual(got, want) {
		t.Errorf("call_numbers %v\nwant %v", got, want)
	}
}

// TestCountNewVoicemail counts what LiveVoicemail lists: unhandled, not deleted.
func TestCountNewVoicemail(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	s := openTest(t, "", clock)
	var ids []int64
	for i := range 5 {
		callID, err := s.StartCall(ctx, "gsm1", "+79161234567", clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		file := fmt.Sprintf("m%d.wav", i)
		id, err := s.StartVoicemail(ctx, callID, file, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.voicemailPath(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("RIFF"), 0o600); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	check := func(step string) {
		t.Helper()
		live, err := s.LiveVoicemail(ctx, true, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.CountNewVoicemail(ctx)
		if err != nil || n != len(live) {
			t.Errorf("%s: count %d (%v), listed %d", step, n, err, len(live))
		}
	}
	check("all new")
	if err := s.SetVoicemailHandled(ctx, ids[0], true, "owner"); err != nil {
		t.Fatal(err)
	}
	check("one handled")
	for _, id := range ids[:3] {
		if err := s.TrashVoicemail(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	check("three deleted, one of them handled")
	if n, _ := s.CountNewVoicemail(ctx); n != 2 {
		t.Errorf("count %d, want 2", n)
	}
}

// TestSearchCallsEveryPlan pages through the log with many filters, each way the store may
// read it (through an index or from the newest call; numbers through call_numbers or by
// LIKE), and finds the calls a plain reading of every call finds, in the same order.
func TestSearchCallsEveryPlan(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	rng := rand.New(rand.NewPCG(11, 12))
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	fillRandomCalls(t, s, rng, 300, start, 20*24*time.Hour)
	var all []Call
	if err := s.EachCall(ctx, LogFilter{}, func(c Call) error { all = append(all, c); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 300 {
		t.Fatalf("%d calls logged", len(all))
	}
	day := func(n int) time.Time { return start.AddDate(0, 0, n) }
	filters := []LogFilter{
		{From: day(2), To: day(5)},
		{From: day(18)},
		{To: day(3)},
		{From: day(1), To: day(19)},
		{From: day(4), To: day(9), LineID: "gsm1"},
		{From: day(4), To: day(16), Outcome: OutcomeMissed},
		{Number: "9160000"},
		{Number: "12"},
		{Number: "+7916000001"},
		{Number: "0003", From: day(3), To: day(12), Status: StatusNew},
		{Outcome: OutcomeInProgress, LineID: "gsm2"},
	}
	match := func(f LogFilter, c Call) bool {
		switch {
		case !f.From.IsZero() && c.StartedAt.Before(f.From), !f.To.IsZero() && !c.StartedAt.Before(f.To),
			f.LineID != "" && c.LineID != f.LineID,
			f.Outcome == OutcomeInProgress && c.Outcome != "",
			f.Outcome != "" && f.Outcome != OutcomeInProgress && c.Outcome != f.Outcome,
			f.Status != "" && c.Status != f.Status:
			return false
		}
		if f.Number == "" {
			return true
		}
		if strings.HasPrefix(f.Number, "+") {
			return strings.HasPrefix(c.Number, f.Number)
		}
		return strings.Contains(c.Number, f.Number)
	}
	defer func(n int) { numbersInList = n }(numbersInList)
	type run struct {
		inList, limit int
		f             LogFilter
	}
	var runs []run
	for _, f := range filters {
		for _, limit := range []int{60, 1000} {
			runs = append(runs, run{3000, limit, f})
		}
		if f.Number != "" && !strings.HasPrefix(f.Number, "+") {
			runs = append(runs, run{0, 60, f}) // by LIKE instead of through call_numbers
		}
	}
	for _, rn := range runs {
		numbersInList = rn.inList
		inList, limit, f := rn.inList, rn.limit, rn.f
		var want []int64
		for _, c := range all {
			if match(f, c) {
				want = append(want, c.ID)
			}
		}
		if len(want) == 0 {
			t.Fatalf("filter %+v matches no call: a test that proves nothing", f)
		}
		var got []int64
		f.Limit = limit
		for {
			page, err := s.SearchCalls(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				got = append(got, c.ID)
			}
			if len(page) < limit {
				break
			}
			f.BeforeID = page[len(page)-1].ID
		}
		if !slices.Equal(got, want) {
			t.Errorf("numbersInList %d, limit %d, filter %+v:\ngot  %v\nwant %v", inList, limit, f, got, want)
		}
	}
}
