package ivr

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func loadFlow(t testing.TB, path string) *Flow {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

func brief(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s %s %s", p.Severity, p.Code, p.Node, p.Field, strings.Join(p.Args, ","))))
	}
	return out
}

const noPerson = "warning no_person"

// TestLint: each file in testdata/lint makes the problems listed, and nothing else.
func TestLint(t *testing.T) {
	for _, tt := range []struct {
		file string
		want []string // "severity code node field args,..."
	}{
		{"ok.json", nil},
		{"no_start.json", []string{"error no_start  start"}},
		{"unknown_start.json", []string{"error unknown_start  start welcome"}},
		{"empty_id.json", []string{"error empty_id  id 2", noPerson}},
		{"duplicate_id.json", []string{"error duplicate_id vm id vm", noPerson}},
		{"unknown_kind.json", []string{"error unknown_kind b kind dance", noPerson}},
		{"missing_node.json", []string{"error missing_node menu choices 3,pricing", noPerson}},
		{"dead_end.json", []string{
			"error dead_end menu no_input",
			"error dead_end info next",
			"error dead_end q no_answer",
			"error dead_end q leave",
		}},
		{"unreachable.json", []string{"error unreachable old", noPerson}},
		{"loop.json", []string{"error loop b next Promo,Promo again,Promo", noPerson}},
		{"loop_no_answer.json", []string{"error loop sorry next ring,sorry,ring"}},
		{"loop_menu.json", []string{"error loop m no_input m,m"}},
		{"missing_prompt.json", []string{
			"error missing_prompt a prompt promo_2025",
			"error missing_prompt m prompt",
			"error missing_prompt m invalid oops",
			noPerson,
		}},
		{"bad_schedule.json", []string{
			"error bad_schedule hours tz Mars/Olympus",
			"error bad_schedule hours week fun",
			"error bad_schedule hours week.mon 9-18",
			"error bad_schedule hours week.tue 09:00-09:00",
			"error bad_schedule hours week.wed 18:00-25:00",
			"error bad_schedule hours holidays 13-01",
			"error bad_schedule hours holidays 2026-1-7",
			"error bad_schedule hours exceptions 2026-02-30",
			"error bad_schedule hours exceptions.hours 09:00-24:30",
			"error bad_schedule nosched schedule",
			"error unreachable nosched",
			noPerson,
		}},
		{"unknown_operator.json", []string{"error unknown_operator r operators zed"}},
		{"bad_key.json", []string{
			"error bad_key m choices 10",
			"error bad_key m choices a",
			"error bad_key q leave_key 00",
		}},
		{"empty_menu.json", []string{"error empty_menu m choices", noPerson}},
		{"bad_value.json", []string{
			"error bad_value lang languages Russian!",
			"error bad_value r ring_sec -5",
			"error bad_value r strategy random",
		}},
		{"no_number.json", []string{"error no_number f number"}},
		{"no_text.json", []string{"error no_text s text", noPerson}},
		{"no_languages.json", []string{"error no_languages l languages", noPerson}},
		{"deep_menu.json", []string{"warning deep_menu m3  3"}},
		{"no_person.json", []string{noPerson}},
		{"caller_lost.json", []string{"warning caller_lost r no_answer"}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			ps := Lint(loadFlow(t, filepath.Join("testdata", "lint", tt.file)), testKnown)
			if got := brief(ps); !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			wantErr := slices.ContainsFunc(tt.want, func(s string) bool { return strings.HasPrefix(s, "error") })
			if HasErrors(ps) != wantErr {
				t.Errorf("HasErrors = %v", !wantErr)
			}
		})
	}
}

// TestLintEveryFile: every file in testdata/lint is in TestLint's table, so none is left behind.
func TestLintEveryFile(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "lint", "*.json"))
	if err != nil || len(files) < 20 {
		t.Fatalf("%d files: %v", len(files), err)
	}
	src, err := os.ReadFile("lint_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !strings.Contains(string(src), `{"`+filepath.Base(f)+`"`) {
			t.Errorf("%s is not in TestLint", f)
		}
	}
}

// TestLintUnknownOperatorsWithoutKnown: with no operators on the box, only "everyone" works.
func TestLintNoOperatorsKnown(t *testing.T) {
	f := loadFlow(t, filepath.Join("testdata", "lint", "ok.json"))
	got := brief(Lint(f, Known{}))
	want := []string{"error unknown_operator people operators anna", "error unknown_operator people operators boris"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMessages(t *testing.T) {
	for _, tt := range []struct {
		p      Problem
		en, ru string
	}{
		{Problem{Code: CodeMissingNode, Node: "m", Kind: KindMenu, Title: "Sales", Field: "choices", Args: []string{"3", "x"}},
			`The "Sales" menu: key 3 leads to "x", which does not exist.`,
			`Меню «Sales»: клавиша 3 ведёт к шагу «x», которого нет.`},
		{Problem{Code: CodeMissingNode, Node: "m", Kind: KindMenu, Title: "Sales", Field: "choices", Args: []string{"#", "x"}},
			`The "Sales" menu: the hash key leads to "x", which does not exist.`,
			`Меню «Sales»: клавиша «решётка» ведёт к шагу «x», которого нет.`},
		{Problem{Code: CodeDeadEnd, Node: "q", Kind: KindQueue, Title: "Operators", Field: "no_answer"},
			`The "Operators" queue: nothing says what happens when nobody answers: the caller would be stuck here.`,
			`Очередь «Operators»: не указано, что будет, если никто не ответит: звонящий застрянет здесь.`},
		{Problem{Code: CodeNoPerson}, `Callers can never reach a person.`, `Звонящие никогда не смогут поговорить с человеком.`},
		{Problem{Code: CodeBadSchedule, Node: "h", Kind: KindSchedule, Title: "Hours", Field: "week.sun", Args: []string{"x"}},
			`The "Hours" schedule: the hours "x" on Sunday are not like 09:00-18:00.`,
			`Расписание «Hours»: часы «x» в воскресенье записаны не так, как 09:00-18:00.`},
		{Problem{Code: "from_the_future", Node: "z"}, `The "z" step: from_the_future`, `Шаг «z»: from_the_future`},
	} {
		if got := tt.p.Message("en"); got != tt.en {
			t.Errorf("en:\n got %s\nwant %s", got, tt.en)
		}
		if got := tt.p.Message("ru"); got != tt.ru {
			t.Errorf("ru:\n got %s\nwant %s", got, tt.ru)
		}
	}
	// Every problem of the testdata has words in both languages, not the code.
	files, _ := filepath.Glob(filepath.Join("testdata", "lint", "*.json"))
	for _, file := range files {
		for _, p := range Lint(loadFlow(t, file), testKnown) {
			en, ru := p.Message("en"), p.Message("ru")
			if en == ru || strings.Contains(en, string(p.Code)) || strings.Contains(ru, string(p.Code)) || !strings.HasSuffix(en, ".") {
				t.Errorf("%s %v: en %q, ru %q", file, p, en, ru)
			}
			if p.Title != "" && (!strings.Contains(en, p.Title) || !strings.Contains(ru, p.Title)) {
				t.Errorf("%s %v: messages do not name %q", file, p, p.Title)
			}
		}
	}
}

func BenchmarkLintDefault(b *testing.B) {
	b.ReportAllocs()
	f := Default("ru")
	for b.Loop() {
		if ps := Lint(f, testKnown); len(ps) != 0 {
			b.Fatal(ps)
		}
	}
}
