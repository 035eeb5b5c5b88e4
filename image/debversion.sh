#!/bin/sh
# debversion.sh VERSION prints VERSION as a Debian package version: a leading "v" dropped, "-"
# turned into "+", and "0~" put in front when it does not start with a digit, so that a bare
# commit hash (e861bff-dirty) becomes 0~e861bff+dirty and sorts below every release.
set -eu
if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $0 VERSION" >&2
	exit 2
fi
v=$(printf '%s' "$1" | sed -e 's/^v\([0-9]\)/\1/' -e 's/-/+/g')
case $v in
[0-9]*) ;;
*) v="0~$v" ;;
esac
if ! printf '%s' "$v" | grep -Eq '^[0-9][A-Za-z0-9.+~]*$'; then
	echo "$0: $1 cannot be made a Debian version" >&2
	exit 1
fi
printf '%s\n' "$v"
