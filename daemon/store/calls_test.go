package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestCallLifecycle(t *testing.T) {
	ctx := context.Background()
	msk := time.FixedZone("MSK", 3*3600)
	start := time.Date(2026, 11, 23, 13, 15, 2, 123_456_789, msk)
	tests := []struct {
		name       string
		raw        string
		answer     time.Duration // after start; <0 = never answered
		end        time.Duration
		menu       string
		outcome    string
		wantNumber string
		wantRaw    string
		wantDur    time.Duration
	}{
		{"voicemail", "+7 (916) 123-45-67", 2 * time.Second, 40 * time.Second, "1,0", OutcomeVoicemail, "+79161234567", "+7 (916) 123-45-67", 38 * time.Second},
		{"missed", "+4930123456", -1, 30 * time.Second, "", OutcomeMissed, "+4930123456", "+4930123456", 0},
		{"abandoned", "", 1500 * time.Millisecond, 3 * time.Second, "", OutcomeAbandoned, "", "", 1500 * time.Millisecond},
		{"completed with garbage number", "<b>hi</b>", time.Second, time.Minute, "2", OutcomeCompleted, "", "<b>hi</b>", 59 * time.Second},
		{"failed with control bytes in menu", "112", time.Second, 2 * time.Second, "1\x00,\n2", OutcomeFailed, "112", "112", time.Second},
	}
	s := openTest(t, "", nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := s.StartCall(ctx, "gsm1", tt.raw, start)
			if err != nil {
				t.Fatal(err)
			}
			c, err := s.Call(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !c.InProgress() || c.Outcome != "" || !c.EndedAt.IsZero() || !c.AnsweredAt.IsZero() || c.Status != StatusNew {
				t.Errorf("fresh call = %+v", c)
			}
			if tt.answer >= 0 {
				if err := s.AnswerCall(ctx, id, start.Add(tt.answer)); err != nil {
					t.Fatal(err)
				}
				// A second answer keeps the first time.
				if err := s.AnswerCall(ctx, id, start.Add(tt.answer+time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.FinishCall(ctx, id, start.Add(tt.end), tt.menu, tt.outcome); err != nil {
				t.Fatal(err)
			}
			c, err = s.Call(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if c.ID != id || c.LineID != "gsm1" || c.Number != tt.wantNumber || c.RawNumber != tt.wantRaw || c.Outcome != tt.outcome {
				t.Errorf("call = %+v", c)
			}
			if c.StartedAt.Location() != time.UTC || c.EndedAt.Location() != time.UTC {
				t.Errorf("times not in UTC: %v %v", c.StartedAt, c.EndedAt)
			}
			if !c.StartedAt.Equal(ms(start)) || !c.EndedAt.Equal(ms(start.Add(tt.end))) {
				t.Errorf("started %v ended %v, want %v %v", c.StartedAt, c.EndedAt, ms(start), ms(start.Add(tt.end)))
			}
			if tt.answer >= 0 && !c.AnsweredAt.Equal(ms(start.Add(tt.answer))) {
				t.Errorf("answered %v, want %v", c.AnsweredAt, ms(start.Add(tt.answer)))
			}
			if got := c.Duration(); got != tt.wantDur {
				t.Errorf("Duration = %v, want %v", got, tt.wantDur)
			}
			if c.MenuPath != cleanText(tt.menu, maxMenuPathRunes) {
				t.Errorf("menu path = %q", c.MenuPath)
			}
			if err := s.FinishCall(ctx, id, start.Add(tt.end), tt.menu, tt.outcome); !errors.Is(err, ErrCallFinished) {
				t.Errorf("second FinishCall = %v, want ErrCallFinished", err)
			}
			if err := s.AnswerCall(ctx, id, start); tt.answer < 0 && !errors.Is(err, ErrCallFinished) {
				t.Errorf("AnswerCall after the end = %v, want ErrCallFinished", err)
			}
		})
	}
}

func TestCallErrors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	id, err := s.StartCall(ctx, "gsm1", "+1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want error // nil: any non-nil error
	}{
		{"Call unknown", func() error { _, err := s.Call(ctx, 999); return err }(), ErrNotFound},
		{"AnswerCall unknown", s.AnswerCall(ctx, 999, time.Time{}), ErrNotFound},
		{"FinishCall unknown", s.FinishCall(ctx, 999, time.Time{}, "", OutcomeMissed), ErrNotFound},
		{"FinishCall bad outcome", s.FinishCall(ctx, id, time.Time{}, "", "exploded"), nil},
		{"FinishCall empty outcome", s.FinishCall(ctx, id, time.Time{}, "", ""), nil},
		{"SetCallStatus unknown", s.SetCallStatus(ctx, 999, StatusDone), ErrNotFound},
		{"SetCallStatus bad", s.SetCallStatus(ctx, id, "archived"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(tt.err, tt.want) {
				t.Errorf("err = %v, want %v", tt.err, tt.want)
			}
		})
	}
	// The bad outcomes left the call in progress.
	c, err := s.Call(ctx, id)
	if err != nil || !c.InProgress() {
		t.Errorf("call after refused finishes = %+v, %v", c, err)
	}
}

func TestCallZeroTimesMeanNow(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	s := openTest(t, "", clock)
	id, err := s.StartCall(ctx, "l", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Second)
	if err := s.AnswerCall(ctx, id, time.Time{}); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Second)
	if err := s.FinishCall(ctx, id, time.Time{}, "", OutcomeCompleted); err != nil {
		t.Fatal(err)
	}
	c, err := s.Call(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	t0 := newClock().Now()
	if !c.StartedAt.Equal(t0) || !c.AnsweredAt.Equal(t0.Add(time.Second)) || !c.EndedAt.Equal(t0.Add(2*time.Second)) {
		t.Errorf("times = %v %v %v", c.StartedAt, c.AnsweredAt, c.EndedAt)
	}
}

func TestCallDuration(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		c    Call
		want time.Duration
	}{
		{"in progress", Call{AnsweredAt: t0}, 0},
		{"never answered", Call{EndedAt: t0}, 0},
		{"answered", Call{AnsweredAt: t0, EndedAt: t0.Add(90 * time.Second)}, 90 * time.Second},
		{"clock went back", Call{AnsweredAt: t0, EndedAt: t0.Add(-time.Second)}, 0},
	}
	for _, tt := range tests {
		if got := tt.c.Duration(); got != tt.want {
			t.Errorf("%s: Duration = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSetCallStatus(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	id, err := s.StartCall(ctx, "l", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{StatusDone, StatusNew, StatusDone} {
		if err := s.SetCallStatus(ctx, id, st); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.Call(ctx, id); c.Status != st {
			t.Errorf("status = %q, want %q", c.Status, st)
		}
	}
}

func TestListCalls(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var ids []int64
	for i := range 250 {
		line := "gsm1"
		if i%2 == 1 {
			line = "gsm2"
		}
		id, err := s.StartCall(ctx, line, fmt.Sprintf("+49301234%03d", i%10), t0.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	vmID, err := s.StartVoicemail(ctx, ids[249], "last.wav", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		f        CallFilter
		wantN    int
		wantFrom int64 // id of the first (newest) call listed
	}{
		{"default limit", CallFilter{}, 100, ids[249]},
		{"small limit", CallFilter{Limit: 3}, 3, ids[249]},
		{"limit above max", CallFilter{Limit: 5000}, 250, ids[249]},
		{"paging", CallFilter{BeforeID: ids[100], Limit: 10}, 10, ids[99]},
		{"paging to the end", CallFilter{BeforeID: ids[5]}, 5, ids[4]},
		{"line", CallFilter{LineID: "gsm2", Limit: 1000}, 125, ids[249]},
		{"line gsm1", CallFilter{LineID: "gsm1", Limit: 1000}, 125, ids[248]},
		{"since", CallFilter{Since: t0.Add(240 * time.Minute)}, 10, ids[249]},
		{"number", CallFilter{Number: "+49301234003", Limit: 1000}, 25, ids[243]},
		{"unknown line", CallFilter{LineID: "nope"}, 0, 0},
		{"all together", CallFilter{LineID: "gsm1", Since: t0.Add(200 * time.Minute), BeforeID: ids[240], Limit: 2}, 2, ids[238]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListCalls(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantN {
				t.Fatalf("got %d calls, want %d", len(got), tt.wantN)
			}
			if got == nil {
				t.Error("nil slice; want empty")
			}
			if len(got) > 0 && got[0].ID != tt.wantFrom {
				t.Errorf("first id %d, want %d", got[0].ID, tt.wantFrom)
			}
			for i := 1; i < len(got); i++ {
				if got[i].ID >= got[i-1].ID {
					t.Fatalf("not newest first at %d: %d then %d", i, got[i-1].ID, got[i].ID)
				}
			}
			for _, c := range got {
				if tt.f.LineID != "" && c.LineID != tt.f.LineID {
					t.Errorf("call %d on line %q", c.ID, c.LineID)
				}
				if c.StartedAt.Before(tt.f.Since) {
					t.Errorf("call %d started %v before %v", c.ID, c.StartedAt, tt.f.Since)
				}
				want := int64(0)
				if c.ID == ids[249] {
					want = vmID
				}
				if c.VoicemailID != want {
					t.Errorf("call %d voicemail %d, want %d", c.ID, c.VoicemailID, want)
				}
			}
		})
	}
}

// TestConcurrentCalls runs calls on eight lines at once while the web reads, as the
// switchboard and the admin do. Run with -race.
func TestConcurrentCalls(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := openTest(t, "", nil)
	if err := s.SetPassword(ctx, "anna", "correct horse", RoleOperator); err != nil {
		t.Fatal(err)
	}
	const lines, perLine = 8, 24
	var writers, readers sync.WaitGroup
	errs := make(chan error, lines+4)
	for l := range lines {
		writers.Go(func() {
			line := fmt.Sprintf("gsm%d", l)
			for i := range perLine {
				t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
				id, err := s.StartCall(ctx, line, fmt.Sprintf("+7916%07d", l*1000+i), t0)
				if err == nil {
					err = s.AnswerCall(ctx, id, t0.Add(time.Second))
				}
				outcome := OutcomeCompleted
				if err == nil && i%4 == 0 {
					var vm int64
					vm, err = s.StartVoicemail(ctx, id, fmt.Sprintf("%s-%d.wav", line, i), t0.Add(5*time.Second))
					if err == nil {
						err = s.FinishVoicemail(ctx, vm, 7*time.Second)
					}
					outcome = OutcomeVoicemail
				}
				if err == nil {
					err = s.FinishCall(ctx, id, t0.Add(20*time.Second), "1", outcome)
				}
				if err != nil {
					errs <- fmt.Errorf("line %s call %d: %w", line, i, err)
					return
				}
			}
		})
	}
	for r := range 3 {
		readers.Go(func() {
			for ctx.Err() == nil {
				var err error
				switch r {
				case 0:
					_, err = s.ListCalls(ctx, CallFilter{Limit: 50})
				case 1:
					_, err = s.ListVoicemail(ctx, true, 50)
				case 2:
					var tok string
					tok, err = s.CreateSession(ctx, "anna", time.Hour)
					if err == nil {
						_, err = s.Session(ctx, tok)
					}
				}
				if err != nil && ctx.Err() == nil {
					errs <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
			}
		})
	}
	writers.Wait()
	cancel()
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	calls, err := s.ListCalls(context.Background(), CallFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != lines*perLine {
		t.Fatalf("%d calls logged, want %d", len(calls), lines*perLine)
	}
	vms := 0
	for _, c := range calls {
		if c.InProgress() || c.Duration() != 19*time.Second {
			t.Errorf("call %+v not completed", c)
		}
		if c.VoicemailID != 0 {
			vms++
		}
	}
	if vms != lines*perLine/4 {
		t.Errorf("%d calls with voicemail, want %d", vms, lines*perLine/4)
	}
}

func BenchmarkStartFinishCall(b *testing.B) {
	ctx := context.Background()
	s := openTest(b, "", nil)
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		id, err := s.StartCall(ctx, "gsm1", "+7 (916) 123-45-67", t0)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.FinishCall(ctx, id, t0.Add(time.Minute), "1,0", OutcomeCompleted); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSetCallNumber(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	unknown, err := s.StartCall(ctx, "l", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	known, err := s.StartCall(ctx, "l", "+74951234567", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id                  int64
		raw                 string
		wantNumber, wantRaw string
	}{
		{unknown, "", "", ""}, // nothing learned: nothing changes
		{unknown, "+7 916 123-45-67", "+79161234567", "+7 916 123-45-67"}, // learned
		{unknown, "+70000000000", "+79161234567", "+7 916 123-45-67"},     // the first number stays
		{known, "<b>x</b>", "+74951234567", "+74951234567"},               // a known number stays
	} {
		if err := s.SetCallNumber(ctx, tc.id, tc.raw); err != nil {
			t.Fatal(err)
		}
		c, err := s.Call(ctx, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Number != tc.wantNumber || c.RawNumber != tc.wantRaw {
			t.Errorf("after SetCallNumber(%q): number %q raw %q, want %q %q", tc.raw, c.Number, c.RawNumber, tc.wantNumber, tc.wantRaw)
		}
	}
}
