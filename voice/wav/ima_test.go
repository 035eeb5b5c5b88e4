package wav

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// refIMA is a plain reference decoder of IMA ADPCM, written from the recommendation's pseudo
// code one sample at a time, independently of decodeIMA's block walk: sample k (k >= 1) of
// channel c in a block is nibble (k-1)%8 of group (k-1)/8, and that group's 4 bytes sit at
// 4*channels + 4*((k-1)/8*channels + c) in the block.
func refIMA(data []byte, channels, blockAlign int) []int16 {
	steps := []int{
		7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60,
		66, 73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230, 253, 279, 307, 337, 371,
		408, 449, 494, 544, 598, 658, 724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878,
		2066, 2272, 2499, 2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845,
		8630, 9493, 10442, 11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086,
		29794, 32767,
	}
	var out []int16
	for start := 0; start+4*channels <= len(data); start += blockAlign {
		block := data[start:min(start+blockAlign, len(data))]
		perChannel := 1 + (len(block)-4*channels)/(4*channels)*8
		pred := make([]int, channels)
		index := make([]int, channels)
		frames := make([][]int16, perChannel)
		for k := range perChannel {
			frames[k] = make([]int16, channels)
			for c := range channels {
				if k == 0 {
					pred[c] = int(int16(uint16(block[4*c]) | uint16(block[4*c+1])<<8))
					index[c] = int(block[4*c+2])
					if index[c] > 88 {
						index[c] = 88
					}
					frames[0][c] = int16(pred[c])
					continue
				}
				group, nib := (k-1)/8, (k-1)%8
				b := block[4*channels+4*(group*channels+c)+nib/2]
				code := int(b & 0x0F)
				if nib%2 == 1 {
					code = int(b >> 4)
				}
				step := steps[index[c]]
				diff := step / 8
				if code&4 != 0 {
					diff += step
				}
				if code&2 != 0 {
					diff += step / 2
				}
				if code&1 != 0 {
					diff += step / 4
				}
				if code&8 != 0 {
					diff = -diff
				}
				pred[c] += diff
				if pred[c] > 32767 {
					pred[c] = 32767
				} else if pred[c] < -32768 {
					pred[c] = -32768
				}
				switch code & 7 {
				case 4:
					index[c] += 2
				case 5:
					index[c] += 4
				case 6:
					index[c] += 6
				case 7:
					index[c] += 8
				default:
					index[c]--
				}
				if index[c] < 0 {
					index[c] = 0
				} else if index[c] > 88 {
					index[c] = 88
				}
				frames[k][c] = int16(pred[c])
			}
		}
		for _, f := range frames {
			out = append(out, f...)
		}
	}
	return out
}

// imaFmt returns an IMA ADPCM fmt chunk with the extra field (samples per block).
func imaFmt(channels, rate, blockAlign int) []byte {
	b := make([]byte, 20)
	le := binary.LittleEndian
	le.PutUint16(b[0:], tagIMA)
	le.PutUint16(b[2:], uint16(channels))
	le.PutUint32(b[4:], uint32(rate))
	spb := 1 + 2*(blockAlign-4*channels)/channels
	le.PutUint32(b[8:], uint32(rate*blockAlign/spb))
	le.PutUint16(b[12:], uint16(blockAlign))
	le.PutUint16(b[14:], 4)
	le.PutUint16(b[16:], 2)
	le.PutUint16(b[18:], uint16(spb))
	return b
}

// imaWAV returns a whole IMA ADPCM file; facts < 0 leaves out the fact chunk.
func imaWAV(channels, blockAlign int, facts int, data []byte) []byte {
	body := []byte("WAVE")
	body = append(body, chunk("fmt ", imaFmt(channels, 8000, blockAlign), -1)...)
	if facts >= 0 {
		body = append(body, chunk("fact", binary.LittleEndian.AppendUint32(nil, uint32(facts)), -1)...)
	}
	body = append(body, chunk("data", data, -1)...)
	return chunk("RIFF", body, -1)
}

