package daemon

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

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
	files, err := copiedFiles(src)
	if err != nil {
		return "", false, fmt.Errorf("list the data to copy: %w", err)
	}
	var need int64
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(src, f))
		if err != nil {
			return "", false, fmt.Errorf("measure the data to copy: %w", err)
		}
		need += fi.Size()
	}
	var tried []string
	for _, place := range places {
		dir := filepath.Join(place, copyDirName)
		// A daemon restarted on the same boot (a crash, an update) goes on with the finished
		// copy (its mark is written last), so the calls it took meanwhile are not dropped.
		// Only one this user made: the places may be shared folders such as /dev/shm.
		if ours(dir) {
			if b, err := os.ReadFile(filepath.Join(dir, store.WorkingCopyMark)); err == nil && string(b) == src {
				return dir, false, nil
			}
		}
		if err := usable(place, need); err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", place, err))
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", place, err))
			continue
		}
		if err := copyData(src, dir, files); err != nil {
			_ = os.RemoveAll(dir)
			tried = append(tried, fmt.Sprintf("%s: %v", place, err))
			continue
		}
		return dir, true, nil
	}
	return "", false, fmt.Errorf("no place for a working copy of %d KiB: %s", need>>10, strings.Join(tried, "; "))
}

// copiedFiles lists what a working copy of src copies, relative to src: the top-level files
// but the skipped ones, and the files of copiedFolders.
func copiedFiles(src string) ([]string, error) {
	var files []string
	entries, err := os.ReadDir(src)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Type().IsRegular() && !skippedFiles[e.Name()] && e.Name() != store.WorkingCopyMark {
			files = append(files, e.Name())
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
				rel, err := filepath.Rel(src, p)
				if err != nil {
					return err
				}
				files = append(files, rel)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// ours says whether dir is a real folder (not a link) owned by this process's user.
func ours(dir string) bool {
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
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

// copyData makes dir (which must not exist: Mkdir, not MkdirAll, so nothing planted in a
// shared place is followed) a copy of files from src, links every message and recording, and
// writes the mark last. The mark need not be synced: the places are in memory, and a torn
// mark only means the next start copies again.
func copyData(src, dir string, files []string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	for _, f := range files {
		to := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(to), 0o750); err != nil {
			return err
		}
		if err := copyFile(filepath.Join(src, f), to); err != nil {
			return err
		}
	}
	for _, f := range linkedFolders {
		if err := linkInto(filepath.Join(src, f), filepath.Join(dir, f)); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, store.WorkingCopyMark), []byte(src), 0o640)
}

// linkInto recreates the folders of from under to, with a link to each regular file.
func linkInto(from, to string) error {
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
			return os.Symlink(p, target)
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
