// Package discover finds the modems plugged into the box: it walks sysfs from each USB serial
// port (ttyUSB*, ttyACM*) back to its USB interface and device, groups the ports of one device,
// and names, from the vendor and product IDs and the interface numbers, the kind of modem and
// which port carries AT commands and which carries call audio. Probe asks a port itself when
// the IDs say nothing.
package discover

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Kinds of modem, as daemon.ModemSpec names them.
const (
	Quectel = "quectel" // Quectel EC2x/EG25/EG9x: serial PCM on interface 1
	SIMCom  = "simcom"  // SIMCom SIM7500/SIM7600: serial PCM on interface 4
	Huawei  = "huawei"  // Huawei 3G dongles of the E1550/E173 kind: audio on the DIAG port
	FXO     = "fxo"     // analog voice modem (V.253); AT commands and audio share one port
)

// Modem is one USB device with serial ports.
type Modem struct {
	// Kind is Quectel, SIMCom or Huawei when the USB IDs say so; FXO for a USB CDC-ACM modem
	// of another vendor, which is only a candidate until Probe confirms it; "" for a device
	// this package does not know.
	Kind string
	// Vendor and Product are the USB IDs in hex as sysfs spells them ("2c7c", "0125").
	Vendor, Product string
	// Serial is the USB serial number string; empty when the device has none.
	Serial string
	// Name is the device's manufacturer and product strings ("Quectel EC25").
	Name string
	// AT is the port that takes AT commands and Audio the one that carries call audio; either
	// is empty when the device lacks it (an analog modem has no separate audio port, a device
	// pulled out half-way may have lost some). For an unknown device AT is its first port.
	// Paths are names under /dev/serial/by-id when udev made them, which stay the same when
	// the modem is plugged in again, else /dev/ttyUSBn or /dev/ttyACMn.
	AT, Audio string
	// USBPath is the kernel's name for the device, its bus and port chain ("1-1.3"): the same
	// for whatever is plugged into that socket.
	USBPath string
	// Ports are all the device's serial ports, by interface number.
	Ports []Port
}

// Port is one serial port of a USB device.
type Port struct {
	Interface int    // bInterfaceNumber
	TTY       string // kernel name: "ttyUSB2"
	Path      string // the path to open, as for Modem.AT
}

// ID is "vendor:product".
func (m Modem) ID() string { return m.Vendor + ":" + m.Product }

// layout says which interfaces of a known device carry AT commands and audio.
type layout struct {
	kind      string
	at, audio int
}

var (
	// EC25 (2c7c:0125) and its kin: if0 QCDM/DIAG, if1 GPS/NMEA (which carries the audio after
	// AT+QPCMV=1,0), if2 AT primary, if3 AT secondary (ModemManager's Quectel port rules).
	quectelLayout = layout{Quectel, 2, 1}
	// SIM7600 (1e0e:9001): if0 QCDM, if1 GPS, if2 AT primary, if3 AT secondary, if4 audio
	// (ModemManager's SIMCom port rules).
	simcomLayout = layout{SIMCom, 2, 4}
	// Huawei dongles: the common E1550/E173 layout is if0 modem (PPP), if1 DIAG/QCDM, which
	// switches to voice during a call and so is the audio port, and if2 PCUI, the AT port
	// (chan_dongle's dongle.conf: audio=/dev/ttyUSB1, data=/dev/ttyUSB2). Other Huawei
	// products order their interfaces differently; those need --modem.
	huaweiLayout = layout{Huawei, 2, 1}
)

// known maps "vendor:product" (or "vendor:*") to a layout.
var known = map[string]layout{
	"2c7c:*":    quectelLayout,
	"05c6:9215": quectelLayout, // early Quectel EC20 firmware with Qualcomm's vendor ID
	"1e0e:9001": simcomLayout,
	"12d1:*":    huaweiLayout,
}

func lookup(vendor, product string) (layout, bool) {
	if l, ok := known[vendor+":"+product]; ok {
		return l, true
	}
	l, ok := known[vendor+":*"]
	return l, ok
}

// ttyPort is a port found in sysfs before grouping.
type ttyPort struct {
	tty     string
	iface   int
	class   string // bInterfaceClass: "02" for CDC-ACM
	devDir  string // the USB device's sysfs directory
	acmPort bool
}

