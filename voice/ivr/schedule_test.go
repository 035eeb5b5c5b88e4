package ivr

import (
	"testing"
	"time"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestScheduleOpen(t *testing.T) {
	office := &Schedule{
		TimeZone: "Europe/Berlin",
		Week: map[string][]string{
			"mon": {"09:00-12:00", "13:00-18:00"},
			"tue": {"09:00-18:00"}, "wed": {"09:00-18:00"}, "thu": {"09:00-18:00"},
			"fri": {"09:00-18:00", "22:00-02:00"}, // a night shift into Saturday
			"sat": {"00:00-24:00"},
			"sun": {"02:00-03:00"}, // the hour that does not exist on the spring DST day
		},
		Holidays:   []string{"12-25", "2027-03-26"},
		Exceptions: []Exception{{Date: "2026-12-31", Hours: []string{"09:00-13:00"}}, {Date: "2026-12-25", Hours: []string{"10:00-11:00"}}, {Date: "2026-12-24"}},
	}
	ber := mustZone(t, "Europe/Berlin")
	msk := mustZone(t, "Europe/Moscow")
	at := func(loc *time.Location, y int, m time.Month, d, hh, mm int) time.Time {
		return time.Date(y, m, d, hh, mm, 0, 0, loc)
	}
	for _, tt := range []struct {
		name          string
		t             time.Time
		open, holiday bool
	}{
		{"monday morning", at(ber, 2026, 11, 23, 9, 0), true, false},
		{"monday before opening", at(ber, 2026, 11, 23, 8, 59), false, false},
		{"monday lunch", at(ber, 2026, 11, 23, 12, 30), false, false},
		{"monday end is exclusive", at(ber, 2026, 11, 23, 18, 0), false, false},
		{"the same instant from Moscow", at(msk, 2026, 11, 23, 11, 0), true, false}, // 09:00 Berlin
		{"Moscow 10:59 is 08:59 in Berlin", at(msk, 2026, 11, 23, 10, 59), false, false},
		{"UTC instant", time.Date(2026, 11, 23, 8, 30, 0, 0, time.UTC), true, false}, // 09:30 CET
		{"friday night shift", at(ber, 2026, 11, 27, 23, 0), true, false},
		{"saturday morning from the friday shift", at(ber, 2026, 11, 28, 1, 59), true, false},
		{"thursday 01:00: no shift from wednesday", at(ber, 2026, 11, 26, 1, 0), false, false},
		{"whole saturday", at(ber, 2026, 11, 28, 23, 59), true, false},
		{"sunday morning after the whole saturday", at(ber, 2026, 11, 29, 0, 0), false, false},
		{"christmas is a yearly holiday", at(ber, 2027, 12, 25, 10, 0), false, true},
		{"an exception opens a holiday", at(ber, 2026, 12, 25, 10, 30), true, false},
		{"outside the exception's hours", at(ber, 2026, 12, 25, 12, 0), false, false},
		{"a short day", at(ber, 2026, 12, 31, 12, 59), true, false},
		{"after the short day", at(ber, 2026, 12, 31, 13, 0), false, false},
		{"an exception with no hours closes", at(ber, 2026, 12, 24, 10, 0), false, false},
		{"one-off holiday on a friday", at(ber, 2027, 3, 26, 10, 0), false, true},
		{"no night shift from a friday holiday", at(ber, 2027, 3, 27, 1, 0), true, false}, // Saturday is whole-day open anyway
		{"one-off holiday, another year", at(ber, 2028, 3, 26, 10, 0), false, false},      // a Sunday, closed at 10
		// Summer time in Berlin: 2026-03-29 02:00 CET -> 03:00 CEST, 2026-10-25 03:00 CEST -> 02:00 CET.
		{"summer time monday, 09:00 wall clock", at(ber, 2026, 3, 30, 9, 0), true, false},
		{"summer time monday 08:30 wall clock", time.Date(2026, 3, 30, 6, 30, 0, 0, time.UTC), false, false},
		{"summer time monday 09:30 wall clock", time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC), true, false},
		{"winter time monday 09:30 wall clock", time.Date(2026, 11, 2, 8, 30, 0, 0, time.UTC), true, false},
		{"winter time monday 08:30 wall clock", time.Date(2026, 11, 2, 7, 30, 0, 0, time.UTC), false, false},
		{"spring forward: 01:59 CET", time.Date(2026, 3, 29, 0, 59, 0, 0, time.UTC), false, false},
		{"spring forward: 03:00 CEST, the 02:00-03:00 span never happens", time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), false, false},
		{"fall back: first 02:30 (CEST)", time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), true, false},
		{"fall back: second 02:30 (CET)", time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), true, false},
		{"fall back: 03:00 CET", time.Date(2026, 10, 25, 2, 0, 0, 0, time.UTC), false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			open, holiday, err := office.Open(tt.t)
			if err != nil {
				t.Fatal(err)
			}
			if open != tt.open || holiday != tt.holiday {
				t.Errorf("Open(%v) = %v, %v; want %v, %v", tt.t.In(ber), open, holiday, tt.open, tt.holiday)
			}
		})
	}
}

