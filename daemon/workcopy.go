package daemon

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"hotline/daemon/custom"
	"hotline/daemon/store"
)

// A memory card that starts failing often turns itself read-only. The box must still answer:
// it runs from a working copy of its data in memory (a tmpfs), and tells the owner that what
// happens from then on is lost at the next restart unless the card is replaced.
//
// The copy never starts empty: a fresh database would show a setup code, and anyone on the
// network could claim the box. When no copy can be made the box does not start, as before.

// copyMark is written last into a finished working copy; its content is the data folder the
// copy was made from. A daemon restarted on the same boot (a crash, an update) finds it and
// goes on with the copy, so the calls it took meanwhile are not dropped.
const copyMark = store.WorkingCopyMark

// copyDirName is the working copy's folder inside the place chosen for it.
const copyDirName = "hotline-working-copy"

// linkedFolders are read where they are: every file in them is linked, not copied (the
// messages and recordings can be far larger than memory). New ones are written in the copy.
// The database's daily copies are linked too, so that the copy does not count one as due.
var linkedFolders = []string{store.VoicemailDir, RecordingDir, store.BackupDir}

// copiedFolders are copied whole: the owner's prompts, which the calls need.
var copiedFolders = []string{custom.PromptDir}

// skippedFiles stay behind: the lock belongs to the read-only folder, and SQLite rebuilds its
// shared-memory index.
var skippedFiles = map[string]bool{"hotline.lock": true, store.DBName + "-shm": true}

// workingCopyPlaces are where a working copy may go, first that works: systemd's runtime
// folder for the service (RuntimeDirectory=), the temporary folder (a tmpfs on gokrazy and
// most systems), /dev/shm (a tmpfs on every Linux).
func workingCopyPlaces() []string {
	var p []string
	if d := os.Getenv("RUNTIME_DIRECTORY"); d != "" {
		p = append(p, strings.Split(d, ":")[0])
	}
	return append(p, os.TempDir(), "/dev/shm")
}

// makeWorkingCopy makes (or finds, from an earlier start on this boot) a working copy of the
// read-only data folder src inside one of places, and returns its folder and whether it was
// made now.
func makeWorkingCopy(src string, places []string) (dir string, fresh bool, err error) {
	src, err = filepath.Abs(src)
	if err != nil {
		return "", false, err
	}
	need, err := copySize(src)
	if err != nil {
		return "", false, fmt.Errorf("measure the data to copy: %w", err)
	}
	var tried []string
	for _, place := range places {
		dir := filepath.Join(place, copyDirName)
		if b, err := os.ReadFile(filepath.Join(dir, copyMark)); err == nil && string(b) == src {
			return dir, false, nil
		}
		if err := usable(place, need); err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", place, err))
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", place, err))
			continue
		}
		if err := copyData(src, dir); err != nil {
			_ = os.RemoveAll(dir)
			tried = append(tried, fmt.Sprintf("%s: %v", place, err))
			continue
		}
		return dir, true, nil
	}
	return "", false, fmt.Errorf("no place for a working copy of %d KiB: %s", need>>10, strings.Join(tried, "; "))
}

// copySize is what a copy of src takes: the files copied, not the linked ones.
func copySize(src string) (int64, error) {
	var n int64
	entries, err := os.ReadDir(src)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if e.Type().IsRegular() && !skippedFiles[e.Name()] {
			fi, err := e.Info()
			if err != nil {
				return 0, err
			}
			n += fi.Size()
		}
	}
	for _, f := range copiedFolders {
		err := filepath.WalkDir(filepath.Join(src, f), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if d.Type().IsRegular() {
				fi, err := d.Info()
				if err != nil {
					return err
				}
				n += fi.Size()
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}

// usable says whether place is a writable file system with room for a copy of need bytes and
// as much again for what the box writes until it restarts (the database grows, messages are
// recorded, and memory is shared with the box itself).
func usable(place string, need int64) error {
	if err := os.MkdirAll(place, 0o750); err != nil {
		return err
	}
	var s unix.Statfs_t
	if err := unix.Statfs(place, &s); err != nil {
		return err
	}
	if s.Flags&unix.ST_RDONLY != 0 {
		return errors.New("read-only")
	}
	free := int64(s.Bavail) * int64(s.Bsize) // Bsize is int32 on 32-bit ARM
	if want := 2*need + 16<<20; free < want {
		return fmt.Errorf("%d KiB free, %d KiB needed", free>>10, want>>10)
	}
	return nil
}

// copyData copies src into dir (which does not exist): the top-level files but the lock, the
// prompts, and a link to every message and recording; the mark goes last.
func copyData(src, dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() && !skippedFiles[e.Name()] && e.Name() != copyMark {
			if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	for _, f := range copiedFolders {
		if err := walkInto(filepath.Join(src, f), filepath.Join(dir, f), copyFile); err != nil {
			return err
		}
	}
	for _, f := range linkedFolders {
		if err := walkInto(filepath.Join(src, f), filepath.Join(dir, f), func(from, to string) error { return os.Symlink(from, to) }); err != nil {
			return err
		}
	}
	return writeSynced(filepath.Join(dir, copyMark), []byte(src))
}

// walkInto recreates the folders of from under to and hands each regular file to do.
func walkInto(from, to string, do func(from, to string) error) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == from && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipDir
			}
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		target := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o750)
		case d.Type().IsRegular():
			return do(p, target)
		}
		return nil
	})
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", from, err)
	}
	return out.Close()
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
