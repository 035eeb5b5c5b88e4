// Package store keeps everything the hotline must remember in one SQLite database under the data
// directory: the call log, voicemail, settings, users with their passwords and roles, web
// sessions, the one-time setup code and the audit log.
//
// # Files
//
// A Store owns DIR/hotline.db (WAL mode, foreign keys on, a busy timeout so that the
// switchboard's call goroutines, the web admin and a `hotline passwd` in another process can
// write at the same time), DIR/voicemail/ (audio written by the switchboard, named in the
// voicemail rows), DIR/backups/ (copies made with VACUUM INTO, the newest five kept),
// DIR/setup-code.txt (the first-run code, mode 0600, until the owner claims the box) and
// DIR/hotline.lock (an flock that tells the first Store in the directory from later ones).
//
// Writes from the goroutines of one process take turns on a queue inside the Store; reads run
// in parallel with them (WAL).
//
// # Schema
//
// The schema is an ordered list of migrations applied at Open, each in its own transaction,
// with PRAGMA user_version counting how many have run. A database with pending migrations is
// backed up before it is touched. New migrations go at the end of the list; old ones never
// change.
//
// # Crash recovery
//
// A call row is written when the line first rings, before any audio flows, and completed when
// the call ends. If the box loses power in between, the next Open that is the only user of the
// directory closes the calls left in progress with outcome "failed" and marks unfinished
// voicemail complete, with the duration measured from its WAV file.
//
// # Passwords and sessions
//
// Passwords are stored as argon2id hashes in the PHC string format (see ArgonMemoryKiB for the
// cost and why); hashes of older versions (PBKDF2) still work and are replaced at the next
// successful login. Checking an unknown user's password costs the same work as a known one's.
// A session is kept as the SHA-256 of its token; it lives its lifetime from its last use
// (extended at most once per RenewEvery) and never longer than MaxSessionAge. Setting or
// changing a password ends the user's other sessions.
//
// # Times
//
// Times are stored as Unix milliseconds and returned in UTC; a zero time.Time stands for
// "not yet" (AnsweredAt, EndedAt, HandledAt).
package store
