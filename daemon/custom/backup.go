package custom

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"hotline/daemon/store"
)

// Product names this firmware in a backup; a file from anything else is refused.
const Product = "hotline"

// BackupFormat is the layout version of the backup file.
const BackupFormat = 1

// Folders inside the data directory that a backup holds besides the database.
var backupFolders = []string{store.VoicemailDir, store.RecordingDir, PromptDir}

// Names inside the data directory used by a restore.
const (
	PendingDir  = "restore-pending"  // a verified backup waiting for the next start
	PreviousDir = "restore-previous" // the data the last restore replaced
	applyingTag = ".applying"        // inside PendingDir while it is being put in place
)

// MaxRestoreBytes is the default limit on the unpacked size of a backup.
const MaxRestoreBytes = 8 << 30

// maxEntries bounds the number of files in a backup.
const maxEntries = 200_000

// Errors of VerifyRestore, in plain words for the owner (the web shows them by errors.Is).
var (
	ErrNotBackup   = errors.New("this is not a hotline backup file")
	ErrTorn        = errors.New("the backup file is damaged or incomplete")
	ErrNewerSchema = errors.New("the backup was made by a newer hotline; update this box first")
	ErrTooBig      = errors.New("the backup is larger than this box accepts")
	ErrUnsafePath  = errors.New("the backup holds a file outside its folders")
)

// Header is backup.json, the first file of a backup.
type Header struct {
	Product string    `json:"product"`
	Format  int       `json:"format"`
	Schema  int       `json:"schema"`
	Created time.Time `json:"created"`
}

// Manifest is manifest.json, the last file of a backup.
type Manifest struct {
	Product string         `json:"product"`
	Schema  int            `json:"schema"`
	Files   []ManifestFile `json:"files"`
}

// ManifestFile is one file of a backup with its checksum.
type ManifestFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

const (
	headerName   = "backup.json"
	manifestName = "manifest.json"
)

// BackupFileName is a name for a backup download made at t.
func BackupFileName(t time.Time) string {
	return "hotline-backup-" + t.UTC().Format("20060102-150405") + ".tar.gz"
}

// WriteBackup writes the whole box to w as a tar.gz, reading each file as it goes: the
// database (a consistent copy by st.Backup), then the voicemail, recordings and prompts
// folders of st.Dir(), then the manifest. A file that grows while it is read (a voicemail
// being recorded) is copied up to the size it had when it was listed.
func WriteBackup(ctx context.Context, w io.Writer, st *store.Store) error {
	dbCopy, err := st.Backup(ctx)
	if err != nil {
		return fmt.Errorf("backup: copy the database: %w", err)
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	now := time.Now().UTC()
	hdr, err := json.Marshal(Header{Product: Product, Format: BackupFormat, Schema: store.SchemaVersion(), Created: now})
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := writeEntry(tw, headerName, hdr, now); err != nil {
		return err
	}
	m := Manifest{Product: Product, Schema: store.SchemaVersion()}
	add := func(f io.Reader, name string, size int64, mod time.Time) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o640, Size: size, ModTime: mod, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return fmt.Errorf("backup: %s: %w", name, err)
		}
		h := sha256.New()
		if _, err := io.CopyN(io.MultiWriter(tw, h), f, size); err != nil {
			return fmt.Errorf("backup: %s: %w", name, err)
		}
		m.Files = append(m.Files, ManifestFile{Path: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))})
		return nil
	}
	fi, err := os.Stat(dbCopy)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := addFile(add, dbCopy, store.DBName, fi.Size(), fi.ModTime()); err != nil {
		return err
	}
	for _, folder := range backupFolders {
		if err := tw.WriteHeader(&tar.Header{Name: folder + "/", Mode: 0o750, ModTime: now, Typeflag: tar.TypeDir, Format: tar.FormatPAX}); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		root := filepath.Join(st.Dir(), folder)
		// A working copy (the data disk turned read-only) links to the messages kept there.
		var linkedRoot string
		if orig := st.CopyOf(); orig != "" {
			linkedRoot = filepath.Join(orig, folder) + string(filepath.Separator)
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, os.ErrNotExist) && p == root {
				return fs.SkipDir
			}
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(st.Dir(), p)
			if err != nil {
				return err
			}
			name := filepath.ToSlash(rel)
			switch {
			case p == root:
				return nil
			case d.IsDir():
				return tw.WriteHeader(&tar.Header{Name: name + "/", Mode: 0o750, ModTime: now, Typeflag: tar.TypeDir, Format: tar.FormatPAX})
			case d.Type()&fs.ModeSymlink != 0 && linkedRoot != "":
				target, err := os.Readlink(p)
				if err != nil || !strings.HasPrefix(filepath.Clean(target), linkedRoot) {
					return nil
				}
				// Read whole first: a file the failing card cannot give back any more is
				// left out, not a reason to lose the whole backup.
				info, err := os.Stat(target)
				if err != nil || !info.Mode().IsRegular() {
					return nil
				}
				data, err := os.ReadFile(target)
				if err != nil {
					return nil
				}
				return add(bytes.NewReader(data), name, int64(len(data)), info.ModTime())
			case !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".tmp-"):
				return nil // other links, sockets and half-written prompts stay out
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			return addFile(add, p, name, info.Size(), info.ModTime())
		})
		if err != nil {
			return fmt.Errorf("backup: %s: %w", folder, err)
		}
	}
	man, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := writeEntry(tw, manifestName, man, now); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// addFile hands the file at src to add.
