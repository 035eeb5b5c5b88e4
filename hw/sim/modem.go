package sim

import (
	"context"
	"fmt"
	"strings"
)

// Kinds are the dialects a simulated modem can speak, as New names them.
var Kinds = []string{"quectel", "simcom", "huawei", "fxo"}

// Modem is a simulated modem of any dialect.
type Modem interface {
	ATPath() string
	AudioPath() string
	Run(ctx context.Context) error
	Close() error
	Call(ctx context.Context, c Caller) (Result, error)
}

// New makes a simulated modem of kind (one of Kinds; "" is quectel).
func New(kind string, opts Options) (Modem, error) {
	switch kind {
	case "", "quectel":
		return NewEC25(opts)
	case "simcom":
		return NewSIM7600(opts)
	case "huawei":
		return NewHuawei(opts)
	case "fxo":
		return NewFXO(opts)
	}
	return nil, fmt.Errorf("unknown kind of simulated modem %q (known: %s)", kind, strings.Join(Kinds, ", "))
}
