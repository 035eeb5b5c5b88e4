package ivr

import "time"

// Names of the prompts the interpreter plays when a node does not name its own, and of those the
// Env is expected to play for a queue (the default prompts of voice/prompts have all of them).
const (
	PromptGreeting         = "greeting"
	PromptMenu             = "menu"
	PromptAbout            = "about"
	PromptInvalid          = "invalid"           // a key that is not a choice
	PromptVoicemail        = "voicemail"         // voicemail greeting, before the beep
	PromptGoodbye          = "goodbye"           // the step limit's voicemail ends with it too
	PromptAfterHours       = "after_hours"       // closed now
	PromptConnecting       = "connecting"        // ring, queue and forward, before ringing
	PromptAllBusy          = "all_busy"          // no one answered, leave a message
	PromptQueueWait        = "queue_wait"        // Env: in the queue, every Announce
	PromptQueuePosition    = "queue_position_"   // Env: + "1".."5", the caller's place in the queue
	PromptCallbackOffer    = "callback_offer"    // a menu: 1 callback, 0 message
	PromptCallbackDone     = "callback_done"     // callback node
	PromptSurvey           = "survey"            // survey node
	PromptSurveyThanks     = "survey_thanks"     // after a score
	PromptOperatorAnnounce = "operator_announce" // Env: to the operator's mobile, "press 1 to take it"
	PromptRecordingNotice  = "recording_notice"  // before a recorded conversation
	PromptLanguageChoice   = "language_choice"   // language node
	PromptSMSSent          = "sms_sent"          // may follow an sms node
)

// Defaults for a zero duration or count in a node.
const (
	DefaultMenuTimeout  = 5 * time.Second
	DefaultMenuTries    = 2
	MaxMenuTries        = 9 // more tries than this are refused by Lint and cut by Run
	MaxSeconds          = 24 * 3600
	DefaultRing         = 20 * time.Second
	DefaultMaxWait      = 60 * time.Second
	DefaultAnnounce     = 30 * time.Second
	DefaultVoicemailMax = 2 * time.Minute
	// MaxSteps is how many nodes one call may visit; a flow that goes on longer ends in
	// voicemail. A caller pressing keys through menus all day would need more than this.
	MaxSteps = 200
)

// prompt is the prompt the node plays on entry: its own or the kind's default.
func (n *Node) prompt() string {
	if n.Prompt != "" {
		return n.Prompt
	}
	switch n.Kind {
	case KindVoicemail:
		return PromptVoicemail
	case KindCallback:
		return PromptCallbackDone
	case KindSurvey:
		return PromptSurvey
	case KindLanguage:
		return PromptLanguageChoice
	case KindRing, KindQueue, KindForward:
		return PromptConnecting
	}
	return ""
}

func (n *Node) invalidPrompt() string {
	if n.Invalid != "" {
		return n.Invalid
	}
	return PromptInvalid
}

// seconds is n seconds, def for zero or less, at most MaxSeconds.
func seconds(n int, def time.Duration) time.Duration {
	if n <= 0 {
		return def
	}
	return time.Duration(min(n, MaxSeconds)) * time.Second
}

// Default returns the flow of a new box, with the owner's labels in lang ("ru" or "en"): in
// working hours (Monday to Friday, 09:00-18:00 Moscow time) a greeting and a menu, 1 for
// information and back, 0 for the queue of all operators (at most a minute, 0 again leaves a
// message), then a survey; no answer, after hours and a silent caller end in voicemail.
func Default(lang string) *Flow {
	t := func(ru, en string) string {
		if lang == "en" {
			return en
		}
		return ru
	}
	week := []string{"09:00-18:00"}
	return &Flow{
		Name:  t("Основная", "Main"),
		Start: "hours",
		Nodes: []Node{
			{ID: "hours", Kind: KindSchedule, Title: t("Часы работы", "Working hours"),
				Schedule: &Schedule{TimeZone: "Europe/Moscow", Week: map[string][]string{
					"mon": week, "tue": week, "wed": week, "thu": week, "fri": week}},
				Open: "greeting", Closed: "after_hours"},
			{ID: "greeting", Kind: KindPlay, Title: t("Приветствие", "Greeting"), Prompt: PromptGreeting, Next: "menu"},
			{ID: "menu", Kind: KindMenu, Title: t("Главное меню", "Main menu"), Prompt: PromptMenu,
				Choices:    map[string]string{"1": "about", "0": "operators"},
				TimeoutSec: 5, Retries: DefaultMenuTries, Invalid: PromptInvalid, NoInput: "voicemail"},
			{ID: "about", Kind: KindPlay, Title: t("О нас", "About us"), Prompt: PromptAbout, Next: "menu"},
			{ID: "operators", Kind: KindQueue, Title: t("Операторы", "Operators"), Prompt: PromptConnecting,
				Strategy: RingAll, RingSec: 20, MaxWaitSec: 60, AnnounceSec: 30,
				LeaveKey: "0", Leave: "voicemail", NoAnswer: "busy", Next: "survey"},
			{ID: "survey", Kind: KindSurvey, Title: t("Оценка разговора", "Rating"), Prompt: PromptSurvey, Next: "bye"},
			{ID: "busy", Kind: KindVoicemail, Title: t("Все заняты", "All busy"), Prompt: PromptAllBusy, Next: "bye"},
			{ID: "after_hours", Kind: KindPlay, Title: t("Нерабочее время", "After hours"), Prompt: PromptAfterHours, Next: "voicemail"},
			{ID: "voicemail", Kind: KindVoicemail, Title: t("Голосовая почта", "Voicemail"), Prompt: PromptVoicemail, Next: "bye"},
			{ID: "bye", Kind: KindHangup, Title: t("До свидания", "Goodbye"), Prompt: PromptGoodbye},
		},
	}
}
