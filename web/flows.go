package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"hotline/daemon"
	"hotline/daemon/custom"
	"hotline/daemon/store"
	"hotline/voice/ivr"
	"hotline/voice/prompts"
)

// flowVersionsShown is how many versions the editor lists.
const flowVersionsShown = 30

// maxCommentRunes bounds the comment of a saved version (the store keeps 200).
const maxCommentRunes = 200

// fieldView is one input of a step's fieldset, ready for the template: everything a field
// needs is worked out here so that the template has no logic beyond its type.
type fieldView struct {
	Type    string // "text", "number", "select", "checks", "check", "textarea", "hidden", "info"
	Name    string
	ID      string
	Label   string
	Value   string
	Hint    string
	Checked bool
	Way     bool // a way on to another step
	Key     bool // one key of a keypad: drawn two to a row
	Options []option
	// NewPrompt offers recording or uploading a new prompt for this select right there (with
	// JavaScript; without it the list is all there is). It is the name suggested for it.
	NewPrompt string
}

type nodeView struct {
	Index       int // position in the form
	ID          string
	Anchor      string
	Title       string
	KindName    string
	Depth       int    // 0..4, for indenting the tree
	Via         string // how a caller gets here
	Unreachable bool
	IsStart     bool
	Problems    []problemView
	Fields      []fieldView
}

type problemView struct {
	Error   bool
	Message string
	Anchor  string // "#node-..." or ""
}

type versionRow struct {
	Version       int64
	Time, TimeISO string
	By, Comment   string
	Current       bool
}

type flowPage struct {
	CSS        string
	Name       string
	Start      []option
	Count      int
	Nodes      []nodeView
	Kinds      []option
	Problems   []problemView
	HasErrors  bool
	Versions   []versionRow
	Version    int64 // the version the draft started from; 0 for the unsaved default
	Unsaved    bool  // the draft differs from the stored flow (after check, add, remove)
	NewAnchor  string
	HoursLink  bool
	FlowIsMain bool
	// The inline prompt recorder: the script, the recorder, the language a new prompt is
	// saved in and the size limit of a file.
	Script, RecordJS string
	PromptLang       string
	MaxMB            int
}

// currentFlow returns the newest stored flow, or the default flow (version 0) on a new box.
func (s *Server) currentFlow(ctx context.Context, lang string) (*ivr.Flow, store.FlowVersion, error) {
	fv, err := s.store.Flow(ctx, 0)
	if errors.Is(err, store.ErrNotFound) {
		return ivr.Default(lang), store.FlowVersion{}, nil
	}
	if err != nil {
		return nil, fv, err
	}
	f, err := ivr.Parse(fv.JSON)
	if err != nil {
		return nil, fv, fmt.Errorf("stored flow version %d: %w", fv.Version, err)
	}
	return f, fv, nil
}

// lintFlow runs the linter with what this box has.
func (s *Server) lintFlow(ctx context.Context, f *ivr.Flow) ([]ivr.Problem, error) {
	k, err := daemon.Known(ctx, s.store)
	if err != nil {
		return nil, err
	}
	return ivr.Lint(f, k), nil
}

func (s *Server) handleFlow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := pickLang(r)
	f, fv, err := s.currentFlow(ctx, lang)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	problems, err := s.lintFlow(ctx, f)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r, "flow_title")
	v.Nav = "flow"
	q := r.URL.Query()
	if n, err := strconv.ParseInt(q.Get("saved"), 10, 64); err == nil && n > 0 {
		v.Notice = fmt.Sprintf(v.T["flow_saved"], n)
	}
	if fv.Version == 0 {
		v.Notice = v.T["flow_default_notice"]
	}
	s.renderFlow(w, r, v, http.StatusOK, f, problems, fv.Version, false, "")
}

