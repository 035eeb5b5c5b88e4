package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"hotline/daemon/custom"
	"hotline/voice"
	"hotline/voice/importer"
	"hotline/voice/prompts"
	"hotline/voice/wav"
)

// ownerFiles is what the owner keeps on the box besides the database: prompts and backups.
type ownerFiles struct {
	dataDir string
	prompts custom.Prompts
	restart func() // nil: the owner restarts the box

	mu        sync.Mutex
	restoring bool                   // a backup is being received and checked
	std       map[string]promptStats // the standard prompts' length and loudness, by lang/name
}

// promptStats is what the page shows of a prompt besides its sound.
type promptStats struct {
	length time.Duration
	level  custom.Level
	ok     bool
}

// standard returns the length and loudness of an embedded prompt, measured once.
func (o *ownerFiles) standard(lang, name string) promptStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	key := lang + "/" + name
	if st, ok := o.std[key]; ok {
		return st
	}
	var st promptStats
	if smp, err := prompts.Load(lang, name); err == nil {
		st = promptStats{length: custom.Duration(smp), level: custom.Loudness(smp), ok: true}
	}
	if o.std == nil {
		o.std = map[string]promptStats{}
	}
	o.std[key] = st
	return st
}

func newOwnerFiles(dataDir string, restart func()) *ownerFiles {
	return &ownerFiles{
		dataDir: dataDir,
		prompts: custom.Prompts{Dir: filepath.Join(dataDir, custom.PromptDir)},
		restart: restart,
	}
}

type promptsPage struct {
	Lang      string // the prompts' language shown
	LangTabs  []langTab
	Rows      []promptRow
	Form      promptForm
	UploadJS  string
	RecordJS  string
	CSS       string
	MaxMB     int
	SavedName string
}

type langTab struct {
	Code, Name, URL string
	Current         bool
}

type promptRow struct {
	Name, Anchor string
	Text         string // what the standard prompt says
	HasDefault   bool
	Custom       bool
	DefaultURL   string
	CustomURL    string
	Length       string
	Loudness     string
	Changed      string
}

// promptForm is the upload and record form, on /prompts and on the wizard's greeting step.
type promptForm struct {
	CSRF      string
	Lang      string
	Name      string            // preselected name
	Names     []string          // names to pick from; empty: Name is fixed
	Labels    map[string]string // what the standard prompt of a name says, shortened
	Back      string            // where to go after a save
	FieldID   string
	MaxMB     int
	UploadJS  string
	RecordJS  string
	SubmitKey string
}

func promptAudioURL(lang, name string, def bool) string {
	u := "/prompts/" + url.PathEscape(lang) + "/" + url.PathEscape(name) + "/audio"
	if def {
		u += "?default=1"
	}
	return u
}

// promptLangOK reports whether lang is a language the box has prompts in.
func promptLangOK(lang string) bool { return slices.Contains(prompts.Languages(), lang) }

func formatLength(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64)
}

func formatDB(db float64) string {
	if db <= voice.SilenceLevel {
		return "—"
	}
	return strings.Replace(strconv.FormatFloat(math.Round(db), 'f', 0, 64), "-", "−", 1)
}

func (s *Server) promptFormFor(v *view, lang, name string, names []string, back string) promptForm {
	return promptForm{
		CSRF: v.CSRF, Lang: lang, Name: name, Names: names, Back: back, FieldID: "prompt-file",
		MaxMB: custom.MaxUploadBytes >> 20, UploadJS: s.assets.url("upload.js"), RecordJS: s.assets.url("record.js"),
	}
}

func (s *Server) handlePrompts(w http.ResponseWriter, r *http.Request) {
	s.renderPrompts(w, r, http.StatusOK, "")
}

