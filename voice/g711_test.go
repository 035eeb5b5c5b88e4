package voice

import (
	"os"
	"testing"
)

func allCodes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// TestG711DecodeMatchesReference compares both decode tables with the output of an independent
// implementation (testdata/README says how it was made).
func TestG711DecodeMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		file   string
		decode func([]int16, []byte)
	}{
		{"testdata/ulaw-decoded.s16le", ULawDecode},
		{"testdata/alaw-decoded.s16le", ALawDecode},
	} {
		raw, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]int16, 256)
		DecodeS16LE(want, raw)
		got := make([]int16, 256)
		tc.decode(got, allCodes())
		for c := range 256 {
			if got[c] != want[c] {
				t.Errorf("%s: code %#02x decodes to %d, want %d", tc.file, c, got[c], want[c])
			}
		}
	}
}

func TestG711KnownCodePoints(t *testing.T) {
	dec := func(f func([]int16, []byte), c byte) int16 {
		var out [1]int16
		f(out[:], []byte{c})
		return out[0]
	}
	enc := func(f func([]byte, []int16), s int16) byte {
		var out [1]byte
		f(out[:], []int16{s})
		return out[0]
	}
	for _, tc := range []struct {
		name string
		got  int
		want int
	}{
		{"ulaw dec 0xFF (+0)", int(dec(ULawDecode, 0xFF)), 0},
		{"ulaw dec 0x7F (-0)", int(dec(ULawDecode, 0x7F)), 0},
		{"ulaw dec 0x80 (max)", int(dec(ULawDecode, 0x80)), 32124},
		{"ulaw dec 0x00 (min)", int(dec(ULawDecode, 0x00)), -32124},
		{"ulaw dec 0xFE", int(dec(ULawDecode, 0xFE)), 8},
		{"ulaw dec 0xEF (segment 1 start)", int(dec(ULawDecode, 0xEF)), 132},
		{"ulaw enc 0", int(enc(ULawEncode, 0)), 0xFF},
		{"ulaw enc -1 (one's complement folds to -0)", int(enc(ULawEncode, -1)), 0x7F},
		{"ulaw enc -4", int(enc(ULawEncode, -4)), 0x7F},
		{"ulaw enc -5", int(enc(ULawEncode, -5)), 0x7E},
		{"ulaw enc max", int(enc(ULawEncode, 32767)), 0x80},
		{"ulaw enc min", int(enc(ULawEncode, -32768)), 0x00},
		{"ulaw silence const", int(enc(ULawEncode, 0)), int(ULawSilence)},
		{"alaw dec 0xD5 (+0)", int(dec(ALawDecode, 0xD5)), 8},
		{"alaw dec 0x55 (-0)", int(dec(ALawDecode, 0x55)), -8},
		{"alaw dec 0xAA (max)", int(dec(ALawDecode, 0xAA)), 32256},
		{"alaw dec 0x2A (min)", int(dec(ALawDecode, 0x2A)), -32256},
		{"alaw enc 0", int(enc(ALawEncode, 0)), 0xD5},
		{"alaw enc -1", int(enc(ALawEncode, -1)), 0x55},
		{"alaw enc max", int(enc(ALawEncode, 32767)), 0xAA},
		{"alaw enc min", int(enc(ALawEncode, -32768)), 0x2A},
		{"alaw silence const", int(enc(ALawEncode, 0)), int(ALawSilence)},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %#x (%d), want %#x (%d)", tc.name, tc.got, tc.got, tc.want, tc.want)
		}
	}
}

