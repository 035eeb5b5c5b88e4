package web

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"hotline/daemon/custom"
	"hotline/daemon/update"
)

// The update page: the owner uploads a signed update file, the box checks all of it and says
// what it holds; on the owner's yes it backs up the box, installs the update into its free
// slot and restarts into it (see daemon/update and docs/UPDATE.md).
const (
	maxUpdateUpload = update.DefaultMaxSize + 1<<20 // the program plus its header and the form
	updateUploadFor = 30 * time.Minute
)

func init() {
	pageFiles = append(pageFiles, "update.html")
	uploadRoutes["/update/upload"] = struct {
		limit int64
		read  time.Duration
	}{maxUpdateUpload, updateUploadFor}
}

// updates is the state of the update page.
type updates struct {
	keys []ed25519.PublicKey // nil: the release keys built in (tests set their own)

	mu   sync.Mutex
	busy bool // an update is being received, or installed
}

// begin marks the page busy; false when it already was.
func (u *updates) begin() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.busy {
		return false
	}
	u.busy = true
	return true
}

func (u *updates) end() {
	u.mu.Lock()
	u.busy = false
	u.mu.Unlock()
}

func (u *updates) isBusy() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.busy
}

type updatePage struct {
	JS, CSS    string // update.js waits for the restart
	UploadJS   string
	Version    string // the running version
	Slot       string // "A", "B", or "" for the program installed with the system
	Trial      bool   // this version or another one is on trial
	TrialText  string
	Last       string // the last update's outcome in words, "" if none
	LastClass  string // ok, failed, pending
	Pending    *pendingRow
	Busy       bool
	Restarting bool
	CanRestart bool
	MaxMB      int
}

type pendingRow struct {
	Version, Created, Arch, Size string
}

func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request) {
	s.renderUpdate(w, r, http.StatusOK, "", false)
}

func (s *Server) renderUpdate(w http.ResponseWriter, r *http.Request, status int, errMsg string, restarting bool) {
	v := s.newView(r, "upd_title")
	v.Nav = "settings"
	v.Error = errMsg
	if r.URL.Query().Get("cancelled") == "1" {
		v.Notice = v.T["upd_cancelled"]
	}
	dir := s.store.Dir()
	st, err := update.ReadStatus(dir)
	if err != nil {
		s.log.Warn("update status", "error", err)
	}
	p := updatePage{
		JS: s.assets.url("update.js"), CSS: s.assets.url("update.css"), UploadJS: s.assets.url("upload.js"),
		Version: s.version, Busy: s.upd.isBusy(), Restarting: restarting,
		CanRestart: s.own.restart != nil, MaxMB: update.DefaultMaxSize >> 20,
	}
	if p.Version == "" {
		p.Version = "dev"
	}
	switch st.Running {
	case update.SlotA:
		p.Slot = "A"
	case update.SlotB:
		p.Slot = "B"
	}
	if st.Trial != "" {
		p.Trial = true
		p.TrialText = fmt.Sprintf(v.T["upd_trial"], st.TrialVersion, s.fmtTime(st.TrialSince))
	}
	if l := st.Last; l != nil && st.Trial == "" {
		p.Last, p.LastClass = s.lastUpdateText(v.T, l)
	}
	if m := st.Pending; m != nil && !restarting {
		p.Pending = &pendingRow{Version: m.Version, Created: s.fmtTime(m.Created), Arch: m.Arch(),
			Size: fmt.Sprintf("%.1f", float64(m.Size)/(1<<20))}
	}
	v.Page = p
	s.render(w, r, status, "update.html", v)
}

func (s *Server) fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.loc).Format("02.01.2006 15:04")
}

// lastUpdateText says in plain words what the last update did.
func (s *Server) lastUpdateText(T map[string]string, l *update.Result) (text, class string) {
	when := s.fmtTime(l.Time)
	switch l.Outcome {
	case update.OutcomeOK:
		return fmt.Sprintf(T["upd_last_ok"], l.Version, when), "ok"
	case update.OutcomeRolledBack:
		text = fmt.Sprintf(T["upd_last_rolled_back"], l.Version, l.BackTo, when)
		if l.Restored {
			text += " " + T["upd_last_restored"]
		}
		return text, "failed"
	case update.OutcomeDropped:
		return fmt.Sprintf(T["upd_last_dropped"], l.BackTo, l.Version, when), "ok"
	}
	return "", ""
}

// updateErrorKey names the plain words for a refused update file.
func updateErrorKey(err error) string {
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, errNoUpload):
		return "upd_err_nofile"
	case errors.As(err, &tooBig), errors.Is(err, update.ErrTooBig):
		return "upd_err_big"
	case errors.Is(err, update.ErrNotUpdate):
		return "upd_err_notupdate"
	case errors.Is(err, update.ErrTorn):
		return "upd_err_torn"
	case errors.Is(err, update.ErrUnsigned), errors.Is(err, update.ErrBadSignature):
		return "upd_err_unsigned"
	case errors.Is(err, update.ErrUnknownKey):
		return "upd_err_foreign"
	case errors.Is(err, update.ErrProduct):
		return "upd_err_product"
	case errors.Is(err, update.ErrArch), errors.Is(err, update.ErrNotBinary):
		return "upd_err_arch"
	case errors.Is(err, update.ErrNotNewer):
		return "upd_err_older"
	case errors.Is(err, update.ErrHash):
		return "upd_err_hash"
	case errors.Is(err, update.ErrNoSpace):
		return "upd_err_space"
	case errors.Is(err, update.ErrTrialRunning):
		return "upd_err_trial"
	}
	return ""
}

