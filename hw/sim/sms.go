package sim

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"hotline/hw/sms"
)

// SMSSlots is how many messages the simulated SIM holds.
const SMSSlots = 30

// ErrSIMFull is returned by DeliverSMS when the SIM has no room for every part.
var ErrSIMFull = errors.New("sim: SIM message store full")

// Final results of the SMS commands, besides those of at.go.
const (
	finalPrompt finalKind = 100 + iota // "> " and no line end: AT+CMGS waits for its PDU
	finalCMS                           // +CMS ERROR: <cme>
)

// CMS errors of 27.005 that the simulator gives.
var (
	cmsInvalidPDU   = final{kind: finalCMS, cme: 304} // invalid PDU mode parameter
	cmsInvalidIndex = final{kind: finalCMS, cme: 321} // invalid memory index (an empty slot)
)

// StoredSMS is one message on the simulated SIM, as AT+CMGR shows it.
type StoredSMS struct {
	Slot int    // storage index, 1..SMSSlots
	Stat int    // 0 received unread, 1 received read
	PDU  string // SMS-DELIVER in upper-case hex, service centre address first
}

// SentSMS is one PDU the box submitted with AT+CMGS.
type SentSMS struct {
	Length int    // the <length> of AT+CMGS: octets of the TPDU
	PDU    string // hex as the box sent it
	Ref    int    // the message reference the modem answered (+CMGS: <mr>)
}

// smsStore is the SIM message store and the SMS commands of a simulated GSM modem. It is
// guarded by the owning modem's mu.
type smsStore struct {
	slots    [SMSSlots + 1]*StoredSMS // 1-based; nil is free
	mt       int                      // AT+CNMI <mt>: 0 stores silently, otherwise +CMTI
	cmgf     int                      // AT+CMGF; only 0 (PDU mode) is simulated
	concat   byte                     // concatenation reference of the last long message
	ref      int                      // message reference of the last submit
	sent     []SentSMS
	prompt   int    // >0: AT+CMGS=<prompt> waits for its PDU after "> "
	pdu      []byte // what arrived of that PDU
	onDelete func(slot int)
}

// used counts the occupied slots.
func (s *smsStore) used() int {
	n := 0
	for _, m := range s.slots[1:] {
		if m != nil {
			n++
		}
	}
	return n
}

// dispatch runs an SMS command; false leaves c to the modem. info appends reply lines.
func (s *smsStore) dispatch(c command, info func(lines ...string)) (final, bool) {
	switch c.name {
	case "+CMGF":
		switch c.op {
		case "=":
			if strings.TrimSpace(c.arg) != "0" {
				return notSupported, true // text mode is not simulated
			}
			s.cmgf = 0
		case "?":
			info("+CMGF: " + strconv.Itoa(s.cmgf))
		case "=?":
			info("+CMGF: (0-1)")
		}
		return ok, true
	case "+CPMS":
		used := s.used()
		switch c.op {
		case "=":
			for _, mem := range splitArgs(c.arg) {
				if mem != "SM" && mem != "" {
					return cmsInvalidPDU, true
				}
			}
			info(fmt.Sprintf("+CPMS: %d,%d,%d,%d,%d,%d", used, SMSSlots, used, SMSSlots, used, SMSSlots))
		case "?":
			info(fmt.Sprintf(`+CPMS: "SM",%d,%d,"SM",%d,%d,"SM",%d,%d`, used, SMSSlots, used, SMSSlots, used, SMSSlots))
		case "=?":
			info(`+CPMS: ("SM"),("SM"),("SM")`)
		}
		return ok, true
	case "+CNMI":
		switch c.op {
		case "=":
			args := splitArgs(c.arg)
			mt, err := strconv.Atoi(args[0])
			if err != nil || mt < 0 || mt > 3 {
				return badParams, true
			}
			s.mt = mt
		case "?":
			info(fmt.Sprintf("+CNMI: 2,%d,0,2,0", s.mt))
		}
		return ok, true
	case "+CMGR":
		if c.op == "=?" {
			return ok, true
		}
		n, err := strconv.Atoi(strings.TrimSpace(c.arg))
		if c.op != "=" || err != nil || n < 0 || n > SMSSlots {
			return cmsInvalidIndex, true
		}
		m := s.slots[n]
		if m == nil {
			return cmsInvalidIndex, true
		}
		info(fmt.Sprintf("+CMGR: %d,,%d", m.Stat, tpduLen(m.PDU)), m.PDU)
		m.Stat = 1
		return ok, true
	case "+CMGL":
		if c.op == "=?" {
			info("+CMGL: (0-4)")
			return ok, true
		}
		want := 4
		if c.op == "=" {
			n, err := strconv.Atoi(strings.TrimSpace(c.arg))
			if err != nil || n < 0 || n > 4 {
				return badParams, true
			}
			want = n
		}
		var lines []string
		for i, m := range s.slots {
			if m == nil || (want != 4 && want != m.Stat) {
				continue
			}
			lines = append(lines, fmt.Sprintf("+CMGL: %d,%d,,%d", i, m.Stat, tpduLen(m.PDU)), m.PDU)
			m.Stat = 1
		}
		if len(lines) > 0 {
			info(lines...)
		}
		return ok, true
	case "+CMGD":
		if c.op == "=?" {
			info("+CMGD: (1-" + strconv.Itoa(SMSSlots) + "),(0-4)")
			return ok, true
		}
		args := splitArgs(c.arg)
		n, err := strconv.Atoi(args[0])
		if c.op != "=" || err != nil || n < 0 || n > SMSSlots {
			return cmsInvalidIndex, true
		}
		if len(args) > 1 && args[1] == "4" {
			for i := range s.slots {
				s.delete(i)
			}
			return ok, true
		}
		s.delete(n)
		return ok, true
	case "+CMGS":
		if c.op == "=?" {
			return ok, true
		}
		n, err := strconv.Atoi(strings.TrimSpace(c.arg))
		if c.op != "=" || err != nil || n < 7 || n > 164 {
			return cmsInvalidPDU, true
		}
		s.prompt, s.pdu = n, s.pdu[:0]
		return final{kind: finalPrompt}, true
	}
	return final{}, false
}

