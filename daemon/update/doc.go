// Package update installs a new hotline binary on a running box and takes it back when the new
// version does not come up. It knows no HTTP: the web admin and `hotline update` call it.
//
// # The update file
//
// An update file (NAME.hotline-update) is one stream, read front to back:
//
//	"HOTLINE-UPDATE\x00" 1   magic and format version (16 bytes)
//	uint32 big endian        length of the manifest (1..16 KiB)
//	manifest                 JSON: product, version, GOOS/GOARCH/GOARM, size and SHA-256 of the payload, created
//	32 bytes                 the ed25519 public key that signed it
//	64 bytes                 the ed25519 signature of "hotline-update-v1\x00" + manifest
//	payload                  the new hotline binary, exactly size bytes, then the end of the file
//
// The signature covers the manifest, which holds the payload's hash, so [Receive] checks the
// signature and the manifest before it reads the payload, then spools the payload to a file in
// the data folder while it hashes it: the file is never held in memory. It refuses a file
// signed by a key it does not trust, for another product or processor, not newer than the
// running version (unless forced), cut short, longer than it says, whose payload hash differs,
// or whose payload is not an ELF executable for this processor.
//
// # Slots
//
// The root file system of a gokrazy image is read-only and a .deb owns /usr/bin/hotline, so
// updates live in the data folder: DATA/update/slot-a and slot-b hold two binaries, each with
// its manifest beside it, and DATA/update/state.json (written atomically) says which slot is
// active and which is on trial. The binary that the image or package installed (the built-in
// one) is always the last fallback.
//
// [Launch], called first thing in `hotline run`, replaces the process with the slot's binary
// (syscall.Exec, same PID, so systemd's notify socket and watchdog still follow it). A slot
// just installed runs on trial: it must call [MarkHealthy] (cmd_run does, through
// [WatchTrial], when its web admin has answered for [TrialPeriod]; one that has not answered
// by [TrialGiveUp] ends itself) before it becomes the active one. A trial that was started [MaxTrialStarts] times without reporting healthy
// (it exited, crashed, hung and was killed by the watchdog, or the power went) is dropped at
// the next start, which goes back to the previous slot or the built-in binary and records why,
// for the admin to show.
package update
