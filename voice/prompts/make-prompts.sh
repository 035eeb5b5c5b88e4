#!/bin/sh
# Makes the default voice prompts, voice/prompts/<lang>/<name>.wav, from texts.tsv: espeak-ng
# speaks each text, sox trims the silence around it, resamples to 8 kHz mono 16-bit and sets every
# prompt to the same loudness (RMS at TARGET dBFS, unless that would put a peak above PEAK dBFS). The output is a
# plain 44-byte-header WAV and is byte-for-byte the same on every run with the same espeak-ng and
# sox (no dither, no time stamps), so the files can be committed and rebuilt.
#
# Needs: espeak-ng, sox (Debian: apt-get install espeak-ng sox).
set -eu

cd "$(dirname "$0")"
TARGET=-26   # RMS level of each prompt in dBFS (about -20 dBm0, a usual telephone speech level)
PEAK=-1      # highest peak allowed, in dBFS: no clipping in G.711 or the modem's codec
RATE=150     # words per minute: a little slower than espeak-ng's default, for the telephone

voice_of() {
	case $1 in
	ru) echo ru ;;
	en) echo en-us ;;
	*) echo "make-prompts: no voice for language $1" >&2; exit 1 ;;
	esac
}

for tool in espeak-ng sox; do
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
	sox -D -V1 "$tmp/8k.wav" -t wavpcm "$lang/$name.wav" gain "$gain"
	printf '%s/%s.wav\t%s dB gain\n' "$lang" "$name" "$gain"
done
