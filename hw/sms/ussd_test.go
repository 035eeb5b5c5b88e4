package sms

import (
	"errors"
	"testing"
)

func TestParseCUSD(t *testing.T) {
	for _, tt := range []struct {
		name, line string
		want       USSD
	}{
		{"packed gsm7 hex (verbatim chan_dongle)", `+CUSD: 0,"CF2135487D2E4130572D0682BB1A",0`,
			USSD{Status: USSDDone, Text: "OCTATOK 0.51 p.", DCS: 0, Raw: "CF2135487D2E4130572D0682BB1A"}},
		{"status only", `+CUSD: 5`, USSD{Status: USSDTimeout, DCS: -1}},
		{"text decoded by the modem, commas inside", `+CUSD: 0,"100,00 EURO, valid till 01.01.2010, …",15`,
			USSD{Status: USSDDone, Text: "100,00 EURO, valid till 01.01.2010, …", DCS: 15, Raw: "100,00 EURO, valid till 01.01.2010, …"}},
		{"ucs2 hex, dcs 72", `+CUSD: 0,"04110430043B0430043D0441003A0020003100300030",72`,
			USSD{Status: USSDDone, Text: "Баланс: 100", DCS: 72, Raw: "04110430043B0430043D0441003A0020003100300030"}},
		{"ucs2 hex although dcs says gsm7 (AT+CSCS=\"UCS2\")", `+CUSD: 2,"00420061006C0061006E00630065",15`,
			USSD{Status: USSDTerminated, Text: "Balance", DCS: 15, Raw: "00420061006C0061006E00630065"}},
		{"digits that look like hex stay text", `+CUSD: 1,"1234",15`,
			USSD{Status: USSDActionRequired, Text: "1234", DCS: 15, Raw: "1234"}},
		{"cyrillic text decoded by the modem", `+CUSD: 0,"Баланс 12.50 р.",72`,
			USSD{Status: USSDDone, Text: "Баланс 12.50 р.", DCS: 72, Raw: "Баланс 12.50 р."}},
		{"packed *100# with spaces around", "  +CUSD:1,\"AA180C3602\" , 15 \r\n",
			USSD{Status: USSDActionRequired, Text: "*100#", DCS: 15, Raw: "AA180C3602"}},
		{"unquoted string", `+CUSD: 0,Your balance,15`,
			USSD{Status: USSDDone, Text: "Your balance", DCS: 15, Raw: "Your balance"}},
		{"ucs2 with language prefix (dcs 0x11)", `+CUSD: 0,"D2370048",17`,
			USSD{Status: USSDDone, Text: "H", DCS: 17, Raw: "D2370048"}},
		{"gsm7 with language prefix (dcs 0x10)", `+CUSD: 0,"6577035D66B3DF",16`,
			USSD{Status: USSDDone, Text: "hello", DCS: 16, Raw: "6577035D66B3DF"}},
		{"8-bit data as hex (dcs 0x44)", `+CUSD: 0,"48656C6C6F",68`,
			USSD{Status: USSDDone, Text: "Hello", DCS: 68, Raw: "48656C6C6F"}},
		{"8-bit data as hex (dcs 0xF4)", `+CUSD: 0,"48656C6C6F",244`,
			USSD{Status: USSDDone, Text: "Hello", DCS: 244, Raw: "48656C6C6F"}},
		{"8-bit data that is no text stays hex", `+CUSD: 0,"00FF",68`,
			USSD{Status: USSDDone, Text: "00FF", DCS: 68, Raw: "00FF"}},
		{"ucs2 hex with an unpaired surrogate stays hex", `+CUSD: 0,"D83D0041",72`,
			USSD{Status: USSDDone, Text: "D83D0041", DCS: 72, Raw: "D83D0041"}},
		{"markup passes through", `+CUSD: 0,"<b>5 &amp; 6</b>",15`,
			USSD{Status: USSDDone, Text: "<b>5 &amp; 6</b>", DCS: 15, Raw: "<b>5 &amp; 6</b>"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCUSD(tt.line)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseCUSDErrors(t *testing.T) {
	for _, line := range []string{
		"", "+CMTI: \"SM\",3", "+CUSD:", "+CUSD: x", "+CUSD: 12", `+CUSD: 0,"abc`, `+CUSD: 0,"abc"x`,
		`+CUSD: 0,"abc",300`, `+CUSD: 0,"abc",z`, "+CUSD: 0,\"" + string(make([]byte, 3000)) + "\"",
	} {
		if _, err := ParseCUSD(line); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseCUSD(%.40q) = %v, want ErrInvalid", line, err)
		}
	}
}

func TestEncodeUSSD(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"*100#", "AA180C3602"},
		{"*102*1#", "AA184CA68A8D1A"}, // 7 characters: the spare septet is CR (0D<<1 = 1A), not '@'
		{"#", "23"},
		{"", ""},
	} {
		got, err := EncodeUSSD(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("EncodeUSSD(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if tt.in == "" {
			continue
		}
		back, err := ParseCUSD(`+CUSD: 0,"` + got + `",15`)
		if err != nil || back.Text != tt.in {
			t.Errorf("round trip of %q: %q, %v", tt.in, back.Text, err)
		}
	}
	if _, err := EncodeUSSD("*100#Ж"); err == nil {
		t.Errorf("Cyrillic request: no error")
	}
}

func TestUSSDStatusString(t *testing.T) {
	want := []string{"done", "action required", "terminated", "other client", "not supported", "timeout", "status 9"}
	for i, s := range []USSDStatus{0, 1, 2, 3, 4, 5, 9} {
		if s.String() != want[i] {
			t.Errorf("%d: %q, want %q", int(s), s.String(), want[i])
		}
	}
}
