package gsm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"hotline/hw"
	"hotline/hw/modem"
	"hotline/hw/sms"
)

// setupSMS sets PDU mode, SIM storage and stored delivery (+CMTI, +CDSI), then queues what
// already waits on the SIM (AT+CMGL=4). Refused commands are logged and skipped.
func (s *services) setupSMS(ctx context.Context) error {
	for _, cmd := range []string{"AT+CMGF=0", `AT+CPMS="SM","SM","SM"`, "AT+CNMI=2,1,0,2,0"} {
		if _, _, err := s.command(ctx, cmd); err != nil {
			return err
		}
	}
	resp, ok, err := s.command(ctx, "AT+CMGL=4")
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.smsReady = true
	s.mu.Unlock()
	if !ok {
		return nil
	}
	for i := 0; i < len(resp.Lines); i++ {
		h, ok := parseCMGL(resp.Lines[i])
		if !ok {
			continue
		}
		if i+1 >= len(resp.Lines) || !isHexPDU(resp.Lines[i+1]) {
			s.log.Warn("SMS on the SIM listed without a readable PDU; kept on the SIM", "slot", h.index)
			continue
		}
		i++
		s.mu.Lock()
		seen := s.known[h.index]
		s.mu.Unlock()
		if seen {
			continue
		}
		select {
		case s.jobs <- smsJob{slot: h.index, pdu: resp.Lines[i]}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// smsWorker reads queued SIM slots, decodes and joins them, and hands them to the consumer. It
// runs until ctx ends, from the first finished setup on.
func (s *services) smsWorker(ctx context.Context) {
	select {
	case <-s.inited:
	case <-ctx.Done():
		return
	}
	expire := time.NewTicker(time.Minute)
	defer expire.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-s.jobs:
			s.readJob(ctx, j)
		case <-expire.C:
			for _, t := range s.reasm.Expire() {
				s.deliverText(ctx, t, nil)
			}
		}
	}
}

// readJob reads one slot (unless its PDU came with the job) and delivers what completes.
func (s *services) readJob(ctx context.Context, j smsJob) {
	if j.slot >= 0 {
		s.mu.Lock()
		seen := s.known[j.slot]
		s.known[j.slot] = true
		s.mu.Unlock()
		if seen {
			return // read already in this run; it waits for its Ack or for its other parts
		}
	}
	pdu := j.pdu
	if pdu == "" {
		resp, err := s.ch.Command(ctx, "AT+CMGR="+strconv.Itoa(j.slot), 0)
		if err != nil {
			s.forget(j.slot)
			if ctx.Err() == nil && !errors.Is(err, modem.ErrClosed) {
				s.log.Warn("cannot read SMS from the SIM; it stays there", "slot", j.slot, "err", err)
			}
			return
		}
		for i, l := range resp.Lines {
			if _, ok := parseCMGR(l); ok && i+1 < len(resp.Lines) {
				pdu = resp.Lines[i+1]
			}
		}
		if pdu == "" {
			s.log.Info("SIM slot is empty", "slot", j.slot)
			s.forget(j.slot)
			return
		}
	}
	p, err := sms.DecodeHex(pdu)
	if err != nil {
		// Kept in s.known, so it is not read again in this run; it stays on the SIM.
		s.log.Warn("SMS cannot be decoded; kept on the SIM", "slot", j.slot, "err", err, "pdu_bytes", len(pdu)/2)
		return
	}
	var slots []int
	if j.slot >= 0 {
		slots = []int{j.slot}
	}
	if j.direct && p.Deliver != nil && (p.Deliver.Concat == nil || p.Deliver.Concat.Total <= 1) {
		d := p.Deliver
		s.deliver(ctx, IncomingSMS{Line: s.id, From: d.From.Number, Time: d.Time, Received: time.Now(), Text: d.Text,
			Parts: 1, direct: true})
		return
	}
	if j.direct {
		// A part of a long message: it waits for its other parts in memory, so the network is
		// told at once (a restart meanwhile loses the parts, as the modem kept none).
		_, _ = s.ch.Command(ctx, "AT+CNMA", 0)
	}
	switch {
	case p.Report != nil:
		s.deliver(ctx, IncomingSMS{Line: s.id, Received: time.Now(), Time: p.Report.Time, Report: p.Report, Slots: slots})
	case p.Deliver != nil:
		d := p.Deliver
		if c := d.Concat; c != nil && c.Total > 1 && j.slot >= 0 {
			k := partKey{from: d.From.Number, ref: c.Ref, total: c.Total}
			s.mu.Lock()
			if !slices.Contains(s.partSlots[k], j.slot) {
				s.partSlots[k] = append(s.partSlots[k], j.slot)
			}
			s.mu.Unlock()
		}
		for _, t := range s.reasm.Add(d) {
			if t.Parts == 1 {
				s.deliverText(ctx, t, slots)
			} else {
				s.deliverText(ctx, t, nil)
			}
		}
	default:
		s.log.Info("a message the box stored for sending is on the SIM; left there", "slot", j.slot)
	}
}

// forget drops a slot from the ones read in this run.
func (s *services) forget(slot int) {
	s.mu.Lock()
	delete(s.known, slot)
	s.mu.Unlock()
}

// deliverText hands a whole (or given up) message over; slots nil means the slots of its parts.
func (s *services) deliverText(ctx context.Context, t sms.Text, slots []int) {
	if slots == nil {
		k := partKey{from: t.From.Number, ref: t.Ref, total: t.Parts}
		s.mu.Lock()
		slots = s.partSlots[k]
		delete(s.partSlots, k)
		s.mu.Unlock()
	}
	if len(t.Missing) > 0 {
		s.log.Warn("SMS parts never came; delivering the rest", "from", t.From.Number, "missing", t.Missing)
	}
	s.deliver(ctx, IncomingSMS{
		Line: s.id, From: t.From.Number, Time: t.Time, Received: t.Received, Text: t.Text,
		Parts: t.Parts, Missing: t.Missing, Slots: slices.Clone(slots),
	})
}

// deliver waits for the consumer to take m (or ctx to end).
func (s *services) deliver(ctx context.Context, m IncomingSMS) {
	slots := slices.Clone(m.Slots)
	var mu sync.Mutex
	direct := m.direct
	m.ack = func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if direct {
			direct = false
			// Phase 2+ wants the acknowledgement; a modem in phase 2 answers ERROR, harmlessly.
			_, _ = s.ch.Command(ctx, "AT+CNMA", 0)
		}
		for len(slots) > 0 {
			n := slots[0]
			if _, err := s.ch.Command(ctx, "AT+CMGD="+strconv.Itoa(n), 0); err != nil {
				return fmt.Errorf("gsm %s: delete SMS in slot %d: %w", s.id, n, err)
			}
			s.forget(n)
			slots = slots[1:]
		}
		return nil
	}
	// Logged before the hand-over: the consumer owns m afterwards.
	s.log.Info("SMS received", "from", m.From, "parts", m.Parts, "slots", slots, "report", m.Report != nil)
	select {
	case s.smsOut <- m:
	case <-ctx.Done():
	}
}

