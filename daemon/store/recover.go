package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// recover closes what a crash or power cut left open: voicemail still recording is marked
// complete with the length of its file, and calls still in progress end as "failed" at the
// last moment known (the end of their voicemail, the answer, or the first ring).
func (s *Store) recover(ctx context.Context) error {
	type openVM struct {
		id      int64
		file    string
		created int64
	}
	var vms []openVM
	rows, err := s.db.QueryContext(ctx, `SELECT id, file, created_at FROM voicemails WHERE complete = 0`)
	if err != nil {
		return fmt.Errorf("store: recover voicemail: %w", err)
	}
	for rows.Next() {
		var v openVM
		if err := rows.Scan(&v.id, &v.file, &v.created); err != nil {
			rows.Close()
			return fmt.Errorf("store: recover voicemail: %w", err)
		}
		vms = append(vms, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: recover voicemail: %w", err)
	}

	// Measure the files before taking the write lock.
	durations := make([]time.Duration, len(vms))
	for i, v := range vms {
		d, err := s.measureVoicemail(v.file)
		if err != nil {
			s.log.Warn("recovered voicemail has no usable audio", "voicemail", v.id, "file", v.file, "err", err)
		}
		durations[i] = d
	}

	var calls int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		for i, v := range vms {
			if _, err := tx.ExecContext(ctx,
				`UPDATE voicemails SET complete = 1, duration_ms = ? WHERE id = ? AND complete = 0`,
				durations[i].Milliseconds(), v.id); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `
UPDATE calls SET outcome = 'failed', ended_at = max(
	started_at,
	COALESCE(answered_at, 0),
	COALESCE((SELECT MAX(v.created_at + v.duration_ms) FROM voicemails v WHERE v.call_id = calls.id), 0))
WHERE outcome = ''`)
		if err != nil {
			return err
		}
		calls, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("store: recover after crash: %w", err)
	}
	s.recoveredCalls, s.recoveredVoicemail = int(calls), len(vms)
	if calls > 0 || len(vms) > 0 {
		s.log.Warn("repaired records left open by a crash or power cut",
			"calls_failed", calls, "voicemail_completed", len(vms))
	}
	return nil
}

// measureVoicemail returns the length of a voicemail file from its WAV header and size.
func (s *Store) measureVoicemail(file string) (time.Duration, error) {
	p, err := s.voicemailPath(file)
	if err != nil {
		return 0, err
	}
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return wavDuration(f, fi.Size())
}

// defaultByteRate is what the switchboard records: 8 kHz, 16-bit, mono.
const defaultByteRate = 8000 * 2

// wavDuration measures the audio in a WAV file of the given size. It trusts the file size over
// the header, because a recording cut short by a power failure may still carry the placeholder
// sizes written when it started: the data runs from the data chunk to the end of the file
// unless the header says it is shorter. Without a usable RIFF header the file counts as 16-bit
// 8 kHz mono behind a 44-byte header.
func wavDuration(r io.ReaderAt, size int64) (time.Duration, error) {
	const canonicalHeader = 44
	byteRate, dataOff, dataLen, err := parseWAVHeader(r, size)
	if err != nil {
		if size <= canonicalHeader {
			return 0, err
		}
		byteRate, dataOff, dataLen = defaultByteRate, canonicalHeader, 0
	}
	avail := max(size-dataOff, 0)
	if dataLen <= 0 || dataLen > avail {
		dataLen = avail
	}
	if byteRate <= 0 {
		byteRate = defaultByteRate
	}
	// Whole seconds and remainder separately, so huge files cannot overflow.
	d := time.Duration(dataLen/byteRate)*time.Second +
		time.Duration(dataLen%byteRate)*time.Second/time.Duration(byteRate)
	return d, nil
}

var errNotWAV = errors.New("not a RIFF/WAVE file")

// parseWAVHeader walks the RIFF chunks to the "data" chunk. It returns the byte rate from the
// "fmt " chunk (0 if absent or implausible), where the audio starts and the size the header
// declares for it (0 or 0xFFFFFFFF when the writer never filled it in).
func parseWAVHeader(r io.ReaderAt, size int64) (byteRate, dataOff, dataLen int64, err error) {
	var hdr [12]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return 0, 0, 0, fmt.Errorf("wav header: %w", err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return 0, 0, 0, errNotWAV
	}
	pos := int64(12)
	for range 64 { // a sane file has three or four chunks before the audio
		var ch [8]byte
		if _, err := r.ReadAt(ch[:], pos); err != nil {
			return 0, 0, 0, fmt.Errorf("wav chunk at %d: %w", pos, err)
		}
		n := int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch string(ch[0:4]) {
		case "fmt ":
			var f [16]byte
			if n >= 16 {
				if _, err := r.ReadAt(f[:], pos+8); err == nil {
					channels := int64(binary.LittleEndian.Uint16(f[2:4]))
					rate := int64(binary.LittleEndian.Uint32(f[4:8]))
					bits := int64(binary.LittleEndian.Uint16(f[14:16]))
					br := int64(binary.LittleEndian.Uint32(f[8:12]))
					if want := rate * channels * ((bits + 7) / 8); want > 0 && want <= 1<<24 {
						byteRate = want
					} else if br > 0 && br <= 1<<24 {
						byteRate = br
					}
				}
			}
		case "data":
			if n == 0xFFFFFFFF {
				n = 0
			}
			return byteRate, pos + 8, n, nil
		}
		pos += 8 + n + n&1
		if pos >= size {
			break
		}
	}
	return 0, 0, 0, fmt.Errorf("wav: no data chunk: %w", errNotWAV)
}
