// Package modem is the AT command channel to a modem on a serial port: it splits what the modem
// sends into lines, matches replies to the one command in flight, hands unsolicited result codes
// (URCs) to their consumer, and times commands out. It knows no modem dialect; the dialects in
// hw/gsm and hw/fxo sit on top of it and tell it which lines are URCs.
//
// # Concepts
//
// A [Channel] has exactly one reader, [Channel.Run], which its owner runs in a goroutine for as
// long as the port is in use, and one writer at a time: [Channel.Command] callers queue. A reply
// is the information lines of a command followed by a final result code (OK, ERROR, +CME ERROR,
// NO CARRIER, ...). Lines that are not part of a reply are URCs and go to [Channel.URCs].
//
// Ports are plain io.ReadWriters. If a port also has SetReadDeadline (net.Conn, *os.File on a
// pollable descriptor, and the [Port] that [OpenPort] returns), Run can stop a pending read when
// its context ends; otherwise Run returns only once the read returns, so close the port.
package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// urcBuffer is how many URCs wait for the consumer before the oldest are dropped.
	urcBuffer = 64
	// maxReplyLines caps the information lines kept for one command.
	maxReplyLines = 256
	// defaultTimeout applies when neither the call nor Options give one.
	defaultTimeout = 3 * time.Second
	// noiseLogEvery spaces the warnings about dropped lines.
	noiseLogEvery = time.Minute
)

// ErrTimeout is wrapped by the error of a command that got no final result in time.
var ErrTimeout = errors.New("no final result from the modem in time")

// ErrClosed is wrapped by the error of a command when the channel's reader has stopped (its
// context ended or the port failed).
var ErrClosed = errors.New("AT channel closed")

// Options tune a Channel. The zero value works.
type Options struct {
	// Logger receives the traffic at debug level and garbage, drops and overruns as warnings.
	// Nil discards.
	Logger *slog.Logger
	// IsURC tells the dialect's unsolicited result codes ("+CLIP: ...", "+QIND: ...") from
	// information lines while a command is in flight. RING and NO CARRIER need not be listed.
	// Lines that begin with the pending command's own name ("+CLCC:" while AT+CLCC runs) are
	// always taken as the reply. Nil means only RING and NO CARRIER interrupt a reply.
	IsURC func(line string) bool
	// DefaultTimeout applies to Command calls with a zero timeout. Zero means 3 s.
	DefaultTimeout time.Duration
	// IsFinalOK names extra result codes that end a command in flight successfully, beyond OK
	// and CONNECT (VCON, which a voice modem may give for AT+VLS=1). Nil means none.
	IsFinalOK func(line string) bool
}

// Response is the modem's complete reply to one command.
type Response struct {
	Lines []string // information lines, in order, without echo and URCs
	Final string   // the final result code: "OK", "ERROR", "+CME ERROR: 10", "CONNECT", ...
}

// CommandError reports a command that ended in an error result (ERROR, +CME ERROR: x,
// +CMS ERROR: x, NO CARRIER, BUSY, NO ANSWER, NO DIALTONE).
type CommandError struct {
	Cmd   string // the command as sent, without CR
	Final string // the final result code
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("modem: %s: %s", e.Cmd, e.Final)
}

// Channel is the AT channel on one port.
type Channel struct {
	port       io.ReadWriter
	log        *slog.Logger
	isURC      func(string) bool
	isFinalOK  func(string) bool
	defTimeout time.Duration

	writer  chan struct{} // holds a token while a command is in flight
	urcs    chan string
	done    chan struct{} // closed when Run returns
	started atomic.Bool
	// Used by Run only.
	split       splitter
	noise       int       // lines dropped since the last warning
	noiseLogged time.Time // when that warning was logged

	mu      sync.Mutex
	pending *pendingCmd
	err     error // why Run stopped, set before done is closed
}

// pendingCmd is the command in flight and the reply gathered so far.
type pendingCmd struct {
	info      cmdInfo
	lines     []string
	truncated bool
	result    chan Response // capacity 1, written once under Channel.mu
	// prompt is closed when the modem's "> " prompt arrived; nil for commands without data.
	prompt   chan struct{}
	prompted bool
}

