package switchboard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"hotline/voice"
	"hotline/voice/ivr"
	"hotline/voice/tone"
)

// Defaults of ring and queue nodes that leave a value out.
const (
	defaultRing     = 20 * time.Second // one attempt
	defaultMaxWait  = 60 * time.Second // a queue's longest wait
	queueRetry      = 3 * time.Second  // pause between rounds when nobody answered
	mobileTakeKey   = '1'              // the operator presses it to take a call on a mobile
	mobileTakeWait  = 10 * time.Second // for that key, after the announcement
	defaultAnnounce = 30 * time.Second
)

// Person is someone who answers calls: on a SIP phone registered to the box, a mobile the
// box calls on another line, or either.
type Person struct {
	Name    string
	SIPUser string // "" if none registered
	Mobile  string // "" if none
	Record  bool   // record this person's calls
}

// People tells who can answer and rings their phones.
type People interface {
	// Available lists the people who may be rung now, out of names (empty: everyone), in the
	// order strategy asks for.
	Available(ctx context.Context, names []string, strategy ivr.Strategy, now time.Time) ([]Person, error)
	// RingSIP rings the SIP phones of users at once and returns the leg of the first to answer.
	RingSIP(ctx context.Context, users []string, callerNumber string) (Leg, string, error)
	// Called records that a person was rung (for the least-recent strategy).
	Called(ctx context.Context, name string, at time.Time)
}

// taken is a phone that answered: a SIP leg or a dialled mobile.
type taken struct {
	who    string
	record bool
	leg    Leg
	call   *dialled
}

func (t taken) drop() {
	if t.leg != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = t.leg.Hangup(ctx)
	}
	if t.call != nil {
		t.call.hangup()
	}
}

// Connect rings people (or forwards to a number) while the caller hears hold music, and
// bridges the call with the first who takes it until either side hangs up.
func (e *callEnv) Connect(ctx context.Context, req ivr.Connect) (ivr.Connected, error) {
	b := e.board()
	start := time.Now()
	var res ivr.Connected
	ring := req.Ring
	if ring <= 0 {
		ring = defaultRing
	}
	maxWait := req.MaxWait
	if maxWait <= 0 {
		maxWait = defaultMaxWait
	}
	if !req.Queue {
		maxWait = 0
	}
	if req.Queue {
		b.enqueue(e.c)
		defer b.dequeue(e.c)
		e.c.setPhase(StateQueue)
	} else {
		e.c.setPhase(StateRinging)
	}
	defer e.c.setPhase(StateMenu)

	stopMusic := func() {}
	defer func() { stopMusic() }()

rounds:
	for round := 0; ; round++ {
		// An operator who took the call from the panel is rung alone, at once (control.go).
		took := e.took
		e.took = nil
		var persons []Person
		if took != nil {
			persons = []Person{*took}
		} else if req.Number != "" {
			persons = []Person{{Name: req.Number, Mobile: req.Number}}
		} else if b.opts.People != nil {
			var err error
			persons, err = b.opts.People.Available(ctx, req.Operators, req.Strategy, e.Now())
			if err != nil {
				e.log.Error("cannot list who answers", "err", err)
			}
		}
		if round == 0 && len(persons) > 0 {
			stopMusic = e.holdMusic(ctx, req)
		}
		if len(persons) == 0 {
			// Nobody logged in or reachable: waiting would help no one.
			e.log.Info("nobody can answer now")
			res.Wait = b.clk.since(start)
			return res, ctx.Err()
		}
		if took == nil {
			persons = b.notTalking(persons)
		}
		if len(persons) == 0 && !req.Queue {
			e.log.Info("everyone is on a call")
			res.Wait = b.clk.since(start)
			return res, ctx.Err()
		}
		var groups [][]Person
		if len(persons) > 0 {
			groups = [][]Person{persons}
		}
		if req.Strategy != ivr.RingAll && len(persons) > 1 {
			groups = groups[:0]
			for _, p := range persons {
				groups = append(groups, []Person{p})
			}
		}
		for _, g := range groups {
			if len(g) == 0 {
				continue
			}
			d := ring
			if req.Queue && took == nil {
				d = min(d, maxWait-b.clk.since(start))
				if d <= 0 {
					break
				}
			}
			t, left, err := e.ringGroup(ctx, g, d, req.LeaveKey)
			if err != nil {
				res.Wait = b.clk.since(start)
				return res, err
			}
			if left {
				res.Left, res.Wait = true, b.clk.since(start)
				return res, nil
			}
			if t.who == "" {
				if e.took != nil {
					continue rounds
				}
				continue
			}
			stopMusic()
			res.Answered, res.By, res.Wait = true, t.who, b.clk.since(start)
			if req.Queue {
				b.dequeue(e.c)
			}
			talkStart := time.Now()
			stopRec := func() {}
			if req.Record || t.record {
				stopRec = e.recordTalk(ctx)
			}
			e.talk(ctx, t)
			stopRec()
			res.Talk = b.clk.since(talkStart)
			return res, ctx.Err()
		}
		if !req.Queue || b.clk.since(start) >= maxWait {
			res.Wait = b.clk.since(start)
			return res, ctx.Err()
		}
		// Nobody took it this round: wait a little, listening for the leave key.
		e.c.setPhase(StateQueue)
		left, err := e.waitLeave(ctx, min(queueRetry, maxWait-b.clk.since(start)), req.LeaveKey)
		if err != nil || left {
			res.Left, res.Wait = left, b.clk.since(start)
			return res, err
		}
	}
}

