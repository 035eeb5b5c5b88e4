#!/bin/sh
# build-image.sh VERSION OUT.img builds the flashable Raspberry Pi image (Pi 3, 4, 5, Zero 2 W)
# of the gokrazy instance image/gokrazy/hotline and formats its /perm partition (ext4), so the
# image is complete: write it to an SD card of at least HOTLINE_IMAGE_BYTES (default 2 GiB,
# of which /perm gets about 0.9 GiB) with dd or Raspberry Pi Imager.
#
# build-image.sh VERSION --gok GOK-ARGS... runs `go tool gok GOK-ARGS` on the same instance
# instead, for example `image/build-image.sh v1.0.0 --gok update` (over the network to
# http://hotline:8080/) or `--gok overwrite --full /dev/sdX` (straight to a card).
#
# The instance is copied to a temporary folder with VERSION put into config.json, and its
# build folder gets a go.mod that requires this module (replaced by this checkout), so that
# hotline and the gokrazy packages build at the versions pinned in this module's go.mod
# (image/gokrazydeps.go). The password of gokrazy's own web page (port 8080) is the build
# machine's ~/.config/gokrazy/http-password.txt, which gok creates on the first build.
# GO names the go command (default: go); HOTLINE_INSTANCE the instance (default: hotline).
set -eu

if [ $# -lt 2 ]; then
	echo "usage: $0 VERSION OUT.img | $0 VERSION --gok GOK-ARGS..." >&2
	exit 2
fi
version=$1
shift
go=${GO:-go}
instance=${HOTLINE_INSTANCE:-hotline}
bytes=${HOTLINE_IMAGE_BYTES:-2147483648}
root=$(cd "$(dirname "$0")/.." && pwd)
case $version in
"" | *[!A-Za-z0-9.+~_-]*)
	echo "$0: version \"$version\" has odd characters" >&2
	exit 2
	;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
inst="$work/$instance"
mkdir -p "$inst/builddir"
sed "s/@VERSION@/$version/" "$root/image/gokrazy/$instance/config.json" >"$inst/config.json"
gover=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$root/go.mod")
# The Raspberry Pi firmware goes in as a copy of github.com/gokrazy/firmware (at the version in
# go.mod) that holds only what the boards of the box load: bootcode.bin (Pi 3 and Zero 2 W; the
# Pi 4 and 5 have theirs in the EEPROM), start.elf and fixup.dat (Pi 3, Zero 2 W), start4.elf and
# fixup4.dat (Pi 4); the Pi 5 loads none of them. The other variants are loaded only when
# config.txt asks for them (start_x: camera, start_debug: debug, gpu_mem=16: cut-down), and the
# instance's config.txt does not: 17 MB less on the boot partition. gok copies every *.elf and
# *.dat of the firmware package, so the copy, not a setting, is what leaves them out.
firmware_files="bootcode.bin start.elf fixup.dat start4.elf fixup4.dat"
fwsrc=$(cd "$root" && "$go" mod download github.com/gokrazy/firmware && "$go" list -m -f '{{.Dir}}' github.com/gokrazy/firmware)
fw="$work/firmware"
mkdir -p "$fw"
for f in go.mod firmware.go LICENSE.broadcom $firmware_files; do
	cp "$fwsrc/$f" "$fw/$f"
done

cat >"$inst/builddir/go.mod" <<EOM
module gokrazy/build/hotline

go $gover

require hotline v0.0.0-00010101000000-000000000000

replace hotline => $root

replace github.com/gokrazy/firmware => $fw
EOM
cp "$root/go.sum" "$inst/builddir/go.sum"

if [ "$1" = --gok ]; then
	shift
	exec "$go" tool gok --parent_dir "$work" -i "$instance" "$@"
fi

out=$1
mkdir -p "$(dirname "$out")"
rm -f "$out"
"$go" tool gok --parent_dir "$work" -i "$instance" overwrite \
	--full "$out" --target_storage_bytes "$bytes" 2>&1 | tee "$work/gok.log" >&2
[ -s "$out" ] || {
	echo "$0: gok wrote no image" >&2
	exit 1
}
# gok leaves /perm unformatted in an image file and prints the mkfs.ext4 command for it.
mkfs=$(sed -n 's/^.*\/sbin\/mkfs\.ext4 -F -E \(offset=[0-9]* .* [0-9]*\)$/\1/p' "$work/gok.log")
if [ -z "$mkfs" ]; then
	echo "$0: gok printed no mkfs.ext4 command for /perm" >&2
	exit 1
fi
set -- $mkfs
# lazy_journal_init: the journal is left as the image file has it, a hole that reads as zeros
# (and that dd writes as zeros), instead of 16 MB of zeros allocated in the file.
# -e remount-ro: after an I/O error (a failing card) the kernel refuses writes instead of going
# on (gokrazy mounts /perm without options, so the file system's own default counts); the box
# then starts again from a copy in memory.
mkfs.ext4 -q -F -L perm -e remount-ro -E "$1,lazy_journal_init=1" "$2" "$3"
echo "$out"
