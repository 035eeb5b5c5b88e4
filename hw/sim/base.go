package sim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"hotline/voice"
)

// simDialect is what sets a simulated modem family apart; atModem does the rest (ports, command
// lines, echo, the call and its audio). Every method runs with atModem.mu held.
type simDialect interface {
	// dispatch runs a command of the family; false leaves it to the common commands.
	dispatch(c command) (final, bool)
	// identify answers ATI.
	identify()
	// ring returns one ring of cs, framed, as the family sends it.
	ring(cs *callState) string
	// answered queues (atModem.post) what follows OK to ATA.
	answered(cs *callState)
	// boxHungUp adds what the modem says when the box releases the call (AT+CHUP, ATH): reply
	// lines (atModem.info) and URCs after OK (atModem.post). wasActive: the call was answered.
	boxHungUp(cs *callState, wasActive bool)
	// callerHungUp returns what the modem sends, framed, when the caller ends the call.
	callerHungUp(cs *callState, wasActive bool) string
	// tone returns the URC reporting key, or "" when the box did not ask for reports.
	tone(key byte) string
	// live reports whether cs's audio flows on the audio port.
	live(cs *callState) bool
	// callOver resets the per-call audio routing.
	callOver()
	// garbage are stray lines the family's modems send.
	garbage() []string
}

// atModem is the machinery the simulated SIM7600 and Huawei share: two pseudo-terminals, Run
// and Close, the AT command reader with echo, reply framing, the call and its audio, and the
// virtual caller's side (network).
type atModem struct {
	opts Options
	log  *slog.Logger
	at   *port
	pcm  *port
	imei string
	d    simDialect

	closeOnce sync.Once
	closeErr  error
	runDone   chan struct{}

	// mu guards the state below and serialises everything written to the AT port.
	mu       sync.Mutex
	started  bool
	running  bool
	closed   bool
	echo     bool
	cmee     int
	clip     bool
	creg     int
	call     *callState
	calling  bool
	out      []byte
	post     []string
	lastLine string
	sms      smsStore
}

func newATModem(opts Options, defaultID string) (*atModem, error) {
	if opts.ID == "" {
		opts.ID = defaultID
	}
	if opts.RingInterval <= 0 {
		opts.RingInterval = 3 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	at, err := openPort()
	if err != nil {
		return nil, fmt.Errorf("sim %s: AT port: %w", opts.ID, err)
	}
	pcm, err := openPort()
	if err != nil {
		at.close()
		return nil, fmt.Errorf("sim %s: audio port: %w", opts.ID, err)
	}
	return &atModem{
		opts:    opts,
		log:     log.With("modem", opts.ID, "at", at.path, "audio", pcm.path),
		at:      at,
		pcm:     pcm,
		imei:    imei(opts.ID),
		runDone: make(chan struct{}),
		echo:    true,
		cmee:    1,
	}, nil
}

// run serves the modem until ctx ends or it is closed.
func (m *atModem) run(ctx context.Context) error {
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return ErrClosed
	case m.started:
		m.mu.Unlock()
		return fmt.Errorf("sim %s: Run called twice", m.opts.ID)
	}
	m.started, m.running = true, true
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.running = false
		m.mu.Unlock()
		close(m.runDone)
	}()
	m.log.Info("simulated modem up")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		past := time.Unix(1, 0)
		m.at.master.SetReadDeadline(past)
		m.pcm.master.SetReadDeadline(past)
	})
	defer stop()

	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() {
		errs[0] = m.serveAT(ctx)
		cancel()
	})
	wg.Go(func() {
		errs[1] = m.serveAudio(ctx)
		cancel()
	})
	if m.opts.Garbage {
		wg.Go(func() { m.sprinkle(ctx) })
	}
	wg.Wait()
	m.log.Info("simulated modem down")
	return errors.Join(errs...)
}

// close removes the pseudo-terminals and waits for a running Run.
func (m *atModem) close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		running := m.running
		m.mu.Unlock()
		m.closeErr = errors.Join(m.at.close(), m.pcm.close())
		if running {
			<-m.runDone
		}
	})
	return m.closeErr
}

