package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The statistics and the call log's number search read summaries the database keeps in step
// with the calls table by triggers (on insert, on the update that ends a call, on delete), so
// they stay exact whoever writes a call and cost a few row updates per call:
//
//   - call_slots: per quarter hour (started_at / reportSlot) the sums CallReport shows;
//   - call_hours, call_days: the same per hour and per UTC day, fewer rows to read for long
//     periods (call_hours serves every zone whose offset is whole hours);
//   - call_menu_days: per UTC day and menu path, how many calls went that way;
//   - call_numbers: every caller number in the log, with how many calls it made.

// slotColumn is one column of call_slots: its name and what one call (row r of calls, "NEW"
// or "OLD") adds to it.
type slotColumn struct {
	name string
	expr func(r string) string
}

// slotColumns are call_slots' sums in the order CallReport scans them.
var slotColumns = func() []slotColumn {
	cols := []slotColumn{
		{"n", func(string) string { return "1" }},
		{"answered", func(r string) string { return r + ".answered_at IS NOT NULL" }},
		{"missed", func(r string) string {
			return fmt.Sprintf("%s.outcome IN ('%s', '%s')", r, OutcomeMissed, OutcomeAbandoned)
		}},
		{"voicemail", func(r string) string { return fmt.Sprintf("%s.outcome = '%s'", r, OutcomeVoicemail) }},
		{"waited", func(r string) string { return r + ".queue_wait_ms > 0" }},
		{"wait_ms", func(r string) string { return r + ".queue_wait_ms" }},
		{"talked", func(r string) string { return r + ".talk_ms > 0" }},
		{"talk_ms", func(r string) string { return r + ".talk_ms" }},
	}
	for i, o := range reportOutcomes {
		cols = append(cols, slotColumn{fmt.Sprintf("o%d", i), func(r string) string {
			return fmt.Sprintf("%s.outcome = '%s'", r, o)
		}})
	}
	for score := 1; score <= 5; score++ {
		cols = append(cols, slotColumn{fmt.Sprintf("s%d", score), func(r string) string {
			return fmt.Sprintf("coalesce(%s.survey, 0) = %d", r, score)
		}})
	}
	return cols
}()

// slotMillis is reportSlot in milliseconds, as the SQL divides started_at by it.
var slotMillis = reportSlot.Milliseconds()

const (
	hourMillis = 60 * 60 * 1000
	dayMillis  = 24 * hourMillis
)

// sumTables are the tables of slotColumns: per quarter hour and per UTC day.
var sumTables = []summaryTable{{"call_slots", "slot", slotMillis}, {"call_hours", "hour", hourMillis}, {"call_days", "day", dayMillis}}

