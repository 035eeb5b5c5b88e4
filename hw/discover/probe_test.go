package discover

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"hotline/hw/sim"
)

// simModem is what the simulated modems share for a probe.
type simModem interface {
	ATPath() string
	Run(ctx context.Context) error
	io.Closer
}

func TestProbeSimulators(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func() (simModem, error)
		want string
	}{
		{"ec25", func() (simModem, error) { return sim.NewEC25(sim.Options{}) }, Quectel},
		{"sim7600", func() (simModem, error) { return sim.NewSIM7600(sim.Options{}) }, SIMCom},
		{"huawei", func() (simModem, error) { return sim.NewHuawei(sim.Options{}) }, Huawei},
		{"fxo", func() (simModem, error) { return sim.NewFXO(sim.Options{}) }, FXO},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.open()
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			wg.Go(func() { _ = m.Run(ctx) })
			defer func() { cancel(); m.Close(); wg.Wait() }()

			got, err := Probe(ctx, m.ATPath())
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if got != tt.want {
				t.Errorf("Probe = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProbeNoPort(t *testing.T) {
	if kind, err := Probe(t.Context(), "/nonexistent/ttyUSB9"); err == nil {
		t.Fatalf("Probe of a missing port = %q, nil; want an error", kind)
	}
}

func TestGuessDialect(t *testing.T) {
	for _, tt := range []struct {
		lines []string
		want  string
	}{
		{[]string{"Quectel", "EC25", "Revision: EC25EFAR06A06M4G"}, Quectel},
		{[]string{"EG25"}, Quectel},
		{[]string{"Manufacturer: SIMCOM INCORPORATED", "Model: SIMCOM_SIM7600G-H"}, SIMCom},
		{[]string{"SIMCOM_SIM7600E-H"}, SIMCom},
		{[]string{"Manufacturer: huawei", "Model: E173", "+GCAP: +CGSM,+DS,+ES"}, Huawei},
		{[]string{"E1550"}, Huawei},
		{[]string{"CX93001-EIS_V0.2002-V92"}, ""},
		{[]string{"U.S. Robotics 56K FAX USB V1.2.23"}, ""},
		{nil, ""},
	} {
		if got := GuessDialect(tt.lines); got != tt.want {
			t.Errorf("GuessDialect(%q) = %q, want %q", tt.lines, got, tt.want)
		}
	}
}

func TestListsVoiceClass(t *testing.T) {
	for _, tt := range []struct {
		lines []string
		want  bool
	}{
		{[]string{"0,1,1.0,2,8"}, true},
		{[]string{"(0,1,2,8)"}, true},
		{[]string{"+FCLASS: (0-2,8)"}, true},
		{[]string{"(0-9)"}, true},
		{[]string{"0,1,2,80"}, false},
		{[]string{"0,1,1.0,2"}, false},
		{[]string{"(0-2)"}, false},
		{[]string{"", "OK"}, false},
		{nil, false},
	} {
		if got := ListsVoiceClass(tt.lines); got != tt.want {
			t.Errorf("ListsVoiceClass(%q) = %v, want %v", tt.lines, got, tt.want)
		}
	}
}

func FuzzListsVoiceClass(f *testing.F) {
	for _, s := range []string{"0,1,1.0,2,8", "(0-2,8)", "+FCLASS: (0,1,2)", "8-0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := ListsVoiceClass([]string{s})
		// A bare "8" item always counts; with no digit 8 and no range nothing can.
		items := strings.FieldsFunc(strings.TrimPrefix(strings.TrimSpace(s), "+FCLASS:"), func(r rune) bool {
			return r == ',' || r == '(' || r == ')' || r == ' '
		})
		for _, it := range items {
			if it == "8" && !got {
				t.Fatalf("ListsVoiceClass(%q) = false, but it lists 8", s)
			}
		}
		if got && !strings.Contains(s, "8") && !strings.Contains(s, "-") {
			t.Fatalf("ListsVoiceClass(%q) = true without an 8 or a range", s)
		}
		_ = GuessDialect([]string{s})
	})
}

func TestSelect(t *testing.T) {
	quectel := Modem{Kind: Quectel, Vendor: "2c7c", Product: "0125", AT: "/dev/ttyUSB2", Audio: "/dev/ttyUSB1"}
	halfGone := Modem{Kind: SIMCom, Vendor: "1e0e", Product: "9001", AT: "/dev/ttyUSB7"}
	noAT := Modem{Kind: Huawei, Vendor: "12d1", Product: "1001", Audio: "/dev/ttyUSB9"}
	conexant := Modem{Kind: FXO, Vendor: "0572", Product: "1329", AT: "/dev/ttyACM0"}
	acmGSM := Modem{Kind: FXO, Vendor: "1234", Product: "5678", AT: "/dev/ttyACM1"}
	silent := Modem{Kind: FXO, Vendor: "4321", Product: "8765", AT: "/dev/ttyACM2"}
	ch340 := Modem{Vendor: "1a86", Product: "7523", AT: "/dev/ttyUSB0"}
	probed := map[string]bool{}
	probe := func(_ context.Context, path string) (string, error) {
		probed[path] = true
		switch path {
		case conexant.AT:
			return FXO, nil
		case acmGSM.AT:
			return Quectel, nil
		}
		return "", errors.New("does not answer AT commands")
	}
	use, skip := Select(t.Context(), []Modem{quectel, halfGone, noAT, conexant, acmGSM, silent, ch340}, probe)
	if want := []Modem{quectel, conexant}; len(use) != len(want) || use[0].AT != want[0].AT || use[1].AT != want[1].AT {
		t.Errorf("Select used %+v, want %+v", use, want)
	}
	wantSkip := map[string]string{
		halfGone.ID(): "audio port is missing",
		noAT.ID():     "AT port is missing",
		acmGSM.ID():   "answers as quectel",
		silent.ID():   "does not answer",
		ch340.ID():    "unknown USB device 1a86:7523",
	}
	if len(skip) != len(wantSkip) {
		t.Errorf("Select skipped %+v, want %d", skip, len(wantSkip))
	}
	for _, s := range skip {
		if w, ok := wantSkip[s.Modem.ID()]; !ok || !strings.Contains(s.Reason, w) {
			t.Errorf("skipped %s: %q, want it to say %q", s.Modem.ID(), s.Reason, w)
		}
	}
	if probed[ch340.AT] || probed[quectel.AT] {
		t.Errorf("Select probed a known or unknown device: %v (only FXO candidates are probed)", probed)
	}
}