// waitLeave waits up to d; it reports whether the caller pressed the leave key. An operator
// who takes the call from the panel ends the wait too (e.took).
func (e *callEnv) waitLeave(ctx context.Context, d time.Duration, leave byte) (bool, error) {
	if d <= 0 {
		return false, nil
	}
	t := e.board().clk.newTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-t.C:
			return false, nil
		case k := <-e.ch.p.keys:
			if leave != 0 && k == leave {
				return true, nil
			}
		case p := <-e.c.takes:
			e.took = &p
			return false, nil
		}
	}
}

// holdMusic loops the hold music (and, in a queue, the position announcement) until stopped.
// The returned stop waits for the player to end.
func (e *callEnv) holdMusic(ctx context.Context, req ivr.Connect) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
			e.ch.stop()
		})
	}
	var music []int16
	if req.Music != "" {
		music = e.samples(req.Music)
	}
	if len(music) == 0 {
		music = tone.HoldMusic()
	}
	announce := req.Announce
	if req.Queue && announce <= 0 {
		announce = defaultAnnounce
	}
	clk := e.board().clk
	go func() {
		defer close(done)
		last := time.Now()
		for ctx.Err() == nil {
			if req.Queue && clk.since(last) >= announce {
				last = time.Now()
				if pos := e.board().position(e.c); pos > 0 {
					if s := e.positionPrompt(pos); s != nil {
						if e.ch.playQuiet(ctx, s) != nil {
							return
						}
					}
				}
			}
			if len(music) == 0 {
				select {
				case <-ctx.Done():
				case <-clk.after(time.Second):
				}
				continue
			}
			if e.ch.playQuiet(ctx, music) != nil {
				return
			}
		}
	}()
	return stop
}

// positionPrompt is "you are number N in the queue" when such a prompt exists, else the
// general "please wait" prompt.
func (e *callEnv) positionPrompt(pos int) []int16 {
	if s, err := e.board().opts.Prompts(e.lang, "queue_position_"+strconv.Itoa(pos)); err == nil {
		return s
	}
	s, _ := e.board().opts.Prompts(e.lang, "queue_wait")
	return s
}

// ringGroup rings a group of people at once for up to d. It returns who took the call, or
// that the caller pressed the leave key, or the caller's hang-up. An operator who takes the
// call from the panel meanwhile stops the ringing: e.took says whom to ring instead.
func (e *callEnv) ringGroup(ctx context.Context, group []Person, d time.Duration, leave byte) (taken, bool, error) {
	b := e.board()
	rctx, cancel := b.clk.withTimeout(ctx, d)
	defer cancel()
	results := make(chan taken, len(group)+1)
	var wg sync.WaitGroup
	var sipUsers []string
	byUser := map[string]string{}
	recordUser := map[string]bool{}
	names := make([]string, 0, len(group))
	for _, p := range group {
		names = append(names, p.Name)
	}
	e.c.setPhase(StateRinging, names...)
	for _, p := range group {
		if b.opts.People != nil {
			b.opts.People.Called(e.bg, p.Name, e.Now())
		}
		switch {
		case p.SIPUser != "" && b.opts.People != nil:
			sipUsers = append(sipUsers, p.SIPUser)
			byUser[p.SIPUser] = p.Name
			recordUser[p.SIPUser] = p.Record
		case p.Mobile != "":
			wg.Add(1)
			go func() {
				defer wg.Done()
				t, err := e.ringMobile(rctx, p)
				if err != nil {
					e.log.Info("mobile not taken", "who", p.Name, "err", err)
					return
				}
				results <- t
			}()
		}
	}
	if len(sipUsers) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			leg, user, err := b.opts.People.RingSIP(rctx, sipUsers, e.c.callerNumber())
			if err != nil {
				e.log.Info("SIP phones not answered", "users", sipUsers, "err", err)
				return
			}
			results <- taken{who: byUser[user], leg: leg, record: recordUser[user]}
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()

	var keys chan byte // none when no caller waits on the line (a callback)
	if e.ch != nil {
		keys = e.ch.p.keys
	}
	var got taken
	var left bool
wait:
	for {
		select {
		case t := <-results:
			if got.who == "" {
				got = t
				cancel() // stop ringing the others
			} else {
				t.drop() // answered too late
			}
		case k := <-keys:
			if leave != 0 && k == leave && got.who == "" {
				left = true
				cancel()
			}
		case p := <-e.c.takes:
			if got.who == "" && !left {
				e.took = &p
				cancel()
			}
		case <-allDone:
			break wait
		}
	}
	for {
		select {
		case t := <-results:
			if got.who == "" && !left && ctx.Err() == nil {
				got = t
			} else {
				t.drop()
			}
			continue
		default:
		}
		break
	}
	if ctx.Err() != nil {
		if got.who != "" {
			got.drop()
		}
		return taken{}, false, ctx.Err()
	}
	if left && got.who != "" {
		got.drop()
		got = taken{}
	}
	if got.who != "" {
		e.took = nil // answered just as the panel asked: the caller talks with who answered
	}
	return got, left, nil
}

