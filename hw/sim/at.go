package sim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"hotline/voice"
)

// Identity of the simulated module, as the real one reports it.
const (
	manufacturer = "Quectel"
	model        = "EC25"
	revision     = "EC25EFAR06A06M4G"
	operatorName = "SIM Network"
)

// command is one command of a command line, as V.250 splits it.
type command struct {
	// name is upper case: "A", "E", "&F", "S", "D" for basic commands; "+CSQ", "+QPCMV" for
	// extended ones.
	name string
	// op is how an extended command is used: "" (action), "?" (read), "=?" (test), "=" (set).
	op string
	// arg is the text after "=" of a set command, the number of a basic command ("0" in E0),
	// "n=v" or "n?" for S-registers, and the dial string for D. Its case is kept.
	arg string
}

var errSyntax = errors.New("command line syntax")

// commandBody returns what follows the "AT" prefix of a received line. Characters before the
// prefix are ignored, as the real modem does; a line without the prefix gets no reply.
func commandBody(line []byte) (string, bool) {
	for i := 0; i+1 < len(line); i++ {
		if (line[i] == 'A' || line[i] == 'a') && (line[i+1] == 'T' || line[i+1] == 't') {
			return string(line[i+2:]), true
		}
	}
	return "", false
}

// parseLine splits the body of a command line (the text after AT) into its commands: basic
// commands follow each other directly (E0V1), extended commands are separated by ';'
// (+CMEE=1;+CLIP=1), and D takes the rest of the line.
func parseLine(body string) ([]command, error) {
	var cmds []command
	i := 0
	for i < len(body) {
		c := body[i]
		switch {
		case c == ' ' || c == ';':
			i++
		case c == '+' || c == '^' || c == '$':
			cmd, n, err := parseExtended(body[i:])
			if err != nil {
				return nil, err
			}
			cmds = append(cmds, cmd)
			i += n
		case c == 'D' || c == 'd':
			cmds = append(cmds, command{name: "D", arg: body[i+1:]})
			i = len(body)
		case c == 'S' || c == 's':
			j := i + 1
			for j < len(body) && isDigit(body[j]) {
				j++
			}
			if j == i+1 || j == len(body) {
				return nil, fmt.Errorf("%w: S-register at %d", errSyntax, i)
			}
			switch body[j] {
			case '?':
				j++
			case '=':
				j++
				for j < len(body) && isDigit(body[j]) {
					j++
				}
			default:
				return nil, fmt.Errorf("%w: S-register at %d", errSyntax, i)
			}
			cmds = append(cmds, command{name: "S", arg: body[i+1 : j]})
			i = j
		case c == '&' || isLetter(c):
			j := i + 1
			if c == '&' {
				if j == len(body) || !isLetter(body[j]) {
					return nil, fmt.Errorf("%w: '&' at %d", errSyntax, i)
				}
				j++
			}
			name := strings.ToUpper(body[i:j])
			k := j
			for k < len(body) && isDigit(body[k]) {
				k++
			}
			cmds = append(cmds, command{name: name, arg: body[j:k]})
			i = k
		default:
			return nil, fmt.Errorf("%w: unexpected %q at %d", errSyntax, c, i)
		}
	}
	return cmds, nil
}

// parseExtended parses one extended command at the start of s and returns it with the number of
// bytes it used (up to, not including, the ';' that ends it).
func parseExtended(s string) (command, int, error) {
	j := 1
	for j < len(s) && (isLetter(s[j]) || isDigit(s[j]) || s[j] == '_' || s[j] == '.' || s[j] == '-') {
		j++
	}
	if j == 1 {
		return command{}, 0, fmt.Errorf("%w: empty command name", errSyntax)
	}
	cmd := command{name: strings.ToUpper(s[:j])}
	switch {
	case strings.HasPrefix(s[j:], "=?"):
		cmd.op = "=?"
		j += 2
	case strings.HasPrefix(s[j:], "?"):
		cmd.op = "?"
		j++
	case strings.HasPrefix(s[j:], "="):
		cmd.op = "="
		j++
		start := j
		quoted := false
		for j < len(s) && (quoted || s[j] != ';') {
			if s[j] == '"' {
				quoted = !quoted
			}
			j++
		}
		if quoted {
			return command{}, 0, fmt.Errorf("%w: unterminated string", errSyntax)
		}
		cmd.arg = s[start:j]
	}
	if j < len(s) && s[j] != ';' {
		return command{}, 0, fmt.Errorf("%w: unexpected %q after %s", errSyntax, s[j], cmd.name)
	}
	return cmd, j, nil
}

