package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Retention says how much voicemail audio the box keeps. The rows stay: the call log and the
// fact that a message was left are never removed, only the audio files.
type Retention struct {
	// MaxAge removes the audio of messages older than this (0: no age limit).
	MaxAge time.Duration
	// MaxBytes removes the oldest audio until the rest takes at most this much (0: no quota).
	MaxBytes int64
	// Free removes the oldest audio until at least this much has been freed (0: nothing more);
	// the disk guard asks for it when the disk runs low.
	Free int64
	// For MaxBytes and Free, recorded conversations and the messages someone has dealt with
	// (handled) go first, oldest first; messages nobody has dealt with yet go last, oldest
	// first, only when that is not enough: a caller waiting to be called back is the last thing
	// a full disk should take. Free never takes one of those younger than [KeepWaiting]: a disk
	// filled by something else then stops new messages (the disk guard says so) instead of
	// taking the ones just left. MaxAge, the owner's own limit, takes every message by age.
}

// KeepWaiting is how long a message nobody has dealt with is safe from a disk that needs room
// (Retention.Free). An older one can go, so that a box whose owner listens to messages but
// never marks them handled can still record new ones.
const KeepWaiting = 30 * 24 * time.Hour

// RetentionResult is what ApplyRetention removed.
type RetentionResult struct {
	Removed    []int64 // voicemail ids whose audio was removed, in that order (see Retention)
	Recordings int     // recorded conversations removed
	Bytes      int64   // bytes freed
	Kept       int64   // bytes of voicemail audio still on disk
}

// ApplyRetention removes voicemail and conversation audio by r, oldest first, messages nobody
// has dealt with last (see Retention). Messages still being recorded are never touched. Every
// run that removes something writes one audit entry (user "retention"). A removed message
// keeps its row (and its File name, which then names no file: see VoicemailAudioRemoved).
func (s *Store) ApplyRetention(ctx context.Context, r Retention) (RetentionResult, error) {
	var res RetentionResult
	if r.MaxAge < 0 || r.MaxBytes < 0 || r.Free < 0 {
		return res, fmt.Errorf("store: retention: negative limit in %+v", r)
	}
	type msg struct {
		id        int64
		path      string
		created   time.Time
		size      int64
		recording bool // a recorded conversation (id is the call's), not a voicemail
		waiting   bool // a message nobody has dealt with yet
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, file, created_at, handled_at IS NULL FROM voicemails WHERE complete = 1 ORDER BY created_at, id`)
	if err != nil {
		return res, fmt.Errorf("store: retention: %w", err)
	}
	var list []msg
	for rows.Next() {
		var m msg
		var file string
		var created int64
		if err := rows.Scan(&m.id, &file, &created, &m.waiting); err != nil {
			rows.Close()
			return res, fmt.Errorf("store: retention: %w", err)
		}
		p, err := s.voicemailPath(file)
		if err != nil {
			continue // a name that cannot be a file of ours: nothing on disk to remove
		}
		fi, err := os.Stat(p)
		if err != nil {
			continue // already gone
		}
		m.path, m.created, m.size = p, time.UnixMilli(created), fi.Size()
		list = append(list, m)
		res.Kept += m.size
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("store: retention: %w", err)
	}
	// Recorded conversations go by the same rules (their rows keep the name).
	rows, err = s.db.QueryContext(ctx,
		`SELECT id, recording, started_at FROM calls WHERE recording != '' AND outcome != '' ORDER BY started_at, id`)
	if err != nil {
		return res, fmt.Errorf("store: retention: %w", err)
	}
	for rows.Next() {
		var m msg
		var file string
		var created int64
		if err := rows.Scan(&m.id, &file, &created); err != nil {
			rows.Close()
			return res, fmt.Errorf("store: retention: %w", err)
		}
		base := filepath.Join(s.dir, RecordingDir)
		p := filepath.Join(base, file)
		if !ValidVoicemailFile(file) || filepath.Dir(p) != base {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		m.path, m.created, m.size, m.recording = p, time.UnixMilli(created), fi.Size(), true
		list = append(list, m)
		res.Kept += m.size
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("store: retention: %w", err)
	}
	slices.SortStableFunc(list, func(a, b msg) int {
		if a.waiting != b.waiting {
			if a.waiting {
				return 1
			}
			return -1
		}
		return a.created.Compare(b.created)
	})

	now := s.now()
	cutoff := time.Time{}
	if r.MaxAge > 0 {
		cutoff = now.Add(-r.MaxAge)
	}
	var errs []error
	for _, m := range list {
		old := !cutoff.IsZero() && m.created.Before(cutoff)
		overQuota := r.MaxBytes > 0 && res.Kept > r.MaxBytes
		needRoom := res.Bytes < r.Free && !(m.waiting && m.created.After(now.Add(-KeepWaiting)))
		if !old && !overQuota && !needRoom {
			continue // a later one may still be older than MaxAge
		}
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if err := os.Remove(m.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("store: retention: %w", err))
			continue
		}
		if m.recording {
			res.Recordings++
		} else {
			res.Removed = append(res.Removed, m.id)
		}
		res.Bytes += m.size
		res.Kept -= m.size
	}
	if len(res.Removed) > 0 || res.Recordings > 0 {
		ids := make([]string, len(res.Removed))
		for i, id := range res.Removed {
			ids[i] = strconv.FormatInt(id, 10)
		}
		detail := fmt.Sprintf("removed the audio of %d voicemail message(s) and %d recorded conversation(s), %d bytes, oldest first, messages not dealt with last: %s",
			len(res.Removed), res.Recordings, res.Bytes, strings.Join(ids, ","))
		if err := s.Audit(ctx, "retention", "voicemail audio removed", detail); err != nil {
			errs = append(errs, err)
		}
		s.log.Info("retention removed voicemail audio", "messages", len(res.Removed), "bytes", res.Bytes, "kept_bytes", res.Kept)
	}
	return res, errors.Join(errs...)
}

// VoicemailAudioRemoved reports whether a complete message's audio file is gone (removed by
// retention, or by hand): the row stays in the log, the audio cannot be played any more.
func (s *Store) VoicemailAudioRemoved(v Voicemail) bool {
	if !v.Complete {
		return false
	}
	p, err := s.voicemailPath(v.File)
	if err != nil {
		return true
	}
	_, err = os.Stat(p)
	return errors.Is(err, fs.ErrNotExist)
}
