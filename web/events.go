package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"hotline/daemon/diskguard"
	"hotline/daemon/switchboard"
)

// CallEnds tells the dashboard when a call ends. *switchboard.Board implements it: the
// channel gets every call that ends (dropping some when the reader is slow) until cancel is
// called.
type CallEnds interface {
	Subscribe() (<-chan switchboard.CallEnd, func())
}

// DiskStatus reports the data disk for the dashboard's alert.
type DiskStatus interface {
	Disk() diskguard.Status
}

// DiskFunc adapts a function, such as (*diskguard.Guard).Status, to [DiskStatus].
type DiskFunc func() diskguard.Status

// Disk calls f.
func (f DiskFunc) Disk() diskguard.Status { return f() }

// Event stream timing: a fresh look at the lines this often (sent only when something
// changed), a comment to keep the connection and any proxy awake, and how long one write may
// take before the client is given up.
const (
	eventsRefresh   = 5 * time.Second
	eventsHeartbeat = 15 * time.Second
	eventsWriteTime = 30 * time.Second
	eventsRetryMS   = 3000 // how long the browser waits before reconnecting
)

// Close ends every open event stream (and refuses new ones), so that the http.Server serving
// the admin can shut down: register it with http.Server.RegisterOnShutdown. It is safe to call
// more than once.
func (s *Server) Close() {
	s.stopOnce.Do(func() { close(s.stop) })
}

// dashEvent is the dashboard's state as an event sends it: everything already in the page's
// language and cleaned; the script puts it in place with textContent only.
type dashEvent struct {
	Today       todayJSON   `json:"today"`
	HasLines    bool        `json:"has_lines"`
	ActiveCalls int         `json:"active_calls"`
	Alerts      []string    `json:"alerts"`
	Lines       []lineEvent `json:"lines"`
	Words       eventWords  `json:"words"`
}

type todayJSON struct {
	Total     int `json:"total"`
	Answered  int `json:"answered"`
	Missed    int `json:"missed"`
	Voicemail int `json:"voicemail"`
}

type lineEvent struct {
	ID           string `json:"id"`
	State        string `json:"state"`
	StateClass   string `json:"state_class"`
	GSM          bool   `json:"gsm"`
	Operator     string `json:"operator"`
	Roaming      bool   `json:"roaming"`
	Bars         int    `json:"bars"`
	BarsLabel    string `json:"bars_label"`
	DBm          int    `json:"dbm"`
	SIM          string `json:"sim"`
	InCall       bool   `json:"in_call"`
	CallNumber   string `json:"call_number"`
	CallTel      string `json:"call_tel"`
	CallSince    string `json:"call_since"`
	CallSinceISO string `json:"call_since_iso"`
	CallFor      string `json:"call_for"`
}

// eventWords are the few words the script writes itself.
type eventWords struct {
	Hidden     string `json:"hidden"`
	Idle       string `json:"idle"`
	Since      string `json:"since"`
	NoOperator string `json:"no_operator"`
	Roaming    string `json:"roaming"`
}

func (s *Server) dashEvent(p dashboardPage, T map[string]string) dashEvent {
	e := dashEvent{
		Today:       todayJSON{Total: p.Today.Total, Answered: p.Today.Answered, Missed: p.Today.Missed, Voicemail: p.Today.Voicemail},
		HasLines:    p.HasLines,
		ActiveCalls: p.ActiveCalls,
		Alerts:      p.Alerts,
		Lines:       []lineEvent{},
		Words: eventWords{Hidden: T["hidden_number"], Idle: T["call_idle"], Since: T["call_since"],
			NoOperator: T["no_operator"], Roaming: T["roaming"]},
	}
	if e.Alerts == nil {
		e.Alerts = []string{}
	}
	for _, c := range p.Lines {
		e.Lines = append(e.Lines, lineEvent{
			ID: c.ID, State: c.State, StateClass: c.StateClass, GSM: c.GSM, Operator: c.Operator, Roaming: c.Roaming,
			Bars: c.Bars, BarsLabel: c.BarsLabel, DBm: c.DBm, SIM: c.SIM, InCall: c.InCall,
			CallNumber: c.CallNumber, CallTel: string(c.CallTel), CallSince: c.CallSince, CallSinceISO: c.CallSinceISO,
			CallFor: c.CallFor,
		})
	}
	return e
}

// diskAlert says in plain words what is wrong with the data disk, or "" when nothing is (or it
// was not measured yet).
func diskAlert(T map[string]string, st diskguard.Status) string {
	switch {
	case st.WorkingCopy:
		return T["disk_copy"]
	case st.Checked.IsZero():
		return ""
	case st.ReadOnly:
		return T["disk_readonly"]
	case !st.Recording:
		return fmt.Sprintf(T["disk_full"], humanBytes(st.Free))
	case st.Alert != "":
		return T["disk_problem"]
	}
	return ""
}

// humanBytes shows a size in MB or GB, one decimal.
func humanBytes(n uint64) string {
	const mb = 1 << 20
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.1f MB", float64(n)/mb)
}

// acceptsEventStream reports whether the client asked for an event stream, as EventSource
// does.
func acceptsEventStream(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(mt), "text/event-stream") {
			return true
		}
	}
	return false
}

// handleEvents streams the dashboard's state as Server-Sent Events: once on connecting, again
// whenever a call ends, and after each look at the lines (every eventsRefresh) that found a
// change; a comment every eventsHeartbeat keeps the connection up. It ends when the client
// goes, its session ends, a write stalls, or the server closes ([Server.Close]).
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	if !acceptsEventStream(r) {
		writeJSON(w, http.StatusNotAcceptable, apiError{Error: "this is an event stream: ask for text/event-stream"})
		return
	}
	select {
	case <-s.stop:
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "shutting down"})
		return
	default:
	}
	ctx := r.Context()
	T := messages[pickLang(r)]
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	var ends <-chan switchboard.CallEnd
	if s.calls != nil {
		ch, cancel := s.calls.Subscribe()
		defer cancel()
		ends = ch
	}
	refresh := time.NewTicker(s.eventsEvery)
	defer refresh.Stop()
	heartbeat := time.NewTicker(s.heartbeatEvery)
	defer heartbeat.Stop()

	write := func(b []byte) error {
		if err := rc.SetWriteDeadline(time.Now().Add(eventsWriteTime)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	var last []byte
	send := func(always bool) error {
		p, err := s.dashboard(ctx, T)
		if err != nil {
			return err
		}
		data, err := json.Marshal(s.dashEvent(p, T))
		if err != nil {
			return err
		}
		if !always && bytes.Equal(data, last) {
			return nil
		}
		last = data
		var b bytes.Buffer
		b.WriteString("event: dashboard\ndata: ")
		b.Write(data) // JSON has no raw newline
		b.WriteString("\n\n")
		return write(b.Bytes())
	}
	if err := write(fmt.Appendf(nil, "retry: %d\n\n", eventsRetryMS)); err != nil {
		return
	}
	err := send(true)
	for err == nil {
		select {
		case <-ctx.Done():
			return
		case <-s.stop:
			return
		case _, ok := <-ends:
			if !ok {
				ends = nil
				continue
			}
			err = send(true)
		case <-refresh.C:
			err = send(false)
		case <-heartbeat.C:
			if s.currentSession(r) == nil {
				return // logged out or expired: the browser reconnects and is told 401
			}
			err = write([]byte(": ping\n\n"))
		}
	}
	if ctx.Err() == nil {
		s.log.Debug("event stream ended", "error", err)
	}
}
