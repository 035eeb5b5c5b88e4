package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// LogFilter selects calls for the call log, its CSV export and its statistics. The zero value
// selects every call.
type LogFilter struct {
	From, To time.Time // only calls that started in [From, To); a zero bound is open
	LineID   string    // only this line ("" = all)
	Outcome  string    // one of the Outcome constants, or OutcomeInProgress; "" = all
	Status   string    // StatusNew, StatusInProgress or StatusDone; "" = all
	Number   string    // digits anywhere in the caller's number ("916 12" finds +79161234567); with a leading "+" the number's start ("+7916"); "" = all
	BeforeID int64     // paging: only calls with a smaller id; 0 = from the newest
	Limit    int       // SearchCalls only: default 100, max 1000
}

// OutcomeInProgress selects the calls that have not ended yet in a LogFilter.
const OutcomeInProgress = "in_progress"

// ErrBadFilter means a LogFilter asks for something no call can have (an unknown outcome or
// status).
var ErrBadFilter = errors.New("store: bad call filter")

// numberDigits keeps the ASCII digits of a search: they are all a sanitised number holds
// besides its "+", and they need no escaping in a LIKE pattern.
func numberDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' && b.Len() < 20 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// numbersInList is how many calls of the numbers a digits search matches the log finds
// through the call_numbers list and the calls_number index; with more, such calls are common
// enough that reading the log from the newest call finds a page of them sooner. (A variable:
// the tests take both ways.)
var numbersInList = 3000

// where turns the filter into SQL conditions on calls c, for a query that reads the calls
// newest first and stops after limit of them. The conditions select the same calls whatever
// the plan; the plan is chosen from the summaries (see summary.go), which know how many calls
// a period or a part of a number has, where SQLite's planner would have to guess.
func (s *Store) where(ctx context.Context, f LogFilter, limit int) (string, []any, error) {
	var where []string
	var args []any
	if !f.From.IsZero() || !f.To.IsZero() {
		// Read the log from the newest call (by id) and test each call's start, or find the
		// period's calls through calls_started and sort them: whichever reads fewer rows.
		col := "c.started_at"
		scan, err := s.scanPeriod(ctx, f.From, f.To, limit)
		if err != nil {
			return "", nil, err
		}
		if scan {
			col = "+c.started_at" // no index for this term: the id order it is
		}
		if !f.From.IsZero() {
			where = append(where, col+" >= ?")
			args = append(args, f.From.UnixMilli())
		}
		if !f.To.IsZero() {
			where = append(where, col+" < ?")
			args = append(args, f.To.UnixMilli())
		}
	}
	if f.LineID != "" {
		where = append(where, "c.line_id = ?")
		args = append(args, f.LineID)
	}
	switch {
	case f.Outcome == "":
	case f.Outcome == OutcomeInProgress:
		where = append(where, "c.outcome = ''")
	case ValidOutcome(f.Outcome):
		where = append(where, "c.outcome = ?")
		args = append(args, f.Outcome)
	default:
		return "", nil, fmt.Errorf("%w: outcome %q", ErrBadFilter, f.Outcome)
	}
	switch f.Status {
	case "":
	case StatusNew, StatusInProgress, StatusDone:
		where = append(where, "c.status = ?")
		args = append(args, f.Status)
	default:
		return "", nil, fmt.Errorf("%w: status %q", ErrBadFilter, f.Status)
	}
	if d := numberDigits(f.Number); d != "" {
		if strings.HasPrefix(strings.TrimSpace(f.Number), "+") {
			// The start of an international number: a range over the calls_number index.
			// Sanitised numbers hold only "+" and digits, and ":" sorts right after "9".
			where = append(where, "c.number >= ? AND c.number < ?")
			args = append(args, "+"+d, "+"+d+":")
		} else {
			var calls int
			err := s.db.QueryRowContext(ctx, `SELECT coalesce(sum(n), 0) FROM call_numbers WHERE number LIKE ?`,
				"%"+d+"%").Scan(&calls)
			if err != nil {
				return "", nil, err
			}
			if calls <= numbersInList {
				// Few calls: look each matching number up in the calls_number index.
				where = append(where, "c.number IN (SELECT number FROM call_numbers WHERE number LIKE ?)")
			} else {
				where = append(where, "c.number LIKE ?")
			}
			args = append(args, "%"+d+"%")
		}
	}
	if f.BeforeID > 0 {
		where = append(where, "c.id < ?")
		args = append(args, f.BeforeID)
	}
	if len(where) == 0 {
		return "", args, nil
	}
	return " WHERE " + strings.Join(where, " AND "), args, nil
}