// TestScheduleMoscow: Moscow has no summer time; the same wall-clock hours hold all year, and the
// UTC offset is always +3.
func TestScheduleMoscow(t *testing.T) {
	s := Default("ru").Nodes[0].Schedule
	for _, tt := range []struct {
		utc  time.Time
		open bool
	}{
		{time.Date(2026, 1, 12, 5, 59, 0, 0, time.UTC), false}, // Mon 08:59
		{time.Date(2026, 1, 12, 6, 0, 0, 0, time.UTC), true},   // Mon 09:00
		{time.Date(2026, 7, 13, 6, 0, 0, 0, time.UTC), true},   // Mon 09:00 in July too
		{time.Date(2026, 7, 13, 5, 59, 0, 0, time.UTC), false},
		{time.Date(2026, 7, 13, 14, 59, 0, 0, time.UTC), true}, // 17:59
		{time.Date(2026, 7, 13, 15, 0, 0, 0, time.UTC), false}, // 18:00
		{time.Date(2026, 7, 18, 10, 0, 0, 0, time.UTC), false}, // Saturday
		{time.Date(2026, 3, 29, 10, 0, 0, 0, time.UTC), false}, // Sunday
		{time.Date(2026, 3, 30, 10, 0, 0, 0, time.UTC), true},  // Monday
	} {
		open, holiday, err := s.Open(tt.utc)
		if err != nil || open != tt.open || holiday {
			t.Errorf("Open(%v) = %v, %v, %v; want %v", tt.utc, open, holiday, err, tt.open)
		}
	}
}

func TestScheduleErrors(t *testing.T) {
	for _, s := range []*Schedule{
		{TimeZone: "", Week: map[string][]string{"mon": {"09:00-18:00"}}},
		{TimeZone: "Local"},
		{TimeZone: "Mars/Olympus"},
		{TimeZone: "UTC", Week: map[string][]string{"mon": {"9:00-18:00"}}},
		{TimeZone: "UTC", Week: map[string][]string{"monday": {"09:00-18:00"}}},
		{TimeZone: "UTC", Week: map[string][]string{"mon": {"24:00-01:00"}}},
		{TimeZone: "UTC", Week: map[string][]string{"mon": {"09:60-10:00"}}},
		{TimeZone: "UTC", Holidays: []string{"02-30"}},
		{TimeZone: "UTC", Exceptions: []Exception{{Date: "12-31"}}},
	} {
		if _, _, err := s.Open(time.Now()); err == nil {
			t.Errorf("%+v: no error", s)
		}
	}
	ok := &Schedule{TimeZone: "UTC", Holidays: []string{"02-29"}, Week: map[string][]string{"sun": {"00:00-24:00"}}}
	if open, holiday, err := ok.Open(time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)); err != nil || open || !holiday {
		t.Errorf("29 February holiday: %v %v %v", open, holiday, err)
	}
	if open, holiday, err := ok.Open(time.Date(2027, 2, 28, 12, 0, 0, 0, time.UTC)); err != nil || !open || holiday {
		t.Errorf("Sunday 28 February 2027: %v %v %v", open, holiday, err)
	}
}

// TestScheduleNightShiftOnHoliday: a span over midnight belongs to the day it starts, so a
// holiday on that day keeps the next morning closed too, and a holiday on the next day does not.
func TestScheduleNightShiftOnHoliday(t *testing.T) {
	s := &Schedule{TimeZone: "Europe/Moscow", Week: map[string][]string{"fri": {"22:00-02:00"}}}
	msk := mustZone(t, "Europe/Moscow")
	sat := time.Date(2027, 3, 27, 1, 0, 0, 0, msk) // the Saturday after Friday 26 March 2027
	if open, _, err := s.Open(sat); err != nil || !open {
		t.Fatalf("Saturday 01:00 after a Friday night shift: open %v, %v", open, err)
	}
	s.Holidays = []string{"2027-03-27"}
	if open, _, err := s.Open(sat); err != nil || !open {
		t.Errorf("a Saturday holiday closed Friday's shift: open %v, %v", open, err)
	}
	s.Holidays = []string{"03-26"}
	if open, holiday, err := s.Open(sat); err != nil || open || holiday {
		t.Errorf("a Friday holiday left its night shift open: %v %v %v", open, holiday, err)
	}
}