// New returns a channel on port. Nothing is read until Run runs.
func New(port io.ReadWriter, opts Options) *Channel {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := opts.DefaultTimeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	return &Channel{
		port:       port,
		log:        log,
		isURC:      opts.IsURC,
		isFinalOK:  opts.IsFinalOK,
		defTimeout: timeout,
		writer:     make(chan struct{}, 1),
		urcs:       make(chan string, urcBuffer),
		done:       make(chan struct{}),
	}
}

// URCs delivers unsolicited result codes in order. It is buffered; when the consumer lags the
// oldest waiting URC is dropped (and logged) rather than stalling the reader. The channel is
// closed when Run returns.
func (c *Channel) URCs() <-chan string { return c.urcs }

// Done is closed when Run has returned.
func (c *Channel) Done() <-chan struct{} { return c.done }

type readDeadliner interface {
	SetReadDeadline(t time.Time) error
}

type writeDeadliner interface {
	SetWriteDeadline(t time.Time) error
}

// Run is the channel's reader: it reads the port until ctx ends (then it returns nil) or a read
// fails (then it returns that error, wrapped). Commands in flight fail at once with ErrClosed,
// and so does every later command. Run may be called once.
func (c *Channel) Run(ctx context.Context) (err error) {
	if !c.started.CompareAndSwap(false, true) {
		return errors.New("modem: Run called twice")
	}
	defer func() {
		cause := ErrClosed
		if err != nil {
			cause = fmt.Errorf("%w: %w", ErrClosed, err)
		}
		c.mu.Lock()
		c.err = cause
		c.mu.Unlock()
		close(c.urcs)
		close(c.done)
	}()

	if d, ok := c.port.(readDeadliner); ok && d.SetReadDeadline(time.Time{}) == nil {
		stop := context.AfterFunc(ctx, func() {
			if err := d.SetReadDeadline(time.Now()); err != nil {
				c.log.Warn("modem: cannot interrupt read", "err", err)
			}
		})
		defer stop()
	}

	var buf [512]byte
	for {
		n, rerr := c.port.Read(buf[:])
		if n > 0 {
			c.split.feed(buf[:n], c.handleLine)
			c.checkPrompt()
		}
		if ctx.Err() != nil {
			return nil
		}
		if rerr != nil {
			if errors.Is(rerr, os.ErrDeadlineExceeded) {
				// Someone else moved the deadline; keep reading.
				c.log.Warn("modem: unexpected read deadline on the AT port")
				if d, ok := c.port.(readDeadliner); ok {
					_ = d.SetReadDeadline(time.Time{})
				}
				continue
			}
			return fmt.Errorf("modem: read: %w", rerr)
		}
	}
}

// handleLine routes one line from the splitter.
func (c *Channel) handleLine(text []byte, fault lineFault) {
	if fault != lineOK {
		c.dropped(text, fault)
		return
	}
	line := string(text)

	c.mu.Lock()
	p := c.pending
	var info *cmdInfo
	if p != nil {
		info = &p.info
	}
	role := classify(line, info, c.isURC)
	if p != nil && role != roleEcho && role != roleFinal && c.isFinalOK != nil && c.isFinalOK(line) {
		role = roleFinal
	}
	switch role {
	case roleEcho:
		p.info.echoSeen = true
	case roleInfo:
		if len(p.lines) < maxReplyLines {
			p.lines = append(p.lines, line)
		} else if !p.truncated {
			p.truncated = true
			c.log.Warn("modem: reply too long, dropping lines", "cmd", p.info.cmd)
		}
	case roleFinal:
		p.result <- Response{Lines: p.lines, Final: line}
		c.pending = nil
	}
	c.mu.Unlock()

	shown := line
	if role == roleEcho && info != nil && info.shown != "" {
		shown = info.shown // the echo of a secret command
	}
	c.log.Debug("modem <-", "text", shown, "role", role.String())
	switch role {
	case roleURC:
		c.pushURC(line)
	case roleStray:
		c.log.Info("modem: dropped line with no command waiting", "text", line)
	}
}

