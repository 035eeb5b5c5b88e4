package update

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/binary"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// elfWith returns an ELF file of class c and byte order o for machine m whose sections are
// named by names and hold contents (plus the section-name table, and the null section first).
func elfWith(c elf.Class, o binary.ByteOrder, m elf.Machine, names []string, contents [][]byte) []byte {
	hdrSize, entSize := 52, 40
	if c == elf.ELFCLASS64 {
		hdrSize, entSize = 64, 64
	}
	// Section bodies after the header: the contents, then the name table.
	strtab := []byte{0}
	nameOff := []int{0}
	for _, n := range append(names, ".shstrtab") {
		nameOff = append(nameOff, len(strtab))
		strtab = append(append(strtab, n...), 0)
	}
	body := []byte{}
	offs := []int{0}
	sizes := []int{0}
	for _, b := range append(contents, strtab) {
		offs = append(offs, hdrSize+len(body))
		sizes = append(sizes, len(b))
		body = append(body, b...)
	}
	shoff := hdrSize + len(body)
	shnum := len(offs)
	h := make([]byte, hdrSize)
	copy(h, []byte{0x7f, 'E', 'L', 'F', byte(c), 0, byte(elf.EV_CURRENT)})
	if o == binary.LittleEndian {
		h[5] = byte(elf.ELFDATA2LSB)
	} else {
		h[5] = byte(elf.ELFDATA2MSB)
	}
	o.PutUint16(h[16:], uint16(elf.ET_EXEC))
	o.PutUint16(h[18:], uint16(m))
	o.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	if c == elf.ELFCLASS64 {
		o.PutUint64(h[40:], uint64(shoff))
		o.PutUint16(h[52:], uint16(hdrSize))
		o.PutUint16(h[58:], uint16(entSize))
		o.PutUint16(h[60:], uint16(shnum))
		o.PutUint16(h[62:], uint16(shnum-1))
	} else {
		o.PutUint32(h[32:], uint32(shoff))
		o.PutUint16(h[40:], uint16(hdrSize))
		o.PutUint16(h[46:], uint16(entSize))
		o.PutUint16(h[48:], uint16(shnum))
		o.PutUint16(h[50:], uint16(shnum-1))
	}
	table := make([]byte, shnum*entSize)
	for i := 1; i < shnum; i++ {
		s := table[i*entSize:]
		o.PutUint32(s[0:], uint32(nameOff[i]))
		typ := elf.SHT_PROGBITS
		if i == shnum-1 {
			typ = elf.SHT_STRTAB
		}
		o.PutUint32(s[4:], uint32(typ))
		if c == elf.ELFCLASS64 {
			o.PutUint64(s[24:], uint64(offs[i]))
			o.PutUint64(s[32:], uint64(sizes[i]))
		} else {
			o.PutUint32(s[16:], uint32(offs[i]))
			o.PutUint32(s[20:], uint32(sizes[i]))
		}
	}
	return append(append(h, body...), table...)
}

// goBuildInfo returns a .go.buildinfo section as Go 1.18 and later write it.
func goBuildInfo(version, mod string, wrap bool) []byte {
	b := make([]byte, 32)
	copy(b, goBuildInfoMagic)
	b[14], b[15] = 8, 2
	if wrap {
		mod = "0123456789abcdef" + mod + "fedcba9876543210"
	}
	b = binary.AppendUvarint(b, uint64(len(version)))
	b = append(b, version...)
	b = binary.AppendUvarint(b, uint64(len(mod)))
	return append(b, mod...)
}

const armMod = "path\thotline\nmod\thotline\t(devel)\t\nbuild\t-trimpath=true\nbuild\tCGO_ENABLED=0\nbuild\tGOARCH=arm\nbuild\tGOOS=linux\nbuild\tGOARM=6\n"