func addFile(add func(io.Reader, string, int64, time.Time) error, src, name string, size int64, mod time.Time) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	return add(f, name, size, mod)
}

func writeEntry(tw *tar.Writer, name string, data []byte, mod time.Time) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o640, Size: int64(len(data)), ModTime: mod, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return fmt.Errorf("backup: %s: %w", name, err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("backup: %s: %w", name, err)
	}
	return nil
}

// safeName checks a path inside a backup: relative, clean, with no "..", inside the database
// or one of the backed-up folders, and made of plain characters.
func safeName(name string) (string, bool) {
	name = strings.TrimSuffix(name, "/")
	if name == "" || strings.ContainsAny(name, "\\:\x00") || path.IsAbs(name) || path.Clean(name) != name {
		return "", false
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." || strings.HasPrefix(part, ".") {
			return "", false
		}
		for _, r := range part {
			if r < 0x20 || r == 0x7f {
				return "", false
			}
		}
	}
	top, _, _ := strings.Cut(name, "/")
	if name == store.DBName || slices.Contains(backupFolders, top) {
		return name, true
	}
	return "", false
}

// VerifyRestore reads a backup from r into dataDir/restore-pending and returns its header.
// Nothing in dataDir is touched unless the whole file checks out: from this product (header
// and manifest), a schema this program can open, every file listed with the right size and
// checksum and no other, no path outside its folders, at most maxBytes unpacked (0:
// MaxRestoreBytes), and a database that opens with the schema it claims. On any failure the
// partial copy is removed and the error wraps ErrNotBackup, ErrTorn, ErrNewerSchema, ErrTooBig
// or ErrUnsafePath. A pending restore from before is replaced only by a verified one.
func VerifyRestore(ctx context.Context, dataDir string, r io.Reader, maxBytes int64) (Header, error) {
	if maxBytes <= 0 {
		maxBytes = MaxRestoreBytes
	}
	tmp, err := os.MkdirTemp(dataDir, ".restore-*")
	if err != nil {
		return Header{}, fmt.Errorf("restore: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	h, err := unpack(ctx, tmp, r, maxBytes)
	if err != nil {
		return Header{}, err
	}
	if err := checkDatabase(ctx, filepath.Join(tmp, store.DBName), h.Schema); err != nil {
		return Header{}, err
	}
	if err := syncTree(tmp); err != nil {
		return Header{}, fmt.Errorf("restore: %w", err)
	}
	pending := filepath.Join(dataDir, PendingDir)
	if err := os.RemoveAll(pending); err != nil {
		return Header{}, fmt.Errorf("restore: remove the earlier pending restore: %w", err)
	}
	if err := os.Rename(tmp, pending); err != nil {
		return Header{}, fmt.Errorf("restore: %w", err)
	}
	ok = true
	if err := syncDir(dataDir); err != nil {
		return Header{}, fmt.Errorf("restore: %w", err)
	}
	return h, nil
}

// unpack reads the tar.gz into dir, checking it as it goes.
func unpack(ctx context.Context, dir string, r io.Reader, maxBytes int64) (Header, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return Header{}, fmt.Errorf("restore: %w (%v)", ErrNotBackup, err)
	}
	gz.Multistream(false)
	tr := tar.NewReader(gz)
	next := func() (*tar.Header, error) {
		th, err := tr.Next()
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("restore: %w (%v)", ErrTorn, err)
		}
		return th, err
	}
	// The header comes first: a foreign or too new file is refused before anything is read.
	th, err := next()
	if errors.Is(err, io.EOF) {
		return Header{}, fmt.Errorf("restore: %w (empty archive)", ErrNotBackup)
	}
	if err != nil {
		return Header{}, err
	}
	if th.Name != headerName || th.Size > 4096 {
		return Header{}, fmt.Errorf("restore: %w (first entry %q)", ErrNotBackup, th.Name)
	}
	var h Header
	if err := readJSON(tr, th.Size, &h); err != nil || h.Product != Product {
		return Header{}, fmt.Errorf("restore: %w (product %q)", ErrNotBackup, h.Product)
	}
	if err := checkSchema(h.Schema, h.Format); err != nil {
		return Header{}, err
	}
	got := map[string]ManifestFile{}
	var total int64
	var man *Manifest
	for {
		if err := ctx.Err(); err != nil {
			return Header{}, err
		}
		th, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Header{}, err
		}
		if man != nil {
			return Header{}, fmt.Errorf("restore: %w (%q after the manifest)", ErrTorn, th.Name)
		}
		if th.Name == manifestName && th.Typeflag == tar.TypeReg {
			if th.Size > 64<<20 {
				return Header{}, fmt.Errorf("restore: %w (manifest of %d bytes)", ErrTooBig, th.Size)
			}
			man = &Manifest{}
			if err := readJSON(tr, th.Size, man); err != nil {
				return Header{}, fmt.Errorf("restore: %w (manifest: %v)", ErrTorn, err)
			}
			continue
		}
		name, ok := safeName(th.Name)
		if !ok {
			return Header{}, fmt.Errorf("restore: %w: %q", ErrUnsafePath, th.Name)
		}
		if len(got) >= maxEntries {
			return Header{}, fmt.Errorf("restore: %w (more than %d files)", ErrTooBig, maxEntries)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch th.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o750); err != nil {
				return Header{}, fmt.Errorf("restore: %w", err)
			}
			continue
		case tar.TypeReg:
		default:
			return Header{}, fmt.Errorf("restore: %w: %q is not a plain file", ErrUnsafePath, th.Name)
		}
		if _, dup := got[name]; dup {
			return Header{}, fmt.Errorf("restore: %w (%q twice)", ErrTorn, name)
		}
		total += th.Size
		if th.Size < 0 || total > maxBytes {
			return Header{}, fmt.Errorf("restore: %w (over %d bytes)", ErrTooBig, maxBytes)
		}
		mf, err := writeFile(target, tr, th.Size)
		if err != nil {
			return Header{}, err
		}
		mf.Path = name
		got[name] = mf
	}
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return Header{}, fmt.Errorf("restore: %w (%v)", ErrTorn, err)
	}
	if man == nil {
		return Header{}, fmt.Errorf("restore: %w (no manifest: the file ends early)", ErrTorn)
	}
	if man.Product != Product || man.Schema != h.Schema {
		return Header{}, fmt.Errorf("restore: %w (manifest says %q v%d)", ErrNotBackup, man.Product, man.Schema)
	}
	if len(man.Files) != len(got) {
		return Header{}, fmt.Errorf("restore: %w (%d files, manifest lists %d)", ErrTorn, len(got), len(man.Files))
	}
	for _, want := range man.Files {
		if g, ok := got[want.Path]; !ok || g != want {
			return Header{}, fmt.Errorf("restore: %w (%s does not match its checksum)", ErrTorn, want.Path)
		}
	}
	if _, ok := got[store.DBName]; !ok {
		return Header{}, fmt.Errorf("restore: %w (no database)", ErrTorn)
	}
	for _, folder := range backupFolders {
		if err := os.MkdirAll(filepath.Join(dir, folder), 0o750); err != nil {
			return Header{}, fmt.Errorf("restore: %w", err)
		}
	}
	return h, nil
}