// handleFlowPost is every button of the editor's form: check, add a step, remove one, save.
func (s *Server) handleFlowPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, err := flowFromForm(r.PostForm)
	if err != nil {
		s.log.Warn("flow form refused", "err", err)
		s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
		return
	}
	base, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	v := s.newView(r, "flow_title")
	v.Nav = "flow"
	action := r.PostFormValue("action")
	newAnchor := ""
	switch {
	case action == "add":
		kind := ivr.Kind(r.PostFormValue("add_kind"))
		if !slices.Contains(editorKinds, kind) || len(f.Nodes) >= maxFormNodes {
			s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
			return
		}
		id := addNode(f, kind, v.T["kind_"+string(kind)]+" "+strconv.Itoa(len(f.Nodes)+1))
		newAnchor = "node-" + id
	case strings.HasPrefix(action, "remove."):
		i, err := strconv.Atoi(strings.TrimPrefix(action, "remove."))
		if err != nil || i < 0 || i >= len(f.Nodes) {
			s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
			return
		}
		removeNode(f, i)
	case action == "save":
		if cur, err := s.store.Flow(ctx, 0); err == nil && cur.Version != base {
			// Saved elsewhere since this form was opened: say so once; the form now carries
			// the newest version, so pressing Save again replaces it.
			problems, err := s.lintFlow(ctx, f)
			if err != nil {
				s.serverError(w, r, err)
				return
			}
			v.Error = fmt.Sprintf(v.T["flow_conflict"], cur.Version)
			s.renderFlow(w, r, v, http.StatusConflict, f, problems, cur.Version, true, "")
			return
		}
		data, err := f.MarshalIndent()
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		user := sessionFrom(ctx).User.Name
		comment := cleanDisplay(r.PostFormValue("comment"))
		version, _, err := daemon.SaveFlow(ctx, s.store, data, user, truncateRunes(comment, maxCommentRunes))
		var fp *daemon.FlowProblems
		switch {
		case errors.As(err, &fp):
			v.Error = v.T["flow_not_saved"]
			s.renderFlow(w, r, v, http.StatusUnprocessableEntity, f, fp.Problems, base, true, "")
			return
		case err != nil && isParseError(err):
			s.log.Warn("flow from the editor does not parse", "err", err)
			s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
			return
		case err != nil:
			s.serverError(w, r, err)
			return
		}
		http.Redirect(w, r, "/flow?saved="+strconv.FormatInt(version, 10), http.StatusSeeOther)
		return
	case action == "check":
	default:
		s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
		return
	}
	problems, err := s.lintFlow(ctx, f)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if action == "check" && !ivr.HasErrors(problems) {
		v.Notice = v.T["flow_check_ok"]
	}
	s.renderFlow(w, r, v, http.StatusOK, f, problems, base, true, newAnchor)
}

// isParseError tells a flow that ivr.Parse refused (from the daemon's save) from a failure of
// the box.
func isParseError(err error) bool {
	return strings.HasPrefix(err.Error(), "flow:")
}

func (s *Server) handleFlowRevert(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	n, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if err != nil || n <= 0 {
		s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
		return
	}
	version, problems, err := s.revertFlow(ctx, n, sessionFrom(ctx).User.Name)
	var fp *daemon.FlowProblems
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.handleNotFound(w, r)
		return
	case errors.As(err, &fp):
		old, perr := ivr.Parse(mustFlowJSON(ctx, s.store, n))
		if perr != nil {
			s.serverError(w, r, perr)
			return
		}
		v := s.newView(r, "flow_title")
		v.Nav = "flow"
		v.Error = fmt.Sprintf(v.T["flow_revert_refused"], n)
		cur, _ := s.store.Flow(ctx, 0) // the draft replaces the newest version when saved
		s.renderFlow(w, r, v, http.StatusUnprocessableEntity, old, problems, cur.Version, true, "")
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/flow?saved="+strconv.FormatInt(version, 10), http.StatusSeeOther)
}

func mustFlowJSON(ctx context.Context, st *store.Store, version int64) []byte {
	fv, err := st.Flow(ctx, version)
	if err != nil {
		return nil
	}
	return fv.JSON
}

