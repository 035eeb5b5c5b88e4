package ivr

import (
	"slices"

	"hotline/voice/prompts"
)

// testKnown is a box with two operators, the default prompts and an uploaded "music".
var testKnown = Known{
	Operators: []string{"anna", "boris"},
	Prompt: func(name string) bool {
		return name == "music" || slices.Contains(prompts.Names(), name)
	},
}