func checkSchema(schema, format int) error {
	if format != BackupFormat || schema < 1 {
		return fmt.Errorf("restore: %w (format %d, schema %d)", ErrNotBackup, format, schema)
	}
	if schema > store.SchemaVersion() {
		return fmt.Errorf("restore: %w (schema v%d, this program v%d)", ErrNewerSchema, schema, store.SchemaVersion())
	}
	return nil
}

func readJSON(r io.Reader, size int64, v any) error {
	dec := json.NewDecoder(io.LimitReader(r, size))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// writeFile copies size bytes from r to a new file target and returns its size and checksum.
func writeFile(target string, r io.Reader, size int64) (ManifestFile, error) {
	if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
		return ManifestFile{}, fmt.Errorf("restore: %w", err)
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return ManifestFile{}, fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err != nil {
		return ManifestFile{}, fmt.Errorf("restore: %w (%v)", ErrTorn, err)
	}
	if n != size {
		return ManifestFile{}, fmt.Errorf("restore: %w (short file)", ErrTorn)
	}
	if err := f.Close(); err != nil {
		return ManifestFile{}, fmt.Errorf("restore: %w", err)
	}
	return ManifestFile{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// checkDatabase opens the restored database read-only: it must be SQLite, pass quick_check,
// and have the schema version the header claims.
func checkDatabase(ctx context.Context, file string, schema int) error {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer db.Close()
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("restore: %w (database: %v)", ErrTorn, err)
	}
	if version != schema {
		return fmt.Errorf("restore: %w (database v%d, header v%d)", ErrTorn, version, schema)
	}
	var check string
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check); err != nil || check != "ok" {
		return fmt.Errorf("restore: %w (database check: %q %v)", ErrTorn, check, err)
	}
	return nil
}

// syncTree fsyncs every file and folder under dir.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

// Pending reports whether a verified restore waits in dataDir for the next start.
func Pending(dataDir string) bool {
	fi, err := os.Stat(filepath.Join(dataDir, PendingDir))
	return err == nil && fi.IsDir()
}

// CancelPending drops a restore that waits for the next start.
func CancelPending(dataDir string) error {
	if err := os.RemoveAll(filepath.Join(dataDir, PendingDir)); err != nil {
		return fmt.Errorf("restore: cancel: %w", err)
	}
	return syncDir(dataDir)
}

// ApplyPendingRestore puts a verified restore (dataDir/restore-pending) in place of the current
// data. The daemon calls it at start, before store.Open; it reports whether a restore was
// applied. The database (with its -wal and -shm files) and the voicemail, recordings and prompts
// folders move to dataDir/restore-previous (replacing what an earlier restore left there), then
// the restored ones move in, one rename each. A power cut part way is finished by the next
// call: the pending folder is removed only at the end, and a marker in it says the earlier
// data has already been set aside.
//
// It also removes what an upload cut short by a power failure left (DATA/.restore-*): at start
// no upload can be running.
func ApplyPendingRestore(dataDir string) (bool, error) {
	partial, _ := filepath.Glob(filepath.Join(dataDir, ".restore-*"))
	for _, p := range partial {
		if err := os.RemoveAll(p); err != nil {
			return false, fmt.Errorf("restore: remove a partial upload: %w", err)
		}
	}
	pending := filepath.Join(dataDir, PendingDir)
	if !Pending(dataDir) {
		return false, nil
	}
	prev := filepath.Join(dataDir, PreviousDir)
	tag := filepath.Join(pending, applyingTag)
	if _, err := os.Stat(tag); errors.Is(err, os.ErrNotExist) {
		if err := os.RemoveAll(prev); err != nil {
			return false, fmt.Errorf("restore: clear %s: %w", prev, err)
		}
		if err := writeFileAtomic(tag, []byte("applying\n")); err != nil {
			return false, fmt.Errorf("restore: %w", err)
		}
	}
	if err := os.MkdirAll(prev, 0o750); err != nil {
		return false, fmt.Errorf("restore: %w", err)
	}
	items := append([]string{store.DBName}, backupFolders...)
	for _, item := range items {
		src := filepath.Join(pending, item)
		if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
			continue // moved in before a power cut
		}
		aside := []string{item}
		if item == store.DBName {
			// The old write-ahead log must never meet the restored database.
			aside = []string{item + "-wal", item + "-shm", item}
		}
		for _, a := range aside {
			cur := filepath.Join(dataDir, a)
			if _, err := os.Lstat(cur); errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err := os.RemoveAll(filepath.Join(prev, a)); err != nil {
				return false, fmt.Errorf("restore: %w", err)
			}
			if err := os.Rename(cur, filepath.Join(prev, a)); err != nil {
				return false, fmt.Errorf("restore: set aside %s: %w", a, err)
			}
		}
		if err := os.Rename(src, filepath.Join(dataDir, item)); err != nil {
			return false, fmt.Errorf("restore: put %s in place: %w", item, err)
		}
		if err := syncDir(dataDir); err != nil {
			return false, fmt.Errorf("restore: %w", err)
		}
	}
	if err := os.RemoveAll(pending); err != nil {
		return false, fmt.Errorf("restore: %w", err)
	}
	if err := syncDir(dataDir); err != nil {
		return false, fmt.Errorf("restore: %w", err)
	}
	return true, nil
}