// TestIMAVectors: hand-worked samples of the recommendation's arithmetic.
func TestIMAVectors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		block []byte // one mono block: header and one group of 8 codes
		want  []int16
	}{
		// From 0 at index 0 (step 7): code 7 adds 7/8+7+7/2+7/4 = 0+7+3+1 = 11 and moves the
		// index by 8 (step 16): code 7 adds 2+16+8+4 = 30 -> 41; index 16 (step 34): code 0
		// adds 34/8 = 4 -> 45, index 15 (step 31); code 8 subtracts 3 -> 42, index 14 (step 28);
		// code 0xF subtracts 3+28+14+7 = 52 -> -10, index 22 (step 60); code 4 adds 7+60 = 67 ->
		// 57, index 24 (step 73); code 0xC subtracts 9+73 = 82 -> -25, index 26 (step 88);
		// code 1 adds 11+22 = 33 -> 8.
		{"walk", []byte{0, 0, 0, 0, 0x77, 0x80, 0x4F, 0x1C}, []int16{0, 11, 41, 45, 42, -10, 57, -25, 8}},
		// Clamped at the top: 32760 at index 88 (step 32767) plus anything stays 32767.
		{"clamp high", []byte{0xF8, 0x7F, 88, 0, 0x77, 0x00, 0x00, 0x00}, []int16{32760, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767}},
		// Clamped at the bottom; code 0xF at index 88 then drops the step each 0.
		{"clamp low", []byte{0x00, 0x80, 88, 0, 0xFF, 0x00, 0x00, 0x00}, []int16{-32768, -32768, -32768, -32768 + 4095, -32768 + 4095 + 3724, -32768 + 4095 + 3724 + 3385, -32768 + 4095 + 3724 + 3385 + 3077, -32768 + 4095 + 3724 + 3385 + 3077 + 2798, -32768 + 4095 + 3724 + 3385 + 3077 + 2798 + 2543}},
		// A step index above 88 in a header is taken as 88.
		{"index 200", []byte{0, 0, 200, 0, 0x00, 0, 0, 0}, []int16{0, 4095, 4095 + 3724, 4095 + 3724 + 3385, 4095 + 3724 + 3385 + 3077, 4095 + 3724 + 3385 + 3077 + 2798, 4095 + 3724 + 3385 + 3077 + 2798 + 2543, 4095 + 3724 + 3385 + 3077 + 2798 + 2543 + 2312, 4095 + 3724 + 3385 + 3077 + 2798 + 2543 + 2312 + 2102}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ref := refIMA(tc.block, 1, len(tc.block)); !equal(ref, tc.want) {
				t.Fatalf("reference decoder: %v, want %v", ref, tc.want)
			}
			a, err := Decode(bytes.NewReader(imaWAV(1, len(tc.block), -1, tc.block)))
			if err != nil {
				t.Fatal(err)
			}
			if !equal(a.Samples, tc.want) {
				t.Errorf("got %v, want %v", a.Samples, tc.want)
			}
		})
	}
}

// TestIMASoxFiles: files sox wrote decode to what sox decodes them to, cut at the fact chunk's
// count, and the same as the reference decoder.
func TestIMASoxFiles(t *testing.T) {
	for _, tc := range []struct {
		name               string
		rate, ch, ba, want int
	}{
		{"ima-8k-mono", 8000, 1, 256, 800},
		{"ima-11k025-stereo", 11025, 2, 512, 1103},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file, err := os.ReadFile(filepath.Join("testdata", tc.name+".wav"))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join("testdata", tc.name+".sox.s16"))
			if err != nil {
				t.Fatal(err)
			}
			sox := make([]int16, len(raw)/2)
			for i := range sox {
				sox[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
			}
			a, err := Decode(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			if a.Rate != tc.rate || a.Channels != tc.ch || a.Frames() != tc.want {
				t.Fatalf("rate %d, %d channels, %d frames; want %d, %d, %d", a.Rate, a.Channels, a.Frames(), tc.rate, tc.ch, tc.want)
			}
			if len(sox) < len(a.Samples) || !equal(a.Samples, sox[:len(a.Samples)]) {
				t.Error("samples differ from sox's decoding")
			}
			data := file[bytes.Index(file, []byte("data"))+8:]
			if ref := refIMA(data, tc.ch, tc.ba); len(ref) < len(a.Samples) || !equal(a.Samples, ref[:len(a.Samples)]) {
				t.Error("samples differ from the reference decoder")
			}
			for c := range a.Channels {
				amp := amplitudeAt(channel(a, c), a.Rate, 1000)
				if amp < 15000 || amp > 17800 {
					t.Errorf("channel %d: 1 kHz at %.0f, want about 16384", c, amp)
				}
			}
		})
	}
}

