package ivr

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// byteEnv is a caller and a box driven by fuzz bytes, taking no time: each chance to press a key
// and each Connect takes the next byte. It counts the inputs that can move a call on (keys and
// people answering), which bound how long a lint-clean flow can go.
type byteEnv struct {
	data   []byte
	cancel context.CancelFunc
	inputs int
}

func (e *byteEnv) next() (byte, bool) {
	if len(e.data) == 0 {
		return 0, false
	}
	b := e.data[0]
	e.data = e.data[1:]
	return b, true
}

func (e *byteEnv) key(ctx context.Context) (byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	b, ok := e.next()
	switch {
	case !ok || b >= 0xc0:
		return 0, nil
	case b == 0xbf:
		e.cancel()
		return 0, ctx.Err()
	}
	e.inputs++
	return "0123456789*#"[b%12], nil
}

func (e *byteEnv) Logger() *slog.Logger   { return slog.New(slog.DiscardHandler) }
func (e *byteEnv) Now() time.Time         { return mondayNoon }
func (e *byteEnv) ClosedOverride() string { return "" }
func (e *byteEnv) SetLanguage(string)     {}
func (e *byteEnv) Play(ctx context.Context, _ string, bargeIn bool) (byte, error) {
	if !bargeIn {
		return 0, ctx.Err()
	}
	return e.key(ctx)
}
func (e *byteEnv) WaitKey(ctx context.Context, _ time.Duration) (byte, error) { return e.key(ctx) }
func (e *byteEnv) Connect(ctx context.Context, c Connect) (Connected, error) {
	b, _ := e.next()
	switch b % 4 {
	case 1:
		e.inputs++
		return Connected{Answered: true, By: "anna", Wait: time.Second, Talk: time.Second}, ctx.Err()
	case 2:
		e.inputs++
		return Connected{Left: true}, ctx.Err()
	case 3:
		e.cancel()
	}
	return Connected{}, ctx.Err()
}
func (e *byteEnv) Voicemail(ctx context.Context, _ string, _ time.Duration) error { return ctx.Err() }
func (e *byteEnv) Callback(ctx context.Context) error                             { return ctx.Err() }
func (e *byteEnv) SMS(ctx context.Context, _ string) error                        { return ctx.Err() }
func (e *byteEnv) Survey(ctx context.Context, _ int) error                        { return ctx.Err() }

// FuzzParseLintRun: Parse, Lint and Run never panic; an export reads back the same; and a flow
// that passes Lint ends without the interpreter stepping in, within a number of steps bounded
// by what the caller did.
func FuzzParseLintRun(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte("0\x01"))
	}
	def, _ := Default("ru").MarshalIndent()
	f.Add(def, []byte("\xc0\xc0\x01\x01\x01\x00\x04"))
	f.Add(def, []byte("\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"))
	f.Add(def, []byte("\x00\x03"))
	f.Fuzz(func(t *testing.T, data, caller []byte) {
		fl, err := Parse(data)
		if err != nil {
			return
		}
		exported, err := fl.MarshalIndent()
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(exported)
		if err != nil {
			t.Fatalf("the export does not parse: %v\n%s", err, exported)
		}
		if b, _ := again.MarshalIndent(); !bytes.Equal(b, exported) {
			t.Fatalf("export changed on the way back:\n%s\n%s", exported, b)
		}
		problems := Lint(fl, testKnown)
		for _, p := range problems {
			if p.Message("ru") == "" || p.Message("en") == "" {
				t.Fatalf("%v: no message", p)
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		e := &byteEnv{data: caller, cancel: cancel}
		r := Run(ctx, fl, e)
		if r.Outcome == "" || len(r.Path) > MaxSteps {
			t.Fatalf("result %+v", r)
		}
		if HasErrors(problems) {
			return
		}
		if r.Fallback != "" && !strings.Contains(r.Fallback, "steps") {
			t.Fatalf("a lint-clean flow fell back: %s, path %v", r.Fallback, r.Path)
		}
		// Between two inputs a lint-clean flow visits each node at most once.
		if bound := (e.inputs + 1) * len(fl.Nodes); len(r.Path) > bound {
			t.Fatalf("%d steps with %d inputs over %d nodes: %v", len(r.Path), e.inputs, len(fl.Nodes), r.Path)
		}
		if r.Outcome == OutcomeFailed {
			t.Fatalf("failed with an Env that never fails: %+v", r)
		}
	})
}
