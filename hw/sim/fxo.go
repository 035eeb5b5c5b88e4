package sim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"hotline/voice"
)

// FXOHangup is how the simulated analog line shows that the caller hung up during a call.
type FXOHangup int

const (
	// HangupLoopBreak: the modem reports a loop-current break, <DLE>l.
	HangupLoopBreak FXOHangup = iota
	// HangupBusy: the exchange plays busy tone and the modem reports <DLE>b.
	HangupBusy
	// HangupSilence: nothing is reported; the line just goes silent (0x80 samples), as on
	// Conexant parts that ignore AT+VSD.
	HangupSilence
)

// FXOOptions are the analog line's own settings. The zero value is a Conexant modem on a line
// that sends caller ID "NMBR=..." between the first and second ring and drops the loop when
// the caller hangs up.
type FXOOptions struct {
	// CIDSpaced sends "NMBR = ..." (with spaces) instead of "NMBR=...".
	CIDSpaced bool
	// CIDBeforeRing sends caller ID before the first RING, as UK (BT) lines do.
	CIDBeforeRing bool
	// Hangup is how the caller's hang-up shows during a call.
	Hangup FXOHangup
}

// DLE codes of the simulated voice modem.
const (
	simDLE = 0x10
	simETX = 0x03
)

// Identity of the simulated analog modem.
const fxoModel = "CX93001-EIS_V0.2002-V92"

// vsmListing is the answer to AT+VSM=? (V.253 form). Only method 1 is simulated.
var vsmListing = []string{
	`0,"SIGNED PCM",8,0,(7200,8000,11025),(0),(0)`,
	`1,"UNSIGNED PCM",8,0,(7200,8000,11025),(0),(0)`,
	`129,"IMA ADPCM",4,0,(7200,8000,11025),(0),(0)`,
}

// FXO is a simulated Conexant-like analog voice modem (V.253) on one pseudo-terminal that
// carries both AT commands and voice data. Create it with NewFXO, serve it with Run, place
// calls into it with Call, and Close it when done.
//
// The port echoes until ATE0. It takes AT, ATZ (echo on, caller ID off, data class), ATE, ATI,
// ATH, AT&F, S-registers, AT+FCLASS (8 is voice), AT+VCID, AT+VSM (=? lists signed and unsigned
// 8-bit PCM and IMA ADPCM; only 1,8000 is simulated), AT+VSD, AT+VIT, AT+VGT, AT+VGR, AT+VNH,
// AT+IFC, AT+VLS (1: off hook, with a ringing call it is answered; 0: on hook) and AT+VTR
// (full duplex: CONNECT, then 8-bit unsigned PCM at 8000 samples/s both ways, paced by the
// modem every 20 ms, every 0x10 doubled). In data mode <DLE>^ or <DLE>! end voice data: the
// modem sends <DLE><ETX> and OK. The caller's keys are tones in the audio and, with
// Options.ToneReports, <DLE>digit events. The caller's hang-up shows as FXOOptions.Hangup says.
// Caller ID (DATE=, TIME=, NMBR=, NAME=) follows AT+VCID=1. In voice mode ATDT<number>[;]
// goes off hook and dials a virtual callee (see the package documentation): VCON at once, then
// the call's progress tones and voice in the voice data after AT+VTR.
type FXO struct {
	line
	fx FXOOptions
	p  *port

	// Guarded by line.mu.
	echo     bool
	vcid     bool
	fclass   int
	vsm      int
	offHook  bool
	data     bool // in AT+VTR data mode
	rings    int
	cidTimer *time.Timer
	out      []byte
	txq      chan voice.Frame // the caller's frames, sent by the pacer
	// paceLate counts the underruns the pacer caused since the call began: its ticks came
	// late (a starved process) and the box saw no data for more than 60 ms (Result.LateFrames).
	paceLate int
	vcon     bool            // the command line dialled: VCON rather than OK
	tone     progressTone    // the exchange's call-progress tone, when no one speaks
	toneAt   int             // samples of the tone's cycle played
	bgCtx    context.Context // Run's context while it serves

	callees *Callees
	bg      sync.WaitGroup // the virtual callees of dialled calls
}

var _ network = (*FXO)(nil)