// splitArgs splits the argument list of a set command at commas outside quotes, trims spaces
// and removes the quotes.
func splitArgs(s string) []string {
	var args []string
	start, quoted := 0, false
	for i := 0; i <= len(s); i++ {
		if i == len(s) || (s[i] == ',' && !quoted) {
			a := strings.TrimSpace(s[start:i])
			if len(a) >= 2 && a[0] == '"' && a[len(a)-1] == '"' {
				a = a[1 : len(a)-1]
			}
			args = append(args, a)
			start = i + 1
			continue
		}
		if s[i] == '"' {
			quoted = !quoted
		}
	}
	return args
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

// final is the final result code of a command line.
type final struct {
	kind finalKind
	cme  int // kind == finalCME: the +CME ERROR code
}

type finalKind int

const (
	finalOK finalKind = iota
	finalError
	finalCME
	finalNoCarrier
)

var (
	ok        = final{kind: finalOK}
	fail      = final{kind: finalError}
	noCarrier = final{kind: finalNoCarrier}
	// CME errors of 27.007 that the simulator gives.
	notSupported = final{kind: finalCME, cme: 4}
	badParams    = final{kind: finalCME, cme: 50}
)

var cmeText = map[int]string{
	4:  "operation not supported",
	50: "Incorrect parameters",
}

// handleLine answers one received command line (without its CR). echo is what arrived of the
// line since the last echo, CR included.
func (e *EC25) handleLine(line, echo []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.out, e.post = e.out[:0], e.post[:0]
	if e.echo {
		e.out = append(e.out, echo...)
	}
	if body, found := commandBody(line); found {
		e.lastLine = string(line)
		e.log.Debug("AT command", "line", string(line))
		e.execute(body)
	}
	e.flushOut()
}

// repeatLine answers A/ by running the previous command line again.
func (e *EC25) repeatLine(echo []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.out, e.post = e.out[:0], e.post[:0]
	if e.echo {
		e.out = append(e.out, echo...)
	}
	if body, found := commandBody([]byte(e.lastLine)); found {
		e.execute(body)
	}
	e.flushOut()
}

// echoBytes echoes the start of a line still being typed.
func (e *EC25) echoBytes(p []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.echo {
		e.writeAT(p)
	}
}

// flushOut writes the assembled reply and the URCs that follow it. e.mu must be held.
func (e *EC25) flushOut() {
	for _, u := range e.post {
		e.out = append(e.out, "\r\n"...)
		e.out = append(e.out, u...)
		e.out = append(e.out, "\r\n"...)
	}
	if len(e.out) > 0 {
		e.writeAT(e.out)
	}
}

// execute runs the commands of one line and appends the replies and the final result to e.out.
// The first command that fails ends the line with its result.
func (e *EC25) execute(body string) {
	cmds, err := parseLine(body)
	if err != nil {
		e.finish(fail)
		return
	}
	for _, c := range cmds {
		if f := e.dispatch(c); f.kind != finalOK {
			e.finish(f)
			return
		}
	}
	e.finish(ok)
}

// info appends an information response; several lines form one block.
func (e *EC25) info(lines ...string) {
	e.out = append(e.out, "\r\n"...)
	for i, l := range lines {
		if i > 0 {
			e.out = append(e.out, "\r\n"...)
		}
		e.out = append(e.out, l...)
	}
	e.out = append(e.out, "\r\n"...)
}

// finish appends the final result code, worded as AT+CMEE asks.
func (e *EC25) finish(f final) {
	var s string
	switch f.kind {
	case finalPrompt:
		e.out = append(e.out, "\r\n> "...)
		return
	case finalCMS:
		s = "+CMS ERROR: " + strconv.Itoa(f.cme)
	case finalOK:
		s = "OK"
	case finalNoCarrier:
		s = "NO CARRIER"
	case finalCME:
		switch e.cmee {
		case 1:
			s = "+CME ERROR: " + strconv.Itoa(f.cme)
		case 2:
			s = "+CME ERROR: " + cmeText[f.cme]
		default:
			s = "ERROR"
		}
	default:
		s = "ERROR"
	}
	e.info(s)
}

// dispatch runs one command. e.mu is held.
func (e *EC25) dispatch(c command) final {
	switch c.name {
	// Basic commands.
	case "A":
		return e.answer()
	case "H":
		if c.arg != "" && c.arg != "0" {
			return fail
		}
		e.hangUp()
		return ok
	case "E":
		switch c.arg {
		case "", "0":
			e.echo = false
		case "1":
			e.echo = true
		default:
			return fail
		}
		return ok
	case "I":
		if c.arg != "" && c.arg != "0" {
			return fail
		}
		e.info(manufacturer, model, "Revision: "+revision)
		return ok
	case "V":
		if c.arg != "1" {
			return fail // numeric result codes are not simulated
		}
		return ok
	case "Q":
		if c.arg != "" && c.arg != "0" {
			return fail // quiet mode is not simulated
		}
		return ok
	case "Z", "&F", "&W", "&C", "&D", "X", "L", "M":
		return ok
	case "S":
		return e.sRegister(c.arg)
	case "D":
		return notSupported // outgoing calls are not simulated

	// Identity.
	case "+CGMI", "+GMI":
		return e.action(c, manufacturer)
	case "+CGMM", "+GMM":
		return e.action(c, model)
	case "+CGMR", "+GMR":
		return e.action(c, revision)
	case "+CGSN", "+GSN":
		return e.action(c, e.imei)
	case "+CIMI":
		return e.action(c, "00101"+e.imei[5:15])
	case "+QCCID":
		return e.action(c, "+QCCID: 8901"+e.imei[:15]+"F")

	// Network and SIM.
	case "+CPIN":
		return e.readOnly(c, "+CPIN: READY")
	case "+CSQ":
		if c.op == "=?" {
			e.info("+CSQ: (0-31,99),(0-7,99)")
			return ok
		}
		return e.action(c, "+CSQ: 25,99")
	case "+COPS":
		switch c.op {
		case "?":
			e.info(`+COPS: 0,0,"` + operatorName + `",7`)
		case "=?":
			e.info(`+COPS: (2,"` + operatorName + `","SIMNET","00101",7),,(0-4),(0-2)`)
		}
		return ok
	case "+CREG":
		return e.registration(c, "+CREG", &e.creg)
	case "+CEREG", "+CGREG":
		return e.registration(c, c.name, &e.cereg)
	case "+CFUN":
		return e.cfun(c)

	// Settings.
	case "+CMEE":
		return e.setting(c, &e.cmee, 2, "+CMEE: %d")
	case "+CLIP":
		return e.flag(c, &e.clip, "+CLIP: %d,1")
	case "+CRC":
		return e.flag(c, &e.crc, "+CRC: %d")
	case "+QTONEDET":
		return e.flag(c, &e.toneDet, "+QTONEDET: %d")
	case "+QINDCFG":
		return e.qindcfg(c)
	case "+QPCMV":
		return e.qpcmv(c)
	case "+CMGF", "+CNMI", "+CPMS", "+CMGR", "+CMGL", "+CMGD", "+CMGS":
		f, _ := e.sms.dispatch(c, e.info)
		return f
	case "+CSCS", "+CSSN", "+VTD", "+QURCCFG", "+QGPSCFG", "+QCFG", "+CSMS", "+VTS":
		// Accepted and forgotten: character set, DTMF out and port routing are not simulated.
		return ok

	// Calls.
	case "+CLCC":
		if c.op != "" {
			return ok
		}
		if cs := e.call; cs != nil {
			e.info(fmt.Sprintf(`+CLCC: 1,1,%d,0,0,"%s",%d`, cs.stat, cs.from, numberType(cs.from)))
		}
		return ok
	case "+CHUP", "+QHUP":
		if c.op == "?" {
			return fail
		}
		e.hangUp()
		return ok
	}
	return fail
}

// action answers an action command (AT+CSQ) with one line; its test form (=?) says OK.
func (e *EC25) action(c command, reply string) final {
	switch c.op {
	case "":
		e.info(reply)
		return ok
	case "=?":
		return ok
	}
	return fail
}

// readOnly answers the read form (AT+CPIN?) with one line.
func (e *EC25) readOnly(c command, reply string) final {
	switch c.op {
	case "?":
		e.info(reply)
		return ok
	case "=?":
		return ok
	}
	return fail
}

// setting handles a numeric setting 0..max with its set, read and test forms.
func (e *EC25) setting(c command, v *int, max int, readFmt string) final {
	switch c.op {
	case "=":
		n, err := strconv.Atoi(strings.TrimSpace(c.arg))
		if err != nil || n < 0 || n > max {
			return badParams
		}
		*v = n
	case "?":
		e.info(fmt.Sprintf(readFmt, *v))
	case "=?":
		e.info(fmt.Sprintf("%s: (0-%d)", c.name, max))
	default:
		return fail
	}
	return ok
}

// flag handles an on/off setting.
func (e *EC25) flag(c command, v *bool, readFmt string) final {
	n := 0
	if *v {
		n = 1
	}
	f := e.setting(c, &n, 1, readFmt)
	*v = n == 1
	return f
}

// registration handles +CREG/+CEREG/+CGREG: always registered at home.
func (e *EC25) registration(c command, name string, n *int) final {
	switch c.op {
	case "=", "=?":
		return e.setting(c, n, 2, "")
	case "?":
		if *n == 2 {
			e.info(fmt.Sprintf(`%s: 2,1,"1A2B","01A2D001",7`, name))
		} else {
			e.info(fmt.Sprintf("%s: %d,1", name, *n))
		}
		return ok
	}
	return fail
}

// sRegister accepts S-register reads and writes; the registers change nothing.
func (e *EC25) sRegister(arg string) final {
	if strings.HasSuffix(arg, "?") {
		e.info("000")
		return ok
	}
	reg, val, _ := strings.Cut(arg, "=")
	if reg == "0" && val != "" && strings.Trim(val, "0") != "" {
		return notSupported // auto-answer is not simulated
	}
	return ok
}

// cfun handles AT+CFUN. AT+CFUN=1,1 resets the module: the call drops, settings return to
// their defaults and the start-up URCs follow.
func (e *EC25) cfun(c command) final {
	switch c.op {
	case "?":
		e.info("+CFUN: 1")
		return ok
	case "=?":
		e.info("+CFUN: (0,1,4),(0-1)")
		return ok
	case "=":
		args := splitArgs(c.arg)
		switch {
		case len(args) == 1 && args[0] == "1":
			return ok
		case len(args) == 2 && args[0] == "1" && args[1] == "1":
			e.hangUp()
			e.echo, e.cmee, e.clip, e.crc, e.toneDet = true, 1, false, false, false
			e.pcmOn, e.pcmMode, e.creg, e.cereg = false, 0, 0, 0
			e.ind = map[string]bool{"ring": true, "smsincoming": true}
			e.post = append(e.post, "RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1",
				"+QIND: SMS DONE", "+QIND: PB DONE")
			return ok
		}
		return notSupported
	}
	return fail
}

// qindTypes are the URC switches of AT+QINDCFG.
var qindTypes = []string{"all", "csq", "smsfull", "ring", "smsincoming", "act", "ccinfo"}

// qindcfg handles AT+QINDCFG="<type>"[,<enable>[,<savetonvram>]].
func (e *EC25) qindcfg(c command) final {
	switch c.op {
	case "=?":
		e.info(`+QINDCFG: ("all","csq","smsfull","ring","smsincoming","act","ccinfo"),(0,1),(0,1)`)
		return ok
	case "=":
	default:
		return fail
	}
	args := splitArgs(c.arg)
	typ := strings.ToLower(args[0])
	known := false
	for _, t := range qindTypes {
		known = known || t == typ
	}
	if !known || len(args) > 3 {
		return badParams
	}
	if len(args) == 1 {
		on := e.ind[typ]
		if typ == "all" {
			on = true
			for _, t := range qindTypes[1:] {
				on = on && e.ind[t]
			}
		}
		e.info(fmt.Sprintf(`+QINDCFG: "%s",%d`, typ, b2i(on)))
		return ok
	}
	var on bool
	switch args[1] {
	case "0":
	case "1":
		on = true
	default:
		return badParams
	}
	if len(args) == 3 && args[2] != "0" && args[2] != "1" {
		return badParams
	}
	if typ == "all" {
		for _, t := range qindTypes[1:] {
			e.ind[t] = on
		}
	} else {
		e.ind[typ] = on
	}
	return ok
}

// qpcmv handles AT+QPCMV=<enable>[,<mode>]: mode 0 routes call audio to the audio port.
func (e *EC25) qpcmv(c command) final {
	switch c.op {
	case "?":
		e.info(fmt.Sprintf("+QPCMV: %d,%d", b2i(e.pcmOn), e.pcmMode))
		return ok
	case "=?":
		e.info("+QPCMV: (0,1),(0-2)")
		return ok
	case "=":
	default:
		return fail
	}
	args := splitArgs(c.arg)
	if len(args) > 2 {
		return badParams
	}
	mode := 0
	if len(args) == 2 {
		m, err := strconv.Atoi(args[1])
		if err != nil || m < 0 || m > 2 {
			return badParams
		}
		mode = m
	}
	switch args[0] {
	case "0":
		e.pcmOn = false
	case "1":
		e.pcmOn, e.pcmMode = true, mode
	default:
		return badParams
	}
	return ok
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// numberType is the 27.007 type of address for a caller ID: 145 international, 129 national,
// 128 when withheld.
func numberType(num string) int {
	switch {
	case num == "":
		return 128
	case num[0] == '+':
		return 145
	}
	return 129
}

// ccinfo formats the Quectel call-state URC for the current call in state stat.
func ccinfo(cs *callState, stat int) string {
	return fmt.Sprintf(`+QIND: "ccinfo",1,1,%d,0,0,"%s",%d`, stat, cs.from, numberType(cs.from))
}

// answer handles ATA: OK while a call rings, NO CARRIER otherwise.
func (e *EC25) answer() final {
	cs := e.call
	if cs == nil || cs.stat != statIncoming {
		return noCarrier
	}
	cs.stat = statActive
	cs.answeredAt = time.Now()
	// Audio starts now: nothing written before the answer crosses into the call.
	if err := e.pcm.flush(); err != nil {
		e.log.Warn("flush audio port", "err", err)
	}
	select {
	case cs.answered <- struct{}{}:
	default:
	}
	if e.ind["ccinfo"] {
		e.post = append(e.post, ccinfo(cs, statActive))
	}
	e.log.Info("call answered", "from", cs.from)
	return ok
}

// hangUp releases the current call on the box's request (ATH, AT+CHUP), if there is one.
func (e *EC25) hangUp() {
	cs := e.call
	if cs == nil {
		return
	}
	e.call = nil
	if e.ind["ccinfo"] {
		e.post = append(e.post, ccinfo(cs, -1))
	}
	select {
	case cs.hungUp <- struct{}{}:
	default:
	}
	e.log.Info("call released by the box", "from", cs.from)
}

// The caller's side of the AT port; Call uses these.

// startCall registers a new incoming call.
func (e *EC25) startCall(from string) (*callState, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return nil, ErrClosed
	case !e.running:
		return nil, ErrNotRunning
	case e.calling:
		return nil, ErrBusy
	}
	e.calling = true
	cs := &callState{
		from:     from,
		stat:     statIncoming,
		answered: make(chan struct{}, 1),
		hungUp:   make(chan struct{}, 1),
		frames:   make(chan voice.Frame, 64),
	}
	e.call = cs
	return cs, nil
}

// endCall marks the end of Call; the modem takes the next call.
func (e *EC25) endCall(cs *callState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.call == cs {
		e.call = nil
	}
	e.calling = false
}

// ring sends one ring of cs, if it still rings, and reports whether it did.
func (e *EC25) ring(cs *callState) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.call != cs || cs.stat != statIncoming {
		return false
	}
	var b strings.Builder
	if e.crc {
		b.WriteString("\r\n+CRING: VOICE\r\n")
	} else {
		b.WriteString("\r\nRING\r\n")
	}
	if e.clip {
		validity := 0
		if cs.from == "" {
			validity = 1
		}
		fmt.Fprintf(&b, "\r\n+CLIP: \"%s\",%d,,,,%d\r\n", cs.from, numberType(cs.from), validity)
	}
	if e.ind["ccinfo"] {
		b.WriteString("\r\n" + ccinfo(cs, statIncoming) + "\r\n")
	}
	e.writeAT([]byte(b.String()))
	return true
}

