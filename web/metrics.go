package web

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// handleMetrics serves the lines and the switchboard's counters in the Prometheus text format
// (version 0.0.4).
//
// Who may read it: a client on the box itself (the connection comes from a loopback address
// and carries no Forwarded or X-Forwarded-For header, so a reverse proxy on the box does not
// open it to the network), or anyone with a login session of a role that may view calls.
// Everyone else gets 401 (no session) or 403.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if !localScraper(r) {
		sess := s.currentSession(r)
		switch {
		case sess == nil:
			plainError(w, http.StatusUnauthorized, "metrics: log in, or read them on the box itself (loopback)")
			return
		case !mayView(sess.User.Role):
			plainError(w, http.StatusForbidden, "metrics: not allowed for this account")
			return
		}
	}
	var b bytes.Buffer
	s.writeMetrics(&b)
	h := w.Header()
	h.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}

func plainError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

// localScraper reports whether the request came straight from the box itself, not through a
// proxy on it (unlike fromLoopback, a forwarded request does not count).
func localScraper(r *http.Request) bool {
	if r.Header.Get("Forwarded") != "" || r.Header.Get("X-Forwarded-For") != "" {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// writeMetrics writes every metric family. Without lines only the build info is written.
func (s *Server) writeMetrics(b *bytes.Buffer) {
	family(b, "hotline_build_info", "gauge", "The running version of hotline.")
	sample(b, "hotline_build_info", []string{"version", s.version}, 1)
	if s.lines == nil {
		return
	}
	lines := s.lines.LineInfos()
	c := s.lines.Counters()

	family(b, "hotline_line_up", "gauge", "1 when the line is ready to take calls, else 0.")
	for _, l := range lines {
		sample(b, "hotline_line_up", lineLabels(l.ID, l.Kind), boolValue(l.State == "ready"))
	}
	family(b, "hotline_line_registered", "gauge", "1 when the GSM line is registered on a network (home or roaming).")
	for _, l := range lines {
		if l.Kind != "fxo" {
			sample(b, "hotline_line_registered", lineLabels(l.ID, l.Kind), boolValue(l.Registered))
		}
	}
	family(b, "hotline_line_signal_bars", "gauge", "Signal strength of the GSM line, 0 to 5 bars.")
	for _, l := range lines {
		if l.Kind != "fxo" {
			sample(b, "hotline_line_signal_bars", lineLabels(l.ID, l.Kind), int64(l.SignalBars))
		}
	}
	counters := []struct {
		name, typ, help string
		v               int64
	}{
		{"hotline_calls_total", "counter", "Calls that rang, since start.", c.CallsTotal},
		{"hotline_calls_answered_total", "counter", "Calls the box answered, since start.", c.CallsAnswered},
		{"hotline_voicemails_total", "counter", "Calls that ended with a message recorded, since start.", c.Voicemails},
		{"hotline_active_calls", "gauge", "Calls ringing or up now.", int64(c.ActiveCalls)},
		{"hotline_audio_underruns_total", "counter", "20 ms audio frames a line did not deliver in time (counted as each call ends).", c.Underruns},
		{"hotline_recorder_drops_total", "counter", "Audio frames lost because the recorder fell behind (counted as each call ends).", c.RecorderDrops},
		{"hotline_audio_deadline_misses_total", "counter", "20 ms audio frames the box itself answered late: from the line's driver having the frame to the reply written (counted as each call ends).", c.DeadlineMisses},
		{"hotline_audio_frame_slowest_microseconds", "gauge", "The longest time the box took to answer one audio frame since start (counted as each call ends).", c.SlowestFrame.Microseconds()},
	}
	for _, m := range counters {
		family(b, m.name, m.typ, m.help)
		sample(b, m.name, nil, m.v)
	}
}

func lineLabels(id, kind string) []string { return []string{"line", id, "kind", kind} }

func boolValue(v bool) int64 {
	if v {
		return 1
	}
	return 0
}

// family writes the HELP and TYPE lines of a metric.
func family(b *bytes.Buffer, name, typ, help string) {
	b.WriteString("# HELP " + name + " " + helpEscaper.Replace(help) + "\n")
	b.WriteString("# TYPE " + name + " " + typ + "\n")
}

// sample writes one sample; labels are name, value pairs.
func sample(b *bytes.Buffer, name string, labels []string, v int64) {
	b.WriteString(name)
	if len(labels) > 0 {
		b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(labels[i] + `="` + labelEscaper.Replace(strings.ToValidUTF8(labels[i+1], "\uFFFD")) + `"`)
		}
		b.WriteByte('}')
	}
	b.WriteString(" " + strconv.FormatInt(v, 10) + "\n")
}

// The text format escapes backslash, double quote and line feed in label values, and
// backslash and line feed in HELP text.
var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)
