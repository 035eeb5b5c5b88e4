package daemon

import (
	"context"
	"errors"
	"fmt"

	"hotline/daemon/store"
	"hotline/daemon/switchboard"
	"hotline/hw"
)

// callbackTries is how many times the box tries a callback before it marks it failed.
const callbackTries = 3

// PlaceCallback calls a caller back: an operator first, then the caller, bridged. The attempt
// and its outcome are recorded on the request; by is who asked for it ("" for the box itself).
func (h *Hotline) PlaceCallback(ctx context.Context, id int64, by string) (string, error) {
	cb, err := h.Store.Callback(ctx, id)
	if err != nil {
		return "", err
	}
	if cb.Status != store.CallbackOpen {
		return "", fmt.Errorf("callback %d is %s already", id, cb.Status)
	}
	lang, _ := h.Store.Setting(ctx, "language", "ru")
	who, talk, err := h.Board.Callback(ctx, cb.Number, nil, lang)
	status, outcome := store.CallbackOpen, ""
	switch {
	case err == nil:
		status, outcome = store.CallbackDone, fmt.Sprintf("talked %d s", int(talk.Seconds()))
	case errors.Is(err, switchboard.ErrNobody):
		outcome = "no operator took it"
	case errors.Is(err, switchboard.ErrNoLine):
		outcome = "no free line"
	case errors.Is(err, hw.ErrBusy):
		outcome = "the caller was busy"
	case errors.Is(err, hw.ErrNoAnswer):
		outcome = "the caller did not answer"
	default:
		outcome = err.Error()
	}
	if status == store.CallbackOpen && cb.Attempts+1 >= callbackTries && !errors.Is(err, switchboard.ErrNobody) && !errors.Is(err, switchboard.ErrNoLine) {
		status = store.CallbackFailed
	}
	if by == "" {
		by = who
	}
	if rerr := h.Store.CallbackAttempt(context.WithoutCancel(ctx), id, status, outcome, by); rerr != nil {
		return who, rerr
	}
	h.log.Info("callback attempt", "callback", id, "operator", who, "status", status, "outcome", outcome)
	return who, err
}