// TestIMATorn: a file cut inside a block decodes its whole groups; without a fact chunk the
// padding of the last block stays.
func TestIMATorn(t *testing.T) {
	data := make([]byte, 2*40) // two stereo blocks of 40 bytes: 8 header + 32, 1+4*8 = 33 frames each
	for i := range data {
		data[i] = byte(i*37 + 11)
	}
	for _, tc := range []struct {
		name  string
		facts int
		n     int // data bytes kept
		want  int // frames
	}{
		{"whole, no fact", -1, 80, 66},
		{"whole, fact 40", 40, 80, 40},
		{"fact larger than the data", 1000, 80, 66},
		{"cut inside the second block's groups", -1, 40 + 8 + 8 + 5, 33 + 1 + 8},
		{"cut inside the second block's header", -1, 40 + 5, 33},
		{"cut inside the first group", -1, 8 + 7, 1},
		{"nothing", -1, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := imaWAV(2, 40, tc.facts, data[:tc.n])
			a, err := Decode(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			if a.Frames() != tc.want {
				t.Fatalf("%d frames, want %d", a.Frames(), tc.want)
			}
			if ref := refIMA(data[:tc.n], 2, 40); !equal(a.Samples, ref[:len(a.Samples)]) {
				t.Error("samples differ from the reference decoder")
			}
		})
	}
}

func TestIMAHostile(t *testing.T) {
	le := binary.LittleEndian
	for _, tc := range []struct {
		name string
		fmt  func() []byte
		want error
	}{
		{"block smaller than its header", func() []byte { b := imaFmt(2, 8000, 36); le.PutUint16(b[12:], 6); return b }, ErrMalformed},
		{"block of no whole groups", func() []byte { b := imaFmt(1, 8000, 36); le.PutUint16(b[12:], 34); return b }, ErrMalformed},
		{"samples per block disagree", func() []byte { b := imaFmt(1, 8000, 256); le.PutUint16(b[18:], 1017); return b }, ErrMalformed},
		{"3-bit", func() []byte { b := imaFmt(1, 8000, 256); le.PutUint16(b[14:], 3); return b }, ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Decode(bytes.NewReader(wavBytes(tc.fmt(), make([]byte, 300), -1)))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, %v; want %v", a, err, tc.want)
			}
		})
	}
	// Without the extra field the block size alone says how many samples a block holds.
	a, err := Decode(bytes.NewReader(wavBytes(imaFmt(1, 8000, 256)[:16], make([]byte, 256), -1)))
	if err != nil || a.Frames() != 505 {
		t.Fatalf("plain fmt chunk: %v, %v", a, err)
	}
}

// FuzzIMA compares decodeIMA with the reference decoder on any bytes.
func FuzzIMA(f *testing.F) {
	f.Add(byte(1), byte(1), []byte{0, 0, 0, 0, 0x77, 0x80, 0x4F, 0x1C})
	f.Add(byte(2), byte(3), []byte{0xF8, 0x7F, 88, 0, 0xFF, 0x7F, 200, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.Add(byte(3), byte(0), bytes.Repeat([]byte{0x93}, 100))
	f.Fuzz(func(t *testing.T, channels, groups byte, data []byte) {
		ch := 1 + int(channels)%maxChannels
		ba := 4*ch + 4*ch*(int(groups)%16)
		fm := &format{tag: tagIMA, channels: ch, rate: 8000, bits: 4, blockAlign: ba, frames: -1}
		out := make([]int16, imaSamples(len(data), fm))
		if n := decodeIMA(out, data, fm); n != len(out) {
			t.Fatalf("decodeIMA wrote %d samples, imaSamples said %d", n, len(out))
		}
		if ref := refIMA(data, ch, ba); !equal(out, ref) {
			t.Fatalf("%d channels, blocks of %d: differs from the reference", ch, ba)
		}
		if len(out) > 2*len(data) {
			t.Fatalf("%d samples from %d bytes", len(out), len(data))
		}
	})
}

func BenchmarkDecodeIMA(b *testing.B) {
	fm := &format{tag: tagIMA, channels: 1, rate: 8000, bits: 4, blockAlign: 256, frames: -1}
	data := bytes.Repeat([]byte{0x13, 0x9A, 0x7F, 0x00}, 64*100)
	out := make([]int16, imaSamples(len(data), fm))
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		decodeIMA(out, data, fm)
	}
}
