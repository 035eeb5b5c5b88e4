package voice

import "encoding/binary"

// G.711 and the other byte formats that devices use for 8 kHz audio.
//
// The G.711 codecs follow the bit-exact behaviour of ITU-T G.711 as implemented by the ITU's own
// reference software (ITU-T G.191): the encoders take 16-bit samples whose top 14 (mu-law) or
// 13 (A-law) bits are significant, negative values are folded with a one's complement, and the
// decoders return the midpoint of each quantisation interval. Every function here uses tables
// built once at start-up, works on min(len(dst), samples in src) samples and allocates nothing.

var (
	ulawToLinear [256]int16
	alawToLinear [256]int16
	// linearToULaw is indexed by sample>>2 (14 significant bits, offset to unsigned).
	linearToULaw [1 << 14]byte
	// linearToALaw is indexed by sample>>4 (12 bits suffice: the encoder only looks at bit 4
	// upwards, see alawEncodeRef).
	linearToALaw [1 << 12]byte
)

func init() {
	for i := range 256 {
		ulawToLinear[i] = ulawDecodeRef(byte(i))
		alawToLinear[i] = alawDecodeRef(byte(i))
	}
	// The encoders only look at the bits kept by the index shift, so one representative sample
	// per entry stands for all samples that share it.
	for i := range linearToULaw {
		linearToULaw[i] = ulawEncodeRef(int16(uint16(i) << 2))
	}
	for i := range linearToALaw {
		linearToALaw[i] = alawEncodeRef(int16(uint16(i) << 4))
	}
}

// ulawEncodeRef encodes one sample the way G.711 defines mu-law: 14-bit magnitude plus a bias of
// 33, eight segments of sixteen steps, all bits inverted on the line.
func ulawEncodeRef(s int16) byte {
	var mag int
	if s < 0 {
		mag = int(^s) >> 2 // one's complement: -1..-4 fold to magnitude 0
	} else {
		mag = int(s) >> 2
	}
	mag += 33
	if mag > 0x1FFF {
		mag = 0x1FFF
	}
	seg := 0
	for v := mag >> 6; v != 0; v >>= 1 {
		seg++
	}
	// mag lies in [32<<seg, 64<<seg); its four bits below the leading one are the step.
	code := byte(seg<<4) | byte((mag>>(seg+1))&0x0F)
	if s < 0 {
		code |= 0x80
	}
	return ^code // on the line positive codes are 0x80..0xFF, 0xFF being +0
}

// ulawDecodeRef returns the linear value (16-bit scale) at the middle of code's interval.
func ulawDecodeRef(code byte) int16 {
	c := ^code
	seg := int(c>>4) & 7
	step := int(c) & 0x0F
	// In 14-bit units an interval of segment seg starts at (33<<seg)-33 and is 2<<seg wide;
	// on the 16-bit scale everything is four times that.
	v := ((0x80 << seg) + (step << (seg + 3)) + (4 << seg) - 4*33)
	if c&0x80 != 0 {
		return int16(-v)
	}
	return int16(v)
}

// alawEncodeRef encodes one sample the way G.711 defines A-law: 12-bit magnitude, a linear first
// segment, seven logarithmic segments, even bits inverted on the line.
func alawEncodeRef(s int16) byte {
	var mag int
	if s < 0 {
		mag = int(^s) >> 4
	} else {
		mag = int(s) >> 4
	}
	code := mag
	if mag > 15 {
		seg := 1
		for mag > 31 {
			mag >>= 1
			seg++
		}
		code = seg<<4 | (mag - 16)
	}
	if s >= 0 {
		code |= 0x80
	}
	return byte(code) ^ 0x55
}

// alawDecodeRef returns the linear value (16-bit scale) at the middle of code's interval.
func alawDecodeRef(code byte) int16 {
	c := code ^ 0x55
	seg := int(c>>4) & 7
	m := int(c) & 0x0F
	if seg > 0 {
		m += 16
	}
	v := m<<4 + 8
	if seg > 1 {
		v <<= seg - 1
	}
	if c&0x80 != 0 {
		return int16(v)
	}
	return int16(-v)
}

// ULawSilence and ALawSilence are the codes for a zero sample.
const (
	ULawSilence byte = 0xFF
	ALawSilence byte = 0xD5
)

// ULawEncode encodes min(len(dst), len(src)) samples to G.711 mu-law.
func ULawEncode(dst []byte, src []int16) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = linearToULaw[uint16(s)>>2]
	}
}

// ULawDecode decodes min(len(dst), len(src)) G.711 mu-law bytes.
func ULawDecode(dst []int16, src []byte) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, c := range src {
		dst[i] = ulawToLinear[c]
	}
}

// ALawEncode encodes min(len(dst), len(src)) samples to G.711 A-law.
func ALawEncode(dst []byte, src []int16) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = linearToALaw[uint16(s)>>4]
	}
}

// ALawDecode decodes min(len(dst), len(src)) G.711 A-law bytes.
func ALawDecode(dst []int16, src []byte) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, c := range src {
		dst[i] = alawToLinear[c]
	}
}

// DecodeS16LE decodes min(len(dst), len(src)/2) signed 16-bit little-endian samples; a trailing
// odd byte is ignored.
func DecodeS16LE(dst []int16, src []byte) {
	n := min(len(dst), len(src)/2)
	dst = dst[:n]
	for i := range dst {
		dst[i] = int16(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// EncodeS16LE encodes min(len(dst)/2, len(src)) samples as signed 16-bit little-endian.
func EncodeS16LE(dst []byte, src []int16) {
	n := min(len(dst)/2, len(src))
	src = src[:n]
	for i, s := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], uint16(s))
	}
}

// DecodeU8 decodes min(len(dst), len(src)) unsigned 8-bit samples (0x80 is silence) to the
// 16-bit scale.
func DecodeU8(dst []int16, src []byte) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = int16(int(b)-0x80) << 8
	}
}

// EncodeU8 encodes min(len(dst), len(src)) samples as unsigned 8-bit (0x80 is silence),
// rounding to the nearest step.
func EncodeU8(dst []byte, src []int16) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		v := (int(s) + 0x80) >> 8 // round half up
		if v > 127 {
			v = 127
		}
		dst[i] = byte(v + 0x80)
	}
}