// revertFlow saves an old version's JSON as the newest version. With lint errors (an operator
// or prompt it names is gone) it returns the problems and a *daemon.FlowProblems.
func (s *Server) revertFlow(ctx context.Context, n int64, by string) (int64, []ivr.Problem, error) {
	old, err := s.store.Flow(ctx, n)
	if err != nil {
		return 0, nil, err
	}
	comment := fmt.Sprintf("revert to version %d", n)
	version, problems, err := daemon.SaveFlow(ctx, s.store, old.JSON, by, comment)
	if err != nil {
		return 0, problems, err
	}
	return version, problems, nil
}

// renderFlow shows the editor with f as its draft.
func (s *Server) renderFlow(w http.ResponseWriter, r *http.Request, v *view, status int, f *ivr.Flow, problems []ivr.Problem, version int64, unsaved bool, newAnchor string) {
	ctx := r.Context()
	ops, err := s.store.Operators(ctx)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	versions, err := s.store.FlowVersions(ctx, flowVersionsShown)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	p := buildFlowPage(v.Lang, v.T, f, problems, ops, s.ownPromptNames())
	p.Version, p.Unsaved, p.NewAnchor = version, unsaved, newAnchor
	p.CSS = s.assets.url("flows.css")
	p.Script, p.RecordJS = s.assets.url("flows.js"), s.assets.url("record.js")
	p.PromptLang, p.MaxMB = s.promptLang(ctx), custom.MaxUploadBytes>>20
	for i, fv := range versions {
		p.Versions = append(p.Versions, versionRow{
			Version: fv.Version,
			Time:    formatTime(v.Lang, fv.CreatedAt, s.loc),
			TimeISO: fv.CreatedAt.In(s.loc).Format(time.RFC3339),
			By:      cleanDisplay(fv.CreatedBy),
			Comment: cleanDisplay(fv.Comment),
			Current: i == 0,
		})
	}
	v.Page = p
	s.render(w, r, status, "flow.html", v)
}

// buildFlowPage lays f out as a tree from its first step: each step once, in the order a
// caller meets them, with how the caller gets there; steps no caller reaches come last.
// own names the owner's recordings that are no standard prompt, for the prompt lists.
func buildFlowPage(lang string, T map[string]string, f *ivr.Flow, problems []ivr.Problem, ops []store.Operator, own []string) flowPage {
	p := flowPage{Name: f.Name, Count: len(f.Nodes)}
	byID := map[string]int{}
	for i, n := range f.Nodes {
		if _, dup := byID[n.ID]; !dup && n.ID != "" {
			byID[n.ID] = i
		}
	}
	title := func(n *ivr.Node) string {
		if n.Title != "" {
			return cleanDisplay(n.Title)
		}
		return cleanDisplay(n.ID)
	}
	// Targets every way-on select offers.
	targets := []option{{Value: "", Label: T["flow_not_set"]}}
	for _, n := range f.Nodes {
		if n.ID != "" {
			targets = append(targets, option{Value: n.ID, Label: title(&n) + " (" + kindName(T, n.Kind) + ")"})
		}
	}
	p.Start = selectOptions(targets[1:], f.Start)
	for _, k := range editorKinds {
		p.Kinds = append(p.Kinds, option{Value: string(k), Label: kindName(T, k)})
	}

	// Walk the tree.
	type visit struct {
		i, depth int
		via      string
	}
	var order []visit
	seen := map[int]bool{}
	var walk func(id string, depth int, via string)
	walk = func(id string, depth int, via string) {
		i, ok := byID[id]
		if !ok || seen[i] {
			return
		}
		seen[i] = true
		order = append(order, visit{i, depth, via})
		n := &f.Nodes[i]
		for _, w := range ways(T, n) {
			walk(w.to, depth+1, title(n)+": "+w.label)
		}
	}
	walk(f.Start, 0, "")
	for i := range f.Nodes {
		if !seen[i] {
			order = append(order, visit{i: i, depth: 0})
		}
	}

	nodeProblems := map[string][]problemView{}
	for _, pr := range problems {
		pv := problemView{Error: pr.Severity == ivr.SeverityError, Message: pr.Message(lang)}
		if pr.Node != "" {
			pv.Anchor = "#node-" + anchorID(pr.Node)
			nodeProblems[pr.Node] = append(nodeProblems[pr.Node], pv)
		}
		p.Problems = append(p.Problems, pv)
		if pv.Error {
			p.HasErrors = true
		}
	}
	opNames := make([]string, 0, len(ops))
	for _, o := range ops {
		opNames = append(opNames, o.Name)
	}
	for _, vi := range order {
		n := &f.Nodes[vi.i]
		nv := nodeView{
			Index:       vi.i,
			ID:          n.ID,
			Anchor:      "node-" + anchorID(n.ID),
			Title:       title(n),
			KindName:    kindName(T, n.Kind),
			Depth:       min(vi.depth, 4),
			Via:         vi.via,
			Unreachable: !seen[vi.i],
			IsStart:     n.ID == f.Start && n.ID != "",
			Problems:    nodeProblems[n.ID],
			Fields:      nodeFields(lang, T, vi.i, n, targets, opNames, own),
		}
		if n.Kind == ivr.KindSchedule {
			p.HoursLink = true
		}
		p.Nodes = append(p.Nodes, nv)
	}
	return p
}

