package web

import (
	"context"
	"errors"
	"html/template"
	"log"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"hotline/daemon"
	"hotline/daemon/store"
)

// Timeouts of the http.Server that serves [Server.Handler] (see [HTTPServer]). The routes that
// stream for long (test call, uploads, CSV export, events) extend their own deadlines, so
// WriteTimeout can stay short.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 2 * time.Minute
	IdleTimeout       = 2 * time.Minute
)

// MaxHeaderBytes bounds a request's header; a browser's, with its cookies, is a few KiB.
const MaxHeaderBytes = 64 << 10

// HTTPServer returns the http.Server that serves h (the admin's [Server.Handler], wrapped or
// not) with the admin's limits: a client that trickles its request header is cut after
// ReadHeaderTimeout (slow loris), a whole request may take ReadTimeout, an answer
// WriteTimeout (routes that stream longer extend their own deadlines), an idle connection
// stays open IdleTimeout, and a header is at most MaxHeaderBytes. errorLog receives the
// server's own errors (nil: the log package's default).
func HTTPServer(h http.Handler, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          errorLog,
	}
}

// maxPasswordChecks is how many logins may hash a password at the same time.
const maxPasswordChecks = 2

// sessionTTL is how long a login lasts unused; each use extends it (see store.Session), up to
// store.MaxSessionAge after the login.
const sessionTTL = 7 * 24 * time.Hour

// SimCaller places a test call into a simulated line; daemon's simulated lines implement it.
type SimCaller interface {
	TestCall(ctx context.Context, c daemon.TestCall) (daemon.TestCallResult, error)
}

// Options configure a [Server].
type Options struct {
	Store  *store.Store
	Sim    SimCaller    // nil if the box runs no simulated lines; POST /api/sim/call then answers 404
	SMS    SMSSender    // nil: SMS replies from the admin are disabled (the inbox still shows)
	Logger *slog.Logger // nil discards

	// Lines shows the lines on the dashboard and in /metrics; nil shows none.
	Lines LineStatus
	// Version is reported by /metrics as hotline_build_info.
	Version string

	// Calls tells the dashboard when a call ends (*switchboard.Board); nil: it still refreshes
	// every few seconds.
	Calls CallEnds
	// Disk reports the data disk for the dashboard's alert (web.DiskFunc(guard.Status)); nil
	// shows none.
	Disk DiskStatus

	// Callbacks places a callback from the callbacks page ((*daemon.Hotline)); nil: the page
	// lists the requests but cannot call.
	Callbacks CallbackPlacer
	// SIP tells the operators page where phones register and which are registered now
	// ((*daemon.Hotline)); nil: SIP is shown as off.
	SIP SIPStatus

	// Restart is called once after a verified backup was set to be restored, when the page
	// that says so has been sent: it should end the daemon so that its supervisor starts it
	// again (the restore is applied at start, see custom.ApplyPendingRestore), and return at
	// once. nil: the page asks the owner to restart the box.
	Restart func()

	// TestLine places a test call from the owner's browser into the box
	// (*browserline.Line, served by the switchboard); nil: the test-call page says it is off.
	TestLine TestLine

	// Control hangs up, transfers and rings operators for calls from the operator panel
	// ((*daemon.Hotline)); nil: the panel only shows the calls.
	Control CallControl

	// Clock tells where the box's time came from and sets it by hand (settings page, see
	// clock.go); nil: the page shows the time but no source, and cannot set it.
	Clock BoxClock

	// HTTPS is where the admin is served over HTTPS too (its port and certificate, shown on
	// the settings page); its zero value: it is not.
	HTTPS HTTPS
}

// HTTPS is the admin's secure address as the settings page tells it.
type HTTPS struct {
	Port        int
	Fingerprint string // SHA-256 of the certificate (Certificate.Fingerprint)
}

