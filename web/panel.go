package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"hotline/daemon/store"
	"hotline/daemon/switchboard"
	"hotline/voice/ivr"
)

// The operator panel: the call ringing or up on each line, with the caller's earlier calls
// and their notes, and the owner's script for the flow's ring and queue branches. Which
// branch a call took is only known when it ends, so the panel shows every such branch's
// script. With a CallControl (Options.Control) each card also hangs the call up, transfers
// the conversation to another operator, or rings one operator at once for a caller who waits
// (panel_control.go); without, that stays on the operators' phones.

// CallControl is what the panel asks of the running switchboard ((*daemon.Hotline)). Its
// errors wrap the switchboard's sentinels (switchboard.ErrNoCall, ...).
type CallControl interface {
	// LiveCalls returns the call of every line that has one.
	LiveCalls() []switchboard.LiveCall
	// HangupCall ends the call on a line; by is the admin's user name, for the record.
	HangupCall(ctx context.Context, lineID, by string) error
	// TransferCall hands the conversation on a line to the operator's SIP phone.
	TransferCall(ctx context.Context, lineID string, operatorID int64, by string) error
	// TakeCall rings only that operator, at once, for the caller waiting on a line.
	TakeCall(ctx context.Context, lineID string, operatorID int64, by string) error
}

// panelRefresh is how often the panel reloads itself without script, in seconds; with
// script, static/panel.js asks /api/panel every few seconds and reloads when a call comes
// or goes.
const panelRefresh = 10

// panelHistory is how many earlier calls of the caller a card shows.
const panelHistory = 10

// maxScriptRunes caps one branch's script.
const maxScriptRunes = 4000

// scriptKey is the settings key of the script of flow node id.
func scriptKey(id string) string { return "script_" + id }

type panelPage struct {
	Refresh  int
	ScriptJS string
	Lines    []panelLine
	Scripts  []panelScript
	IsOwner  bool
	// Control is on: the cards carry the call's buttons (panel_control.go).
	Control   bool
	Operators []panelOperator
	CSS       string // static/panel.css, with Control
}

type panelLine struct {
	ID       string
	State    string
	StateKey string // the message key of State's words ("" when unknown: State is shown)
	InCall   bool
	Number   string
	TelURL   template.URL
	Since    string
	SinceISO string
	CallID   int64 // the call in the log, 0 when it is not there yet
	NoteURL  string
	Note     string
	History  []panelPast
	// With Control: what the call does now, and which buttons fit.
	CallState   string // switchboard.CallState, "" without Control
	StateText   string
	With        []string // who talks, or whose phones ring
	Position    int      // place in the queue, 0 when not queued
	CanHangup   bool
	CanTransfer bool
	CanTake     bool
}

type panelPast struct {
	ID            int64
	Time, TimeISO string
	Outcome       string // in words
	Code          string // the outcome constant, "" in progress
	Note          string
	URL           string
}

type panelScript struct {
	Node  string   `json:"node"`
	Title string   `json:"title"`
	Text  string   `json:"text"`
	Lines []string `json:"-"` // Text in lines, for reading
}

// panelData reads what the panel shows, for the page and the API.
func (s *Server) panelData(ctx context.Context, v *view) (panelPage, error) {
	p := panelPage{Refresh: panelRefresh, ScriptJS: s.assets.url("panel.js")}
	live, err := s.panelControl(ctx, v, &p)
	if err != nil {
		return p, err
	}
	if s.lines != nil {
		for _, li := range s.lines.LineInfos() {
			l := panelLine{ID: cleanDisplay(li.ID), State: cleanDisplay(li.State), InCall: li.InCall,
				StateKey: lineStates[li.State].key}
			if li.InCall {
				number, _ := store.SanitizeNumber(li.CallNumber)
				l.Number = displayNumber(li.CallNumber, number)
				l.TelURL = telURL(number)
				if !li.CallSince.IsZero() {
					l.Since = formatTime(v.Lang, li.CallSince, s.loc)
					l.SinceISO = li.CallSince.In(s.loc).Format(time.RFC3339)
				}
				open, err := s.store.SearchCalls(ctx, store.LogFilter{LineID: li.ID, Outcome: store.OutcomeInProgress, Limit: 1})
				if err != nil {
					return p, fmt.Errorf("panel: the call on %s: %w", li.ID, err)
				}
				if len(open) == 1 {
					l.CallID = open[0].ID
					l.Note = open[0].Note
					l.NoteURL = "/panel/calls/" + strconv.FormatInt(l.CallID, 10) + "/note"
				}
				hist, err := s.store.CallerHistory(ctx, number, panelHistory+1)
				if err != nil {
					return p, fmt.Errorf("panel: history: %w", err)
				}
				for _, c := range hist {
					if c.ID == l.CallID || len(l.History) == panelHistory {
						continue
					}
					out := v.T["out_progress"]
					if c.Outcome != "" {
						out = v.T["out_"+c.Outcome]
					}
					l.History = append(l.History, panelPast{
						ID: c.ID, Time: formatTime(v.Lang, c.StartedAt, s.loc),
						TimeISO: c.StartedAt.In(s.loc).Format(time.RFC3339),
						Outcome: out, Code: c.Outcome, Note: c.Note, URL: "/calls/" + strconv.FormatInt(c.ID, 10),
					})
				}
			}
			if lc, ok := live[li.ID]; ok && li.InCall {
				s.describeCall(v, &l, lc)
			}
			p.Lines = append(p.Lines, l)
		}
	}
	nodes, err := s.scriptNodes(ctx, v.Lang)
	if err != nil {
		return p, err
	}
	for _, n := range nodes {
		text, err := s.store.Setting(ctx, scriptKey(n.ID), "")
		if err != nil {
			return p, err
		}
		title := n.Title
		if title == "" {
			title = n.ID
		}
		p.Scripts = append(p.Scripts, panelScript{Node: n.ID, Title: title, Text: text, Lines: strings.Split(text, "\n")})
	}
	p.IsOwner = v.User != nil && mayChange(v.User.Role)
	return p, nil
}