// runningVersion is the version updates are compared with.
func (s *Server) runningVersion() string {
	if s.version == "" {
		return "dev"
	}
	return s.version
}

// handleUpdateUpload receives an update file, checks all of it and keeps it for the owner's
// yes; nothing the box runs changes.
func (s *Server) handleUpdateUpload(w http.ResponseWriter, r *http.Request) {
	lang := pickLang(r)
	if !s.upd.begin() {
		s.renderUpdate(w, r, http.StatusConflict, messages[lang]["upd_err_busy"], false)
		return
	}
	m, err := s.receiveUpdate(r)
	s.upd.end()
	if err != nil {
		key := updateErrorKey(err)
		if key == "" {
			s.serverError(w, r, fmt.Errorf("update upload: %w", err))
			return
		}
		s.log.Warn("update file refused", "error", err)
		s.renderUpdate(w, r, http.StatusBadRequest, messages[lang][key], false)
		return
	}
	user := sessionFrom(r.Context()).User.Name
	s.audit(r.Context(), user, "update_received", m.Version)
	s.log.Info("verified update waits for the owner's yes", "version", m.Version, "user", user)
	s.renderUpdate(w, r, http.StatusOK, "", false)
}

func (s *Server) receiveUpdate(r *http.Request) (update.Manifest, error) {
	form, err := readUpload(r, "update")
	if err != nil {
		return update.Manifest{}, err
	}
	return update.Receive(r.Context(), s.store.Dir(), form.File, update.Options{TrustedKeys: s.upd.keys, Version: s.runningVersion()})
}

// handleUpdateApply backs up the box, installs the pending update and restarts into it.
func (s *Server) handleUpdateApply(w http.ResponseWriter, r *http.Request) {
	lang := pickLang(r)
	if !s.upd.begin() {
		s.renderUpdate(w, r, http.StatusConflict, messages[lang]["upd_err_busy"], false)
		return
	}
	// A big box takes a while to back up.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(backupUploadFor))
	m, backup, key, err := s.installUpdate(r.Context())
	s.upd.end()
	if key != "" {
		if err != nil {
			s.log.Warn("update not installed", "error", err)
		}
		status := http.StatusBadRequest
		switch key {
		case "upd_err_trial":
			status = http.StatusConflict
		case "upd_err_backup":
			status = http.StatusInternalServerError
		}
		s.renderUpdate(w, r, status, messages[lang][key], false)
		return
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("update install: %w", err))
		return
	}
	user := sessionFrom(r.Context()).User.Name
	s.audit(r.Context(), user, "update_installed", m.Version+" (backup "+backup+")")
	s.log.Info("update installed; restarting into it", "version", m.Version, "backup", backup, "user", user)
	s.renderUpdate(w, r, http.StatusOK, "", true)
	if s.own.restart != nil {
		_ = http.NewResponseController(w).Flush()
		s.own.restart()
	}
}

// installUpdate backs up the box and installs the pending update. A refusal the owner can
// act on comes with the key of its words.
func (s *Server) installUpdate(ctx context.Context) (m update.Manifest, backup, key string, err error) {
	dir := s.store.Dir()
	if _, ok := update.Pending(dir); !ok {
		return m, "", "upd_err_nopending", nil
	}
	if st, err := update.ReadStatus(dir); err == nil && st.Trial != "" {
		return m, "", "upd_err_trial", nil
	}
	backup, err = update.SaveBackup(ctx, dir, func(ctx context.Context, w io.Writer) error {
		return custom.WriteBackup(ctx, w, s.store)
	})
	if err != nil {
		return m, "", "upd_err_backup", err
	}
	m, err = update.Install(dir, s.runningVersion(), backup)
	if err != nil {
		return m, backup, updateErrorKey(err), err
	}
	return m, backup, "", nil
}

func (s *Server) handleUpdateCancel(w http.ResponseWriter, r *http.Request) {
	if err := update.CancelPending(s.store.Dir()); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "update_cancelled", "")
	http.Redirect(w, r, "/update?cancelled=1", http.StatusSeeOther)
}

// updateStatusJSON is GET /api/update/status.
type updateStatusJSON struct {
	Version      string           `json:"version"`                 // the running version
	Slot         string           `json:"slot"`                    // "a", "b", or "" for the built-in program
	Busy         bool             `json:"busy"`                    // an update is being received or installed
	Trial        string           `json:"trial,omitempty"`         // the slot on trial
	TrialVersion string           `json:"trial_version,omitempty"` // its version
	Pending      *update.Manifest `json:"pending,omitempty"`       // a checked update waiting for the owner's yes
	Last         *update.Result   `json:"last,omitempty"`          // the last update's outcome
}

func (s *Server) handleAPIUpdateStatus(w http.ResponseWriter, r *http.Request) {
	st, err := update.ReadStatus(s.store.Dir())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, updateStatusJSON{
		Version: s.runningVersion(), Slot: st.Running, Busy: s.upd.isBusy(),
		Trial: st.Trial, TrialVersion: st.TrialVersion, Pending: st.Pending, Last: st.Last,
	})
}
