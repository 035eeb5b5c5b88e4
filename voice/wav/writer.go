package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"syscall"

	"hotline/voice"
)

// syncBytes is how much audio a Writer takes between two header updates with fsync: one second
// of 8 kHz 16-bit mono.
const syncBytes = 2 * voice.Rate

// Writer streams 8 kHz 16-bit mono PCM to a WAV file that stays playable if the process is killed
// or the power fails: every sample goes to the file at once (a killed process loses nothing that
// Write returned), and at least once per second of audio the header sizes are rewritten and the
// file is fsynced, so a power cut loses at most about the last second. Repair recovers the rest
// of a file cut short. A Writer is not safe for concurrent use.
//
// The fsync can take milliseconds on slow flash; callers on the 20 ms path should hand audio to a
// recording goroutine rather than call Write inline. Write itself allocates nothing once its
// buffer has grown to the largest batch written.
type Writer struct {
	f      *os.File
	path   string
	buf    []byte
	data   int64 // bytes of audio written
	synced int64 // data bytes when the header was last rewritten
	hdr    [headerSize]byte
	err    error // sticky: the first write error
	closed bool
}

// Create creates (or truncates) the file at path and writes a valid header declaring no data.
// The file and its directory entry are fsynced before Create returns.
func Create(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return nil, fmt.Errorf("wav: %w", classify(err))
	}
	w := &Writer{f: f, path: path}
	w.hdr = header(voice.Rate, 0)
	if _, err := f.Write(w.hdr[:]); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("wav: writing header of %s: %w", path, classify(err))
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("wav: syncing %s: %w", path, classify(err))
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("wav: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("wav: syncing directory %s: %w", dir, err)
	}
	return nil
}

// Errors of a Writer; test with errors.Is. The error of the system call stays in the chain too
// (errors.Is(err, syscall.ENOSPC) holds as well as errors.Is(err, ErrDiskFull)).
var (
	// ErrClosed is returned by Write after Close.
	ErrClosed = errors.New("wav: writer closed")
	// ErrDiskFull means the file system has no room left (ENOSPC, or EDQUOT over a quota).
	ErrDiskFull = errors.New("the disk is full")
	// ErrReadOnly means the file system is mounted read-only (EROFS), as Linux does after a
	// fault on the SD card.
	ErrReadOnly = errors.New("the disk is read-only")
)

// classify puts ErrDiskFull or ErrReadOnly in front of err when it is one of those, so that
// the message says it in plain words and errors.Is finds both.
func classify(err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w: %w", ErrReadOnly, err)
	}
	return err
}

// Write appends samples to the file. After a write error the Writer keeps failing with it; the
// audio written before the failing call stays in the file, whole (a partly written batch is
// cut off again), and Close still writes the header for it.
func (w *Writer) Write(samples []int16) error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	n := 2 * len(samples)
	if w.data+int64(n) > maxData16 {
		w.err = fmt.Errorf("wav: %s: %w: the file would pass the 4 GB WAV limit", w.path, ErrTooLarge)
		return w.err
	}
	if cap(w.buf) < n {
		w.buf = make([]byte, n)
	}
	b := w.buf[:n]
	voice.EncodeS16LE(b, samples)
	if _, err := w.f.Write(b); err != nil {
		w.err = fmt.Errorf("wav: writing %s: %w", w.path, classify(err))
		// Drop whatever part of the batch reached the file, so that it ends on a whole frame.
		// Shrinking a file needs no free space; on a read-only file system it fails, and
		// Repair or the header's declared size take care of the tail.
		_ = w.f.Truncate(headerSize + w.data)
		return w.err
	}
	w.data += int64(n)
	if w.data-w.synced >= syncBytes {
		if err := w.commit(); err != nil {
			w.err = err
			return err
		}
	}
	return nil
}

// commit rewrites the header sizes for the data written so far and fsyncs the file.
func (w *Writer) commit() error {
	w.hdr = header(voice.Rate, uint32(w.data))
	if _, err := w.f.WriteAt(w.hdr[:], 0); err != nil {
		return fmt.Errorf("wav: updating header of %s: %w", w.path, classify(err))
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("wav: syncing %s: %w", w.path, classify(err))
	}
	w.synced = w.data
	return nil
}

// Len returns how many samples have been written.
func (w *Writer) Len() int { return int(w.data / 2) }

// Close writes the final header, fsyncs and closes the file. Closing twice returns nil. After a
// write error Close still rewrites the header for the audio written before it (rewriting the
// header in place needs no free space) and returns the write error.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.commit()
	if w.err != nil {
		err = w.err
	}
	if cerr := w.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("wav: closing %s: %w", w.path, classify(cerr))
	}
	return err
}

