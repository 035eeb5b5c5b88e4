package wav

import (
	"encoding/binary"
	"fmt"
)

// IMA ADPCM (WAV format tag 0x0011, "DVI ADPCM"): 4 bits a sample, in blocks of blockAlign
// bytes. Each block starts, per channel, with a 4-byte header: the first sample as int16, the
// step index (0..88) and a zero byte. Then come the other samples of the block as nibbles, low
// nibble first, in groups of 4 bytes (8 samples) per channel, channels taking turns. The fmt
// chunk's extra field says how many samples a channel has per block; the fact chunk says how
// many the whole file has, as the last block is padded.

// imaStep is the quantizer step size for each step index (IMA ADPCM recommendation, 1992).
var imaStep = [89]int32{
	7, 8, 9, 10, 11, 12, 13, 14, 16, 17,
	19, 21, 23, 25, 28, 31, 34, 37, 41, 45,
	50, 55, 60, 66, 73, 80, 88, 97, 107, 118,
	130, 143, 157, 173, 190, 209, 230, 253, 279, 307,
	337, 371, 408, 449, 494, 544, 598, 658, 724, 796,
	876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066,
	2272, 2499, 2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358,
	5894, 6484, 7132, 7845, 8630, 9493, 10442, 11487, 12635, 13899,
	15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794, 32767,
}

// imaIndex is how the step index moves after each code (its sign bit does not matter).
var imaIndex = [8]int8{-1, -1, -1, -1, 2, 4, 6, 8}

// imaMaxIndex is the largest step index.
const imaMaxIndex = len(imaStep) - 1

// imaChannel is one channel's decoder state.
type imaChannel struct {
	pred  int32
	index int
}

// decode returns the sample for the 4-bit code and moves the state on.
func (s *imaChannel) decode(code byte) int16 {
	step := imaStep[s.index]
	diff := step >> 3
	if code&4 != 0 {
		diff += step
	}
	if code&2 != 0 {
		diff += step >> 1
	}
	if code&1 != 0 {
		diff += step >> 2
	}
	if code&8 != 0 {
		s.pred -= diff
	} else {
		s.pred += diff
	}
	s.pred = max(-32768, min(32767, s.pred))
	s.index = max(0, min(imaMaxIndex, s.index+int(imaIndex[code&7])))
	return int16(s.pred)
}

// imaSamplesPerBlock returns how many samples of each channel a block of blockAlign bytes
// holds, or an error if no IMA ADPCM block has that size.
func imaSamplesPerBlock(blockAlign, channels int) (int, error) {
	body := blockAlign - 4*channels
	if body < 0 || body%(4*channels) != 0 {
		return 0, fmt.Errorf("wav: %w: IMA ADPCM block of %d bytes for %d channels", ErrMalformed, blockAlign, channels)
	}
	return 1 + 2*body/channels, nil
}

// decodeIMA decodes the IMA ADPCM blocks in data into out, interleaved, and returns how many
// samples it wrote. A last block cut short decodes as far as its whole groups go (a block
// without its whole header yields nothing). out must hold imaSamples(len(data), f) samples.
func decodeIMA(out []int16, data []byte, f *format) int {
	ch, ba := f.channels, f.blockAlign
	var st [maxChannels]imaChannel
	n := 0
	for len(data) >= 4*ch {
		block := data[:min(ba, len(data))]
		data = data[len(block):]
		for c := range ch {
			h := block[4*c:]
			st[c] = imaChannel{pred: int32(int16(binary.LittleEndian.Uint16(h))), index: min(int(h[2]), imaMaxIndex)}
			out[n+c] = int16(st[c].pred)
		}
		base := n
		n += ch
		body := block[4*ch:]
		groups := len(body) / (4 * ch)
		for g := range groups {
			for c := range ch {
				group := body[(g*ch+c)*4:][:4]
				at := base + (1+8*g)*ch + c
				for k, b := range group {
					out[at+2*k*ch] = st[c].decode(b & 0x0F)
					out[at+(2*k+1)*ch] = st[c].decode(b >> 4)
				}
			}
		}
		n += 8 * groups * ch
	}
	return n
}

// imaSamples returns how many samples decodeIMA makes of n bytes in format f.
func imaSamples(n int, f *format) int {
	ch, ba := f.channels, f.blockAlign
	whole := n / ba
	total := whole * ((ba-4*ch)/(4*ch)*8 + 1) * ch
	if rest := n % ba; rest >= 4*ch {
		total += ((rest-4*ch)/(4*ch)*8 + 1) * ch
	}
	return total
}
