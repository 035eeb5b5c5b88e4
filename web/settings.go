package web

import (
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"hotline/daemon"
)

// Settings of the box the settings page changes besides the alerts (daemon's constants).
const (
	settingLanguage    = "language"     // the prompts' language: "ru" or "en"
	settingAnswerRings = "answer_rings" // rings before the box answers, 1..10
	settingRegion      = "region"       // the region numbers without a country code are read in
	defaultRegion      = "RU"
	maxAnswerRings     = 10
	maxMissedSMSRunes  = 670 // ten SMS parts in Cyrillic
	alertsShown        = 30
)

// promptLanguages are the languages the prompts can speak.
var promptLanguages = []string{langRU, langEN}

type settingsPage struct {
	CSS         string
	Values      map[string]string // what the form shows; never the SMTP password
	PasswordSet bool              // an SMTP password is stored
	Languages   []option
	Regions     []option
	Rings       []option
	Alerts      []alertRow
	Errors      map[string]string // by field, in plain words
	Clock       clockView         // the box's time and time zone (clock.go)
	Secure      *secureView       // the admin over HTTPS (tls.go); nil: not served
	// The retention fields' upper limits, for the browser's own check.
	MaxRetentionDays, MaxRetentionMB int
}

type alertRow struct {
	Time, TimeISO string
	Channel       string
	Kind          string
	State         string
	StateClass    string
	Error         string
}

// settingFields are the text settings the form carries, with their defaults.
var settingFields = []struct{ key, def string }{
	{daemon.SettingAlertSMS, ""},
	{daemon.SettingAlertEmail, ""},
	{daemon.SettingAlertWebhook, ""},
	{daemon.SettingSMTPHost, ""},
	{daemon.SettingSMTPUser, ""},
	{daemon.SettingSMTPFrom, ""},
	{daemon.SettingMissedSMS, ""},
	{settingLanguage, langRU},
	{settingAnswerRings, "1"},
	{settingRegion, defaultRegion},
	{daemon.SettingRetentionDays, "0"},
	{daemon.SettingRetentionMB, "0"},
}

// Upper limits of the retention fields: ten years, a terabyte.
const (
	maxRetentionDays = 3650
	maxRetentionMB   = 1_000_000
)

func (s *Server) handleSettingsForm(w http.ResponseWriter, r *http.Request) {
	values := map[string]string{}
	for _, f := range settingFields {
		v, err := s.store.Setting(r.Context(), f.key, f.def)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		values[f.key] = v
	}
	v := s.newView(r, "settings_title")
	if r.URL.Query().Get("saved") == "1" {
		v.Notice = v.T["settings_saved"]
	}
	clockNotice(r, v)
	s.renderSettings(w, r, v, http.StatusOK, values, nil)
}

func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, v *view, status int, values, errs map[string]string) {
	ctx := r.Context()
	pw, err := s.store.Setting(ctx, daemon.SettingSMTPPassword, "")
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v.Nav = "settings"
	p := settingsPage{CSS: s.assets.url("admin.css"), Values: values, PasswordSet: pw != "", Errors: errs,
		MaxRetentionDays: maxRetentionDays, MaxRetentionMB: maxRetentionMB}
	p.Clock = s.clockView(ctx, v)
	p.Secure = s.secureView(r)
	for _, l := range promptLanguages {
		p.Languages = append(p.Languages, option{Value: l, Label: v.T["prompt_lang_"+l], Selected: values[settingLanguage] == l})
	}
	for n := 1; n <= maxAnswerRings; n++ {
		s := strconv.Itoa(n)
		p.Rings = append(p.Rings, option{Value: s, Label: s, Selected: values[settingAnswerRings] == s})
	}
	for _, reg := range regionList() {
		p.Regions = append(p.Regions, option{Value: reg, Label: reg + " (+" + strconv.Itoa(phonenumbers.GetCountryCodeForRegion(reg)) + ")",
			Selected: values[settingRegion] == reg})
	}
	alerts, err := s.store.Alerts(ctx, alertsShown)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	for _, a := range alerts {
		row := alertRow{
			Time:    formatTime(v.Lang, a.CreatedAt, s.loc),
			TimeISO: a.CreatedAt.In(s.loc).Format(time.RFC3339),
			Channel: wordOr(v.T, "channel_"+a.Channel, a.Channel),
			Kind:    wordOr(v.T, "alert_kind_"+a.Kind, a.Kind),
			Error:   cleanDisplay(a.LastError),
		}
		switch {
		case !a.SentAt.IsZero():
			row.State, row.StateClass = v.T["alert_sent"], "out-completed"
		case a.LastError != "" && a.NextAt.After(time.Now().AddDate(10, 0, 0)):
			row.State, row.StateClass = v.T["alert_gave_up"], "out-failed"
		case a.LastError != "":
			row.State, row.StateClass = v.T["alert_retrying"], "out-abandoned"
		default:
			row.State, row.StateClass = v.T["alert_pending"], "out-progress"
		}
		p.Alerts = append(p.Alerts, row)
	}
	if len(errs) > 0 {
		v.Error = v.T["settings_fix"]
	}
	v.Page = p
	s.render(w, r, status, "settings.html", v)
}

// wordOr is the translation of key, or the cleaned fallback when there is none.
func wordOr(T map[string]string, key, fallback string) string {
	if w, ok := T[key]; ok {
		return w
	}
	return cleanDisplay(fallback)
}