// anchorID makes an id usable in a URL fragment and an HTML id.
func anchorID(id string) string {
	var b strings.Builder
	for _, r := range id {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "_%x", r)
		}
	}
	return b.String()
}

func kindName(T map[string]string, k ivr.Kind) string {
	if s, ok := T["kind_"+string(k)]; ok {
		return s
	}
	return cleanDisplay(string(k))
}

type way struct{ label, to string }

// ways lists the ways on from n with the owner's words, in the order the editor shows them.
func ways(T map[string]string, n *ivr.Node) []way {
	var out []way
	add := func(label, to string) {
		if to != "" {
			out = append(out, way{label, to})
		}
	}
	for _, k := range menuKeys {
		add(keyLabel(T, k), n.Choices[k])
	}
	add(T["way_no_input"], n.NoInput)
	add(T["way_open"], n.Open)
	add(T["way_closed"], n.Closed)
	add(T["way_holiday"], n.Holiday)
	add(T["way_next"], n.Next)
	add(T["way_no_answer"], n.NoAnswer)
	add(T["way_leave"], n.Leave)
	return out
}

func keyLabel(T map[string]string, k string) string {
	switch k {
	case "*":
		return T["key_star"]
	case "#":
		return T["key_hash"]
	}
	return fmt.Sprintf(T["key_n"], k)
}

func selectOptions(opts []option, value string) []option {
	out := make([]option, 0, len(opts)+1)
	found := false
	for _, o := range opts {
		o.Selected = o.Value == value
		found = found || o.Selected
		out = append(out, o)
	}
	if !found && value != "" {
		// A value the lists do not know (a step or prompt that is gone) stays visible.
		out = append(out, option{Value: value, Label: cleanDisplay(value) + " ?", Selected: true})
	}
	return out
}

