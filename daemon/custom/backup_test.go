package custom

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"hotline/daemon/store"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// boxWithData is a data folder with a call, a voicemail file, a recording and a custom prompt.
func boxWithData(t *testing.T) (string, *store.Store) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for i, raw := range []string{"+79161234567", "+74951234567"} {
		id, err := st.StartCall(ctx, "sim1", raw, t0.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.FinishCall(ctx, id, t0.Add(time.Duration(i)*time.Minute+time.Second), "1", "missed"); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetSetting(ctx, "business_name", "Roga & Kopyta"); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, store.VoicemailDir, "20260301-100000-1.wav"), toneWAV(t, 0.2, 8000, 8000))
	write(t, filepath.Join(dir, "recordings", "2026", "call-2.wav"), toneWAV(t, 0.1, 8000, 8000))
	if _, err := (Prompts{Dir: filepath.Join(dir, PromptDir)}).Save("ru", "greeting", bytes.NewReader(toneWAV(t, 0.5, 8000, 8000)), 0); err != nil {
		t.Fatal(err)
	}
	return dir, st
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
}

// files maps every file under the backed-up folders of dir to its content.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, folder := range backupFolders {
		root := filepath.Join(dir, folder)
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(dir, p)
			out[filepath.ToSlash(rel)] = string(b)
			return nil
		})
	}
	return out
}

func callNumbers(t *testing.T, st *store.Store) []string {
	t.Helper()
	calls, err := st.ListCalls(context.Background(), store.CallFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range calls {
		out = append(out, c.Number+" "+c.Outcome)
	}
	return out
}

func TestBackupRoundTrip(t *testing.T) {
	ctx := context.Background()
	srcDir, src := boxWithData(t)
	var buf bytes.Buffer
	if err := WriteBackup(ctx, &buf, src); err != nil {
		t.Fatalf("backup: %v", err)
	}
	wantCalls, wantFiles := callNumbers(t, src), files(t, srcDir)
	if len(wantCalls) != 2 || len(wantFiles) != 3 {
		t.Fatalf("source box: %v %v", wantCalls, wantFiles)
	}

	// Another box with other data; the restore replaces it on the next start.
	dstDir := t.TempDir()
	dst, err := store.Open(ctx, dstDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dst.StartCall(ctx, "sim2", "+10000000000", t0); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dstDir, store.VoicemailDir, "old.wav"), []byte("old"))
	h, err := VerifyRestore(ctx, dstDir, bytes.NewReader(buf.Bytes()), 0)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if h.Product != Product || h.Schema != store.SchemaVersion() {
		t.Errorf("header %+v", h)
	}
	if !Pending(dstDir) {
		t.Fatal("no pending restore")
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dstDir, ".restore-123", store.DBName), []byte("half an upload"))
	applied, err := ApplyPendingRestore(dstDir)
	if err != nil || !applied {
		t.Fatalf("apply: %v %v", applied, err)
	}
	if Pending(dstDir) {
		t.Error("pending restore left after apply")
	}
	if _, err := os.Stat(filepath.Join(dstDir, ".restore-123")); !os.IsNotExist(err) {
		t.Errorf("a partial upload was left: %v", err)
	}
	again, err := ApplyPendingRestore(dstDir)
	if err != nil || again {
		t.Errorf("second apply: %v %v", again, err)
	}
	got, err := store.Open(ctx, dstDir)
	if err != nil {
		t.Fatalf("open restored store: %v", err)
	}
	defer got.Close()
	if c := callNumbers(t, got); !reflect.DeepEqual(c, wantCalls) {
		t.Errorf("calls after restore %v, want %v", c, wantCalls)
	}
	if v, _ := got.Setting(ctx, "business_name", ""); v != "Roga & Kopyta" {
		t.Errorf("setting after restore %q", v)
	}
	if f := files(t, dstDir); !reflect.DeepEqual(f, wantFiles) {
		t.Errorf("files after restore %v, want %v", keys(f), keys(wantFiles))
	}
	if _, err := os.Stat(filepath.Join(dstDir, PreviousDir, store.VoicemailDir, "old.wav")); err != nil {
		t.Errorf("the replaced data was not kept: %v", err)
	}
	if _, err := (Prompts{Dir: filepath.Join(dstDir, PromptDir)}).Load("ru", "greeting"); err != nil {
		t.Errorf("restored prompt: %v", err)
	}
}

// TestApplyResumes: a power cut part way through the apply is finished by the next start.
func TestApplyResumes(t *testing.T) {
	ctx := context.Background()
	_, src := boxWithData(t)
	var buf bytes.Buffer
	if err := WriteBackup(ctx, &buf, src); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := VerifyRestore(ctx, dir, &buf, 0); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, store.DBName+"-wal"), []byte("old wal"))
	// As if cut after the database moved in: the marker is there, the database is not pending.
	write(t, filepath.Join(dir, PendingDir, applyingTag), []byte("applying\n"))
	if err := os.MkdirAll(filepath.Join(dir, PreviousDir), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, store.DBName+"-wal"), filepath.Join(dir, PreviousDir, store.DBName+"-wal")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, PendingDir, store.DBName), filepath.Join(dir, store.DBName)); err != nil {
		t.Fatal(err)
	}
	if ok, err := ApplyPendingRestore(dir); !ok || err != nil {
		t.Fatalf("resume: %v %v", ok, err)
	}
	if _, err := os.Stat(filepath.Join(dir, PreviousDir, store.DBName+"-wal")); err != nil {
		t.Errorf("the set-aside log was lost on resume: %v", err)
	}
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if c := callNumbers(t, st); len(c) != 2 {
		t.Errorf("calls %v", c)
	}
}

