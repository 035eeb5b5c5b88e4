package web

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	"hotline/daemon"
)

const (
	// maxSimBody bounds a test call's JSON; the caller's speech travels inside it.
	maxSimBody = 16 << 20
	// simCallLimit is the longest a test call may take, answer included.
	simCallLimit = 10 * time.Minute
)

// handleSimCall places a test call into a simulated line for `hotline call`. It exists only
// when the box runs simulated lines, and answers only to the box itself.
func (s *Server) handleSimCall(w http.ResponseWriter, r *http.Request) {
	if s.sim == nil {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no simulated lines on this box"})
		return
	}
	if !fromLoopback(r) {
		s.log.Warn("test call refused from a remote address", "remote", r.RemoteAddr)
		writeJSON(w, http.StatusForbidden, apiError{Error: "test calls are accepted only from the box itself"})
		return
	}
	var tc daemon.TestCall
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSimBody))
	if err := dec.Decode(&tc); err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			status = http.StatusRequestEntityTooLarge
		}
		writeJSON(w, status, apiError{Error: "bad test call: " + err.Error()})
		return
	}
	// The call outlasts the server's write timeout; give this one response its own.
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Now().Add(simCallLimit + time.Minute)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.log.Warn("extend write deadline for test call", "error", err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), simCallLimit)
	defer cancel()
	s.log.Info("test call", "from", tc.From, "line", tc.Line, "digits", tc.Digits)
	res, err := s.sim.TestCall(ctx, tc)
	if err != nil {
		s.log.Warn("test call failed", "error", err)
		writeJSON(w, http.StatusBadGateway, apiError{Error: "test call failed: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// fromLoopback reports whether the request came from the box itself.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