// Server is the web admin. Make one with [New] and serve [Server.Handler].
type Server struct {
	store    *store.Store
	sim      SimCaller
	sms      SMSSender
	log      *slog.Logger
	pages    map[string]*template.Template
	assets   *assets
	limiter  *limiter
	pwChecks chan struct{}  // a slot per password check running
	loc      *time.Location // the box's time zone for pages
	handler  http.Handler

	lines   LineStatus       // nil: no lines to show
	version string           // for /metrics
	now     func() time.Time // nil: time.Now (tests set it)

	calls          CallEnds      // nil: no call-end events
	disk           DiskStatus    // nil: no disk alert
	stop           chan struct{} // closed by Close: event streams end
	stopOnce       sync.Once
	eventsEvery    time.Duration // how often an event stream looks at the lines
	heartbeatEvery time.Duration // how often it sends a keep-alive comment

	callbacks CallbackPlacer // nil: callbacks cannot be placed from the admin
	sip       SIPStatus      // nil: SIP off
	cbRuns    *callbackRuns  // callbacks being placed now

	own *ownerFiles // the owner's prompts and backups (prompts.go, backup.go)

	testLine TestLine // nil: no test calls from the browser (testcall.go)

	control CallControl // nil: the panel only shows calls (panel_control.go)

	boxClock BoxClock // nil: the clock's source is unknown and it cannot be set (clock.go)
	https    HTTPS    // the secure address, when served (tls.go)

	upd *updates // the update page (update.go)
}

// New parses the templates and assets and builds the handler. It fails when the store is
// missing or a template does not parse.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("web: no store")
	}
	s := &Server{
		store:    opts.Store,
		sim:      opts.Sim,
		sms:      opts.SMS,
		log:      opts.Logger,
		limiter:  newLimiter(time.Now),
		pwChecks: make(chan struct{}, maxPasswordChecks),
		loc:      time.Local,
	}
	s.lines, s.version = opts.Lines, opts.Version
	s.calls, s.disk, s.stop = opts.Calls, opts.Disk, make(chan struct{})
	s.eventsEvery, s.heartbeatEvery = eventsRefresh, eventsHeartbeat
	s.callbacks, s.sip, s.cbRuns = opts.Callbacks, opts.SIP, newCallbackRuns()
	s.own = newOwnerFiles(opts.Store.Dir(), opts.Restart)
	s.testLine = opts.TestLine
	s.control = opts.Control
	s.boxClock = opts.Clock
	s.https = opts.HTTPS
	s.upd = &updates{}
	s.loc = zoneAtStart(context.Background(), s)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if s.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// Handler returns the whole admin: every page, asset and API endpoint, with security headers
// on every response and cross-origin state changes refused.
func (s *Server) Handler() http.Handler { return s.handler }

// access says who may use a route; the wrapper that enforces it is chosen from it, so that no
// route can be added without saying who may use it (see TestEveryRouteDeclared).
type access int

const (
	public    access = iota // anyone: login, setup, health, static files; guarded inside if at all
	viewPage                // a page for any logged-in role that may view calls (owner, operator)
	viewAPI                 // the JSON twin of viewPage: 401/403 instead of a redirect
	ownerPage               // a page only the owner may use: settings, users, flows, backups
	ownerAPI                // the JSON twin of ownerPage
)

// route is one entry of the admin's routing table.
type route struct {
	pattern string // a net/http ServeMux pattern with its method
	access  access
	handler http.HandlerFunc
}

