package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"hotline/daemon/store"
	"hotline/daemon/switchboard"
	"hotline/voice/ivr"
)

// SIPPhones is the SIP side of the box as the daemon uses it: who is registered, and ringing.
type SIPPhones interface {
	Registered(user string) bool
	// Ring rings users' phones at once; the first to answer wins. It returns the leg and the
	// user who answered.
	Ring(ctx context.Context, users []string, callerNumber string) (switchboard.Leg, string, error)
}

// people answers the switchboard's "who can take a call" from the operators in the store and
// the phones registered now.
type people struct {
	st  *store.Store
	sip SIPPhones // nil: no SIP phones
	log interface {
		Warn(msg string, args ...any)
	}

	mu    sync.Mutex
	hours map[string]*ivr.Schedule // parsed operator hours by their JSON
}

var _ switchboard.People = (*people)(nil)

// Available lists the operators who are logged in, within their hours, and reachable (a
// registered SIP phone or a mobile), out of names (empty: all), in the strategy's order.
func (p *people) Available(ctx context.Context, names []string, strategy ivr.Strategy, now time.Time) ([]switchboard.Person, error) {
	ops, err := p.st.Operators(ctx)
	if err != nil {
		return nil, err
	}
	var picked []store.Operator
	for _, o := range ops {
		if len(names) > 0 && !slices.Contains(names, o.Name) {
			continue
		}
		if !o.Available || !p.onDuty(o, now) {
			continue
		}
		picked = append(picked, o)
	}
	switch strategy {
	case ivr.RingLeastRecent:
		slices.SortStableFunc(picked, func(a, b store.Operator) int { return a.LastCalled.Compare(b.LastCalled) })
	default:
		if len(names) > 0 {
			slices.SortStableFunc(picked, func(a, b store.Operator) int {
				return slices.Index(names, a.Name) - slices.Index(names, b.Name)
			})
		}
	}
	var out []switchboard.Person
	for _, o := range picked {
		per := switchboard.Person{Name: o.Name, Mobile: o.Mobile, Record: o.Record}
		if o.SIPUser != "" && p.sip != nil && p.sip.Registered(o.SIPUser) {
			per.SIPUser = o.SIPUser
		}
		if per.SIPUser == "" && per.Mobile == "" {
			continue // no phone to ring now
		}
		out = append(out, per)
	}
	return out, nil
}

// onDuty reports whether now is within the operator's own hours (always, when none are set).
func (p *people) onDuty(o store.Operator, now time.Time) bool {
	if strings.TrimSpace(o.Hours) == "" {
		return true
	}
	p.mu.Lock()
	s, ok := p.hours[o.Hours]
	if !ok {
		s = new(ivr.Schedule)
		if err := json.Unmarshal([]byte(o.Hours), s); err != nil {
			s = nil
		}
		if p.hours == nil {
			p.hours = map[string]*ivr.Schedule{}
		}
		p.hours[o.Hours] = s
	}
	p.mu.Unlock()
	if s == nil {
		p.log.Warn("operator hours unreadable; ringing anyway", "operator", o.Name)
		return true
	}
	open, _, err := s.Open(now)
	if err != nil {
		p.log.Warn("operator hours unreadable; ringing anyway", "operator", o.Name, "err", err)
		return true
	}
	return open
}

func (p *people) RingSIP(ctx context.Context, users []string, callerNumber string) (switchboard.Leg, string, error) {
	if p.sip == nil {
		return nil, "", errors.New("no SIP phones")
	}
	return p.sip.Ring(ctx, users, callerNumber)
}

func (p *people) Called(ctx context.Context, name string, at time.Time) {
	if err := p.st.MarkOperatorCalled(ctx, name, at); err != nil {
		p.log.Warn("cannot note the operator was called", "operator", name, "err", err)
	}
}

// flowCache keeps the parsed newest flow, re-read when a new version is saved.
type flowCache struct {
	st   *store.Store
	mu   sync.Mutex
	ver  int64
	flow *ivr.Flow
}

// current returns the newest saved flow and its version.
func (c *flowCache) current(ctx context.Context) (*ivr.Flow, int64, error) {
	fv, err := c.st.Flow(ctx, 0)
	if err != nil {
		return nil, 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if fv.Version == c.ver && c.flow != nil {
		return c.flow, c.ver, nil
	}
	f, err := ivr.Parse(fv.JSON)
	if err != nil {
		return nil, 0, fmt.Errorf("flow version %d: %w", fv.Version, err)
	}
	c.ver, c.flow = fv.Version, f
	return f, fv.Version, nil
}

// ensureFlow saves the default flow as version 1 when the store has none yet.
func ensureFlow(ctx context.Context, st *store.Store) error {
	if _, err := st.Flow(ctx, 0); !errors.Is(err, store.ErrNotFound) {
		return err
	}
	lang, err := st.Setting(ctx, "language", "ru")
	if err != nil {
		return err
	}
	data, err := ivr.Default(lang).MarshalIndent()
	if err != nil {
		return err
	}
	_, err = st.SaveFlow(ctx, data, "hotline", "default flow")
	return err
}
