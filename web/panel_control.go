package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"hotline/daemon/switchboard"
)

// Call control on the operator panel: each call's card hangs the call up, transfers the
// conversation to another operator's SIP phone, or rings one operator at once for a caller who
// waits (in the queue or while others' phones ring). Operators and the owner may use it: it is
// their panel. The forms post with the session's form token; the JSON twins are under
// /api/panel/lines/{line}/.

// maxLineIDLen bounds a line ID taken from a URL.
const maxLineIDLen = 64

// panelOperator is an operator in the panel's "ring" and "transfer to" lists.
type panelOperator struct {
	ID   int64
	Name string
	SIP  bool // has a SIP phone: a transfer can go to it
	Me   bool // the logged-in user's own name
}

// panelOperatorJSON is an operator in GET /api/panel: whom a take or a transfer can name.
type panelOperatorJSON struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	SIP  bool   `json:"sip"` // has a SIP phone: a transfer can go to it
}

// panelControl fills the panel's control part and returns the live calls by line ID (none
// without a CallControl).
func (s *Server) panelControl(ctx context.Context, v *view, p *panelPage) (map[string]switchboard.LiveCall, error) {
	if s.control == nil {
		return nil, nil
	}
	p.Control, p.CSS = true, s.assets.url("panel.css")
	ops, err := s.store.Operators(ctx)
	if err != nil {
		return nil, fmt.Errorf("panel: operators: %w", err)
	}
	for _, o := range ops {
		if o.SIPUser == "" && o.Mobile == "" {
			continue
		}
		me := v.User != nil && strings.EqualFold(o.Name, v.User.Name)
		p.Operators = append(p.Operators, panelOperator{ID: o.ID, Name: o.Name, SIP: o.SIPUser != "", Me: me})
	}
	live := map[string]switchboard.LiveCall{}
	for _, lc := range s.control.LiveCalls() {
		live[lc.LineID] = lc
	}
	return live, nil
}

// describeCall puts what the call does now, and the buttons that fit, on its card.
func (s *Server) describeCall(v *view, l *panelLine, lc switchboard.LiveCall) {
	l.CallState, l.Position = string(lc.State), lc.Position
	for _, w := range lc.With {
		l.With = append(l.With, cleanDisplay(w))
	}
	with := strings.Join(l.With, ", ")
	switch lc.State {
	case switchboard.StateIncoming:
		l.StateText = v.T["pnl_st_incoming"]
	case switchboard.StateMenu:
		l.StateText = v.T["pnl_st_menu"]
	case switchboard.StateVoicemail:
		l.StateText = v.T["pnl_st_voicemail"]
	case switchboard.StateQueue:
		l.StateText = v.T["pnl_st_queue"]
		if lc.Position > 0 {
			l.StateText = fmt.Sprintf(v.T["pnl_st_queue_pos"], lc.Position)
		}
	case switchboard.StateRinging:
		l.StateText = v.T["pnl_st_ringing_any"]
		if with != "" {
			l.StateText = fmt.Sprintf(v.T["pnl_st_ringing"], with)
		}
	case switchboard.StateTalking:
		l.StateText = fmt.Sprintf(v.T["pnl_st_talking"], with)
	}
	l.CanHangup = lc.State != switchboard.StateIncoming
	l.CanTransfer = lc.State == switchboard.StateTalking
	l.CanTake = lc.State == switchboard.StateRinging || lc.State == switchboard.StateQueue
}

// controlNotice sets the panel's notice or error after a call-control form (its redirect's
// query: ok=hangup|transfer|take, or err=CODE).
func controlNotice(v *view, q url.Values) {
	switch q.Get("ok") {
	case "hangup":
		v.Notice = v.T["pnl_hung_up"]
	case "transfer":
		v.Notice = v.T["pnl_transferred"]
	case "take":
		v.Notice = v.T["pnl_taken"]
	}
	if code := q.Get("err"); code != "" {
		if msg, ok := v.T["pnl_err_"+code]; ok {
			v.Error = msg
		}
	}
}

