// Package image holds the box as it is shipped, not Go code that runs on it: the .deb for
// Debian, Ubuntu and Raspberry Pi OS (nfpm.yaml, build-deb.sh, the systemd unit in systemd/,
// the udev rules in udev/, the maintainer scripts in deb/) and the gokrazy instance for a
// flashable Raspberry Pi image (gokrazy/hotline, build-image.sh). Its tests build both and
// inspect them with the tools an installer's system would use (dpkg-deb, systemd-analyze);
// the Raspberry Pi image, which takes longer to build, only with the build tag imagetest
// (sfdisk, mtools, unsquashfs: what is on it and that it stays under 100 MB).
// The PC instance gokrazy/hotline-vm is what boottest boots under qemu (make boot-test).
package image
