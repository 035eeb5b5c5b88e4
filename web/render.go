package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"hotline/daemon/store"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// pageFiles lists every page template; each is parsed together with base.html. New fails if
// templates/ holds a file that is not listed here, so a page cannot be forgotten.
var pageFiles = []string{"setup.html", "login.html", "calls.html", "voicemail.html", "password.html", "error.html", "dashboard.html", "sms.html",
	"call.html", "stats.html", "settings.html", "users.html",
	"flow.html", "hours.html", "operators.html", "callbacks.html",
	"prompts.html", "backup.html", "welcome.html", "panel.html"}

func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("base.html").ParseFS(templateFiles, "templates/base.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse base template: %w", err)
	}
	// Pieces that several pages use (partials/*.html), parsed with every page.
	if base, err = base.ParseFS(partialFiles, "partials/*.html"); err != nil {
		return nil, fmt.Errorf("web: parse partial templates: %w", err)
	}
	pages := make(map[string]*template.Template, len(pageFiles))
	for _, name := range pageFiles {
		t, err := template.Must(base.Clone()).ParseFS(templateFiles, "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("web: parse template %s: %w", name, err)
		}
		pages[name] = t
	}
	entries, err := fs.ReadDir(templateFiles, "templates")
	if err != nil {
		return nil, fmt.Errorf("web: list templates: %w", err)
	}
	for _, e := range entries {
		if _, ok := pages[e.Name()]; !ok && e.Name() != "base.html" {
			return nil, fmt.Errorf("web: template %s is not listed in pageFiles", e.Name())
		}
	}
	return pages, nil
}

// view is what every page template gets. Page holds the page's own data.
type view struct {
	Lang         string
	T            map[string]string
	Title        string
	Nav          string // "dashboard", "calls", "voicemail" or "password": the current section
	User         *store.User
	CSRF         string
	NewVoicemail int // unhandled messages, for the badge in the menu
	Error        string
	Notice       string
	Langs        []langLink
	Asset        assetURLs
	Page         any
	// Insecure is the admin's secure address when this page came over plain HTTP from
	// another machine and the admin is served over HTTPS too: the login and claim pages
	// point to it before a password is typed.
	Insecure *secureView
}

type langLink struct {
	Code, Name, URL string
	Current         bool
}

type assetURLs struct{ CSS, Icon string }

// newView fills the parts of a view every page shares.
func (s *Server) newView(r *http.Request, titleKey string) *view {
	lang := pickLang(r)
	v := &view{
		Lang:  lang,
		T:     messages[lang],
		Title: messages[lang][titleKey],
		Asset: assetURLs{CSS: s.assets.url("style.css"), Icon: s.assets.url("icon.svg")},
	}
	if !secureRequest(r) {
		v.Insecure = s.secureView(r)
	}
	back := url.QueryEscape(r.URL.RequestURI())
	for _, l := range languages {
		v.Langs = append(v.Langs, langLink{
			Code: l.Code, Name: l.Name, Current: l.Code == lang,
			URL: "/lang/" + l.Code + "?back=" + back,
		})
	}
	if sess := sessionFrom(r.Context()); sess != nil {
		u := sess.User
		v.User = &u
		v.CSRF = sess.CSRF
		if n, err := s.store.CountNewVoicemail(r.Context()); err == nil {
			v.NewVoicemail = min(n, 1000)
		} else {
			s.log.Warn("count new voicemail", "error", err)
		}
	}
	return v
}

// render executes a page into a buffer first, so a template error becomes a clean 500
// instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	t, ok := s.pages[page]
	if !ok {
		s.serverError(w, r, fmt.Errorf("no page %q", page))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base", v); err != nil {
		s.serverError(w, r, fmt.Errorf("render %s: %w", page, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Cookie, Accept-Language")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderError shows the error page with one message.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msgKey string) {
	v := s.newView(r, "err_title")
	v.Error = v.T[msgKey]
	s.render(w, r, status, "error.html", v)
}

func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("web request failed", "error", err,
		slog.Group("request", "method", r.Method, "path", r.URL.Path))
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, http.StatusInternalServerError, apiError{Error: "internal error"})
		return
	}
	// Plain text: the page template itself may be what failed.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte(messages[pickLang(r)]["err_internal"] + "\n"))
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, http.StatusNotFound, apiError{Error: "not found"})
		return
	}
	s.renderError(w, r, http.StatusNotFound, "err_notfound")
}

// handleCrossOrigin answers a state change that a browser says came from another site.
func (s *Server) handleCrossOrigin(w http.ResponseWriter, r *http.Request) {
	s.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path,
		"origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, http.StatusForbidden, apiError{Error: "cross-origin request refused"})
		return
	}
	s.renderError(w, r, http.StatusForbidden, "err_forbidden")
}

type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":"internal error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// localPath returns p when it is a path on this site, else "/". It keeps redirects from
// leaving the box ("//evil.example", "https://...", "/\evil.example").
func localPath(p string) string {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return p
}

// assets are the embedded static files with their content hashes, served with long caching
// under a URL that changes when the file does.
type assets struct {
	files map[string]asset
}

type asset struct {
	data  []byte
	hash  string
	ctype string
}

func loadAssets() (*assets, error) {
	a := &assets{files: make(map[string]asset)}
	entries, err := fs.ReadDir(staticFiles, "static")
	if err != nil {
		return nil, fmt.Errorf("web: list static files: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := staticFiles.ReadFile("static/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("web: read static file %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(data)
		ctype := mime.TypeByExtension(path.Ext(e.Name()))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		a.files[e.Name()] = asset{data: data, hash: hex.EncodeToString(sum[:6]), ctype: ctype}
	}
	return a, nil
}

// url is the versioned address of an asset.
func (a *assets) url(name string) string {
	f, ok := a.files[name]
	if !ok {
		return "/static/" + name
	}
	return "/static/" + name + "?v=" + f.hash
}

func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	f, ok := s.assets.files[r.PathValue("name")]
	if !ok {
		s.handleNotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", `"`+f.hash+`"`)
	if r.URL.Query().Get("v") == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=3600")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
}