// Find lists the USB modems below root: "/" on the box, a fake tree in tests. Ports that
// vanish while it looks (a modem being unplugged) are left out. The result is ordered by
// USB path. Paths in the result are absolute paths on the box, without root.
func Find(root string) ([]Modem, error) {
	var ports []ttyPort
	for _, g := range []struct {
		pattern string
		acm     bool
	}{
		{"sys/bus/usb-serial/devices/ttyUSB*", false},
		{"sys/class/tty/ttyACM*", true},
	} {
		links, err := filepath.Glob(filepath.Join(root, g.pattern))
		if err != nil {
			return nil, fmt.Errorf("discover: %w", err)
		}
		for _, link := range links {
			p, err := readPort(link)
			if errors.Is(err, fs.ErrNotExist) {
				continue // unplugged while we looked
			}
			if err != nil {
				return nil, fmt.Errorf("discover: %w", err)
			}
			p.acmPort = g.acm
			ports = append(ports, p)
		}
	}
	byID, err := byIDNames(root)
	if err != nil {
		return nil, fmt.Errorf("discover: %w", err)
	}

	groups := map[string][]ttyPort{}
	for _, p := range ports {
		groups[p.devDir] = append(groups[p.devDir], p)
	}
	var out []Modem
	for dir, ps := range groups {
		m, err := readDevice(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("discover: %w", err)
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i].iface < ps[j].iface })
		acm := false
		for _, p := range ps {
			path := "/dev/" + p.tty
			if n, ok := byID[p.tty]; ok {
				path = n
			}
			m.Ports = append(m.Ports, Port{Interface: p.iface, TTY: p.tty, Path: path})
			acm = acm || (p.acmPort && p.class == "02")
		}
		if l, ok := lookup(m.Vendor, m.Product); ok {
			m.Kind = l.kind
			m.AT = m.portPath(l.at)
			m.Audio = m.portPath(l.audio)
		} else {
			if acm {
				m.Kind = FXO
			}
			m.AT = m.Ports[0].Path
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return lessUSBPath(out[i].USBPath, out[j].USBPath) })
	return out, nil
}

func (m Modem) portPath(iface int) string {
	for _, p := range m.Ports {
		if p.Interface == iface {
			return p.Path
		}
	}
	return ""
}

// readPort follows a port's sysfs link to its USB interface (the nearest directory above it
// with bInterfaceNumber) and device (the interface's parent, with idVendor).
func readPort(link string) (ttyPort, error) {
	p := ttyPort{tty: filepath.Base(link)}
	dir, err := filepath.EvalSymlinks(link)
	if err != nil {
		return p, err
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if d == filepath.Dir(d) || filepath.Base(d) == "devices" {
			return p, fmt.Errorf("%s: no USB interface above it: %w", link, fs.ErrNotExist)
		}
		num, err := readAttr(d, "bInterfaceNumber")
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return p, err
		}
		n, err := strconv.ParseUint(num, 16, 8)
		if err != nil {
			return p, fmt.Errorf("%s: bInterfaceNumber %q: %w", d, num, err)
		}
		p.iface = int(n)
		p.class, _ = readAttr(d, "bInterfaceClass")
		p.devDir = filepath.Dir(d)
		return p, nil
	}
}

// readDevice reads the USB device attributes; idVendor and idProduct must be there.
func readDevice(dir string) (Modem, error) {
	m := Modem{USBPath: filepath.Base(dir)}
	var err error
	if m.Vendor, err = readAttr(dir, "idVendor"); err != nil {
		return m, err
	}
	if m.Product, err = readAttr(dir, "idProduct"); err != nil {
		return m, err
	}
	m.Serial, _ = readAttr(dir, "serial")
	maker, _ := readAttr(dir, "manufacturer")
	product, _ := readAttr(dir, "product")
	m.Name = strings.TrimSpace(maker + " " + product)
	return m, nil
}

func readAttr(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// byIDNames maps a tty name to its stable name in /dev/serial/by-id.
func byIDNames(root string) (map[string]string, error) {
	out := map[string]string{}
	entries, err := os.ReadDir(filepath.Join(root, "dev/serial/by-id"))
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil // udev made none (no USB serial device, or no udev)
	}
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(root, "dev/serial/by-id", e.Name()))
		if err != nil {
			continue // not a link
		}
		tty := filepath.Base(target)
		// Two names for one tty: keep the first in order, so the answer does not vary.
		if _, dup := out[tty]; !dup {
			out[tty] = "/dev/serial/by-id/" + e.Name()
		}
	}
	return out, nil
}

// lessUSBPath orders "1-1.2" before "1-1.10": numbers compare as numbers.
func lessUSBPath(a, b string) bool {
	fa := strings.FieldsFunc(a, isSep)
	fb := strings.FieldsFunc(b, isSep)
	for i := 0; i < len(fa) && i < len(fb); i++ {
		na, ea := strconv.Atoi(fa[i])
		nb, eb := strconv.Atoi(fb[i])
		switch {
		case ea == nil && eb == nil && na != nb:
			return na < nb
		case (ea != nil || eb != nil) && fa[i] != fb[i]:
			return fa[i] < fb[i]
		}
	}
	return len(fa) < len(fb)
}

func isSep(r rune) bool { return r == '-' || r == '.' || r == ':' }
