package web

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"hotline/daemon"
	"hotline/daemon/store"
	"hotline/voice/ivr"
	"hotline/voice/prompts"
)

// The first-run wizard: after the owner claims the box, /welcome walks through the few things
// a hotline needs, one plain form per screen, each skippable. The setting "wizard_done" ends it.
const (
	settingWizardDone   = "wizard_done"
	settingBusinessName = "business_name"
	settingPromptLang   = "language"
	maxBusinessName     = 100
)

// The wizard's steps, in order.
const (
	welcomeName = iota + 1
	welcomeLanguage
	welcomeHours
	welcomeGreeting
	welcomeOperators
	welcomeSteps = welcomeOperators
)

var welcomeTitles = map[int]string{
	welcomeName: "wz_name_title", welcomeLanguage: "wz_lang_title", welcomeHours: "wz_hours_title",
	welcomeGreeting: "wz_greeting_title", welcomeOperators: "wz_ops_title",
}

// welcomeZones are the time zones offered; another valid one already in the flow is added.
var welcomeZones = []string{
	"Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk",
	"Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok",
	"Asia/Magadan", "Asia/Kamchatka", "Europe/Minsk", "Asia/Almaty", "Asia/Tashkent",
	"Europe/Kyiv", "Europe/Istanbul", "Europe/Berlin", "Europe/London", "UTC",
}

var weekDays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

var clockRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$`)

type welcomePage struct {
	Step, Steps int
	StepOf      string
	Heading     string
	Next, Prev  string // URLs of the next and previous screens ("" on the ends)
	CSS         string

	BusinessName string
	Language     string
	Languages    []langTab
	Zones        []zoneOption
	Open, Close  string
	Days         []dayOption
	HoursNote    string

	GreetingLang    string
	GreetingCustom  bool
	GreetingURL     string
	GreetingDefault string
	GreetingText    string
	Form            promptForm
}

type zoneOption struct {
	Value    string
	Selected bool
}

type dayOption struct {
	Key, Label string
	Checked    bool
}

// needsWelcome reports whether the owner has not finished or skipped the wizard yet.
func (s *Server) needsWelcome(r *http.Request) bool {
	v, err := s.store.Setting(r.Context(), settingWizardDone, "")
	return err == nil && v == ""
}

func welcomeStep(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("step"))
	if err != nil || n < 1 || n > welcomeSteps {
		return welcomeName
	}
	return n
}

func welcomeURL(step int) string { return "/welcome?step=" + strconv.Itoa(step) }

func (s *Server) handleWelcome(w http.ResponseWriter, r *http.Request) {
	s.renderWelcome(w, r, http.StatusOK, welcomeStep(r), "")
}

// promptLanguage is the language the box's prompts speak.
func (s *Server) promptLanguage(r *http.Request) string {
	lang, err := s.store.Setting(r.Context(), settingPromptLang, prompts.DefaultLanguage)
	if err != nil || !promptLangOK(lang) {
		return prompts.DefaultLanguage
	}
	return lang
}

// renderWelcome shows one step of the wizard, with errMsg as its error when set; a failed
// form keeps what the owner typed (r.PostForm).
func (s *Server) renderWelcome(w http.ResponseWriter, r *http.Request, status, step int, errMsg string) {
	ctx := r.Context()
	v := s.newView(r, welcomeTitles[step])
	v.Nav = "welcome"
	v.Error = errMsg
	T := v.T
	p := welcomePage{
		Step: step, Steps: welcomeSteps, Heading: T[welcomeTitles[step]],
		StepOf: fmt.Sprintf(T["wz_step_of"], step, welcomeSteps), CSS: s.assets.url("custom.css"),
	}
	if step > 1 {
		p.Prev = welcomeURL(step - 1)
	}
	if step < welcomeSteps {
		p.Next = welcomeURL(step + 1)
	}
	posted := func(key, stored string) string {
		if r.Method == http.MethodPost && r.PostForm != nil {
			return r.PostForm.Get(key)
		}
		return stored
	}
	switch step {
	case welcomeName:
		name, err := s.store.Setting(ctx, settingBusinessName, "")
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		p.BusinessName = posted("business_name", name)
	case welcomeLanguage:
		p.Language = s.promptLanguage(r)
		for _, l := range prompts.Languages() {
			p.Languages = append(p.Languages, langTab{Code: l, Name: T["wz_lang_"+l], Current: l == p.Language})
		}
	case welcomeHours:
		sch, _, err := s.currentSchedule(r)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		tz, open, closeAt, days := "Europe/Moscow", "09:00", "18:00", map[string]bool{}
		if sch != nil {
			tz = sch.TimeZone
			for _, d := range weekDays {
				if spans := sch.Week[d]; len(spans) > 0 {
					days[d] = true
					if a, b, ok := strings.Cut(spans[0], "-"); ok {
						open, closeAt = a, b
					}
				}
			}
		} else {
			p.HoursNote = T["wz_hours_noschedule"]
		}
		if r.Method == http.MethodPost && r.PostForm != nil {
			tz, open, closeAt = r.PostForm.Get("tz"), r.PostForm.Get("open"), r.PostForm.Get("close")
			days = map[string]bool{}
			for _, d := range r.PostForm["day"] {
				days[d] = true
			}
		}
		zones := welcomeZones
		if !slices.Contains(zones, tz) {
			if _, err := time.LoadLocation(tz); err == nil && tz != "" && utf8.ValidString(tz) && len(tz) < 64 {
				zones = append([]string{tz}, zones...)
			}
		}
		for _, z := range zones {
			p.Zones = append(p.Zones, zoneOption{Value: z, Selected: z == tz})
		}
		p.Open, p.Close = open, closeAt
		for _, d := range weekDays {
			p.Days = append(p.Days, dayOption{Key: d, Label: T["wz_day_"+d], Checked: days[d]})
		}
	case welcomeGreeting:
		lang := s.promptLanguage(r)
		p.GreetingLang = lang
		p.GreetingCustom = s.own.prompts.Has(lang, prompts.Greeting)
		p.GreetingURL = promptAudioURL(lang, prompts.Greeting, false)
		p.GreetingDefault = promptAudioURL(lang, prompts.Greeting, true)
		p.GreetingText, _ = prompts.Text(lang, prompts.Greeting)
		p.Form = s.promptFormFor(v, lang, prompts.Greeting, nil, welcomeURL(welcomeGreeting))
		if r.URL.Query().Get("saved") == "1" {
			v.Notice = T["wz_greeting_saved"]
		}
	}
	v.Page = p
	s.render(w, r, status, "welcome.html", v)
}

// currentSchedule returns the working hours of the newest flow (the default flow's when none
// is saved yet): the start node's schedule, else the first schedule node's; nil when the flow
// has none.
func (s *Server) currentSchedule(r *http.Request) (*ivr.Schedule, *ivr.Flow, error) {
	var f *ivr.Flow
	fv, err := s.store.Flow(r.Context(), 0)
	switch {
	case errors.Is(err, store.ErrNotFound):
		f = ivr.Default(s.promptLanguage(r))
	case err != nil:
		return nil, nil, err
	default:
		if f, err = ivr.Parse(fv.JSON); err != nil {
			return nil, nil, fmt.Errorf("welcome: the stored flow: %w", err)
		}
	}
	var first *ivr.Node
	for i := range f.Nodes {
		n := &f.Nodes[i]
		if n.Kind != ivr.KindSchedule || n.Schedule == nil {
			continue
		}
		if n.ID == f.Start {
			return n.Schedule, f, nil
		}
		if first == nil {
			first = n
		}
	}
	if first != nil {
		return first.Schedule, f, nil
	}
	return nil, f, nil
}

// handleWelcomeSave stores one step and goes on to the next.
func (s *Server) handleWelcomeSave(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	step, err := strconv.Atoi(r.PostFormValue("step"))
	if err != nil || step < 1 || step > welcomeSteps {
		s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
		return
	}
	T := messages[pickLang(r)]
	user := sessionFrom(ctx).User.Name
	fail := func(key string) { s.renderWelcome(w, r, http.StatusBadRequest, step, T[key]) }
	switch step {
	case welcomeName:
		name := strings.Join(strings.Fields(cleanDisplay(r.PostForm.Get("business_name"))), " ")
		if utf8.RuneCountInString(name) > maxBusinessName {
			fail("wz_err_name_long")
			return
		}
		if err := s.store.SetSetting(ctx, settingBusinessName, name); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.audit(ctx, user, "setting_changed", settingBusinessName)
	case welcomeLanguage:
		lang := r.PostForm.Get("language")
		if !promptLangOK(lang) {
			fail("err_bad_request")
			return
		}
		if err := s.store.SetSetting(ctx, settingPromptLang, lang); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.audit(ctx, user, "setting_changed", settingPromptLang+"="+lang)
	case welcomeHours:
		if msg, ok := s.saveWelcomeHours(r, user); !ok {
			s.renderWelcome(w, r, http.StatusBadRequest, step, msg)
			return
		}
	case welcomeGreeting:
		if r.PostForm.Get("choice") == "standard" {
			if err := s.own.prompts.Delete(s.promptLanguage(r), prompts.Greeting); err != nil {
				s.serverError(w, r, err)
				return
			}
			s.audit(ctx, user, "prompt_deleted", s.promptLanguage(r)+"/"+prompts.Greeting)
		}
	case welcomeOperators:
		if err := s.store.SetSetting(ctx, settingWizardDone, time.Now().UTC().Format(time.RFC3339)); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.audit(ctx, user, "setting_changed", settingWizardDone)
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, welcomeURL(step+1), http.StatusSeeOther)
}

// saveWelcomeHours writes the time zone and the working hours into the flow's schedule and
// saves the flow as a new version. On a refusal it returns the words to show.
func (s *Server) saveWelcomeHours(r *http.Request, user string) (string, bool) {
	lang := pickLang(r)
	T := messages[lang]
	tz, open, closeAt := r.PostForm.Get("tz"), r.PostForm.Get("open"), r.PostForm.Get("close")
	if _, err := time.LoadLocation(tz); err != nil || tz == "" || strings.EqualFold(tz, "local") {
		return T["wz_err_tz"], false
	}
	if !clockRE.MatchString(open) || !clockRE.MatchString(closeAt) || open >= closeAt {
		return T["wz_err_hours"], false
	}
	days := r.PostForm["day"]
	week := map[string][]string{}
	for _, d := range days {
		if !slices.Contains(weekDays, d) {
			return T["err_bad_request"], false
		}
		week[d] = []string{open + "-" + closeAt}
	}
	if len(week) == 0 {
		return T["wz_err_days"], false
	}
	sch, f, err := s.currentSchedule(r)
	if err != nil {
		s.log.Error("welcome: load flow", "error", err)
		return T["err_internal"], false
	}
	if sch == nil {
		return T["wz_hours_noschedule"], false
	}
	sch.TimeZone, sch.Week = tz, week
	data, err := f.MarshalIndent()
	if err != nil {
		s.log.Error("welcome: marshal flow", "error", err)
		return T["err_internal"], false
	}
	_, _, err = daemon.SaveFlow(r.Context(), s.store, data, user, "working hours (first-run setup)")
	var fp *daemon.FlowProblems
	switch {
	case errors.As(err, &fp):
		var words []string
		for _, p := range fp.Problems {
			if p.Severity == ivr.SeverityError {
				words = append(words, p.Message(lang))
			}
		}
		return T["wz_err_flow"] + " " + strings.Join(words, " "), false
	case err != nil:
		s.log.Error("welcome: save flow", "error", err)
		return T["err_internal"], false
	}
	return "", true
}
