package fxo

import (
	"bytes"
	"testing"
)

func TestShield(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"\x10", "\x10\x10"},
		{"a\x10\x10b", "a\x10\x10\x10\x10b"},
	} {
		if got := shield(nil, []byte(tt.in)); string(got) != tt.want {
			t.Errorf("shield(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnshield(t *testing.T) {
	for _, tt := range []struct {
		name       string
		in         []string // successive reads
		wantData   string
		wantEvents string
		wantRest   string // bytes after <DLE><ETX>
	}{
		{name: "plain", in: []string{"\x80\x81\x7f"}, wantData: "\x80\x81\x7f"},
		{name: "doubled dle", in: []string{"a\x10\x10b"}, wantData: "a\x10b"},
		{name: "dle split across reads", in: []string{"a\x10", "\x10b\x10", "5c"}, wantData: "a\x10bc", wantEvents: "5"},
		{name: "digits", in: []string{"\x10" + "1x\x10#\x10*\x10D"}, wantData: "x", wantEvents: "1#*D"},
		{name: "shielded digit repeats once", in: []string{"\x10/\x105\x105\x10~\x10/\x105\x10~"}, wantEvents: "55"},
		{name: "busy dial silence loop", in: []string{"\x10b\x10d\x10s\x10l\x10q"}, wantEvents: "bdslq"},
		{name: "etx ends data", in: []string{"ab\x10\x03\r\nOK\r\n"}, wantData: "ab", wantEvents: "\x03", wantRest: "\r\nOK\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var u unshielder
			var data, events, rest []byte
			for _, in := range tt.in {
				src := []byte(in)
				var used int
				data, events, used = u.decode(data, events, src)
				rest = append(rest, src[used:]...)
			}
			if string(data) != tt.wantData || string(events) != tt.wantEvents || string(rest) != tt.wantRest {
				t.Errorf("data %q events %q rest %q, want %q %q %q", data, events, rest, tt.wantData, tt.wantEvents, tt.wantRest)
			}
		})
	}
}

// FuzzUnshield: decoding never panics and stays within the documented capacity, and shielded
// audio comes back unchanged.
func FuzzUnshield(f *testing.F) {
	f.Add([]byte("\x10\x10\x10/\x105\x10~\x10\x03rest"), 3)
	f.Add([]byte{0x10}, 1)
	f.Add([]byte("\x80\x80\x10b"), 2)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		if split < 0 || split > len(in) {
			split = len(in)
		}
		var u unshielder
		data := make([]byte, 0, len(in))
		events := make([]byte, 0, len(in)/2+2)
		d, e, used := u.decode(data, events, in[:split])
		if used == split {
			d, e, _ = u.decode(d, e, in[split:])
		}
		if cap(d) != cap(data) || cap(e) != cap(events) {
			t.Fatalf("decode of %q grew its buffers", in)
		}
		var u2 unshielder
		sh := shield(nil, in)
		back, ev, n := u2.decode(make([]byte, 0, len(sh)), nil, sh)
		if !bytes.Equal(back, in) || len(ev) != 0 || n != len(sh) {
			t.Fatalf("round trip of %q gave %q events %q", in, back, ev)
		}
	})
}