// regionList is the regions offered for numbers: the usual ones first, then every other the
// phone number library knows, by code.
func regionList() []string {
	first := []string{"RU", "KZ", "BY", "UZ", "KG", "AM", "GE", "AZ", "UA", "DE", "US", "GB"}
	seen := map[string]bool{}
	out := append([]string(nil), first...)
	for _, r := range first {
		seen[r] = true
	}
	var rest []string
	for r := range phonenumbers.GetSupportedRegions() {
		if !seen[r] {
			rest = append(rest, r)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// handleSettings checks and saves the settings form. Nothing is saved when a field is wrong;
// the form comes back with the owner's input and a word next to each wrong field. An empty
// SMTP password field keeps the stored password.
func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request) {
	in := map[string]string{}
	for _, f := range settingFields {
		in[f.key] = strings.TrimSpace(r.PostFormValue(f.key))
	}
	in[daemon.SettingMissedSMS] = cleanMultiline(r.PostFormValue(daemon.SettingMissedSMS))
	v := s.newView(r, "settings_title")
	errs := validateSettings(v.T, in)
	newPassword := r.PostFormValue(daemon.SettingSMTPPassword)
	clearPassword := r.PostFormValue("smtp_password_clear") == "1"
	if len(newPassword) > 256 || strings.ContainsAny(newPassword, "\r\n\x00") {
		errs[daemon.SettingSMTPPassword] = v.T["err_smtp_password"]
	}
	if len(errs) > 0 {
		s.renderSettings(w, r, v, http.StatusBadRequest, in, errs)
		return
	}
	ctx := r.Context()
	var changed []string
	for _, f := range settingFields {
		old, err := s.store.Setting(ctx, f.key, f.def)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if old == in[f.key] {
			continue
		}
		if err := s.store.SetSetting(ctx, f.key, in[f.key]); err != nil {
			s.serverError(w, r, err)
			return
		}
		changed = append(changed, f.key)
	}
	switch {
	case newPassword != "":
		if err := s.store.SetSetting(ctx, daemon.SettingSMTPPassword, newPassword); err != nil {
			s.serverError(w, r, err)
			return
		}
		changed = append(changed, daemon.SettingSMTPPassword)
	case clearPassword:
		if err := s.store.SetSetting(ctx, daemon.SettingSMTPPassword, ""); err != nil {
			s.serverError(w, r, err)
			return
		}
		changed = append(changed, daemon.SettingSMTPPassword+" (cleared)")
	}
	if len(changed) > 0 {
		s.audit(ctx, sessionFrom(ctx).User.Name, "settings changed", strings.Join(changed, ", "))
	}
	http.Redirect(w, r, "/settings?saved=1", http.StatusSeeOther)
}

// validateSettings checks the form and puts the values in their stored form (a phone number
// in E.164); it returns the wrong fields with what is wrong, in plain words.
func validateSettings(T map[string]string, in map[string]string) map[string]string {
	errs := map[string]string{}
	region := strings.ToUpper(in[settingRegion])
	if _, ok := phonenumbers.GetSupportedRegions()[region]; !ok {
		errs[settingRegion] = T["err_region"]
		region = defaultRegion
	}
	in[settingRegion] = region
	if n := in[daemon.SettingAlertSMS]; n != "" {
		num, err := phonenumbers.Parse(n, region)
		if err != nil || !phonenumbers.IsValidNumber(num) {
			errs[daemon.SettingAlertSMS] = T["err_phone"]
		} else {
			in[daemon.SettingAlertSMS] = phonenumbers.Format(num, phonenumbers.E164)
		}
	}
	for _, k := range []string{daemon.SettingAlertEmail, daemon.SettingSMTPFrom} {
		if e := in[k]; e != "" && !plainEmail(e) {
			errs[k] = T["err_email"]
		}
	}
	if u := in[daemon.SettingAlertWebhook]; u != "" {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || len(u) > 2000 || !printable(u) {
			errs[daemon.SettingAlertWebhook] = T["err_webhook"]
		}
	}
	if h := in[daemon.SettingSMTPHost]; h != "" {
		host, port, err := net.SplitHostPort(h)
		n, perr := strconv.Atoi(port)
		if err != nil || host == "" || perr != nil || n < 1 || n > 65535 || !printable(host) || strings.ContainsAny(host, " /") {
			errs[daemon.SettingSMTPHost] = T["err_smtp_host"]
		}
	}
	if u := in[daemon.SettingSMTPUser]; utf8.RuneCountInString(u) > 128 || !printable(u) {
		errs[daemon.SettingSMTPUser] = T["err_smtp_user"]
	}
	if utf8.RuneCountInString(in[daemon.SettingMissedSMS]) > maxMissedSMSRunes {
		errs[daemon.SettingMissedSMS] = T["err_missed_sms"]
	}
	if !containsString(promptLanguages, in[settingLanguage]) {
		errs[settingLanguage] = T["err_language"]
	}
	if n, err := strconv.Atoi(in[settingAnswerRings]); err != nil || n < 1 || n > maxAnswerRings {
		errs[settingAnswerRings] = T["err_rings"]
	}
	for _, f := range []struct {
		key string
		max int
	}{{daemon.SettingRetentionDays, maxRetentionDays}, {daemon.SettingRetentionMB, maxRetentionMB}} {
		if in[f.key] == "" {
			in[f.key] = "0" // empty: no limit
		}
		n, err := strconv.Atoi(in[f.key])
		if err != nil || n < 0 || n > f.max {
			errs[f.key] = fmt.Sprintf(T["err_"+f.key], f.max)
			continue
		}
		in[f.key] = strconv.Itoa(n) // "007" is stored as "7"
	}
	return errs
}

// plainEmail reports whether s is a bare e-mail address (no display name), of sane length.
func plainEmail(s string) bool {
	if len(s) > 254 || !printable(s) {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

// cleanMultiline keeps the lines of a text (LF only), drops other control and invisible
// format characters, and trims it.
func cleanMultiline(s string) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\r\n", "\n"), "\uFFFD")
	var b strings.Builder
	for _, r := range s {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
			continue
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}
