package switchboard

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"sync/atomic"
	"time"

	"hotline/hw"
	"hotline/voice"
	"hotline/voice/dtmf"
)

// mergeFrames is how close (in frames) a digit from the modem's own detector and the same digit
// from the in-band receiver must be to count as one key press: 200 ms.
const mergeFrames = 10

// hangupGrace is the end of a call (in frames) whose underruns are not counted: the time a
// modem may take to report the caller's hang-up after the audio stopped, 1 s. At most 64.
const hangupGrace = 50

// recordPool is how many frames may wait for the recorder (5.12 s of call time, 80 KiB per
// call) before the pump drops audio: an SD card's fsync can stall the recorder for a second or
// more, and at the soak's accelerated clock the same pool lasts a fifth of that on the wall.
const recordPool = 256

// keyPress is one key the caller pressed, stamped with the frame it was heard in.
type keyPress struct {
	key   byte
	frame int64
}

// pump moves a call's audio: it reads a frame from the line, listens for keys, hands frames to the
// recorder when asked, and writes the next frame of the current prompt (or silence) back. It is
// the only code on the 20 ms path and allocates nothing per frame.
type pump struct {
	audio hw.Audio
	dec   func(dst []int16, src []byte)
	enc   func(dst []byte, src []int16)
	rx    *dtmf.Receiver

	in, out []byte
	frame   voice.Frame
	outPCM  voice.Frame

	// from the flow
	play     chan []int16 // a prompt to play from its start; nil stops playback
	modemKey chan byte    // keys reported by the device itself
	record   atomic.Bool

	// to the flow
	keys     chan byte         // merged key presses
	played   chan struct{}     // the current prompt has finished
	recorded chan *voice.Frame // frames while recording
	free     chan *voice.Frame // recorder returns frames here

	// state
	prompt    []int16
	pos       int
	frames    int64
	lastKey   keyPress
	lastFrom  int // 1 = in-band, 2 = modem
	underruns atomic.Int64
	dropped   atomic.Int64
	// A deadline miss is a frame the box itself took longer than budget to answer: from the
	// moment the line's driver had it (hw.FrameWaiter) through the pump's work to the written
	// reply. The line's own pauses are underruns, never misses. slowest is the longest such
	// time in the call, in nanoseconds.
	waiter  hw.FrameWaiter // nil: the time from ReadFrame's return is judged
	budget  time.Duration
	misses  atomic.Int64
	slowest atomic.Int64
	// missed holds the first misses of the call (when each reply was written, how long the
	// frame took), for the log: read once run has returned.
	missed [maxMissesLogged]deadlineMiss
	// An underrun is a frame the line did not deliver on its clock while its audio flowed.
	// Before the first frame there is no clock to miss (a SIM7600 switches its PCM on a few
	// hundred ms after the answer): those silent frames wait in early, and are counted at the
	// end only if no frame ever came. The last second of a call is not judged either: the
	// audio stops with the call before the hang-up is reported (recent holds one bit per
	// frame, newest lowest, set for an underrun; sinceFlow counts the frames since the first).
	flowing   bool
	early     int64
	recent    uint64
	sinceFlow int64
	// gap counts the underruns in a row now and longestGap the most in a row, for the record
	// of a call whose audio stopped coming (read once run has returned).
	gap, longestGap int64
	// bridged: what is heard goes to peer.hear, what peer.say holds is played
	peer atomic.Pointer[peer]
	// tap gets both sides mixed, for recording a conversation
	tap atomic.Pointer[frameQueue]
	mix voice.Frame
}

// link bridges the pump with a peer (nil: back to prompts and silence).
func (p *pump) link(pr *peer) { p.peer.Store(pr) }

// newPump makes the pump of one call's audio; budget is the wall-clock time the box has to
// answer each frame (20 ms, shorter on a clock run faster).
func newPump(a hw.Audio, modemKey chan byte, budget time.Duration) (*pump, error) {
	f := a.Format()
	waiter, _ := a.(hw.FrameWaiter)
	p := &pump{
		audio:    a,
		waiter:   waiter,
		budget:   budget,
		rx:       dtmf.NewReceiver(),
		in:       make([]byte, f.FrameBytes()),
		out:      make([]byte, f.FrameBytes()),
		play:     make(chan []int16, 1),
		modemKey: modemKey,
		keys:     make(chan byte, 32),
		played:   make(chan struct{}, 1),
		recorded: make(chan *voice.Frame, recordPool),
		free:     make(chan *voice.Frame, recordPool),
		lastKey:  keyPress{frame: -1000},
	}
	for range recordPool {
		p.free <- new(voice.Frame)
	}
	switch f {
	case hw.S16LE:
		p.dec, p.enc = voice.DecodeS16LE, voice.EncodeS16LE
	case hw.ULaw:
		p.dec, p.enc = voice.ULawDecode, voice.ULawEncode
	case hw.ALaw:
		p.dec, p.enc = voice.ALawDecode, voice.ALawEncode
	case hw.U8:
		p.dec, p.enc = voice.DecodeU8, voice.EncodeU8
	default:
		return nil, fmt.Errorf("switchboard: audio format %v not supported", f)
	}
	return p, nil
}

