// Package ivr is the call-flow language of the hotline: the graph the owner edits (play, menu,
// schedule, ring operators, queue, voicemail, callback, survey, forward, language, SMS reply,
// hang up), its linter, and the interpreter that walks one call through a graph over an abstract
// environment. It knows no device, no store and no network: what a node does to the world
// (ringing people, recording, sending an SMS) is the Env's job.
package ivr

import (
	"context"
	"errors"
	"time"
)

// ErrNoRecording is what Env.Voicemail returns (wrapped) when the box cannot record at all now
// (its disk is full): the caller could not leave a message, so the call counts as missed and
// the flow goes on, rather than as a failure of the box.
var ErrNoRecording = errors.New("no message can be recorded now")

// Kind names what a node does.
type Kind string

// The kinds of node.
const (
	KindPlay      Kind = "play"      // play Prompt, then Next
	KindMenu      Kind = "menu"      // play Prompt, read a key: Choices[key], retries, NoInput
	KindSchedule  Kind = "schedule"  // Open, Closed or Holiday, by Schedule and the clock
	KindRing      Kind = "ring"      // ring Operators once; Next when a person talked, NoAnswer otherwise
	KindQueue     Kind = "queue"     // hold music until a person is free; Next, NoAnswer on MaxWait, Leave on LeaveKey
	KindVoicemail Kind = "voicemail" // Prompt (greeting), beep, record into Box, then Next (or end)
	KindCallback  Kind = "callback"  // record a callback request for the caller's number, play Prompt, Next
	KindSurvey    Kind = "survey"    // play Prompt, read 1..5, store it, Next
	KindForward   Kind = "forward"   // call Number on another line and bridge; Next or NoAnswer
	KindLanguage  Kind = "language"  // play Prompt, Languages[key] becomes the call's language, Next
	KindSMS       Kind = "sms"       // send Text to the caller by SMS, Next
	KindHangup    Kind = "hangup"    // play Prompt (if any) and hang up
)

// Strategy is how a ring or queue node rings its operators.
type Strategy string

// The ring strategies.
const (
	RingAll         Strategy = "all"          // everyone at once, first to answer takes it
	RingInOrder     Strategy = "order"        // one after another in the listed order
	RingLeastRecent Strategy = "least_recent" // the one who was called longest ago first
)

// Flow is one version of a hotline's call flow: a graph of nodes from Start.
type Flow struct {
	Name  string `json:"name,omitempty"`
	Start string `json:"start"`
	Nodes []Node `json:"nodes"`
}

// Node is one step of a flow. Which fields matter depends on Kind; the others stay empty.
// Durations are whole seconds; zero means the default of the kind (see the Default*
// constants). An empty Prompt means the kind's own prompt: voicemail "voicemail", callback
// "callback_done", survey "survey", language "language_choice", ring, queue and forward
// "connecting"; play and menu need one; hangup plays none.
type Node struct {
	ID     string `json:"id"`
	Kind   Kind   `json:"kind"`
	Title  string `json:"title,omitempty"`  // the owner's label for the node
	Prompt string `json:"prompt,omitempty"` // prompt name played on entry
	Next   string `json:"next,omitempty"`

	// menu: Choices maps a key ("0".."9", "*", "#") to a node; after Retries tries with no
	// key or a wrong key the call goes to NoInput (zero: 2 tries, at most MaxMenuTries). Invalid
	// is the prompt for a wrong key (empty: "invalid"); TimeoutSec the wait after the prompt.
	Choices    map[string]string `json:"choices,omitempty"`
	TimeoutSec int               `json:"timeout_sec,omitempty"`
	Retries    int               `json:"retries,omitempty"`
	Invalid    string            `json:"invalid,omitempty"`
	NoInput    string            `json:"no_input,omitempty"`

	// schedule
	Schedule *Schedule `json:"schedule,omitempty"`
	Open     string    `json:"open,omitempty"`
	Closed   string    `json:"closed,omitempty"`
	Holiday  string    `json:"holiday,omitempty"` // empty: Closed

	// ring, queue, forward
	Operators    []string          `json:"operators,omitempty"` // operator names; empty: everyone
	Strategy     Strategy          `json:"strategy,omitempty"`
	RingSec      int               `json:"ring_sec,omitempty"` // how long each attempt rings
	NoAnswer     string            `json:"no_answer,omitempty"`
	Record       bool              `json:"record,omitempty"` // record the conversation (with the notice)
	MaxWaitSec   int               `json:"max_wait_sec,omitempty"`
	Music        string            `json:"music,omitempty"` // hold music prompt; empty: the default
	AnnounceSec  int               `json:"announce_sec,omitempty"`
	LeaveKey     string            `json:"leave_key,omitempty"` // queue: this key leaves to Leave
	Leave        string            `json:"leave,omitempty"`
	Number       string            `json:"number,omitempty"` // forward: the number to call
	Box          string            `json:"box,omitempty"`    // voicemail box name; empty: the main box
	MaxLengthSec int               `json:"max_length_sec,omitempty"`
	Languages    map[string]string `json:"languages,omitempty"` // language: key -> "ru", "en"
	Text         string            `json:"text,omitempty"`      // sms
}