// TestG711SegmentEnds checks the decision points where one segment ends and the next begins, on
// both sides of zero.
func TestG711SegmentEnds(t *testing.T) {
	useg := func(c byte) int { return int(^c>>4) & 7 }
	aseg := func(c byte) int { return int((c^0x55)>>4) & 7 }
	// mu-law: 14-bit segment ends 31, 95, 223, ... (2^(k+6)-33) times four on the 16-bit scale.
	for k := range 7 {
		end := ((64 << k) - 33) * 4 // first sample of segment k+1
		var lo, hi [1]byte
		ULawEncode(lo[:], []int16{int16(end - 1)})
		ULawEncode(hi[:], []int16{int16(end)})
		if useg(lo[0]) != k || useg(hi[0]) != k+1 {
			t.Errorf("mu-law: %d in segment %d, %d in segment %d; want %d and %d", end-1, useg(lo[0]), end, useg(hi[0]), k, k+1)
		}
		if lo[0]&0x0F != 0x00 || hi[0]&0x0F != 0x0F {
			t.Errorf("mu-law: step codes around %d are %#x, %#x; want top step then bottom step", end, lo[0], hi[0])
		}
		// Negative side: one's complement folds -x-1 onto x.
		ULawEncode(lo[:], []int16{int16(-end)})
		ULawEncode(hi[:], []int16{int16(-end - 1)})
		if useg(lo[0]) != k || useg(hi[0]) != k+1 || lo[0]&0x80 != 0 || hi[0]&0x80 != 0 {
			t.Errorf("mu-law: %d -> %#x, %d -> %#x; want negative codes in segments %d and %d", -end, lo[0], -end-1, hi[0], k, k+1)
		}
	}
	// A-law: segment k+1 starts at 256<<k on the 16-bit scale.
	for k := range 7 {
		end := 256 << k
		var lo, hi [1]byte
		ALawEncode(lo[:], []int16{int16(end - 1)})
		ALawEncode(hi[:], []int16{int16(min(end, 32767))})
		if aseg(lo[0]) != k || aseg(hi[0]) != k+1 {
			t.Errorf("A-law: %d in segment %d, %d in segment %d; want %d and %d", end-1, aseg(lo[0]), end, aseg(hi[0]), k, k+1)
		}
		ALawEncode(lo[:], []int16{int16(-end)})
		ALawEncode(hi[:], []int16{int16(-end - 1)})
		if aseg(lo[0]) != k || aseg(hi[0]) != k+1 || lo[0]&0x80 != 0 || hi[0]&0x80 != 0 {
			t.Errorf("A-law: %d -> %#x, %d -> %#x; want negative codes in segments %d and %d", -end, lo[0], -end-1, hi[0], k, k+1)
		}
	}
}