// run moves frames until ctx ends or the audio fails.
func (p *pump) run(ctx context.Context) error {
	defer func() {
		last := bits.OnesCount64(p.recent & (1<<hangupGrace - 1))
		if !p.flowing {
			p.underruns.Add(max(0, p.early-int64(last))) // the line never delivered audio
			return
		}
		counted := p.recent & (1<<min(hangupGrace, p.sinceFlow) - 1)
		p.underruns.Add(-int64(bits.OnesCount64(counted)))
	}()
	for ctx.Err() == nil {
		if err := p.step(); err != nil {
			return err
		}
	}
	return nil
}

// audioGapFrames is how long (in frames) the line's audio must stay away, in one piece, for the
// call's record to say so: 2 s, twice the last second that a hang-up may leave without audio.
const audioGapFrames = 2 * hangupGrace

// missingAudio says, for the call's record, that the line's audio never came or stopped for
// audioGapFrames or more in a row; "" when it did not. Call it after run has returned.
func (p *pump) missingAudio() string {
	switch {
	case !p.flowing && p.early >= audioGapFrames:
		return "the modem sent no audio during the call"
	case p.longestGap >= audioGapFrames:
		return fmt.Sprintf("the modem's audio stopped for %.1f s during the call", float64(p.longestGap)/voice.FramesPerSecond)
	}
	return ""
}

// maxMissesLogged is how many of a call's deadline misses its log line names one by one.
const maxMissesLogged = 8

// deadlineMiss is one frame answered late: the reply was written at at, took after the line's
// driver had the frame.
type deadlineMiss struct {
	at   time.Time
	took time.Duration
}

// missTimes lists the first misses of the call as "15:04:05.000000+1.5ms ..." (wall clock),
// for the log. Call it after run has returned.
func (p *pump) missTimes() string {
	var b strings.Builder
	for i := range min(p.misses.Load(), maxMissesLogged) {
		m := p.missed[i]
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(m.at.Format("15:04:05.000000"))
		b.WriteByte('+')
		b.WriteString(m.took.String())
	}
	return b.String()
}

// step moves one frame in and one frame out.
func (p *pump) step() error {
	err := p.audio.ReadFrame(p.in)
	got := time.Now()
	under := errors.Is(err, hw.ErrUnderrun)
	switch {
	case under && p.flowing:
		p.underruns.Add(1)
		p.gap++
		p.longestGap = max(p.longestGap, p.gap)
	case under:
		p.early++
	case err != nil:
		return fmt.Errorf("switchboard: read audio: %w", err)
	default:
		p.flowing, p.gap = true, 0
	}
	p.recent <<= 1
	if under {
		p.recent |= 1
	}
	if p.flowing {
		p.sinceFlow++
	}
	p.frames++
	p.dec(p.frame[:], p.in)

	if k, ok := p.rx.Process(&p.frame); ok {
		p.key(k, 1)
	}
	for {
		select {
		case k := <-p.modemKey:
			p.key(k, 2)
			continue
		default:
		}
		break
	}
	pr := p.peer.Load()
	if pr != nil {
		pr.hear.push(&p.frame)
	}
	if p.record.Load() {
		select {
		case f := <-p.free:
			*f = p.frame
			p.recorded <- f // cannot block: recorded holds as many as free
		default:
			p.dropped.Add(1)
		}
	}

	select {
	case prompt := <-p.play:
		p.prompt, p.pos = prompt, 0
	default:
	}
	n := 0
	if p.prompt == nil && pr != nil && pr.say.take(&p.outPCM) {
		n = voice.FrameSamples
	}
	if p.prompt != nil {
		n = copy(p.outPCM[:], p.prompt[p.pos:])
		p.pos += n
		if p.pos >= len(p.prompt) {
			p.prompt = nil
			select {
			case p.played <- struct{}{}:
			default:
			}
		}
	}
	clear(p.outPCM[n:])
	if tap := p.tap.Load(); tap != nil {
		for i, v := range p.frame {
			p.mix[i] = int16(max(-32768, min(32767, int32(v)+int32(p.outPCM[i]))))
		}
		tap.push(&p.mix)
	}
	p.enc(p.out, p.outPCM[:])
	if err := p.audio.WriteFrame(p.out); err != nil {
		return fmt.Errorf("switchboard: write audio: %w", err)
	}
	if !under {
		took := time.Since(got)
		if p.waiter != nil {
			took += p.waiter.FrameWaited()
		}
		if took > p.budget {
			if n := p.misses.Add(1); n <= maxMissesLogged {
				p.missed[n-1] = deadlineMiss{at: time.Now(), took: took}
			}
		}
		if int64(took) > p.slowest.Load() {
			p.slowest.Store(int64(took)) // the pump's goroutine is the only writer
		}
	}
	return nil
}

// key merges a key from one source with the same key from the other: one press is one key.
func (p *pump) key(k byte, from int) {
	if k == p.lastKey.key && from != p.lastFrom && p.frames-p.lastKey.frame <= mergeFrames {
		p.lastFrom = 0 // merged; a third report would be a new press
		return
	}
	p.lastKey = keyPress{key: k, frame: p.frames}
	p.lastFrom = from
	select {
	case p.keys <- k:
	default: // 32 keys unread: the flow is not listening; older keys are enough
	}
}
