#!/bin/sh
# Makes the default voice prompts, voice/prompts/<lang>/<name>.wav, from texts.tsv: espeak-ng
# speaks each text, sox trims the silence around it, resamples to 8 kHz mono 16-bit and sets every
# prompt to the same loudness (RMS at TARGET dBFS, unless that would put a peak above PEAK dBFS),
# and stores it as ENCODING: G.711 A-law WAV, 8 bits a sample, half of 16-bit PCM and no worse
# than what a G.711 line carries. (IMA ADPCM, ENCODING=ima-adpcm, which voice/wav also decodes,
# is a quarter of 16-bit PCM but measured about 21 dB segmental SNR on these prompts against
# A-law's 34.5 dB: audibly below a G.711 line; see docs/BENCHMARKS.md.) The output is
# byte-for-byte the same on every run with the same espeak-ng and sox (no dither, no time
# stamps), so the files can be committed and rebuilt. Each line printed gives the gain and the
# signal-to-noise ratio of the stored file against the 16-bit sound it was made from.
#
# Needs: espeak-ng, sox (Debian: apt-get install espeak-ng sox).
set -eu

cd "$(dirname "$0")"
TARGET=-26   # RMS level of each prompt in dBFS (about -20 dBm0, a usual telephone speech level)
PEAK=-1      # highest peak allowed, in dBFS: no clipping in G.711 or the modem's codec
RATE=150     # words per minute: a little slower than espeak-ng's default, for the telephone
ENCODING=${ENCODING:-a-law} # how the files are stored (sox -e): a-law or ima-adpcm

voice_of() {
	case $1 in
	ru) echo ru ;;
	en) echo en-us ;;
	*) echo "make-prompts: no voice for language $1" >&2; exit 1 ;;
	esac
}

case $ENCODING in
a-law) bits=8 ;;
ima-adpcm) bits=4 ;;
*) echo "make-prompts: unknown ENCODING $ENCODING" >&2; exit 1 ;;
esac

for tool in espeak-ng sox soxi; do
	command -v $tool >/dev/null || { echo "make-prompts: $tool is not installed" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

grep -v '^#' texts.tsv | while IFS='	' read -r lang name text; do
	[ -n "$lang" ] || continue
	mkdir -p "$lang"
	espeak-ng -v "$(voice_of "$lang")" -s $RATE -w "$tmp/raw.wav" -- "$text"
	# Trim leading and trailing silence, leave 100 ms before and 200 ms after, go to 8 kHz mono.
	sox -D -V1 "$tmp/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$tmp/8k.wav" \
		highpass 80 \
		silence 1 0.02 0.3% reverse silence 1 0.02 0.3% reverse \
		pad 0.1 0.2
	stats=$(sox -V1 "$tmp/8k.wav" -n stats 2>&1)
	rms=$(echo "$stats" | awk '/^RMS lev dB/ {print $4}')
	pk=$(echo "$stats" | awk '/^Pk lev dB/ {print $4}')
	gain=$(awk -v t=$TARGET -v r="$rms" -v p=$PEAK -v k="$pk" \
		'BEGIN {g = t - r; if (p - k < g) g = p - k; printf "%.2f", g}')
	sox -D -V1 "$tmp/8k.wav" -t wavpcm "$tmp/16.wav" gain "$gain"
	sox -D -V1 "$tmp/16.wav" -e "$ENCODING" -b "$bits" "$lang/$name.wav"
	# The noise the encoding adds: the decoded file minus the 16-bit one (sox decodes the padding
	# of ADPCM's last block too, so cut it to the same length).
	n=$(soxi -s "$tmp/16.wav")
	sox -D -V1 "$lang/$name.wav" -e signed-integer "$tmp/back.wav" trim 0s "${n}s"
	s=$(sox -V1 "$tmp/16.wav" -n stats 2>&1 | awk '/^RMS lev dB/ {print $4}')
	e=$(sox -V1 -m -v 1 "$tmp/back.wav" -v -1 "$tmp/16.wav" -n stats 2>&1 | awk '/^RMS lev dB/ {print $4}')
	printf '%s/%s.wav\t%s dB gain\tSNR %.1f dB\n' "$lang" "$name" "$gain" "$(awk -v s="$s" -v e="$e" 'BEGIN {print s - e}')"
done