// serveAT reads command lines and answers them, echoing as the real modem does until ATE0.
func (m *atModem) serveAT(ctx context.Context) error {
	buf := make([]byte, 1024)
	line := make([]byte, 0, 256)
	for {
		n, err := m.at.master.Read(buf)
		seg := 0
		for i, b := range buf[:n] {
			if m.smsByte(b) {
				seg = i + 1
				continue
			}
			switch b {
			case '\r':
				m.handleLine(line, buf[seg:i+1])
				seg = i + 1
				line = line[:0]
				continue
			case '\n':
			case 0x08, 0x7f:
				if len(line) > 0 {
					line = line[:len(line)-1]
				}
			default:
				if len(line) < maxLine {
					line = append(line, b)
				}
			}
		}
		if seg < n {
			m.mu.Lock()
			if m.echo {
				m.writeAT(buf[seg:n])
			}
			m.mu.Unlock()
		}
		if err != nil {
			return readErr(ctx, "AT", err)
		}
	}
}

// writeAT sends p on the AT port; m.mu is held. Output the box does not take within a second
// is dropped.
func (m *atModem) writeAT(p []byte) {
	m.at.master.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := m.at.master.Write(p); err != nil && !errors.Is(err, os.ErrClosed) {
		m.log.Warn("AT output dropped", "err", err, "bytes", len(p))
	}
}

// handleLine answers one command line; echo is what arrived of it since the last echo.
func (m *atModem) handleLine(line, echo []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.out, m.post = m.out[:0], m.post[:0]
	if m.echo {
		m.out = append(m.out, echo...)
	}
	if body, found := commandBody(line); found {
		m.lastLine = string(line)
		m.log.Debug("AT command", "line", string(line))
		m.execute(body)
	}
	for _, u := range m.post {
		m.out = append(m.out, "\r\n"...)
		m.out = append(m.out, u...)
		m.out = append(m.out, "\r\n"...)
	}
	if len(m.out) > 0 {
		m.writeAT(m.out)
	}
}

// execute runs the commands of one line; the first that fails ends the line.
func (m *atModem) execute(body string) {
	cmds, err := parseLine(body)
	if err != nil {
		m.finish(fail)
		return
	}
	for _, c := range cmds {
		if f := m.dispatch(c); f.kind != finalOK {
			m.finish(f)
			return
		}
	}
	m.finish(ok)
}

// info appends information lines to the reply.
func (m *atModem) info(lines ...string) {
	for _, l := range lines {
		m.out = append(m.out, "\r\n"...)
		m.out = append(m.out, l...)
		m.out = append(m.out, "\r\n"...)
	}
}

// finish appends the final result code, worded as AT+CMEE asks.
func (m *atModem) finish(f final) {
	switch f.kind {
	case finalPrompt:
		m.out = append(m.out, "\r\n> "...)
	case finalCMS:
		m.info("+CMS ERROR: " + strconv.Itoa(f.cme))
	case finalOK:
		m.info("OK")
	case finalNoCarrier:
		m.info("NO CARRIER")
	case finalCME:
		switch m.cmee {
		case 1:
			m.info("+CME ERROR: " + strconv.Itoa(f.cme))
		case 2:
			m.info("+CME ERROR: " + cmeText[f.cme])
		default:
			m.info("ERROR")
		}
	default:
		m.info("ERROR")
	}
}

