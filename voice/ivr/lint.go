package ivr

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Known is what the box has that a flow may name.
type Known struct {
	// Operators are the names of the operators; a ring or queue node may name only these.
	Operators []string
	// Prompt tells whether a prompt exists (in every language the box speaks). Nil: prompts are
	// not checked.
	Prompt func(name string) bool
}

// Severity says whether a problem stops a flow from being saved.
type Severity string

// The severities.
const (
	SeverityError   Severity = "error"   // the flow cannot be saved
	SeverityWarning Severity = "warning" // the flow works, but callers may not like it
)

// Code names a kind of problem; Problem.Message words it for the owner.
type Code string

// The problems Lint finds. Errors first, then warnings.
const (
	CodeNoStart         Code = "no_start"         // Flow.Start is empty
	CodeUnknownStart    Code = "unknown_start"    // Args: start
	CodeEmptyID         Code = "empty_id"         // Args: position (1-based)
	CodeDuplicateID     Code = "duplicate_id"     // Args: id
	CodeUnknownKind     Code = "unknown_kind"     // Args: kind
	CodeMissingNode     Code = "missing_node"     // Field; Args: target (choices, languages: key, target)
	CodeDeadEnd         Code = "dead_end"         // Field: the way on that is not set
	CodeUnreachable     Code = "unreachable"      //
	CodeLoop            Code = "loop"             // Args: the node titles of the circle
	CodeMissingPrompt   Code = "missing_prompt"   // Field; Args: prompt name ("" when none is set)
	CodeBadSchedule     Code = "bad_schedule"     // Field: "schedule", "tz", "week", "week.mon", ...; Args: value
	CodeUnknownOperator Code = "unknown_operator" // Args: name
	CodeBadKey          Code = "bad_key"          // Field; Args: key
	CodeEmptyMenu       Code = "empty_menu"       //
	CodeBadValue        Code = "bad_value"        // Field; Args: value (negative time, bad number or language)
	CodeNoNumber        Code = "no_number"        // forward without a number
	CodeNoText          Code = "no_text"          // sms without a text
	CodeNoLanguages     Code = "no_languages"     // language node with nothing to choose

	CodeDeepMenu   Code = "deep_menu"   // warning; Args: how many menus deep
	CodeNoPerson   Code = "no_person"   // warning: no ring, queue or forward reachable
	CodeCallerLost Code = "caller_lost" // warning; Field "no_answer": it does not end in voicemail or callback
)

// Problem is one thing Lint found.
type Problem struct {
	Severity Severity `json:"severity"`
	Code     Code     `json:"code"`
	Node     string   `json:"node,omitempty"`  // the node's ID
	Kind     Kind     `json:"kind,omitempty"`  // the node's kind, to word the message
	Title    string   `json:"title,omitempty"` // the node's title, or its ID
	Field    string   `json:"field,omitempty"` // the JSON field at fault
	Args     []string `json:"args,omitempty"`
}

func (p Problem) String() string {
	return fmt.Sprintf("%s %s node=%q field=%q args=%q", p.Severity, p.Code, p.Node, p.Field, p.Args)
}

// HasErrors tells whether any of problems refuses the save.
func HasErrors(problems []Problem) bool {
	for _, p := range problems {
		if p.Severity == SeverityError {
			return true
		}
	}
	return false
}

// validKey tells whether s is one key of a telephone keypad.
func validKey(s string) bool {
	return len(s) == 1 && strings.Contains("0123456789*#", s)
}

// edge is a way from one node to another.
type edge struct {
	field, key, to string
	// input: taken only when the caller presses a key or a person answers, so a circle
	// through it cannot spin on its own.
	input bool
}

// edges lists the ways on from n, in a fixed order.
func (n *Node) edges() []edge {
	var out []edge
	add := func(field, key, to string, input bool) {
		if to != "" {
			out = append(out, edge{field, key, to, input})
		}
	}
	for _, k := range sortedKeys(n.Choices) {
		add("choices", k, n.Choices[k], true)
	}
	add("no_input", "", n.NoInput, false)
	add("open", "", n.Open, false)
	add("closed", "", n.Closed, false)
	add("holiday", "", n.Holiday, false)
	// After a ring, queue or forward, Next is taken only after a person talked.
	add("next", "", n.Next, n.Kind == KindRing || n.Kind == KindQueue || n.Kind == KindForward)
	add("no_answer", "", n.NoAnswer, false)
	add("leave", "", n.Leave, true)
	return out
}

