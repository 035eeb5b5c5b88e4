package web

import (
	"net/http"
	"strconv"
	"time"
)

// auditJSON is one entry of GET /api/audit.
type auditJSON struct {
	At     time.Time `json:"at"`
	User   string    `json:"user"`
	Action string    `json:"action"`
	Detail string    `json:"detail"`
}

// handleAPIAudit answers the audit log, newest first: who changed what, and when (owner only).
// ?limit=N asks for N entries (default 100, at most 1000).
func (s *Server) handleAPIAudit(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 {
		limit = min(n, 1000)
	}
	list, err := s.store.ListAudit(r.Context(), limit)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := struct {
		Entries []auditJSON `json:"entries"`
	}{Entries: make([]auditJSON, 0, len(list))}
	for _, e := range list {
		out.Entries = append(out.Entries, auditJSON{At: e.At.In(s.loc), User: e.User, Action: e.Action, Detail: e.Detail})
	}
	writeJSON(w, http.StatusOK, out)
}
