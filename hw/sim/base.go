package sim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
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
	// junk appends to b one piece of the stray output the family's modems send, drawn from rng.
	junk(rng *rand.Rand, b []byte) []byte
	dialAnnouncer
	// reset returns the family's own settings to their power-on values.
	reset()
	// bootURCs are the lines the family sends once it has started.
	bootURCs() []string
}

// atModem is the machinery the simulated EC25, SIM7600 and Huawei share: two pseudo-terminals, Run
// and Close, the AT command reader with echo, reply framing, the call and its audio, and the
// virtual caller's side (network).
type atModem struct {
	line
	at   *port
	pcm  *port
	imei string
	// smsAcks counts AT+CNMA (guarded by mu).
	smsAcks int
	d       simDialect
	// infoBlock frames the lines of one information response as one block ("\r\na\r\nb\r\n")
	// rather than line by line; repeat makes A/ run the last command line again. Both are set
	// once, before Run.
	infoBlock bool
	repeat    bool
	callees   *Callees

	// bg runs the virtual callees of dialled calls; bgCtx (guarded by line.mu) is Run's
	// context while Run serves, and nil otherwise.
	bg    sync.WaitGroup
	bgCtx context.Context

	// Guarded by line.mu.
	echo     bool
	cmee     int
	clip     bool
	creg     int
	out      []byte
	post     []string
	lastLine string // for A/
	sms      smsStore
	stall    stallKind // a fault switched on by Stall
	booting  bool      // restarting: input is dropped until the boot URCs
	// unplugged is set between Unplug and Plug: the ports are gone; plugged is closed by Plug
	// (and by Close) to wake the serving loops.
	unplugged bool
	plugged   chan struct{}
}

func (m *atModem) atPath() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.at.path
}

func (m *atModem) audioPath() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pcm.path
}

func (m *atModem) ports() (at, pcm *port) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.at, m.pcm
}

// Unplug pulls the modem off the USB bus: both ports vanish (the box's open ports fail and
// their paths are gone), a call in progress drops. Plug brings it back at new paths.
func (m *atModem) Unplug() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.unplugged || m.closed {
		return
	}
	if cs := m.call; cs != nil {
		m.call = nil
		m.d.callOver()
		select {
		case cs.hungUp <- struct{}{}:
		default:
		}
	}
	m.unplugged = true
	m.plugged = make(chan struct{})
	if err := errors.Join(m.at.close(), m.pcm.close()); err != nil {
		m.log.Warn("unplug", "err", err)
	}
	m.log.Info("unplugged")
}

// Plug puts an unplugged modem back: it starts afresh (settings at their defaults) on two new
// ports, at new paths as a re-enumerated USB device gets (ATPath, AudioPath).
func (m *atModem) Plug() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.unplugged || m.closed {
		return nil
	}
	old := []string{m.at.path, m.pcm.path}
	at, err := openNewPort(old)
	if err != nil {
		return fmt.Errorf("sim %s: plug: AT port: %w", m.opts.ID, err)
	}
	pcm, err := openNewPort(append(old, at.path))
	if err != nil {
		at.close()
		return fmt.Errorf("sim %s: plug: audio port: %w", m.opts.ID, err)
	}
	m.at, m.pcm, m.unplugged = at, pcm, false
	m.stall, m.booting = notStalled, false
	m.echo, m.cmee, m.clip, m.creg = true, 1, false, 0
	m.d.reset()
	close(m.plugged)
	m.log.Info("plugged in", "at", at.path, "audio", pcm.path)
	return nil
}

// replugWait waits, after a serving loop lost its port served (audio: the audio port, else
// the AT port), for Plug, and reports whether to serve on; false: stop serving.
func (m *atModem) replugWait(ctx context.Context, served *port, audio bool) bool {
	m.mu.Lock()
	unplugged, plugged := m.unplugged, m.plugged
	closed := m.closed
	cur := m.at
	if audio {
		cur = m.pcm
	}
	m.mu.Unlock()
	switch {
	case closed || ctx.Err() != nil:
		return false
	case cur != served:
		return true // plugged back already
	case !unplugged:
		return false
	}
	select {
	case <-plugged:
		m.mu.Lock()
		defer m.mu.Unlock()
		return !m.closed
	case <-ctx.Done():
		return false
	}
}