// dispatch runs one command: the dialect's first, then the common ones.
func (m *atModem) dispatch(c command) final {
	if f, done := m.d.dispatch(c); done {
		return f
	}
	switch c.name {
	case "A":
		return m.answer()
	case "H":
		if c.arg != "" && c.arg != "0" {
			return fail
		}
		m.hangUp()
		return ok
	case "E":
		switch c.arg {
		case "", "0":
			m.echo = false
		case "1":
			m.echo = true
		default:
			return fail
		}
		return ok
	case "I":
		m.d.identify()
		return ok
	case "V":
		if c.arg != "1" {
			return fail
		}
		return ok
	case "Q":
		if c.arg != "" && c.arg != "0" {
			return fail
		}
		return ok
	case "Z", "&F", "&W", "&C", "&D", "X", "L", "M", "S":
		return ok
	case "D":
		return notSupported // outgoing calls are not simulated
	case "+CGSN", "+GSN":
		return m.action(c, m.imei)
	case "+CIMI":
		return m.action(c, "00101"+m.imei[5:15])
	case "+CPIN":
		if c.op == "?" {
			m.info("+CPIN: READY")
			return ok
		}
		return fail
	case "+CSQ":
		return m.action(c, "+CSQ: 25,99")
	case "+COPS":
		if c.op == "?" {
			m.info(`+COPS: 0,0,"` + operatorName + `",2`)
		}
		return ok
	case "+CREG", "+CGREG", "+CEREG":
		switch c.op {
		case "=":
			return m.number(c, &m.creg, 2)
		case "?":
			m.info(fmt.Sprintf("%s: %d,1", c.name, m.creg))
			return ok
		}
		return ok
	case "+CMEE":
		return m.number(c, &m.cmee, 2)
	case "+CLIP":
		n := b2i(m.clip)
		f := m.number(c, &n, 1)
		m.clip = n == 1
		if c.op == "?" {
			m.info(fmt.Sprintf("+CLIP: %d,1", n))
		}
		return f
	case "+CHUP":
		m.hangUp()
		return ok
	case "+CMGF", "+CNMI", "+CPMS", "+CMGR", "+CMGL", "+CMGD", "+CMGS":
		f, _ := m.sms.dispatch(c, m.info)
		return f
	case "+CSCS", "+CSSN", "+CSMS", "+VTS", "+VTD", "+CCWA":
		return ok // accepted; character sets and DTMF out are not simulated
	}
	return fail
}

// action answers an action command with one line.
func (m *atModem) action(c command, reply string) final {
	switch c.op {
	case "":
		m.info(reply)
		return ok
	case "=?":
		return ok
	}
	return fail
}

// number sets (=) a number 0..max; the read and test forms say OK.
func (m *atModem) number(c command, v *int, max int) final {
	if c.op != "=" {
		return ok
	}
	n, err := strconv.Atoi(strings.TrimSpace(c.arg))
	if err != nil || n < 0 || n > max {
		return badParams
	}
	*v = n
	return ok
}

// clcc is the +CLCC line of cs in state stat.
func clcc(cs *callState, stat int) string {
	return fmt.Sprintf(`+CLCC: 1,1,%d,0,0,"%s",%d`, stat, cs.from, numberType(cs.from))
}

// answer handles ATA: OK while a call rings, NO CARRIER otherwise.
func (m *atModem) answer() final {
	cs := m.call
	if cs == nil || cs.stat != statIncoming {
		return noCarrier
	}
	cs.stat = statActive
	cs.answeredAt = time.Now()
	if err := m.pcm.flush(); err != nil {
		m.log.Warn("flush audio port", "err", err)
	}
	select {
	case cs.answered <- struct{}{}:
	default:
	}
	m.d.answered(cs)
	m.log.Info("call answered", "from", cs.from)
	return ok
}

// hangUp releases the current call on the box's request, if there is one.
func (m *atModem) hangUp() {
	cs := m.call
	if cs == nil {
		return
	}
	m.call = nil
	m.d.boxHungUp(cs, cs.stat == statActive)
	m.d.callOver()
	select {
	case cs.hungUp <- struct{}{}:
	default:
	}
	m.log.Info("call released by the box", "from", cs.from)
}

// serveAudio drains what the box writes on the audio port and hands it, frame by frame, to the
// call while its audio flows.
func (m *atModem) serveAudio(ctx context.Context) error {
	var (
		buf    [4096]byte
		frame  [2 * voice.FrameSamples]byte
		have   int
		f      voice.Frame
		lastCS *callState
	)
	for {
		n, err := m.pcm.master.Read(buf[:])
		p := buf[:n]
		for len(p) > 0 {
			m.mu.Lock()
			cs := m.call
			live := cs != nil && m.d.live(cs)
			m.mu.Unlock()
			if !live {
				have = 0
				break
			}
			if cs != lastCS {
				lastCS, have = cs, 0
			}
			c := copy(frame[have:], p)
			have += c
			p = p[c:]
			if have < len(frame) {
				break
			}
			have = 0
			decodeFrame(&f, &frame)
			select {
			case cs.frames <- f:
			default:
			}
		}
		if err != nil {
			return readErr(ctx, "audio", err)
		}
	}
}