// scriptNodes are the flow's nodes where a person answers: ring and queue.
func (s *Server) scriptNodes(ctx context.Context, lang string) ([]ivr.Node, error) {
	f, _, err := s.currentFlow(ctx, lang)
	if err != nil {
		return nil, err
	}
	var out []ivr.Node
	for _, n := range f.Nodes {
		if n.Kind == ivr.KindRing || n.Kind == ivr.KindQueue {
			out = append(out, n)
		}
	}
	return out, nil
}

func (s *Server) handlePanel(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "pnl_title")
	v.Nav = "panel"
	switch r.URL.Query().Get("ok") {
	case "note":
		v.Notice = v.T["pnl_note_saved"]
	case "script":
		v.Notice = v.T["pnl_script_saved"]
	}
	controlNotice(v, r.URL.Query())
	p, err := s.panelData(r.Context(), v)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v.Page = p
	s.render(w, r, http.StatusOK, "panel.html", v)
}

// handlePanelScript saves the owner's script of one ring or queue node.
func (s *Server) handlePanelScript(w http.ResponseWriter, r *http.Request) {
	node, text := r.PostFormValue("node"), r.PostFormValue("text")
	if utf8.RuneCountInString(text) > maxScriptRunes || !utf8.ValidString(text) {
		s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
		return
	}
	nodes, err := s.scriptNodes(r.Context(), pickLang(r))
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	found := false
	for _, n := range nodes {
		found = found || n.ID == node
	}
	if !found {
		s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
		return
	}
	if err := s.store.SetSetting(r.Context(), scriptKey(node), text); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "script_save", "node "+node)
	http.Redirect(w, r, "/panel?ok=script", http.StatusSeeOther)
}

// handlePanelNote saves the note of the call on a line from the panel.
func (s *Server) handlePanelNote(w http.ResponseWriter, r *http.Request) {
	c, ok := s.callByPath(w, r)
	if !ok {
		return
	}
	if err := s.store.SetCallNote(r.Context(), c.ID, r.PostFormValue("note")); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.handleNotFound(w, r)
			return
		}
		s.serverError(w, r, fmt.Errorf("save note of call %d: %w", c.ID, err))
		return
	}
	s.auditNote(r, c.ID)
	http.Redirect(w, r, "/panel?ok=note", http.StatusSeeOther)
}

type panelLineJSON struct {
	ID            string          `json:"id"`
	State         string          `json:"state"`
	InCall        bool            `json:"in_call"`
	DisplayNumber string          `json:"display_number"`
	Since         *time.Time      `json:"since"`
	CallID        int64           `json:"call_id"`
	History       []panelPastJSON `json:"history"`
	// With call control on (see docs/api.md): what the call does and with whom.
	CallState string   `json:"call_state,omitempty"`
	With      []string `json:"with,omitempty"`
	Position  int      `json:"queue_position,omitempty"`
}

type panelPastJSON struct {
	ID        int64     `json:"id"`
	StartedAt time.Time `json:"started_at"`
	Outcome   string    `json:"outcome"`
	Note      string    `json:"note"`
}

// handleAPIPanel is the panel as JSON; static/panel.js polls it.
func (s *Server) handleAPIPanel(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "pnl_title")
	p, err := s.panelData(r.Context(), v)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := struct {
		Lines     []panelLineJSON     `json:"lines"`
		Scripts   []panelScript       `json:"scripts"`
		Control   bool                `json:"control"`
		Operators []panelOperatorJSON `json:"operators,omitempty"`
	}{Lines: []panelLineJSON{}, Scripts: []panelScript{}, Control: p.Control}
	for _, o := range p.Operators {
		out.Operators = append(out.Operators, panelOperatorJSON{ID: o.ID, Name: o.Name, SIP: o.SIP})
	}
	for _, l := range p.Lines {
		j := panelLineJSON{ID: l.ID, State: l.State, InCall: l.InCall, DisplayNumber: l.Number, CallID: l.CallID, History: []panelPastJSON{},
			CallState: l.CallState, With: l.With, Position: l.Position}
		if l.SinceISO != "" {
			if t, err := time.Parse(time.RFC3339, l.SinceISO); err == nil {
				j.Since = &t
			}
		}
		for _, h := range l.History {
			t, _ := time.Parse(time.RFC3339, h.TimeISO)
			j.History = append(j.History, panelPastJSON{ID: h.ID, StartedAt: t, Outcome: h.Code, Note: h.Note})
		}
		out.Lines = append(out.Lines, j)
	}
	out.Scripts = append(out.Scripts, p.Scripts...)
	writeJSON(w, http.StatusOK, out)
}
