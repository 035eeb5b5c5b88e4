package discover

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// buildTree makes a fake sysfs and /dev below a temporary root from a description in
// testdata (git keeps no symlinks portably, so the links are made here):
//
//	device USBPATH VID PID        a USB device
//	attr USBPATH NAME VALUE...    one of its attribute files
//	noattr USBPATH NAME           remove an attribute file
//	usb USBPATH IFACE TTY [BYID]  a usb-serial port on an interface (class ff), by-id name
//	acm USBPATH IFACE TTY [BYID]  a CDC-ACM port on an interface (class 02)
//	cut TTY                       remove the port's interface directory; links dangle
func buildTree(t *testing.T, desc string) string {
	t.Helper()
	root := t.TempDir()
	usb := filepath.Join(root, "sys/devices/pci0000:00/0000:00:14.0/usb1")
	ifaceDir := map[string]string{}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, value string) {
		t.Helper()
		must(os.MkdirAll(filepath.Dir(path), 0o755))
		must(os.WriteFile(path, []byte(value+"\n"), 0o644))
	}
	link := func(target, name string) {
		t.Helper()
		must(os.MkdirAll(filepath.Dir(name), 0o755))
		rel, err := filepath.Rel(filepath.Dir(name), target)
		must(err)
		must(os.Symlink(rel, name))
	}
	for _, dir := range []string{"sys/bus/usb-serial/devices", "sys/class/tty", "dev"} {
		must(os.MkdirAll(filepath.Join(root, dir), 0o755))
	}
	// A port that is no USB serial port at all must be ignored.
	must(os.MkdirAll(filepath.Join(root, "sys/devices/platform/serial8250/tty/ttyS0"), 0o755))
	link(filepath.Join(root, "sys/devices/platform/serial8250/tty/ttyS0"), filepath.Join(root, "sys/class/tty/ttyS0"))

	sc := bufio.NewScanner(strings.NewReader(desc))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch {
		case f[0] == "device" && len(f) == 4:
			write(filepath.Join(usb, f[1], "idVendor"), f[2])
			write(filepath.Join(usb, f[1], "idProduct"), f[3])
			write(filepath.Join(usb, f[1], "devpath"), strings.SplitN(f[1], "-", 2)[1])
		case f[0] == "attr" && len(f) >= 4:
			write(filepath.Join(usb, f[1], f[2]), strings.Join(f[3:], " "))
		case f[0] == "noattr" && len(f) == 3:
			must(os.Remove(filepath.Join(usb, f[1], f[2])))
		case (f[0] == "usb" || f[0] == "acm") && (len(f) == 4 || len(f) == 5):
			var n int
			_, err := fmt.Sscan(f[2], &n)
			must(err)
			iface := filepath.Join(usb, f[1], fmt.Sprintf("%s:1.%d", f[1], n))
			write(filepath.Join(iface, "bInterfaceNumber"), fmt.Sprintf("%02x", n))
			tty := filepath.Join(iface, f[3])
			class := "ff"
			byClass := filepath.Join(root, "sys/bus/usb-serial/devices", f[3])
			if f[0] == "acm" {
				tty = filepath.Join(iface, "tty", f[3])
				class = "02"
				byClass = filepath.Join(root, "sys/class/tty", f[3])
			}
			write(filepath.Join(iface, "bInterfaceClass"), class)
			must(os.MkdirAll(tty, 0o755))
			link(tty, byClass)
			write(filepath.Join(root, "dev", f[3]), "")
			if len(f) == 5 {
				link(filepath.Join(root, "dev", f[3]), filepath.Join(root, "dev/serial/by-id", f[4]))
			}
			ifaceDir[f[3]] = iface
		case f[0] == "cut" && len(f) == 2:
			must(os.RemoveAll(ifaceDir[f[1]]))
		default:
			t.Fatalf("bad description line %q", sc.Text())
		}
	}
	must(sc.Err())
	return root
}