// summarySchema creates the summaries, fills them from the calls already logged, and adds
// the triggers that keep them in step.
func summarySchema() string {
	var b strings.Builder
	names := make([]string, 0, len(slotColumns))
	defs := make([]string, 0, len(slotColumns))
	sums := make([]string, 0, len(slotColumns))
	for _, c := range slotColumns {
		names = append(names, c.name)
		defs = append(defs, c.name+" INTEGER NOT NULL DEFAULT 0")
		sums = append(sums, "sum("+c.expr("c")+")")
	}
	for _, t := range sumTables {
		fmt.Fprintf(&b, "CREATE TABLE %s (\n\t%s INTEGER PRIMARY KEY,\n\t%s\n);\n", t.table, t.key, strings.Join(defs, ",\n\t"))
		fmt.Fprintf(&b, "INSERT INTO %s (%s, %s)\nSELECT c.started_at / %d, %s FROM calls c GROUP BY 1;\n",
			t.table, t.key, strings.Join(names, ", "), t.millis, strings.Join(sums, ", "))
	}
	b.WriteString(`CREATE TABLE call_menu_days (
	day       INTEGER NOT NULL,
	menu_path TEXT    NOT NULL,
	n         INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (day, menu_path)
) WITHOUT ROWID;
CREATE TABLE call_numbers (
	number TEXT PRIMARY KEY,
	n      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
`)
	fmt.Fprintf(&b, "INSERT INTO call_menu_days (day, menu_path, n)\nSELECT started_at / %d, menu_path, count(*) FROM calls WHERE menu_path != '' GROUP BY 1, 2;\n", dayMillis)
	b.WriteString("INSERT INTO call_numbers (number, n) SELECT number, count(*) FROM calls WHERE number != '' GROUP BY 1;\n")

	add := func(r string) string {
		vals := make([]string, 0, len(slotColumns))
		sets := make([]string, 0, len(slotColumns))
		for _, c := range slotColumns {
			vals = append(vals, c.expr(r))
			sets = append(sets, fmt.Sprintf("%s = %s + excluded.%s", c.name, c.name, c.name))
		}
		var q strings.Builder
		for _, t := range sumTables {
			fmt.Fprintf(&q, "\tINSERT INTO %s (%s, %s) VALUES (%s.started_at / %d, %s)\n\t\tON CONFLICT (%s) DO UPDATE SET %s;\n",
				t.table, t.key, strings.Join(names, ", "), r, t.millis, strings.Join(vals, ", "), t.key, strings.Join(sets, ", "))
		}
		fmt.Fprintf(&q, `	INSERT INTO call_menu_days (day, menu_path, n) SELECT %s.started_at / %d, %s.menu_path, 1 WHERE %s.menu_path != ''
		ON CONFLICT (day, menu_path) DO UPDATE SET n = n + 1;
	INSERT INTO call_numbers (number, n) SELECT %s.number, 1 WHERE %s.number != ''
		ON CONFLICT (number) DO UPDATE SET n = n + 1;
`, r, dayMillis, r, r, r, r)
		return q.String()
	}
	sub := func(r string) string {
		sets := make([]string, 0, len(slotColumns))
		for _, c := range slotColumns {
			sets = append(sets, fmt.Sprintf("%s = %s - (%s)", c.name, c.name, c.expr(r)))
		}
		var q strings.Builder
		for _, t := range sumTables {
			fmt.Fprintf(&q, "\tUPDATE %s SET %s WHERE %s = %s.started_at / %d;\n", t.table, strings.Join(sets, ", "), t.key, r, t.millis)
		}
		fmt.Fprintf(&q, `	UPDATE call_menu_days SET n = n - 1 WHERE day = %s.started_at / %d AND menu_path = %s.menu_path;
	DELETE FROM call_menu_days WHERE day = %s.started_at / %d AND menu_path = %s.menu_path AND n <= 0;
	UPDATE call_numbers SET n = n - 1 WHERE number = %s.number;
	DELETE FROM call_numbers WHERE number = %s.number AND n <= 0;
`, r, dayMillis, r, r, dayMillis, r, r, r)
		return q.String()
	}
	fmt.Fprintf(&b, "CREATE TRIGGER calls_summary_insert AFTER INSERT ON calls BEGIN\n%sEND;\n", add("NEW"))
	fmt.Fprintf(&b, "CREATE TRIGGER calls_summary_delete AFTER DELETE ON calls BEGIN\n%sEND;\n", sub("OLD"))
	fmt.Fprintf(&b, `CREATE TRIGGER calls_summary_update
AFTER UPDATE OF number, started_at, answered_at, menu_path, outcome, queue_wait_ms, talk_ms, survey ON calls BEGIN
%s%sEND;
`, sub("OLD"), add("NEW"))
	return b.String()
}