// dropped logs a rejected line: each at debug level, and a warning with the count at most once
// a minute, so a noisy port does not flood the log.
func (c *Channel) dropped(text []byte, fault lineFault) {
	c.log.Debug("modem: dropped line", "fault", fault.String(), "bytes", len(text), "start", quoteStart(text))
	c.noise++
	if now := time.Now(); now.Sub(c.noiseLogged) >= noiseLogEvery {
		c.log.Warn("modem: dropped unreadable lines", "count", c.noise, "last", fault.String(), "start", quoteStart(text))
		c.noise = 0
		c.noiseLogged = now
	}
}

// pushURC queues a URC, dropping the oldest one if the consumer lags. Only Run sends on urcs,
// so after a drop there is room.
func (c *Channel) pushURC(line string) {
	for {
		select {
		case c.urcs <- line:
			return
		default:
		}
		select {
		case old := <-c.urcs:
			c.log.Warn("modem: URC consumer lags, dropped oldest URC", "urc", old)
		default:
		}
	}
}

// Command sends cmd (without the trailing CR) and waits for its final result, at most timeout
// (zero: the channel's default) once it is this caller's turn to write; ctx bounds the whole
// call including the wait in the queue. An error result returns the reply and a *CommandError;
// no result in time returns an error wrapping ErrTimeout; a stopped reader, an error wrapping
// ErrClosed.
func (c *Channel) Command(ctx context.Context, cmd string, timeout time.Duration) (Response, error) {
	return c.do(ctx, cmd, "", nil, timeout)
}

// CommandRedacted is Command for a command that holds a secret (AT+CPIN="1234"): shown stands
// for cmd in the log, in the modem's echo as logged, and in every error returned, so the secret
// never leaves the channel.
func (c *Channel) CommandRedacted(ctx context.Context, cmd, shown string, timeout time.Duration) (Response, error) {
	if shown == "" {
		shown = "AT<redacted>"
	}
	return c.do(ctx, cmd, shown, nil, timeout)
}

// CommandPrompt sends a command that takes data after the modem's "> " prompt (AT+CMGS=<len>):
// it sends cmd, waits for the prompt, sends data followed by Ctrl-Z (0x1A) and waits for the
// final result, all within timeout. data must not hold CR, LF, Ctrl-Z or ESC. If the modem
// answers with a final result instead of the prompt (ERROR, +CMS ERROR), that is the result.
// If the prompt does not come in time or ctx ends while the modem waits for data, ESC (0x1B) is
// sent to cancel it. Errors are as for Command. The data is logged by its length only.
func (c *Channel) CommandPrompt(ctx context.Context, cmd, data string, timeout time.Duration) (Response, error) {
	if strings.ContainsAny(data, "\r\n\x1a\x1b") {
		return Response{}, fmt.Errorf("modem: %s: data holds control characters", cmd)
	}
	return c.do(ctx, cmd, "", &data, timeout)
}