// NewFXO creates the pseudo-terminal of a simulated analog voice modem; at most one FXOOptions
// may follow. The modem answers nothing until Run serves it.
func NewFXO(opts Options, fx ...FXOOptions) (*FXO, error) {
	if len(fx) > 1 {
		return nil, errors.New("sim: NewFXO takes at most one FXOOptions")
	}
	m := &FXO{echo: true, vsm: 1, txq: make(chan voice.Frame, 8)}
	log := m.setUp(&opts, "fxo")
	p, err := openPort()
	if err != nil {
		return nil, fmt.Errorf("sim %s: port: %w", opts.ID, err)
	}
	m.log = log.With("modem", opts.ID, "port", p.path)
	m.callees = opts.Callees
	if m.callees == nil {
		m.callees = NewCallees()
	}
	m.p = p
	m.releaseByCaller = m.releaseCall
	if len(fx) == 1 {
		m.fx = fx[0]
	}
	return m, nil
}

// ATPath is the path the box opens: AT commands and voice data share it.
func (m *FXO) ATPath() string { return m.p.path }

// AudioPath is empty: an analog voice modem has no separate audio port.
func (m *FXO) AudioPath() string { return "" }

// Close removes the pseudo-terminal and waits for a running Run.
func (m *FXO) Close() error { return m.shut(m.stopCID, m.p.close) }

// stopCID cancels caller ID that is still to come; m.mu is held.
func (m *FXO) stopCID() {
	if m.cidTimer != nil {
		m.cidTimer.Stop()
	}
}

// Call rings the modem as a caller with script c; see EC25.Call.
func (m *FXO) Call(ctx context.Context, c Caller) (Result, error) { return callInto(ctx, m, c) }

// Run serves the modem until ctx ends or it is closed.
func (m *FXO) Run(ctx context.Context) error {
	if err := m.enter(); err != nil {
		return err
	}
	defer m.leave(m.stopCID)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { m.p.master.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	m.mu.Lock()
	m.bgCtx = ctx
	m.mu.Unlock()
	var wg sync.WaitGroup
	var err error
	wg.Go(func() {
		err = m.serve(ctx)
		cancel()
	})
	wg.Go(func() { m.pace(ctx) })
	wg.Wait()
	m.mu.Lock()
	m.bgCtx = nil
	m.mu.Unlock()
	cancel()
	m.bg.Wait()
	return err
}

// serve reads the port: command lines in command mode, the box's voice data in data mode.
func (m *FXO) serve(ctx context.Context) error {
	buf := make([]byte, 1024)
	line := make([]byte, 0, 256)
	var (
		frame   [voice.FrameSamples]byte
		have    int
		f       voice.Frame
		pendDLE bool
	)
	for {
		n, err := m.p.master.Read(buf)
		p := buf[:n]
		for len(p) > 0 {
			m.mu.Lock()
			data := m.data
			m.mu.Unlock()
			if data {
				i := 0
				for ; i < len(p); i++ {
					b := p[i]
					if pendDLE {
						pendDLE = false
						if b == '^' || b == '!' {
							m.leaveData()
							i++
							break
						}
						if b != simDLE {
							continue // <DLE><ETX>, <DLE><CAN> and others: nothing to play
						}
					} else if b == simDLE {
						pendDLE = true
						continue
					}
					frame[have] = b
					have++
					if have == len(frame) {
						have = 0
						voice.DecodeU8(f[:], frame[:])
						m.mu.Lock()
						if cs := m.call; cs != nil && cs.stat == statActive {
							select {
							case cs.frames <- f:
							default:
							}
						}
						m.mu.Unlock()
					}
				}
				p = p[i:]
				continue
			}
			have, pendDLE = 0, false
			i := 0
			for ; i < len(p); i++ {
				b := p[i]
				if b == '\r' {
					m.handleLine(line, p[:i+1])
					line = line[:0]
					i++
					break
				}
				line = editLine(line, b)
			}
			if i == len(p) && (len(p) == 0 || p[len(p)-1] != '\r') {
				m.mu.Lock()
				if m.echo {
					m.write(p)
				}
				m.mu.Unlock()
			}
			p = p[i:]
		}
		if err != nil {
			return readErr(ctx, "port", err)
		}
	}
}

// write sends p to the box; m.mu is held.
func (m *FXO) write(p []byte) { m.send(m.p.master, p, "output dropped") }

func (m *FXO) writeLines(lines ...string) {
	var b []byte
	for _, l := range lines {
		b = append(b, "\r\n"...)
		b = append(b, l...)
		b = append(b, "\r\n"...)
	}
	m.write(b)
}

// leaveData ends voice data at the box's request.
func (m *FXO) leaveData() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.data {
		return
	}
	m.data = false
	m.write([]byte{simDLE, simETX, '\r', '\n', 'O', 'K', '\r', '\n'})
	m.log.Debug("voice data ended by the box")
}