// sendSMS sends text to number as one or more PDUs and returns the message references.
func (s *services) sendSMS(ctx context.Context, to, text string) ([]int, error) {
	if !validNumber(to) || to == "+" || !isDialDigits(to) {
		return nil, fmt.Errorf("gsm %s: send SMS: invalid number %q", s.id, to)
	}
	parts, err := sms.Encode(to, text, sms.Options{ConcatRef: byte(s.ref.Add(1)), StatusReport: s.statusReports})
	if err != nil {
		return nil, fmt.Errorf("gsm %s: send SMS: %w", s.id, err)
	}
	var refs []int
	for _, p := range parts {
		resp, err := s.ch.CommandPrompt(ctx, "AT+CMGS="+strconv.Itoa(p.Length), p.Hex(), smsSendTimeout)
		if err != nil {
			return refs, fmt.Errorf("gsm %s: send SMS part %d of %d: %w", s.id, p.Seq, p.Total, err)
		}
		ref := -1
		for _, l := range resp.Lines {
			if mr, ok := parseCMGS(l); ok {
				ref = mr
			}
		}
		refs = append(refs, ref)
	}
	s.log.Info("SMS sent", "parts", len(parts), "refs", refs)
	return refs, nil
}

// isDialDigits reports whether n is '+' and digits or digits only (no * or #), as an SMS
// recipient must be.
func isDialDigits(n string) bool {
	body := n
	if len(n) > 0 && n[0] == '+' {
		body = n[1:]
	}
	for i := 0; i < len(body); i++ {
		if body[i] < '0' || body[i] > '9' {
			return false
		}
	}
	return body != ""
}

// ussd sends a USSD request and returns the network's text.
func (s *services) ussd(ctx context.Context, code string) (string, error) {
	if !validUSSD(code) {
		return "", fmt.Errorf("gsm %s: USSD: invalid code %q", s.id, code)
	}
	arg := code
	if s.fam.ussdPacked {
		var err error
		if arg, err = sms.EncodeUSSD(code); err != nil {
			return "", fmt.Errorf("gsm %s: USSD: %w", s.id, err)
		}
	}
	s.ussdMu.Lock()
	defer s.ussdMu.Unlock()
	wait := make(chan string, 4)
	s.mu.Lock()
	s.ussdWait = wait
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.ussdWait = nil
		s.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(ctx, ussdTimeout)
	defer cancel()
	resp, err := s.ch.Command(ctx, `AT+CUSD=1,"`+arg+`",15`, 10*time.Second)
	if err != nil {
		return "", fmt.Errorf("gsm %s: USSD: %w", s.id, err)
	}
	var line string
	for _, l := range resp.Lines {
		if len(l) > 6 && l[:6] == "+CUSD:" {
			line = l
		}
	}
	if line == "" {
		select {
		case line = <-wait:
		case <-ctx.Done():
			return "", fmt.Errorf("gsm %s: USSD %s: no reply: %w", s.id, code, context.Cause(ctx))
		}
	}
	u, err := sms.ParseCUSD(line)
	if err != nil {
		return "", fmt.Errorf("gsm %s: USSD %s: %w: %w", s.id, code, ErrUSSD, err)
	}
	switch u.Status {
	case sms.USSDDone, sms.USSDTerminated:
	case sms.USSDActionRequired:
		// The box cannot answer a menu: close the session.
		if _, err := s.ch.Command(ctx, "AT+CUSD=2", 0); err != nil {
			s.log.Info("closing the USSD session failed", "err", err)
		}
	default:
		return u.Text, fmt.Errorf("gsm %s: USSD %s: %w: %s", s.id, code, ErrUSSD, u.Status)
	}
	return u.Text, nil
}