// promptOptions lists the prompts the box has, each with what it says in lang, then the
// owner's own recordings by name.
func promptOptions(lang string, emptyLabel string, own []string, ownLabel string) []option {
	out := []option{{Value: "", Label: emptyLabel}}
	for _, name := range prompts.Names() {
		label := name
		if text, err := prompts.Text(lang, name); err == nil {
			label = truncateRunes(text, 60)
		}
		out = append(out, option{Value: name, Label: label})
	}
	for _, name := range own {
		out = append(out, option{Value: name, Label: ownPromptLabel(ownLabel, name)})
	}
	return out
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func itoa0(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// nodeFields lists the inputs of step i by its kind.
func nodeFields(lang string, T map[string]string, i int, n *ivr.Node, targets []option, ops []string, own []string) []fieldView {
	name := func(f string) string { return nodeField(i, f) }
	id := func(f string) string { return "f-" + strconv.Itoa(i) + "-" + anchorID(f) }
	var out []fieldView
	text := func(f, label, value, hint string) {
		out = append(out, fieldView{Type: "text", Name: name(f), ID: id(f), Label: label, Value: value, Hint: hint})
	}
	number := func(f, label string, value int, hint string) {
		out = append(out, fieldView{Type: "number", Name: name(f), ID: id(f), Label: label, Value: itoa0(value), Hint: hint})
	}
	wayTo := func(f, label, value string) {
		out = append(out, fieldView{Type: "select", Way: true, Name: name(f), ID: id(f), Label: label, Options: selectOptions(targets, value)})
	}
	prompt := func(f, label, value, emptyLabel string) {
		fv := fieldView{Type: "select", Name: name(f), ID: id(f), Label: label, Options: selectOptions(promptOptions(lang, emptyLabel, own, T["flow_own_prompt"]), value)}
		if f == "prompt" {
			fv.NewPrompt = suggestPromptName(n.ID)
		}
		out = append(out, fv)
	}
	out = append(out,
		fieldView{Type: "hidden", Name: name("id"), Value: n.ID},
		fieldView{Type: "hidden", Name: name("kind"), Value: string(n.Kind)})
	text("title", T["field_title"], n.Title, "")

	switch n.Kind {
	case ivr.KindPlay, ivr.KindMenu:
		prompt("prompt", T["field_prompt"], n.Prompt, T["flow_choose_prompt"])
	case ivr.KindHangup:
		prompt("prompt", T["field_prompt_bye"], n.Prompt, T["flow_no_prompt"])
	case ivr.KindVoicemail, ivr.KindCallback, ivr.KindSurvey, ivr.KindLanguage, ivr.KindRing, ivr.KindQueue, ivr.KindForward:
		prompt("prompt", T["field_prompt"], n.Prompt, T["flow_standard_prompt"])
	}
	switch n.Kind {
	case ivr.KindMenu:
		for _, k := range menuKeys {
			wayTo("key."+k, keyLabel(T, k), n.Choices[k])
			out[len(out)-1].Key = true
		}
		wayTo("no_input", T["way_no_input"], n.NoInput)
		number("timeout_sec", T["field_timeout"], n.TimeoutSec, T["hint_timeout"])
		number("retries", T["field_retries"], n.Retries, T["hint_retries"])
		prompt("invalid", T["field_invalid"], n.Invalid, T["flow_standard_prompt"])
	case ivr.KindSchedule:
		sch := ""
		if n.Schedule != nil {
			b, _ := json.Marshal(n.Schedule)
			sch = string(b)
		}
		out = append(out, fieldView{Type: "hidden", Name: name("schedule"), Value: sch},
			fieldView{Type: "info", Label: T["field_hours"], Value: scheduleSummary(T, n.Schedule), Hint: T["hint_hours"]})
		wayTo("open", T["way_open"], n.Open)
		wayTo("closed", T["way_closed"], n.Closed)
		wayTo("holiday", T["way_holiday"], n.Holiday)
	case ivr.KindRing, ivr.KindQueue, ivr.KindForward:
		if n.Kind == ivr.KindForward {
			text("number", T["field_number"], n.Number, T["hint_number"])
		} else {
			var opts []option
			for _, o := range ops {
				opts = append(opts, option{Value: o, Label: cleanDisplay(o), Selected: slices.Contains(n.Operators, o)})
			}
			for _, o := range n.Operators {
				if !slices.Contains(ops, o) {
					opts = append(opts, option{Value: o, Label: cleanDisplay(o) + " ?", Selected: true})
				}
			}
			out = append(out, fieldView{Type: "checks", Name: name("operators"), ID: id("operators"), Label: T["field_operators"], Hint: T["hint_operators"], Options: opts})
			out = append(out, fieldView{Type: "select", Name: name("strategy"), ID: id("strategy"), Label: T["field_strategy"],
				Options: selectOptions([]option{
					{Value: "", Label: T["strategy_default"]},
					{Value: string(ivr.RingAll), Label: T["strategy_all"]},
					{Value: string(ivr.RingInOrder), Label: T["strategy_order"]},
					{Value: string(ivr.RingLeastRecent), Label: T["strategy_least_recent"]},
				}, string(n.Strategy))})
		}
		number("ring_sec", T["field_ring_sec"], n.RingSec, T["hint_ring_sec"])
		if n.Kind == ivr.KindQueue {
			number("max_wait_sec", T["field_max_wait"], n.MaxWaitSec, T["hint_max_wait"])
			number("announce_sec", T["field_announce"], n.AnnounceSec, T["hint_announce"])
			prompt("music", T["field_music"], n.Music, T["flow_standard_music"])
			keys := []option{{Value: "", Label: T["flow_no_key"]}}
			for _, k := range menuKeys {
				keys = append(keys, option{Value: k, Label: k})
			}
			out = append(out, fieldView{Type: "select", Name: name("leave_key"), ID: id("leave_key"), Label: T["field_leave_key"], Options: selectOptions(keys, n.LeaveKey)})
			wayTo("leave", T["way_leave"], n.Leave)
		}
		out = append(out, fieldView{Type: "check", Name: name("record"), ID: id("record"), Label: T["field_record"], Value: "1", Checked: n.Record})
		wayTo("next", T["way_after_talk"], n.Next)
		wayTo("no_answer", T["way_no_answer"], n.NoAnswer)
	case ivr.KindVoicemail:
		number("max_length_sec", T["field_max_length"], n.MaxLengthSec, T["hint_max_length"])
		out = append(out, fieldView{Type: "hidden", Name: name("box"), Value: n.Box})
		wayTo("next", T["way_after_message"], n.Next)
	case ivr.KindLanguage:
		langs := []option{{Value: "", Label: T["flow_not_set"]}, {Value: langRU, Label: "Русский"}, {Value: langEN, Label: "English"}}
		for _, k := range menuKeys {
			out = append(out, fieldView{Type: "select", Key: true, Name: name("lang." + k), ID: id("lang." + k), Label: keyLabel(T, k), Options: selectOptions(langs, n.Languages[k])})
		}
		wayTo("next", T["way_next"], n.Next)
	case ivr.KindSMS:
		out = append(out, fieldView{Type: "textarea", Name: name("text"), ID: id("text"), Label: T["field_sms_text"], Value: n.Text, Hint: T["hint_sms_text"]})
		wayTo("next", T["way_next"], n.Next)
	case ivr.KindPlay, ivr.KindCallback, ivr.KindSurvey:
		wayTo("next", T["way_next"], n.Next)
	}
	return out
}

// scheduleSummary words a schedule in one line, days with the same hours together:
// "Mon–Fri 09:00-18:00; Sat 10:00-14:00 (Europe/Moscow)".
func scheduleSummary(T map[string]string, s *ivr.Schedule) string {
	if s == nil {
		return T["hours_none"]
	}
	var parts []string
	for i := 0; i < len(weekdays); {
		h := strings.Join(s.Week[weekdays[i]], ", ")
		j := i + 1
		for j < len(weekdays) && strings.Join(s.Week[weekdays[j]], ", ") == h {
			j++
		}
		if h != "" {
			days := T["day_short_"+weekdays[i]]
			if j-i > 1 {
				days += "–" + T["day_short_"+weekdays[j-1]]
			}
			parts = append(parts, days+" "+h)
		}
		i = j
	}
	if len(parts) == 0 {
		return T["hours_always_closed"]
	}
	return strings.ToValidUTF8(strings.Join(parts, "; ")+" ("+s.TimeZone+")", "\uFFFD")
}

var weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// problemJSON is a lint problem in the API, with its words in the request's language.
type problemJSON struct {
	ivr.Problem
	Message string `json:"message"`
}

func problemsJSON(lang string, problems []ivr.Problem) []problemJSON {
	out := make([]problemJSON, 0, len(problems))
	for _, p := range problems {
		out = append(out, problemJSON{Problem: p, Message: p.Message(lang)})
	}
	return out
}

type flowJSON struct {
	Version   int64           `json:"version"` // 0: the default flow of a new box, not stored yet
	CreatedAt *time.Time      `json:"created_at"`
	CreatedBy string          `json:"created_by"`
	Comment   string          `json:"comment"`
	Flow      json.RawMessage `json:"flow"`
	Problems  []problemJSON   `json:"problems"`
}

func (s *Server) handleAPIFlow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := pickLang(r)
	f, fv, err := s.currentFlow(ctx, lang)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	data, err := f.MarshalIndent()
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	problems, err := s.lintFlow(ctx, f)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := flowJSON{Version: fv.Version, CreatedBy: fv.CreatedBy, Comment: fv.Comment, Flow: data, Problems: problemsJSON(lang, problems)}
	if fv.Version != 0 {
		out.CreatedAt = optTime(fv.CreatedAt, s.loc)
	}
	writeJSON(w, http.StatusOK, out)
}

type saveJSON struct {
	Version  int64         `json:"version,omitempty"`
	Error    string        `json:"error,omitempty"`
	Problems []problemJSON `json:"problems"`
}

// writeSave answers a save or revert through the API.
func (s *Server) writeSave(w http.ResponseWriter, r *http.Request, version int64, problems []ivr.Problem, err error) {
	lang := pickLang(r)
	var fp *daemon.FlowProblems
	switch {
	case errors.As(err, &fp):
		writeJSON(w, http.StatusUnprocessableEntity, saveJSON{Error: "the flow has errors; it was not saved", Problems: problemsJSON(lang, fp.Problems)})
	case errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Error: "no such version"})
	case err != nil && isParseError(err):
		writeJSON(w, http.StatusBadRequest, saveJSON{Error: err.Error(), Problems: []problemJSON{}})
	case err != nil:
		s.serverError(w, r, err)
	default:
		writeJSON(w, http.StatusOK, saveJSON{Version: version, Problems: problemsJSON(lang, problems)})
	}
}

