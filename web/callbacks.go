package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"sync"
	"time"

	"hotline/daemon/store"
)

// CallbackPlacer calls a caller back (an operator first, then the caller, bridged) and records
// the attempt on the request; (*daemon.Hotline).PlaceCallback implements it. It returns when the
// conversation is over, or when nobody could be reached.
type CallbackPlacer interface {
	PlaceCallback(ctx context.Context, id int64, by string) (string, error)
}

// callbackTimeout bounds one callback from the admin: ringing the operator and the caller and
// the conversation itself.
const callbackTimeout = 2 * time.Hour

// callbacksShown is how many requests the page lists.
const callbacksShown = 200

// callbackRuns are the callbacks placed from the admin that are under way. A callback rings an
// operator, then the caller, and lasts as long as they talk, so it runs in the background,
// not in the request: the button answers at once, the page shows "calling" (and reloads itself
// with a small script while one is under way), and closing the browser does not hang up the
// conversation. Every run stops when the server is closed ([Server.Close]), and wait waits for
// them.
type callbackRuns struct {
	mu      sync.Mutex
	running map[int64]time.Time // id -> when the call started
	last    map[int64]string    // id -> the error of the last run from the admin, "" when it went well
	wg      sync.WaitGroup
}

func newCallbackRuns() *callbackRuns {
	return &callbackRuns{running: map[int64]time.Time{}, last: map[int64]string{}}
}

// start runs place for id in the background unless one is running for id already.
func (c *callbackRuns) start(stop <-chan struct{}, now time.Time, id int64, place func(ctx context.Context) error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, busy := c.running[id]; busy {
		return false
	}
	c.running[id] = now
	delete(c.last, id)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), callbackTimeout)
		defer cancel()
		go func() {
			select {
			case <-stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		err := place(ctx)
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.running, id)
		if err != nil {
			c.last[id] = err.Error()
		} else {
			c.last[id] = ""
		}
	}()
	return true
}

// state returns when the callback id started if it is running, and the last run's error.
func (c *callbackRuns) state(id int64) (since time.Time, running bool, lastErr string, hadRun bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	since, running = c.running[id]
	lastErr, hadRun = c.last[id]
	return since, running, lastErr, hadRun
}

// wait waits for every run to end.
func (c *callbackRuns) wait() { c.wg.Wait() }

// WaitCallbacks waits until every callback placed from the admin has ended; call it after
// [Server.Close], which hangs them up.
func (s *Server) WaitCallbacks() { s.cbRuns.wait() }

type callbacksPage struct {
	CSS      string
	Rows     []callbackRow
	ShowAll  bool
	CanCall  bool
	Running  bool // a callback is under way: the page reloads itself
	ScriptJS string
}

type callbackRow struct {
	ID            int64
	Number        string
	TelURL        template.URL
	Time, TimeISO string
	Status        string
	Open          bool
	Attempts      int
	Last          string
	Outcome       string
	Calling       string // "" unless a call is under way
	Result        string
}

