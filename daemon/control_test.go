package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"hotline/daemon/store"
	"hotline/daemon/switchboard"
)

// registeredOnly is a SIP side where only some users are registered; it rings nobody.
type registeredOnly map[string]bool

func (r registeredOnly) Registered(user string) bool { return r[user] }
func (r registeredOnly) Ring(ctx context.Context, _ []string, _ string) (switchboard.Leg, string, error) {
	<-ctx.Done()
	return nil, "", ctx.Err()
}

// The panel's requests name operators by ID: an unknown ID, an operator without a phone the box
// can ring, and a transfer to someone without a registered SIP phone are refused before the
// switchboard is asked; the rest reach it (which finds no call on the line).
func TestCallControlResolvesOperators(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &Hotline{Store: st, log: log, cfg: Config{SIP: registeredOnly{"anna": true}},
		Board: switchboard.New(switchboard.Options{Store: st, Logger: log})}
	add := func(o store.Operator) int64 {
		t.Helper()
		id, err := st.AddOperator(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	anna := add(store.Operator{Name: "Anna", SIPUser: "anna", SIPPassword: "secret-secret-1", Available: true})
	boris := add(store.Operator{Name: "Boris", SIPUser: "boris", SIPPassword: "secret-secret-2", Available: true}) // not registered
	vera := add(store.Operator{Name: "Vera", Mobile: "+79160000003", Available: true})

	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"take: unknown operator", h.TakeCall(ctx, "gsm1", 999, "owner"), switchboard.ErrUnknownOperator},
		{"take: SIP phone not registered, no mobile", h.TakeCall(ctx, "gsm1", boris, "owner"), switchboard.ErrNoPhone},
		{"take: registered SIP phone", h.TakeCall(ctx, "gsm1", anna, "owner"), switchboard.ErrNoCall},
		{"take: mobile", h.TakeCall(ctx, "gsm1", vera, "owner"), switchboard.ErrNoCall},
		{"transfer: unknown operator", h.TransferCall(ctx, "gsm1", 999, "owner"), switchboard.ErrUnknownOperator},
		{"transfer: mobile only", h.TransferCall(ctx, "gsm1", vera, "owner"), switchboard.ErrNoPhone},
		{"transfer: registered SIP phone", h.TransferCall(ctx, "gsm1", anna, "owner"), switchboard.ErrNoCall},
		{"hang-up", h.HangupCall(ctx, "gsm1", "owner"), switchboard.ErrNoCall},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if calls := h.LiveCalls(); len(calls) != 0 {
		t.Errorf("LiveCalls() = %+v", calls)
	}
}
