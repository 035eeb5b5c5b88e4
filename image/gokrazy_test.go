package image

import (
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// gokrazyConfig is the part of gok's config.json (github.com/gokrazy/internal/config) that the
// box depends on.
type gokrazyConfig struct {
	Hostname string
	Update   struct {
		HTTPPort, HTTPSPort, HTTPPassword string
		NoPassword                        bool
	}
	Environment   []string
	Packages      []string
	PackageConfig map[string]struct {
		GoBuildFlags     []string
		CommandLineFlags []string
		WaitForClock     bool
	}
	KernelPackage, FirmwarePackage, EEPROMPackage string
	GokrazyPackages                               *[]string
	SerialConsole                                 string
	BootloaderExtraLines                          []string
}

// gokrazyPackages are the programs of gokrazy that the image runs besides its init (which
// also feeds the hardware watchdog): DHCP, NTP, and randomd, which carries the random seed
// across reboots on /perm. The default list also has cmd/heartbeat, which only reports to a
// gokrazy update server (GUS) and exits at once without one; left out, it saves 10 MB.
var gokrazyPackages = []string{
	"github.com/gokrazy/gokrazy/cmd/dhcp",
	"github.com/gokrazy/gokrazy/cmd/ntp",
	"github.com/gokrazy/gokrazy/cmd/randomd",
}

// goFlags is the GOFLAGS entry of both instances' Environment: gok builds every program of the
// image, its init included, with it, so they carry neither symbol table nor DWARF.
const goFlags = "GOFLAGS=-trimpath '-ldflags=-s -w'"

// listOrDefault prints a GokrazyPackages setting; unset means gok's default list.
func listOrDefault(pkgs *[]string) string {
	if pkgs == nil {
		return "unset (gok's default, with heartbeat)"
	}
	return fmt.Sprintf("%q", *pkgs)
}

func readGokrazyConfig(t *testing.T) gokrazyConfig {
	t.Helper()
	return readInstanceConfig(t, "hotline")
}

func readInstanceConfig(t *testing.T, instance string) gokrazyConfig {
	t.Helper()
	b, err := os.ReadFile("gokrazy/" + instance + "/config.json")
	if err != nil {
		t.Fatal(err)
	}
	var cfg gokrazyConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("%s/config.json: %v", instance, err)
	}
	return cfg
}

