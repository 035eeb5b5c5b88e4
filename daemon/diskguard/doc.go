// Package diskguard watches the free space of the data folder so that a full SD card costs the
// box its recordings, never its call log.
//
// # Concepts
//
// The floor is the free space under which no recording starts and a running one stops (the
// switchboard asks [Guard.CanRecord] before and during every recording, so the WAV file is
// closed with a correct header and its row completed). The default floor is 64 MB or 2 % of
// the file system, whichever is more.
//
// The ballast is a file of a few megabytes (DIR/diskguard.ballast) written when there is room.
// When the disk is all but full (less free than the ballast's size, or a write failed with
// ENOSPC and [Guard.Notify] was told), the guard deletes it: SQLite then has room to log the
// calls that keep coming while the owner clears space. The ballast comes back once free space
// is above the floor plus its size again.
//
// A read-only file system (Linux remounts the SD card read-only after an I/O error) stops
// recording too, with its own alert. It is seen by the mount's flags and, since newer kernels
// keep those as they were and only refuse the writes, by a write tried at every check (an
// empty file made and removed).
//
// The state is read with [Guard.Status] for the dashboard and /metrics; the alert is one
// sentence in plain words meant for the owner.
package diskguard
