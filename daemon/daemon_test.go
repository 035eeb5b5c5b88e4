package daemon

import (
	"context"
	"io"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"
)

func TestParseModemSpec(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    ModemSpec
		wantErr bool
	}{
		{in: "/dev/ttyUSB2,audio=/dev/ttyUSB1", want: ModemSpec{AT: "/dev/ttyUSB2", Audio: "/dev/ttyUSB1", Kind: "quectel"}},
		{in: "/dev/ttyUSB2,audio=/dev/ttyUSB1,kind=quectel", want: ModemSpec{AT: "/dev/ttyUSB2", Audio: "/dev/ttyUSB1", Kind: "quectel"}},
		{in: "/dev/ttyUSB2", wantErr: true}, // Quectel needs its audio port
		{in: "", wantErr: true},             // no path
		{in: "/dev/ttyACM0,kind=fxo", want: ModemSpec{AT: "/dev/ttyACM0", Kind: "fxo"}},
		{in: "/dev/ttyACM0,audio=/dev/ttyACM1,kind=fxo", wantErr: true},   // one port carries both
		{in: "/dev/ttyUSB2,audio=/dev/ttyUSB1,kind=fax", wantErr: true},   // unknown kind
		{in: "/dev/ttyUSB2,audio=/dev/ttyUSB1,speed=9600", wantErr: true}, // unknown option
		{in: "/dev/ttyUSB2,audio", wantErr: true},                         // not key=value
	} {
		got, err := ParseModemSpec(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseModemSpec(%q) error %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && got != tc.want {
			t.Errorf("ParseModemSpec(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// BenchmarkAnswer measures, on simulated EC25 lines, the time from the first RING to the box's
// ATA and from ATA to the first sound of the greeting the caller hears.
func BenchmarkAnswer(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	h, err := Open(ctx, Config{DataDir: b.TempDir(), Sims: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.Run(ctx) })
	defer func() { cancel(); wg.Wait(); h.Close() }()
	time.Sleep(300 * time.Millisecond) // modem init
	var ata, first time.Duration
	b.ResetTimer()
	for b.Loop() {
		res, err := h.TestCall(ctx, TestCall{From: "+79161234567", HangupAfterMS: 1000})
		if err != nil {
			b.Fatal(err)
		}
		if res.Rings != 1 || res.FirstSoundMS == 0 {
			b.Fatalf("call: %+v", res)
		}
		ata += time.Duration(res.AnsweredAfterMS) * time.Millisecond
		first += time.Duration(res.FirstSoundMS) * time.Millisecond
	}
	b.ReportMetric(float64(ata.Milliseconds())/float64(b.N), "ring-to-ATA-ms")
	b.ReportMetric(float64(first.Milliseconds())/float64(b.N), "ATA-to-greeting-ms")
}

// A caller reaches voicemail on every dialect, through the real drivers on simulated modems
// (pseudo-terminals); a modem that prints garbage between its messages changes nothing, and the
// call record is whole.
func TestVoicemailOnEveryDialect(t *testing.T) {
	for _, tc := range []struct {
		kind    string
		garbage bool
		inband  bool
		rings   string // answer on this ring (analog caller ID comes after the first)
	}{
		{kind: "quectel", garbage: true},
		{kind: "simcom"},
		{kind: "huawei", inband: true},
		{kind: "fxo", rings: "2"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			h, err := Open(ctx, Config{DataDir: t.TempDir(), Sims: 1, SimKind: tc.kind, SimGarbage: tc.garbage, SimToneReports: true,
				Now: workingHours, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			if tc.rings != "" {
				if err := h.Store.SetSetting(ctx, "answer_rings", tc.rings); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			wg.Go(func() { _ = h.Run(ctx) })
			defer func() { cancel(); wg.Wait(); h.Close() }()

			say := make([]byte, 2*8000*2) // 2 s of a 300 Hz "voice"
			for i := range len(say) / 2 {
				v := int16(8000 * math.Sin(2*math.Pi*300*float64(i)/8000))
				say[2*i], say[2*i+1] = byte(v), byte(uint16(v)>>8)
			}
			res, err := h.TestCall(ctx, TestCall{From: "+79161234567", Digits: "0", Say: say, InbandOnly: tc.inband})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != "voicemail" || res.MenuPath != "0" || res.VoicemailID == 0 || res.HungUpBy != "box" {
				t.Fatalf("call: %+v", res)
			}
			c, err := h.Store.Call(ctx, res.CallID)
			if err != nil {
				t.Fatal(err)
			}
			if c.Number != "+79161234567" || c.AnsweredAt.IsZero() || c.EndedAt.IsZero() {
				t.Errorf("call record: %+v", c)
			}
			if res.VoicemailSeconds < 2 {
				t.Errorf("voicemail of %.1f s, want the 2 s said", res.VoicemailSeconds)
			}
		})
	}
}

// workingHours is a Monday at 11:00 in Moscow, when the default flow is open.
func workingHours() time.Time { return time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC) }
