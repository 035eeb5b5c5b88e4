package image

import (
	"bufio"
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// need fails the test when an external program is missing, naming the Debian package that has it.
func need(t *testing.T, prog, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		t.Fatalf("%s is needed (Debian package %s): %v", prog, pkg, err)
	}
	return p
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

func TestDebVersion(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"v1.2.3", "1.2.3"},
		{"1.2.3", "1.2.3"},
		{"v1.2.3-4-gabcdef0", "1.2.3+4+gabcdef0"},
		{"v1.2.3-dirty", "1.2.3+dirty"},
		{"e861bff", "0~e861bff"},
		{"e861bff-dirty", "0~e861bff+dirty"},
		{"dev", "0~dev"},
		{"version", "0~version"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got := strings.TrimSpace(run(t, ".", nil, "./debversion.sh", tt.in))
			if got != tt.want {
				t.Errorf("debversion.sh %q = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "1.2 3", "1.2_3", "v1/2"} {
		cmd := exec.Command("./debversion.sh", bad)
		if out, err := cmd.Output(); err == nil {
			t.Errorf("debversion.sh %q = %q, want an error", bad, out)
		}
	}
}

const testVersion = "v1.2.3-4-gabcdef0"

var (
	debOnce sync.Once
	debPath string
	debErr  string
)

// buildDeb builds the amd64 package once per test binary and returns its path.
func buildDeb(t *testing.T) string {
	t.Helper()
	need(t, "dpkg-deb", "dpkg")
	debOnce.Do(func() {
		out := filepath.Join(os.TempDir(), "hotline-deb-test-"+strconv.Itoa(os.Getpid()))
		cmd := exec.Command("./build-deb.sh", testVersion, out, "amd64")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			debErr = err.Error() + "\n" + stderr.String()
			return
		}
		debPath = strings.TrimSpace(string(b))
	})
	if debErr != "" {
		t.Fatalf("build-deb.sh: %s", debErr)
	}
	return debPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if debPath != "" {
		os.RemoveAll(filepath.Dir(debPath))
	}
	os.Exit(code)
}

func TestDebControl(t *testing.T) {
	deb := buildDeb(t)
	if got, want := filepath.Base(deb), "hotline_1.2.3+4+gabcdef0_amd64.deb"; got != want {
		t.Errorf("package file %s, want %s", got, want)
	}
	for field, want := range map[string]string{
		"Package":      "hotline",
		"Version":      "1.2.3+4+gabcdef0",
		"Architecture": "amd64",
		"Depends":      "passwd",
		"Recommends":   "systemd, udev",
		"Section":      "comm",
	} {
		if got := strings.TrimSpace(run(t, ".", nil, "dpkg-deb", "-f", deb, field)); got != want {
			t.Errorf("control field %s = %q, want %q", field, got, want)
		}
	}
	info := run(t, ".", nil, "dpkg-deb", "-I", deb)
	for _, script := range []string{"postinst", "prerm", "postrm", "conffiles"} {
		if !regexp.MustCompile(`(?m)^\s+\d+ bytes,\s+\d+ lines\s+\*?\s+` + script + `\b`).MatchString(info) {
			t.Errorf("dpkg-deb -I: no %s in\n%s", script, info)
		}
	}
	for _, script := range []string{"postinst", "prerm", "postrm"} {
		if !regexp.MustCompile(`(?m)\*\s+` + script + `\s+#!/bin/sh`).MatchString(info) {
			t.Errorf("dpkg-deb -I: %s is not an executable /bin/sh script:\n%s", script, info)
		}
	}
	if got := run(t, ".", nil, "dpkg-deb", "-I", deb, "conffiles"); strings.TrimSpace(got) != "/etc/default/hotline" {
		t.Errorf("conffiles = %q, want /etc/default/hotline", got)
	}
}

func TestDebFiles(t *testing.T) {
	deb := buildDeb(t)
	want := map[string]string{ // path -> mode and owner as dpkg-deb -c prints them
		"./usr/bin/hotline":                        "-rwxr-xr-x root/root",
		"./usr/lib/systemd/system/hotline.service": "-rw-r--r-- root/root",
		"./usr/lib/udev/rules.d/99-hotline.rules":  "-rw-r--r-- root/root",
		"./usr/lib/modules-load.d/hotline.conf":    "-rw-r--r-- root/root",
		"./etc/default/hotline":                    "-rw-r--r-- root/root",
		"./usr/share/doc/hotline/INSTALL.md":       "-rw-r--r-- root/root",
	}
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(run(t, ".", nil, "dpkg-deb", "-c", deb)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 {
			t.Fatalf("dpkg-deb -c: odd line %q", sc.Text())
		}
		name := f[len(f)-1]
		if strings.HasSuffix(name, "/") {
			if f[0] != "drwxr-xr-x" || f[1] != "root/root" {
				t.Errorf("directory %s is %s %s, want drwxr-xr-x root/root", name, f[0], f[1])
			}
			continue
		}
		got[name] = f[0] + " " + f[1]
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %q, want %q", name, got[name], w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected file %s in the package", name)
		}
	}
	// The data folder is made by postinst and systemd, never shipped: dpkg would remove it.
	if _, ok := got["./var/lib/hotline"]; ok {
		t.Error("the package ships /var/lib/hotline")
	}
}

