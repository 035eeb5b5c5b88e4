package gsm

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"hotline/hw"
	"hotline/hw/modem/modemtest"
)

// initCommands is the init sequence without AT+QTONEDET=1.
var initCommands = append([]string{
	"AT", "ATE0", "AT+CMEE=2", "ATI", "AT+CGMM", "AT+CLIP=1", "AT+CRC=0",
	`AT+QINDCFG="ccinfo",1,0`, `AT+QGPSCFG="outport","none"`, "AT+QPCMV=1,0",
}, serviceSteps(quectelFamily)...)

// rig is a Quectel line on a scripted fake EC25, with the fake's end of the audio port. Build it
// inside a synctest bubble.
type rig struct {
	t      *testing.T
	m      *modemtest.Modem
	q      *Quectel
	audio  net.Conn // the modem's end of the PCM port
	cancel context.CancelFunc

	runDone chan struct{} // closed when Run returned
	runErr  error
}

// newRig starts the line; script may change the fake's replies before Run begins. It waits for
// the "ready" State event.
func newRig(t *testing.T, opts QuectelOptions, script func(m *modemtest.Modem)) *rig {
	t.Helper()
	return newRigState(t, opts, "ready", script)
}

// newRigState is newRig for a line whose first State event is want.
func newRigState(t *testing.T, opts QuectelOptions, want string, script func(m *modemtest.Modem)) *rig {
	t.Helper()
	m := modemtest.New(t)
	m.On("AT", "OK")
	m.On("ATE0", "OK")
	m.On("AT+CMEE=2", "OK")
	m.On("ATI", "Quectel", "EC25", "Revision: EC25EFAR06A06M4G", "OK")
	m.On("AT+CGMM", "EC25", "OK")
	m.On("AT+CLIP=1", "OK")
	m.On("AT+CRC=0", "OK")
	m.On(`AT+QINDCFG="ccinfo",1,0`, "OK")
	m.On(`AT+QGPSCFG="outport","none"`, "OK")
	m.On("AT+QTONEDET=1", "OK")
	m.On("AT+QPCMV=1,0", "OK")
	m.On("AT+CHUP", "OK")
	scriptServices(m, quectelFamily)
	if script != nil {
		script(m)
	}
	hostAudio, devAudio := net.Pipe()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	r := &rig{
		t:       t,
		m:       m,
		q:       NewQuectel("gsm1", m.Port(), hostAudio, opts),
		audio:   devAudio,
		runDone: make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.runDone)
		r.runErr = r.q.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		for range r.q.Events() {
		}
		<-r.runDone
		devAudio.Close()
		hostAudio.Close()
	})
	if ev := r.next(); ev.Kind != hw.State || ev.State != want {
		t.Fatalf("first event = %+v, want State %q", ev, want)
	}
	return r
}

// wait waits for Run to return and returns its error.
func (r *rig) wait() error {
	<-r.runDone
	return r.runErr
}

// next returns the next event, failing the test if none comes within a minute (of bubble time).
func (r *rig) next() hw.Event {
	r.t.Helper()
	select {
	case ev, ok := <-r.q.Events():
		if !ok {
			r.t.Fatal("events closed")
		}
		return ev
	case <-time.After(time.Minute):
		r.t.Fatal("no event within a minute")
	}
	return hw.Event{}
}

// quiet fails the test if an event is waiting once every goroutine has settled.
func (r *rig) quiet() {
	r.t.Helper()
	time.Sleep(time.Millisecond) // lets timers that are due fire
	synctest.Wait()
	select {
	case ev, ok := <-r.q.Events():
		if ok {
			r.t.Fatalf("unexpected event %+v", ev)
		}
	default:
	}
}

func (r *rig) push(lines ...string) {
	r.t.Helper()
	if err := r.m.Push(lines...); err != nil {
		r.t.Fatal(err)
	}
}

// ring plays one ring of an incoming call with caller ID, as the EC25 sends it.
func (r *rig) ring(number string) {
	r.t.Helper()
	r.push("RING", `+CLIP: "`+number+`",145,,,,0`, `+QIND: "ccinfo",1,1,4,0,0,"`+number+`",145`)
}

// answer rings once and answers, returning the call's audio.
func (r *rig) answer(number string) hw.Audio {
	r.t.Helper()
	r.ring(number)
	if ev := r.next(); ev.Kind != hw.Ring {
		r.t.Fatalf("event = %+v, want Ring", ev)
	}
	r.m.On("ATA", "OK", `+QIND: "ccinfo",1,1,0,0,0,"`+number+`",145`)
	a, err := r.q.Answer(context.Background())
	if err != nil {
		r.t.Fatalf("Answer: %v", err)
	}
	if ev := r.next(); ev.Kind != hw.Connected {
		r.t.Fatalf("event = %+v, want Connected", ev)
	}
	return a
}

// testFrame is a recognisable 320-byte frame.
func testFrame(n byte) []byte {
	f := make([]byte, frameBytes)
	for i := range f {
		f[i] = n + byte(i)
	}
	return f
}

// sendFrame plays one frame from the modem to the host. It may run on any goroutine.
func (r *rig) sendFrame(f []byte) {
	r.t.Helper()
	if _, err := r.audio.Write(f); err != nil {
		r.t.Errorf("modem audio write: %v", err)
	}
}

// checkWrite writes a frame through a and checks that the modem received it.
func (r *rig) checkWrite(a hw.Audio, f []byte) {
	r.t.Helper()
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, frameBytes)
		if _, err := io.ReadFull(r.audio, b); err != nil {
			got <- nil
			return
		}
		got <- b
	}()
	if err := a.WriteFrame(f); err != nil {
		r.t.Fatalf("WriteFrame: %v", err)
	}
	if b := <-got; !bytes.Equal(b, f) {
		r.t.Fatalf("modem received %x..., want %x...", b[:8], f[:8])
	}
}