// stallKind is how a stalled modem can be brought back.
type stallKind int

const (
	notStalled stallKind = iota
	stallUntilReset
	stallUntilPowerCycle
)

// Stall makes the modem stop answering on its AT port, as a hung modem does: command lines are
// swallowed with no echo and no reply, and no URC is sent. With untilReset the modem still
// takes AT+CFUN=1,1 and restarts; otherwise only PowerCycle (the PWRKEY/RESET lines) or
// Unstall brings it back. The audio port keeps its state.
func (m *atModem) Stall(untilReset bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stall = stallUntilPowerCycle
	if untilReset {
		m.stall = stallUntilReset
	}
	m.log.Warn("fault: the modem stalls", "until_reset", untilReset)
}

// Unstall ends a stall: the modem answers again, with its state as it was.
func (m *atModem) Unstall() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stall = notStalled
}

// PowerCycle turns the modem off and on, as its PWRKEY or RESET line does: a call drops,
// a stall ends, settings return to their power-on values, and after Options.BootTime the
// family's start-up lines (RDY, ...) follow.
func (m *atModem) PowerCycle() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stall = notStalled
	m.post = m.post[:0]
	m.rebootLocked()
	for _, u := range m.post {
		m.writeAT([]byte("\r\n" + u + "\r\n"))
	}
	m.post = m.post[:0]
	m.log.Info("power cycled")
}

// rebootLocked restarts the modem (AT+CFUN=1,1 or a power cycle): the call drops and the
// settings return to their defaults; the boot URCs go out now (atModem.post) or, with
// Options.BootTime, once that time has passed, with all input dropped until then. m.mu is held.
func (m *atModem) rebootLocked() {
	m.hangUp()
	m.echo, m.cmee, m.clip, m.creg = true, 1, false, 0
	m.d.reset()
	urcs := m.d.bootURCs()
	if m.opts.BootTime <= 0 || m.bgCtx == nil {
		m.post = append(m.post, urcs...)
		return
	}
	m.booting = true
	ctx, wait := m.bgCtx, m.opts.BootTime
	m.bg.Go(func() {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		m.booting = false
		for _, u := range urcs {
			m.writeAT([]byte("\r\n" + u + "\r\n"))
		}
		m.log.Info("modem restarted")
	})
}

// deaf reports whether the modem ignores line now (stalled or booting). m.mu is held.
func (m *atModem) deaf(line []byte) bool {
	switch {
	case m.booting:
		return true
	case m.stall == stallUntilReset:
		body, _ := commandBody(line)
		if strings.EqualFold(strings.ReplaceAll(body, " ", ""), "+CFUN=1,1") {
			m.stall = notStalled
			return false
		}
		return true
	}
	return m.stall != notStalled
}

func newATModem(opts Options, defaultID string) (*atModem, error) {
	m := &atModem{echo: true, cmee: 1}
	log := m.setUp(&opts, defaultID)
	at, err := openPort()
	if err != nil {
		return nil, fmt.Errorf("sim %s: AT port: %w", opts.ID, err)
	}
	pcm, err := openPort()
	if err != nil {
		at.close()
		return nil, fmt.Errorf("sim %s: audio port: %w", opts.ID, err)
	}
	m.log = log.With("modem", opts.ID, "at", at.path, "audio", pcm.path)
	m.at, m.pcm, m.imei = at, pcm, imei(opts.ID)
	m.callees = opts.Callees
	if m.callees == nil {
		m.callees = NewCallees()
	}
	m.releaseByCaller = m.releaseCall
	return m, nil
}