// Repair makes a WAV file cut short by a crash consistent again: the data chunk is taken to run
// to the end of the file (unless a proper chunk follows the declared data, as in a complete
// file), a trailing partial sample frame (such as an odd byte) is cut off, and the RIFF and data
// sizes in the header are rewritten from the real length. A consistent file is left as it is.
func Repair(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("wav: repair: %w", err)
	}
	defer f.Close()
	if _, err := repair(f, false); err != nil {
		return fmt.Errorf("wav: repair %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("wav: repair %s: sync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("wav: repair %s: close: %w", path, err)
	}
	return nil
}

// RepairDir repairs every torn *.wav file directly in dir (see Repair) and returns the names of
// those it changed. Consistent files are only read, never rewritten, so that calling it at
// every start costs little. A file that is no WAV at all is left alone and reported in the
// error, after the others have been seen to.
func RepairDir(dir string) (repaired []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wav: repair %s: %w", dir, err)
	}
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || filepath.Ext(e.Name()) != ".wav" {
			continue
		}
		p := filepath.Join(dir, e.Name())
		torn, err := isTorn(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("wav: repair %s: %w", p, err))
			continue
		}
		if !torn {
			continue
		}
		if err := Repair(p); err != nil {
			errs = append(errs, err)
			continue
		}
		repaired = append(repaired, e.Name())
	}
	return repaired, errors.Join(errs...)
}

func isTorn(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	return repair(f, true)
}

// repair makes f consistent, or with dry only reports whether it would change anything.
func repair(f *os.File, dry bool) (changed bool, err error) {
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	fileLen := st.Size()
	var riff [12]byte
	if _, err := f.ReadAt(riff[:], 0); err != nil {
		return false, fmt.Errorf("%w: too short for a RIFF header", ErrNotWAV)
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return false, fmt.Errorf("%w: starts with %q", ErrNotWAV, riff[:4])
	}
	le := binary.LittleEndian
	var fm *format
	off := int64(12)
	for range maxChunks {
		var ch [8]byte
		if _, err := f.ReadAt(ch[:], off); err != nil {
			return false, fmt.Errorf("%w: no data chunk", ErrMalformed)
		}
		id, size := string(ch[0:4]), int64(le.Uint32(ch[4:8]))
		if id == "fmt " {
			if size < 16 || size > maxFmtSize {
				return false, fmt.Errorf("%w: fmt chunk of %d bytes", ErrMalformed, size)
			}
			b := make([]byte, size)
			if _, err := f.ReadAt(b, off+8); err != nil {
				return false, fmt.Errorf("%w: file ends inside the fmt chunk", ErrMalformed)
			}
			if fm, err = parseFormat(b); err != nil {
				return false, err
			}
		}
		if id != "data" {
			off += 8 + size + size&1
			continue
		}
		if fm == nil {
			return false, fmt.Errorf("%w: data chunk before fmt chunk", ErrMalformed)
		}
		start := off + 8
		avail := fileLen - start
		dataLen := size
		if size == 0 || size == math.MaxUint32 || size > avail || !chunksToEnd(f, start+size, fileLen) {
			dataLen = avail - avail%int64(fm.blockAlign)
			newLen := start + dataLen
			if newLen-8 > math.MaxUint32 {
				return false, fmt.Errorf("%w: %d bytes is too long for a WAV file", ErrTooLarge, newLen)
			}
			changed = changed || newLen != fileLen || dataLen != size
			if dry {
				return changed || uint32(newLen-8) != le.Uint32(riff[4:8]), nil
			}
			if err := f.Truncate(newLen); err != nil {
				return false, err
			}
			fileLen = newLen
		}
		if fileLen-8 > math.MaxUint32 {
			return false, fmt.Errorf("%w: %d bytes is too long for a WAV file", ErrTooLarge, fileLen)
		}
		changed = changed || uint32(fileLen-8) != le.Uint32(riff[4:8])
		if dry {
			return changed, nil
		}
		var b [4]byte
		le.PutUint32(b[:], uint32(fileLen-8))
		if _, err := f.WriteAt(b[:], 4); err != nil {
			return false, err
		}
		le.PutUint32(b[:], uint32(dataLen))
		if _, err := f.WriteAt(b[:], off+4); err != nil {
			return false, err
		}
		return changed, nil
	}
	return false, fmt.Errorf("%w: more than %d chunks before the data", ErrMalformed, maxChunks)
}

// chunksToEnd reports whether the bytes of f from off (the end of a chunk's content) to end are
// nothing but its pad byte and a chain of well-formed chunks (printable ids, sizes that fit)
// ending exactly at end.
func chunksToEnd(f io.ReaderAt, off, end int64) bool {
	for range maxChunks {
		if off%2 == 1 && off != end { // pad byte; a missing final pad is tolerated
			off++
		}
		if off == end {
			return true
		}
		var ch [8]byte
		if off > end || end-off < 8 {
			return false
		}
		if _, err := f.ReadAt(ch[:], off); err != nil {
			return false
		}
		for _, c := range ch[:4] {
			if c < 0x20 || c > 0x7E {
				return false
			}
		}
		off += 8 + int64(binary.LittleEndian.Uint32(ch[4:8]))
	}
	return false
}
