package ivr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits of a flow that Parse accepts. A hotline's flow has tens of nodes; these bound the work
// of the linter and the editor on a hostile or broken file.
const (
	MaxFlowBytes = 256 << 10
	MaxNodes     = 500
)

// ErrTooBig is wrapped by Parse for a flow over MaxFlowBytes or MaxNodes.
var ErrTooBig = errors.New("flow too big")

// Parse reads a flow from JSON, strictly: unknown fields, trailing data, a wrong type and a file
// over MaxFlowBytes are refused with an error that names the node (by position and id) and the
// field. Parse checks the form only; Lint checks whether the flow makes sense.
func Parse(data []byte) (*Flow, error) {
	if len(data) > MaxFlowBytes {
		return nil, fmt.Errorf("flow: %d bytes, at most %d: %w", len(data), MaxFlowBytes, ErrTooBig)
	}
	var top struct {
		Name  string            `json:"name"`
		Start string            `json:"start"`
		Nodes []json.RawMessage `json:"nodes"`
	}
	if err := decodeStrict(data, &top); err != nil {
		return nil, fmt.Errorf("flow: %w", err)
	}
	if len(top.Nodes) > MaxNodes {
		return nil, fmt.Errorf("flow: %d nodes, at most %d: %w", len(top.Nodes), MaxNodes, ErrTooBig)
	}
	f := &Flow{Name: top.Name, Start: top.Start, Nodes: make([]Node, len(top.Nodes))}
	for i, raw := range top.Nodes {
		if err := decodeStrict(raw, &f.Nodes[i]); err != nil {
			return nil, fmt.Errorf("flow: node %d%s: %w", i+1, idOf(raw), err)
		}
	}
	return f, nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and anything after it,
// and words the errors of encoding/json by field.
func decodeStrict(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field == "":
			return fmt.Errorf("%s, want %s", article(te.Value), typeWord(te.Type.Kind().String()))
		case errors.As(err, &te):
			return fmt.Errorf("field %q: %s cannot be %s", te.Field, article(te.Value), typeWord(te.Type.Kind().String()))
		case errors.As(err, &se):
			return fmt.Errorf("not valid JSON at byte %d: %w", se.Offset, err)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return errors.New("not valid JSON: it ends too early")
		case errors.Is(err, io.EOF):
			return errors.New("empty, want a JSON object")
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return fmt.Errorf("unknown field %s", f)
		}
		return err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return errors.New("more data after the JSON object")
	}
	return nil
}

// article puts "a" or "an" before a JSON type name.
func article(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

func typeWord(kind string) string {
	switch kind {
	case "int", "int64":
		return "a whole number"
	case "string":
		return "text"
	case "map", "struct", "ptr":
		return "an object"
	case "slice":
		return "a list"
	case "bool":
		return "true or false"
	}
	return kind
}

// idOf names a node by the id it carries, if it can be read.
func idOf(raw json.RawMessage) string {
	var n struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(raw, &n) != nil {
		return ""
	}
	if s, ok := n.ID.(string); ok && s != "" {
		return fmt.Sprintf(" (id %q)", s)
	}
	return ""
}

// MarshalIndent returns the flow as indented JSON ending in a newline, in the form Parse reads:
// fields in a fixed order, map keys sorted, empty fields left out, so that an exported flow is
// stable and diffs well.
func (f *Flow) MarshalIndent() ([]byte, error) {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("flow: %w", err)
	}
	return append(b, '\n'), nil
}
