package store

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestApplyRetention(t *testing.T) {
	ctx := context.Background()
	// Five messages, one a day, 1000, 2000, ... 5000 bytes; a sixth still recording.
	setup := func(t *testing.T) (*Store, *fakeClock, []int64) {
		clock := newClock()
		s := openTest(t, "", clock)
		return s, clock, leaveMessages(t, s, clock, "m", 6, 5)
	}
	day := 24 * time.Hour
	for _, tc := range []struct {
		name      string
		r         Retention
		wantIdx   []int // indexes into ids, oldest first
		wantBytes int64
	}{
		{"nothing to do", Retention{}, nil, 0},
		{"older than 2.5 days", Retention{MaxAge: 5 * day / 2}, []int{0, 1, 2}, 6000},
		{"quota of 9000 bytes", Retention{MaxBytes: 9000}, []int{0, 1, 2}, 6000},
		{"quota of 9001 bytes", Retention{MaxBytes: 9001}, []int{0, 1, 2}, 6000},
		{"quota of 12000 bytes", Retention{MaxBytes: 12000}, []int{0, 1}, 3000},
		{"quota above all", Retention{MaxBytes: 1 << 30}, nil, 0},
		// Room on the disk takes no message nobody has dealt with that is younger than
		// KeepWaiting (TestRetentionSparesMessagesNotDealtWith has older ones).
		{"free 2500 bytes", Retention{Free: 2500}, nil, 0},
		{"age and quota", Retention{MaxAge: 4*day + time.Hour, MaxBytes: 12000}, []int{0, 1}, 3000},
		{"free more than there is", Retention{Free: 1 << 30}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _, ids := setup(t)
			res, err := s.ApplyRetention(ctx, tc.r)
			if err != nil {
				t.Fatal(err)
			}
			var want []int64
			for _, i := range tc.wantIdx {
				want = append(want, ids[i])
			}
			if !slices.Equal(res.Removed, want) || res.Bytes != tc.wantBytes || res.Kept != 15000-tc.wantBytes {
				t.Errorf("removed %v (%d bytes, %d kept); want %v (%d bytes)", res.Removed, res.Bytes, res.Kept, want, tc.wantBytes)
			}
			// The rows all stay; removed audio is gone and says so; the recording in progress
			// is never touched.
			list, err := s.ListVoicemail(ctx, false, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 6 {
				t.Fatalf("%d voicemail rows after retention, want all 6", len(list))
			}
			for _, v := range list {
				gone := s.VoicemailAudioRemoved(v)
				_, statErr := os.Stat(filepath.Join(s.Dir(), VoicemailDir, v.File))
				if gone != slices.Contains(want, v.ID) || gone != (statErr != nil) {
					t.Errorf("voicemail %d (%s): removed %v, file error %v", v.ID, v.File, gone, statErr)
				}
			}
			if _, err := os.Stat(filepath.Join(s.Dir(), VoicemailDir, "mf.wav")); err != nil {
				t.Errorf("the recording in progress was removed: %v", err)
			}
			audit, err := s.ListAudit(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			logged := len(audit) > 0 && audit[0].User == "retention" && strings.Contains(audit[0].Detail, "oldest first")
			if logged != (len(want) > 0) {
				t.Errorf("audit log: %+v", audit)
			}
			// Running again removes nothing more (the files are gone, the quota is met).
			if tc.r.Free == 0 {
				again, err := s.ApplyRetention(ctx, tc.r)
				if err != nil || len(again.Removed) != 0 {
					t.Errorf("second run removed %v (%v)", again.Removed, err)
				}
			}
		})
	}
	t.Run("negative", func(t *testing.T) {
		s, _, _ := setup(t)
		if _, err := s.ApplyRetention(ctx, Retention{MaxAge: -time.Hour}); err == nil {
			t.Error("negative age accepted")
		}
	})
	t.Run("time passes", func(t *testing.T) {
		s, clock, ids := setup(t)
		r := Retention{MaxAge: 30 * day}
		if res, _ := s.ApplyRetention(ctx, r); len(res.Removed) != 0 {
			t.Fatalf("removed %v at once", res.Removed)
		}
		clock.Add(26*day - time.Hour)
		res, err := s.ApplyRetention(ctx, r)
		if err != nil || !slices.Equal(res.Removed, ids[:1]) {
			t.Errorf("after 26 days: removed %v (%v), want the oldest", res.Removed, err)
		}
	})
}

// Recorded conversations are removed by the same rules as voicemail, oldest first, and their
// calls stay in the log.
func TestRetentionTakesRecordings(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	s := openTest(t, "", clock)
	dir := filepath.Join(s.Dir(), RecordingDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i, name := range []string{"old-talk.wav", "new-talk.wav"} {
		id, err := s.StartCall(ctx, "gsm1", "+79161234567", clock.Now().Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.FinishCallSummary(ctx, id, clock.Now(), Summary{Outcome: OutcomeAnswered, Recording: name}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, 5000), 0o600); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	res, err := s.ApplyRetention(ctx, Retention{MaxBytes: 6000})
	if err != nil {
		t.Fatal(err)
	}
	if res.Recordings != 1 || res.Bytes != 5000 {
		t.Errorf("retention: %+v, want the older recording removed", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "old-talk.wav")); !os.IsNotExist(err) {
		t.Errorf("old recording still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new-talk.wav")); err != nil {
		t.Errorf("new recording removed: %v", err)
	}
	if c, err := s.Call(ctx, ids[0]); err != nil || c.Recording != "old-talk.wav" {
		t.Errorf("the call lost its row: %+v %v", c, err)
	}
}

// When the disk needs room, the messages someone has dealt with go before older ones nobody has
// (a caller waiting to be called back), and of those only ones older than KeepWaiting; the
// owner's quota takes them last, the owner's age limit takes them all by age.
func TestRetentionSparesMessagesNotDealtWith(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T, later time.Duration) (*Store, []int64) {
		// 1000, 2000, 3000 bytes, three, two and one day old (and later more); the middle one
		// handled.
		clock := newClock()
		s := openTest(t, "", clock)
		ids := leaveMessages(t, s, clock, "w", 3, 3)
		clock.Add(24 * time.Hour)
		if err := s.SetVoicemailHandled(ctx, ids[1], true, "owner"); err != nil {
			t.Fatal(err)
		}
		clock.Add(later)
		return s, ids
	}
	for _, tc := range []struct {
		name    string
		later   time.Duration // how much older the messages are
		r       Retention
		wantIdx []int // in the order removed
	}{
		{"free 1500 bytes", 0, Retention{Free: 1500}, []int{1}},
		{"free 2500 bytes", 0, Retention{Free: 2500}, []int{1}},
		{"free all", 0, Retention{Free: 1 << 30}, []int{1}},
		{"free 2500 bytes, the messages a month old", KeepWaiting, Retention{Free: 2500}, []int{1, 0}},
		{"free all, the messages a month old", KeepWaiting, Retention{Free: 1 << 30}, []int{1, 0, 2}},
		{"free all, only the first a month old", KeepWaiting - 2*24*time.Hour, Retention{Free: 1 << 30}, []int{1, 0}},
		{"quota of 4000 bytes", 0, Retention{MaxBytes: 4000}, []int{1}},
		{"quota of 2000 bytes", 0, Retention{MaxBytes: 2000}, []int{1, 0, 2}},
		{"older than 1.5 days", 0, Retention{MaxAge: 36 * time.Hour}, []int{1, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ids := setup(t, tc.later)
			res, err := s.ApplyRetention(ctx, tc.r)
			if err != nil {
				t.Fatal(err)
			}
			var want []int64
			for _, i := range tc.wantIdx {
				want = append(want, ids[i])
			}
			if !slices.Equal(res.Removed, want) {
				t.Errorf("removed %v, want %v", res.Removed, want)
			}
		})
	}
}

// leaveMessages leaves n messages named prefix+"a.wav", prefix+"b.wav", ..., one a day up to a
// day ago, oldest first, of 1000, 2000, ... bytes; the first finished are complete and their
// calls ended, the rest still being recorded. It returns their ids.
func leaveMessages(t *testing.T, s *Store, clock *fakeClock, prefix string, n, finished int) []int64 {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	for i := range n {
		at := clock.Now().Add(time.Duration(i-(n-1)) * 24 * time.Hour)
		call, err := s.StartCall(ctx, "gsm1", "+79161234567", at)
		if err != nil {
			t.Fatal(err)
		}
		name := prefix + string(rune('a'+i)) + ".wav"
		id, err := s.StartVoicemail(ctx, call, name, at)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(s.Dir(), VoicemailDir, name), make([]byte, 1000*(i+1)), 0o600); err != nil {
			t.Fatal(err)
		}
		if i < finished {
			if err := s.FinishVoicemail(ctx, id, time.Second); err != nil {
				t.Fatal(err)
			}
			if err := s.FinishCall(ctx, call, at.Add(time.Minute), "0", "voicemail"); err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, id)
	}
	return ids
}