func TestG711RoundTrip(t *testing.T) {
	codes := allCodes()
	lin := make([]int16, 256)
	back := make([]byte, 256)

	ULawDecode(lin, codes)
	ULawEncode(back, lin)
	for c := range 256 {
		want := byte(c)
		if c == 0x7F { // -0 decodes to 0, which encodes as +0
			want = 0xFF
		}
		if back[c] != want {
			t.Errorf("mu-law: code %#x -> %d -> %#x", c, lin[c], back[c])
		}
	}
	ALawDecode(lin, codes)
	ALawEncode(back, lin)
	for c := range 256 {
		if back[c] != byte(c) {
			t.Errorf("A-law: code %#x -> %d -> %#x", c, lin[c], back[c])
		}
	}

	// Every 16-bit sample: the table encoders agree with the reference algorithm, the result is
	// monotonic, and the decoded value lies within half a step of the input (plus clipping).
	all := make([]int16, 65536)
	for i := range all {
		all[i] = int16(i - 32768)
	}
	for _, tc := range []struct {
		name   string
		enc    func([]byte, []int16)
		dec    func([]int16, []byte)
		ref    func(int16) byte
		maxAbs int
	}{
		{"mu-law", ULawEncode, ULawDecode, ulawEncodeRef, 32124},
		{"A-law", ALawEncode, ALawDecode, alawEncodeRef, 32256},
	} {
		enc := make([]byte, len(all))
		dec := make([]int16, len(all))
		tc.enc(enc, all)
		tc.dec(dec, enc)
		for i, s := range all {
			if enc[i] != tc.ref(s) {
				t.Fatalf("%s: table encodes %d as %#x, reference %#x", tc.name, s, enc[i], tc.ref(s))
			}
			if i > 0 && dec[i] < dec[i-1] {
				t.Fatalf("%s: not monotonic at %d: %d then %d", tc.name, s, dec[i-1], dec[i])
			}
			x := int(s)
			x = max(min(x, tc.maxAbs), -tc.maxAbs)
			err := abs(int(dec[i]) - x)
			// The step is 1/16 of the segment; within segment the error is at most half a step,
			// which is at most 1/32 of the magnitude, plus the smallest half-step near zero.
			if limit := abs(x)/31 + 8; err > limit {
				t.Fatalf("%s: %d -> %d, error %d > %d", tc.name, s, dec[i], err, limit)
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestLinearFormats(t *testing.T) {
	src := []int16{0, 1, -1, 255, -256, 32767, -32768, 0x1234}
	b := make([]byte, 2*len(src))
	EncodeS16LE(b, src)
	if b[14] != 0x34 || b[15] != 0x12 {
		t.Errorf("EncodeS16LE: not little-endian: % x", b[14:16])
	}
	got := make([]int16, len(src))
	DecodeS16LE(got, append(b, 0xAA)) // trailing odd byte ignored
	for i := range src {
		if got[i] != src[i] {
			t.Errorf("S16LE round trip: %d -> %d", src[i], got[i])
		}
	}

	for _, tc := range []struct {
		in   int16
		want byte
	}{
		{0, 0x80}, {127, 0x80}, {128, 0x81}, {-128, 0x80}, {-129, 0x7F},
		{32767, 0xFF}, {32640, 0xFF}, {-32768, 0x00}, {256, 0x81}, {-256, 0x7F},
	} {
		var o [1]byte
		EncodeU8(o[:], []int16{tc.in})
		if o[0] != tc.want {
			t.Errorf("EncodeU8(%d) = %#x, want %#x", tc.in, o[0], tc.want)
		}
	}
	u := allCodes()
	lin := make([]int16, 256)
	DecodeU8(lin, u)
	if lin[0x80] != 0 || lin[0] != -32768 || lin[0xFF] != 32512 {
		t.Errorf("DecodeU8: 0x80 -> %d, 0x00 -> %d, 0xFF -> %d", lin[0x80], lin[0], lin[0xFF])
	}
	back := make([]byte, 256)
	EncodeU8(back, lin)
	for i := range u {
		if back[i] != u[i] {
			t.Errorf("U8 round trip %#x -> %d -> %#x", u[i], lin[i], back[i])
		}
	}
}

func TestCodecsShortBuffers(t *testing.T) {
	// Each converter stops at the shorter buffer and never writes past it.
	src := make([]int16, 10)
	for i := range src {
		src[i] = int16(1000 * (i + 1))
	}
	b := make([]byte, 4)
	for _, f := range []func([]byte, []int16){ULawEncode, ALawEncode, EncodeU8} {
		f(b[:3], src)
		if b[3] != 0 {
			t.Error("encoder wrote past dst")
		}
	}
	b = []byte{0, 0, 0x5A}
	EncodeS16LE(b, src) // room for one sample only
	if b[2] != 0x5A || b[0] != 0xE8 || b[1] != 0x03 {
		t.Errorf("EncodeS16LE into 3 bytes: % x", b)
	}
	d := make([]int16, 4)
	for _, f := range []func([]int16, []byte){ULawDecode, ALawDecode, DecodeU8} {
		d[3] = 42
		f(d[:3], []byte{1, 2, 3, 4, 5})
		if d[3] != 42 {
			t.Error("decoder wrote past dst")
		}
	}
	d[1] = 42
	DecodeS16LE(d, []byte{1, 2, 3})
	if d[1] != 42 {
		t.Error("DecodeS16LE decoded a half sample")
	}
}

func TestCodecsAllocateNothing(t *testing.T) {
	var f Frame
	b := make([]byte, 2*FrameSamples)
	n := testing.AllocsPerRun(100, func() {
		ULawEncode(b, f[:])
		ULawDecode(f[:], b)
		ALawEncode(b, f[:])
		ALawDecode(f[:], b)
		EncodeS16LE(b, f[:])
		DecodeS16LE(f[:], b)
		EncodeU8(b, f[:])
		DecodeU8(f[:], b)
	})
	if n != 0 {
		t.Errorf("codecs allocate %v times per frame", n)
	}
}

func benchFrame() *Frame {
	var f Frame
	for i := range f {
		f[i] = int16((i*7919)%65536 - 32768)
	}
	return &f
}

func BenchmarkULawEncode(b *testing.B) {
	f, out := benchFrame(), make([]byte, FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		ULawEncode(out, f[:])
	}
}

func BenchmarkULawDecode(b *testing.B) {
	f, in := benchFrame(), make([]byte, FrameSamples)
	ULawEncode(in, f[:])
	b.ReportAllocs()
	for b.Loop() {
		ULawDecode(f[:], in)
	}
}

func BenchmarkALawEncode(b *testing.B) {
	f, out := benchFrame(), make([]byte, FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		ALawEncode(out, f[:])
	}
}

func BenchmarkALawDecode(b *testing.B) {
	f, in := benchFrame(), make([]byte, FrameSamples)
	ALawEncode(in, f[:])
	b.ReportAllocs()
	for b.Loop() {
		ALawDecode(f[:], in)
	}
}

func BenchmarkDecodeS16LE(b *testing.B) {
	f, in := benchFrame(), make([]byte, 2*FrameSamples)
	EncodeS16LE(in, f[:])
	b.ReportAllocs()
	for b.Loop() {
		DecodeS16LE(f[:], in)
	}
}

func BenchmarkEncodeU8(b *testing.B) {
	f, out := benchFrame(), make([]byte, FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		EncodeU8(out, f[:])
	}
}