// reportFromSummaries fills r from the summaries. It reports false, having read nothing, when
// the period or a change of the zone's offset inside it falls off the quarter hours (then
// only the calls themselves can tell).
func (s *Store) reportFromSummaries(ctx context.Context, r *Report, sums *reportSums, loc *time.Location) (bool, error) {
	// The hours and days are read per hour where the zone's offsets are whole hours, else per
	// quarter hour; when neither fits, the calls must be counted.
	unit, spans, days, ok := summaryUnit(r, loc, hourMillis, "call_hours", "hour")
	if !ok {
		unit, spans, days, ok = summaryUnit(r, loc, slotMillis, "call_slots", "slot")
	}
	if !ok {
		return false, nil
	}
	// The totals: whole UTC days from call_days, the quarter hours around them from call_slots.
	v, err := s.slotTotals(ctx, r.From.UnixMilli()/slotMillis, r.To.UnixMilli()/slotMillis)
	if err != nil {
		return false, err
	}
	// v follows slotColumns: n, answered, missed, voicemail, waited, wait_ms, talked, talk_ms,
	// the outcomes, the scores.
	r.Total += int(v[0])
	r.Waited += int(v[4])
	sums.wait += v[5]
	r.Talked += int(v[6])
	sums.talk += v[7]
	for i, o := range reportOutcomes {
		if c := int(v[8+i]); c > 0 {
			r.Outcomes[o] += c
		}
	}
	for i := range r.Scores {
		c := int(v[8+len(reportOutcomes)+i])
		r.Scores[i] += c
		r.Surveys += c
		sums.score += int64((i + 1) * c)
	}
	// The hours of the day, one pass per span of one offset from UTC.
	perHour := hourMillis / unit.millis
	for _, sp := range spans {
		err := s.eachRow(ctx, `SELECT ((`+unit.key+` + ?) / ?) % 24, sum(n) FROM `+unit.table+` WHERE `+unit.key+` >= ? AND `+unit.key+` < ? GROUP BY 1`,
			[]any{sp.off, perHour, sp.from, sp.to}, func(scan func(...any) error) error {
				var hour, n int
				if err := scan(&hour, &n); err != nil {
					return err
				}
				if hour >= 0 && hour < 24 {
					r.ByHour[hour] += n
				}
				return nil
			})
		if err != nil {
			return false, err
		}
	}
	stmt, err := s.db.PrepareContext(ctx, `SELECT coalesce(sum(n), 0), coalesce(sum(answered), 0), coalesce(sum(missed), 0),
	coalesce(sum(voicemail), 0) FROM `+unit.table+` WHERE `+unit.key+` >= ? AND `+unit.key+` < ?`)
	if err != nil {
		return false, err
	}
	defer stmt.Close()
	for i, d := range days {
		if d[0] >= d[1] {
			continue
		}
		day := &r.ByDay[i]
		if err := stmt.QueryRowContext(ctx, d[0], d[1]).Scan(&day.Total, &day.Answered, &day.Missed, &day.Voicemail); err != nil {
			return false, err
		}
	}
	return true, s.menuFromSummaries(ctx, r)
}

// summaryTable is a table of slotColumns, its key and how long one row's time is.
type summaryTable struct {
	table, key string
	millis     int64
}

// reportSpan is a part of a report's period with one offset from UTC, in units of a summary
// table's rows.
type reportSpan struct{ from, to, off int64 }

// summaryUnit cuts r's period into spans of one offset and its days into ranges, in rows of
// length unit (ms) of table; ok is false when a bound or an offset falls inside a row.
func summaryUnit(r *Report, loc *time.Location, unit int64, table, key string) (summaryTable, []reportSpan, [][2]int64, bool) {
	t := summaryTable{table, key, unit}
	var spans []reportSpan
	for at := r.From; at.Before(r.To); {
		lt := at.In(loc)
		_, off := lt.Zone()
		_, end := lt.ZoneBounds()
		if end.IsZero() || end.After(r.To) {
			end = r.To
		}
		if at.UnixMilli()%unit != 0 || end.UnixMilli()%unit != 0 || int64(off)*1000%unit != 0 {
			return t, nil, nil, false
		}
		spans = append(spans, reportSpan{at.UnixMilli() / unit, end.UnixMilli() / unit, int64(off) * 1000 / unit})
		at = end
	}
	days := make([][2]int64, len(r.ByDay))
	for i, d := range r.ByDay {
		lo, hi := d.Day, r.To // the last day takes the rest, as reportFromCalls counts
		if i+1 < len(r.ByDay) {
			hi = r.ByDay[i+1].Day
		}
		lo, hi = maxTime(lo, r.From), minTime(hi, r.To)
		if lo.UnixMilli()%unit != 0 || hi.UnixMilli()%unit != 0 {
			return t, nil, nil, false
		}
		days[i] = [2]int64{lo.UnixMilli() / unit, hi.UnixMilli() / unit}
	}
	return t, spans, days, true
}

