package web

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/daemon/store"
)

// The admin pages are benchmarked over a log of benchCalls calls spread over the year before
// benchNow. Building that log takes a while, so it is kept under os.TempDir(), named after the
// schema version and benchDataVersion, and reused by later runs:
//
//	go test -run '^$' -bench Pages -benchtime 20x ./web
const (
	benchCalls       = 1_000_000
	benchCallers     = 30_000
	benchDataVersion = 4 // bump when fillBenchDB writes different rows
)

var (
	benchNow   = time.Date(2026, 11, 20, 15, 30, 0, 0, time.UTC)
	benchLines = []string{"gsm1", "gsm2", "gsm3", "fxo1"}
	benchMenus = []string{"", "1", "2", "3", "0", "1,0", "1,1", "1,2", "2,0", "2,1", "3,1", "3,2"}
)

// benchDB returns the data folder of the cached million-call box, building it when missing.
func benchDB(b *testing.B) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("hotline-bench-%dcalls-schema%d-data%d", benchCalls, store.SchemaVersion(), benchDataVersion))
	if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	start := time.Now()
	if err := fillBenchDB(dir); err != nil {
		os.RemoveAll(dir)
		b.Fatalf("build the benchmark's call log: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o600); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d calls in %s at %s", benchCalls, time.Since(start).Round(time.Second), dir)
	return dir
}

