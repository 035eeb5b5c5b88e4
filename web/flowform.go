package web

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"hotline/voice/ivr"
)

// The flow editor keeps the whole flow in one form: every step is a fieldset whose inputs are
// named "n.<index>.<field>", and "count" says how many there are. The form carries the draft
// from one press of a button to the next (check, add a step, remove a step, save), so that the
// owner can make several changes that only make sense together before the linter is happy, and
// the box keeps no draft of its own.

// menuKeys are the keys of a telephone keypad, in the order the editor lists them.
var menuKeys = []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#"}

// editorKinds are the kinds of step the owner can add, in the order of the list.
var editorKinds = []ivr.Kind{ivr.KindPlay, ivr.KindMenu, ivr.KindQueue, ivr.KindRing, ivr.KindForward,
	ivr.KindVoicemail, ivr.KindCallback, ivr.KindSurvey, ivr.KindSchedule, ivr.KindLanguage, ivr.KindSMS, ivr.KindHangup}

// maxFormNodes bounds the steps one form may carry (ivr.MaxNodes bounds a stored flow).
const maxFormNodes = 200

// formText is a form value as the flow keeps it: trimmed, valid UTF-8.
func formText(s string) string {
	return strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD")
}

// nodeField is the form name of a node's field.
func nodeField(i int, field string) string {
	return "n." + strconv.Itoa(i) + "." + field
}

// formInt reads a whole number of seconds or tries; empty is 0 (the default), anything that is
// not a number is -1 so that the linter names the field.
func formInt(s string) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return -1
	}
	return min(n, ivr.MaxSeconds+1)
}

// flowFromForm reads the draft flow out of the editor's form. Only the fields that matter for
// each step's kind are read; the others stay empty.
func flowFromForm(form url.Values) (*ivr.Flow, error) {
	count, err := strconv.Atoi(form.Get("count"))
	if err != nil || count < 0 || count > maxFormNodes {
		return nil, fmt.Errorf("flow form: step count %q", form.Get("count"))
	}
	f := &ivr.Flow{
		Name:  formText(form.Get("name")),
		Start: formText(form.Get("start")),
		Nodes: make([]ivr.Node, 0, count),
	}
	for i := range count {
		get := func(field string) string { return formText(form.Get(nodeField(i, field))) }
		n := ivr.Node{ID: get("id"), Kind: ivr.Kind(get("kind")), Title: get("title")}
		switch n.Kind {
		case ivr.KindPlay, ivr.KindMenu, ivr.KindVoicemail, ivr.KindCallback, ivr.KindSurvey,
			ivr.KindLanguage, ivr.KindHangup, ivr.KindRing, ivr.KindQueue, ivr.KindForward:
			n.Prompt = get("prompt")
		}
		switch n.Kind {
		case ivr.KindPlay, ivr.KindVoicemail, ivr.KindCallback, ivr.KindSurvey, ivr.KindLanguage,
			ivr.KindSMS, ivr.KindRing, ivr.KindQueue, ivr.KindForward:
			n.Next = get("next")
		}
		switch n.Kind {
		case ivr.KindMenu:
			for _, k := range menuKeys {
				if to := get("key." + k); to != "" {
					if n.Choices == nil {
						n.Choices = map[string]string{}
					}
					n.Choices[k] = to
				}
			}
			n.TimeoutSec = formInt(get("timeout_sec"))
			n.Retries = formInt(get("retries"))
			n.Invalid = get("invalid")
			n.NoInput = get("no_input")
		case ivr.KindSchedule:
			if s := get("schedule"); s != "" {
				var sch ivr.Schedule
				if err := json.Unmarshal([]byte(s), &sch); err != nil {
					return nil, fmt.Errorf("flow form: step %d: hours: %w", i+1, err)
				}
				n.Schedule = &sch
			}
			n.Open, n.Closed, n.Holiday = get("open"), get("closed"), get("holiday")
		case ivr.KindRing, ivr.KindQueue, ivr.KindForward:
			if n.Kind != ivr.KindForward {
				for _, op := range form[nodeField(i, "operators")] {
					if op = formText(op); op != "" && !slices.Contains(n.Operators, op) {
						n.Operators = append(n.Operators, op)
					}
				}
				n.Strategy = ivr.Strategy(get("strategy"))
			}
			n.RingSec = formInt(get("ring_sec"))
			n.NoAnswer = get("no_answer")
			n.Record = get("record") == "1"
			switch n.Kind {
			case ivr.KindQueue:
				n.MaxWaitSec = formInt(get("max_wait_sec"))
				n.Music = get("music")
				n.AnnounceSec = formInt(get("announce_sec"))
				n.LeaveKey = get("leave_key")
				if n.LeaveKey != "" {
					n.Leave = get("leave")
				}
			case ivr.KindForward:
				n.Number = get("number")
			}
		case ivr.KindVoicemail:
			n.Box = get("box")
			n.MaxLengthSec = formInt(get("max_length_sec"))
		case ivr.KindLanguage:
			for _, k := range menuKeys {
				if lang := get("lang." + k); lang != "" {
					if n.Languages == nil {
						n.Languages = map[string]string{}
					}
					n.Languages[k] = lang
				}
			}
		case ivr.KindSMS:
			n.Text = get("text")
		}
		f.Nodes = append(f.Nodes, n)
	}
	return f, nil
}

// newNodeID returns an id for a new step of kind that no step of f has.
func newNodeID(f *ivr.Flow, kind ivr.Kind) string {
	for i := 1; ; i++ {
		id := string(kind) + strconv.Itoa(i)
		if !slices.ContainsFunc(f.Nodes, func(n ivr.Node) bool { return n.ID == id }) {
			return id
		}
	}
}

// addNode appends a new step of kind with the defaults a new step needs and returns its id.
func addNode(f *ivr.Flow, kind ivr.Kind, title string) string {
	n := ivr.Node{ID: newNodeID(f, kind), Kind: kind}
	n.Title = title
	if n.Title == "" {
		n.Title = n.ID
	}
	switch kind {
	case ivr.KindMenu:
		n.Prompt = ivr.PromptMenu
	case ivr.KindSchedule:
		n.Schedule = &ivr.Schedule{TimeZone: "Europe/Moscow", Week: map[string][]string{}}
		for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
			n.Schedule.Week[d] = []string{"09:00-18:00"}
		}
	case ivr.KindQueue, ivr.KindRing:
		n.Strategy = ivr.RingAll
	case ivr.KindLanguage:
		n.Languages = map[string]string{"1": "ru", "2": "en"}
	}
	f.Nodes = append(f.Nodes, n)
	if f.Start == "" {
		f.Start = n.ID
	}
	return n.ID
}

// removeNode takes step i out of f and clears every way that led to it, so that the linter
// names the steps that now lack a way on.
func removeNode(f *ivr.Flow, i int) {
	if i < 0 || i >= len(f.Nodes) {
		return
	}
	id := f.Nodes[i].ID
	f.Nodes = slices.Delete(f.Nodes, i, i+1)
	if f.Start == id {
		f.Start = ""
	}
	clear := func(s *string) {
		if *s == id {
			*s = ""
		}
	}
	for j := range f.Nodes {
		n := &f.Nodes[j]
		for _, p := range []*string{&n.Next, &n.NoInput, &n.Open, &n.Closed, &n.Holiday, &n.NoAnswer, &n.Leave} {
			clear(p)
		}
		for k, to := range n.Choices {
			if to == id {
				delete(n.Choices, k)
			}
		}
	}
}
