package web

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"hotline/voice/ivr"
)

// settingTimeZone is the store setting of the box's time zone, an IANA name; the pages show
// times in it (read when the admin starts) and new working hours start from it.
const settingTimeZone = "time_zone"

// defaultTimeZone is the zone a box without a setting is assumed to be in.
const defaultTimeZone = "Europe/Moscow"

// commonZones are offered first: the zones of Russia from west to east, then its neighbours.
var commonZones = []string{
	"Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk",
	"Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok",
	"Asia/Magadan", "Asia/Kamchatka",
	"Europe/Minsk", "Asia/Almaty", "Asia/Tashkent", "Asia/Bishkek", "Asia/Yerevan", "Asia/Tbilisi", "Asia/Baku",
}

// otherZones are the rest of the list, by region; every name is a valid IANA zone (a test
// loads each one). An owner elsewhere sets theirs through the API with any IANA name.
var otherZones = []string{
	"Europe/Volgograd", "Europe/Astrakhan", "Europe/Saratov", "Europe/Ulyanovsk", "Europe/Kirov",
	"Asia/Barnaul", "Asia/Tomsk", "Asia/Novokuznetsk", "Asia/Chita", "Asia/Khandyga", "Asia/Sakhalin",
	"Asia/Ust-Nera", "Asia/Srednekolymsk", "Asia/Anadyr", "Europe/Simferopol",
	"Europe/Kyiv", "Europe/Chisinau", "Europe/Riga", "Europe/Vilnius", "Europe/Tallinn", "Europe/Helsinki",
	"Europe/Warsaw", "Europe/Berlin", "Europe/Prague", "Europe/Vienna", "Europe/Rome", "Europe/Paris",
	"Europe/Madrid", "Europe/Amsterdam", "Europe/Brussels", "Europe/Stockholm", "Europe/Oslo",
	"Europe/Copenhagen", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Athens",
	"Europe/Istanbul", "Europe/Belgrade", "Europe/Budapest", "Europe/Bucharest", "Europe/Sofia",
	"Asia/Aqtobe", "Asia/Oral", "Asia/Dushanbe", "Asia/Ashgabat", "Asia/Samarkand", "Asia/Ulaanbaatar",
	"Asia/Dubai", "Asia/Tehran", "Asia/Jerusalem", "Asia/Karachi", "Asia/Kolkata", "Asia/Dhaka",
	"Asia/Bangkok", "Asia/Ho_Chi_Minh", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Singapore",
	"Asia/Seoul", "Asia/Tokyo", "Africa/Cairo", "Africa/Johannesburg", "Africa/Lagos", "Africa/Nairobi",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Toronto",
	"America/Mexico_City", "America/Sao_Paulo", "America/Argentina/Buenos_Aires",
	"Australia/Sydney", "Australia/Perth", "Pacific/Auckland", "UTC",
}

// zoneOptions lists the zones for a select, the current one chosen; a current zone that is
// not in the list (set through the API) is offered first.
func zoneOptions(current string) []option {
	var out []option
	known := false
	for _, list := range [][]string{commonZones, otherZones} {
		for _, z := range list {
			known = known || z == current
			out = append(out, option{Value: z, Label: zoneLabel(z), Selected: z == current})
		}
	}
	if !known && current != "" {
		out = append([]option{{Value: current, Label: zoneLabel(current), Selected: true}}, out...)
	}
	return out
}

// zoneCache keeps the zones loaded for the lists (a page lists each zone once per form).
var zoneCache sync.Map // name -> *time.Location

// loadZone is time.LoadLocation, remembered for the zones of the lists.
func loadZone(name string) (*time.Location, error) {
	if loc, ok := zoneCache.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	if slices.Contains(commonZones, name) || slices.Contains(otherZones, name) {
		zoneCache.Store(name, loc)
	}
	return loc, nil
}

// zoneLabel words a zone for people: "Europe/Moscow (UTC+03:00)".
func zoneLabel(name string) string {
	loc, err := loadZone(name)
	if err != nil {
		return cleanDisplay(name)
	}
	_, off := time.Now().In(loc).Zone()
	return strings.ReplaceAll(name, "_", " ") + " (" + utcOffset(off) + ")"
}

// utcOffset words an offset east of UTC in seconds: "UTC+03:00".
func utcOffset(off int) string {
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return "UTC" + sign + twoDigits(off/3600) + ":" + twoDigits(off%3600/60)
}

func twoDigits(n int) string {
	return string([]byte{byte('0' + n/10%10), byte('0' + n%10)})
}

// validZone reports whether name is an IANA zone the box can load ("Local" and "" are not).
func validZone(name string) bool {
	if name == "" || strings.EqualFold(name, "local") || len(name) > 64 {
		return false
	}
	_, err := loadZone(name)
	return err == nil
}

// boxZone is the box's time zone name: the setting, else the zone of the first working hours
// in the current flow, else defaultTimeZone.
func (s *Server) boxZone(ctx context.Context) string {
	if z, err := s.store.Setting(ctx, settingTimeZone, ""); err == nil && validZone(z) {
		return z
	}
	if f, _, err := s.currentFlow(ctx, langRU); err == nil {
		for _, n := range f.Nodes {
			if n.Kind == ivr.KindSchedule && n.Schedule != nil && validZone(n.Schedule.TimeZone) {
				return n.Schedule.TimeZone
			}
		}
	}
	return defaultTimeZone
}
