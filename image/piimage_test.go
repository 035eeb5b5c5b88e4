//go:build imagetest

package image

import (
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// imageBudget is the most the Raspberry Pi image may take of the disk it is built on (the
// blocks allocated to the sparse file, as du counts them): issue 7's "image under 100 MB".
const imageBudget = 100_000_000

// TestPiImage builds the Raspberry Pi image as make image does and looks inside it with the
// tools an installer would use (sfdisk, mtools, unsquashfs): what is on the boot partition and
// the root file system, that the programs are stripped, that /perm is formatted, and that the
// image stays under its size budget. Run it with go test -tags imagetest -run TestPiImage.
func TestPiImage(t *testing.T) {
	need(t, "mkfs.ext4", "e2fsprogs")
	need(t, "sfdisk", "fdisk")
	need(t, "mdir", "mtools")
	need(t, "mtype", "mtools")
	need(t, "unsquashfs", "squashfs-tools")
	dir := t.TempDir()
	img := filepath.Join(dir, "hotline-rpi.img")
	start := time.Now()
	run(t, ".", nil, "./build-image.sh", "v0.0.0-imagetest", img)
	t.Logf("make image: %.0f s", time.Since(start).Seconds())

	var table struct {
		PartitionTable struct {
			SectorSize int64
			Partitions []struct{ Start, Size int64 }
		}
	}
	if err := json.Unmarshal([]byte(run(t, ".", nil, "sfdisk", "-J", img)), &table); err != nil {
		t.Fatal(err)
	}
	parts := table.PartitionTable.Partitions
	if len(parts) != 4 {
		t.Fatalf("%d partitions, want boot, root A, root B, perm", len(parts))
	}
	ss := table.PartitionTable.SectorSize
	offset := func(i int) int64 { return parts[i].Start * ss }

	var st syscall.Stat_t
	if err := syscall.Stat(img, &st); err != nil {
		t.Fatal(err)
	}
	written := st.Blocks * 512
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i, name := range []string{"boot", "root A", "root B", "perm"} {
		t.Logf("partition %d (%s): %d MiB, %d bytes of data", i+1, name,
			parts[i].Size*ss>>20, dataBytes(t, f, offset(i), offset(i)+parts[i].Size*ss))
	}
	t.Logf("image: %d MiB apparent, %d bytes written (du), %d bytes of data",
		st.Size>>20, written, dataBytes(t, f, 0, st.Size))
	if written >= imageBudget {
		t.Errorf("the image takes %d bytes, over its budget of %d", written, imageBudget)
	}

	// The boot partition: kernel, device trees, and only the firmware the boards load.
	fat := img + "@@" + itoa(offset(0))
	var bootFiles []string
	for _, line := range strings.Split(run(t, ".", nil, "mdir", "-i", fat, "-/", "-b", "::/"), "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "::/"); ok && p != "" {
			bootFiles = append(bootFiles, p)
		}
	}
	var firmware []string
	for _, p := range bootFiles {
		if strings.HasSuffix(p, ".elf") || strings.HasSuffix(p, ".dat") || p == "bootcode.bin" {
			firmware = append(firmware, p)
		}
	}
	want := firmwareFiles(t)
	slices.Sort(firmware)
	slices.Sort(want)
	if !slices.Equal(firmware, want) {
		t.Errorf("firmware on the boot partition %q, want %q", firmware, want)
	}
	for _, f := range []string{"vmlinuz", "config.txt", "cmdline.txt", "pieeprom.upd", "recovery.bin"} {
		if !slices.Contains(bootFiles, f) {
			t.Errorf("no %s on the boot partition", f)
		}
	}
	for _, b := range boards {
		if !slices.Contains(bootFiles, b.dtb) {
			t.Errorf("%s: no %s on the boot partition", b.name, b.dtb)
		}
	}
	config := run(t, ".", nil, "mtype", "-i", fat, "::/config.txt")
	if !strings.Contains(config, "kernel=vmlinuz") {
		t.Errorf("config.txt has no kernel=vmlinuz:\n%s", config)
	}
	for _, line := range strings.Split(config, "\n") {
		if bad := firmwareVariantSetting(line); bad != "" {
			t.Errorf("config.txt line %q asks for %s, which is not on the boot partition", line, bad)
		}
	}

	// The root file system: gokrazy's init and three programs, hotline, all stripped.
	root := filepath.Join(dir, "root")
	run(t, ".", nil, "unsquashfs", "-q", "-n", "-o", itoa(offset(1)), "-d", root, img, "gokrazy", "user")
	for d, want := range map[string][]string{
		"gokrazy": {"dhcp", "init", "ntp", "randomd"},
		"user":    {"hotline"},
	} {
		entries, err := os.ReadDir(filepath.Join(root, d))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
			checkStripped(t, filepath.Join(root, d, e.Name()))
		}
		if !slices.Equal(got, want) {
			t.Errorf("/%s holds %q, want %q", d, got, want)
		}
	}

	// /perm: an ext4 file system labelled perm (superblock at 1024: magic at 56, label at 120),
	// which the kernel turns read-only after an I/O error (s_errors at 60: 2, remount-ro) so
	// that the box goes on from a copy in memory (docs/RELIABILITY.md).
	sb := make([]byte, 1024)
	if _, err := f.ReadAt(sb, offset(3)+1024); err != nil {
		t.Fatal(err)
	}
	if magic, label := binary.LittleEndian.Uint16(sb[56:]), strings.TrimRight(string(sb[120:136]), "\x00"); magic != 0xef53 || label != "perm" {
		t.Errorf("partition 4: magic %#x label %q, want an ext4 file system labelled perm", magic, label)
	}
	if errs := binary.LittleEndian.Uint16(sb[60:]); errs != 2 {
		t.Errorf("partition 4: on errors %d, want 2 (remount read-only)", errs)
	}
}

// dataBytes counts the bytes of f in [from, to) that are data, not holes.
func dataBytes(t *testing.T, f *os.File, from, to int64) int64 {
	t.Helper()
	const seekData, seekHole = 3, 4 // SEEK_DATA, SEEK_HOLE (Linux)
	var n int64
	for off := from; off < to; {
		d, err := f.Seek(off, seekData)
		if errors.Is(err, syscall.ENXIO) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if d >= to {
			break
		}
		h, err := f.Seek(d, seekHole)
		if err != nil {
			t.Fatal(err)
		}
		n += min(h, to) - d
		off = h
	}
	return n
}

// checkStripped fails the test when the program at path carries a symbol table or DWARF.
func checkStripped(t *testing.T, path string) {
	t.Helper()
	e, err := elf.Open(path)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	defer e.Close()
	for _, s := range e.Sections {
		if s.Name == ".symtab" || strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
			t.Errorf("%s is not stripped: it has %s", path, s.Name)
			return
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
