package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// The voicemail trash. A deleted message stays recoverable for VoicemailTrashKeep: its row
// stays in the voicemails table, its id and the time of deletion are kept as JSON in the
// settings table under the key VoicemailTrashKey ({"12": 1763892000000, ...}, milliseconds
// since the epoch), and its audio moves from DIR/voicemail to DIR/voicemail/.trash. Restoring
// moves the audio back and forgets the entry; [Store.PurgeVoicemailTrash] (run daily by the
// daemon) removes the audio and the row of what was deleted longer ago than that. No column
// is needed for this, so the schema does not change.
const (
	VoicemailTrashKey  = "voicemail_trash"
	VoicemailTrashDir  = ".trash" // inside DIR/voicemail
	VoicemailTrashKeep = 7 * 24 * time.Hour
)

// trashMu serialises the read-modify-write of the trash index.
var trashMu sync.Mutex

func (s *Store) trashIndex(ctx context.Context) (map[int64]int64, error) {
	raw, err := s.Setting(ctx, VoicemailTrashKey, "")
	if err != nil {
		return nil, err
	}
	idx := map[int64]int64{}
	if raw == "" {
		return idx, nil
	}
	var byKey map[string]int64
	if err := json.Unmarshal([]byte(raw), &byKey); err != nil {
		return nil, fmt.Errorf("store: voicemail trash index: %w", err)
	}
	for k, at := range byKey {
		id, err := strconv.ParseInt(k, 10, 64)
		if err != nil || id <= 0 {
			continue
		}
		idx[id] = at
	}
	return idx, nil
}

func (s *Store) saveTrashIndex(ctx context.Context, idx map[int64]int64) error {
	byKey := make(map[string]int64, len(idx))
	for id, at := range idx {
		byKey[strconv.FormatInt(id, 10)] = at
	}
	b, err := json.Marshal(byKey)
	if err != nil {
		return fmt.Errorf("store: voicemail trash index: %w", err)
	}
	return s.SetSetting(ctx, VoicemailTrashKey, string(b))
}

// voicemailTrashPath is where the audio of a deleted message waits.
func (s *Store) voicemailTrashPath(file string) (string, error) {
	p, err := s.voicemailPath(file)
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(p), VoicemailTrashDir, file), nil
}

// moveFile renames from to to; a missing source is not an error (a message whose audio was
// lost can still be deleted and restored).
func moveFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o750); err != nil {
		return err
	}
	err := os.Rename(from, to)
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Lstat(from); errors.Is(serr, os.ErrNotExist) {
			return nil
		}
	}
	return err
}

// TrashVoicemail deletes message id recoverably: it disappears from [Store.LiveVoicemail]
// and its audio moves to DIR/voicemail/.trash until [Store.RestoreVoicemail] or the purge.
// Deleting a message already in the trash does nothing.
func (s *Store) TrashVoicemail(ctx context.Context, id int64) error {
	trashMu.Lock()
	defer trashMu.Unlock()
	v, err := s.Voicemail(ctx, id)
	if err != nil {
		return err
	}
	idx, err := s.trashIndex(ctx)
	if err != nil {
		return err
	}
	if _, ok := idx[id]; ok {
		return nil
	}
	from, err := s.voicemailPath(v.File)
	if err != nil {
		return err
	}
	to, err := s.voicemailTrashPath(v.File)
	if err != nil {
		return err
	}
	if err := moveFile(from, to); err != nil {
		return fmt.Errorf("store: trash voicemail %d: %w", id, err)
	}
	idx[id] = s.now().UnixMilli()
	if err := s.saveTrashIndex(ctx, idx); err != nil {
		if rerr := moveFile(to, from); rerr != nil {
			s.log.Error("voicemail audio left in the trash", "id", id, "error", rerr)
		}
		return fmt.Errorf("store: trash voicemail %d: %w", id, err)
	}
	return nil
}

// RestoreVoicemail brings a deleted message and its audio back; ErrNotFound when it is not in
// the trash.
func (s *Store) RestoreVoicemail(ctx context.Context, id int64) error {
	trashMu.Lock()
	defer trashMu.Unlock()
	idx, err := s.trashIndex(ctx)
	if err != nil {
		return err
	}
	if _, ok := idx[id]; !ok {
		return fmt.Errorf("store: restore voicemail %d: %w", id, ErrNotFound)
	}
	v, err := s.Voicemail(ctx, id)
	if err != nil {
		return err
	}
	to, err := s.voicemailPath(v.File)
	if err != nil {
		return err
	}
	from, err := s.voicemailTrashPath(v.File)
	if err != nil {
		return err
	}
	if err := moveFile(from, to); err != nil {
		return fmt.Errorf("store: restore voicemail %d: %w", id, err)
	}
	delete(idx, id)
	if err := s.saveTrashIndex(ctx, idx); err != nil {
		return fmt.Errorf("store: restore voicemail %d: %w", id, err)
	}
	return nil
}

// TrashedVoicemail returns the ids of the deleted messages with when each was deleted.
func (s *Store) TrashedVoicemail(ctx context.Context) (map[int64]time.Time, error) {
	trashMu.Lock()
	defer trashMu.Unlock()
	idx, err := s.trashIndex(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]time.Time, len(idx))
	for id, at := range idx {
		out[id] = time.UnixMilli(at).UTC()
	}
	return out, nil
}

// LiveVoicemail is [Store.ListVoicemail] without the deleted messages.
func (s *Store) LiveVoicemail(ctx context.Context, onlyUnhandled bool, limit int) ([]Voicemail, error) {
	if limit <= 0 {
		limit = 100
	}
	trashed, err := s.TrashedVoicemail(ctx)
	if err != nil {
		return nil, err
	}
	list, err := s.ListVoicemail(ctx, onlyUnhandled, limit+len(trashed))
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for _, v := range list {
		if _, gone := trashed[v.ID]; !gone {
			out = append(out, v)
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// PurgeVoicemailTrash removes for good the messages deleted longer ago than
// VoicemailTrashKeep: their audio and their rows. The daemon calls it once a day. It returns
// how many it removed.
func (s *Store) PurgeVoicemailTrash(ctx context.Context) (int, error) {
	trashMu.Lock()
	defer trashMu.Unlock()
	idx, err := s.trashIndex(ctx)
	if err != nil {
		return 0, err
	}
	cutoff := s.now().Add(-VoicemailTrashKeep).UnixMilli()
	n := 0
	for id, at := range idx {
		if at > cutoff {
			continue
		}
		v, err := s.Voicemail(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			delete(idx, id)
			continue
		case err != nil:
			return n, err
		}
		if p, err := s.voicemailTrashPath(v.File); err == nil {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return n, fmt.Errorf("store: purge voicemail %d: %w", id, err)
			}
		}
		if _, err := s.exec(ctx, `DELETE FROM voicemails WHERE id = ?`, id); err != nil {
			return n, fmt.Errorf("store: purge voicemail %d: %w", id, err)
		}
		delete(idx, id)
		n++
	}
	if err := s.saveTrashIndex(ctx, idx); err != nil {
		return n, fmt.Errorf("store: purge voicemail trash: %w", err)
	}
	return n, nil
}
