package web

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"hotline/daemon"
	"hotline/daemon/store"
)

// Timeouts the lead should set on the http.Server that serves [Server.Handler]. The test-call
// endpoint extends its own write deadline, so WriteTimeout can stay short.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 2 * time.Minute
	IdleTimeout       = 2 * time.Minute
)

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

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleRoot)
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /static/{name}", s.handleStatic)
	mux.HandleFunc("GET /lang/{code}", s.handleLang)

	mux.HandleFunc("GET /setup", s.handleSetupForm)
	mux.HandleFunc("POST /setup", s.handleSetup)
	mux.HandleFunc("GET /login", s.handleLoginForm)
	mux.HandleFunc("POST /login", s.handleLogin)
	mux.HandleFunc("POST /logout", s.handleLogout)
	mux.HandleFunc("GET /password", s.page(s.handlePasswordForm))
	mux.HandleFunc("POST /password", s.page(s.handlePassword))

	mux.HandleFunc("GET /dashboard", s.page(s.handleDashboard))
	mux.HandleFunc("GET /metrics", s.handleMetrics)
	mux.HandleFunc("GET /calls", s.page(s.handleCalls))
	mux.HandleFunc("GET /voicemail", s.page(s.handleVoicemail))
	mux.HandleFunc("GET /voicemail/{id}/audio", s.page(s.handleAudio))
	mux.HandleFunc("POST /voicemail/{id}/handled", s.page(s.handleMarkHandled))
	mux.HandleFunc("GET /sms", s.page(s.handleSMS))
	mux.HandleFunc("POST /sms/{id}/handled", s.page(s.handleSMSHandled))
	mux.HandleFunc("POST /sms/reply", s.page(s.handleSMSReply))

	mux.HandleFunc("GET /api/calls", s.api(s.handleAPICalls))
	mux.HandleFunc("GET /api/voicemail", s.api(s.handleAPIVoicemail))
	mux.HandleFunc("GET /api/sms", s.api(s.handleAPISMS))
	mux.HandleFunc("POST /api/sim/call", s.handleSimCall)

	mux.HandleFunc("GET /", s.handleNotFound)

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