// handleLine answers one command line; echo is the part of it not echoed yet.
func (m *FXO) handleLine(line, echo []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.out = m.out[:0]
	if m.echo {
		m.out = append(m.out, echo...)
	}
	body, found := commandBody(line)
	if !found {
		if len(m.out) > 0 {
			m.write(m.out)
		}
		return
	}
	m.log.Debug("AT command", "line", string(line))
	connect := false
	m.vcon = false
	f := ok
	cmds, err := parseLine(body)
	if err != nil {
		f = fail
	}
	for _, c := range cmds {
		var conn bool
		f, conn = m.dispatch(c)
		if f.kind != finalOK {
			break
		}
		connect = connect || conn
	}
	switch {
	case f.kind != finalOK:
		m.info("ERROR")
	case connect:
		m.info("CONNECT")
		m.data = true
		m.log.Info("voice data mode")
	case m.vcon:
		m.info("VCON")
	default:
		m.info("OK")
	}
	m.write(m.out)
}

func (m *FXO) info(lines ...string) {
	for _, l := range lines {
		m.out = append(m.out, "\r\n"...)
		m.out = append(m.out, l...)
		m.out = append(m.out, "\r\n"...)
	}
}

// dispatch runs one command; connect: it starts voice data (AT+VTR).
func (m *FXO) dispatch(c command) (f final, connect bool) {
	switch c.name {
	case "Z", "&F":
		m.echo, m.vcid, m.fclass, m.vsm = true, false, 0, 1
		m.onHookLocked()
		return ok, false
	case "E":
		switch c.arg {
		case "", "0":
			m.echo = false
		case "1":
			m.echo = true
		default:
			return fail, false
		}
		return ok, false
	case "I":
		m.info(fxoModel)
		return ok, false
	case "H":
		m.onHookLocked()
		return ok, false
	case "V", "Q", "&W", "&C", "&D", "X", "L", "M", "S":
		return ok, false
	case "D":
		f := m.fxoDial(c.arg)
		m.vcon = f.kind == finalOK
		return f, false
	case "+FCLASS":
		switch c.op {
		case "?":
			m.info(fmt.Sprint(m.fclass))
		case "=?":
			m.info("0,1,1.0,2,8")
		case "=":
			switch strings.TrimSpace(c.arg) {
			case "0", "1", "1.0", "2":
				m.fclass = 0
			case "8":
				m.fclass = 8
			default:
				return fail, false
			}
		}
		return ok, false
	case "+VCID":
		switch c.op {
		case "?":
			m.info(fmt.Sprint(b2i(m.vcid)))
		case "=?":
			m.info("(0-2)")
		case "=":
			switch strings.TrimSpace(c.arg) {
			case "0":
				m.vcid = false
			case "1", "2":
				m.vcid = true
			default:
				return fail, false
			}
		}
		return ok, false
	case "+VSM":
		if m.fclass != 8 {
			return fail, false
		}
		switch c.op {
		case "=?":
			m.info(vsmListing...)
		case "?":
			m.info(fmt.Sprintf(`%d,8000,0,0`, m.vsm))
		case "=":
			args := splitArgs(c.arg)
			if args[0] != "1" || (len(args) > 1 && args[1] != "8000") {
				return fail, false
			}
			m.vsm = 1
		}
		return ok, false
	case "+VSD", "+VIT", "+VGT", "+VGR", "+VNH", "+IFC", "+VRA", "+VRN", "+VDR":
		return ok, false
	case "+VLS":
		if m.fclass != 8 {
			return fail, false
		}
		switch c.op {
		case "?":
			m.info(fmt.Sprint(b2i(m.offHook)))
			return ok, false
		case "=":
		default:
			return ok, false
		}
		switch strings.TrimSpace(c.arg) {
		case "0":
			m.onHookLocked()
		case "1":
			m.offHook = true
			if cs := m.call; cs != nil && cs.stat == statIncoming {
				cs.stat = statActive
				cs.answeredAt = time.Now()
				select {
				case cs.answered <- struct{}{}:
				default:
				}
				m.log.Info("call answered", "from", cs.from)
			}
		default:
			return fail, false
		}
		return ok, false
	case "+VTR":
		if m.fclass != 8 || !m.offHook || c.op != "" {
			return fail, false
		}
		return ok, true
	}
	return fail, false
}

// onHookLocked puts the line on hook, releasing the call if the box had it; m.mu is held.
func (m *FXO) onHookLocked() {
	m.offHook = false
	m.data = false
	m.setTone(noTone)
	cs := m.call
	if cs == nil || (cs.stat != statActive && !cs.outgoing) {
		return
	}
	m.call = nil
	select {
	case cs.hungUp <- struct{}{}:
	default:
	}
	m.log.Info("call released by the box", "from", cs.from)
}

