// Package phone normalises telephone numbers to E.164 and formats them for people, with the
// numbering plans of github.com/nyaruka/phonenumbers (libphonenumber's metadata).
//
// Caller IDs, operators' mobiles and numbers typed into the admin arrive in every shape:
// "8 916 123-45-67", "+7 (916) 123 45 67", "9161234567". [Normalize] turns each into one key,
// "+79161234567", so a caller's history is found whatever the modem or the owner wrote; it
// refuses anything that is not a plausible number, and then the raw text is kept as it came.
// [Format] writes a normalised number back the way people of the home region write it.
package phone

import (
	"regexp"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region assumed when none is given.
const DefaultRegion = "RU"

// maxRaw bounds the input: no written phone number, with spaces and punctuation, is longer.
const maxRaw = 40

// e164 is the shape every normalised number has (ITU-T E.164: at most 15 digits).
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func region(r string) string {
	r = strings.ToUpper(strings.TrimSpace(r))
	if r == "" {
		return DefaultRegion
	}
	return r
}

// allowed reports whether raw holds only what people write in a phone number: digits, one
// leading '+', spaces, and the separators ( ) - . /.
func allowed(raw string) bool {
	if raw == "" || len(raw) > maxRaw {
		return false
	}
	digits := 0
	for i, c := range raw {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' && strings.TrimSpace(raw[:i]) == "":
		case c == ' ', c == '(', c == ')', c == '-', c == '.', c == '/', c == '\t':
		default:
			return false
		}
	}
	return digits > 0
}

// Normalize returns raw as an E.164 number ("+79161234567") and true, reading national and
// local forms by the numbering plan of region (an ISO 3166 code such as "RU"; "" means
// [DefaultRegion]). It returns "", false for anything that is not a valid number there:
// letters, markup, extensions, short codes, too few or too many digits.
func Normalize(raw, reg string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if !allowed(raw) {
		return "", false
	}
	num, err := phonenumbers.Parse(raw, region(reg))
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	out := phonenumbers.Format(num, phonenumbers.E164)
	if !e164.MatchString(out) {
		return "", false
	}
	return out, true
}

// Format writes an E.164 number for display: in the national format when it belongs to the
// country of region ("8 (916) 123-45-67" for RU), in the international format otherwise
// ("+44 20 7946 0958"). A number it cannot read is returned unchanged.
func Format(number, reg string) string {
	if !e164.MatchString(number) {
		return number
	}
	num, err := phonenumbers.Parse(number, "")
	if err != nil {
		return number
	}
	if int(num.GetCountryCode()) == phonenumbers.GetCountryCodeForRegion(region(reg)) {
		return phonenumbers.Format(num, phonenumbers.NATIONAL)
	}
	return phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
}