// controlError is a call-control error as an HTTP status, a code for the page's redirect and
// a message for the API.
func controlError(err error) (status int, code, msg string) {
	switch {
	case errors.Is(err, switchboard.ErrNoCall):
		return http.StatusNotFound, "nocall", "no call on this line"
	case errors.Is(err, switchboard.ErrNotAnswered):
		return http.StatusConflict, "notanswered", "the box has not answered the call yet"
	case errors.Is(err, switchboard.ErrNotTalking):
		return http.StatusConflict, "nottalking", "nobody talks with the caller"
	case errors.Is(err, switchboard.ErrNotWaiting):
		return http.StatusConflict, "notwaiting", "the caller does not wait for a person"
	case errors.Is(err, switchboard.ErrUnknownOperator):
		return http.StatusBadRequest, "unknownop", "unknown operator"
	case errors.Is(err, switchboard.ErrNoPhone):
		return http.StatusConflict, "nophone", "the operator has no phone the box can ring now"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "failed", "the request was cancelled"
	}
	return http.StatusInternalServerError, "failed", "internal error"
}

// controlAction is one call-control request: what it does with the line's call.
type controlAction struct {
	name    string // "hangup", "transfer", "take": the audit log's word and the notice's code
	needsOp bool   // names an operator
}

var (
	actHangup   = controlAction{name: "hangup"}
	actTransfer = controlAction{name: "transfer", needsOp: true}
	actTake     = controlAction{name: "take", needsOp: true}
)

// controlLine is the line ID in the request's path, or "" when it cannot be one.
func controlLine(r *http.Request) string {
	id := r.PathValue("line")
	if id == "" || len(id) > maxLineIDLen || cleanDisplay(id) != id {
		return ""
	}
	return id
}

// doControl runs act on the line's call for the session's user.
func (s *Server) doControl(ctx context.Context, act controlAction, line string, op int64) error {
	by := sessionFrom(ctx).User.Name
	var err error
	switch act {
	case actHangup:
		err = s.control.HangupCall(ctx, line, by)
	case actTransfer:
		err = s.control.TransferCall(ctx, line, op, by)
	case actTake:
		err = s.control.TakeCall(ctx, line, op, by)
	}
	if err == nil {
		detail := "line " + line
		if act.needsOp {
			detail += " operator " + strconv.FormatInt(op, 10)
		}
		s.audit(ctx, by, "call_"+act.name, detail)
	}
	return err
}

// panelForm handles a call-control form of the panel; it answers with a redirect to the panel
// and the outcome in its query.
func (s *Server) panelForm(act controlAction) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		line := controlLine(r)
		back := func(q string) {
			to := "/panel?" + q
			if line != "" {
				to += "#line-" + url.PathEscape(line)
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
		}
		if s.control == nil {
			back("err=off")
			return
		}
		if line == "" {
			back("err=nocall")
			return
		}
		var op int64
		if act.needsOp {
			var err error
			if op, err = strconv.ParseInt(r.PostFormValue("operator"), 10, 64); err != nil || op <= 0 {
				back("err=unknownop")
				return
			}
		}
		if err := s.doControl(r.Context(), act, line, op); err != nil {
			status, code, _ := controlError(err)
			if status >= http.StatusInternalServerError {
				s.log.Error("call control", "action", act.name, "line", line, "error", err)
			}
			back("err=" + code)
			return
		}
		back("ok=" + act.name)
	}
}

// panelAPI is the JSON twin of panelForm: the body names the operator ({"operator_id": 3})
// for a transfer or a take, and is empty for a hang-up.
func (s *Server) panelAPI(act controlAction) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.control == nil {
			writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "call control is off on this box"})
			return
		}
		line := controlLine(r)
		if line == "" {
			writeJSON(w, http.StatusNotFound, apiError{Error: "no call on this line"})
			return
		}
		var in struct {
			OperatorID int64 `json:"operator_id"`
		}
		if act.needsOp {
			if err := decodeJSONBody(w, r, &in); err != nil {
				writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
				return
			}
			if in.OperatorID <= 0 {
				writeJSON(w, http.StatusBadRequest, apiError{Error: "operator_id is missing"})
				return
			}
		}
		if err := s.doControl(r.Context(), act, line, in.OperatorID); err != nil {
			status, _, msg := controlError(err)
			if status >= http.StatusInternalServerError {
				s.log.Error("call control", "action", act.name, "line", line, "error", err)
			}
			writeJSON(w, status, apiError{Error: msg})
			return
		}
		out := struct {
			Line       string `json:"line"`
			Done       string `json:"done"`
			OperatorID int64  `json:"operator_id,omitempty"`
		}{line, act.name, in.OperatorID}
		writeJSON(w, http.StatusOK, out)
	}
}
