package sim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"hotline/voice"
)

// Errors of the simulator.
var (
	// ErrClosed: the modem was closed; its ports are gone.
	ErrClosed = errors.New("sim: modem closed")
	// ErrNotRunning: Call needs Run to be serving the modem.
	ErrNotRunning = errors.New("sim: modem not running (start Run first)")
	// ErrBusy: a call is already under way on this modem; a modem carries one call at a time.
	ErrBusy = errors.New("sim: a call is already in progress on this modem")
	// ErrStopped: Run ended (its context was cancelled or the modem closed) during a call.
	ErrStopped = errors.New("sim: modem stopped during the call")
	// ErrMaxDuration: the call reached Caller.MaxDuration and the caller hung up.
	ErrMaxDuration = errors.New("sim: call reached its maximum duration")
)

// Options configures a simulated modem (EC25, SIM7600 or Huawei).
type Options struct {
	// ID names the modem in logs ("sim1"); empty means its model: "ec25", "sim7600", "huawei".
	ID string
	// Logger receives the modem's log; nil discards it.
	Logger *slog.Logger
	// ToneReports makes the modem report the caller's keys, once the box has enabled such
	// reports: +QTONEDET after AT+QTONEDET=1 (EC25), +RXDTMF after AT+DDET=1 (SIM7600),
	// ^DDTMF after AT^DDTMFCFG=0,1 (Huawei). Without it the keys exist only as tones in the
	// audio.
	ToneReports bool
	// RingInterval is the time between two rings of an incoming call; 0 means 3 s.
	RingInterval time.Duration
	// Garbage makes the AT port emit stray lines and binary junk now and then, between replies
	// and URCs, as flaky modems do.
	Garbage bool
	// NoVoice simulates a Huawei dongle whose firmware has no voice: AT^CVOICE? and
	// AT^DDSETEX=2 answer ERROR. The other modems ignore it.
	NoVoice bool
}

// Call states as +CLCC and +QIND "ccinfo" report them.
const (
	statActive   = 0
	statIncoming = 4
)

// EC25 is a simulated Quectel EC25 on two pseudo-terminals. Create it with NewEC25, serve it with
// Run, place calls into it with Call, and Close it when done.
type EC25 struct {
	opts Options
	log  *slog.Logger
	at   *port
	pcm  *port
	imei string

	closeOnce sync.Once
	closeErr  error
	runDone   chan struct{} // closed when Run returns

	// mu guards the modem state below and serialises everything written to the AT port, so a
	// reply is never split by a URC and URCs follow the state they announce.
	mu       sync.Mutex
	started  bool // Run was called
	running  bool // Run is serving
	closed   bool
	echo     bool
	cmee     int
	clip     bool
	crc      bool
	ind      map[string]bool // AT+QINDCFG switches
	toneDet  bool            // AT+QTONEDET=1
	pcmOn    bool            // AT+QPCMV=1,...
	pcmMode  int             // 0 = USB NMEA port (this audio port)
	creg     int
	cereg    int
	call     *callState // the call the network presents, until it is released
	calling  bool       // a Call is under way
	out      []byte     // AT output being assembled
	post     []string   // URCs to send after the final result of the current line
	lastLine string     // for A/ (repeat the last command line)
	sms      smsStore   // the SIM's messages and AT+CMGS in progress
}

// callState is the modem's view of the current call, shared between Call and the AT handler.
type callState struct {
	from       string
	stat       int
	answeredAt time.Time
	answered   chan struct{}    // ATA arrived (1-buffered)
	hungUp     chan struct{}    // the box hung up (1-buffered)
	frames     chan voice.Frame // what the box plays, frame by frame
}

