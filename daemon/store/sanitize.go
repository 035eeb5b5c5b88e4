package store

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// MaxNumberDigits is the most digits a sanitised number keeps: E.164 allows 15, local
	// formats with prefixes need a few more.
	MaxNumberDigits = 20
	// MaxDisplayRunes is the most runes of a display string, the "…" of a cut included.
	MaxDisplayRunes = 64
)

// SanitizeNumber turns a caller number as a modem or SIP peer reported it into number, "+"
// and ASCII digits only (at most MaxNumberDigits, "" when the input is withheld, empty or
// anything but a phone number written with spaces, dashes, dots, slashes and brackets), and
// display, the input as valid UTF-8 without control or format characters, trimmed and cut to
// MaxDisplayRunes with "…". display is meant to be shown (always escaped), never trusted.
//
//	"+7 (916) 123-45-67"        -> "+79161234567", "+7 (916) 123-45-67"
//	"<script>alert(1)</script>" -> "",             "<script>alert(1)</script>"
//	"withheld"                  -> "",             "withheld"
func SanitizeNumber(raw string) (number, display string) {
	return parseNumber(raw), cleanText(raw, MaxDisplayRunes)
}

// parseNumber returns the "+"-and-digits form of raw, or "" when raw is not a phone number.
func parseNumber(raw string) string {
	var buf [MaxNumberDigits + 1]byte
	n, digits := 0, 0
	started := false
	for _, r := range raw {
		switch {
		case r >= '0' && r <= '9':
			if digits == MaxNumberDigits {
				return "" // too long to be a phone number
			}
			buf[n] = byte(r)
			n++
			digits++
			started = true
		case r == '+' && !started:
			buf[n] = '+'
			n++
			started = true
		case r == '-' || r == '(' || r == ')' || r == '.' || r == '/' || unicode.IsSpace(r):
			// formatting
		default:
			return "" // letters, markup, control bytes, invalid UTF-8, a second "+"
		}
	}
	if digits == 0 {
		return ""
	}
	return string(buf[:n])
}

// cleanText returns s as valid UTF-8 (invalid bytes become U+FFFD) without control, format or
// line/paragraph separator characters, trimmed of spaces, and cut to at most maxRunes runes
// ending in "…" when it was longer.
func cleanText(s string, maxRunes int) string {
	if isClean(s, maxRunes) {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), 4*maxRunes+3))
	runes := 0
	cut := false
	for _, r := range s { // ranging over invalid UTF-8 yields utf8.RuneError
		if !keepRune(r) {
			continue
		}
		if runes == 0 && unicode.IsSpace(r) {
			continue
		}
		if runes == maxRunes {
			if unicode.IsSpace(r) {
				continue // trailing spaces are trimmed anyway
			}
			cut = true
			break
		}
		b.WriteRune(r)
		runes++
	}
	out := strings.TrimRightFunc(b.String(), unicode.IsSpace)
	if cut {
		// Make room for the ellipsis within maxRunes.
		r := []rune(out)
		if len(r) >= maxRunes {
			r = r[:maxRunes-1]
		}
		out = strings.TrimRightFunc(string(r), unicode.IsSpace) + "…"
	}
	return out
}

// isClean reports whether cleanText would return s unchanged.
func isClean(s string, maxRunes int) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxRunes || strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if !keepRune(r) {
			return false
		}
	}
	return true
}

func keepRune(r rune) bool {
	return !unicode.IsControl(r) && !unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// cleanMultiline is cleanText for text with line breaks (a note): each line is cleaned, empty
// lines at the ends are dropped, and the whole is cut to at most maxRunes runes (line breaks
// count as one).
func cleanMultiline(s string, maxRunes int) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	left := maxRunes
	for i, l := range lines {
		l = cleanText(l, max(left, 1))
		if left <= 0 {
			lines = lines[:i]
			break
		}
		lines[i] = l
		left -= utf8.RuneCountInString(l) + 1
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}
