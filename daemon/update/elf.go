package update

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// The few facts of the ELF format (System V ABI, "ELF header" and "Sections") the update needs:
// whose processor a program is for, and where the Go toolchain put its build information. They
// are read here rather than with debug/elf and debug/buildinfo, which would bring the DWARF, PE,
// Mach-O and Plan 9 readers into the box's program for two questions.

// ELF identification and header values.
const (
	elfClass32  = 1 // EI_CLASS: 32-bit objects
	elfClass64  = 2 // 64-bit objects
	elfDataLSB  = 1 // EI_DATA: little-endian
	elfDataMSB  = 2 // big-endian
	elfVersion1 = 1 // EI_VERSION and e_version: the current version
	elfExec     = 2 // e_type ET_EXEC: an executable
	elfDyn      = 3 // e_type ET_DYN: a shared object, or a position-independent executable
)

// ELF machine numbers (e_machine).
const (
	em386     = 3
	emARM     = 40
	emX86_64  = 62
	emAArch64 = 183
	emRISCV   = 243
)

// elfMachineNames names the machines of elfMachine and a few others, for error messages.
var elfMachineNames = map[uint16]string{
	em386: "386", emARM: "arm", emX86_64: "amd64", emAArch64: "arm64", emRISCV: "riscv",
	8: "mips", 20: "ppc", 21: "ppc64", 22: "s390", 258: "loong64",
}

// elfHeader is what the update reads of an ELF file header.
type elfHeader struct {
	class, data byte
	typ         uint16
	machine     uint16
	order       binary.ByteOrder
	shoff       uint64 // file offset of the section header table
	shentsize   uint16
	shnum       uint16
	shstrndx    uint16
}

// errNotELF is what parseELFHeader wraps for a file that is not ELF at all.
var errNotELF = errors.New("not an ELF file")

// parseELFHeader reads the ELF file header at the start of b (at least 52 bytes for a 32-bit file,
// 64 for a 64-bit one).
func parseELFHeader(b []byte) (elfHeader, error) {
	var h elfHeader
	if len(b) < 16 || string(b[:4]) != "\x7fELF" {
		return h, errNotELF
	}
	h.class, h.data = b[4], b[5]
	switch h.data {
	case elfDataLSB:
		h.order = binary.LittleEndian
	case elfDataMSB:
		h.order = binary.BigEndian
	default:
		return h, fmt.Errorf("%w: data encoding %d", errNotELF, h.data)
	}
	size := 0
	switch h.class {
	case elfClass32:
		size = 52
	case elfClass64:
		size = 64
	default:
		return h, fmt.Errorf("%w: class %d", errNotELF, h.class)
	}
	if b[6] != elfVersion1 {
		return h, fmt.Errorf("%w: version %d", errNotELF, b[6])
	}
	if len(b) < size {
		return h, fmt.Errorf("%w: header cut short at %d bytes", errNotELF, len(b))
	}
	o := h.order
	h.typ, h.machine = o.Uint16(b[16:]), o.Uint16(b[18:])
	if v := o.Uint32(b[20:]); v != elfVersion1 {
		return h, fmt.Errorf("%w: version %d", errNotELF, v)
	}
	if h.class == elfClass64 {
		h.shoff = o.Uint64(b[40:])
		h.shentsize, h.shnum, h.shstrndx = o.Uint16(b[58:]), o.Uint16(b[60:]), o.Uint16(b[62:])
	} else {
		h.shoff = uint64(o.Uint32(b[32:]))
		h.shentsize, h.shnum, h.shstrndx = o.Uint16(b[46:]), o.Uint16(b[48:]), o.Uint16(b[50:])
	}
	return h, nil
}

// readELFHeader reads the ELF file header of f.
func readELFHeader(f io.ReaderAt) (elfHeader, error) {
	var b [64]byte
	n, err := f.ReadAt(b[:], 0)
	if n < len(b) && err != nil && !errors.Is(err, io.EOF) {
		return elfHeader{}, err
	}
	return parseELFHeader(b[:n])
}

// machineName names an ELF machine number.
func machineName(m uint16) string {
	if s, ok := elfMachineNames[m]; ok {
		return s
	}
	return fmt.Sprintf("ELF machine %d", m)
}

