package custom

import (
	"bytes"
	"context"
	"os"
	"testing"

	"hotline/daemon/store"
)

// FuzzVerifyRestore feeds arbitrary bytes to the restore: it must never panic, never write
// outside the data folder, and leave nothing behind when it refuses.
func FuzzVerifyRestore(f *testing.F) {
	v := store.SchemaVersion()
	f.Add([]byte("not a backup"))
	f.Add(archive(f, v, []entry{{name: "voicemail/a.wav", data: "x"}}))
	f.Add(archive(f, v+1, nil))
	f.Add(archive(f, v, []entry{{name: "voicemail/../x", data: "x"}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if _, err := VerifyRestore(context.Background(), dir, bytes.NewReader(data), 1<<20); err == nil {
			return
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("refused input left %v", left)
		}
	})
}