// renderPrompts shows the prompts of the language in ?lang= (default: the box's language),
// with errKey's words as the error when it is set.
func (s *Server) renderPrompts(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	v := s.newView(r, "prm_title")
	v.Nav = "prompts"
	v.Error = errMsg
	lang := r.URL.Query().Get("lang")
	if !promptLangOK(lang) {
		var err error
		if lang, err = s.store.Setting(r.Context(), "language", prompts.DefaultLanguage); err != nil || !promptLangOK(lang) {
			lang = prompts.DefaultLanguage
		}
	}
	if saved := r.URL.Query().Get("saved"); custom.ValidName(saved) {
		v.Notice = fmt.Sprintf(v.T["prm_saved"], saved)
	} else if r.URL.Query().Get("deleted") != "" {
		v.Notice = v.T["prm_deleted"]
	}
	own, err := s.own.prompts.List()
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	mine := map[string]custom.Prompt{}
	for _, p := range own {
		if p.Lang == lang {
			mine[p.Name] = p
		}
	}
	p := promptsPage{Lang: lang, CSS: s.assets.url("custom.css"), MaxMB: custom.MaxUploadBytes >> 20}
	for _, l := range prompts.Languages() {
		name := l
		for _, ll := range languages {
			if ll.Code == l {
				name = ll.Name
			}
		}
		p.LangTabs = append(p.LangTabs, langTab{Code: l, Name: name, URL: "/prompts?lang=" + l, Current: l == lang})
	}
	names := prompts.Names()
	for _, p := range own {
		if p.Lang == lang && !slices.Contains(names, p.Name) {
			names = append(names, p.Name)
		}
	}
	for _, name := range names {
		row := promptRow{Name: name, Anchor: "p-" + lang + "-" + name}
		if text, err := prompts.Text(lang, name); err == nil {
			row.Text, row.HasDefault, row.DefaultURL = text, true, promptAudioURL(lang, name, true)
			if st := s.own.standard(lang, name); st.ok {
				row.Length = formatLength(st.length)
				row.Loudness = formatDB(st.level.VoicedDBm0)
			}
		}
		if m, ok := mine[name]; ok {
			row.Custom, row.CustomURL = true, promptAudioURL(lang, name, false)
			row.Length = formatLength(m.Duration)
			row.Loudness = formatDB(m.Level.VoicedDBm0)
			row.Changed = formatTime(v.Lang, m.ModTime, s.loc)
		}
		p.Rows = append(p.Rows, row)
	}
	pick := r.URL.Query().Get("name")
	if !slices.Contains(names, pick) {
		pick = prompts.Greeting
	}
	p.Form = s.promptFormFor(v, lang, pick, names, "/prompts?lang="+lang)
	p.Form.Labels = map[string]string{}
	for _, row := range p.Rows {
		if r := []rune(row.Text); len(r) > 40 {
			p.Form.Labels[row.Name] = string(r[:39]) + "…"
		} else if len(r) > 0 {
			p.Form.Labels[row.Name] = row.Text
		}
	}
	v.Page = p
	s.render(w, r, status, "prompts.html", v)
}

// handlePromptAudio plays a prompt as WAV: the owner's, or with ?default=1 (or when the owner
// has none) the standard one.
func (s *Server) handlePromptAudio(w http.ResponseWriter, r *http.Request) {
	lang, name := r.PathValue("lang"), r.PathValue("name")
	if !promptLangOK(lang) || !custom.ValidName(name) {
		s.handleNotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "audio/wav")
	h.Set("Cache-Control", "private, no-cache")
	if r.URL.Query().Get("default") != "1" {
		if path, err := s.own.prompts.Path(lang, name); err == nil {
			f, err := os.Open(path)
			if err != nil {
				s.serverError(w, r, fmt.Errorf("open prompt: %w", err))
				return
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				s.serverError(w, r, fmt.Errorf("stat prompt: %w", err))
				return
			}
			http.ServeContent(w, r, "", fi.ModTime(), f)
			return
		}
	}
	smp, err := prompts.Load(lang, name)
	if err != nil {
		h.Del("Content-Type")
		s.handleNotFound(w, r)
		return
	}
	var buf bytes.Buffer
	if err := wav.Encode(&buf, smp, voice.Rate); err != nil {
		s.serverError(w, r, err)
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(buf.Bytes()))
}

// uploadErrorKey names the plain words for why an upload was refused.
func uploadErrorKey(err error) string {
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, errNoUpload):
		return "prm_err_nofile"
	case errors.Is(err, custom.ErrBadName):
		return "prm_err_name"
	case errors.As(err, &tooBig), errors.Is(err, importer.ErrTooLarge):
		return "prm_err_big"
	case errors.Is(err, importer.ErrTooLong):
		return "prm_err_long"
	case errors.Is(err, importer.ErrSilent):
		return "prm_err_silent"
	case errors.Is(err, importer.ErrUnsupported):
		return "prm_err_format"
	case errors.Is(err, importer.ErrNotAudio):
		return "prm_err_notaudio"
	}
	return ""
}

