package image

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// stubbed are the commands the maintainer scripts may call. The scripts run with PATH set to
// a folder of stubs that only log their arguments, so a test never touches the system, and a
// command that is not stubbed is not found.
var stubbed = []string{
	"getent", "groupadd", "useradd", "usermod", "userdel", "groupdel", "install", "rm",
	"udevadm", "systemctl", "deb-systemd-helper", "deb-systemd-invoke",
}

// watched are the logged commands whose calls do not depend on whether the machine running
// the test has systemd or udev running.
var watched = []string{
	"groupadd", "useradd", "usermod", "userdel", "groupdel", "install", "rm", "deb-systemd-helper",
}

// runScript runs a maintainer script from deb/ with args, with the users and groups in
// existing ("passwd hotline", "group gpio"; "enabled" for a service that was enabled) present,
// and returns the watched calls.
func runScript(t *testing.T, script string, existing []string, args ...string) []string {
	t.Helper()
	stubs := t.TempDir()
	log := filepath.Join(t.TempDir(), "log")
	for _, name := range stubbed {
		body := "#!/bin/sh\necho \"${0##*/} $*\" >>\"$STUB_LOG\"\n"
		if name == "getent" {
			body += "case \" $STUB_EXISTING \" in *\" $1 $2 \"*) echo \"$2:x:999:\"; exit 0 ;; esac\nexit 2\n"
		}
		if name == "deb-systemd-helper" {
			body += "[ \"$2\" = was-enabled ] || exit 0\ncase \" $STUB_EXISTING \" in *\" enabled \"*) exit 0 ;; esac\nexit 1\n"
		}
		if err := os.WriteFile(filepath.Join(stubs, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("/bin/sh", append([]string{filepath.Join("deb", script)}, args...)...)
	cmd.Env = []string{"PATH=" + stubs, "STUB_LOG=" + log, "STUB_EXISTING=" + strings.Join(existing, " ")}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", script, strings.Join(args, " "), err, out)
	}
	b, err := os.ReadFile(log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var calls []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if name, _, _ := strings.Cut(line, " "); slices.Contains(watched, name) {
			calls = append(calls, line)
		}
	}
	return calls
}

func TestMaintainerScripts(t *testing.T) {
	const (
		addUser   = "useradd --system --user-group --home-dir /var/lib/hotline --no-create-home --shell /usr/sbin/nologin --comment hotline telephone box hotline"
		addGroups = "usermod --append --groups dialout,gpio hotline"
		dataDir   = "install -d -o hotline -g hotline -m 0750 /var/lib/hotline"
	)
	both := []string{"passwd hotline", "group hotline", "group gpio"}
	for _, tt := range []struct {
		name     string
		script   string
		args     []string
		existing []string
		want     []string
	}{
		{"install on Debian", "postinst", []string{"configure", ""}, nil, []string{
			"groupadd --system gpio", addUser, addGroups, dataDir,
			"deb-systemd-helper unmask hotline.service",
			"deb-systemd-helper --quiet was-enabled hotline.service",
			"deb-systemd-helper update-state hotline.service",
			"deb-systemd-helper enable hotline.service",
		}},
		{"install on Raspberry Pi OS", "postinst", []string{"configure", ""}, []string{"group gpio"}, []string{
			addUser, addGroups, dataDir,
			"deb-systemd-helper unmask hotline.service",
			"deb-systemd-helper --quiet was-enabled hotline.service",
			"deb-systemd-helper update-state hotline.service",
			"deb-systemd-helper enable hotline.service",
		}},
		{"upgrade", "postinst", []string{"configure", "1.0.0"}, append(both, "enabled"), []string{
			addGroups, dataDir,
			"deb-systemd-helper unmask hotline.service",
			"deb-systemd-helper --quiet was-enabled hotline.service",
			"deb-systemd-helper enable hotline.service",
		}},
		{"upgrade keeps a service disabled", "postinst", []string{"configure", "1.0.0"}, both, []string{
			addGroups, dataDir,
			"deb-systemd-helper unmask hotline.service",
			"deb-systemd-helper --quiet was-enabled hotline.service",
			"deb-systemd-helper update-state hotline.service",
		}},
		{"prerm before upgrade", "prerm", []string{"upgrade", "1.1.0"}, both, nil},
		{"prerm on remove", "prerm", []string{"remove"}, both, nil},
		{"postrm after upgrade", "postrm", []string{"upgrade", "1.1.0"}, both, nil},
		{"remove keeps data and user", "postrm", []string{"remove"}, both, []string{
			"deb-systemd-helper mask hotline.service",
		}},
		{"purge", "postrm", []string{"purge"}, both, []string{
			"deb-systemd-helper purge hotline.service",
			"deb-systemd-helper unmask hotline.service",
			"rm -rf /var/lib/hotline", "userdel hotline", "groupdel hotline",
		}},
		{"purge after the user was removed by hand", "postrm", []string{"purge"}, nil, []string{
			"deb-systemd-helper purge hotline.service",
			"deb-systemd-helper unmask hotline.service",
			"rm -rf /var/lib/hotline",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := runScript(t, tt.script, tt.existing, tt.args...)
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s %s called\n  %s\nwant\n  %s", tt.script, strings.Join(tt.args, " "),
					strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}
