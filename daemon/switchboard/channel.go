package switchboard

import (
	"context"
	"time"

	"hotline/voice"
)

// channel is what a call's flow sees of the call: play, wait for a key, record. Each method
// blocks until it is done, a key interrupts it, or ctx ends (the caller hung up).
type channel struct {
	p *pump
}

// playing stops whatever is playing and starts samples.
func (c *channel) start(samples []int16) {
	// Drop a stale "played" signal and any prompt the pump has not taken yet.
	select {
	case <-c.p.played:
	default:
	}
	select {
	case <-c.p.play:
	default:
	}
	c.p.play <- samples
}

func (c *channel) stop() {
	select {
	case <-c.p.play:
	default:
	}
	c.p.play <- nil
}

// Play plays samples to the caller. With bargeIn a key press stops the prompt and is returned;
// without, keys pressed meanwhile are discarded.
func (c *channel) Play(ctx context.Context, samples []int16, bargeIn bool) (byte, error) {
	if len(samples) == 0 {
		return 0, ctx.Err()
	}
	c.start(samples)
	for {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-c.p.played:
			return 0, nil
		case k := <-c.p.keys:
			if bargeIn {
				c.stop()
				return k, nil
			}
		}
	}
}

// playQuiet plays samples to the end without reading keys (hold music: the keys are for
// whoever waits on them meanwhile). A nil error means it played to the end.
func (c *channel) playQuiet(ctx context.Context, samples []int16) error {
	if len(samples) == 0 {
		return ctx.Err()
	}
	c.start(samples)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.p.played:
		return nil
	}
}

// FlushKeys forgets keys pressed so far.
func (c *channel) FlushKeys() {
	for {
		select {
		case <-c.p.keys:
		default:
			return
		}
	}
}

// WaitKey waits up to timeout (on the wall clock: callers scale it by Board.clk) for a key; it
// returns 0 when none came.
func (c *channel) WaitKey(ctx context.Context, timeout time.Duration) (byte, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-t.C:
		return 0, nil
	case k := <-c.p.keys:
		return k, nil
	}
}

// recording sums up a recording.
type recording struct {
	Frames      int    // frames written
	VoiceFrames int    // frames above the silence threshold
	EndedBy     string // "silence", "max", "hangup", "key", "error"
}

// Record hands the caller's audio to write, frame by frame, until silence lasts `silence` after
// some voice (or from the start: a caller who says nothing at all ends too), max passes, '#' is
// pressed, or ctx ends. write errors end the recording.
func (c *channel) Record(ctx context.Context, max, silence time.Duration, write func(*voice.Frame) error) (recording, error) {
	det := voice.NewSilenceDetector(silenceThresholdDBm0)
	maxFrames := int(max / voice.FrameDuration)
	silentLimit := int(silence / voice.FrameDuration)
	var r recording
	quiet := 0
	c.FlushKeys()
	c.p.record.Store(true)
	defer func() {
		c.p.record.Store(false)
		// Return frames still queued so a later recording starts with a full pool.
		for {
			select {
			case f := <-c.p.recorded:
				c.p.free <- f
			default:
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			r.EndedBy = "hangup"
			return r, nil
		case k := <-c.p.keys:
			if k == '#' {
				r.EndedBy = "key"
				return r, nil
			}
		case f := <-c.p.recorded:
			if det.Process(f) {
				quiet++
			} else {
				quiet = 0
				r.VoiceFrames++
			}
			err := write(f)
			c.p.free <- f
			if err != nil {
				r.EndedBy = "error"
				return r, err
			}
			r.Frames++
			if r.Frames >= maxFrames {
				r.EndedBy = "max"
				return r, nil
			}
			if quiet >= silentLimit {
				r.EndedBy = "silence"
				return r, nil
			}
		}
	}
}