// run serves the modem until ctx ends or it is closed.
func (m *atModem) run(ctx context.Context) error {
	if err := m.enter(); err != nil {
		return err
	}
	defer m.leave(func() {})
	m.log.Info("simulated modem up")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.mu.Lock()
	m.bgCtx = ctx
	m.mu.Unlock()
	// Wake the readers when ctx ends; Close wakes them by closing the files.
	stop := context.AfterFunc(ctx, func() {
		past := time.Unix(1, 0)
		at, pcm := m.ports()
		at.master.SetReadDeadline(past)
		pcm.master.SetReadDeadline(past)
	})
	defer stop()

	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() {
		for {
			at, _ := m.ports()
			errs[0] = m.serveAT(ctx, at)
			if errs[0] != nil || !m.replugWait(ctx, at, false) {
				break
			}
		}
		cancel()
	})
	wg.Go(func() {
		for {
			_, pcm := m.ports()
			errs[1] = m.serveAudio(ctx, pcm)
			if errs[1] != nil || !m.replugWait(ctx, pcm, true) {
				break
			}
		}
		cancel()
	})
	if m.opts.Garbage {
		wg.Go(func() { m.sprinkle(ctx) })
	}
	wg.Wait()
	m.mu.Lock()
	m.bgCtx = nil
	m.mu.Unlock()
	cancel()
	m.bg.Wait()
	m.log.Info("simulated modem down")
	return errors.Join(errs...)
}

// close removes the pseudo-terminals and waits for a running Run.
func (m *atModem) close() error {
	var unplugged bool
	return m.shut(func() {
		unplugged = m.unplugged
		if unplugged {
			close(m.plugged) // wake the loops waiting for Plug
		}
	}, func() error {
		if unplugged {
			return nil // the ports are gone already
		}
		return errors.Join(m.at.close(), m.pcm.close())
	})
}

// serveAT reads command lines from the box and answers them. With echo on, every received byte
// goes back as the real modem sends it: a line's bytes with its reply once the CR is in, and the
// start of a line that is still being typed at the end of each read.
func (m *atModem) serveAT(ctx context.Context, at *port) error {
	buf := make([]byte, 1024)
	line := make([]byte, 0, 256)
	if ctx.Err() != nil {
		return nil
	}
	for {
		n, err := at.master.Read(buf)
		seg := 0
		for i, b := range buf[:n] {
			if m.smsByte(b) {
				seg = i + 1 // a PDU after the "> " prompt is not echoed
				continue
			}
			if b == '\r' {
				m.handleLine(line, buf[seg:i+1], false)
				seg = i + 1
				line = line[:0]
				continue
			}
			line = editLine(line, b)
			if m.repeat && len(line) == 2 && line[1] == '/' && (line[0] == 'a' || line[0] == 'A') {
				// A/ repeats the last command line at once, with no CR.
				m.handleLine(nil, buf[seg:i+1], true)
				seg = i + 1
				line = line[:0]
			}
		}
		if seg < n {
			m.mu.Lock()
			if m.echo && m.stall == notStalled && !m.booting {
				m.writeAT(buf[seg:n])
			}
			m.mu.Unlock()
		}
		if err != nil {
			return readErr(ctx, "AT", err)
		}
	}
}

// writeAT sends p on the AT port, unless the modem is stalled; m.mu is held.
func (m *atModem) writeAT(p []byte) {
	if m.stall != notStalled {
		return
	}
	m.send(m.at.master, p, "AT output dropped")
}

// maxLine caps a command line; the real modem's buffer is smaller still.
const maxLine = 4096