// Schedule is the working week of a business, in its time zone, with holidays and exceptions.
type Schedule struct {
	TimeZone string `json:"tz"` // IANA name, e.g. "Europe/Moscow"
	// Week holds the open hours per weekday, keys "mon".."sun", values like "09:00-18:00";
	// a day with no entry is closed. "00:00-24:00" is the whole day.
	Week map[string][]string `json:"week"`
	// Holidays are closed days: "2026-01-07" once, or "01-01" every year.
	Holidays []string `json:"holidays,omitempty"`
	// Exceptions replace the hours of one date (e.g. a short day, or a Saturday open).
	Exceptions []Exception `json:"exceptions,omitempty"`
}

// Exception gives one date its own hours; no Hours means closed that day.
type Exception struct {
	Date  string   `json:"date"` // "2026-12-31"
	Hours []string `json:"hours,omitempty"`
}

// Outcome sums up how a call ended, as the call log shows it.
type Outcome string

// The outcomes of a call.
const (
	OutcomeAnswered  Outcome = "answered"  // a person talked with the caller
	OutcomeVoicemail Outcome = "voicemail" // the caller left a message
	OutcomeCallback  Outcome = "callback"  // the caller asked to be called back
	OutcomeCompleted Outcome = "completed" // the caller heard information and hung up, or the flow hung up
	OutcomeMissed    Outcome = "missed"    // the caller hung up waiting for a person (ringing, queue)
	OutcomeAbandoned Outcome = "abandoned" // the caller hung up before anything happened
	OutcomeFailed    Outcome = "failed"    // the box could not serve the call
)

// Connect is what a ring, queue or forward node asks of the environment.
type Connect struct {
	Node      string // the node's ID, for the record
	Operators []string
	Strategy  Strategy
	Ring      time.Duration // per attempt
	Number    string        // forward: an outside number instead of operators
	Record    bool
	// Queue only: wait for a free person up to MaxWait with Music, announcing the position
	// every Announce; LeaveKey (0 if none) ends the wait at the caller's wish.
	Queue    bool
	MaxWait  time.Duration
	Music    string
	Announce time.Duration
	LeaveKey byte
}

// Connected is how a Connect went.
type Connected struct {
	Answered bool          // a person took the call and talked
	By       string        // who: operator name or the forwarded number
	Left     bool          // the caller pressed the leave key
	Wait     time.Duration // from the start of ringing/queueing to the answer or the end
	Talk     time.Duration
}

// Env is everything the interpreter needs from the call and the box. Methods that take a ctx
// return its error once the caller hangs up (ctx is the call's context).
type Env interface {
	// Now is the clock the schedules are read from.
	Now() time.Time
	// ClosedOverride is the owner's switch: "open", "closed", or "" to follow the schedule.
	ClosedOverride() string
	// SetLanguage switches the prompts of the rest of the call.
	SetLanguage(lang string)
	// Play plays a prompt by name; with bargeIn a key ends it early and is returned (0 if none).
	Play(ctx context.Context, prompt string, bargeIn bool) (byte, error)
	// WaitKey waits up to timeout for a key; 0 means none came.
	WaitKey(ctx context.Context, timeout time.Duration) (byte, error)
	// Connect rings people (or a number) and, when one answers, bridges the call until either
	// side hangs up. It returns after the talk, or when nobody answered: at once when no
	// operator is available, so that the flow goes on to its no-answer way. For a queue it
	// plays the hold music and, every Announce, "queue_position_N" (N up to 5) or "queue_wait".
	// The interpreter plays "recording_notice" (when Record) and the node's prompt before.
	Connect(ctx context.Context, c Connect) (Connected, error)
	// Voicemail plays the beep, records the caller into box for at most max and stores it.
	// The interpreter has played the node's greeting before. A hang-up is the usual end of a
	// message: return nil or the ctx error, the call counts as voicemail either way.
	Voicemail(ctx context.Context, box string, max time.Duration) error
	// Callback records that the caller wants to be called back.
	Callback(ctx context.Context) error
	// SMS sends text to the caller's number (at most once per number per day: the Env decides).
	// A failure other than a hang-up is logged and the call goes on.
	SMS(ctx context.Context, text string) error
	// Survey stores the caller's score, 1 to 5. A failure other than a hang-up is logged and
	// the call goes on.
	Survey(ctx context.Context, score int) error
}

// Result is what the interpreter learned about a call, for its record.
type Result struct {
	Outcome    Outcome
	Path       []string // IDs of the nodes visited, in order
	Digits     string   // every key the caller pressed that the flow read
	Language   string   // set by a language node; "" when the call kept the box's language
	AnsweredBy string
	QueueWait  time.Duration
	Talk       time.Duration
	Survey     int // 0: no score
	// Fallback says why the interpreter took a message on its own (a way on not set, a node
	// missing, the step limit); empty when the flow went as drawn.
	Fallback string
	// Err is the Env's failure when Outcome is failed (or when it came after the call was
	// served); nil otherwise, and nil when the caller hung up.
	Err error
	// Closed: a schedule sent the call the "closed" (or holiday) way.
	Closed bool
}
