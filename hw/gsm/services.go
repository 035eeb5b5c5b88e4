package gsm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hotline/hw"
	"hotline/hw/modem"
	"hotline/hw/sms"
)

const (
	// signalPoll spaces the AT+CSQ queries.
	signalPoll = 30 * time.Second
	// dialTimeout bounds an outgoing call from ATD to the answer.
	dialTimeout = 60 * time.Second
	// dialSettle is how long a call released without a reason waits for BUSY or NO ANSWER.
	dialSettle = 500 * time.Millisecond
	// smsSendTimeout bounds one AT+CMGS, prompt and network included.
	smsSendTimeout = 60 * time.Second
	// ussdTimeout bounds a USSD request and its reply.
	ussdTimeout = 30 * time.Second
	// smsQueue is the capacity of the SMS read queue and of the SMS channel.
	smsQueue = 64
)

// Plain-words line states reported in hw.Event.State and LineStatus.State.
const (
	StateReady         = "ready"
	StateNoSIM         = "no SIM"
	StatePINNeeded     = "SIM PIN needed"
	StateNotRegistered = "not registered"
	StateSearching     = "searching"
	StateDown          = "down"
)

// ErrLineBusy is wrapped by Dial's error when the line already has a call.
var ErrLineBusy = errors.New("the line already has a call")

// ErrUSSD is wrapped by USSD's error when the network gave no usable answer.
var ErrUSSD = errors.New("USSD request failed")

// LineStatus is what a line knows of its modem, SIM and network, for the health page and
// `hotline doctor`. Strings come from the modem and are untrusted (escape them to show them).
type LineStatus struct {
	Model      string    // AT+CGMM
	Firmware   string    // AT+CGMR
	IMEI       string    // AT+CGSN
	SIM        string    // "ready", "PIN needed", "PIN rejected", "PUK needed", "not inserted", "" unknown
	Operator   string    // long alphanumeric name from AT+COPS?; "" when not registered
	Registered bool      // registered at home or roaming (+CREG or +CEREG)
	Roaming    bool      // registered on a visited network
	SignalBars int       // 0..5
	SignalDBm  int       // -113..-51; 0 when unknown
	State      string    // the plain-words state last reported as hw.State ("ready", "no SIM", ...)
	Updated    time.Time // when any of the above last changed
}

// IncomingSMS is a received message (or a delivery report) that is still on the SIM. The
// consumer stores it and then calls Ack, which deletes it from the SIM; until then it stays
// there, and after a restart it is read and delivered again (so delivery is at least once:
// a consumer that crashed between storing and Ack sees it twice and may drop the duplicate by
// From, Time and Text).
type IncomingSMS struct {
	Line     string    // the line's ID
	From     string    // sender as the network gave it ("+79161234567", "MegaFon"); untrusted
	Time     time.Time // the service centre's timestamp (of the first part)
	Received time.Time // when the line read it
	Text     string    // the whole text, parts joined; untrusted
	Parts    int       // parts of a concatenated message (1 for a single SMS)
	Missing  []int     // part numbers that never came (the text was given up incomplete)
	// Report, when not nil, makes this a delivery report for a message the line sent
	// (Report.Ref matches a reference SendSMS returned); From and Text are then empty.
	Report *sms.StatusReport
	Slots  []int // SIM storage indexes the message occupies

	direct bool // came with +CMT: Ack sends AT+CNMA
	ack    func(ctx context.Context) error
}

// Ack deletes the message from the SIM (AT+CMGD per slot), or for a message delivered directly
// (+CMT) acknowledges it to the network (AT+CNMA). Call it once the message is stored.
// It is safe to call more than once; an error leaves (some of) it on the SIM, to be delivered
// again after a restart.
func (m IncomingSMS) Ack(ctx context.Context) error {
	if m.ack == nil {
		return nil
	}
	return m.ack(ctx)
}

// secret is a string that never shows in logs or formatted output.
type secret string

