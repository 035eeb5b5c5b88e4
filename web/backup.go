package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"hotline/daemon/custom"
)

type backupPage struct {
	CSS, UploadJS string
	Pending       bool // a verified restore waits for the next start
	Restoring     bool // a backup is being received and checked now
	Restarting    bool // the box restarts now to apply it
	CanRestart    bool // the box restarts by itself
	MaxGB         int
}

func (o *ownerFiles) state() (restoring, pending bool) {
	o.mu.Lock()
	restoring = o.restoring
	o.mu.Unlock()
	return restoring, custom.Pending(o.dataDir)
}

func (s *Server) handleBackup(w http.ResponseWriter, r *http.Request) {
	s.renderBackup(w, r, http.StatusOK, "", false)
}

func (s *Server) renderBackup(w http.ResponseWriter, r *http.Request, status int, errMsg string, restarting bool) {
	v := s.newView(r, "bak_title")
	v.Nav = "backup"
	v.Error = errMsg
	if r.URL.Query().Get("cancelled") == "1" {
		v.Notice = v.T["bak_cancelled"]
	}
	restoring, pending := s.own.state()
	v.Page = backupPage{
		CSS: s.assets.url("custom.css"), UploadJS: s.assets.url("upload.js"),
		Pending: pending, Restoring: restoring, Restarting: restarting,
		CanRestart: s.own.restart != nil, MaxGB: maxBackupUpload >> 30,
	}
	s.render(w, r, status, "backup.html", v)
}

// handleBackupDownload streams the whole box as one tar.gz, written as it is read.
func (s *Server) handleBackupDownload(w http.ResponseWriter, r *http.Request) {
	// A big box takes longer than the server's WriteTimeout to send.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(backupUploadFor))
	name := custom.BackupFileName(time.Now())
	h := w.Header()
	h.Set("Content-Type", "application/gzip")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	user := sessionFrom(r.Context()).User.Name
	if err := custom.WriteBackup(r.Context(), w, s.store); err != nil {
		// The headers are gone; the file ends early and its restore will say it is torn.
		s.log.Error("backup download failed", "error", err)
		return
	}
	s.audit(r.Context(), user, "backup_downloaded", name)
}

// restoreErrorKey names the plain words for a refused backup.
func restoreErrorKey(err error) string {
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, errNoUpload):
		return "bak_err_nofile"
	case errors.As(err, &tooBig), errors.Is(err, custom.ErrTooBig):
		return "bak_err_big"
	case errors.Is(err, custom.ErrNewerSchema):
		return "bak_err_newer"
	case errors.Is(err, custom.ErrNotBackup):
		return "bak_err_foreign"
	case errors.Is(err, custom.ErrUnsafePath):
		return "bak_err_unsafe"
	case errors.Is(err, custom.ErrTorn):
		return "bak_err_torn"
	}
	return ""
}

// handleRestore receives a backup, checks all of it and keeps it for the next start; nothing of
// the running box changes. Then the box restarts (Options.Restart) or asks the owner to.
func (s *Server) handleRestore(w http.ResponseWriter, r *http.Request) {
	o := s.own
	o.mu.Lock()
	if o.restoring {
		o.mu.Unlock()
		s.renderBackup(w, r, http.StatusConflict, messages[pickLang(r)]["bak_err_busy"], false)
		return
	}
	o.restoring = true
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		o.restoring = false
		o.mu.Unlock()
	}()
	form, err := readUpload(r, "backup")
	if err == nil {
		_, err = custom.VerifyRestore(r.Context(), o.dataDir, form.File, custom.MaxRestoreBytes)
	}
	if err != nil {
		key := restoreErrorKey(err)
		if key == "" {
			s.serverError(w, r, fmt.Errorf("restore: %w", err))
			return
		}
		s.log.Warn("backup refused", "error", err)
		s.renderBackup(w, r, http.StatusBadRequest, messages[pickLang(r)][key], false)
		return
	}
	user := sessionFrom(r.Context()).User.Name
	s.audit(r.Context(), user, "backup_restore_pending", "")
	s.log.Info("verified backup waits for the next start", "user", user)
	s.renderBackup(w, r, http.StatusOK, "", o.restart != nil)
	if o.restart != nil {
		_ = http.NewResponseController(w).Flush()
		o.restart()
	}
}

func (s *Server) handleRestoreCancel(w http.ResponseWriter, r *http.Request) {
	if err := custom.CancelPending(s.own.dataDir); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "backup_restore_cancelled", "")
	http.Redirect(w, r, "/backup?cancelled=1", http.StatusSeeOther)
}

type backupStatusJSON struct {
	State string `json:"state"` // "idle", "restoring" (receiving and checking) or "pending"
}

func (s *Server) handleAPIBackupStatus(w http.ResponseWriter, r *http.Request) {
	restoring, pending := s.own.state()
	st := backupStatusJSON{State: "idle"}
	switch {
	case restoring:
		st.State = "restoring"
	case pending:
		st.State = "pending"
	}
	writeJSON(w, http.StatusOK, st)
}