// delete frees slot i, telling the test hook first.
func (s *smsStore) delete(i int) {
	if i <= 0 || i > SMSSlots || s.slots[i] == nil {
		return
	}
	if s.onDelete != nil {
		s.onDelete(i)
	}
	s.slots[i] = nil
}

// tpduLen is the AT+CMGR <length> of a stored PDU: its octets without the service centre.
func tpduLen(pdu string) int {
	b, err := hex.DecodeString(pdu)
	if err != nil || len(b) == 0 {
		return 0
	}
	return max(len(b)-1-int(b[0]), 0)
}

// deliver stores text from the sender as SMS-DELIVER PDUs (several when it is long) and
// returns the +CMTI URCs to send.
func (s *smsStore) deliver(from, text string, at time.Time, reversed bool) ([]string, error) {
	s.concat++
	parts, err := sms.EncodeDeliver(from, text, at, sms.Options{ConcatRef: s.concat})
	if err != nil {
		return nil, fmt.Errorf("sim: SMS from %q: %w", from, err)
	}
	if reversed {
		// The network delivers a long message's parts as it likes: last part first.
		slices.Reverse(parts)
	}
	if SMSSlots-s.used() < len(parts) {
		return nil, fmt.Errorf("sim: %d parts from %q: %w", len(parts), from, ErrSIMFull)
	}
	var urcs []string
	for _, p := range parts {
		for i := 1; i <= SMSSlots; i++ {
			if s.slots[i] == nil {
				s.slots[i] = &StoredSMS{Slot: i, PDU: p.Hex()}
				if s.mt > 0 {
					urcs = append(urcs, `+CMTI: "SM",`+strconv.Itoa(i))
				}
				break
			}
		}
	}
	return urcs, nil
}

// input takes one byte of a PDU after the "> " prompt. It returns false when no PDU is awaited,
// and else what the modem answers (nil until Ctrl-Z or ESC ends the PDU).
func (s *smsStore) input(b byte) (reply []byte, taken bool) {
	if s.prompt == 0 {
		return nil, false
	}
	switch b {
	case 0x1b: // ESC: the box gave up
		s.prompt = 0
		return []byte("\r\nOK\r\n"), true
	case 0x1a:
		n := s.prompt
		s.prompt = 0
		text := strings.ToUpper(string(s.pdu))
		raw, err := hex.DecodeString(text)
		if err != nil || len(raw) == 0 || len(raw)-1-int(raw[0]) != n {
			return []byte("\r\n+CMS ERROR: " + strconv.Itoa(cmsInvalidPDU.cme) + "\r\n"), true
		}
		if _, err := sms.Decode(raw); err != nil {
			return []byte("\r\n+CMS ERROR: " + strconv.Itoa(cmsInvalidPDU.cme) + "\r\n"), true
		}
		s.ref = (s.ref + 1) % 256
		s.sent = append(s.sent, SentSMS{Length: n, PDU: text, Ref: s.ref})
		return []byte("\r\n+CMGS: " + strconv.Itoa(s.ref) + "\r\n\r\nOK\r\n"), true
	case '\r', '\n':
		return nil, true
	}
	if len(s.pdu) < 2*200 {
		s.pdu = append(s.pdu, b)
	}
	return nil, true
}

// messages copies what is on the SIM, by slot.
func (s *smsStore) messages() []StoredSMS {
	var out []StoredSMS
	for _, m := range s.slots[1:] {
		if m != nil {
			out = append(out, *m)
		}
	}
	return out
}