// SearchCalls returns the calls the filter selects, newest first, at most f.Limit of them.
// A filter with an unknown outcome or status is ErrBadFilter.
func (s *Store) SearchCalls(ctx context.Context, f LogFilter) ([]Call, error) {
	calls := []Call{}
	err := s.queryCalls(ctx, f, clampLimit(f.Limit), func(c Call) error {
		calls = append(calls, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: search calls: %w", err)
	}
	return calls, nil
}

// eachCallBatch is how many rows EachCall reads per query: its memory stays bounded and no
// read transaction stays open while fn writes to a slow client.
const eachCallBatch = 500

// EachCall calls fn for every call the filter selects, newest first, ignoring f.Limit. The
// calls are read in batches of a few hundred, so a million rows cost no more memory than a
// batch. It stops at the first error fn returns (returned wrapped) or when ctx ends.
func (s *Store) EachCall(ctx context.Context, f LogFilter, fn func(Call) error) error {
	batch := make([]Call, 0, eachCallBatch)
	for {
		batch = batch[:0]
		err := s.queryCalls(ctx, f, eachCallBatch, func(c Call) error {
			batch = append(batch, c)
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: each call: %w", err)
		}
		for _, c := range batch {
			if err := fn(c); err != nil {
				return fmt.Errorf("store: each call: %w", err)
			}
		}
		if len(batch) < eachCallBatch {
			return nil
		}
		f.BeforeID = batch[len(batch)-1].ID
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store: each call: %w", err)
		}
	}
}

func (s *Store) queryCalls(ctx context.Context, f LogFilter, limit int, fn func(Call) error) error {
	where, args, err := s.where(ctx, f, limit)
	if err != nil {
		return err
	}
	// The ids first: the filter, the sorting and the limit work on ids alone (from an index
	// where one covers the filter), and only a page of rows is read whole.
	rows, err := s.db.QueryContext(ctx, `SELECT `+callColumns+` FROM calls c WHERE c.id IN (
	SELECT c.id FROM calls c`+where+` ORDER BY c.id DESC LIMIT ?) ORDER BY c.id DESC`,
		append(args, limit)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}

// scanPeriod reports whether a page of limit calls that started in [from, to) (a zero bound is
// open) is found sooner by reading the log from the newest call than through the
// calls_started index. The first reads the calls after the period and then a page of it (ids
// follow time, as a rule); the second reads every call of the period, each a lookup of its
// row (about three times the cost of a row read in order), and sorts them. A period with less
// than a page is the index's: the scan would go on through all the older calls.
func (s *Store) scanPeriod(ctx context.Context, from, to time.Time, limit int) (bool, error) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !from.IsZero() {
		lo = from.UnixMilli() / slotMillis
	}
	if !to.IsZero() {
		hi = to.UnixMilli() / slotMillis
	}
	var after, in int64
	err := s.db.QueryRowContext(ctx, `SELECT
	coalesce(sum(CASE WHEN slot >= ? THEN n END), 0),
	coalesce(sum(CASE WHEN slot < ? THEN n END), 0)
FROM call_slots WHERE slot >= ?`, hi, hi, lo).Scan(&after, &in)
	if err != nil {
		return false, err
	}
	if in < int64(limit) {
		return false, nil
	}
	return after+int64(limit) < 3*in, nil
}

// CallerHistory returns the calls of one sanitised number, newest first (limit as in
// SearchCalls). A hidden number ("") has no history: it returns none.
func (s *Store) CallerHistory(ctx context.Context, number string, limit int) ([]Call, error) {
	if number == "" {
		return []Call{}, nil
	}
	calls, err := s.ListCalls(ctx, CallFilter{Number: number, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("store: history of %q: %w", number, err)
	}
	return calls, nil
}

// CallLines returns every line ID in the log, sorted, for the log's line filter. It seeks from
// one line to the next over the calls_line index, so it costs a few lookups per line, not a
// pass over the log.
func (s *Store) CallLines(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `
WITH RECURSIVE l(id) AS (
	SELECT MIN(line_id) FROM calls
	UNION ALL
	SELECT (SELECT MIN(line_id) FROM calls WHERE line_id > l.id) FROM l WHERE l.id IS NOT NULL
)
SELECT id FROM l WHERE id IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("store: call lines: %w", err)
	}
	defer rows.Close()
	lines := []string{}
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return nil, fmt.Errorf("store: call lines: %w", err)
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: call lines: %w", err)
	}
	return lines, nil
}

// RecordingPath is where the recording of a call's conversation lies (under the data folder's
// recordings/), or an error when the call has none or its name would leave that folder.
func (s *Store) RecordingPath(c Call) (string, error) {
	name := c.Recording
	if name == "" {
		return "", fmt.Errorf("store: call %d has no recording: %w", c.ID, ErrNotFound)
	}
	if name != filepath.Base(name) || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("store: call %d: recording name %q is not a plain file name", c.ID, name)
	}
	return filepath.Join(s.dir, "recordings", name), nil
}

// Report sums up the calls of a period for the statistics page. Hours and days are counted in
// the time zone given to CallReport.
type Report struct {
	From, To  time.Time
	Total     int
	Outcomes  map[string]int // by outcome; "" counts calls still in progress
	ByHour    [24]int        // by the hour of the day they started
	ByDay     []DayCount     // every day of the period, oldest first, days without calls included
	Waited    int            // calls that waited for a person (queue_wait_ms > 0)
	AvgWait   time.Duration  // mean wait of those
	Talked    int            // calls with talk time
	AvgTalk   time.Duration  // mean talk time of those
	Surveys   int            // calls with a survey score
	AvgSurvey float64        // mean score, 1..5 (0 when none)
	Scores    [5]int         // how many gave 1, 2, 3, 4, 5
	Menu      []KeyCount     // menu paths callers chose, most chosen first (at most maxReportPaths)
}

// DayCount is the calls of one day.
type DayCount struct {
	Day                                time.Time // midnight in the report's zone
	Total, Answered, Missed, Voicemail int
}

// KeyCount is how many calls went one way through the menu ("1,0").
type KeyCount struct {
	Path  string
	Count int
}

// maxReportPaths bounds the menu paths a report lists.
const maxReportPaths = 20

// maxReportDays bounds the days a report covers.
const maxReportDays = 366

// reportOutcomes are the outcomes a Report counts ("" for calls in progress); the calls
// table's CHECK allows no other.
var reportOutcomes = [8]string{"", OutcomeAnswered, OutcomeVoicemail, OutcomeCallback, OutcomeAbandoned, OutcomeMissed, OutcomeCompleted, OutcomeFailed}

// reportSlot is the length of the buckets CallReport counts in SQL before it spreads them over
// the hours and days of the time zone: every time zone's offset is a multiple of it.
const reportSlot = 15 * time.Minute

// reportSums are the totals a Report's averages come from.
type reportSums struct{ wait, talk, score int64 }

// CallReport sums up the calls that started in [from, to), counting hours and days in loc.
// A period that starts and ends on a quarter hour (every day in every time zone does) is read
// from the call_slots and call_menu_days summaries: a few hundred rows however many calls
// the period had. Any other period is counted in the database in a few grouped passes over the
// started_at index; either way only the sums come back.
func (s *Store) CallReport(ctx context.Context, from, to time.Time, loc *time.Location) (Report, error) {
	return s.callReport(ctx, from, to, loc, true)
}

// callReport is CallReport; summaries false counts every call of the period instead (the
// tests compare the two).
func (s *Store) callReport(ctx context.Context, from, to time.Time, loc *time.Location, summaries bool) (Report, error) {
	if loc == nil {
		loc = time.UTC
	}
	if !to.After(from) {
		return Report{}, fmt.Errorf("store: call report: period %s to %s is empty", from, to)
	}
	r := Report{From: from, To: to, Outcomes: map[string]int{}}
	lf := from.In(loc)
	for d := time.Date(lf.Year(), lf.Month(), lf.Day(), 0, 0, 0, 0, loc); d.Before(to) && len(r.ByDay) < maxReportDays; d = d.AddDate(0, 0, 1) {
		r.ByDay = append(r.ByDay, DayCount{Day: d})
	}
	var sums reportSums
	done := false
	if summaries {
		var err error
		if done, err = s.reportFromSummaries(ctx, &r, &sums, loc); err != nil {
			return Report{}, fmt.Errorf("store: call report: %w", err)
		}
	}
	if !done {
		if err := s.reportFromCalls(ctx, &r, &sums, loc); err != nil {
			return Report{}, fmt.Errorf("store: call report: %w", err)
		}
	}
	if r.Waited > 0 {
		r.AvgWait = time.Duration(sums.wait/int64(r.Waited)) * time.Millisecond
	}
	if r.Talked > 0 {
		r.AvgTalk = time.Duration(sums.talk/int64(r.Talked)) * time.Millisecond
	}
	if r.Surveys > 0 {
		r.AvgSurvey = float64(sums.score) / float64(r.Surveys)
	}
	return r, nil
}

// reportFromCalls fills r by counting the period's calls.
func (s *Store) reportFromCalls(ctx context.Context, r *Report, sums *reportSums, loc *time.Location) error {
	period := []any{r.From.UnixMilli(), r.To.UnixMilli()}
	// One pass over the period's rows, summed per quarter hour.
	cols := []string{"started_at / ?", "count(*)", "sum(answered_at IS NOT NULL)", "sum(outcome IN (?, ?))",
		"sum(outcome = ?)", "sum(queue_wait_ms > 0)", "sum(queue_wait_ms)", "sum(talk_ms > 0)", "sum(talk_ms)"}
	args := []any{reportSlot.Milliseconds(), OutcomeMissed, OutcomeAbandoned, OutcomeVoicemail}
	for _, o := range reportOutcomes {
		cols = append(cols, "sum(outcome = ?)")
		args = append(args, o)
	}
	for score := 1; score <= 5; score++ {
		cols = append(cols, "sum(coalesce(survey, 0) = ?)")
		args = append(args, score)
	}
	err := s.eachRow(ctx, `SELECT `+strings.Join(cols, ", ")+`
FROM calls WHERE started_at >= ? AND started_at < ? GROUP BY 1`, append(args, period...),
		func(scan func(...any) error) error {
			var slot, wait, talk int64
			var n, answered, missed, vm, waited, talked int
			var byOutcome [8]int
			var scores [5]int
			dest := []any{&slot, &n, &answered, &missed, &vm, &waited, &wait, &talked, &talk}
			for i := range reportOutcomes {
				dest = append(dest, &byOutcome[i])
			}
			for i := range scores {
				dest = append(dest, &scores[i])
			}
			if err := scan(dest...); err != nil {
				return err
			}
			at := time.UnixMilli(slot * reportSlot.Milliseconds()).In(loc)
			r.Total += n
			r.ByHour[at.Hour()] += n
			// The day: the last one that starts at or before the slot.
			i, _ := slices.BinarySearchFunc(r.ByDay, at, func(d DayCount, t time.Time) int { return d.Day.Compare(t) })
			if i < len(r.ByDay) && r.ByDay[i].Day.Equal(at) {
				i++
			}
			if i--; i >= 0 {
				d := &r.ByDay[i]
				d.Total += n
				d.Answered += answered
				d.Missed += missed
				d.Voicemail += vm
			}
			r.Waited += waited
			sums.wait += wait
			r.Talked += talked
			sums.talk += talk
			for i, o := range reportOutcomes {
				if byOutcome[i] > 0 {
					r.Outcomes[o] += byOutcome[i]
				}
			}
			for i, c := range scores {
				r.Scores[i] += c
				r.Surveys += c
				sums.score += int64((i + 1) * c)
			}
			return nil
		})
	if err != nil {
		return err
	}
	return s.eachRow(ctx, `
SELECT menu_path, count(*) FROM calls
WHERE started_at >= ? AND started_at < ? AND menu_path != ''
GROUP BY menu_path ORDER BY 2 DESC, 1 LIMIT ?`, append(period, maxReportPaths),
		func(scan func(...any) error) error {
			var k KeyCount
			if err := scan(&k.Path, &k.Count); err != nil {
				return err
			}
			r.Menu = append(r.Menu, k)
			return nil
		})
}

// eachRow runs a query and calls fn with each row's Scan.
func (s *Store) eachRow(ctx context.Context, query string, args []any, fn func(scan func(...any) error) error) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// CountNewVoicemail counts the messages nobody has dealt with, the deleted ones left out: the
// number [Store.LiveVoicemail] with onlyUnhandled lists, without reading the messages.
func (s *Store) CountNewVoicemail(ctx context.Context) (int, error) {
	trashed, err := s.TrashedVoicemail(ctx)
	if err != nil {
		return 0, err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM voicemails WHERE handled_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count new voicemail: %w", err)
	}
	for id := range trashed {
		var unhandled bool
		err := s.db.QueryRowContext(ctx, `SELECT handled_at IS NULL FROM voicemails WHERE id = ?`, id).Scan(&unhandled)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("store: count new voicemail: %w", err)
		}
		if unhandled {
			n--
		}
	}
	return n, nil
}
