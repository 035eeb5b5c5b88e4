package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Identity of the simulated SIM7600.
const (
	simcomMaker    = "SIMCOM INCORPORATED"
	simcomModel    = "SIMCOM_SIM7600G-H"
	simcomRevision = "LE20B04SIM7600G22"
)

// cpcmregDelay is how long after the answer (in call time: Options.Speed) the simulated
// SIM7600 refuses AT+CPCMREG=1, as the real firmware does for a variable while.
const cpcmregDelay = 200 * time.Millisecond

// SIM7600 is a simulated SIMCom SIM7600 on two pseudo-terminals: the AT port (the real
// module's /dev/ttyUSB2) and the audio port (USB interface 4, /dev/ttyUSB4). Create it with
// NewSIM7600, serve it with Run, place calls into it with Call, and Close it when done.
//
// It speaks the SIM7600 dialect: echo until ATE0; RING, or +CRING: VOICE after AT+CRC=1,
// framed "\r\n...\r\r\n" as the module does; +CLIP after AT+CLIP=1; call-list URCs (+CLCC,
// stat 4 incoming, 0 active, 6 disconnect) after AT+CLCC=1; VOICE CALL: BEGIN after the
// answer; VOICE CALL: END: hhmmss, the disconnect and NO CARRIER when the caller hangs up, or
// MISSED_CALL when the caller gives up ringing; +RXDTMF: <key> after AT+DDET=1 (with
// Options.ToneReports). Audio flows while the call is up and the box has sent AT+CPCMREG=1,
// which the module refuses with ERROR for the first 200 ms of the call (and outside a call);
// the call's end switches it off again.
type SIM7600 struct {
	m *atModem

	// Guarded by m.mu.
	crc   bool // AT+CRC=1
	clcc  bool // AT+CLCC=1
	ddet  bool // AT+DDET=1
	pcmOn bool // AT+CPCMREG=1 during this call
}

// NewSIM7600 creates the two pseudo-terminals of a simulated SIM7600. The modem answers
// nothing until Run serves it. An empty Options.ID means "sim7600".
func NewSIM7600(opts Options) (*SIM7600, error) {
	m, err := newATModem(opts, "sim7600")
	if err != nil {
		return nil, err
	}
	s := &SIM7600{m: m}
	m.d = s
	return s, nil
}

// ID returns the modem's name from Options.ID.
func (s *SIM7600) ID() string { return s.m.opts.ID }

// ATPath returns the path of the AT port, which the daemon opens like /dev/ttyUSB2.
func (s *SIM7600) ATPath() string { return s.m.atPath() }

// AudioPath returns the path of the audio port, which the daemon opens like /dev/ttyUSB4.
func (s *SIM7600) AudioPath() string { return s.m.audioPath() }

// Unplug pulls the modem out; see EC25.Unplug.
func (s *SIM7600) Unplug() { s.m.Unplug() }

// Plug puts the modem back; see EC25.Plug.
func (s *SIM7600) Plug() error { return s.m.Plug() }

// Run serves the modem until ctx ends or the modem is closed, and then returns nil once all its
// goroutines have stopped. It returns an error when a port fails, and ErrClosed when called on a
// closed modem. Run may be called once.
func (s *SIM7600) Run(ctx context.Context) error { return s.m.run(ctx) }

// Close removes the pseudo-terminals. A running Run stops, and Close waits for it. Close is
// idempotent.
func (s *SIM7600) Close() error { return s.m.close() }

// Call rings the modem as a caller with script c and returns, when the call is over, what the
// caller experienced; see EC25.Call.
func (s *SIM7600) Call(ctx context.Context, c Caller) (Result, error) { return callInto(ctx, s.m, c) }

// Callees returns the modem's directory of numbers the box can dial; see EC25.Callees.
func (s *SIM7600) Callees() *Callees { return s.m.callees }

// SetCallee makes number reach c when the box dials it; see EC25.SetCallee.
func (s *SIM7600) SetCallee(number string, c Callee) { s.m.SetCallee(number, c) }

func (s *SIM7600) dispatch(c command) (final, bool) {
	m := s.m
	switch c.name {
	case "+CGMI", "+GMI":
		return m.action(c, simcomMaker), true
	case "+CGMM", "+GMM":
		return m.action(c, simcomModel), true
	case "+CGMR", "+GMR":
		return m.action(c, "+CGMR: "+simcomRevision), true
	case "+CICCID":
		return m.action(c, "+ICCID: 8901"+m.imei[:15]), true
	case "+CRC":
		return flagSetting(m, c, &s.crc), true
	case "+DDET":
		if c.op == "=" {
			// AT+DDET=<mode>[,<interval>[,<reportMode>[,<ssdet>]]]
			c.arg, _, _ = strings.Cut(c.arg, ",")
		}
		return flagSetting(m, c, &s.ddet), true
	case "+CLCC":
		switch c.op {
		case "":
			if cs := m.call; cs != nil {
				m.info(clcc(cs, cs.stat))
			}
			return ok, true
		case "=", "?":
			return flagSetting(m, c, &s.clcc), true
		}
		return ok, true
	case "+CPCMREG":
		return s.cpcmreg(c), true
	case "+CPCMFRM":
		switch {
		case c.op == "?":
			m.info("+CPCMFRM: 0")
		case c.op == "=" && c.arg != "0":
			return notSupported, true // 16 kHz is not simulated
		}
		return ok, true
	case "+CFUN":
		return final{}, false // the common handling, AT+CFUN=1,1 restarting
	case "+CVHU", "+CNSMOD", "+AUTOCSQ", "+EXUNSOL", "+CLTS", "+CMICGAIN", "+COUTGAIN",
		"+CTXVOL", "+CRXVOL", "+CSDVC", "+CPCMFMT":
		return ok, true // accepted; gains and network reports are not simulated
	}
	return final{}, false
}