// giveUp ends a ringing call from the caller's side. It reports answered when ATA came first,
// in which case the call goes on, and released when the caller ended the call (false: the box
// had released it already).
func (e *EC25) giveUp(cs *callState) (answered, released bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.call == cs && cs.stat == statActive {
		return true, false
	}
	return false, e.releaseByCaller(cs)
}

// callerHangUp ends cs from the caller's side and reports whether the caller was first; false
// means the box had already released it.
func (e *EC25) callerHangUp(cs *callState) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.releaseByCaller(cs)
}

// releaseByCaller is callerHangUp with e.mu held.
func (e *EC25) releaseByCaller(cs *callState) bool {
	if e.call != cs {
		return false
	}
	e.call = nil
	var b strings.Builder
	if e.ind["ccinfo"] {
		b.WriteString("\r\n" + ccinfo(cs, -1) + "\r\n")
	}
	b.WriteString("\r\nNO CARRIER\r\n")
	e.writeAT([]byte(b.String()))
	e.log.Info("call released by the caller", "from", cs.from)
	return true
}

// toneReport sends +QTONEDET for key when the box asked for it.
func (e *EC25) toneReport(cs *callState, key byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.call == cs && e.opts.ToneReports && e.toneDet {
		e.urc("+QTONEDET: " + strconv.Itoa(int(key)))
	}
}

// audioLive reports whether cs is up with its audio routed to the audio port.
func (e *EC25) audioLive(cs *callState) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.call == cs && cs.stat == statActive && e.pcmOn && e.pcmMode == 0
}
