package gsm

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrNoNetworkTime is returned when the modem's clock does not hold the network's time (the
// network sent none, or the modem keeps its power-on date).
var ErrNoNetworkTime = errors.New("the modem has no network time")

// minNetworkTime is older than any time the network can send to this program: a modem that
// never got the time answers with its power-on date (1980, 2000, 2004 by firmware).
var minNetworkTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// networkTime reads the modem's clock, which follows the network's time (NITZ) once
// AT+CTZU=1 is on (3GPP TS 27.007 +CCLK, +CTZU): `+CCLK: "yy/MM/dd,hh:mm:ss±zz"`, local time
// with the zone in quarter hours.
func (s *services) networkTime(ctx context.Context) (time.Time, error) {
	// Let network time updates set the clock from now on; not every firmware has it.
	_, _ = s.ch.Command(ctx, "AT+CTZU=1", 2*time.Second)
	resp, err := s.ch.Command(ctx, "AT+CCLK?", 2*time.Second)
	if err != nil {
		return time.Time{}, fmt.Errorf("gsm %s: clock: %w", s.id, err)
	}
	for _, l := range resp.Lines {
		if v, ok := strings.CutPrefix(l, "+CCLK:"); ok {
			t, err := ParseCCLK(v)
			if err != nil {
				return time.Time{}, fmt.Errorf("gsm %s: clock: %w", s.id, err)
			}
			if t.Before(minNetworkTime) {
				return time.Time{}, fmt.Errorf("gsm %s: clock says %s: %w", s.id, t.Format(time.RFC3339), ErrNoNetworkTime)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("gsm %s: clock: no +CCLK line", s.id)
}

// ParseCCLK reads the value of a +CCLK or +QLTS answer: "yy/MM/dd,hh:mm:ss±zz" (the zone in
// quarter hours, -48..+56; some firmware leaves it out, meaning UTC). The year is 20yy; a
// two-digit year of 69 or more (a modem's unset clock, such as "70/01/01" or "80/01/06") is
// refused with ErrNoNetworkTime.
func ParseCCLK(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	v = strings.TrimSuffix(strings.TrimPrefix(v, `"`), `"`)
	if len(v) < 17 {
		return time.Time{}, fmt.Errorf("clock %q: too short", v)
	}
	t, err := time.Parse("06/01/02,15:04:05", v[:17])
	if err != nil {
		return time.Time{}, fmt.Errorf("clock %q: %w", v, err)
	}
	if t.Year() < 2000 { // Go reads 69-99 as 19yy
		return time.Time{}, fmt.Errorf("clock %q: year %d: %w", v, t.Year(), ErrNoNetworkTime)
	}
	zone := v[17:]
	if i := strings.IndexByte(zone, ','); i >= 0 { // +QLTS adds ",dst"
		zone = zone[:i]
	}
	if zone == "" {
		return t, nil
	}
	q, err := strconv.Atoi(zone)
	if err != nil || (zone[0] != '+' && zone[0] != '-') || q < -48 || q > 56 {
		return time.Time{}, fmt.Errorf("clock %q: bad time zone %q", v, zone)
	}
	return t.Add(-time.Duration(q) * 15 * time.Minute).UTC(), nil
}

// NetworkTime returns the time the mobile network gave the modem, in UTC.
func (q *Quectel) NetworkTime(ctx context.Context) (time.Time, error) { return q.svc.networkTime(ctx) }

// NetworkTime returns the time the mobile network gave the modem, in UTC.
func (s *SIM7600) NetworkTime(ctx context.Context) (time.Time, error) {
	return s.l.svc.networkTime(ctx)
}

// NetworkTime returns the time the mobile network gave the modem, in UTC.
func (h *Huawei) NetworkTime(ctx context.Context) (time.Time, error) { return h.l.svc.networkTime(ctx) }