// dial places an outgoing call on h and waits for the answer.
func (s *services) dialCall(ctx context.Context, h callHost, number string) (hw.Audio, error) {
	if !validNumber(number) {
		return nil, fmt.Errorf("gsm %s: dial: invalid number %q", s.id, number)
	}
	s.dialMu.Lock()
	defer s.dialMu.Unlock()
	gen, err := h.startDial(number)
	if err != nil {
		return nil, fmt.Errorf("gsm %s: dial: %w", s.id, err)
	}
	att := &dialAttempt{gen: gen, out: make(chan dialOutcome, 8)}
	s.mu.Lock()
	s.dial = att
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.dial = nil
		s.mu.Unlock()
	}()
	s.log.Info("dialling", "number", number)
	tctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()

	if _, err := s.ch.Command(tctx, "ATD"+number+";", dialTimeout); err != nil {
		h.dialGiveUp(gen)
		var ce *modem.CommandError
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("gsm %s: dial: %w", s.id, context.Cause(ctx))
		case errors.As(err, &ce) && ce.Final == "BUSY":
			return nil, fmt.Errorf("gsm %s: dial: %w (BUSY)", s.id, hw.ErrBusy)
		case errors.As(err, &ce) && (ce.Final == "NO ANSWER" || ce.Final == "NO CARRIER"):
			return nil, fmt.Errorf("gsm %s: dial: %w (%s)", s.id, hw.ErrNoAnswer, ce.Final)
		case errors.Is(err, modem.ErrTimeout), tctx.Err() != nil:
			return nil, fmt.Errorf("gsm %s: dial: %w (no answer in %v)", s.id, hw.ErrNoAnswer, dialTimeout)
		}
		return nil, fmt.Errorf("gsm %s: dial: %w", s.id, err)
	}
	if err := h.afterATD(tctx); err != nil {
		h.dialGiveUp(gen)
		return nil, fmt.Errorf("gsm %s: dial: %w", s.id, err)
	}
	for {
		select {
		case o := <-att.out:
			if o.connected {
				a, err := h.dialConnected(ctx, gen)
				if err != nil {
					return nil, fmt.Errorf("gsm %s: dial: %w", s.id, err)
				}
				s.log.Info("dialled call answered", "number", number)
				return a, nil
			}
			if o.soft {
				// Released without a reason: BUSY or NO ANSWER may be on its way.
				settle := time.NewTimer(dialSettle)
			wait:
				for {
					select {
					case o2 := <-att.out:
						if !o2.soft && !o2.connected {
							o = o2
							break wait
						}
					case <-settle.C:
						break wait
					}
				}
				settle.Stop()
			}
			h.dialGiveUp(gen)
			s.log.Info("dialled call not answered", "number", number, "err", o.err)
			return nil, fmt.Errorf("gsm %s: dial %s: %w", s.id, number, o.err)
		case <-tctx.Done():
			h.dialGiveUp(gen)
			if ctx.Err() != nil {
				return nil, fmt.Errorf("gsm %s: dial: %w", s.id, context.Cause(ctx))
			}
			return nil, fmt.Errorf("gsm %s: dial %s: %w (no answer in %v)", s.id, number, hw.ErrNoAnswer, dialTimeout)
		}
	}
}

// sendDigits sends DTMF keys in the call that is up, one command a key.
func (s *services) sendDigits(ctx context.Context, h callHost, digits string) error {
	if !validDigits(digits, !s.fam.huaweiDTMF) {
		return fmt.Errorf("gsm %s: send digits: invalid keys %q", s.id, digits)
	}
	idx, ok := h.activeCall()
	if !ok {
		return fmt.Errorf("gsm %s: send digits: %w", s.id, hw.ErrNoCall)
	}
	if idx <= 0 {
		idx = 1
	}
	for i := 0; i < len(digits); i++ {
		cmd := `AT+VTS="` + digits[i:i+1] + `"`
		if s.fam.huaweiDTMF {
			cmd = "AT^DTMF=" + strconv.Itoa(idx) + "," + digits[i:i+1]
		}
		if _, err := s.ch.Command(ctx, cmd, 0); err != nil {
			return fmt.Errorf("gsm %s: send digits: %w", s.id, err)
		}
	}
	return nil
}