// fillBenchDB makes a box with an owner and a year of calls: mixed lines, outcomes, returning
// callers, menu paths, notes, surveys and voicemail, the owner having dealt with all but the
// last weeks' missed calls and messages.
func fillBenchDB(dir string) error {
	ctx := context.Background()
	st, err := store.Open(ctx, dir)
	if err != nil {
		return err
	}
	code, err := st.SetupCode(ctx)
	if err == nil {
		err = st.ClaimOwner(ctx, code, testPassword)
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, store.DBName)+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	insCall, err := tx.PrepareContext(ctx, `INSERT INTO calls (id, line_id, number, raw_number, started_at,
	answered_at, ended_at, menu_path, outcome, status, flow_version, digits, nodes, language, queue_wait_ms,
	answered_by, talk_ms, survey, recording, end_reason, note)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 'ru', ?, ?, ?, ?, '', '', ?)`)
	if err != nil {
		return err
	}
	insVM, err := tx.PrepareContext(ctx, `INSERT INTO voicemails (call_id, file, created_at, duration_ms, complete, handled_at, handled_by)
VALUES (?, ?, ?, ?, 1, ?, ?)`)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	numbers := make([]string, benchCallers)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("+7%d%09d", 900+rng.IntN(100), rng.IntN(1_000_000_000))
	}
	zipf := rand.NewZipf(rand.New(rand.NewPCG(3, 4)), 1.1, 2, benchCallers-1)
	const year = 365 * 24 * time.Hour
	step := year / benchCalls
	first := benchNow.Add(-year)
	for i := range benchCalls {
		at := first.Add(time.Duration(i)*step + time.Duration(rng.Int64N(int64(step))))
		number := numbers[zipf.Uint64()]
		raw := number
		if rng.IntN(200) == 0 {
			number, raw = "", "Unknown"
		}
		line := benchLines[rng.IntN(len(benchLines))]
		menu := benchMenus[rng.IntN(len(benchMenus))]
		var outcome string
		switch p := rng.IntN(100); {
		case p < 40:
			outcome = store.OutcomeAnswered
		case p < 60:
			outcome = store.OutcomeCompleted
		case p < 70:
			outcome = store.OutcomeVoicemail
		case p < 82:
			outcome = store.OutcomeMissed
		case p < 92:
			outcome = store.OutcomeAbandoned
		case p < 98:
			outcome = store.OutcomeCallback
		default:
			outcome = store.OutcomeFailed
		}
		age := benchNow.Sub(at)
		status := store.StatusDone
		if age < 14*24*time.Hour || rng.IntN(1000) == 0 {
			status = store.StatusNew
		}
		var answered any
		ring := time.Duration(1+rng.IntN(3)) * 4 * time.Second
		if outcome != store.OutcomeMissed {
			answered = at.Add(ring).UnixMilli()
		}
		length := time.Duration(10+rng.IntN(300)) * time.Second
		var wait, talk int64
		var by string
		var survey any
		if outcome == store.OutcomeAnswered {
			wait = int64(rng.IntN(60_000))
			talk = length.Milliseconds()
			by = []string{"Anna", "Boris", "Vera"}[rng.IntN(3)]
			if rng.IntN(5) == 0 {
				survey = 1 + rng.IntN(5)
			}
		}
		var note string
		if rng.IntN(50) == 0 {
			note = "Перезвонить после обеда, спрашивал про доставку"
		}
		id := int64(i + 1)
		_, err := insCall.ExecContext(ctx, id, line, number, raw, at.UnixMilli(), answered,
			at.Add(ring+length).UnixMilli(), menu, outcome, status, strings.ReplaceAll(menu, ",", ""),
			"start,menu,"+outcome, wait, by, talk, survey, note)
		if err != nil {
			return fmt.Errorf("call %d: %w", id, err)
		}
		if outcome == store.OutcomeVoicemail {
			var handled any
			var handledBy string
			if age > 7*24*time.Hour && rng.IntN(100) != 0 {
				handled, handledBy = at.Add(3*time.Hour).UnixMilli(), store.OwnerName
			}
			_, err := insVM.ExecContext(ctx, id, fmt.Sprintf("vm-%d.wav", id), at.Add(ring+length).UnixMilli(),
				1000+rng.IntN(60_000), handled, handledBy)
			if err != nil {
				return fmt.Errorf("voicemail of call %d: %w", id, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return err
	}
	// A backup dated in the future: opening the store each run makes no daily backup of the
	// whole log (the benchmark only reads).
	return os.WriteFile(filepath.Join(dir, store.BackupDir, "hotline-29991231-000000.db"), nil, 0o600)
}

// BenchmarkPages times every page the owner reads, through the real handler, over a million
// calls.
func BenchmarkPages(b *testing.B) {
	dir := benchDB(b)
	ctx := context.Background()
	st, err := store.Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	srv, err := New(Options{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	srv.loc = time.UTC
	srv.now = func() time.Time { return benchNow }
	srv.lines = testLines(benchNow)
	h := srv.Handler()
	token, err := st.CreateSession(ctx, store.OwnerName, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	cookie := &http.Cookie{Name: sessionCookie, Value: token}

	// A caller with many calls, one with few, and a recent call with a voicemail.
	var frequent, detail string
	row := func(f store.LogFilter) store.Call {
		f.Limit = 1
		calls, err := st.SearchCalls(ctx, f)
		if err != nil || len(calls) == 0 {
			b.Fatalf("no call for %+v: %v", f, err)
		}
		return calls[0]
	}
	c := row(store.LogFilter{Outcome: store.OutcomeAnswered})
	frequent = c.Number
	detail = fmt.Sprint(row(store.LogFilter{Outcome: store.OutcomeVoicemail}).ID)
	month := benchNow.AddDate(0, -1, 0).Format(time.DateOnly)
	week := benchNow.AddDate(0, 0, -7).Format(time.DateOnly)
	today := benchNow.Format(time.DateOnly)
	number := strings.TrimPrefix(frequent, "+7")

	pages := []struct{ name, path string }{
		{"dashboard", "/dashboard"},
		{"calls", "/calls"},
		{"calls_dates", "/calls?from=" + month + "&to=" + week},
		{"calls_old_dates", "/calls?from=2026-01-10&to=2026-01-12"},
		{"calls_line", "/calls?line=fxo1"},
		{"calls_outcome", "/calls?outcome=" + store.OutcomeFailed},
		{"calls_status", "/calls?status=" + store.StatusNew},
		{"calls_number", "/calls?number=" + number[3:]},
		{"calls_number_rare", "/calls?number=0000000"},
		{"calls_number_whole", "/calls?number=" + frequent},
		{"calls_all_filters", "/calls?from=" + month + "&to=" + today + "&line=gsm2&outcome=" + store.OutcomeMissed + "&number=" + number},
		{"caller_history", "/calls?number=" + frequent},
		{"call_detail", "/calls/" + detail},
		{"voicemail_inbox", "/voicemail"},
		{"stats_week", "/stats?days=7"},
		{"stats_month", "/stats?days=30"},
		{"stats_quarter", "/stats?days=90"},
		{"api_stats_quarter", "/api/stats?days=90"},
		{"panel", "/panel"},
		{"api_calls", "/api/calls"},
		{"api_calls_filtered", "/api/calls?outcome=" + store.OutcomeMissed + "&line=gsm1&limit=100"},
		{"api_voicemail", "/api/voicemail"},
		{"metrics", "/metrics"},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				r := httptest.NewRequest(http.MethodGet, p.path, nil)
				r.AddCookie(cookie)
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s: %d %s", p.path, w.Code, w.Body.String())
				}
			}
		})
	}
	// The statistics page offers 7, 30 and 90 days; the store's report of a day and of a year.
	for _, period := range []struct {
		name string
		days int
	}{{"report_day", 1}, {"report_year", 365}} {
		b.Run(period.name, func(b *testing.B) {
			b.ReportAllocs()
			to := startOfDay(benchNow, time.UTC).AddDate(0, 0, 1)
			for b.Loop() {
				r, err := st.CallReport(ctx, to.AddDate(0, 0, -period.days), to, time.UTC)
				if err != nil || r.Total == 0 {
					b.Fatalf("report: %d calls, %v", r.Total, err)
				}
			}
		})
	}
	b.Run("calls_csv_first_byte", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := &firstByteWriter{header: http.Header{}, got: make(chan struct{})}
			ctx, cancel := context.WithCancel(ctx)
			r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/calls.csv", nil)
			r.AddCookie(cookie)
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer func() {
					// The export gives up on a client that went away by aborting the handler.
					if v := recover(); v != nil && v != http.ErrAbortHandler {
						panic(v)
					}
				}()
				h.ServeHTTP(w, r)
			}()
			select {
			case <-w.got:
			case <-done:
				b.Fatal("the export wrote nothing")
			}
			cancel()
			<-done
		}
	})
}

// firstByteWriter is a ResponseWriter that reports its first body byte and then fails every
// write, so the export stops as a client that went away would stop it.
type firstByteWriter struct {
	header http.Header
	got    chan struct{}
	n      int
}

func (w *firstByteWriter) Header() http.Header { return w.header }
func (w *firstByteWriter) WriteHeader(int)     {}
func (w *firstByteWriter) Write(p []byte) (int, error) {
	if w.n == 0 && len(p) > 0 {
		w.n = len(p)
		close(w.got)
		return len(p), nil
	}
	if w.n == 0 {
		return 0, nil
	}
	return 0, io.ErrClosedPipe
}
