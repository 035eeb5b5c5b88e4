package gsm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"hotline/hw"
	"hotline/hw/modem/modemtest"
)

// TestTranscripts replays the call transcripts in testdata/*.txt (the format is described at the
// top of ec25_remote_hangup.txt).
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no transcripts in testdata")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			synctest.Test(t, func(t *testing.T) {
				playTranscript(t, string(data))
			})
		})
	}
}

func playTranscript(t *testing.T, script string) {
	lines := strings.Split(script, "\n")
	var opts QuectelOptions
	var replies [][2]string
	body := 0
	// Header: options and replies come before the first action.
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "#") || strings.TrimSpace(l) == "":
		case l == "@ tonedetect":
			opts.ToneDetect = true
		case strings.HasPrefix(l, "> "):
			cmd, reply, ok := strings.Cut(l[2:], " => ")
			if !ok {
				t.Fatalf("line %d: bad reply %q", i+1, l)
			}
			replies = append(replies, [2]string{cmd, reply})
		default:
			body = i
		}
		if body > 0 {
			break
		}
	}
	r := newRig(t, opts, func(m *modemtest.Modem) {
		for _, rp := range replies {
			var out []string
			if rp[1] != "" {
				out = strings.Split(rp[1], " | ")
			}
			m.On(rp[0], out...)
		}
	})

	for n, l := range lines[body:] {
		at := body + n + 1
		switch {
		case strings.HasPrefix(l, "#") || strings.TrimSpace(l) == "":
		case strings.HasPrefix(l, "< "):
			r.push(l[2:])
		case strings.HasPrefix(l, "<q "):
			raw, err := strconv.Unquote(l[3:])
			if err != nil {
				t.Fatalf("line %d: %v", at, err)
			}
			if err := r.m.WriteRaw([]byte(raw)); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(l, "! "):
			doAction(t, r, at, l[2:])
		case l == "= quiet":
			r.quiet()
		case strings.HasPrefix(l, "= "):
			checkEvent(t, r.next(), at, l[2:])
		default:
			t.Fatalf("line %d: cannot read %q", at, l)
		}
	}
}

func doAction(t *testing.T, r *rig, at int, action string) {
	verb, arg, _ := strings.Cut(action, " ")
	switch verb {
	case "answer":
		if _, err := r.q.Answer(context.Background()); err != nil {
			t.Fatalf("line %d: Answer: %v", at, err)
		}
	case "answer-fails":
		if _, err := r.q.Answer(context.Background()); err == nil {
			t.Fatalf("line %d: Answer succeeded", at)
		} else if !errors.Is(err, hw.ErrNoCall) {
			t.Logf("line %d: Answer: %v", at, err)
		}
	case "hangup":
		if err := r.q.Hangup(context.Background()); err != nil {
			t.Fatalf("line %d: Hangup: %v", at, err)
		}
	case "sleep":
		d, err := time.ParseDuration(arg)
		if err != nil {
			t.Fatalf("line %d: %v", at, err)
		}
		time.Sleep(d)
	default:
		t.Fatalf("line %d: unknown action %q", at, action)
	}
}

func checkEvent(t *testing.T, ev hw.Event, at int, want string) {
	kind, arg, _ := strings.Cut(want, " ")
	bad := func() { t.Fatalf("line %d: event %+v, want %q", at, ev, want) }
	switch kind {
	case "ring":
		count, number, _ := strings.Cut(arg, " ")
		if ev.Kind != hw.Ring || strconv.Itoa(ev.Rings) != count || ev.Number != number {
			bad()
		}
	case "connected":
		if ev.Kind != hw.Connected {
			bad()
		}
	case "digit":
		if ev.Kind != hw.Digit || string(ev.Digit) != arg {
			bad()
		}
	case "hangup":
		if ev.Kind != hw.Hangup || ev.Cause != arg {
			bad()
		}
	default:
		t.Fatalf("line %d: unknown event %q", at, want)
	}
}
