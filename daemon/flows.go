package daemon

import (
	"context"
	"fmt"
	"path/filepath"

	"hotline/daemon/custom"
	"hotline/daemon/store"
	"hotline/voice/ivr"
	"hotline/voice/prompts"
)

// FlowProblems is a flow the linter refused, with its words for the owner.
type FlowProblems struct {
	Problems []ivr.Problem
}

func (e *FlowProblems) Error() string {
	msg := "the flow was not saved:"
	for _, p := range e.Problems {
		if p.Severity == ivr.SeverityError {
			msg += " " + p.Message("en") + ";"
		}
	}
	return msg
}

// Known is what flows may name on this box: its operators and prompts (the box's own and the
// owner's recordings in every language).
func Known(ctx context.Context, st *store.Store) (ivr.Known, error) {
	ops, err := st.Operators(ctx)
	if err != nil {
		return ivr.Known{}, err
	}
	own := custom.Prompts{Dir: filepath.Join(st.Dir(), custom.PromptDir)}
	k := ivr.Known{Prompt: func(name string) bool {
		return promptExists(name) || own.HasAll(name, prompts.Languages())
	}}
	for _, o := range ops {
		k.Operators = append(k.Operators, o.Name)
	}
	return k, nil
}

// promptExists reports whether a prompt is there in every language the box speaks.
func promptExists(name string) bool {
	for _, lang := range prompts.Languages() {
		if _, err := prompts.Load(lang, name); err != nil {
			return false
		}
	}
	return true
}

// SaveFlow checks data (a flow as JSON) and stores it as the newest version. A flow with
// errors is refused with *FlowProblems; warnings are returned with the new version.
func SaveFlow(ctx context.Context, st *store.Store, data []byte, by, comment string) (int64, []ivr.Problem, error) {
	f, err := ivr.Parse(data)
	if err != nil {
		return 0, nil, err
	}
	k, err := Known(ctx, st)
	if err != nil {
		return 0, nil, err
	}
	problems := ivr.Lint(f, k)
	if ivr.HasErrors(problems) {
		return 0, problems, &FlowProblems{Problems: problems}
	}
	clean, err := f.MarshalIndent()
	if err != nil {
		return 0, nil, fmt.Errorf("save flow: %w", err)
	}
	v, err := st.SaveFlow(ctx, clean, by, comment)
	if err != nil {
		return 0, nil, err
	}
	_ = st.Audit(ctx, by, "flow saved", fmt.Sprintf("version %d", v))
	return v, problems, nil
}
