package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestCleanSMSText(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"plain", "Привет", "Привет"},
		{"lines kept", "a\nb\r\nc\rd", "a\nb\nc\nd"},
		{"controls gone", "a\x00b\x07c\x1b[31m", "abc[31m"},
		{"bidi override gone", "abc\u202Edef", "abcdef"},
		{"invalid utf8", "a\xff\xfeb", "a\uFFFDb"},
		{"markup kept as text", "<b>x</b>", "<b>x</b>"},
		{"trailing space", "hi \n\n", "hi"},
		{"tab", "a\tb", "a b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := CleanSMSText(tt.in); got != tt.want {
				t.Errorf("CleanSMSText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	long := CleanSMSText(strings.Repeat("я", 3*MaxSMSRunes))
	if n := utf8.RuneCountInString(long); n != MaxSMSRunes || !strings.HasSuffix(long, "…") {
		t.Errorf("long text: %d runes, suffix %q", n, long[len(long)-6:])
	}
}

func TestIncomingSMS(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, nil)
	sent := time.Date(2026, 11, 23, 9, 0, 5, 0, time.UTC)
	for _, tt := range []struct {
		name, line, from, text string
		sent                   time.Time
		wantDup                bool
		wantNumber, wantRaw    string
	}{
		{"first", "gsm1", "+79161234567", "<b>Привет</b>\nмир", sent, false, "+79161234567", "+79161234567"},
		{"redelivered", "gsm1", "+79161234567", "<b>Привет</b>\nмир", sent, true, "+79161234567", "+79161234567"},
		{"other line", "gsm2", "+79161234567", "<b>Привет</b>\nмир", sent, false, "+79161234567", "+79161234567"},
		{"other time", "gsm1", "+79161234567", "<b>Привет</b>\nмир", sent.Add(time.Second), false, "+79161234567", "+79161234567"},
		{"other text", "gsm1", "+79161234567", "Привет", sent, false, "+79161234567", "+79161234567"},
		{"name sender", "gsm1", "MegaFon", "Баланс 100 р.", time.Time{}, false, "", "MegaFon"},
		{"name sender again", "gsm1", "MegaFon", "Баланс 100 р.", time.Time{}, true, "", "MegaFon"},
		{"hostile sender", "gsm1", "<script>\x00", "x", sent, false, "", "<script>"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id, dup, err := s.AddIncomingSMS(ctx, tt.line, tt.from, tt.text, 2, 0, tt.sent, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if dup != tt.wantDup {
				t.Errorf("dup = %v, want %v", dup, tt.wantDup)
			}
			m, err := s.GetSMS(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if m.Number != tt.wantNumber || m.RawNumber != tt.wantRaw || m.Direction != SMSIn ||
				m.Parts != 2 || m.Handled() || !m.SentAt.Equal(tt.sent) || m.LineID != tt.line {
				t.Errorf("stored %+v", m)
			}
		})
	}
	list, err := s.ListSMS(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 6 {
		t.Fatalf("%d rows, want 6", len(list))
	}
	for i := 1; i < len(list); i++ {
		if list[i].ID > list[i-1].ID {
			t.Fatalf("not newest first: %d after %d", list[i].ID, list[i-1].ID)
		}
	}
	if err := s.SetSMSHandled(ctx, list[0].ID, true, "owner"); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.GetSMS(ctx, list[0].ID); !m.Handled() || m.HandledBy != "owner" {
		t.Errorf("handled: %+v", m)
	}
	if err := s.SetSMSHandled(ctx, list[0].ID, false, "owner"); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.GetSMS(ctx, list[0].ID); m.Handled() || m.HandledBy != "" {
		t.Errorf("new again: %+v", m)
	}
	if err := s.SetSMSHandled(ctx, 9999, true, "owner"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing row: %v", err)
	}
}

// TestIncomingSMSCommitted: once AddIncomingSMS returned (and the line may delete the message
// from the SIM), the row survives the process dying: a second store on the same files sees it
// without the first one being closed.
func TestIncomingSMSCommitted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, nil)
	id, _, err := s.AddIncomingSMS(ctx, "gsm1", "+79161234567", "сохранено", 1, 0, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// Another connection, as a successor process after a crash would open the file, sees it
	// while this store is still open and never closed cleanly.
	db, err := sql.Open("sqlite", filepath.Join(dir, DBName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var text string
	if err := db.QueryRow(`SELECT text FROM sms WHERE id = ?`, id).Scan(&text); err != nil || text != "сохранено" {
		t.Fatalf("read by another connection: %q, %v", text, err)
	}
}

func TestOutgoingSMS(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	id, err := s.AddOutgoingSMS(ctx, "gsm1", "+7 916 123-45-67", "Перезвоним\x00")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetSMS(ctx, id)
	if err != nil || m.Status != SMSQueued || m.Number != "+79161234567" || m.Text != "Перезвоним" || m.Direction != SMSOut {
		t.Fatalf("queued: %+v, %v", m, err)
	}
	if err := s.SetSMSStatus(ctx, id, SMSSent, []int{7, 8}); err != nil {
		t.Fatal(err)
	}
	got, err := s.SMSByRef(ctx, "gsm1", 8)
	if err != nil || got.ID != id || got.Status != SMSSent || got.Parts != 2 || len(got.Refs) != 2 {
		t.Fatalf("by ref: %+v, %v", got, err)
	}
	if _, err := s.SMSByRef(ctx, "gsm1", 78); !errors.Is(err, ErrNotFound) {
		t.Errorf("ref 78 must not match 7 or 8: %v", err)
	}
	if _, err := s.SMSByRef(ctx, "gsm2", 8); !errors.Is(err, ErrNotFound) {
		t.Errorf("other line: %v", err)
	}
	if err := s.SetSMSStatus(ctx, id, SMSDelivered, nil); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.GetSMS(ctx, id); m.Status != SMSDelivered || len(m.Refs) != 2 {
		t.Errorf("delivered: %+v", m)
	}
	for _, bad := range []string{"", "lost"} {
		if err := s.SetSMSStatus(ctx, id, bad, nil); err == nil {
			t.Errorf("status %q accepted", bad)
		}
	}
	if err := s.SetSMSStatus(ctx, 9999, SMSSent, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing row: %v", err)
	}
}