// do runs one command; shown, when not empty, replaces cmd in logs and errors; data, when not
// nil, is sent after the prompt.
func (c *Channel) do(ctx context.Context, cmd, shown string, data *string, timeout time.Duration) (Response, error) {
	name := cmd
	if shown != "" {
		name = shown
	}
	if cmd == "" || strings.ContainsAny(cmd, "\r\n") {
		return Response{}, fmt.Errorf("modem: invalid command %q", name)
	}
	if timeout <= 0 {
		timeout = c.defTimeout
	}
	select {
	case c.writer <- struct{}{}:
	case <-ctx.Done():
		return Response{}, fmt.Errorf("modem: %s: waiting to send: %w", name, context.Cause(ctx))
	case <-c.done:
		return Response{}, c.closedErr(name)
	}
	release := true // the writer slot is given back at return, unless a late reply is awaited
	defer func() {
		if release {
			<-c.writer
		}
	}()
	select {
	case <-c.done:
		return Response{}, c.closedErr(name)
	default:
	}

	p := &pendingCmd{info: newCmdInfo(cmd), result: make(chan Response, 1)}
	p.info.shown = shown
	var prompt <-chan struct{}
	if data != nil {
		p.prompt = make(chan struct{})
		prompt = p.prompt
	}
	c.mu.Lock()
	c.pending = p
	c.mu.Unlock()

	deadline := time.Now().Add(timeout)
	timer := time.NewTimer(timeout)
	defer func() {
		if release {
			timer.Stop()
		}
	}()
	c.log.Debug("modem ->", "cmd", name)
	if err := c.write(cmd+"\r", deadline); err != nil {
		c.abandon(p)
		return Response{}, fmt.Errorf("modem: send %s: %w", name, err)
	}
	// cancelPrompt sends ESC while the data is not sent, in case the modem sits at its prompt.
	cancelPrompt := func() {
		if data != nil {
			if err := c.write("\x1b", time.Now().Add(time.Second)); err != nil {
				c.log.Warn("modem: cannot cancel the data prompt", "cmd", name, "err", err)
			}
		}
	}
	for {
		select {
		case r := <-p.result:
			return finish(name, r)
		case <-prompt:
			prompt = nil
			c.log.Debug("modem -> data", "cmd", name, "bytes", len(*data))
			if err := c.write(*data+"\x1a", deadline); err != nil {
				c.abandon(p)
				return Response{}, fmt.Errorf("modem: send %s data: %w", name, err)
			}
			data = nil
		case <-timer.C:
			if r, ok := c.abandon(p); ok {
				return finish(name, r)
			}
			cancelPrompt()
			return Response{}, fmt.Errorf("modem: %s: %w (waited %v)", name, ErrTimeout, timeout)
		case <-ctx.Done():
			select {
			case r := <-p.result:
				return finish(name, r)
			default:
			}
			if data != nil {
				if r, ok := c.abandon(p); ok {
					return finish(name, r)
				}
				cancelPrompt()
				return Response{}, fmt.Errorf("modem: %s: %w", name, context.Cause(ctx))
			}
			// The caller goes, but the modem still owes this command its final result: the next
			// command waits for it (or for this command's timeout), so that a late OK is not
			// taken as the next command's answer. The goroutine ends by then at the latest.
			release = false
			go func() {
				defer func() { <-c.writer }()
				select {
				case <-p.result:
				case <-timer.C:
					c.abandon(p)
				case <-c.done:
				}
			}()
			return Response{}, fmt.Errorf("modem: %s: %w", name, context.Cause(ctx))
		case <-c.done:
			return Response{}, c.closedErr(name)
		}
	}
}

// checkPrompt notices the "> " prompt, which ends no line, while a command waits for it. Only
// Run calls it.
func (c *Channel) checkPrompt() {
	if c.split.n == 0 {
		return
	}
	if t := trimSpace(c.split.buf[:c.split.n]); len(t) != 1 || t[0] != '>' {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.pending; p != nil && p.prompt != nil && !p.prompted {
		p.prompted = true
		close(p.prompt)
		c.split.n = 0
		c.log.Debug("modem <-", "text", "> ", "role", "prompt")
	}
}

// write sends text (a command with its CR, or data) in one write, bounded by deadline when the
// port supports it.
func (c *Channel) write(text string, deadline time.Time) error {
	buf := []byte(text)
	if d, ok := c.port.(writeDeadliner); ok && d.SetWriteDeadline(deadline) == nil {
		defer d.SetWriteDeadline(time.Time{})
	}
	_, err := c.port.Write(buf)
	return err
}

// abandon stops waiting for p. If the reply completed in the meantime, it is returned.
func (c *Channel) abandon(p *pendingCmd) (Response, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == p {
		c.pending = nil
		return Response{}, false
	}
	select {
	case r := <-p.result:
		return r, true
	default:
		return Response{}, false
	}
}

func (c *Channel) closedErr(cmd string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.err
	if err == nil {
		err = ErrClosed
	}
	return fmt.Errorf("modem: %s: %w", cmd, err)
}

// finish turns a complete reply into Command's result.
func finish(cmd string, r Response) (Response, error) {
	if classifyFinal(r.Final) == finalError {
		return r, &CommandError{Cmd: cmd, Final: r.Final}
	}
	return r, nil
}

// quoteStart renders the first bytes of a rejected line for the log.
func quoteStart(b []byte) string {
	const max = 48
	if len(b) > max {
		b = b[:max]
	}
	return fmt.Sprintf("%q", b)
}
