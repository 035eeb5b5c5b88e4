package daemon

// TestCall asks a simulated line to place a call into the box, as `hotline call` does. It
// travels as JSON from the CLI to POST /api/sim/call.
type TestCall struct {
	From          string `json:"from"`                      // caller ID the simulated network presents
	Line          string `json:"line,omitempty"`            // simulated line to ring ("" = the first free one)
	Digits        string `json:"digits,omitempty"`          // keys to press once the menu has played
	Say           []byte `json:"say_pcm,omitempty"`         // what the caller says after the beep: s16le, 8 kHz mono
	Record        bool   `json:"record,omitempty"`          // send back what the caller heard
	InbandOnly    bool   `json:"inband_only,omitempty"`     // the modem does not report digits itself (+QTONEDET off)
	HangupAfterMS int    `json:"hangup_after_ms,omitempty"` // caller hangs up this long after the answer (0 = waits for the box)
	MaxRings      int    `json:"max_rings,omitempty"`       // caller gives up after this many rings (0 = 10)
	// HangupAfterHeardMS: the caller hangs up once it has heard this much of the box's sound
	// after its keys (sim.Caller.HangupAfterHeard; 0 = not).
	HangupAfterHeardMS int `json:"hangup_after_heard_ms,omitempty"`
	// Audio faults on the way to the box: every Nth frame of the caller's audio lost, or late.
	DropEvery int `json:"drop_every,omitempty"`
	LateEvery int `json:"late_every,omitempty"`
}

// TestCallResult sums up a test call from the caller's side and the box's call log.
type TestCallResult struct {
	Line             string  `json:"line"`
	CallID           int64   `json:"call_id,omitempty"`
	Rings            int     `json:"rings"`
	AnsweredAfterMS  int64   `json:"answered_after_ms"`
	FirstSoundMS     int64   `json:"first_sound_after_ms"` // from the answer to the first sound of the greeting
	Outcome          string  `json:"outcome"`              // from the call log: "voicemail", "abandoned", "missed", ...
	MenuPath         string  `json:"menu_path"`            // the keys the flow read, comma-separated ("1,0")
	Path             string  `json:"path"`                 // the flow's nodes the call went through
	AnsweredBy       string  `json:"answered_by"`          // who took the call, when a person did
	Survey           int     `json:"survey,omitempty"`
	DigitsSent       string  `json:"digits_sent"`
	PromptsHeard     int     `json:"prompts_heard"`
	SecondsHeard     float64 `json:"seconds_heard"`
	DurationMS       int64   `json:"duration_ms"`
	HungUpBy         string  `json:"hung_up_by"` // "box" or "caller"
	VoicemailID      int64   `json:"voicemail_id,omitempty"`
	VoicemailSeconds float64 `json:"voicemail_seconds,omitempty"`
	Heard            []byte  `json:"heard_pcm,omitempty"` // what the caller heard, s16le 8 kHz mono (when asked)
	// SimLateFrames is how many of the call's underruns the simulated modem itself may have
	// caused by pausing (its process starved on a busy machine; sim.Result.LateFrames).
	SimLateFrames int `json:"sim_late_frames,omitempty"`
}
