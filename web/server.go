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
		{"GET /voicemail", viewPage, s.handleVoicemail},
		{"GET /voicemail/{id}/audio", viewPage, s.handleAudio},
		{"POST /voicemail/{id}/handled", viewPage, s.handleMarkHandled},
		{"GET /sms", viewPage, s.handleSMS},
		{"POST /sms/{id}/handled", viewPage, s.handleSMSHandled},
		{"POST /sms/reply", viewPage, s.handleSMSReply},

		{"GET /api/calls", viewAPI, s.handleAPICalls},
		{"GET /api/voicemail", viewAPI, s.handleAPIVoicemail},
		{"GET /api/sms", viewAPI, s.handleAPISMS},
		{"POST /api/sim/call", public, s.handleSimCall}, // simulated lines and loopback only, checked inside

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
