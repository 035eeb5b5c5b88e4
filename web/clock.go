package web

import (
	"context"
	"net/http"
	"time"
)

// BoxClock is the box's system clock as the settings page shows and sets it; the daemon
// implements it. Without one the page shows the time but cannot tell its source or set it.
type BoxClock interface {
	// ClockSource says where the time came from: ClockNTP, ClockGSM, ClockManual, ClockRTC,
	// ClockUnset, ClockSaved, or "" when it does not know.
	ClockSource() string
	// SetClock sets the system clock by hand; afterwards ClockSource says ClockManual until
	// a network sets it again.
	SetClock(ctx context.Context, t time.Time) error
}

// The sources of the box's time that [BoxClock.ClockSource] names.
const (
	ClockNTP    = "ntp"    // the internet (the system's NTP client keeps the clock synchronised)
	ClockGSM    = "gsm"    // the mobile network's time, read from a modem
	ClockManual = "manual" // the owner set it on the settings page
	ClockRTC    = "rtc"    // a battery-backed clock on the board, nothing newer
	ClockUnset  = "unset"  // no source yet: the clock is known to be wrong
	ClockSaved  = "saved"  // the time saved before the box went off, not yet confirmed: may be behind
)

// Oldest and newest times the owner may set by hand: a box cannot be older than its software.
var (
	manualClockMin = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	manualClockMax = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// zoneAtStart is the zone pages show times in: the box's time zone setting when there is a
// valid one, else the system's. It is read once, when the admin starts.
func zoneAtStart(ctx context.Context, s *Server) *time.Location {
	z, err := s.store.Setting(ctx, settingTimeZone, "")
	if err != nil || !validZone(z) {
		return time.Local
	}
	loc, err := time.LoadLocation(z)
	if err != nil {
		return time.Local
	}
	return loc
}

// clockView is the time section of the settings page.
type clockView struct {
	Now, NowISO string
	Zone        string // the chosen zone's name
	Zones       []option
	Pending     string // the chosen zone is not in use by the pages yet, in words
	Source      string // in words
	CanSet      bool   // the form to set the time by hand is offered
	Why         string // why it is not, in words
	Date, Time  string // the form's values: now in the chosen zone
}

// clockSource asks the box where its time came from.
func (s *Server) clockSource() string {
	if s.boxClock == nil {
		return ""
	}
	switch src := s.boxClock.ClockSource(); src {
	case ClockNTP, ClockGSM, ClockManual, ClockRTC, ClockUnset, ClockSaved:
		return src
	default:
		return ""
	}
}

// canSetClock tells whether the owner may set the time by hand, and if not, why (a word key).
func (s *Server) canSetClock(src string) (bool, string) {
	switch {
	case s.boxClock == nil:
		return false, "clk_set_off"
	case src == ClockNTP || src == ClockGSM:
		return false, "clk_set_synced"
	}
	return true, ""
}

// clockZone is the zone the box's time is read and shown in: the owner's choice (chosen is
// its name), else the zone the pages use.
func (s *Server) clockZone(ctx context.Context) (loc *time.Location, chosen string) {
	z, err := s.store.Setting(ctx, settingTimeZone, "")
	if err != nil || !validZone(z) {
		return s.loc, ""
	}
	if loc, err = time.LoadLocation(z); err != nil {
		return s.loc, ""
	}
	return loc, z
}

func (s *Server) clockView(ctx context.Context, v *view) clockView {
	loc, chosen := s.clockZone(ctx)
	now := s.clock().In(loc)
	src := s.clockSource()
	cv := clockView{
		Now: formatTime(v.Lang, now, loc), NowISO: now.Format(time.RFC3339),
		Zone: chosen, Source: v.T["clk_src_unknown"],
		Date: now.Format(time.DateOnly), Time: now.Format("15:04"),
	}
	if chosen == "" {
		// No choice yet: the system's zone is in use; the list offers the likely one.
		cv.Zones = zoneOptions(s.boxZone(ctx))
		name, off := now.Zone()
		cv.Zone = sprintfT(v.T, "clk_zone_system", name+" "+utcOffset(off))
	} else {
		cv.Zones = zoneOptions(chosen)
		if s.loc.String() != chosen {
			cv.Pending = sprintfT(v.T, "clk_zone_restart", zoneLabel(chosen))
		}
	}
	if src != "" {
		cv.Source = v.T["clk_src_"+src]
	}
	var why string
	cv.CanSet, why = s.canSetClock(src)
	if why != "" {
		cv.Why = sprintfT(v.T, why, cv.Source)
	}
	return cv
}

// sprintfT fills a translated pattern that takes one string; a pattern without a verb is
// returned as it is.
func sprintfT(T map[string]string, key, arg string) string {
	w := T[key]
	for i := 0; i+1 < len(w); i++ {
		if w[i] == '%' && w[i+1] == 's' {
			return w[:i] + arg + w[i+2:]
		}
	}
	return w
}

// clockNotice puts the result of a time-section form, carried in the query, on the page.
func clockNotice(r *http.Request, v *view) {
	q := r.URL.Query()
	switch q.Get("clock") {
	case "zone":
		v.Notice = v.T["clk_zone_saved"]
	case "set":
		v.Notice = v.T["clk_set_done"]
	}
	switch e := q.Get("clock_err"); e {
	case "zone", "datetime", "range", "not_needed":
		v.Error = v.T["clk_err_"+e]
	case "set":
		v.Error = v.T["clk_err_set"]
	}
}

// setZone stores the box's time zone; it reports whether it changed.
func (s *Server) setZone(ctx context.Context, zone string) (bool, error) {
	old, err := s.store.Setting(ctx, settingTimeZone, "")
	if err != nil || old == zone {
		return false, err
	}
	if err := s.store.SetSetting(ctx, settingTimeZone, zone); err != nil {
		return false, err
	}
	s.audit(ctx, sessionFrom(ctx).User.Name, "time_zone", cleanDisplay(old)+" -> "+zone)
	return true, nil
}

// clockErr is what went wrong setting the time by hand: a key for the page's words.
type clockErr string

// parseManualTime reads the form's date ("2006-01-02") and time ("15:04", seconds allowed) in
// loc, and checks the result is a plausible now.
func parseManualTime(date, clock string, loc *time.Location) (time.Time, clockErr) {
	layout := "2006-01-02 15:04"
	if len(clock) == len("15:04:05") {
		layout += ":05"
	}
	t, err := time.ParseInLocation(layout, date+" "+clock, loc)
	if err != nil {
		return time.Time{}, "datetime"
	}
	if t.Before(manualClockMin) || !t.Before(manualClockMax) {
		return time.Time{}, "range"
	}
	return t, ""
}

// setClock sets the box's time by hand when no network gives it.
func (s *Server) setClock(ctx context.Context, t time.Time) clockErr {
	if ok, _ := s.canSetClock(s.clockSource()); !ok {
		return "not_needed"
	}
	before := s.clock()
	if err := s.boxClock.SetClock(ctx, t); err != nil {
		s.log.Warn("cannot set the clock by hand", "time", t, "err", err)
		return "set"
	}
	s.audit(ctx, sessionFrom(ctx).User.Name, "clock_set", before.UTC().Format(time.RFC3339)+" -> "+t.UTC().Format(time.RFC3339))
	return ""
}

// handleTimeZone saves the box's time zone from the settings page.
func (s *Server) handleTimeZone(w http.ResponseWriter, r *http.Request) {
	zone := r.PostFormValue("time_zone")
	if !validZone(zone) {
		http.Redirect(w, r, "/settings?clock_err=zone#clock", http.StatusSeeOther)
		return
	}
	if _, err := s.setZone(r.Context(), zone); err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings?clock=zone#clock", http.StatusSeeOther)
}

// handleSetClock sets the box's time by hand from the settings page; the date and time are
// read in the box's time zone.
func (s *Server) handleSetClock(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	loc, _ := s.clockZone(ctx)
	t, bad := parseManualTime(r.PostFormValue("date"), r.PostFormValue("time"), loc)
	if bad == "" {
		bad = s.setClock(ctx, t)
	}
	if bad != "" {
		http.Redirect(w, r, "/settings?clock_err="+string(bad)+"#clock", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/settings?clock=set#clock", http.StatusSeeOther)
}

// clockJSON is the box's clock in the API.
type clockJSON struct {
	Now         time.Time `json:"now"`
	TimeZone    string    `json:"time_zone"`        // the owner's choice; "" for none yet
	ZoneInUse   string    `json:"time_zone_in_use"` // what the pages use until the next start
	Source      string    `json:"source"`           // ntp, gsm, manual, rtc, unset, saved, or "" unknown
	CanSetClock bool      `json:"can_set_clock"`
}

func (s *Server) clockOut(ctx context.Context) clockJSON {
	loc, chosen := s.clockZone(ctx)
	src := s.clockSource()
	can, _ := s.canSetClock(src)
	return clockJSON{Now: s.clock().In(loc), TimeZone: chosen, ZoneInUse: s.loc.String(), Source: src, CanSetClock: can}
}

func (s *Server) handleAPIClock(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.clockOut(r.Context()))
}

// clockIn is the body of PUT /api/clock; a field left out is not changed.
type clockIn struct {
	TimeZone *string    `json:"time_zone"`
	Time     *time.Time `json:"time"` // RFC 3339 with its offset; only when can_set_clock
}

var clockErrText = map[clockErr]string{
	"range":      "the time is not plausible (before 2026 or after 2099)",
	"not_needed": "the time comes from the network; it cannot be set by hand",
	"set":        "the clock could not be set",
}

func (s *Server) handleAPIClockPut(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var in clockIn
	if err := decodeJSONBody(w, r, &in); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
		return
	}
	if in.TimeZone != nil && !validZone(*in.TimeZone) {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "unknown time zone; use an IANA name like Europe/Moscow"})
		return
	}
	if in.Time != nil {
		if t := *in.Time; t.Before(manualClockMin) || !t.Before(manualClockMax) {
			writeJSON(w, http.StatusBadRequest, apiError{Error: clockErrText["range"]})
			return
		}
		if ok, _ := s.canSetClock(s.clockSource()); !ok {
			writeJSON(w, http.StatusConflict, apiError{Error: clockErrText["not_needed"]})
			return
		}
	}
	if in.TimeZone != nil {
		if _, err := s.setZone(ctx, *in.TimeZone); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	if in.Time != nil {
		switch bad := s.setClock(ctx, *in.Time); bad {
		case "":
		case "not_needed":
			writeJSON(w, http.StatusConflict, apiError{Error: clockErrText[bad]})
			return
		default:
			writeJSON(w, http.StatusInternalServerError, apiError{Error: clockErrText[bad]})
			return
		}
	}
	writeJSON(w, http.StatusOK, s.clockOut(ctx))
}