// NewEC25 creates the two pseudo-terminals of a simulated EC25. The modem answers nothing until
// Run serves it.
func NewEC25(opts Options) (*EC25, error) {
	if opts.ID == "" {
		opts.ID = "ec25"
	}
	if opts.RingInterval <= 0 {
		opts.RingInterval = 3 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	at, err := openPort()
	if err != nil {
		return nil, fmt.Errorf("sim %s: AT port: %w", opts.ID, err)
	}
	pcm, err := openPort()
	if err != nil {
		at.close()
		return nil, fmt.Errorf("sim %s: audio port: %w", opts.ID, err)
	}
	e := &EC25{
		opts:    opts,
		log:     log.With("modem", opts.ID, "at", at.path, "audio", pcm.path),
		at:      at,
		pcm:     pcm,
		imei:    imei(opts.ID),
		runDone: make(chan struct{}),
		echo:    true,
		cmee:    1,
		ind:     map[string]bool{"ring": true, "smsincoming": true},
	}
	return e, nil
}

// ID returns the modem's name from Options.ID.
func (e *EC25) ID() string { return e.opts.ID }

// ATPath returns the path of the AT port, which the daemon opens like /dev/ttyUSB2.
func (e *EC25) ATPath() string { return e.at.path }

// AudioPath returns the path of the audio port, which the daemon opens like /dev/ttyUSB1.
func (e *EC25) AudioPath() string { return e.pcm.path }

// Run serves the modem until ctx ends or the modem is closed, and then returns nil once all its
// goroutines have stopped. It returns an error when a port fails, and ErrClosed when called on a
// closed modem. Run may be called once.
func (e *EC25) Run(ctx context.Context) error {
	e.mu.Lock()
	switch {
	case e.closed:
		e.mu.Unlock()
		return ErrClosed
	case e.started:
		e.mu.Unlock()
		return fmt.Errorf("sim %s: Run called twice", e.opts.ID)
	}
	e.started, e.running = true, true
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.running = false
		e.mu.Unlock()
		close(e.runDone)
	}()
	e.log.Info("simulated modem up")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Wake the readers when ctx ends; Close wakes them by closing the files.
	stop := context.AfterFunc(ctx, func() {
		past := time.Unix(1, 0)
		e.at.master.SetReadDeadline(past)
		e.pcm.master.SetReadDeadline(past)
	})
	defer stop()

	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() {
		errs[0] = e.serveAT(ctx)
		cancel()
	})
	wg.Go(func() {
		errs[1] = e.serveAudio(ctx)
		cancel()
	})
	if e.opts.Garbage {
		wg.Go(func() { e.sprinkle(ctx) })
	}
	wg.Wait()
	e.log.Info("simulated modem down")
	return errors.Join(errs...)
}

// Close removes the pseudo-terminals. A running Run stops, and Close waits for it. Close is
// idempotent.
func (e *EC25) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closed = true
		running := e.running
		e.mu.Unlock()
		e.closeErr = errors.Join(e.at.close(), e.pcm.close())
		if running {
			<-e.runDone
		}
	})
	return e.closeErr
}

// readErr sorts a read error of a serving loop: nil for a normal end (ctx over, modem closed).
func readErr(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
		return nil
	}
	return fmt.Errorf("sim: read %s port: %w", what, err)
}

// serveAT reads command lines from the box and answers them. With echo on, every received byte
// goes back as the real modem sends it: a line's bytes with its reply once the CR is in, and the
// start of a line that is still being typed at the end of each read.
func (e *EC25) serveAT(ctx context.Context) error {
	buf := make([]byte, 1024)
	line := make([]byte, 0, 256)
	for {
		n, err := e.at.master.Read(buf)
		seg := 0 // start of the bytes not echoed yet
		for i, b := range buf[:n] {
			if e.smsByte(b) {
				seg = i + 1 // a PDU after the "> " prompt is not echoed
				continue
			}
			switch b {
			case '\r':
				e.handleLine(line, buf[seg:i+1])
				seg = i + 1
				line = line[:0]
				continue
			case '\n':
				// S4 (line feed) is not part of a command line.
			case 0x08, 0x7f:
				// Backspace edits the line, as on the real modem.
				if len(line) > 0 {
					line = line[:len(line)-1]
				}
			default:
				if len(line) < maxLine {
					line = append(line, b)
				}
			}
			if len(line) == 2 && line[1] == '/' && (line[0] == 'a' || line[0] == 'A') {
				// A/ repeats the last command line at once, with no CR.
				e.repeatLine(buf[seg : i+1])
				seg = i + 1
				line = line[:0]
			}
		}
		if seg < n {
			e.echoBytes(buf[seg:n])
		}
		if err != nil {
			return readErr(ctx, "AT", err)
		}
	}
}

// maxLine caps a command line; the real modem's buffer is smaller still.
const maxLine = 4096

// writeAT sends p on the AT port. e.mu must be held. A box that does not read its AT port does
// not stall the modem for long: output it cannot take within a second is dropped.
func (e *EC25) writeAT(p []byte) {
	e.at.master.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := e.at.master.Write(p); err != nil && !errors.Is(err, os.ErrClosed) {
		e.log.Warn("AT output dropped", "err", err, "bytes", len(p))
	}
}