// handlePromptUpload saves an uploaded or recorded sound as one of the owner's prompts. Fields,
// in this order after the form token: lang, name (or new_name), back; then the file "audio".
func (s *Server) handlePromptUpload(w http.ResponseWriter, r *http.Request) {
	form, err := readUpload(r, "audio")
	back := localPath(form.Fields["back"])
	if !strings.HasPrefix(back, "/prompts") && !strings.HasPrefix(back, "/welcome") {
		back = "/prompts"
	}
	refuse := func(key string) {
		msg := messages[pickLang(r)][key]
		if strings.HasPrefix(back, "/welcome") {
			s.renderWelcome(w, r, http.StatusBadRequest, welcomeGreeting, msg)
			return
		}
		s.renderPrompts(w, r, http.StatusBadRequest, msg)
	}
	if err != nil && !errors.Is(err, errNoUpload) {
		if key := uploadErrorKey(err); key != "" {
			refuse(key)
			return
		}
		s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
		return
	}
	if form.File == nil {
		refuse("prm_err_nofile")
		return
	}
	lang, name := form.Fields["lang"], form.Fields["name"]
	if n := form.Fields["new_name"]; n != "" {
		name = strings.ToLower(n)
	}
	if !promptLangOK(lang) {
		refuse("prm_err_name")
		return
	}
	saved, err := s.own.prompts.Save(lang, name, form.File, custom.MaxUploadBytes)
	if err != nil {
		key := uploadErrorKey(err)
		if key == "" {
			s.serverError(w, r, err)
			return
		}
		s.log.Info("prompt upload refused", "lang", lang, "name", name, "error", err)
		refuse(key)
		return
	}
	user := sessionFrom(r.Context()).User.Name
	s.audit(r.Context(), user, "prompt_saved", fmt.Sprintf("%s/%s %.1f s", lang, name, saved.Duration.Seconds()))
	if strings.HasPrefix(back, "/prompts") {
		back = "/prompts?lang=" + lang + "&saved=" + name + "#p-" + lang + "-" + name
	} else {
		back += "&saved=1"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// handlePromptDelete removes the owner's prompt: the standard one plays again.
func (s *Server) handlePromptDelete(w http.ResponseWriter, r *http.Request) {
	lang, name := r.PostFormValue("lang"), r.PostFormValue("name")
	if !promptLangOK(lang) || !custom.ValidName(name) {
		s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
		return
	}
	if err := s.own.prompts.Delete(lang, name); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "prompt_deleted", lang+"/"+name)
	http.Redirect(w, r, "/prompts?lang="+lang+"&deleted=1", http.StatusSeeOther)
}

type promptJSON struct {
	Lang            string  `json:"lang"`
	Name            string  `json:"name"`
	Text            string  `json:"text,omitempty"`
	Standard        bool    `json:"standard"`
	Custom          bool    `json:"custom"`
	DurationSeconds float64 `json:"duration_seconds"`
	LevelDBm0       float64 `json:"level_dbm0"`
	PeakDBm0        float64 `json:"peak_dbm0"`
	AudioURL        string  `json:"audio_url"`
}

// handleAPIPrompts lists every prompt the flow can use, in every language, with the one that
// plays (the owner's when there is one).
func (s *Server) handleAPIPrompts(w http.ResponseWriter, r *http.Request) {
	own, err := s.own.prompts.List()
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := struct {
		Prompts []promptJSON `json:"prompts"`
	}{Prompts: []promptJSON{}}
	seen := map[string]bool{}
	for _, p := range own {
		text, terr := prompts.Text(p.Lang, p.Name)
		out.Prompts = append(out.Prompts, promptJSON{
			Lang: p.Lang, Name: p.Name, Text: text, Standard: terr == nil, Custom: true,
			DurationSeconds: p.Duration.Seconds(), LevelDBm0: p.Level.VoicedDBm0, PeakDBm0: p.Level.PeakDBm0,
			AudioURL: promptAudioURL(p.Lang, p.Name, false),
		})
		seen[p.Lang+"/"+p.Name] = true
	}
	for _, lang := range prompts.Languages() {
		for _, name := range prompts.Names() {
			if seen[lang+"/"+name] {
				continue
			}
			st := s.own.standard(lang, name)
			if !st.ok {
				continue
			}
			text, _ := prompts.Text(lang, name)
			out.Prompts = append(out.Prompts, promptJSON{
				Lang: lang, Name: name, Text: text, Standard: true,
				DurationSeconds: st.length.Seconds(), LevelDBm0: st.level.VoicedDBm0, PeakDBm0: st.level.PeakDBm0,
				AudioURL: promptAudioURL(lang, name, true),
			})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

//go:embed partials/*.html
var partialFiles embed.FS
