// Package boottest boots the gokrazy image of the box for a PC (image/gokrazy/hotline-vm)
// under qemu-system-x86_64 and drives it from the host like a real installation: a simulated
// Quectel EC25 (hotline/hw/sim) on two host pseudo-terminals is wired into the virtual machine
// as two emulated USB serial adapters (qemu's usb-serial, an FTDI FT232 that the guest kernel's
// ftdi_sio driver names /dev/ttyUSB0 and /dev/ttyUSB1), the web admin and gokrazy's own page
// are forwarded to loopback ports, and the test claims the box, places a call that leaves a
// voicemail, cuts the power (SIGKILL to qemu) and boots the same disk again to check that the
// call log and the voicemail survived.
//
// The test is behind the build tag boottest, so `go test ./...` compiles none of it; `make
// boot-test` runs it:
//
//	go test -tags boottest -count=1 -timeout 20m -v ./image/boottest
//
// It needs qemu-system-x86_64 and mkfs.ext4 and fails, not skips, without them.
// HOTLINE_BOOTTEST_ACCEL picks the accelerator: kvm, tcg, or auto (the default), which tries
// KVM and falls back to TCG, saying so in the log, when /dev/kvm is missing or KVM cannot run
// the guest (nested virtualisation without EPT fails in the kernel's decompressor).
package boottest