// required lists the ways on a node of this kind must have: without one, the caller is stuck.
func (n *Node) required() []string {
	switch n.Kind {
	case KindPlay, KindLanguage, KindSMS:
		return []string{"next"}
	case KindMenu:
		return []string{"no_input"}
	case KindSchedule:
		return []string{"open", "closed"}
	case KindRing, KindQueue, KindForward:
		if n.LeaveKey != "" {
			return []string{"no_answer", "leave"}
		}
		return []string{"no_answer"}
	}
	return nil
}

func (n *Node) field(name string) string {
	switch name {
	case "next":
		return n.Next
	case "no_input":
		return n.NoInput
	case "open":
		return n.Open
	case "closed":
		return n.Closed
	case "no_answer":
		return n.NoAnswer
	case "leave":
		return n.Leave
	}
	return ""
}

// isPerson tells whether the node puts the caller through to a person.
func (n *Node) isPerson() bool {
	return n.Kind == KindRing || n.Kind == KindQueue || n.Kind == KindForward
}

var knownKinds = []Kind{KindPlay, KindMenu, KindSchedule, KindRing, KindQueue, KindVoicemail, KindCallback,
	KindSurvey, KindForward, KindLanguage, KindSMS, KindHangup}

// Lint checks that f makes sense for a caller: every step can be reached, every way on is set and
// leads to a step, no circle spins without the caller, every prompt, operator and schedule is
// right. Problems with SeverityError refuse the save; warnings are advice. The order is fixed:
// by node, then by check.
func Lint(f *Flow, k Known) []Problem {
	l := &linter{f: f, k: k, byID: map[string]*Node{}}
	l.run()
	return l.out
}

type linter struct {
	f    *Flow
	k    Known
	byID map[string]*Node
	out  []Problem
}

func (l *linter) add(sev Severity, code Code, n *Node, field string, args ...string) {
	p := Problem{Severity: sev, Code: code, Field: field, Args: args}
	if n != nil {
		p.Node, p.Kind, p.Title = n.ID, n.Kind, n.Title
		if p.Title == "" {
			p.Title = n.ID
		}
	}
	l.out = append(l.out, p)
}

func (l *linter) errorf(code Code, n *Node, field string, args ...string) {
	l.add(SeverityError, code, n, field, args...)
}

func (l *linter) run() {
	f := l.f
	for i := range f.Nodes {
		n := &f.Nodes[i]
		switch {
		case n.ID == "":
			l.errorf(CodeEmptyID, n, "id", strconv.Itoa(i+1))
		case l.byID[n.ID] != nil:
			l.errorf(CodeDuplicateID, n, "id", n.ID)
		default:
			l.byID[n.ID] = n
		}
	}
	switch {
	case f.Start == "":
		l.errorf(CodeNoStart, nil, "start")
	case l.byID[f.Start] == nil:
		l.errorf(CodeUnknownStart, nil, "start", f.Start)
	}
	for i := range f.Nodes {
		l.node(&f.Nodes[i])
	}
	reach := l.reachable()
	for i := range f.Nodes {
		n := &f.Nodes[i]
		if n.ID != "" && !reach[n.ID] && l.byID[n.ID] == n && f.Start != "" && l.byID[f.Start] != nil {
			l.errorf(CodeUnreachable, n, "")
		}
	}
	l.loops()
	if l.byID[f.Start] == nil {
		return
	}
	// Warnings, on what a caller can reach.
	person := false
	for id := range reach {
		if l.byID[id].isPerson() {
			person = true
		}
	}
	if !person {
		l.add(SeverityWarning, CodeNoPerson, nil, "")
	}
	l.menuDepth()
	for i := range f.Nodes {
		n := &f.Nodes[i]
		if reach[n.ID] && n.isPerson() && l.byID[n.ID] == n && n.NoAnswer != "" && l.lost(n.NoAnswer) {
			l.add(SeverityWarning, CodeCallerLost, n, "no_answer")
		}
	}
}