// LogValue keeps the secret out of structured logs.
func (s secret) LogValue() slog.Value {
	if s == "" {
		return slog.StringValue("")
	}
	return slog.StringValue("[redacted]")
}

func (s secret) String() string { return s.LogValue().String() }

// GoString keeps the secret out of %#v.
func (s secret) GoString() string { return s.String() }

// family is what the services need to know of a dialect.
type family struct {
	eps         bool     // the modem does LTE: AT+CEREG=2 too
	signalSteps []string // switch on signal reports
	ussdPacked  bool     // AT+CUSD takes packed GSM 7-bit hex (Huawei), not text
	huaweiDTMF  bool     // AT^DTMF=<idx>,<c> instead of AT+VTS
}

// callHost is the call state of a line, as Dial and SendDigits need it.
type callHost interface {
	// startDial reserves the idle line for an outgoing call to number.
	startDial(number string) (gen uint64, err error)
	// afterATD runs once ATD was accepted (Huawei: AT^DDSETEX=2).
	afterATD(ctx context.Context) error
	// dialConnected starts the audio of call gen, marks it up and sends Connected.
	dialConnected(ctx context.Context, gen uint64) (hw.Audio, error)
	// dialGiveUp hangs up call gen if still there and forgets it without an event.
	dialGiveUp(gen uint64)
	// activeCall returns the modem's index of the call that is up.
	activeCall() (idx int, ok bool)
}

// dialOutcome is progress of an outgoing call.
type dialOutcome struct {
	connected bool
	err       error // hw.ErrBusy or hw.ErrNoAnswer wrapped with a reason
	soft      bool  // ended without a reason; a BUSY or NO ANSWER may follow
}

type dialAttempt struct {
	gen uint64
	out chan dialOutcome
}

// services are the parts of a line that do not depend on the call state machine: SIM, network
// and signal, SMS, USSD and placing calls. Every line owns one.
type services struct {
	id            string
	ch            *modem.Channel
	log           *slog.Logger
	fam           family
	pin           secret
	statusReports bool
	emit          func(hw.Event) // queues an event; must not be called with s.mu held

	inited   chan struct{} // closed once the first setup finished
	initOnce sync.Once
	refresh  chan struct{} // capacity 1: ask the poller to look again
	jobs     chan smsJob
	smsOut   chan IncomingSMS
	reasm    *sms.Reassembler
	ref      atomic.Uint32 // concatenation references
	dialMu   sync.Mutex    // one Dial at a time
	ussdMu   sync.Mutex    // one USSD at a time

	mu          sync.Mutex
	st          LineStatus
	sim         simState
	pinRejected bool
	creg, cereg int // <stat>, -1 unknown
	noVoice     bool
	down        bool
	announced   bool
	smsReady    bool
	known       map[int]bool // SIM slots read in this run and not deleted
	partSlots   map[partKey][]int
	dial        *dialAttempt
	ussdWait    chan string
	cdsNext     bool // event loop only: the next line is a +CDS PDU
	cmtNext     bool // event loop only: the next line is a +CMT PDU (a message not stored)
}

type partKey struct {
	from  string
	ref   uint16
	total int
}

type smsJob struct {
	slot   int    // -1: a +CDS report or +CMT message that is not stored
	pdu    string // read already (AT+CMGL, +CDS, +CMT); empty: read with AT+CMGR
	direct bool   // delivered with +CMT: acknowledged to the network with AT+CNMA once stored
}

func newServices(id string, ch *modem.Channel, log *slog.Logger, fam family, pin string, reports bool, emit func(hw.Event)) *services {
	return &services{
		id:            id,
		ch:            ch,
		log:           log,
		fam:           fam,
		pin:           secret(pin),
		statusReports: reports,
		emit:          emit,
		inited:        make(chan struct{}),
		refresh:       make(chan struct{}, 1),
		jobs:          make(chan smsJob, smsQueue),
		smsOut:        make(chan IncomingSMS, smsQueue),
		reasm:         sms.NewReassembler(0, 0, nil),
		creg:          -1,
		cereg:         -1,
		known:         map[int]bool{},
		partSlots:     map[partKey][]int{},
	}
}

