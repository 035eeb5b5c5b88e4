package diskguard

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
)

// A floor under the ballast's size (a small card, or a floor set low by hand): the guard that
// released its ballast writes it back only when that leaves more free than the ballast, so it
// does not delete and rewrite 8 MB on every other check (wear on an SD card) while the free
// space stands still.
func TestBallastDoesNotSeesaw(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		floor uint64
		free  uint64 // without the ballast
	}{
		{"floor under the ballast", 4 * mb, 14 * mb},
		{"floor under the ballast, more room", 4 * mb, 17 * mb},
		{"floor over the ballast", 16 * mb, 30 * mb},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, d := newFake(t, Config{MinFreeBytes: tc.floor, MinFreePercent: 0.1, BallastBytes: 8 * mb})
			d.set(tc.free)
			writes, removes := 0, 0
			had := g.hasBallast()
			for range 10 {
				g.Check(ctx)
				has := g.hasBallast()
				switch {
				case has && !had:
					writes++
				case !has && had:
					removes++
				}
				had = has
			}
			if writes > 1 || removes > 0 {
				t.Errorf("free space standing at %d MB, floor %d MB: the ballast was written %d times and deleted %d times in 10 checks",
					tc.free/mb, tc.floor/mb, writes, removes)
			}
		})
	}
}

// A write that failed for want of space has the ballast deleted at once, before Run looks:
// the call log's write that follows (completing the cut message's row) finds room. The next
// check says the reserve was released and does not write it back yet.
func TestNotifyReleasesTheBallastAtOnce(t *testing.T) {
	ctx := context.Background()
	g, d := newFake(t, Config{MinFreeBytes: 16 * mb, MinFreePercent: 0.1, BallastBytes: 8 * mb})
	d.set(100 * mb)
	if !g.Check(ctx).Ballast {
		t.Fatal("no ballast on a roomy disk")
	}
	g.Notify(fmt.Errorf("wav: %w", syscall.ENOSPC))
	if g.hasBallast() {
		t.Fatal("the ballast is still there right after a write failed on a full disk")
	}
	st := g.Check(ctx)
	if st.Ballast || st.Recording || !strings.Contains(st.Alert, "emergency reserve has been released") {
		t.Errorf("the check after: %+v", st)
	}
	if st := g.Check(ctx); !st.Ballast {
		t.Errorf("the ballast is not back with 100 MB free at the check after that: %+v", st)
	}
}
