package daemon

import (
	"context"
	"errors"
	"net"

	"hotline/daemon/store"
	"hotline/daemon/switchboard"
	"hotline/voice/sip"
)

// sipAccounts gives the SIP server each operator's phone password from the store, so that a
// change from the admin applies at the phone's next registration.
type sipAccounts struct{ st *store.Store }

func (a sipAccounts) Password(user string) (string, bool) {
	o, err := a.st.OperatorBySIPUser(context.Background(), user)
	if err != nil || o.SIPPassword == "" {
		return "", false
	}
	return o.SIPPassword, true
}

// sipPhones is the SIP server as the switchboard rings it.
type sipPhones struct{ srv *sip.Server }

func (p sipPhones) Registered(user string) bool { return p.srv.Registered(user) }

func (p sipPhones) Ring(ctx context.Context, users []string, callerNumber string) (switchboard.Leg, string, error) {
	leg, err := p.srv.Ring(ctx, users, sip.Caller{Number: callerNumber})
	if err != nil {
		return nil, "", err
	}
	return leg, leg.User(), nil
}

// localIP is the address of the interface the box reaches its network on: what phones on the
// LAN reach it at. No packet is sent: a UDP "connection" only picks the route.
func localIP() (string, error) {
	c, err := net.Dial("udp4", "192.0.2.1:9") // TEST-NET-1: never routed anywhere real
	if err != nil {
		return "", err
	}
	defer c.Close()
	ip := c.LocalAddr().(*net.UDPAddr).IP
	if ip == nil || ip.IsUnspecified() {
		return "", errors.New("no network address")
	}
	return ip.String(), nil
}

// Feature codes an operator dials on their phone.
const (
	FeatureLogIn  = "*1" // start taking calls
	FeatureLogOut = "*0" // stop taking calls
)

// featureCode logs an operator in or out from their phone; it returns the words the phone
// shows, or "" for a code the box does not know.
func featureCode(st *store.Store, user, code string) string {
	ctx := context.Background()
	o, err := st.OperatorBySIPUser(ctx, user)
	if err != nil {
		return ""
	}
	var on bool
	switch code {
	case FeatureLogIn:
		on = true
	case FeatureLogOut:
	default:
		return ""
	}
	if err := st.SetOperatorAvailable(ctx, o.Name, on); err != nil {
		return "Not changed, try again"
	}
	_ = st.Audit(ctx, o.Name, map[bool]string{true: "operator logged in", false: "operator logged out"}[on], "from the phone, "+code)
	if on {
		return "Logged in"
	}
	return "Logged out"
}