// pace sends 20 ms of voice data every 20 ms (of call time: Options.Speed) while the modem is
// in data mode: the caller's next frame, or silence.
func (m *FXO) pace(ctx context.Context) {
	tick := time.NewTicker(m.wall(voice.FrameDuration))
	defer tick.Stop()
	var (
		f   voice.Frame
		pcm [voice.FrameSamples]byte
		out = make([]byte, 0, 2*voice.FrameSamples)
	)
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		m.mu.Lock()
		if !m.data {
			last = time.Time{}
			m.mu.Unlock()
			continue
		}
		now := time.Now()
		if !last.IsZero() {
			m.paceLate += pauseUnderruns(now.Sub(last))
		}
		last = now
		ringBurst := false
		select {
		case f = <-m.txq:
		default:
			var playing bool
			if playing, ringBurst = m.nextToneFrame(&f); !playing {
				clear(f[:])
			}
		}
		voice.EncodeU8(pcm[:], f[:])
		out = out[:0]
		if ringBurst {
			out = append(out, simDLE, 'r')
		}
		for _, b := range pcm {
			if b == simDLE {
				out = append(out, simDLE)
			}
			out = append(out, b)
		}
		m.p.master.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
		m.p.master.Write(out) // a box that does not read loses audio, as on a real port
		m.mu.Unlock()
	}
}

// The virtual caller's side (the telephone line).

func (m *FXO) startCall(from string) (*callState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cs, err := m.admit(from)
	if err != nil {
		return nil, err
	}
	m.rings, m.paceLate = 0, 0
	for range len(m.txq) {
		<-m.txq
	}
	return cs, nil
}

func (m *FXO) endCall(cs *callState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.call == cs {
		m.call = nil
	}
	m.stopCID()
	m.calling = false
}

// cidLines is the caller ID of cs as the modem formats it.
func (m *FXO) cidLines(cs *callState) []string {
	sep := "="
	if m.fx.CIDSpaced {
		sep = " = "
	}
	number, name := cs.from, "CALLER"
	if number == "" {
		number, name = "P", "PRIVATE"
	}
	now := time.Now()
	return []string{
		"DATE" + sep + now.Format("0102"),
		"TIME" + sep + now.Format("1504"),
		"NMBR" + sep + number,
		"NAME" + sep + name,
	}
}

func (m *FXO) ring(cs *callState) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.call != cs || cs.stat != statIncoming {
		return false
	}
	if m.data {
		// Still off hook in data mode from the last call: the modem reports the ring as an event.
		m.write([]byte{simDLE, 'R'})
		return true
	}
	m.rings++
	if m.rings == 1 && m.vcid && m.fx.CIDBeforeRing {
		m.writeLines(m.cidLines(cs)...)
	}
	m.writeLines("RING")
	if m.rings == 1 && m.vcid && !m.fx.CIDBeforeRing {
		// The exchange sends caller ID in the pause after the first ring.
		lines := m.cidLines(cs)
		m.cidTimer = time.AfterFunc(m.ringInterval()/2, func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.call == cs && cs.stat == statIncoming && !m.closed {
				m.writeLines(lines...)
			}
		})
	}
	return true
}

// releaseCall ends cs from the caller's side; m.mu is held. A ringing call just stops
// ringing; an answered one shows as FXOOptions.Hangup says, and the modem stays off hook in data
// mode until the box hangs up.
func (m *FXO) releaseCall(cs *callState) bool {
	if m.call != cs {
		return false
	}
	m.call = nil
	if cs.stat == statActive && m.data {
		switch m.fx.Hangup {
		case HangupLoopBreak:
			m.write([]byte{simDLE, 'l'})
		case HangupBusy:
			m.write([]byte{simDLE, 'b'})
			m.setTone(busyTone)
		}
	}
	m.log.Info("call released by the caller", "from", cs.from)
	return true
}

func (m *FXO) toneReport(cs *callState, key byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.call != cs || !m.opts.ToneReports || !m.data {
		return
	}
	m.write([]byte{simDLE, '/', simDLE, key, simDLE, '~'})
}

func (m *FXO) audioLive(cs *callState) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.call == cs && cs.stat == statActive && m.data
}

// sendFrame queues the caller's next 20 ms for the pacer; the oldest is dropped when it lags.
func (m *FXO) sendFrame(f *voice.Frame) {
	select {
	case m.txq <- *f:
		return
	default:
	}
	select {
	case <-m.txq:
	default:
	}
	select {
	case m.txq <- *f:
	default:
	}
}

func (m *FXO) audioOut() *os.File { return m.p.master }

// lateFrames is how many underruns the pacer's pauses caused in the current call.
func (m *FXO) lateFrames() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.paceLate
}