func (s *Server) handleAPIFlowPut(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, ivr.MaxFlowBytes))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: fmt.Sprintf("the flow is over %d bytes", ivr.MaxFlowBytes)})
		return
	}
	comment := truncateRunes(cleanDisplay(r.URL.Query().Get("comment")), maxCommentRunes)
	version, problems, err := daemon.SaveFlow(r.Context(), s.store, data, sessionFrom(r.Context()).User.Name, comment)
	s.writeSave(w, r, version, problems, err)
}

func (s *Server) handleAPIFlowVersions(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 {
		limit = min(n, 1000)
	}
	list, err := s.store.FlowVersions(r.Context(), limit)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	type versionJSON struct {
		Version   int64     `json:"version"`
		CreatedAt time.Time `json:"created_at"`
		CreatedBy string    `json:"created_by"`
		Comment   string    `json:"comment"`
	}
	out := struct {
		Versions []versionJSON `json:"versions"`
	}{Versions: make([]versionJSON, 0, len(list))}
	for _, v := range list {
		out.Versions = append(out.Versions, versionJSON{v.Version, v.CreatedAt.In(s.loc), v.CreatedBy, v.Comment})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleAPIFlowRevert(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Version int64 `json:"version"`
	}
	if err := decodeJSONBody(w, r, &in); err != nil || in.Version <= 0 {
		writeJSON(w, http.StatusBadRequest, apiError{Error: `want {"version": N} with N > 0`})
		return
	}
	version, problems, err := s.revertFlow(r.Context(), in.Version, sessionFrom(r.Context()).User.Name)
	s.writeSave(w, r, version, problems, err)
}

// decodeJSONBody reads one small JSON object from the request, refusing unknown fields.
func decodeJSONBody(w http.ResponseWriter, r *http.Request, v any) error {
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFormBytes))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("decode request: %w", err)
	}
	if d.More() {
		return errors.New("decode request: more data after the object")
	}
	return nil
}
