package sms

import "strings"

// esc is the escape to the extension table of the GSM 7-bit default alphabet (TS 23.038 6.2.1).
const esc = 0x1B

// gsm7Basic is the GSM 7-bit default alphabet, TS 23.038 6.2.1: index = septet value.
// Position 0x1B is the escape to the extension table and never stands for itself.
var gsm7Basic = [128]rune{
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', 0x1B, 'Æ', 'æ', 'ß', 'É',
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
}

// gsm7Ext is the default extension table, TS 23.038 6.2.1.1: septet after ESC -> character.
var gsm7Ext = map[byte]rune{
	0x0A: '\f',
	0x14: '^',
	0x28: '{',
	0x29: '}',
	0x2F: '\\',
	0x3C: '[',
	0x3D: '~',
	0x3E: ']',
	0x40: '|',
	0x65: '€',
}

var (
	gsm7BasicRev = map[rune]byte{}
	gsm7ExtRev   = map[rune]byte{}
)

func init() {
	for i, r := range gsm7Basic {
		if i != esc {
			gsm7BasicRev[r] = byte(i)
		}
	}
	for s, r := range gsm7Ext {
		gsm7ExtRev[r] = s
	}
}

// gsm7Septets returns the septets of r: one for the default alphabet, two (ESC, code) for the
// extension table, none and false when r cannot be written in GSM 7-bit.
func gsm7Septets(r rune) (s [2]byte, n int, ok bool) {
	if b, ok := gsm7BasicRev[r]; ok {
		return [2]byte{b}, 1, true
	}
	if b, ok := gsm7ExtRev[r]; ok {
		return [2]byte{esc, b}, 2, true
	}
	return s, 0, false
}

// IsGSM7 reports whether every character of text is in the GSM 7-bit default alphabet or its
// extension table, so that text can be sent as GSM 7-bit.
func IsGSM7(text string) bool {
	for _, r := range text {
		if _, _, ok := gsm7Septets(r); !ok {
			return false
		}
	}
	return true
}

// encodeGSM7 returns the unpacked septets of text, or false if a character does not fit.
func encodeGSM7(text string) ([]byte, bool) {
	out := make([]byte, 0, len(text))
	for _, r := range text {
		s, n, ok := gsm7Septets(r)
		if !ok {
			return nil, false
		}
		out = append(out, s[:n]...)
	}
	return out, true
}

// decodeGSM7 turns unpacked septets into text. An escape followed by a code the extension
// table does not hold shows that code from the default table, and a lone escape at the end or
// a double escape shows a space (TS 23.038 6.2.1.1).
func decodeGSM7(septets []byte) string {
	var b strings.Builder
	b.Grow(len(septets))
	for i := 0; i < len(septets); i++ {
		c := septets[i] & 0x7F
		if c != esc {
			b.WriteRune(gsm7Basic[c])
			continue
		}
		if i+1 >= len(septets) {
			b.WriteByte(' ')
			break
		}
		i++
		n := septets[i] & 0x7F
		if r, ok := gsm7Ext[n]; ok {
			b.WriteRune(r)
		} else if n == esc {
			b.WriteByte(' ')
		} else {
			b.WriteRune(gsm7Basic[n])
		}
	}
	return b.String()
}

// packSeptets packs septets into octets, least significant bit first, starting after fill
// bits of padding (the fill that aligns text behind a user data header to a septet boundary).
// The padding bits are appended to dst as zero bits at the start of the first new octet.
func packSeptets(dst []byte, septets []byte, fill int) []byte {
	bits := fill
	var acc uint32
	for _, s := range septets {
		acc |= uint32(s&0x7F) << bits
		bits += 7
		for bits >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			bits -= 8
		}
	}
	if bits > 0 {
		dst = append(dst, byte(acc))
	}
	return dst
}

// unpackSeptets reads n septets from packed, skipping skipBits bits first. It reads no more
// septets than packed holds.
func unpackSeptets(packed []byte, skipBits, n int) []byte {
	if avail := (len(packed)*8 - skipBits) / 7; n > avail {
		n = avail
	}
	if n <= 0 {
		return nil
	}
	out := make([]byte, n)
	for i := range n {
		bit := skipBits + i*7
		idx, shift := bit/8, bit%8
		v := uint16(packed[idx]) >> shift
		if shift > 1 && idx+1 < len(packed) {
			v |= uint16(packed[idx+1]) << (8 - shift)
		}
		out[i] = byte(v) & 0x7F
	}
	return out
}
