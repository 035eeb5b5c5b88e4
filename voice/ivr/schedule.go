package ivr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the image may have no /usr/share/zoneinfo
)

// weekdays are the keys of Schedule.Week, indexed by time.Weekday.
var weekdays = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// span is open hours within a day in minutes from midnight, [from, to); to > 1440 runs past
// midnight into the next day.
type span struct{ from, to int }

// parseSpan reads "HH:MM-HH:MM". The end may be "24:00"; an end before the start runs over
// midnight and belongs to the day it starts; equal ends are refused.
func parseSpan(s string) (span, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return span{}, fmt.Errorf("hours %q: want HH:MM-HH:MM", s)
	}
	from, err := parseClock(strings.TrimSpace(a), false)
	if err != nil {
		return span{}, fmt.Errorf("hours %q: %w", s, err)
	}
	to, err := parseClock(strings.TrimSpace(b), true)
	if err != nil {
		return span{}, fmt.Errorf("hours %q: %w", s, err)
	}
	switch {
	case to == from:
		return span{}, fmt.Errorf("hours %q: start and end are the same", s)
	case to < from:
		to += 24 * 60
	}
	return span{from, to}, nil
}

// parseClock reads "HH:MM" as minutes from midnight; "24:00" only as an end.
func parseClock(s string, end bool) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && (mm != 0 || !end)) {
		return 0, fmt.Errorf("time %q: not a time of day", s)
	}
	return hh*60 + mm, nil
}

// parseDay reads a holiday: "YYYY-MM-DD" (year > 0) or "MM-DD" (year 0, every year).
func parseDay(s string) (year int, month time.Month, day int, err error) {
	if len(s) == 5 {
		t, err := time.Parse("01-02", s)
		if err != nil && s != "02-29" {
			return 0, 0, 0, fmt.Errorf("date %q: want MM-DD or YYYY-MM-DD", s)
		}
		if s == "02-29" {
			return 0, time.February, 29, nil
		}
		return 0, t.Month(), t.Day(), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("date %q: want MM-DD or YYYY-MM-DD", s)
	}
	return t.Year(), t.Month(), t.Day(), nil
}

// ScheduleIssue is one thing wrong with a schedule: the field ("tz", "week", "week.mon",
// "holidays", "exceptions", "exceptions.hours") and the value at fault.
type ScheduleIssue struct {
	Field, Value string
	Err          error
}

// Issues lists what is wrong with the schedule; none means Open cannot fail.
func (s *Schedule) Issues() []ScheduleIssue {
	var out []ScheduleIssue
	if s.TimeZone == "" {
		out = append(out, ScheduleIssue{"tz", "", errors.New("no time zone")})
	} else if _, err := time.LoadLocation(s.TimeZone); err != nil || strings.EqualFold(s.TimeZone, "local") {
		out = append(out, ScheduleIssue{"tz", s.TimeZone, fmt.Errorf("unknown time zone %q", s.TimeZone)})
	}
	for _, day := range sortedKeys(s.Week) {
		if indexOf(weekdays[:], day) < 0 {
			out = append(out, ScheduleIssue{"week", day, fmt.Errorf("%q is not a day of the week (mon..sun)", day)})
			continue
		}
		for _, h := range s.Week[day] {
			if _, err := parseSpan(h); err != nil {
				out = append(out, ScheduleIssue{"week." + day, h, err})
			}
		}
	}
	for _, h := range s.Holidays {
		if _, _, _, err := parseDay(h); err != nil {
			out = append(out, ScheduleIssue{"holidays", h, err})
		}
	}
	for _, e := range s.Exceptions {
		if _, err := time.Parse(time.DateOnly, e.Date); err != nil {
			out = append(out, ScheduleIssue{"exceptions", e.Date, fmt.Errorf("date %q: want YYYY-MM-DD", e.Date)})
		}
		for _, h := range e.Hours {
			if _, err := parseSpan(h); err != nil {
				out = append(out, ScheduleIssue{"exceptions.hours", h, err})
			}
		}
	}
	return out
}

// Open tells whether the business is open at t, read on the wall clock of the schedule's time
// zone (so a change to or from summer time moves nothing), and whether t falls on a holiday
// that keeps it closed. A span over midnight ("22:00-02:00") belongs to the day it starts: on a
// holiday it does not open, and the morning after a holiday it is not open either. An exception
// for a date replaces both the weekly hours and a holiday on that date.
func (s *Schedule) Open(t time.Time) (open, holiday bool, err error) {
	if issues := s.Issues(); len(issues) > 0 {
		return false, false, fmt.Errorf("schedule: %s: %w", issues[0].Field, issues[0].Err)
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return false, false, fmt.Errorf("schedule: %w", err)
	}
	t = t.In(loc)
	now := t.Hour()*60 + t.Minute()
	today := time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, loc)
	spans, holiday := s.hours(today)
	for _, sp := range spans {
		if sp.from <= now && now < sp.to {
			return true, false, nil
		}
	}
	yesterday, _ := s.hours(today.AddDate(0, 0, -1))
	for _, sp := range yesterday {
		if now+24*60 < sp.to {
			return true, false, nil
		}
	}
	return false, holiday, nil
}

// hours returns the spans that start on the date of day, and whether it is a holiday. The
// schedule is known to be valid.
func (s *Schedule) hours(day time.Time) ([]span, bool) {
	date := day.Format(time.DateOnly)
	for _, e := range s.Exceptions {
		if e.Date == date {
			return spans(e.Hours), false
		}
	}
	for _, h := range s.Holidays {
		y, m, d, _ := parseDay(h)
		if (y == 0 || y == day.Year()) && m == day.Month() && d == day.Day() {
			return nil, true
		}
	}
	return spans(s.Week[weekdays[day.Weekday()]]), false
}

func spans(hours []string) []span {
	out := make([]span, 0, len(hours))
	for _, h := range hours {
		if sp, err := parseSpan(h); err == nil {
			out = append(out, sp)
		}
	}
	return out
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
