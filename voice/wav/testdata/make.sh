#!/bin/sh
# Makes the WAV samples that wav_test.go decodes: a 1 kHz sine at half full scale (-6.02 dBFS),
# 0.1 s long, written by sox in each encoding. Run from this folder; the files are committed.
set -eu
gen() { # name rate channels -- sox output options
	name=$1 rate=$2 ch=$3
	shift 3
	sox -D -n -r "$rate" -c "$ch" "$@" "$name" synth 0.1 sine 1000 vol 0.5
}
gen u8-8k-mono.wav 8000 1 -e unsigned -b 8
gen s16-44k1-stereo.wav 44100 2 -e signed -b 16
gen s24-48k-mono.wav 48000 1 -e signed -b 24
gen s32-16k-mono.wav 16000 1 -e signed -b 32
gen f32-22k05-stereo.wav 22050 2 -e floating-point -b 32
gen f64-11k025-mono.wav 11025 1 -e floating-point -b 64
gen ulaw-8k-mono.wav 8000 1 -e u-law -b 8
gen alaw-8k-mono.wav 8000 1 -e a-law -b 8
gen s16-8k-3ch.wav 8000 3 -e signed -b 16
# Plain (not extensible) header for 24-bit.
sox -D -n -r 8000 -c 1 -e signed -b 24 -t wavpcm s24-8k-wavpcm.wav synth 0.1 sine 1000 vol 0.5
# IMA ADPCM (4-bit, blocks of 256 bytes a channel at these rates; sox's own block size), and what
# sox decodes them to, as raw 16-bit little-endian samples (sox also decodes the padding of the
# last block, which the fact chunk leaves out).
gen ima-8k-mono.wav 8000 1 -e ima-adpcm
gen ima-11k025-stereo.wav 11025 2 -e ima-adpcm
for f in ima-8k-mono ima-11k025-stereo; do
	sox -D $f.wav -t raw -e signed -b 16 -L $f.sox.s16
done