// node checks one node on its own.
func (l *linter) node(n *Node) {
	if !slices.Contains(knownKinds, n.Kind) {
		l.errorf(CodeUnknownKind, n, "kind", string(n.Kind))
		return
	}
	for _, e := range n.edges() {
		if l.byID[e.to] == nil {
			if e.key != "" {
				l.errorf(CodeMissingNode, n, e.field, e.key, e.to)
			} else {
				l.errorf(CodeMissingNode, n, e.field, e.to)
			}
		}
	}
	for _, r := range n.required() {
		if n.field(r) == "" {
			l.errorf(CodeDeadEnd, n, r)
		}
	}
	for _, num := range []struct {
		field string
		v     int
	}{{"timeout_sec", n.TimeoutSec}, {"retries", n.Retries}, {"ring_sec", n.RingSec}, {"max_wait_sec", n.MaxWaitSec},
		{"announce_sec", n.AnnounceSec}, {"max_length_sec", n.MaxLengthSec}} {
		if num.v < 0 || num.v > MaxSeconds || (num.field == "retries" && num.v > MaxMenuTries) {
			l.errorf(CodeBadValue, n, num.field, strconv.Itoa(num.v))
		}
	}
	l.prompt(n, "prompt", n.prompt(), n.Kind == KindPlay || n.Kind == KindMenu)
	switch n.Kind {
	case KindMenu:
		if len(n.Choices) == 0 {
			l.errorf(CodeEmptyMenu, n, "choices")
		}
		for _, key := range sortedKeys(n.Choices) {
			if !validKey(key) {
				l.errorf(CodeBadKey, n, "choices", key)
			}
		}
		l.prompt(n, "invalid", n.invalidPrompt(), false)
	case KindSchedule:
		if n.Schedule == nil {
			l.errorf(CodeBadSchedule, n, "schedule", "")
			break
		}
		for _, is := range n.Schedule.Issues() {
			l.errorf(CodeBadSchedule, n, is.Field, is.Value)
		}
	case KindRing, KindQueue, KindForward:
		for _, op := range n.Operators {
			if !slices.Contains(l.k.Operators, op) {
				l.errorf(CodeUnknownOperator, n, "operators", op)
			}
		}
		if n.LeaveKey != "" && !validKey(n.LeaveKey) {
			l.errorf(CodeBadKey, n, "leave_key", n.LeaveKey)
		}
		if n.Strategy != "" && n.Strategy != RingAll && n.Strategy != RingInOrder && n.Strategy != RingLeastRecent {
			l.errorf(CodeBadValue, n, "strategy", string(n.Strategy))
		}
		if n.Kind == KindForward && n.Number == "" {
			l.errorf(CodeNoNumber, n, "number")
		}
		if n.Kind == KindQueue {
			l.prompt(n, "music", n.Music, false)
		}
		if n.Record {
			l.prompt(n, "record", PromptRecordingNotice, false)
		}
	case KindLanguage:
		if len(n.Languages) == 0 {
			l.errorf(CodeNoLanguages, n, "languages")
		}
		for _, key := range sortedKeys(n.Languages) {
			if !validKey(key) {
				l.errorf(CodeBadKey, n, "languages", key)
			}
			if !validLanguage(n.Languages[key]) {
				l.errorf(CodeBadValue, n, "languages", n.Languages[key])
			}
		}
	case KindSMS:
		if strings.TrimSpace(n.Text) == "" {
			l.errorf(CodeNoText, n, "text")
		}
	case KindSurvey:
		l.prompt(n, "prompt", PromptSurveyThanks, false)
	}
}

// validLanguage accepts a language code like "ru", "en" or "pt-br".
func validLanguage(s string) bool {
	if len(s) < 2 || len(s) > 8 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '-' {
			return false
		}
	}
	return true
}

