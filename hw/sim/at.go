package sim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
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

// dispatch runs one command of the EC25. The commands it answers as the other modems do (ATA,
// ATH, ATE, ..., the SMS commands) it leaves to atModem; any other it does not know is an ERROR.
func (q *quectel) dispatch(c command) (final, bool) {
	switch c.name {
	case "A", "H", "E", "V", "Q", "Z", "&F", "&W", "&C", "&D", "X", "L", "M", "D", "+VTS", "+CUSD",
		"+CCLK", "+CTZU", "+CNMA", "+CGSN", "+GSN", "+CIMI", "+CMGF", "+CNMI", "+CPMS", "+CMGR", "+CMGL", "+CMGD", "+CMGS":
		return final{}, false
	}
	return q.own(c), true
}

// own runs a command the EC25 answers in its own way. atModem.mu is held.
func (q *quectel) own(c command) final {
	switch c.name {
	// Basic commands.
	case "I":
		if c.arg != "" && c.arg != "0" {
			return fail
		}
		q.info(manufacturer, model, "Revision: "+revision)
		return ok
	case "S":
		return q.sRegister(c.arg)

	// Identity.
	case "+CGMI", "+GMI":
		return q.action(c, manufacturer)
	case "+CGMM", "+GMM":
		return q.action(c, model)
	case "+CGMR", "+GMR":
		return q.action(c, revision)
	case "+QCCID":
		return q.action(c, "+QCCID: 8901"+q.imei[:15]+"F")

	// Network and SIM.
	case "+CPIN":
		return q.readOnly(c, "+CPIN: READY")
	case "+CSQ":
		if c.op == "=?" {
			q.info("+CSQ: (0-31,99),(0-7,99)")
			return ok
		}
		return q.action(c, "+CSQ: 25,99")
	case "+COPS":
		switch c.op {
		case "?":
			q.info(`+COPS: 0,0,"` + operatorName + `",7`)
		case "=?":
			q.info(`+COPS: (2,"` + operatorName + `","SIMNET","00101",7),,(0-4),(0-2)`)
		}
		return ok
	case "+CREG":
		return q.registration(c, "+CREG", &q.creg)
	case "+CEREG", "+CGREG":
		return q.registration(c, c.name, &q.cereg)
	case "+CFUN":
		return q.cfun(c)

	// Settings.
	case "+CMEE":
		return q.setting(c, &q.cmee, 2, "+CMEE: %d")
	case "+CLIP":
		return q.flag(c, &q.clip, "+CLIP: %d,1")
	case "+CRC":
		return q.flag(c, &q.crc, "+CRC: %d")
	case "+QTONEDET":
		return q.flag(c, &q.toneDet, "+QTONEDET: %d")
	case "+QINDCFG":
		return q.qindcfg(c)
	case "+QPCMV":
		return q.qpcmv(c)
	case "+CSCS", "+CSSN", "+VTD", "+QURCCFG", "+QGPSCFG", "+QCFG", "+CSMS":
		// Accepted and forgotten: character set, DTMF out and port routing are not simulated.
		return ok

	// Calls.
	case "+CLCC":
		if c.op != "" {
			return ok
		}
		if cs := q.call; cs != nil {
			q.info(clcc(cs, cs.stat))
		}
		return ok
	case "+CHUP", "+QHUP":
		if c.op == "?" {
			return fail
		}
		q.hangUp()
		return ok
	}
	return fail
}

// readOnly answers the read form (AT+CPIN?) with one line.
func (q *quectel) readOnly(c command, reply string) final {
	switch c.op {
	case "?":
		q.info(reply)
		return ok
	case "=?":
		return ok
	}
	return fail
}

// setting handles a numeric setting 0..max with its set, read and test forms.
func (q *quectel) setting(c command, v *int, max int, readFmt string) final {
	switch c.op {
	case "=":
		n, err := strconv.Atoi(strings.TrimSpace(c.arg))
		if err != nil || n < 0 || n > max {
			return badParams
		}
		*v = n
	case "?":
		q.info(fmt.Sprintf(readFmt, *v))
	case "=?":
		q.info(fmt.Sprintf("%s: (0-%d)", c.name, max))
	default:
		return fail
	}
	return ok
}

// flag handles an on/off setting.
func (q *quectel) flag(c command, v *bool, readFmt string) final {
	n := 0
	if *v {
		n = 1
	}
	f := q.setting(c, &n, 1, readFmt)
	*v = n == 1
	return f
}

// registration handles +CREG/+CEREG/+CGREG: always registered at home.
func (q *quectel) registration(c command, name string, n *int) final {
	switch c.op {
	case "=", "=?":
		return q.setting(c, n, 2, "")
	case "?":
		if *n == 2 {
			q.info(fmt.Sprintf(`%s: 2,1,"1A2B","01A2D001",7`, name))
		} else {
			q.info(fmt.Sprintf("%s: %d,1", name, *n))
		}
		return ok
	}
	return fail
}

// sRegister accepts S-register reads and writes; the registers change nothing.
func (q *quectel) sRegister(arg string) final {
	if strings.HasSuffix(arg, "?") {
		q.info("000")
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
func (q *quectel) cfun(c command) final {
	switch c.op {
	case "?":
		q.info("+CFUN: 1")
		return ok
	case "=?":
		q.info("+CFUN: (0,1,4),(0-1)")
		return ok
	case "=":
		args := splitArgs(c.arg)
		switch {
		case len(args) == 1 && args[0] == "1":
			return ok
		case len(args) == 2 && args[0] == "1" && args[1] == "1":
			q.rebootLocked()
			return ok
		}
		return notSupported
	}
	return fail
}

// qindTypes are the URC switches of AT+QINDCFG.
var qindTypes = []string{"all", "csq", "smsfull", "ring", "smsincoming", "act", "ccinfo"}

// qindcfg handles AT+QINDCFG="<type>"[,<enable>[,<savetonvram>]].
func (q *quectel) qindcfg(c command) final {
	switch c.op {
	case "=?":
		q.info(`+QINDCFG: ("all","csq","smsfull","ring","smsincoming","act","ccinfo"),(0,1),(0,1)`)
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
		on := q.ind[typ]
		if typ == "all" {
			on = true
			for _, t := range qindTypes[1:] {
				on = on && q.ind[t]
			}
		}
		q.info(fmt.Sprintf(`+QINDCFG: "%s",%d`, typ, b2i(on)))
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
			q.ind[t] = on
		}
	} else {
		q.ind[typ] = on
	}
	return ok
}

// qpcmv handles AT+QPCMV=<enable>[,<mode>]: mode 0 routes call audio to the audio port.
func (q *quectel) qpcmv(c command) final {
	switch c.op {
	case "?":
		q.info(fmt.Sprintf("+QPCMV: %d,%d", b2i(q.pcmOn), q.pcmMode))
		return ok
	case "=?":
		q.info("+QPCMV: (0,1),(0-2)")
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
		q.pcmOn = false
	case "1":
		q.pcmOn, q.pcmMode = true, mode
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
	return fmt.Sprintf(`+QIND: "ccinfo",1,%d,%d,0,0,"%s",%d`, dir(cs), stat, cs.from, numberType(cs.from))
}

// dir is the 27.007 direction of cs: 0 mobile originated (the box dialled), 1 terminated.
func dir(cs *callState) int {
	if cs.outgoing {
		return 0
	}
	return 1
}
