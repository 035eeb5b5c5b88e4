#!/bin/sh
# build-deb.sh VERSION OUTDIR [ARCH...] builds OUTDIR/hotline_DEBVERSION_ARCH.deb for each ARCH
# (amd64, arm64, armhf; all three by default) with nfpm. DEBVERSION is VERSION made valid for
# Debian by debversion.sh.
# It prints the path of each package. GO names the go command (default: go).
set -eu

if [ $# -lt 2 ]; then
	echo "usage: $0 VERSION OUTDIR [amd64|arm64|armhf]..." >&2
	exit 2
fi
version=$1
out=$2
shift 2
[ $# -gt 0 ] || set -- arm64 armhf amd64
go=${GO:-go}

root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

debver=$("$root/image/debversion.sh" "$version")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for arch in "$@"; do
	case $arch in
	amd64) goarch=amd64 goarm= nfpmarch=amd64 ;;
	arm64) goarch=arm64 goarm= nfpmarch=arm64 ;;
	armhf) goarch=arm goarm=7 nfpmarch=arm7 ;;
	*)
		echo "$0: unknown architecture $arch (amd64, arm64, armhf)" >&2
		exit 2
		;;
	esac
	bin="$work/$arch/hotline"
	(cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm \
		"$go" build -trimpath -ldflags "-s -w -X main.version=$version" -o "$bin" .)
	deb="$out/hotline_${debver}_${arch}.deb"
	(cd "$root" && HOTLINE_BIN="$bin" HOTLINE_DEB_VERSION="$debver" HOTLINE_NFPM_ARCH="$nfpmarch" \
		"$go" tool nfpm package --config image/nfpm.yaml --packager deb --target "$deb" >/dev/null)
	echo "$deb"
done
