package daemon

import (
	"context"
	"fmt"

	"hotline/daemon/store"
	"hotline/daemon/switchboard"
)

// Call control for the operator panel: the admin names operators by their ID in the store;
// these methods find their phones and hand the request to the switchboard. Errors are the
// switchboard's sentinels (switchboard.ErrNoCall, ErrNotTalking, ErrNotWaiting,
// ErrUnknownOperator, ErrNoPhone, ErrNotAnswered), wrapped.

// LiveCalls returns the call of every line that has one, by line ID.
func (h *Hotline) LiveCalls() []switchboard.LiveCall { return h.Board.Calls() }

// HangupCall ends the call on a line; by (the admin's user name) goes into the call's record.
func (h *Hotline) HangupCall(ctx context.Context, lineID, by string) error {
	if err := h.Board.Hangup(lineID, by); err != nil {
		return fmt.Errorf("hang up the call on %s: %w", lineID, err)
	}
	h.log.Info("call hung up from the admin", "line", lineID, "by", by)
	return nil
}

// TransferCall hands the conversation on a line to the operator's SIP phone (it must be
// registered now).
func (h *Hotline) TransferCall(ctx context.Context, lineID string, operatorID int64, by string) error {
	p, err := h.operatorPhone(ctx, operatorID)
	if err == nil && p.SIPUser == "" {
		err = switchboard.ErrNoPhone
	}
	if err == nil {
		err = h.Board.Transfer(ctx, lineID, p)
	}
	if err != nil {
		return fmt.Errorf("transfer the call on %s to operator %d: %w", lineID, operatorID, err)
	}
	h.log.Info("call transferred from the admin", "line", lineID, "to", p.Name, "by", by)
	return nil
}

// TakeCall rings the operator's phone (the SIP phone when it is registered, else the mobile)
// at once, and theirs only, for the caller who waits on a line.
func (h *Hotline) TakeCall(ctx context.Context, lineID string, operatorID int64, by string) error {
	p, err := h.operatorPhone(ctx, operatorID)
	if err == nil {
		err = h.Board.Take(ctx, lineID, p)
	}
	if err != nil {
		return fmt.Errorf("ring operator %d for the call on %s: %w", operatorID, lineID, err)
	}
	h.log.Info("call taken from the admin", "line", lineID, "for", p.Name, "by", by)
	return nil
}

// operatorPhone is the operator with the phones the box can ring now: the SIP phone only
// while it is registered.
func (h *Hotline) operatorPhone(ctx context.Context, id int64) (switchboard.Person, error) {
	ops, err := h.Store.Operators(ctx)
	if err != nil {
		return switchboard.Person{}, err
	}
	for _, o := range ops {
		if o.ID == id {
			return h.person(o)
		}
	}
	return switchboard.Person{}, switchboard.ErrUnknownOperator
}

func (h *Hotline) person(o store.Operator) (switchboard.Person, error) {
	p := switchboard.Person{Name: o.Name, Mobile: o.Mobile, Record: o.Record}
	if o.SIPUser != "" && h.cfg.SIP != nil && h.cfg.SIP.Registered(o.SIPUser) {
		p.SIPUser = o.SIPUser
	}
	if p.SIPUser == "" && p.Mobile == "" {
		return p, switchboard.ErrNoPhone
	}
	return p, nil
}