// prompt checks that the prompt name exists; an empty name is an error only if required.
func (l *linter) prompt(n *Node, field, name string, required bool) {
	switch {
	case name == "" && required:
		l.errorf(CodeMissingPrompt, n, field, "")
	case name != "" && l.k.Prompt != nil && !l.k.Prompt(name):
		l.errorf(CodeMissingPrompt, n, field, name)
	}
}

// reachable returns the IDs a call can reach from Start.
func (l *linter) reachable() map[string]bool {
	seen := map[string]bool{}
	var walk func(id string)
	walk = func(id string) {
		n := l.byID[id]
		if n == nil || seen[id] {
			return
		}
		seen[id] = true
		for _, e := range n.edges() {
			walk(e.to)
		}
	}
	walk(l.f.Start)
	return seen
}

// loops reports each circle of ways that are taken without a key or a person (for example play
// -> play): a call could go round it for ever.
func (l *linter) loops() {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []*Node
	var visit func(n *Node)
	visit = func(n *Node) {
		color[n.ID] = grey
		stack = append(stack, n)
		for _, e := range n.edges() {
			m := l.byID[e.to]
			if e.input || m == nil {
				continue
			}
			switch color[m.ID] {
			case white:
				visit(m)
			case grey:
				i := slices.Index(stack, m)
				var titles []string
				for _, s := range stack[i:] {
					titles = append(titles, titleOf(s))
				}
				titles = append(titles, titleOf(m))
				l.errorf(CodeLoop, n, e.field, titles...)
			}
		}
		stack = stack[:len(stack)-1]
		color[n.ID] = black
	}
	for i := range l.f.Nodes {
		n := &l.f.Nodes[i]
		if l.byID[n.ID] == n && color[n.ID] == white {
			visit(n)
		}
	}
}

func titleOf(n *Node) string {
	if n.Title != "" {
		return n.Title
	}
	return n.ID
}

// menuDepth warns about a menu that a caller can reach only through two other menus or more.
func (l *linter) menuDepth() {
	// Fewest menus on a way from Start to each node, counting the node (0-1 BFS). The depth
	// counts only menus met before a person: after a ring or queue node the count starts again.
	depth := map[string]int{}
	type item struct {
		id string
		d  int
	}
	start := l.byID[l.f.Start]
	cost := func(n *Node) int {
		if n.Kind == KindMenu {
			return 1
		}
		return 0
	}
	dq := []item{{start.ID, cost(start)}}
	depth[start.ID] = cost(start)
	for len(dq) > 0 {
		it := dq[0]
		dq = dq[1:]
		if it.d > depth[it.id] {
			continue
		}
		n := l.byID[it.id]
		for _, e := range n.edges() {
			m := l.byID[e.to]
			if m == nil {
				continue
			}
			d := it.d
			if n.isPerson() {
				d = 0
			}
			d += cost(m)
			if old, ok := depth[m.ID]; !ok || d < old {
				depth[m.ID] = d
				dq = append(dq, item{m.ID, d})
			}
		}
	}
	for i := range l.f.Nodes {
		n := &l.f.Nodes[i]
		if d, ok := depth[n.ID]; ok && l.byID[n.ID] == n && n.Kind == KindMenu && d > 2 {
			l.add(SeverityWarning, CodeDeepMenu, n, "", strconv.Itoa(d))
		}
	}
}

// lost tells whether a caller who got no answer can, from id, end without a message, a
// callback request or another try at a person.
func (l *linter) lost(id string) bool {
	seen := map[string]bool{}
	var walk func(id string) bool
	walk = func(id string) bool {
		n := l.byID[id]
		if n == nil {
			return true
		}
		if seen[id] {
			return false
		}
		seen[id] = true
		switch n.Kind {
		case KindVoicemail, KindCallback:
			return false
		case KindRing, KindQueue, KindForward:
			return false // checked on its own
		case KindHangup:
			return true
		}
		es := n.edges()
		if len(es) == 0 {
			return true
		}
		for _, e := range es {
			if walk(e.to) {
				return true
			}
		}
		return false
	}
	return walk(id)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