func TestFind(t *testing.T) {
	const (
		ec25ID = "/dev/serial/by-id/usb-Quectel_EC25_0123456789ABCDEF-if0"
		e173ID = "/dev/serial/by-id/usb-HUAWEI_Technology_HUAWEI_Mobile-if0"
		ec2ID  = "/dev/serial/by-id/usb-Quectel_EC25_EC25SERIAL-if0"
		simID  = "/dev/serial/by-id/usb-SimTech__Incorporated_SimTech__Incorporated_SIMSERIAL-if0"
	)
	ec25 := Modem{
		Kind: Quectel, Vendor: "2c7c", Product: "0125", Serial: "0123456789ABCDEF", Name: "Quectel EC25",
		AT: ec25ID + "2-port0", Audio: ec25ID + "1-port0", USBPath: "1-1.3",
		Ports: []Port{
			{0, "ttyUSB0", ec25ID + "0-port0"}, {1, "ttyUSB1", ec25ID + "1-port0"},
			{2, "ttyUSB2", ec25ID + "2-port0"}, {3, "ttyUSB3", ec25ID + "3-port0"},
		},
	}
	sim7600 := Modem{
		Kind: SIMCom, Vendor: "1e0e", Product: "9001", Serial: "0123456789ABCDEF",
		Name: "SimTech, Incorporated SimTech, Incorporated",
		AT:   "/dev/ttyUSB2", Audio: "/dev/ttyUSB4", USBPath: "1-1.2",
		Ports: []Port{
			{0, "ttyUSB0", "/dev/ttyUSB0"}, {1, "ttyUSB1", "/dev/ttyUSB1"}, {2, "ttyUSB2", "/dev/ttyUSB2"},
			{3, "ttyUSB3", "/dev/ttyUSB3"}, {4, "ttyUSB4", "/dev/ttyUSB4"},
		},
	}
	e173 := Modem{
		Kind: Huawei, Vendor: "12d1", Product: "1436", Name: "HUAWEI Technology HUAWEI Mobile",
		AT: e173ID + "2-port0", Audio: e173ID + "1-port0", USBPath: "1-1.4",
		Ports: []Port{{0, "ttyUSB0", e173ID + "0-port0"}, {1, "ttyUSB1", e173ID + "1-port0"}, {2, "ttyUSB2", e173ID + "2-port0"}},
	}
	simBoth := Modem{
		Kind: SIMCom, Vendor: "1e0e", Product: "9001", Serial: "SIMSERIAL",
		Name: "SimTech, Incorporated SimTech, Incorporated",
		AT:   simID + "2-port0", Audio: simID + "4-port0", USBPath: "1-1.2",
		Ports: []Port{
			{0, "ttyUSB0", simID + "0-port0"}, {1, "ttyUSB1", simID + "1-port0"}, {2, "ttyUSB2", simID + "2-port0"},
			{3, "ttyUSB3", simID + "3-port0"}, {4, "ttyUSB4", simID + "4-port0"},
		},
	}
	ecBoth := Modem{
		Kind: Quectel, Vendor: "2c7c", Product: "0125", Serial: "EC25SERIAL", Name: "Quectel EC25",
		AT: ec2ID + "2-port0", Audio: ec2ID + "1-port0", USBPath: "1-1.10",
		Ports: []Port{
			{0, "ttyUSB5", ec2ID + "0-port0"}, {1, "ttyUSB6", ec2ID + "1-port0"},
			{2, "ttyUSB7", ec2ID + "2-port0"}, {3, "ttyUSB8", ec2ID + "3-port0"},
		},
	}
	for _, tt := range []struct {
		file string
		want []Modem
	}{
		{"ec25.txt", []Modem{ec25}},
		{"sim7600.txt", []Modem{sim7600}},
		{"e173.txt", []Modem{e173}},
		{"ec25_sim7600.txt", []Modem{simBoth, ecBoth}},
		{"ch340.txt", []Modem{{
			Kind: "", Vendor: "1a86", Product: "7523", Name: "USB Serial",
			AT: "/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0", USBPath: "1-1.5",
			Ports: []Port{{0, "ttyUSB0", "/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0"}},
		}}},
		{"acm_voice.txt", []Modem{
			{
				Kind: FXO, Vendor: "0572", Product: "1329", Serial: "24680246", Name: "Conexant USB Modem",
				AT: "/dev/serial/by-id/usb-Conexant_USB_Modem_24680246-if00", USBPath: "1-1.4",
				Ports: []Port{{0, "ttyACM0", "/dev/serial/by-id/usb-Conexant_USB_Modem_24680246-if00"}},
			},
			{
				Kind: FXO, Vendor: "0baf", Product: "0303", Name: "U.S.Robotics USB Modem",
				AT: "/dev/ttyACM1", USBPath: "1-1.5",
				Ports: []Port{{0, "ttyACM1", "/dev/ttyACM1"}},
			},
		}},
		{"unplugged.txt", []Modem{{
			Kind: Quectel, Vendor: "2c7c", Product: "0125", Name: "Quectel EC25",
			AT: "", Audio: "/dev/serial/by-id/usb-Quectel_EC25-if01-port0", USBPath: "1-1.3",
			Ports: []Port{{0, "ttyUSB0", "/dev/ttyUSB0"}, {1, "ttyUSB1", "/dev/serial/by-id/usb-Quectel_EC25-if01-port0"}},
		}}},
		{"", nil}, // nothing plugged in
	} {
		t.Run(tt.file, func(t *testing.T) {
			var desc []byte
			if tt.file != "" {
				var err error
				if desc, err = os.ReadFile(filepath.Join("testdata", tt.file)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Find(buildTree(t, string(desc)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Find:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestFindEmptyRoot(t *testing.T) {
	// A root without /sys/bus/usb-serial (the driver is not loaded) and without /dev/serial.
	got, err := Find(t.TempDir())
	if err != nil || len(got) != 0 {
		t.Fatalf("Find(empty) = %v, %v; want nothing", got, err)
	}
}

func TestLessUSBPath(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"1-1.2", "1-1.10", true},
		{"1-1.10", "1-1.2", false},
		{"1-1", "1-1.1", true},
		{"1-1.1", "2-1", true},
		{"1-1.3", "1-1.3", false},
		{"usb1", "usb2", true},
	} {
		if got := lessUSBPath(tt.a, tt.b); got != tt.want {
			t.Errorf("lessUSBPath(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