func TestParseELFHeader(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    []byte
		class   byte
		data    byte
		machine uint16
		wantErr bool
	}{
		{"amd64", tinyELF(elf.EM_X86_64, elf.ELFCLASS64), elfClass64, elfDataLSB, emX86_64, false},
		{"arm64", tinyELF(elf.EM_AARCH64, elf.ELFCLASS64), elfClass64, elfDataLSB, emAArch64, false},
		{"arm", tinyELF(elf.EM_ARM, elf.ELFCLASS32), elfClass32, elfDataLSB, emARM, false},
		{"386", tinyELF(elf.EM_386, elf.ELFCLASS32), elfClass32, elfDataLSB, em386, false},
		{"riscv64", tinyELF(elf.EM_RISCV, elf.ELFCLASS64), elfClass64, elfDataLSB, emRISCV, false},
		{"big-endian ppc64", elfWith(elf.ELFCLASS64, binary.BigEndian, elf.EM_PPC64, nil, nil), elfClass64, elfDataMSB, 21, false},
		{"empty", nil, 0, 0, 0, true},
		{"text", []byte("#!/bin/sh\necho hello, this is a script\n" + string(make([]byte, 64))), 0, 0, 0, true},
		{"class 3", func() []byte { b := tinyELF(elf.EM_X86_64, elf.ELFCLASS64); b[4] = 3; return b }(), 0, 0, 0, true},
		{"data 0", func() []byte { b := tinyELF(elf.EM_X86_64, elf.ELFCLASS64); b[5] = 0; return b }(), 0, 0, 0, true},
		{"version 2", func() []byte { b := tinyELF(elf.EM_X86_64, elf.ELFCLASS64); b[6] = 2; return b }(), 0, 0, 0, true},
		{"e_version 0", func() []byte { b := tinyELF(elf.EM_X86_64, elf.ELFCLASS64); b[20] = 0; return b }(), 0, 0, 0, true},
		{"64-bit header cut short", tinyELF(elf.EM_X86_64, elf.ELFCLASS64)[:60], 0, 0, 0, true},
		{"32-bit header whole", tinyELF(elf.EM_ARM, elf.ELFCLASS32)[:52], elfClass32, elfDataLSB, emARM, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := readELFHeader(bytes.NewReader(tc.file))
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				if !errors.Is(err, errNotELF) {
					t.Errorf("error %v does not wrap errNotELF", err)
				}
				return
			}
			if h.class != tc.class || h.data != tc.data || h.machine != tc.machine || h.typ != elfExec {
				t.Errorf("got %+v", h)
			}
			// debug/elf reads the same.
			f, err := elf.NewFile(bytes.NewReader(tc.file))
			if err != nil {
				t.Fatalf("debug/elf: %v", err)
			}
			if byte(f.Class) != h.class || byte(f.Data) != h.data || uint16(f.Machine) != h.machine {
				t.Errorf("debug/elf reads %v %v %v", f.Class, f.Data, f.Machine)
			}
		})
	}
}

func TestCheckELF(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		file   []byte
		goarch string
		ok     bool
	}{
		{"amd64 on amd64", tinyELF(elf.EM_X86_64, elf.ELFCLASS64), "amd64", true},
		{"arm on arm", tinyELF(elf.EM_ARM, elf.ELFCLASS32), "arm", true},
		{"arm64 on arm", tinyELF(elf.EM_AARCH64, elf.ELFCLASS64), "arm", false},
		{"arm64 on arm64", tinyELF(elf.EM_AARCH64, elf.ELFCLASS64), "arm64", true},
		{"64-bit class with the ARM machine", tinyELF(elf.EM_ARM, elf.ELFCLASS64), "arm", false},
		{"big-endian", elfWith(elf.ELFCLASS64, binary.BigEndian, elf.EM_X86_64, nil, nil), "amd64", false},
		{"relocatable object", func() []byte { b := tinyELF(elf.EM_X86_64, elf.ELFCLASS64); b[16] = byte(elf.ET_REL); return b }(), "amd64", false},
		{"unknown box", tinyELF(elf.EM_X86_64, elf.ELFCLASS64), "mips", false},
		{"not ELF", []byte("MZ this is a Windows program"), "amd64", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "x")
			if err := os.WriteFile(p, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			err := checkELF(p, tc.goarch)
			if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrNotBinary) {
				t.Errorf("checkELF: %v, want ok %v", err, tc.ok)
			}
		})
	}
	if err := checkELF(filepath.Join(dir, "missing"), "amd64"); !errors.Is(err, ErrNotBinary) {
		t.Errorf("missing file: %v", err)
	}
}