func TestGokrazyConfig(t *testing.T) {
	cfg := readGokrazyConfig(t)
	if cfg.Hostname != "hotline" {
		t.Errorf("Hostname %q, want hotline", cfg.Hostname)
	}
	if !slices.Equal(cfg.Packages, []string{"hotline"}) {
		t.Errorf("Packages %q, want only hotline", cfg.Packages)
	}
	if !slices.Contains(cfg.Environment, "GOARCH=arm64") {
		t.Errorf("Environment %q: the Pi 3, 4, 5 and Zero 2 W run arm64", cfg.Environment)
	}
	for _, p := range []string{cfg.Update.HTTPPort, cfg.Update.HTTPSPort} {
		if p == "" || p == "80" || p == "443" {
			t.Errorf("gokrazy's web page on port %q: it must move aside for the admin on 80 and 443", p)
		}
	}
	if cfg.Update.HTTPPassword != "" || cfg.Update.NoPassword {
		t.Error("gokrazy's password is in config.json or turned off: it belongs to the build machine (~/.config/gokrazy/http-password.txt)")
	}
	pc := cfg.PackageConfig["hotline"]
	if want := []string{"run", "--data", "/perm/hotline", "--listen", ":80", "--https", ":443", "--mdns", "hotline"}; !slices.Equal(pc.CommandLineFlags, want) {
		t.Errorf("hotline flags %q, want %q", pc.CommandLineFlags, want)
	}
	if !slices.Contains(pc.GoBuildFlags, "-ldflags=-s -w -X main.version=@VERSION@") {
		t.Errorf("hotline build flags %q: no version for build-image.sh to fill in", pc.GoBuildFlags)
	}
	if pc.WaitForClock {
		t.Error("hotline waits for the clock: without internet (NTP) it would never answer a call")
	}
	if got := cfg.GokrazyPackages; got == nil || !slices.Equal(*got, gokrazyPackages) {
		t.Errorf("GokrazyPackages %s, want %q", listOrDefault(got), gokrazyPackages)
	}
	if !slices.Contains(cfg.Environment, goFlags) {
		t.Errorf("Environment %q has no %s", cfg.Environment, goFlags)
	}
	for _, tt := range []struct{ name, got, want string }{
		{"KernelPackage", cfg.KernelPackage, "github.com/gokrazy/kernel.rpi"},
		{"FirmwarePackage", cfg.FirmwarePackage, "github.com/gokrazy/firmware"},
		{"EEPROMPackage", cfg.EEPROMPackage, "github.com/gokrazy/rpi-eeprom"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

// TestGokrazyPinned checks that every module the image is built from is imported by
// gokrazydeps.go and required by go.mod, so that build-image.sh builds the same image from
// the same commit.
func TestGokrazyPinned(t *testing.T) {
	cfg := readGokrazyConfig(t)
	src, err := os.ReadFile("gokrazydeps.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(src), "//go:build gokrazydeps\n") {
		t.Error("gokrazydeps.go is not behind the gokrazydeps build tag")
	}
	f, err := parser.ParseFile(token.NewFileSet(), "gokrazydeps.go", src, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var imported []string
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		imported = append(imported, p)
	}
	for _, want := range []string{"github.com/gokrazy/gokrazy", cfg.KernelPackage, cfg.FirmwarePackage, cfg.EEPROMPackage} {
		if !slices.Contains(imported, want) {
			t.Errorf("gokrazydeps.go does not import %s", want)
			continue
		}
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", want).CombinedOutput()
		if v := strings.TrimSpace(string(out)); err != nil || v == "" {
			t.Errorf("%s is not required by go.mod (go get %s@VERSION): %v %s", want, want, err, out)
		}
	}
	if out, err := exec.Command("go", "list", "-tags", "gokrazydeps", "-deps", ".").CombinedOutput(); err != nil {
		t.Errorf("go list -tags gokrazydeps: %v\n%s", err, out)
	}
}

// TestGokrazyVMConfig checks the PC instance that boottest boots under qemu: the same box as
// the Pi's, on amd64, with the simulated modem on the two USB serial ports that qemu's
// usb-serial devices become, the serial console on the first UART, and its kernel pinned.
func TestGokrazyVMConfig(t *testing.T) {
	vm := readInstanceConfig(t, "hotline-vm")
	pi := readGokrazyConfig(t)
	for _, tt := range []struct{ name, got, want string }{
		{"Hostname", vm.Hostname, pi.Hostname},
		{"Update.HTTPPort", vm.Update.HTTPPort, pi.Update.HTTPPort},
		{"Update.HTTPPassword", vm.Update.HTTPPassword, "boot-test"}, // boottest logs in with it
		{"KernelPackage", vm.KernelPackage, "github.com/gokrazy/kernel.amd64"},
		{"FirmwarePackage", vm.FirmwarePackage, ""},
		{"EEPROMPackage", vm.EEPROMPackage, ""},
		{"SerialConsole", vm.SerialConsole, "ttyS0,115200"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if got := vm.GokrazyPackages; got == nil || !slices.Equal(*got, gokrazyPackages) {
		t.Errorf("GokrazyPackages %s, want the Pi's %q", listOrDefault(got), gokrazyPackages)
	}
	if !slices.Contains(vm.Environment, goFlags) {
		t.Errorf("Environment %q has no %s", vm.Environment, goFlags)
	}
	if !slices.Equal(vm.Packages, pi.Packages) || !slices.Contains(vm.Environment, "GOARCH=amd64") {
		t.Errorf("Packages %q, Environment %q: want %q on amd64", vm.Packages, vm.Environment, pi.Packages)
	}
	want := append(slices.Clone(pi.PackageConfig["hotline"].CommandLineFlags),
		"--modem", "/dev/ttyUSB0,audio=/dev/ttyUSB1,kind=quectel")
	if got := vm.PackageConfig["hotline"].CommandLineFlags; !slices.Equal(got, want) {
		t.Errorf("hotline flags %q, want %q", got, want)
	}
	if got, want := vm.PackageConfig["hotline"].GoBuildFlags, pi.PackageConfig["hotline"].GoBuildFlags; !slices.Equal(got, want) {
		t.Errorf("hotline build flags %q, want the Pi's %q", got, want)
	}
	src, err := os.ReadFile("gokrazydeps.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), strconv.Quote(vm.KernelPackage)) {
		t.Errorf("gokrazydeps.go does not import %s", vm.KernelPackage)
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", vm.KernelPackage).CombinedOutput()
	if v := strings.TrimSpace(string(out)); err != nil || v == "" {
		t.Errorf("%s is not required by go.mod: %v %s", vm.KernelPackage, err, out)
	}
}
