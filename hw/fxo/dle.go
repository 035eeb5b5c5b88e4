package fxo

// Control bytes of the voice data stream (V.253 / IS-101).
const (
	dle = 0x10 // data link escape: starts a shielded code
	etx = 0x03 // <DLE><ETX>: end of voice data
	// The host's codes to the modem in data mode.
	endDuplex = '^' // <DLE>^: leave full-duplex (AT+VTR) data mode
	endRecv   = '!' // <DLE>!: leave receive mode
	// The modem's DTMF shielding: <DLE>/ <DLE>digit <DLE>~.
	shieldStart = '/'
	shieldEnd   = '~'
)

// shield appends src to dst with every DLE doubled, as the modem expects audio from the host.
// It allocates only when dst lacks capacity (2*len(src) is always enough).
func shield(dst, src []byte) []byte {
	for _, b := range src {
		if b == dle {
			dst = append(dst, dle, dle)
			continue
		}
		dst = append(dst, b)
	}
	return dst
}

// unshielder splits the modem's data-mode stream into audio bytes and <DLE> events. It keeps
// state across calls, so a <DLE> at the end of one read pairs with the first byte of the next.
// The zero value is ready.
type unshielder struct {
	pendingDLE bool // the last byte seen was a lone DLE
	inShield   bool // between <DLE>/ and <DLE>~: the digit inside is reported once
	shieldSeen bool // a digit was reported inside the current shield
}

// decode consumes src, appending audio bytes to data and event codes (the byte after DLE; ETX
// for end of data) to events. Within DTMF shielding the digit is one event however often the
// modem repeats it, and '/' and '~' are not reported. With cap(data)-len(data) >= len(src) and
// cap(events)-len(events) >= len(src)/2+1 it does not allocate.
//
// When an ETX event is produced, decode stops right after it and returns how many bytes of src
// it used: what follows is no longer voice data.
func (u *unshielder) decode(data, events, src []byte) (outData, outEvents []byte, used int) {
	for i, b := range src {
		if !u.pendingDLE {
			if b == dle {
				u.pendingDLE = true
				continue
			}
			data = append(data, b)
			continue
		}
		u.pendingDLE = false
		switch b {
		case dle:
			data = append(data, dle)
		case shieldStart:
			u.inShield, u.shieldSeen = true, false
		case shieldEnd:
			u.inShield, u.shieldSeen = false, false
		case etx:
			events = append(events, etx)
			u.inShield, u.shieldSeen = false, false
			return data, events, i + 1
		default:
			if u.inShield && isDigit(b) {
				if u.shieldSeen {
					continue
				}
				u.shieldSeen = true
			}
			events = append(events, b)
		}
	}
	return data, events, len(src)
}

// reset forgets a half-read code, at the start of a new data-mode session.
func (u *unshielder) reset() { *u = unshielder{} }

// isDigit reports whether code is a DTMF digit event.
func isDigit(code byte) bool {
	return code >= '0' && code <= '9' || code == '*' || code == '#' || code >= 'A' && code <= 'D'
}