// editLine adds b, which is not CR, to a command line being typed: line feed (S4) is not part
// of it, backspace edits it as on the real modem, and it stops growing at maxLine.
func editLine(line []byte, b byte) []byte {
	switch b {
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
	return line
}

// handleLine answers one received command line (without its CR), or with again (A/) the last
// one. echo is what arrived of the line since the last echo, CR included.
func (m *atModem) handleLine(line, echo []byte, again bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.deaf(line) {
		return
	}
	m.out, m.post = m.out[:0], m.post[:0]
	if m.echo {
		m.out = append(m.out, echo...)
	}
	if again {
		if body, found := commandBody([]byte(m.lastLine)); found {
			m.execute(body)
		}
	} else if body, found := commandBody(line); found {
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

// info appends information lines to the reply, as one block with infoBlock.
func (m *atModem) info(lines ...string) {
	if m.infoBlock {
		m.out = append(m.out, "\r\n"...)
		for i, l := range lines {
			if i > 0 {
				m.out = append(m.out, "\r\n"...)
			}
			m.out = append(m.out, l...)
		}
		m.out = append(m.out, "\r\n"...)
		return
	}
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
		return m.dial(c.arg)
	case "+VTS":
		if c.op == "=" {
			m.boxKeys(c.arg)
		}
		return ok
	case "+CUSD":
		return m.cusd(c)
	case "+CNMA":
		m.smsAcks++
		return ok
	case "+CTZU":
		if c.op == "=" && (c.arg == "0" || c.arg == "1") {
			return ok
		}
		return fail
	case "+CCLK":
		if c.op != "?" {
			return fail
		}
		// The network's time (NITZ) as the modem's clock keeps it: Moscow local time, +12
		// quarter hours.
		msk := time.Now().UTC().Add(3 * time.Hour)
		m.info(`+CCLK: "` + msk.Format("06/01/02,15:04:05") + `+12"`)
		return ok
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
	case "+CFUN":
		switch c.op {
		case "?":
			m.info("+CFUN: 1")
		case "=":
			if args := splitArgs(c.arg); len(args) == 2 && args[0] == "1" && args[1] == "1" {
				m.rebootLocked()
			}
		}
		return ok
	case "+CMGF", "+CNMI", "+CPMS", "+CMGR", "+CMGL", "+CMGD", "+CMGS":
		f, _ := m.sms.dispatch(c, m.info)
		return f
	case "+CSCS", "+CSSN", "+CSMS", "+VTD", "+CCWA":
		return ok // accepted; character sets are not simulated
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
	return fmt.Sprintf(`+CLCC: 1,%d,%d,0,0,"%s",%d`, dir(cs), stat, cs.from, numberType(cs.from))
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
func (m *atModem) serveAudio(ctx context.Context, pcm *port) error {
	var (
		buf    [4096]byte
		frame  [2 * voice.FrameSamples]byte
		have   int
		f      voice.Frame
		lastCS *callState
	)
	if ctx.Err() != nil {
		return nil
	}
	for {
		n, err := pcm.master.Read(buf[:])
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
		junk = m.d.junk(rng, junk[:0])
		m.mu.Lock()
		if !m.closed {
			m.at.master.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			m.at.master.Write(junk) // dropping garbage is fine
		}
		m.mu.Unlock()
	}
}

// lineJunk appends a line of binary noise or one of lines, framed, to b.
func lineJunk(rng *rand.Rand, b []byte, lines []string) []byte {
	b = append(b, "\r\n"...)
	if rng.IntN(2) == 0 {
		for range 1 + rng.IntN(24) {
			b = append(b, byte(0x80+rng.IntN(0x80)))
		}
	} else {
		b = append(b, lines[rng.IntN(len(lines))]...)
	}
	return append(b, "\r\n"...)
}

// The virtual caller's side (network).

// startCall registers a new incoming call.
func (m *atModem) startCall(from string) (*callState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.admit(from)
}

// endCall marks the end of Call; the modem takes the next call.
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

// releaseCall ends cs from the caller's side; m.mu is held.
func (m *atModem) releaseCall(cs *callState) bool {
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

func (m *atModem) audioOut() *os.File {
	_, pcm := m.ports()
	return pcm.master
}

var _ network = (*atModem)(nil)

// callSeconds is how long cs has been up, in whole seconds; 0 if it was never answered.
func callSeconds(cs *callState) int {
	if cs.answeredAt.IsZero() {
		return 0
	}
	return int(time.Since(cs.answeredAt) / time.Second)
}