type entry struct {
	name string
	typ  byte
	data string
}

// archive builds a tar.gz of entries; a nil manifest is computed from the regular files.
func archive(t testing.TB, schema int, entries []entry, extra ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	put := func(e entry) {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o640, Size: int64(len(e.data)), Linkname: "/etc/passwd"}
		if typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	hdr, _ := json.Marshal(Header{Product: Product, Format: BackupFormat, Schema: schema, Created: t0})
	put(entry{name: headerName, data: string(hdr)})
	m := Manifest{Product: Product, Schema: schema}
	for _, e := range entries {
		put(e)
		if e.typ == 0 {
			sum := sha256.Sum256([]byte(e.data))
			m.Files = append(m.Files, ManifestFile{Path: e.name, Size: int64(len(e.data)), SHA256: hex.EncodeToString(sum[:])})
		}
	}
	man, _ := json.Marshal(m)
	put(entry{name: manifestName, data: string(man)})
	for _, e := range extra {
		put(e)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRestoreRefuses(t *testing.T) {
	ctx := context.Background()
	_, src := boxWithData(t)
	var good bytes.Buffer
	if err := WriteBackup(ctx, &good, src); err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(filepath.Join(src.Dir(), store.DBName))
	if err != nil {
		t.Fatal(err)
	}
	v := store.SchemaVersion()
	dbEntry := entry{name: store.DBName, data: string(db)}
	foreign := func() []byte {
		var b bytes.Buffer
		gz := gzip.NewWriter(&b)
		tw := tar.NewWriter(gz)
		_ = tw.WriteHeader(&tar.Header{Name: "photos/cat.jpg", Typeflag: tar.TypeReg, Size: 3, Mode: 0o644})
		_, _ = tw.Write([]byte("cat"))
		_ = tw.Close()
		_ = gz.Close()
		return b.Bytes()
	}()
	tampered := archive(t, v, []entry{dbEntry, {name: "voicemail/a.wav", data: "aaaa"}})
	for _, tc := range []struct {
		name string
		data []byte
		max  int64
		want error
	}{
		{"torn", good.Bytes()[:good.Len()*2/3], 0, ErrTorn},
		{"torn at the end", good.Bytes()[:good.Len()-8], 0, ErrTorn},
		{"not gzip", []byte("hello, this is not a backup"), 0, ErrNotBackup},
		{"foreign tar", foreign, 0, ErrNotBackup},
		{"newer schema", archive(t, v+1, []entry{dbEntry}), 0, ErrNewerSchema},
		{"path traversal", archive(t, v, []entry{dbEntry, {name: "voicemail/../../evil", data: "x"}}), 0, ErrUnsafePath},
		{"absolute path", archive(t, v, []entry{dbEntry, {name: "/etc/cron.d/x", data: "x"}}), 0, ErrUnsafePath},
		{"other folder", archive(t, v, []entry{dbEntry, {name: "backups/x.db", data: "x"}}), 0, ErrUnsafePath},
		{"symlink", archive(t, v, []entry{dbEntry, {name: "voicemail/link", typ: tar.TypeSymlink}}), 0, ErrUnsafePath},
		{"file after manifest", archive(t, v, []entry{dbEntry}, entry{name: "voicemail/late.wav", data: "x"}), 0, ErrTorn},
		{"no database", archive(t, v, []entry{{name: "voicemail/a.wav", data: "x"}}), 0, ErrTorn},
		{"database not sqlite", archive(t, v, []entry{{name: store.DBName, data: strings.Repeat("x", 4096)}}), 0, ErrTorn},
		{"checksum", regzip(t, tampered, "aaaa", "bbbb"), 0, ErrTorn},
		{"too big", good.Bytes(), 1000, ErrTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := VerifyRestore(ctx, dir, bytes.NewReader(tc.data), tc.max)
			if !errors.Is(err, tc.want) {
				t.Fatalf("VerifyRestore: %v, want %v", err, tc.want)
			}
			left, _ := os.ReadDir(dir)
			if len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "evil")); err == nil {
				t.Errorf("a file escaped the folder")
			}
		})
	}
}

// regzip unpacks a tar.gz, replaces old with new in the tar and packs it again: the gzip layer
// stays whole and only the content is wrong.
func regzip(t *testing.T, data []byte, old, new string) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var raw bytes.Buffer
	if _, err := raw.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	_, _ = zw.Write(bytes.Replace(raw.Bytes(), []byte(old), []byte(new), 1))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
