package image

import (
	"maps"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The tests run udev/99-hotline.rules through a small interpreter of the part of the udev
// rules language they use (udev(7)): the machines that build the box have no modem to plug in,
// and udevadm of systemd 252 has no verify command yet.

type udevKey struct {
	name, attr, op, value string
}

var udevKeyRE = regexp.MustCompile(`^([A-Z_]+)(?:\{([^}]*)\})?(==|!=|\+=|-=|:=|=)"([^"]*)"$`)

// udevMatchKeys and udevAssignKeys are the keys the interpreter knows.
var (
	udevMatchKeys  = []string{"ACTION", "SUBSYSTEM", "KERNEL", "ENV", "ATTR", "SUBSYSTEMS", "ATTRS"}
	udevAssignKeys = []string{"ENV", "SYMLINK", "GROUP", "MODE", "IMPORT", "GOTO", "LABEL"}
)

func parseUdevRules(t *testing.T, file string) [][]udevKey {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rules [][]udevKey
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var rule []udevKey
		for _, field := range strings.Split(line, ", ") {
			m := udevKeyRE.FindStringSubmatch(strings.TrimSpace(field))
			if m == nil {
				t.Fatalf("%s:%d: cannot parse %q", file, n+1, field)
			}
			k := udevKey{m[1], m[2], m[3], m[4]}
			known := udevMatchKeys
			if k.op != "==" && k.op != "!=" {
				known = udevAssignKeys
			}
			if !slices.Contains(known, k.name) {
				t.Fatalf("%s:%d: key %s with %s is not one the test knows", file, n+1, k.name, k.op)
			}
			rule = append(rule, k)
		}
		rules = append(rules, rule)
	}
	return rules
}

type udevNode struct {
	subsystem string
	attr      map[string]string
}

// udevEvent is a device as udev sees it: its own node first, then its parents.
type udevEvent struct {
	action, kernel string
	env            map[string]string
	nodes          []udevNode
	builtin        map[string]map[string]string // IMPORT{builtin}="name" adds these properties
}

type udevResult struct {
	env      map[string]string
	symlinks []string
	group    string
}