// slotTotals sums every column of the calls that started in the slots [lo, hi).
func (s *Store) slotTotals(ctx context.Context, lo, hi int64) ([]int64, error) {
	total := make([]int64, len(slotColumns))
	cols := make([]string, len(slotColumns))
	for i, c := range slotColumns {
		cols[i] = "coalesce(sum(" + c.name + "), 0)"
	}
	add := func(table, key string, from, to int64) error {
		if from >= to {
			return nil
		}
		v := make([]int64, len(slotColumns))
		dest := make([]any, len(v))
		for i := range v {
			dest[i] = &v[i]
		}
		err := s.db.QueryRowContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+table+` WHERE `+key+` >= ? AND `+key+` < ?`,
			from, to).Scan(dest...)
		for i := range v {
			total[i] += v[i]
		}
		return err
	}
	perDay := int64(dayMillis) / slotMillis
	firstDay, lastDay := (lo+perDay-1)/perDay, hi/perDay
	if lo < 0 || firstDay >= lastDay {
		return total, add("call_slots", "slot", lo, hi)
	}
	err := add("call_days", "day", firstDay, lastDay)
	if err == nil {
		err = add("call_slots", "slot", lo, firstDay*perDay)
	}
	if err == nil {
		err = add("call_slots", "slot", lastDay*perDay, hi)
	}
	return total, err
}

// menuFromSummaries fills r.Menu: the whole UTC days of the period from call_menu_days, the
// hours before and after them from the calls.
func (s *Store) menuFromSummaries(ctx context.Context, r *Report) error {
	from, to := r.From.UnixMilli(), r.To.UnixMilli()
	firstDay := (from + dayMillis - 1) / dayMillis // the first midnight (UTC) in the period
	lastDay := to / dayMillis                      // the last one
	counts := map[string]int{}
	add := func(scan func(...any) error) error {
		var path string
		var n int
		if err := scan(&path, &n); err != nil {
			return err
		}
		counts[path] += n
		return nil
	}
	const fromCalls = `SELECT menu_path, count(*) FROM calls
WHERE started_at >= ? AND started_at < ? AND menu_path != '' GROUP BY menu_path`
	if firstDay >= lastDay {
		if err := s.eachRow(ctx, fromCalls, []any{from, to}, add); err != nil {
			return err
		}
	} else {
		err := s.eachRow(ctx, `SELECT menu_path, sum(n) FROM call_menu_days WHERE day >= ? AND day < ? GROUP BY menu_path`,
			[]any{firstDay, lastDay}, add)
		if err == nil && from < firstDay*dayMillis {
			err = s.eachRow(ctx, fromCalls, []any{from, firstDay * dayMillis}, add)
		}
		if err == nil && lastDay*dayMillis < to {
			err = s.eachRow(ctx, fromCalls, []any{lastDay * dayMillis, to}, add)
		}
		if err != nil {
			return err
		}
	}
	for path, n := range counts {
		if n > 0 {
			r.Menu = append(r.Menu, KeyCount{Path: path, Count: n})
		}
	}
	slices.SortFunc(r.Menu, func(a, b KeyCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Path, b.Path))
	})
	if len(r.Menu) > maxReportPaths {
		r.Menu = r.Menu[:maxReportPaths]
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
