package ivr_test

import (
	"fmt"

	"hotline/voice/ivr"
)

func ExampleLint() {
	f, err := ivr.Parse([]byte(`{"start": "menu", "nodes": [
		{"id": "menu", "kind": "menu", "title": "Sales", "prompt": "menu",
		 "choices": {"1": "vm", "3": "pricing"}, "no_input": "vm"},
		{"id": "vm", "kind": "voicemail"}]}`))
	if err != nil {
		panic(err)
	}
	for _, p := range ivr.Lint(f, ivr.Known{}) {
		fmt.Println(p.Severity, p.Message("en"))
		fmt.Println(p.Severity, p.Message("ru"))
	}
	// Output:
	// error The "Sales" menu: key 3 leads to "pricing", which does not exist.
	// error Меню «Sales»: клавиша 3 ведёт к шагу «pricing», которого нет.
	// warning Callers can never reach a person.
	// warning Звонящие никогда не смогут поговорить с человеком.
}

func ExampleParse_error() {
	_, err := ivr.Parse([]byte(`{"start": "a", "nodes": [{"id": "a", "kind": "menu", "timeout": 5}]}`))
	fmt.Println(err)
	// Output:
	// flow: node 1 (id "a"): unknown field "timeout"
}