// extract unpacks the package into a throwaway root.
func extract(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	run(t, ".", nil, "dpkg-deb", "-x", buildDeb(t), root)
	return root
}

func TestDebBinary(t *testing.T) {
	root := extract(t)
	bin := filepath.Join(root, "usr/bin/hotline")
	if got, want := strings.TrimSpace(run(t, ".", nil, bin, "version")), "hotline "+testVersion; got != want {
		t.Errorf("hotline version = %q, want %q", got, want)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: built with cgo, it would need the C library of the box")
		}
	}
	if s := f.Section(".symtab"); s != nil {
		t.Error("the binary has a symbol table: not built with -s -w")
	}
}

func TestDebUnit(t *testing.T) {
	analyze := need(t, "systemd-analyze", "systemd")
	root := extract(t)
	unit, err := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/hotline.service"))
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string][]string{}
	for _, line := range strings.Split(string(unit), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			settings[k] = append(settings[k], v)
		}
	}
	for key, want := range map[string][]string{
		"Type":                     {"notify"},
		"WatchdogSec":              {"30"},
		"User":                     {"hotline"},
		"ExecStart":                {"/usr/bin/hotline run --data /var/lib/hotline --listen :80 --https :443 $HOTLINE_ARGS"},
		"Restart":                  {"always"},
		"StateDirectory":           {"hotline"},
		"RuntimeDirectory":         {"hotline"},
		"RuntimeDirectoryPreserve": {"restart"},
		"AmbientCapabilities":      {"CAP_NET_BIND_SERVICE"},
		"NoNewPrivileges":          {"yes"},
		"ProtectSystem":            {"strict"},
		"ProtectHome":              {"yes"},
		"PrivateTmp":               {"yes"},
		"DevicePolicy":             {"closed"},
		"DeviceAllow":              {"char-ttyUSB rw", "char-ttyACM rw", "char-gpiochip rw"},
		"SystemCallFilter":         {"@system-service", "~@privileged @resources"},
		"WantedBy":                 {"multi-user.target"},
	} {
		if !slices.Equal(settings[key], want) {
			t.Errorf("%s = %q, want %q", key, settings[key], want)
		}
	}

	// systemd-analyze verify needs the program at the path of ExecStart: point it into root.
	dir := t.TempDir()
	local := strings.ReplaceAll(string(unit), "/usr/bin/hotline", filepath.Join(root, "usr/bin/hotline"))
	if err := os.WriteFile(filepath.Join(dir, "hotline.service"), []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(analyze, "verify", "--man=no", filepath.Join(dir, "hotline.service"))
	out, err := cmd.CombinedOutput()
	// verify exits 0 on settings it ignores, but names them: any output is a defect.
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}

	// The exposure score of the hardening (0 best, 10 worst); 1.8 when this test was written.
	out, err = exec.Command(analyze, "security", "--offline=yes", "--root="+root, "--no-pager", "hotline.service").CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for hotline.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: no overall exposure level in\n%s", out)
	}
	if score, _ := strconv.ParseFloat(string(m[1]), 64); score > 2.0 {
		t.Errorf("exposure level %.1f, want at most 2.0:\n%s", score, out)
	}
}
