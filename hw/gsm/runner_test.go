package gsm

import "time"

// runner feeds URCs to a Quectel line's call state without Run, as FuzzCallState does.
type runner struct {
	q        *Quectel
	reinit   chan struct{}
	ringWait *time.Timer
	watch    *time.Timer

	lr *lineRunner
}

func (r *runner) handleURC(text string) {
	if r.lr == nil {
		r.lr = &lineRunner{l: r.q.line, reinit: r.reinit, ringWait: r.ringWait, watch: r.watch}
	}
	r.lr.handleURC(text)
}