// cpcmreg handles AT+CPCMREG=<0|1>[,<mode>]: 1 only while the call is up, and not in its
// first 200 ms.
func (s *SIM7600) cpcmreg(c command) final {
	m := s.m
	switch c.op {
	case "?":
		m.info(fmt.Sprintf("+CPCMREG: %d", b2i(s.pcmOn)))
		return ok
	case "=?":
		m.info("+CPCMREG: (0-1)")
		return ok
	case "=":
	default:
		return fail
	}
	switch args := splitArgs(c.arg); args[0] {
	case "0":
		s.pcmOn = false
		return ok
	case "1":
		cs := m.call
		if cs == nil || cs.stat != statActive || time.Since(cs.answeredAt) < m.wall(cpcmregDelay) {
			return fail
		}
		s.pcmOn = true
		return ok
	}
	return badParams
}

// flagSetting handles an on/off setting with its set, read and test forms.
func flagSetting(m *atModem, c command, v *bool) final {
	switch c.op {
	case "=":
		switch strings.TrimSpace(c.arg) {
		case "0":
			*v = false
		case "1":
			*v = true
		default:
			return badParams
		}
	case "?":
		m.info(fmt.Sprintf("%s: %d", c.name, b2i(*v)))
	case "=?":
		m.info(c.name + ": (0,1)")
	default:
		return fail
	}
	return ok
}

func (s *SIM7600) identify() {
	s.m.info("Manufacturer: "+simcomMaker, "Model: "+simcomModel, "Revision: "+simcomRevision,
		"IMEI: "+s.m.imei, "+GCAP: +CGSM")
}

func (s *SIM7600) ring(cs *callState) string {
	var b strings.Builder
	if s.crc {
		b.WriteString("\r\n+CRING: VOICE\r\r\n")
	} else {
		b.WriteString("\r\nRING\r\r\n")
	}
	if s.m.clip {
		validity := 0
		if cs.from == "" {
			validity = 1
		}
		fmt.Fprintf(&b, "\r\n+CLIP: \"%s\",%d,\"\",0,\"\",%d\r\n", cs.from, numberType(cs.from), validity)
	}
	if s.clcc {
		b.WriteString("\r\n" + clcc(cs, statIncoming) + "\r\n")
	}
	return b.String()
}

func (s *SIM7600) answered(cs *callState) {
	s.m.post = append(s.m.post, "VOICE CALL: BEGIN")
	if s.clcc {
		s.m.post = append(s.m.post, clcc(cs, statActive))
	}
}

// voiceCallEnd is the module's report of a call's end with its length as hhmmss.
func voiceCallEnd(cs *callState) string {
	d := callSeconds(cs)
	return fmt.Sprintf("VOICE CALL: END: %02d%02d%02d", d/3600, d/60%60, d%60)
}

func (s *SIM7600) boxHungUp(cs *callState, wasActive bool) {
	if wasActive {
		s.m.info(voiceCallEnd(cs))
	}
	if s.clcc {
		s.m.post = append(s.m.post, clcc(cs, statDisconnect))
	}
}

// statDisconnect is SIMCom's +CLCC state of a released call.
const statDisconnect = 6

func (s *SIM7600) callerHungUp(cs *callState, wasActive bool) string {
	var b strings.Builder
	if wasActive {
		b.WriteString("\r\n" + voiceCallEnd(cs) + "\r\n")
	}
	if s.clcc {
		b.WriteString("\r\n" + clcc(cs, statDisconnect) + "\r\n")
	}
	if wasActive {
		b.WriteString("\r\nNO CARRIER\r\n")
	} else {
		b.WriteString("\r\nMISSED_CALL: " + time.Now().Format("03:04PM") + " " + cs.from + "\r\n")
	}
	return b.String()
}

func (s *SIM7600) reset() { s.crc, s.clcc, s.ddet, s.pcmOn = false, false, false, false }

func (s *SIM7600) bootURCs() []string { return []string{"RDY", "+CPIN: READY", "SMS DONE", "PB DONE"} }

// Stall makes the modem hang; see EC25.Stall.
func (s *SIM7600) Stall(untilReset bool) { s.m.Stall(untilReset) }

// Unstall ends a stall; see EC25.Unstall.
func (s *SIM7600) Unstall() { s.m.Unstall() }

// PowerCycle turns the modem off and on; see EC25.PowerCycle.
func (s *SIM7600) PowerCycle() { s.m.PowerCycle() }

func (s *SIM7600) tone(key byte) string {
	if !s.ddet {
		return ""
	}
	return "+RXDTMF: " + string(key)
}

func (s *SIM7600) live(cs *callState) bool { return cs.stat == statActive && s.pcmOn }

func (s *SIM7600) callOver() { s.pcmOn = false }

func (s *SIM7600) junk(rng *rand.Rand, b []byte) []byte { return lineJunk(rng, b, sim7600Garbage) }

// sim7600Garbage are stray lines the SIM7600 sends.
var sim7600Garbage = []string{"+CSQ: 23,99", "SMS DONE", "PB DONE", "+CNSMOD: 8", "#&@!%", ""}
