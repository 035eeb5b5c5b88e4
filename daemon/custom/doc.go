// Package custom keeps what the owner made on this box apart from what ships in the binary:
// the prompts the owner uploaded or recorded (DATA/prompts/<lang>/<name>.wav, played before the
// embedded prompt of the same name), and whole-box backups (one tar.gz with the database and
// the voicemail, recordings and prompts folders) with their restore.
//
// # Prompts
//
// [Prompts] stores a prompt as an 8 kHz mono 16-bit WAV made by hotline/voice/importer (trimmed
// and set to one loudness). A save writes a temporary file next to the final one, syncs it and
// renames it over, so a power cut leaves either the old prompt or the new one, never half.
// Names are [a-z0-9_]{1,40} and languages [a-z]{2}: a name cannot leave the folder.
//
// # Backups
//
// [WriteBackup] streams a tar.gz as it reads the files: first backup.json (the product
// "hotline", the format and the schema version, so a foreign or too new file is refused at
// once), then the database (a consistent copy made by store.Backup), the folders, and last
// manifest.json with every file's size and SHA-256. [VerifyRestore] reads such a stream into
// DATA/restore-pending/ and keeps it only when all of it checks out; [ApplyPendingRestore],
// called by the daemon before it opens the store, puts it in place of the current data and keeps
// the data it replaces in DATA/restore-previous/.
package custom
