package image

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// boards are the Raspberry Pis the image is for, with the device tree the firmware picks for
// each and the firmware files it loads from the card. The Pi 3 and Zero 2 W load bootcode.bin,
// then start.elf and fixup.dat; the Pi 4 has its bootloader in the EEPROM and loads
// start4.elf and fixup4.dat; the Pi 5 has all of it in the EEPROM.
var boards = []struct {
	name     string
	dtb      string
	firmware []string
}{
	{"Pi 3 B", "bcm2710-rpi-3-b.dtb", []string{"bootcode.bin", "start.elf", "fixup.dat"}},
	{"Pi 3 B+", "bcm2710-rpi-3-b-plus.dtb", []string{"bootcode.bin", "start.elf", "fixup.dat"}},
	{"Pi Zero 2 W", "bcm2710-rpi-zero-2-w.dtb", []string{"bootcode.bin", "start.elf", "fixup.dat"}},
	{"Pi 4 B", "bcm2711-rpi-4-b.dtb", []string{"start4.elf", "fixup4.dat"}},
	{"Pi 5", "bcm2712-rpi-5-b.dtb", nil},
	{"Pi 5 (D0 stepping)", "bcm2712d0-rpi-5-b.dtb", nil},
}

// moduleDir returns the folder of module mod at the version in go.mod, downloading it if the
// module cache does not have it yet.
func moduleDir(t *testing.T, mod string) string {
	t.Helper()
	var m struct{ Dir, Error string }
	out, err := exec.Command("go", "mod", "download", "-json", mod).Output()
	if jerr := json.Unmarshal(out, &m); err != nil || jerr != nil || m.Dir == "" {
		t.Fatalf("go mod download %s: %v %v %s %s", mod, err, jerr, m.Error, out)
	}
	return m.Dir
}

// firmwareFiles returns the firmware_files list of build-image.sh.
func firmwareFiles(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("build-image.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^firmware_files="([^"]*)"$`).FindSubmatch(b)
	if m == nil {
		t.Fatal(`build-image.sh has no line firmware_files="..."`)
	}
	return strings.Fields(string(m[1]))
}

// TestPiFirmware checks the trimmed copy of github.com/gokrazy/firmware that build-image.sh
// puts in the image: every supported board finds its files there and in the kernel package,
// the files exist in the pinned firmware module, and nothing in config.txt asks the firmware
// for one of the variants that are left out.
func TestPiFirmware(t *testing.T) {
	files := firmwareFiles(t)
	fwDir := moduleDir(t, "github.com/gokrazy/firmware")
	kernelDir := moduleDir(t, "github.com/gokrazy/kernel.rpi")
	var needed []string
	for _, b := range boards {
		for _, f := range b.firmware {
			if !slices.Contains(files, f) {
				t.Errorf("%s loads %s, which build-image.sh leaves out", b.name, f)
			}
			needed = append(needed, f)
		}
		if _, err := os.Stat(filepath.Join(kernelDir, b.dtb)); err != nil {
			t.Errorf("%s: no device tree in the kernel package: %v", b.name, err)
		}
	}
	for _, f := range files {
		if !slices.Contains(needed, f) {
			t.Errorf("build-image.sh keeps %s, which no supported board loads", f)
		}
		if fi, err := os.Stat(filepath.Join(fwDir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s is not in %s (%v)", f, fwDir, err)
		}
	}
	for _, f := range []string{"go.mod", "firmware.go", "LICENSE.broadcom"} {
		if _, err := os.Stat(filepath.Join(fwDir, f)); err != nil {
			t.Errorf("build-image.sh copies %s, but: %v", f, err)
		}
	}

	// gok's config.txt is the kernel package's config.txt with BootloaderExtraLines added.
	lines := readLines(t, filepath.Join(kernelDir, "config.txt"))
	lines = append(lines, readGokrazyConfig(t).BootloaderExtraLines...)
	for _, line := range lines {
		if bad := firmwareVariantSetting(line); bad != "" {
			t.Errorf("config.txt line %q makes the firmware load %s, which the image leaves out", line, bad)
		}
	}
}

// firmwareVariantSetting returns the firmware variant a config.txt line selects (the
// Raspberry Pi documentation of config.txt, "Boot options" and "gpu_mem"), or "".
func firmwareVariantSetting(line string) string {
	line, _, _ = strings.Cut(line, "#")
	key, value, ok := strings.Cut(strings.TrimSpace(line), "=")
	if !ok {
		return ""
	}
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	switch key {
	case "start_x":
		if value != "0" {
			return "start_x.elf/start4x.elf"
		}
	case "start_debug":
		if value != "0" {
			return "start_db.elf/start4db.elf"
		}
	case "start_file", "start_file4", "fixup_file", "fixup_file4":
		return value
	case "gpu_mem", "gpu_mem_256", "gpu_mem_512", "gpu_mem_1024":
		if n, err := strconv.Atoi(value); err == nil && n <= 16 {
			return "start_cd.elf/start4cd.elf"
		}
	}
	return ""
}

func TestFirmwareVariantSetting(t *testing.T) {
	for _, tt := range []struct{ line, want string }{
		{"kernel=vmlinuz", ""},
		{"arm_control=0x200", ""},
		{"# start_x=1", ""},
		{"start_x=1", "start_x.elf/start4x.elf"},
		{"start_x=0", ""},
		{" start_debug = 1 ", "start_db.elf/start4db.elf"},
		{"start_file=start_cd.elf", "start_cd.elf"},
		{"fixup_file4=fixup4x.dat # camera", "fixup4x.dat"},
		{"gpu_mem=16", "start_cd.elf/start4cd.elf"},
		{"gpu_mem_512=16", "start_cd.elf/start4cd.elf"},
		{"gpu_mem=64", ""},
		{"enable_uart=1", ""},
	} {
		if got := firmwareVariantSetting(tt.line); got != tt.want {
			t.Errorf("firmwareVariantSetting(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}