// sprinkle writes the dialect's stray lines and binary junk on the AT port until ctx ends.
func (m *atModem) sprinkle(ctx context.Context) {
	seed := fnv.New64a()
	seed.Write([]byte(m.opts.ID))
	rng := rand.New(rand.NewPCG(seed.Sum64(), 0x5eed))
	lines := m.d.garbage()
	t := time.NewTimer(0)
	defer t.Stop()
	junk := make([]byte, 0, 64)
	for {
		t.Reset(time.Duration(100+rng.IntN(400)) * time.Millisecond)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		junk = append(junk[:0], "\r\n"...)
		if rng.IntN(2) == 0 {
			for range 1 + rng.IntN(24) {
				junk = append(junk, byte(0x80+rng.IntN(0x80)))
			}
		} else {
			junk = append(junk, lines[rng.IntN(len(lines))]...)
		}
		junk = append(junk, "\r\n"...)
		m.mu.Lock()
		if !m.closed {
			m.at.master.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			m.at.master.Write(junk) // dropping garbage is fine
		}
		m.mu.Unlock()
	}
}

// The virtual caller's side (network).

func (m *atModem) startCall(from string) (*callState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return nil, ErrClosed
	case !m.running:
		return nil, ErrNotRunning
	case m.calling:
		return nil, ErrBusy
	}
	m.calling = true
	cs := &callState{
		from:     from,
		stat:     statIncoming,
		answered: make(chan struct{}, 1),
		hungUp:   make(chan struct{}, 1),
		frames:   make(chan voice.Frame, 64),
	}
	m.call = cs
	return cs, nil
}

func (m *atModem) endCall(cs *callState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.call == cs {
		m.call = nil
		m.d.callOver()
	}
	m.calling = false
}

func (m *atModem) ring(cs *callState) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.call != cs || cs.stat != statIncoming {
		return false
	}
	m.writeAT([]byte(m.d.ring(cs)))
	return true
}

func (m *atModem) giveUp(cs *callState) (answered, released bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.call == cs && cs.stat == statActive {
		return true, false
	}
	return false, m.releaseByCaller(cs)
}

func (m *atModem) callerHangUp(cs *callState) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.releaseByCaller(cs)
}

// releaseByCaller ends cs from the caller's side; m.mu is held.
func (m *atModem) releaseByCaller(cs *callState) bool {
	if m.call != cs {
		return false
	}
	m.call = nil
	m.writeAT([]byte(m.d.callerHungUp(cs, cs.stat == statActive)))
	m.d.callOver()
	m.log.Info("call released by the caller", "from", cs.from)
	return true
}

func (m *atModem) toneReport(cs *callState, key byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.call != cs || !m.opts.ToneReports {
		return
	}
	if u := m.d.tone(key); u != "" {
		m.writeAT([]byte("\r\n" + u + "\r\n"))
	}
}

func (m *atModem) audioLive(cs *callState) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.call == cs && m.d.live(cs)
}

func (m *atModem) answerTime(cs *callState) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return cs.answeredAt
}

func (m *atModem) audioOut() *os.File          { return m.pcm.master }
func (m *atModem) stopped() <-chan struct{}    { return m.runDone }
func (m *atModem) ringInterval() time.Duration { return m.opts.RingInterval }

var _ network = (*atModem)(nil)

// callSeconds is how long cs has been up, in whole seconds; 0 if it was never answered.
func callSeconds(cs *callState) int {
	if cs.answeredAt.IsZero() {
		return 0
	}
	return int(time.Since(cs.answeredAt) / time.Second)
}