// ringMobile calls a person's mobile on a free line that can dial, announces the call and
// waits for the take key.
func (e *callEnv) ringMobile(ctx context.Context, p Person) (taken, error) {
	l := e.board().freeDialer(e.c.l)
	if l == nil {
		return taken{}, errors.New("no free line to call out on")
	}
	d, err := l.dialOut(ctx, p.Mobile)
	if err != nil {
		return taken{}, err
	}
	// An operator who hangs up instead of pressing the key ends this ring at once: the
	// caller is not kept waiting for the rest of the ring time.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	go func() {
		select {
		case <-d.Done():
			stop(fmt.Errorf("%s hung up without taking the call", p.Name))
		case <-ctx.Done():
		}
	}()
	ann, _ := e.board().opts.Prompts(e.lang, "operator_announce")
	for range 2 {
		k, err := d.ch.Play(ctx, ann, true)
		if err == nil && k == 0 {
			k, err = d.ch.WaitKey(ctx, e.board().clk.wall(mobileTakeWait/2))
		}
		if err != nil {
			d.hangup()
			return taken{}, context.Cause(ctx)
		}
		if k == mobileTakeKey {
			// What is left of the key tone stays on the operator's side.
			if err := d.ch.playQuiet(ctx, make([]int16, voice.Rate/4)); err != nil {
				d.hangup()
				return taken{}, context.Cause(ctx)
			}
			return taken{who: p.Name, call: d, record: p.Record}, nil
		}
	}
	d.hangup()
	return taken{}, fmt.Errorf("%s did not press %c", p.Name, mobileTakeKey)
}

// talk bridges the caller with the phone that took the call until either hangs up. A transfer
// (from the operator's SIP phone, or from the panel) hands the caller to another SIP phone.
func (e *callEnv) talk(ctx context.Context, t taken) {
	b := e.board()
	leg, who := t.leg, t.who
	var to transferred
	if t.call != nil {
		b.setTalking(who, true)
		e.c.setPhase(StateTalking, who)
		e.log.Info("connected", "who", who)
		to = e.talkMobile(ctx, t)
		b.setTalking(who, false)
	}
	for leg != nil || to.user != "" {
		if leg == nil {
			if ctx.Err() != nil {
				break
			}
			leg, who = e.transfer(ctx, to)
			to = transferred{}
			continue
		}
		b.setTalking(who, true)
		e.c.setPhase(StateTalking, who)
		e.log.Info("connected", "who", who)
		err := bridgeLeg(ctx, e.ch.p, leg, e.c.xfers)
		b.setTalking(who, false)
		if tr, ok := err.(transferred); ok {
			to = tr
		}
		e.log.Info("conversation ended", "who", who, "why", err)
		if !errors.Is(err, errLegDone) {
			hctx, cancel := context.WithTimeout(e.bg, 5*time.Second)
			_ = leg.Hangup(hctx)
			cancel()
		}
		leg = nil
	}
	e.ch.FlushKeys() // keys pressed while talking were for the operator
}

// talkMobile links the caller with an operator's mobile (a call on another line) until either
// hangs up or the panel transfers the call; it returns the transfer.
func (e *callEnv) talkMobile(ctx context.Context, t taken) transferred {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var to transferred
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		defer cancel()
		select {
		case <-t.call.Done():
		case <-lctx.Done():
		case to = <-e.c.xfers:
		}
	}()
	linkPumps(lctx, e.ch.p, t.call.pump)
	cancel()
	<-watched
	e.log.Info("conversation ended", "who", t.who)
	t.call.hangup()
	return to
}

// ringOperator rings one person for up to d.
func (e *callEnv) ringOperator(ctx context.Context, p Person, d time.Duration) (taken, bool, error) {
	return e.ringGroup(ctx, []Person{p}, d, 0)
}

// transfer rings the SIP user an operator transferred the call to, with hold music for the
// caller meanwhile; it returns the new leg and who answered (the person's name when known),
// or nil when nobody answered.
func (e *callEnv) transfer(ctx context.Context, to transferred) (Leg, string) {
	b := e.board()
	if b.opts.People == nil {
		return nil, ""
	}
	user := to.user
	e.log.Info("transferring", "to", user)
	e.c.setPhase(StateRinging, cmp.Or(to.name, user))
	stop := e.holdMusic(ctx, ivr.Connect{})
	defer stop()
	rctx, cancel := b.clk.withTimeout(ctx, defaultRing)
	defer cancel()
	leg, got, err := b.opts.People.RingSIP(rctx, []string{user}, e.c.callerNumber())
	if err != nil {
		e.log.Info("transfer not answered", "to", user, "err", err)
		return nil, ""
	}
	if to.name != "" {
		got = to.name
	}
	return leg, got
}