type callbackJSON struct {
	ID            int64      `json:"id"`
	CallID        int64      `json:"call_id"`
	Number        string     `json:"number"`
	CreatedAt     time.Time  `json:"created_at"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	Outcome       string     `json:"outcome"`
	HandledBy     string     `json:"handled_by"`
	Calling       bool       `json:"calling"`
	LastError     string     `json:"last_error,omitempty"`
}

func (s *Server) handleCallbacks(w http.ResponseWriter, r *http.Request) {
	all := showAll(r)
	list, err := s.store.Callbacks(r.Context(), !all, callbacksShown)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r, "cb_title")
	v.Nav = "callbacks"
	switch r.URL.Query().Get("ok") {
	case "calling":
		v.Notice = v.T["cb_started"]
	case "done":
		v.Notice = v.T["cb_marked"]
	}
	switch r.URL.Query().Get("err") {
	case "busy":
		v.Error = v.T["cb_busy"]
	case "disabled":
		v.Error = v.T["cb_disabled"]
	}
	p := callbacksPage{CSS: s.assets.url("flows.css"), ShowAll: all, CanCall: s.callbacks != nil, ScriptJS: s.assets.url("callbacks.js")}
	for _, c := range list {
		row := callbackRow{
			ID:       c.ID,
			Number:   cleanDisplay(c.Number),
			TelURL:   telURL(c.Number),
			Time:     formatTime(v.Lang, c.CreatedAt, s.loc),
			TimeISO:  c.CreatedAt.In(s.loc).Format(time.RFC3339),
			Status:   callbackStatusText(v.T, c.Status),
			Open:     c.Status == store.CallbackOpen,
			Attempts: c.Attempts,
			Last:     formatTime(v.Lang, c.LastAttempt, s.loc),
			Outcome:  cleanDisplay(c.Outcome),
		}
		since, running, lastErr, hadRun := s.cbRuns.state(c.ID)
		switch {
		case running:
			row.Calling = fmt.Sprintf(v.T["cb_calling"], since.In(s.loc).Format("15:04"))
			p.Running = true
		case hadRun && lastErr != "":
			row.Result = fmt.Sprintf(v.T["cb_result_err"], cleanDisplay(lastErr))
		}
		p.Rows = append(p.Rows, row)
	}
	v.Page = p
	s.render(w, r, http.StatusOK, "callbacks.html", v)
}

func callbackStatusText(T map[string]string, status string) string {
	if t, ok := T["cb_status_"+status]; ok {
		return t
	}
	return cleanDisplay(status)
}

// callbackID reads {id} of the path.
func callbackID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// startCallback starts calling back id for user; it answers the status for the API and the
// page's redirect query.
func (s *Server) startCallback(r *http.Request, id int64, user string) (int, string) {
	if s.callbacks == nil {
		return http.StatusServiceUnavailable, "disabled"
	}
	cb, err := s.store.Callback(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "notfound"
	case err != nil:
		s.log.Error("read callback", "id", id, "error", err)
		return http.StatusInternalServerError, "internal"
	case cb.Status != store.CallbackOpen:
		return http.StatusConflict, "closed"
	}
	placer, log := s.callbacks, s.log
	ok := s.cbRuns.start(s.stop, s.clock(), id, func(ctx context.Context) error {
		who, err := placer.PlaceCallback(ctx, id, user)
		log.Info("callback from the admin", "callback", id, "by", user, "operator", who, "error", err)
		return err
	})
	if !ok {
		return http.StatusConflict, "busy"
	}
	s.audit(r.Context(), user, "callback_call", "callback "+strconv.FormatInt(id, 10))
	return http.StatusAccepted, "calling"
}

func (s *Server) handleCallbackCall(w http.ResponseWriter, r *http.Request) {
	id, ok := callbackID(r)
	if !ok {
		s.handleNotFound(w, r)
		return
	}
	status, word := s.startCallback(r, id, sessionFrom(r.Context()).User.Name)
	switch status {
	case http.StatusAccepted:
		http.Redirect(w, r, "/callbacks?ok=calling#cb-"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	case http.StatusNotFound:
		s.handleNotFound(w, r)
	case http.StatusInternalServerError:
		s.renderError(w, r, status, "err_internal")
	default:
		http.Redirect(w, r, "/callbacks?err="+word, http.StatusSeeOther)
	}
}

// markCallbackDone closes a request that needs no call (the owner called from their mobile,
// the caller came by): done by user, with no attempt counted.
func (s *Server) markCallbackDone(ctx context.Context, id int64, user string) error {
	if _, running, _, _ := s.cbRuns.state(id); running {
		return errCallbackBusy
	}
	cb, err := s.store.Callback(ctx, id)
	if err != nil {
		return err
	}
	if cb.Status != store.CallbackOpen {
		return errCallbackClosed
	}
	return s.store.CloseCallback(ctx, id, store.CallbackDone, "marked done", user)
}

var (
	errCallbackBusy   = errors.New("a callback is under way")
	errCallbackClosed = errors.New("the callback request is not open")
)

func (s *Server) handleCallbackDone(w http.ResponseWriter, r *http.Request) {
	id, ok := callbackID(r)
	if !ok {
		s.handleNotFound(w, r)
		return
	}
	user := sessionFrom(r.Context()).User.Name
	err := s.markCallbackDone(r.Context(), id, user)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.handleNotFound(w, r)
		return
	case errors.Is(err, errCallbackBusy):
		http.Redirect(w, r, "/callbacks?err=busy", http.StatusSeeOther)
		return
	case errors.Is(err, errCallbackClosed):
		http.Redirect(w, r, "/callbacks?ok=done", http.StatusSeeOther)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.audit(r.Context(), user, "callback_done", "callback "+strconv.FormatInt(id, 10))
	http.Redirect(w, r, "/callbacks?ok=done", http.StatusSeeOther)
}

func (s *Server) handleAPICallbacks(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.Callbacks(r.Context(), !showAll(r), callbacksShown)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := struct {
		Callbacks []callbackJSON `json:"callbacks"`
	}{Callbacks: make([]callbackJSON, 0, len(list))}
	for _, c := range list {
		_, running, lastErr, _ := s.cbRuns.state(c.ID)
		out.Callbacks = append(out.Callbacks, callbackJSON{
			ID: c.ID, CallID: c.CallID, Number: c.Number, CreatedAt: c.CreatedAt.In(s.loc), Status: c.Status,
			Attempts: c.Attempts, LastAttemptAt: optTime(c.LastAttempt, s.loc), Outcome: c.Outcome,
			HandledBy: c.HandledBy, Calling: running, LastError: lastErr,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleAPICallbackCall(w http.ResponseWriter, r *http.Request) {
	id, ok := callbackID(r)
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{Error: "not found"})
		return
	}
	status, word := s.startCallback(r, id, sessionFrom(r.Context()).User.Name)
	msgs := map[string]string{
		"disabled": "this box cannot place calls from the admin",
		"notfound": "no such callback request",
		"internal": "internal error",
		"closed":   "the request is not open",
		"busy":     "a callback to this caller is under way",
	}
	if status == http.StatusAccepted {
		writeJSON(w, status, struct {
			ID      int64 `json:"id"`
			Calling bool  `json:"calling"`
		}{id, true})
		return
	}
	writeJSON(w, status, apiError{Error: msgs[word]})
}

func (s *Server) handleAPICallbackDone(w http.ResponseWriter, r *http.Request) {
	id, ok := callbackID(r)
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{Error: "not found"})
		return
	}
	user := sessionFrom(r.Context()).User.Name
	err := s.markCallbackDone(r.Context(), id, user)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Error: "no such callback request"})
	case errors.Is(err, errCallbackBusy):
		writeJSON(w, http.StatusConflict, apiError{Error: "a callback to this caller is under way"})
	case errors.Is(err, errCallbackClosed):
		writeJSON(w, http.StatusConflict, apiError{Error: "the request is not open"})
	case err != nil:
		s.serverError(w, r, err)
	default:
		s.audit(r.Context(), user, "callback_done", "callback "+strconv.FormatInt(id, 10))
		writeJSON(w, http.StatusOK, struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		}{id, store.CallbackDone})
	}
}