// section returns the content of the section called name, at most limit bytes of it.
func (h elfHeader) section(f io.ReaderAt, name string, limit int64) ([]byte, error) {
	entsize := 40
	if h.class == elfClass64 {
		entsize = 64
	}
	if h.shnum == 0 || int(h.shentsize) < entsize || h.shstrndx >= h.shnum {
		return nil, fmt.Errorf("no section headers")
	}
	if n := int64(h.shnum) * int64(h.shentsize); n > 4<<20 {
		return nil, fmt.Errorf("section header table of %d bytes", n)
	}
	table := make([]byte, int(h.shnum)*int(h.shentsize))
	if _, err := f.ReadAt(table, int64(h.shoff)); err != nil {
		return nil, fmt.Errorf("section headers: %w", err)
	}
	// name offset, file offset and size of section i.
	at := func(i int) (nameOff uint32, off, size uint64) {
		s := table[i*int(h.shentsize):]
		if h.class == elfClass64 {
			return h.order.Uint32(s[0:]), h.order.Uint64(s[24:]), h.order.Uint64(s[32:])
		}
		return h.order.Uint32(s[0:]), uint64(h.order.Uint32(s[16:])), uint64(h.order.Uint32(s[20:]))
	}
	read := func(off, size uint64) ([]byte, error) {
		if size > uint64(limit) || off > 1<<40 {
			return nil, fmt.Errorf("section of %d bytes at %d", size, off)
		}
		b := make([]byte, size)
		if _, err := f.ReadAt(b, int64(off)); err != nil {
			return nil, err
		}
		return b, nil
	}
	_, strOff, strSize := at(int(h.shstrndx))
	names, err := read(strOff, strSize)
	if err != nil {
		return nil, fmt.Errorf("section names: %w", err)
	}
	for i := range int(h.shnum) {
		nameOff, off, size := at(i)
		if uint64(nameOff) >= uint64(len(names)) {
			continue
		}
		n := names[nameOff:]
		if end := bytes.IndexByte(n, 0); end >= 0 && string(n[:end]) == name {
			return read(off, size)
		}
	}
	return nil, fmt.Errorf("no section %s", name)
}

// goBuildInfoMagic starts the build information the Go linker writes (section .go.buildinfo).
const goBuildInfoMagic = "\xff Go buildinf:"

// readGoBuildSettings returns the build settings ("GOOS", "GOARCH", "GOARM", ...) that the Go
// toolchain (1.18 or later) recorded in the ELF program at path: the lines "build\tKEY=VALUE"
// of its module information.
func readGoBuildSettings(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := readELFHeader(f)
	if err != nil {
		return nil, err
	}
	sec, err := h.section(f, ".go.buildinfo", 1<<20)
	if err != nil {
		return nil, fmt.Errorf("no Go build information: %w", err)
	}
	return parseGoBuildInfo(sec)
}

// parseGoBuildInfo reads the content of a .go.buildinfo section: a 32-byte header (the magic,
// the pointer size, flags whose bit 1 says the strings follow inline, as since Go 1.18), then
// the Go version and the module information, each as a varint length and its bytes. The module
// information is wrapped in 16 bytes of marker on each side.
func parseGoBuildInfo(b []byte) (map[string]string, error) {
	if len(b) < 32 || string(b[:len(goBuildInfoMagic)]) != goBuildInfoMagic {
		return nil, errors.New("no Go build information")
	}
	if b[15]&2 == 0 {
		return nil, errors.New("built by a Go older than 1.18")
	}
	b = b[32:]
	var strs [2]string
	for i := range strs {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, errors.New("the Go build information is cut short")
		}
		strs[i], b = string(b[k:k+int(n)]), b[k+int(n):]
	}
	mod := strs[1]
	if len(mod) >= 33 && mod[len(mod)-17] == '\n' {
		mod = mod[16 : len(mod)-16]
	}
	out := map[string]string{}
	for line := range strings.SplitSeq(mod, "\n") {
		kv, ok := strings.CutPrefix(line, "build\t")
		if !ok {
			continue
		}
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out, nil
}