// status returns a copy of the status.
func (s *services) status() LineStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.SIM = s.sim.String()
	return st
}

// wordLocked is the plain-words state. s.mu is held.
func (s *services) wordLocked() string {
	if s.down {
		return StateDown
	}
	switch s.sim {
	case simAbsent:
		return StateNoSIM
	case simPIN, simPUK, simRejected:
		return StatePINNeeded
	}
	switch reg := s.regLocked(); reg {
	case regHome, regRoaming, -1:
		// -1: the modem does not say; assume it works, as before registration was watched.
		if s.noVoice {
			return StateNoVoice
		}
		return StateReady
	case regSearching:
		return StateSearching
	}
	return StateNotRegistered
}

// regLocked combines +CREG and +CEREG: the better of the two, -1 when neither is known.
func (s *services) regLocked() int {
	best := -1
	rank := map[int]int{regHome: 5, regRoaming: 4, regSearching: 3, regDenied: 2, regNone: 1}
	for _, stat := range []int{s.creg, s.cereg} {
		if stat < 0 {
			continue
		}
		c := regClass(stat)
		if best < 0 || rank[c] > rank[best] {
			best = c
		}
	}
	return best
}

// changedLocked recomputes the derived status after a change; it returns the state to report,
// or "" when it did not change or the first state was not reported yet. s.mu is held.
func (s *services) changedLocked() string {
	s.st.Updated = time.Now()
	reg := s.regLocked()
	s.st.Registered = reg == regHome || reg == regRoaming
	s.st.Roaming = reg == regRoaming
	if !s.st.Registered {
		s.st.Operator = ""
	}
	w := s.wordLocked()
	if w == s.st.State || !s.announced {
		return ""
	}
	s.st.State = w
	return w
}

// update changes the status under the lock and reports a new state.
func (s *services) update(f func()) {
	s.mu.Lock()
	f()
	w := s.changedLocked()
	s.mu.Unlock()
	if w != "" {
		s.log.Info("line state", "state", w)
		s.emit(hw.Event{Kind: hw.State, State: w})
	}
}

// announce returns the state to report once (re)initialisation finished, and lets later
// changes be reported.
func (s *services) announce(noVoice bool) string {
	s.mu.Lock()
	s.noVoice = noVoice
	s.down = false
	s.announced = true
	s.changedLocked()
	w := s.wordLocked()
	s.st.State = w
	s.mu.Unlock()
	s.initOnce.Do(func() { close(s.inited) })
	return w
}

// lost notes that the modem is gone.
func (s *services) lost() {
	s.mu.Lock()
	s.down = true
	s.st.State = StateDown
	s.st.Updated = time.Now()
	s.mu.Unlock()
}

// noteReply keeps identity from the dialect's init replies.
func (s *services) noteReply(cmd string, resp modem.Response) {
	if cmd != "AT+CGMM" || len(resp.Lines) == 0 {
		return
	}
	s.mu.Lock()
	s.st.Model = cleanNumber(strings.Join(resp.Lines, " "))
	s.mu.Unlock()
}

func (s *services) poke() {
	select {
	case s.refresh <- struct{}{}:
	default:
	}
}

// command runs an optional command: a refusal is logged and reported as ok=false; a closed
// channel or ended context is returned.
func (s *services) command(ctx context.Context, cmd string) (modem.Response, bool, error) {
	resp, err := s.ch.Command(ctx, cmd, 0)
	if ctx.Err() != nil || errors.Is(err, modem.ErrClosed) {
		return resp, false, err
	}
	if err != nil {
		s.log.Warn("command refused, going on without it", "cmd", cmd, "err", err)
		return resp, false, nil
	}
	return resp, true, nil
}

