package daemon

import (
	"time"

	"hotline/daemon/switchboard"
	"hotline/hw"
	"hotline/hw/gsm"
	"hotline/hw/supervise"
)

// LineInfo is one line as the dashboard and /metrics show it. The strings that came from the
// modem or the network (Model, Firmware, IMEI, Operator, CallNumber) are untrusted: escape
// them to show them.
type LineInfo struct {
	ID, Kind, State string // Kind: "quectel", "simcom", "huawei", "fxo"; State: see [LineInfo.State]
	// What a GSM line knows of its modem, SIM and network (see gsm.LineStatus); empty for an
	// analog line.
	Model, Firmware, IMEI, SIM, Operator string
	Registered, Roaming                  bool
	SignalBars, SignalDBm                int
	InCall                               bool      // a call rings or is up on the line
	CallNumber                           string    // the caller as the line reported it; "" when withheld or not known yet
	CallSince                            time.Time // the call's first ring
	Updated                              time.Time // when the modem's status last changed (zero for an analog line)
}

// Line states besides the gsm.State* words: StateStarting is a line that has not reported
// anything yet.
const StateStarting = "starting"

// Counters are the switchboard's running totals since start.
type Counters = switchboard.Counters

// statuser is a line that knows its modem, SIM and network.
type statuser interface{ Status() gsm.LineStatus }

// LineInfos returns every line in the order of [Hotline.Lines]. State is what the line last
// reported to the switchboard ("ready", "no SIM", "SIM PIN needed", "searching", "not
// registered", "down", "no voice support"), or StateStarting before its first report.
func (h *Hotline) LineInfos() []LineInfo {
	out := make([]LineInfo, 0, len(h.lines))
	for _, l := range h.lines {
		id := l.line.ID()
		info := LineInfo{ID: id, Kind: l.kind, State: h.Board.LineState(id)}
		var drv hw.Line = l.line
		if sup, ok := l.line.(*supervise.Line); ok {
			drv = sup.Current() // nil while the modem is being recovered
		}
		if s, ok := drv.(statuser); ok {
			st := s.Status()
			info.Model, info.Firmware, info.IMEI = st.Model, st.Firmware, st.IMEI
			info.SIM, info.Operator = st.SIM, st.Operator
			info.Registered, info.Roaming = st.Registered, st.Roaming
			info.SignalBars, info.SignalDBm = st.SignalBars, st.SignalDBm
			info.Updated = st.Updated
			if info.State == "" {
				info.State = st.State
			}
		}
		if info.State == "" {
			info.State = StateStarting
		}
		info.CallNumber, info.CallSince, info.InCall = h.Board.ActiveCall(id)
		out = append(out, info)
	}
	return out
}

// Counters returns the switchboard's running totals.
func (h *Hotline) Counters() Counters { return h.Board.Counters() }

var (
	_ statuser = (*gsm.Quectel)(nil)
	_ statuser = (*gsm.SIM7600)(nil)
	_ statuser = (*gsm.Huawei)(nil)
)