func udevGlob(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

func runUdevRules(t *testing.T, rules [][]udevKey, ev udevEvent) udevResult {
	t.Helper()
	res := udevResult{env: maps.Clone(ev.env)}
	subst := regexp.MustCompile(`\$env\{([^}]*)\}`)
	goTo := ""
	for _, rule := range rules {
		if goTo != "" {
			if rule[0].name == "LABEL" && rule[0].value == goTo {
				goTo = ""
			}
			continue
		}
		matched := true
		var parentKeys []udevKey
		for _, k := range rule {
			if k.op != "==" && k.op != "!=" {
				continue
			}
			var got string
			switch k.name {
			case "ACTION":
				got = ev.action
			case "SUBSYSTEM":
				got = ev.nodes[0].subsystem
			case "KERNEL":
				got = ev.kernel
			case "ENV":
				got = res.env[k.attr]
			case "ATTR":
				got = ev.nodes[0].attr[k.attr]
			case "SUBSYSTEMS", "ATTRS":
				parentKeys = append(parentKeys, k)
				continue
			default:
				continue
			}
			if (k.op == "==") != udevGlob(k.value, got) {
				matched = false
			}
		}
		if len(parentKeys) > 0 {
			// All SUBSYSTEMS and ATTRS keys of a rule match on one node.
			matched = matched && slices.ContainsFunc(ev.nodes, func(n udevNode) bool {
				for _, k := range parentKeys {
					got := n.subsystem
					if k.name == "ATTRS" {
						got = n.attr[k.attr]
					}
					if !udevGlob(k.value, got) {
						return false
					}
				}
				return true
			})
		}
		if !matched {
			continue
		}
		for _, k := range rule {
			if k.op == "==" || k.op == "!=" {
				continue
			}
			v := subst.ReplaceAllStringFunc(k.value, func(s string) string {
				return res.env[subst.FindStringSubmatch(s)[1]]
			})
			switch k.name {
			case "ENV":
				res.env[k.attr] = v
			case "SYMLINK":
				res.symlinks = append(res.symlinks, v)
			case "GROUP":
				res.group = v
			case "IMPORT":
				maps.Copy(res.env, ev.builtin[v])
			case "GOTO":
				goTo = v
			}
		}
	}
	return res
}

func usbTTY(action, vendor, product, serial, ifnum string) udevEvent {
	return udevEvent{
		action: action,
		kernel: "ttyUSB" + ifnum[1:],
		env:    map[string]string{},
		nodes: []udevNode{
			{subsystem: "tty", attr: map[string]string{}},
			{subsystem: "usb-serial", attr: map[string]string{"port_number": "0"}},
			{subsystem: "usb", attr: map[string]string{"bInterfaceNumber": ifnum}},
			{subsystem: "usb", attr: map[string]string{"idVendor": vendor, "idProduct": product, "serial": serial}},
		},
		builtin: map[string]map[string]string{
			"usb_id":  {"ID_SERIAL_SHORT": serial, "ID_USB_INTERFACE_NUM": ifnum},
			"path_id": {"ID_PATH_TAG": "platform-fd500000_pcie-pci-0000_01_00_0-usb-0_1_3_1_" + ifnum[1:]},
		},
	}
}

func usbDevice(vendor, product string) udevEvent {
	return udevEvent{
		action: "add",
		kernel: "1-1.3",
		env:    map[string]string{"DEVTYPE": "usb_device"},
		nodes:  []udevNode{{subsystem: "usb", attr: map[string]string{"idVendor": vendor, "idProduct": product}}},
	}
}

func TestUdevRules(t *testing.T) {
	rules := parseUdevRules(t, "udev/99-hotline.rules")
	gpiochip := udevEvent{action: "add", kernel: "gpiochip0", env: map[string]string{}, nodes: []udevNode{{subsystem: "gpio"}}}
	for _, tt := range []struct {
		name     string
		ev       udevEvent
		ignored  bool // by ModemManager
		symlinks []string
		group    string
	}{
		{"Quectel EC25 AT port", usbTTY("add", "2c7c", "0125", "0123456789ABCDEF", "02"), true,
			[]string{"hotline/quectel-0123456789ABCDEF-if02"}, "dialout"},
		{"Quectel EC25 audio port", usbTTY("add", "2c7c", "0125", "0123456789ABCDEF", "01"), true,
			[]string{"hotline/quectel-0123456789ABCDEF-if01"}, "dialout"},
		{"Quectel EG25 on change", usbTTY("change", "2c7c", "0195", "X1", "03"), true,
			[]string{"hotline/quectel-X1-if03"}, "dialout"},
		{"SIMCom SIM7600", usbTTY("add", "1e0e", "9001", "c1e5b2d4", "04"), true,
			[]string{"hotline/simcom-c1e5b2d4-if04"}, "dialout"},
		{"SIMCom, another product", usbTTY("add", "1e0e", "9011", "c1e5b2d4", "04"), false, nil, ""},
		{"Huawei without a serial number", usbTTY("add", "12d1", "1506", "", "00"), true,
			[]string{"hotline/huawei-port-platform-fd500000_pcie-pci-0000_01_00_0-usb-0_1_3_1_0-if00"}, "dialout"},
		{"FTDI adapter", usbTTY("add", "0403", "6001", "A50285BI", "00"), false, nil, ""},
		{"Quectel unplugged", usbTTY("remove", "2c7c", "0125", "0123456789ABCDEF", "02"), false, nil, ""},
		{"Quectel USB device", usbDevice("2c7c", "0125"), true, nil, ""},
		{"SIMCom USB device", usbDevice("1e0e", "9001"), true, nil, ""},
		{"Huawei USB device", usbDevice("12d1", "1506"), true, nil, ""},
		{"keyboard USB device", usbDevice("046d", "c31c"), false, nil, ""},
		{"GPIO chip", gpiochip, false, nil, "gpio"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := runUdevRules(t, rules, tt.ev)
			if got := res.env["ID_MM_DEVICE_IGNORE"] == "1"; got != tt.ignored {
				t.Errorf("ID_MM_DEVICE_IGNORE set %v, want %v", got, tt.ignored)
			}
			if !slices.Equal(res.symlinks, tt.symlinks) {
				t.Errorf("symlinks %q, want %q", res.symlinks, tt.symlinks)
			}
			if res.group != tt.group {
				t.Errorf("group %q, want %q", res.group, tt.group)
			}
		})
	}
}