// setupSteps are the commands setup sends, in order, when every one is answered and the SIM is
// ready (for the tests and the docs).
func (s *services) setupSteps() []string {
	steps := []string{"AT+CGMR", "AT+CGSN", "AT+CPIN?", "AT+CREG=2", "AT+CREG?"}
	if s.fam.eps {
		steps = append(steps, "AT+CEREG=2", "AT+CEREG?")
	}
	steps = append(steps, "AT+COPS=3,0", "AT+COPS?")
	steps = append(steps, s.fam.signalSteps...)
	return append(steps, "AT+CSQ", "AT+CMGF=0", `AT+CPMS="SM","SM","SM"`, "AT+CNMI=2,1,0,2,0", "AT+CMGL=4")
}

// setup asks the modem who it is, checks the SIM (entering the PIN when one is set and the
// modem asks for it), switches on registration and signal reports, reads them, and sets up
// SMS (reading what waits on the SIM). It runs after the dialect's own init, on the init
// goroutine. Refused commands are logged and skipped.
func (s *services) setup(ctx context.Context) error {
	for _, cmd := range []string{"AT+CGMR", "AT+CGSN"} {
		resp, ok, err := s.command(ctx, cmd)
		if err != nil {
			return err
		}
		if ok && len(resp.Lines) > 0 {
			v := cleanNumber(strings.TrimPrefix(strings.Join(resp.Lines, " "), "+CGMR: "))
			s.mu.Lock()
			if cmd == "AT+CGMR" {
				s.st.Firmware = v
			} else {
				s.st.IMEI = cleanNumber(strings.TrimPrefix(resp.Lines[0], "+CGSN: "))
			}
			s.mu.Unlock()
		}
	}
	if err := s.checkSIM(ctx); err != nil {
		return err
	}
	if err := s.queryReg(ctx, true); err != nil {
		return err
	}
	if _, _, err := s.command(ctx, "AT+COPS=3,0"); err != nil {
		return err
	}
	if err := s.queryOperator(ctx); err != nil {
		return err
	}
	for _, cmd := range s.fam.signalSteps {
		if _, _, err := s.command(ctx, cmd); err != nil {
			return err
		}
	}
	if err := s.querySignal(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	ready := s.sim == simReady || s.sim == simUnknown
	s.smsReady = false
	s.mu.Unlock()
	if ready {
		return s.setupSMS(ctx)
	}
	return nil
}

// checkSIM asks AT+CPIN? and enters the PIN once if the SIM asks for it. A PIN the SIM refused
// is never sent again by this line (three wrong tries lock the SIM).
func (s *services) checkSIM(ctx context.Context) error {
	st, err := s.querySIM(ctx)
	if err != nil || st != simPIN {
		return err
	}
	s.mu.Lock()
	rejected := s.pinRejected
	s.mu.Unlock()
	switch {
	case s.pin == "":
		s.log.Error("the SIM asks for its PIN and none is set; set it in the line's settings")
		return nil
	case rejected:
		s.log.Error("the SIM asks for its PIN; the PIN set was refused before and is not tried again")
		return nil
	case !validPIN(string(s.pin)):
		s.log.Error("the SIM asks for its PIN and the PIN set is not 4 to 8 digits; fix it in the line's settings")
		return nil
	}
	cmd := `AT+CPIN="` + string(s.pin) + `"`
	_, err = s.ch.CommandRedacted(ctx, cmd, `AT+CPIN="****"`, 10*time.Second)
	if ctx.Err() != nil || errors.Is(err, modem.ErrClosed) {
		return err
	}
	if err != nil {
		s.log.Error("the SIM refused the PIN set; it will not be tried again (three wrong tries lock the SIM): fix the PIN in the line's settings", "err", err)
		s.update(func() { s.pinRejected, s.sim = true, simRejected })
		return nil
	}
	s.log.Info("SIM PIN accepted")
	_, err = s.querySIM(ctx)
	return err
}

// validPIN reports whether a PIN can be sent: 4..8 digits.
func validPIN(p string) bool {
	if len(p) < 4 || len(p) > 8 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// querySIM asks AT+CPIN? and records the answer.
func (s *services) querySIM(ctx context.Context) (simState, error) {
	resp, err := s.ch.Command(ctx, "AT+CPIN?", 0)
	if ctx.Err() != nil || errors.Is(err, modem.ErrClosed) {
		return simUnknown, err
	}
	st := simUnknown
	var ce *modem.CommandError
	switch {
	case errors.As(err, &ce) && simErrorAbsent(ce.Final):
		st = simAbsent
	case err != nil:
		s.log.Warn("AT+CPIN? refused", "err", err)
	default:
		for _, l := range resp.Lines {
			if v, ok := parseCPIN(l); ok {
				st = v
			}
		}
	}
	s.update(func() {
		if s.sim == simRejected && st == simPIN {
			return // still the PIN that was refused
		}
		s.sim = st
	})
	if st == simPUK {
		s.log.Error("the SIM is locked (PUK needed); unlock it in a phone")
	}
	return st, nil
}

// queryReg asks +CREG? (and +CEREG?), switching the reports on first when enable.
func (s *services) queryReg(ctx context.Context, enable bool) error {
	kinds := []string{"+CREG"}
	if s.fam.eps {
		kinds = append(kinds, "+CEREG")
	}
	for _, k := range kinds {
		if enable {
			if _, _, err := s.command(ctx, "AT"+k+"=2"); err != nil {
				return err
			}
		}
		resp, ok, err := s.command(ctx, "AT"+k+"?")
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		for _, l := range resp.Lines {
			if stat, ok := parseReg(l, k+":", true); ok {
				s.update(func() { s.setRegLocked(k, stat) })
			}
		}
	}
	return nil
}

func (s *services) setRegLocked(kind string, stat int) {
	if kind == "+CEREG" {
		s.cereg = stat
	} else {
		s.creg = stat
	}
}

// queryOperator asks AT+COPS?.
func (s *services) queryOperator(ctx context.Context) error {
	resp, ok, err := s.command(ctx, "AT+COPS?")
	if err != nil || !ok {
		return err
	}
	for _, l := range resp.Lines {
		if name, ok := parseCOPS(l); ok {
			s.update(func() { s.st.Operator = name })
		}
	}
	return nil
}

// querySignal asks AT+CSQ.
func (s *services) querySignal(ctx context.Context) error {
	resp, ok, err := s.command(ctx, "AT+CSQ")
	if err != nil || !ok {
		return err
	}
	for _, l := range resp.Lines {
		if sig, ok := parseCSQ(l); ok {
			s.setSignal(sig)
		}
	}
	return nil
}

func (s *services) setSignal(sig signal) {
	s.update(func() { s.st.SignalBars, s.st.SignalDBm = sig.bars(), sig.dBm() })
}

// poll runs until ctx ends: AT+CSQ every 30 s, and a fresh look (SIM, operator, SMS setup)
// when a URC says something changed. It starts once the first setup finished.
func (s *services) poll(ctx context.Context) {
	select {
	case <-s.inited:
	case <-ctx.Done():
		return
	}
	t := time.NewTicker(signalPoll)
	defer t.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err = s.querySignal(ctx)
		case <-s.refresh:
			err = s.lookAgain(ctx)
		}
		if err != nil && ctx.Err() == nil {
			s.log.Debug("status query stopped", "err", err)
		}
	}
}