// DeliverSMS puts a message from the sender from (a number, or a name such as "MegaFon") on
// the SIM as the network would: as SMS-DELIVER PDUs, several with a concatenation header when
// text is long, each in a free slot, announced with +CMTI: "SM",<slot> once the box asked
// for it (AT+CNMI=2,1,...). It fails with ErrSIMFull when not every part fits.
func (e *EC25) DeliverSMS(from, text string) error { return e.deliverSMS(from, text) }

// DeliverSMSOutOfOrder is DeliverSMS with a long message's parts arriving last part first.
func (e *EC25) DeliverSMSOutOfOrder(from, text string) error {
	return e.deliverSMSOrder(from, text, true)
}

// DeliverSMSDirect sends a message straight to the box with +CMT, storing nothing on the SIM.
func (e *EC25) DeliverSMSDirect(from, text string) error { return e.deliverSMSDirect(from, text) }

// DirectAcks is how many AT+CNMA acknowledgements the box sent for direct messages.
func (e *EC25) DirectAcks() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.smsAcks
}

// Messages returns what is on the SIM, by slot.
func (e *EC25) Messages() []StoredSMS { return e.messages() }

// Sent returns the PDUs the box submitted with AT+CMGS, in order.
func (e *EC25) Sent() []SentSMS { return e.sentSMS() }

// OnSMSDelete sets f to be called with each slot the box deletes, before the modem answers
// the AT+CMGD (so the box is still waiting). f runs with the modem locked: it must not call
// the modem. For tests.
func (e *EC25) OnSMSDelete(f func(slot int)) { e.onSMSDelete(f) }

func (m *atModem) deliverSMS(from, text string) error { return m.deliverSMSOrder(from, text, false) }

// deliverSMSDirect sends a message as +CMT URCs (its PDUs on the line after each), as a modem
// does when AT+CNMI routes messages straight to the terminal: nothing is stored on the SIM.
func (m *atModem) deliverSMSDirect(from, text string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.sms.concat++
	parts, err := sms.EncodeDeliver(from, text, time.Now(), sms.Options{ConcatRef: m.sms.concat})
	if err != nil {
		return fmt.Errorf("sim: SMS from %q: %w", from, err)
	}
	if m.running {
		for _, p := range parts {
			h := p.Hex()
			m.writeAT([]byte("\r\n+CMT: ," + strconv.Itoa(tpduLen(h)) + "\r\n" + h + "\r\n"))
		}
	}
	return nil
}

func (m *atModem) deliverSMSOrder(from, text string, reversed bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	urcs, err := m.sms.deliver(from, text, time.Now(), reversed)
	if err != nil {
		return err
	}
	if m.running {
		for _, u := range urcs {
			m.writeAT([]byte("\r\n" + u + "\r\n"))
		}
	}
	return nil
}

func (m *atModem) messages() []StoredSMS {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sms.messages()
}

func (m *atModem) sentSMS() []SentSMS {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sms.sent)
}

func (m *atModem) onSMSDelete(f func(slot int)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sms.onDelete = f
}

func (m *atModem) smsByte(b byte) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	reply, taken := m.sms.input(b)
	if len(reply) > 0 {
		m.writeAT(reply)
	}
	return taken
}

// DeliverSMS puts a message on the SIM; see EC25.DeliverSMS.
func (s *SIM7600) DeliverSMS(from, text string) error { return s.m.deliverSMS(from, text) }

// DeliverSMSOutOfOrder puts a message on the SIM last part first; see EC25.DeliverSMSOutOfOrder.
func (s *SIM7600) DeliverSMSOutOfOrder(from, text string) error {
	return s.m.deliverSMSOrder(from, text, true)
}

// Messages returns what is on the SIM, by slot.
func (s *SIM7600) Messages() []StoredSMS { return s.m.messages() }

// Sent returns the PDUs the box submitted with AT+CMGS, in order.
func (s *SIM7600) Sent() []SentSMS { return s.m.sentSMS() }

// OnSMSDelete sets a hook for deleted slots; see EC25.OnSMSDelete.
func (s *SIM7600) OnSMSDelete(f func(slot int)) { s.m.onSMSDelete(f) }

// DeliverSMS puts a message on the SIM; see EC25.DeliverSMS.
func (h *Huawei) DeliverSMS(from, text string) error { return h.m.deliverSMS(from, text) }

// DeliverSMSOutOfOrder puts a message on the SIM last part first; see EC25.DeliverSMSOutOfOrder.
func (h *Huawei) DeliverSMSOutOfOrder(from, text string) error {
	return h.m.deliverSMSOrder(from, text, true)
}

// Messages returns what is on the SIM, by slot.
func (h *Huawei) Messages() []StoredSMS { return h.m.messages() }

// Sent returns the PDUs the box submitted with AT+CMGS, in order.
func (h *Huawei) Sent() []SentSMS { return h.m.sentSMS() }

// OnSMSDelete sets a hook for deleted slots; see EC25.OnSMSDelete.
func (h *Huawei) OnSMSDelete(f func(slot int)) { h.m.onSMSDelete(f) }