func TestReadGoBuildSettings(t *testing.T) {
	dir := t.TempDir()
	want := map[string]string{"-trimpath": "true", "CGO_ENABLED": "0", "GOARCH": "arm", "GOOS": "linux", "GOARM": "6"}
	for _, tc := range []struct {
		name string
		file []byte
		want map[string]string // nil: an error
	}{
		{"32-bit arm", elfWith(elf.ELFCLASS32, binary.LittleEndian, elf.EM_ARM, []string{".text", ".go.buildinfo"}, [][]byte{[]byte("code"), goBuildInfo("go1.26.8", armMod, true)}), want},
		{"64-bit, first section", elfWith(elf.ELFCLASS64, binary.LittleEndian, elf.EM_AARCH64, []string{".go.buildinfo"}, [][]byte{goBuildInfo("go1.26.8", armMod, true)}), want},
		{"big-endian, unwrapped", elfWith(elf.ELFCLASS64, binary.BigEndian, elf.EM_PPC64, []string{".go.buildinfo"}, [][]byte{goBuildInfo("go1.26.8", armMod, false)}), want},
		{"no settings", elfWith(elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64, []string{".go.buildinfo"}, [][]byte{goBuildInfo("go1.26.8", "", false)}), map[string]string{}},
		{"no sections", tinyELF(elf.EM_X86_64, elf.ELFCLASS64), nil},
		{"no such section", elfWith(elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64, []string{".text", ".data"}, [][]byte{[]byte("a"), []byte("b")}), nil},
		{"Go before 1.18", elfWith(elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64, []string{".go.buildinfo"}, [][]byte{func() []byte { b := goBuildInfo("go1.17", armMod, true); b[15] = 0; return b }()}), nil},
		{"wrong magic", elfWith(elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64, []string{".go.buildinfo"}, [][]byte{func() []byte { b := goBuildInfo("go1.26.8", armMod, true); b[1] = 'g'; return b }()}), nil},
		{"cut short", elfWith(elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64, []string{".go.buildinfo"}, [][]byte{goBuildInfo("go1.26.8", armMod, true)[:60]}), nil},
		{"not ELF", []byte("hello"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "x")
			if err := os.WriteFile(p, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := readGoBuildSettings(p)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("read %v from a file without build information", got)
				}
				return
			}
			if err != nil || !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
			if _, err := elf.NewFile(bytes.NewReader(tc.file)); err != nil {
				t.Errorf("debug/elf does not read the test file: %v", err)
			}
		})
	}
}

// TestReadGoBuildSettingsOfThisProgram: the test binary's settings, as debug/buildinfo reads them.
func TestReadGoBuildSettingsOfThisProgram(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	got, err := readGoBuildSettings(exe)
	if err != nil {
		t.Fatal(err)
	}
	bi, err := buildinfo.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, s := range bi.Settings {
		want[s.Key] = s.Value
	}
	if !maps.Equal(got, want) || got["GOOS"] != runtime.GOOS || got["GOARCH"] != runtime.GOARCH {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

// FuzzELF: any bytes are refused or read without a panic, and a header that is read agrees
// with debug/elf.
func FuzzELF(f *testing.F) {
	f.Add(tinyELF(elf.EM_ARM, elf.ELFCLASS32))
	f.Add(elfWith(elf.ELFCLASS32, binary.LittleEndian, elf.EM_ARM, []string{".go.buildinfo"}, [][]byte{goBuildInfo("go1.26.8", armMod, true)}))
	f.Add(elfWith(elf.ELFCLASS64, binary.BigEndian, elf.EM_PPC64, []string{".text", ".go.buildinfo"}, [][]byte{{1}, goBuildInfo("go1.26.8", armMod, false)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := readELFHeader(bytes.NewReader(b))
		if err != nil {
			return
		}
		if ef, err := elf.NewFile(bytes.NewReader(b)); err == nil {
			if byte(ef.Class) != h.class || byte(ef.Data) != h.data || uint16(ef.Machine) != h.machine || uint16(ef.Type) != h.typ {
				t.Fatalf("debug/elf reads %v %v %v %v, we %+v", ef.Class, ef.Data, ef.Machine, ef.Type, h)
			}
		}
		if sec, err := h.section(bytes.NewReader(b), ".go.buildinfo", 1<<16); err == nil {
			_, _ = parseGoBuildInfo(sec)
		}
	})
}