// lookAgain follows a change a URC reported.
func (s *services) lookAgain(ctx context.Context) error {
	s.mu.Lock()
	sim, smsReady, registered, op := s.sim, s.smsReady, s.st.Registered, s.st.Operator
	s.mu.Unlock()
	if sim == simPIN {
		if err := s.checkSIM(ctx); err != nil {
			return err
		}
		s.mu.Lock()
		sim = s.sim
		s.mu.Unlock()
	}
	if sim == simReady && !smsReady {
		if err := s.setupSMS(ctx); err != nil {
			return err
		}
	}
	if registered && op == "" {
		return s.queryOperator(ctx)
	}
	return nil
}

// urc handles the URCs of SIM, network, signal, SMS and USSD, and the dial results BUSY and
// NO ANSWER. It runs on the line's event loop and returns false for URCs it does not take.
func (s *services) urc(text string) bool {
	if s.cdsNext {
		s.cdsNext = false
		if isHexPDU(text) {
			s.queueJob(smsJob{slot: -1, pdu: text})
			return true
		}
	}
	if s.cmtNext {
		s.cmtNext = false
		if isHexPDU(text) {
			s.queueJob(smsJob{slot: -1, pdu: text, direct: true})
			return true
		}
	}
	switch {
	case strings.HasPrefix(text, "+CPIN:"):
		st, ok := parseCPIN(text)
		if !ok {
			s.log.Info("unknown SIM state", "urc", text)
			return true
		}
		s.update(func() {
			if s.sim == simRejected && st == simPIN {
				return
			}
			s.sim = st
			if st != simReady {
				s.smsReady = false
			}
		})
		if st == simReady || st == simPIN {
			s.poke()
		}
	case strings.HasPrefix(text, "+CREG:"), strings.HasPrefix(text, "+CEREG:"):
		kind, _, _ := strings.Cut(text, ":")
		stat, ok := parseReg(text, kind+":", false)
		if !ok {
			s.log.Warn("unreadable registration report", "urc", text)
			return true
		}
		s.update(func() { s.setRegLocked(kind, stat) })
		if c := regClass(stat); c == regHome || c == regRoaming {
			s.poke()
		}
	case strings.HasPrefix(text, "+CGREG:"):
	case strings.HasPrefix(text, "+CSQ:"), strings.HasPrefix(text, "^RSSI:"),
		strings.HasPrefix(text, "+QIND:") && strings.Contains(strings.ToLower(text), `"csq"`):
		if sig, ok := parseCSQ(text); ok {
			s.setSignal(sig)
		} else {
			s.log.Debug("unreadable signal report", "urc", text)
		}
	case strings.HasPrefix(text, "+CMTI:"), strings.HasPrefix(text, "+CDSI:"):
		prefix, _, _ := strings.Cut(text, ":")
		mem, idx, ok := parseStorageIndex(text, prefix+":")
		if !ok {
			s.log.Warn("SMS notice without a usable index ignored", "urc", text)
			return true
		}
		if mem != "SM" && mem != "ME" && mem != "MT" {
			s.log.Warn("SMS stored in an unexpected memory; read from the preferred one", "urc", text)
		}
		s.queueJob(smsJob{slot: idx})
	case strings.HasPrefix(text, "+CDS:"):
		s.cdsNext = true
	case strings.HasPrefix(text, "+CMT:"):
		// Some firmware delivers directly after a restart reset AT+CNMI: the PDU is on the next
		// line and is nowhere else, so it is taken as it comes.
		s.cmtNext = true
	case strings.HasPrefix(text, "+CUSD:"):
		s.mu.Lock()
		w := s.ussdWait
		s.mu.Unlock()
		if w == nil {
			s.log.Info("USSD reply nobody waits for", "urc", text)
			return true
		}
		select {
		case w <- text:
		default:
		}
	case text == "BUSY":
		s.dialReport(dialOutcome{err: fmt.Errorf("%w (BUSY)", hw.ErrBusy)})
	case text == "NO ANSWER":
		s.dialReport(dialOutcome{err: fmt.Errorf("%w (NO ANSWER)", hw.ErrNoAnswer)})
	default:
		return false
	}
	return true
}

// queueJob hands an SMS slot to the reader without blocking the event loop.
func (s *services) queueJob(j smsJob) {
	select {
	case s.jobs <- j:
	default:
		s.log.Error("SMS read queue full; the message stays on the SIM and is read at the next start", "slot", j.slot)
	}
}

// dialReport hands progress to the Dial in progress, if any. It may be called with the line's
// lock held.
func (s *services) dialReport(o dialOutcome) {
	s.mu.Lock()
	d := s.dial
	s.mu.Unlock()
	if d == nil {
		return
	}
	select {
	case d.out <- o:
	default:
	}
}
