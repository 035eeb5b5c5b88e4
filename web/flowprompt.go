package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"hotline/daemon/custom"
	"hotline/voice/prompts"
)

// The flow editor records or uploads a prompt inside a step's form (static/flows.js): the
// sound goes to POST /flow/prompt as a streamed multipart upload (form token, lang, name, then
// the file "audio"), is imported like any prompt upload, and the answer is JSON, so the page
// adds the new prompt to its lists and picks it without leaving the editor or losing the draft.

// flowPromptJSON answers a saved prompt.
type flowPromptJSON struct {
	Name            string   `json:"name"`
	Lang            string   `json:"lang"`
	Label           string   `json:"label"`
	DurationSeconds float64  `json:"duration_seconds"`
	Langs           []string `json:"langs"` // the languages it was saved in
}

// handleFlowPrompt saves the uploaded or recorded sound as the owner's prompt name in lang.
// A name that is no standard prompt is also saved in the box's other languages that lack it,
// so a flow may play it whatever language the caller chose (the linter asks for every one).
func (s *Server) handleFlowPrompt(w http.ResponseWriter, r *http.Request) {
	T := messages[pickLang(r)]
	refuse := func(key string) { writeJSON(w, http.StatusBadRequest, apiError{Error: T[key]}) }
	form, err := readUpload(r, "audio")
	if err != nil && !errors.Is(err, errNoUpload) {
		if key := uploadErrorKey(err); key != "" {
			refuse(key)
			return
		}
		refuse("err_bad_request")
		return
	}
	if form.File == nil {
		refuse("prm_err_nofile")
		return
	}
	lang, name := form.Fields["lang"], strings.ToLower(form.Fields["name"])
	if !promptLangOK(lang) || !custom.ValidName(name) {
		refuse("prm_err_name")
		return
	}
	saved, err := s.own.prompts.Save(lang, name, form.File, custom.MaxUploadBytes)
	if err != nil {
		if key := uploadErrorKey(err); key != "" {
			s.log.Info("prompt upload refused", "lang", lang, "name", name, "error", err)
			refuse(key)
			return
		}
		s.jsonServerError(w, r, err)
		return
	}
	out := flowPromptJSON{Name: name, Lang: lang, DurationSeconds: saved.Duration.Seconds(), Langs: []string{lang}}
	if !slices.Contains(prompts.Names(), name) {
		for _, other := range prompts.Languages() {
			if other == lang || s.own.prompts.Has(other, name) {
				continue
			}
			if err := s.copyPrompt(lang, other, name); err != nil {
				s.jsonServerError(w, r, err)
				return
			}
			out.Langs = append(out.Langs, other)
		}
	}
	out.Label = promptLabel(pickLang(r), T, name)
	user := sessionFrom(r.Context()).User.Name
	s.audit(r.Context(), user, "prompt_saved", fmt.Sprintf("%s/%s %.1f s (flow editor)", strings.Join(out.Langs, ","), name, saved.Duration.Seconds()))
	writeJSON(w, http.StatusOK, out)
}

// copyPrompt saves the owner's prompt name of language from under language to as well.
func (s *Server) copyPrompt(from, to, name string) error {
	path, err := s.own.prompts.Path(from, name)
	if err != nil {
		return fmt.Errorf("copy prompt %s: %w", name, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("copy prompt %s: %w", name, err)
	}
	defer f.Close()
	if _, err := s.own.prompts.Save(to, name, f, custom.MaxUploadBytes); err != nil {
		return fmt.Errorf("copy prompt %s to %s: %w", name, to, err)
	}
	return nil
}

// jsonServerError logs err and answers a JSON 500.
func (s *Server) jsonServerError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("web request failed", "error", err, "method", r.Method, "path", r.URL.Path)
	writeJSON(w, http.StatusInternalServerError, apiError{Error: "internal error"})
}

// promptLabel is how a prompt select names prompt name: what the standard one says, or the
// owner's recording by its name.
func promptLabel(lang string, T map[string]string, name string) string {
	if text, err := prompts.Text(lang, name); err == nil {
		return truncateRunes(text, 60)
	}
	return ownPromptLabel(T["flow_own_prompt"], name)
}

// ownPromptLabel names an owner's recording in a prompt select.
func ownPromptLabel(format, name string) string {
	return fmt.Sprintf(format, name)
}

// ownPromptNames lists the owner's recordings that are no standard prompt, sorted, for the
// prompt selects. A folder that cannot be read lists none (the page still works).
func (s *Server) ownPromptNames() []string {
	list, err := s.own.prompts.List()
	if err != nil {
		s.log.Warn("list own prompts", "error", err)
		return nil
	}
	std := prompts.Names()
	var names []string
	for _, p := range list {
		if !slices.Contains(std, p.Name) && !slices.Contains(names, p.Name) {
			names = append(names, p.Name)
		}
	}
	slices.Sort(names)
	return names
}

// promptLang is the language a prompt recorded in the editor is saved in: the box's.
func (s *Server) promptLang(ctx context.Context) string {
	lang, err := s.store.Setting(ctx, "language", prompts.DefaultLanguage)
	if err != nil || !promptLangOK(lang) {
		return prompts.DefaultLanguage
	}
	return lang
}

// suggestPromptName is the name offered for a new prompt of step id: "my_" and the id's
// letters and digits, lower case (a prompt name is [a-z0-9_], at most 40).
func suggestPromptName(id string) string {
	var b strings.Builder
	b.WriteString("my_")
	for _, r := range strings.ToLower(id) {
		if b.Len() >= 40 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r == '-' || r == ' ' || r == '.':
			b.WriteByte('_')
		}
	}
	if b.Len() == 3 {
		b.WriteString("prompt")
	}
	return b.String()
}
