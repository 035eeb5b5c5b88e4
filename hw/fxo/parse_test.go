package fxo

import (
	"testing"

	"hotline/hw"
)

func TestPickVSM(t *testing.T) {
	conexant := []string{
		`0,"SIGNED PCM",8,0,(7200,8000,11025),(0),(0)`,
		`1,"UNSIGNED PCM",8,0,(7200,8000,11025),(0),(0)`,
		`129,"IMA ADPCM",4,0,(7200,8000,11025),(0),(0)`,
	}
	usr := []string{
		`+VSM: 128,"8-BIT LINEAR",8,0,(7200-11025),(0),(0)`,
		`129,"16-BIT LINEAR",16,0,(8000),(0),(0)`,
	}
	ulawOnly := []string{
		`4,"ULAW",8,0,(8000),(0),(0)`,
		`5,"SIGNED PCM",16,0,(8000),(0),(0)`,
		`1,"UNSIGNED PCM",8,0,(11025),(0),(0)`, // no 8000: unusable
	}
	s16Only := []string{`2,"SIGNED PCM",16,0,(8000),(0),(0)`, `garbage`, `3,"IMA ADPCM",4,0,(8000)`}
	for _, tt := range []struct {
		name    string
		listing []string
		want    hw.AudioFormat
		wantID  int
		force   hw.AudioFormat
		wantOK  bool
	}{
		{"conexant u8", conexant, hw.U8, 1, 0, true},
		{"usr 8-bit linear", usr, hw.U8, 128, 0, true},
		{"usr forced 16-bit", usr, hw.S16LE, 129, hw.S16LE, true},
		{"mu-law when no u8 at 8 kHz", ulawOnly, hw.ULaw, 4, 0, true},
		{"signed 16-bit last", s16Only, hw.S16LE, 2, 0, true},
		{"nothing usable", []string{`129,"IMA ADPCM",4,0,(8000),(0),(0)`}, 0, 0, 0, false},
		{"forced format missing", conexant, 0, 0, hw.ULaw, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var es []vsmEntry
			for _, l := range tt.listing {
				if e, ok := parseVSM(l); ok {
					es = append(es, e)
				}
			}
			e, ok := pickVSM(es, tt.force)
			if ok != tt.wantOK || (ok && (e.format != tt.want || e.id != tt.wantID)) {
				t.Errorf("pick = %+v %v, want %v id %d %v", e, ok, tt.want, tt.wantID, tt.wantOK)
			}
		})
	}
}

func TestCIDField(t *testing.T) {
	for _, tt := range []struct {
		line, key, value string
		ok               bool
	}{
		{"NMBR=0123456789", "NMBR", "0123456789", true},
		{"NMBR = 04xxxxxxx7", "NMBR", "04xxxxxxx7", true},
		{"DATE = 1015", "DATE", "1015", true},
		{"TIME=1452", "TIME", "1452", true},
		{"NAME=WIRELESS CALLER", "NAME", "WIRELESS CALLER", true},
		{"RING", "", "", false},
		{"FOO=1", "", "", false},
	} {
		k, v, ok := cidField(tt.line)
		if k != tt.key || v != tt.value || ok != tt.ok {
			t.Errorf("cidField(%q) = %q %q %v", tt.line, k, v, ok)
		}
	}
	var c callerID
	c.apply("NMBR", "P")
	if c.number != "" || !c.withheld {
		t.Errorf("NMBR=P: %+v, want withheld", c)
	}
}

func FuzzParseVSM(f *testing.F) {
	f.Add(`1,"UNSIGNED PCM",8,0,(7200,8000,11025),(0),(0)`)
	f.Add(`+VSM: 128,"8-BIT LINEAR",8,0,(7200-11025),(0),(0)`)
	f.Add(`4,"`)
	f.Fuzz(func(t *testing.T, line string) {
		if e, ok := parseVSM(line); ok {
			_ = e.offers8k()
		}
		cidField(line)
	})
}