// urc sends one unsolicited result code now. e.mu must be held.
func (e *EC25) urc(text string) {
	e.writeAT([]byte("\r\n" + text + "\r\n"))
}

// serveAudio drains what the box writes on the audio port and hands it, frame by frame, to the
// call while one is up with PCM routed here.
func (e *EC25) serveAudio(ctx context.Context) error {
	var (
		buf    [4096]byte
		frame  [2 * voice.FrameSamples]byte
		have   int
		f      voice.Frame
		lastCS *callState
	)
	for {
		n, err := e.pcm.master.Read(buf[:])
		p := buf[:n]
		for len(p) > 0 {
			e.mu.Lock()
			cs := e.call
			live := cs != nil && cs.stat == statActive && e.pcmOn && e.pcmMode == 0
			e.mu.Unlock()
			if !live {
				have = 0
				break // not in a call: the box's audio goes nowhere
			}
			if cs != lastCS {
				lastCS, have = cs, 0
			}
			c := copy(frame[have:], p)
			have += c
			p = p[c:]
			if have < len(frame) {
				break
			}
			have = 0
			decodeFrame(&f, &frame)
			select {
			case cs.frames <- f:
			default: // the caller is not keeping up; the line drops audio
			}
		}
		if err != nil {
			return readErr(ctx, "audio", err)
		}
	}
}

// decodeFrame turns 320 bytes of s16le into a frame.
func decodeFrame(f *voice.Frame, b *[2 * voice.FrameSamples]byte) {
	for i := range f {
		f[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
	}
}

// encodeFrame turns a frame into 320 bytes of s16le.
func encodeFrame(b *[2 * voice.FrameSamples]byte, f *voice.Frame) {
	for i, s := range f {
		b[2*i] = byte(uint16(s))
		b[2*i+1] = byte(uint16(s) >> 8)
	}
}

// garbageLines are stray lines seen from flaky modems. None of them is a final result or a call
// URC, so a sound driver can skip them.
var garbageLines = []string{
	`+QIND: "csq",23,99`,
	`+QUSIM: 1`,
	`+QIND: SMS DONE`,
	`+QIND: PB DONE`,
	`+CGEV: ME PDN ACT 1`,
	`#&@!%`,
	``,
}

// sprinkle writes garbage on the AT port at random moments until ctx ends.
func (e *EC25) sprinkle(ctx context.Context) {
	seed := fnv.New64a()
	seed.Write([]byte(e.opts.ID))
	rng := rand.New(rand.NewPCG(seed.Sum64(), 0x5eed))
	t := time.NewTimer(0)
	defer t.Stop()
	junk := make([]byte, 0, 64)
	for {
		t.Reset(time.Duration(100+rng.IntN(400)) * time.Millisecond)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		junk = junk[:0]
		switch rng.IntN(3) {
		case 0: // a line of binary noise: NULs and high bytes, never CR or LF
			junk = append(junk, "\r\n"...)
			for range 1 + rng.IntN(24) {
				b := byte(0x80 + rng.IntN(0x80))
				if rng.IntN(4) == 0 {
					b = 0
				}
				junk = append(junk, b)
			}
			junk = append(junk, "\r\n"...)
		case 1: // a stray line
			junk = append(junk, "\r\n"...)
			junk = append(junk, garbageLines[rng.IntN(len(garbageLines))]...)
			junk = append(junk, "\r\n"...)
		default: // bare line ends
			junk = append(junk, "\r\n\r\n"[:2+2*rng.IntN(2)]...)
		}
		e.mu.Lock()
		if !e.closed {
			e.at.master.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			e.at.master.Write(junk) // dropping garbage is fine
		}
		e.mu.Unlock()
	}
}

// imei derives a stable, Luhn-valid IMEI from the modem's ID.
func imei(id string) string {
	h := fnv.New64a()
	h.Write([]byte(id))
	digits := fmt.Sprintf("86%012d", h.Sum64()%1e12)
	sum := 0
	for i := range len(digits) {
		d := int(digits[i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return digits + string(rune('0'+(10-sum%10)%10))
}

// The virtual caller's view of the EC25 (network).

func (e *EC25) answerTime(cs *callState) time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return cs.answeredAt
}

func (e *EC25) audioOut() *os.File          { return e.pcm.master }
func (e *EC25) stopped() <-chan struct{}    { return e.runDone }
func (e *EC25) ringInterval() time.Duration { return e.opts.RingInterval }

var _ network = (*EC25)(nil)