// routeTable lists every route with who may use it. Owner-only routes (settings, users,
// flows, backup download) go in with ownerPage or ownerAPI.
func (s *Server) routeTable() []route {
	return []route{
		{"GET /{$}", public, s.handleRoot},
		{"GET /healthz", public, s.handleHealth},
		{"GET /static/{name}", public, s.handleStatic},
		{"GET /lang/{code}", public, s.handleLang},

		{"GET /setup", public, s.handleSetupForm},
		{"POST /setup", public, s.handleSetup},
		{"GET /login", public, s.handleLoginForm},
		{"POST /login", public, s.handleLogin},
		{"POST /logout", public, s.handleLogout},
		{"GET /password", viewPage, s.handlePasswordForm},
		{"POST /password", viewPage, s.handlePassword},

		{"GET /dashboard", viewPage, s.handleDashboard},
		{"GET /metrics", public, s.handleMetrics}, // loopback or a viewing session, checked inside
		{"GET /calls", viewPage, s.handleCalls},
		{"GET /calls.csv", viewPage, s.handleCallsCSV},
		{"GET /calls/{id}", viewPage, s.handleCall},
		{"POST /calls/{id}/note", viewPage, s.handleCallNote},
		{"POST /calls/{id}/status", viewPage, s.handleCallStatus},
		{"GET /calls/{id}/recording", viewPage, s.handleCallRecording},
		{"GET /stats", viewPage, s.handleStats},
		{"GET /events", viewAPI, s.handleEvents}, // the dashboard's live updates (Server-Sent Events)
		{"GET /settings", ownerPage, s.handleSettingsForm},
		{"POST /settings", ownerPage, s.handleSettings},
		{"POST /settings/timezone", ownerPage, s.handleTimeZone},
		{"POST /settings/clock", ownerPage, s.handleSetClock},
		{"GET /api/clock", ownerAPI, s.handleAPIClock},
		{"PUT /api/clock", ownerAPI, s.handleAPIClockPut},
		{"GET /users", ownerPage, s.handleUsers},
		{"POST /users", ownerPage, s.handleAddUser},
		{"POST /users/{name}/password", ownerPage, s.handleUserPassword},
		{"POST /users/{name}/delete", ownerPage, s.handleDeleteUser},
		{"GET /voicemail", viewPage, s.handleVoicemail},
		{"GET /voicemail/{id}/audio", viewPage, s.handleAudio},
		{"POST /voicemail/{id}/handled", viewPage, s.handleMarkHandled},
		{"POST /voicemail/{id}/callback", viewPage, s.handleVoicemailCallback},
		{"POST /voicemail/{id}/delete", ownerPage, s.handleVoicemailDelete},
		{"POST /voicemail/{id}/restore", ownerPage, s.handleVoicemailRestore},
		{"POST /missed/{id}/callback", viewPage, s.handleMissedCallback},
		{"POST /missed/{id}/handled", viewPage, s.handleMissedHandled},
		{"GET /panel", viewPage, s.handlePanel},
		{"POST /panel/script", ownerPage, s.handlePanelScript},
		{"POST /panel/calls/{id}/note", viewPage, s.handlePanelNote},
		{"POST /api/voicemail/{id}/callback", viewAPI, s.handleAPIVoicemailCallback},
		{"DELETE /api/voicemail/{id}", ownerAPI, s.handleAPIVoicemailDelete},
		{"POST /api/voicemail/{id}/restore", ownerAPI, s.handleAPIVoicemailRestore},
		{"GET /api/panel", viewAPI, s.handleAPIPanel},
		{"POST /panel/lines/{line}/hangup", viewPage, s.panelForm(actHangup)}, // call control: operators too, panel_control.go
		{"POST /panel/lines/{line}/transfer", viewPage, s.panelForm(actTransfer)},
		{"POST /panel/lines/{line}/take", viewPage, s.panelForm(actTake)},
		{"POST /api/panel/lines/{line}/hangup", viewAPI, s.panelAPI(actHangup)},
		{"POST /api/panel/lines/{line}/transfer", viewAPI, s.panelAPI(actTransfer)},
		{"POST /api/panel/lines/{line}/take", viewAPI, s.panelAPI(actTake)},
		{"GET /sms", viewPage, s.handleSMS},
		{"POST /sms/{id}/handled", viewPage, s.handleSMSHandled},
		{"POST /sms/reply", viewPage, s.handleSMSReply},

		{"GET /flow", ownerPage, s.handleFlow},
		{"POST /flow", ownerPage, s.handleFlowPost},
		{"POST /flow/revert", ownerPage, s.handleFlowRevert},
		{"POST /flow/prompt", ownerPage, s.handleFlowPrompt}, // streamed multipart, answers JSON (flows.js)
		{"GET /hours", ownerPage, s.handleHours},
		{"POST /hours", ownerPage, s.handleHoursPost},
		{"POST /hours/override", ownerPage, s.handleHoursOverride},
		{"GET /operators", ownerPage, s.handleOperators},
		{"POST /operators", ownerPage, s.handleOperatorAdd},
		{"POST /operators/{id}", ownerPage, s.handleOperatorEdit},
		{"POST /operators/{id}/available", ownerPage, s.handleOperatorAvailable},
		{"POST /operators/{id}/hours", ownerPage, s.handleOperatorHours},
		{"POST /operators/{id}/delete", ownerPage, s.handleOperatorDelete},
		{"GET /operators/{id}/qr.png", ownerPage, s.handleOperatorQR},
		{"GET /callbacks", viewPage, s.handleCallbacks},
		{"POST /callbacks/{id}/call", viewPage, s.handleCallbackCall},
		{"POST /callbacks/{id}/done", viewPage, s.handleCallbackDone},

		{"GET /api/flow", ownerAPI, s.handleAPIFlow},
		{"PUT /api/flow", ownerAPI, s.handleAPIFlowPut},
		{"GET /api/flow/versions", ownerAPI, s.handleAPIFlowVersions},
		{"POST /api/flow/revert", ownerAPI, s.handleAPIFlowRevert},
		{"GET /api/operators", ownerAPI, s.handleAPIOperators},
		{"POST /api/operators", ownerAPI, s.handleAPIOperatorAdd},
		{"PUT /api/operators/{id}", ownerAPI, s.handleAPIOperatorPut},
		{"DELETE /api/operators/{id}", ownerAPI, s.handleAPIOperatorDelete},
		{"GET /api/callbacks", viewAPI, s.handleAPICallbacks},
		{"POST /api/callbacks/{id}/call", viewAPI, s.handleAPICallbackCall},
		{"POST /api/callbacks/{id}/done", viewAPI, s.handleAPICallbackDone},
		{"GET /prompts", ownerPage, s.handlePrompts},
		{"GET /prompts/{lang}/{name}/audio", ownerPage, s.handlePromptAudio},
		{"POST /prompts/upload", ownerPage, s.handlePromptUpload}, // streamed multipart, see upload.go
		{"POST /prompts/delete", ownerPage, s.handlePromptDelete},
		{"GET /api/prompts", ownerAPI, s.handleAPIPrompts},
		{"GET /backup", ownerPage, s.handleBackup},
		{"POST /backup/download", ownerPage, s.handleBackupDownload}, // POST: the whole box leaves only with the form token
		{"POST /backup/restore", ownerPage, s.handleRestore},         // streamed multipart, see upload.go
		{"POST /backup/cancel", ownerPage, s.handleRestoreCancel},
		{"GET /api/backup/status", ownerAPI, s.handleAPIBackupStatus},
		{"GET /update", ownerPage, s.handleUpdate},
		{"POST /update/upload", ownerPage, s.handleUpdateUpload}, // streamed multipart, see upload.go
		{"POST /update/apply", ownerPage, s.handleUpdateApply},
		{"POST /update/cancel", ownerPage, s.handleUpdateCancel},
		{"GET /api/update/status", ownerAPI, s.handleAPIUpdateStatus},
		{"GET /welcome", ownerPage, s.handleWelcome},
		{"POST /welcome", ownerPage, s.handleWelcomeSave},
		{"GET /testcall", ownerPage, s.handleTestCall},
		{"GET /testcall/ws", ownerPage, s.handleTestCallWS}, // WebSocket, same origin only, see testcall.go
		{"GET /api/calls", viewAPI, s.handleAPICalls},
		{"GET /api/stats", viewAPI, s.handleAPIStats},
		{"GET /api/voicemail", viewAPI, s.handleAPIVoicemail},
		{"GET /api/sms", viewAPI, s.handleAPISMS},
		{"POST /api/sim/call", public, s.handleSimCall}, // simulated lines and loopback only, checked inside

		{"GET /api/settings", ownerAPI, s.handleAPISettings},
		{"PUT /api/settings", ownerAPI, s.handleAPISettingsPut},
		{"GET /api/users", ownerAPI, s.handleAPIUsers},
		{"POST /api/users", ownerAPI, s.handleAPIUserAdd},
		{"DELETE /api/users/{name}", ownerAPI, s.handleAPIUserDelete},
		{"GET /api/audit", ownerAPI, s.handleAPIAudit}, // who changed what (audit.go)

		{"GET /", public, s.handleNotFound},
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routeTable() {
		h := rt.handler
		switch rt.access {
		case viewPage:
			h = s.page(mayView, h)
		case viewAPI:
			h = s.api(mayView, h)
		case ownerPage:
			h = s.page(mayChange, h)
		case ownerAPI:
			h = s.api(mayChange, h)
		}
		mux.HandleFunc(rt.pattern, h)
	}

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.handleCrossOrigin))
	return securityHeaders(cop.Handler(mux))
}

// contentSecurityPolicy allows only the box's own styles, images and audio, no script at all
// beyond files it serves itself, no framing, and forms that post only to the box.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self'; media-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// handleRoot sends the visitor where they belong: setup on a new box, the dashboard when
// logged in, else the login form.
func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	has, err := s.store.HasOwner(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	switch {
	case !has:
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
	case s.currentSession(r) != nil:
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	}
}

// handleLang sets the language cookie and goes back to the page the switch was on.
func (s *Server) handleLang(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	if !knownLang(code) {
		s.handleNotFound(w, r)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: langCookie, Value: code, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secureRequest(r),
	})
	http.Redirect(w, r, localPath(r.URL.Query().Get("back")), http.StatusSeeOther)
}
