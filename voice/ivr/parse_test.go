package ivr

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		file string
		want []string // substrings of the error; none: it parses
	}{
		{"ok.json", nil},
		{"unknown_field.json", []string{`node 2 (id "m")`, `unknown field "choises"`}},
		{"unknown_top.json", []string{`unknown field "version"`}},
		{"unknown_field_deep.json", []string{`node 1 (id "a")`, `unknown field "zone"`}},
		{"wrong_type.json", []string{`node 1 (id "m")`, `field "timeout_sec"`, "a string cannot be a whole number"}},
		{"wrong_type_deep.json", []string{`node 1 (id "s")`, `field "schedule.holidays"`, "a list"}},
		{"trailing.json", []string{"more data after"}},
		{"truncated.json", []string{"not valid JSON"}},
		{"empty.json", []string{"empty"}},
		{"array.json", []string{"an array, want an object"}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "parse", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			f, err := Parse(data)
			if tt.want == nil {
				if err != nil || f == nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", f)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	big := append([]byte(`{"start":"a","name":"`), bytes.Repeat([]byte("x"), MaxFlowBytes)...)
	big = append(big, `","nodes":[]}`...)
	if _, err := Parse(big); !errors.Is(err, ErrTooBig) {
		t.Errorf("a %d-byte flow: %v, want ErrTooBig", len(big), err)
	}
	many := []byte(`{"start":"a","nodes":[`)
	for i := range MaxNodes + 1 {
		if i > 0 {
			many = append(many, ',')
		}
		many = append(many, `{}`...)
	}
	many = append(many, "]}"...)
	if _, err := Parse(many); !errors.Is(err, ErrTooBig) {
		t.Errorf("%d nodes: %v, want ErrTooBig", MaxNodes+1, err)
	}
}

// TestExportRoundTrip: what `hotline flow export` writes, Parse reads back the same, and
// writing it again gives the same bytes.
func TestExportRoundTrip(t *testing.T) {
	ok, err := os.ReadFile(filepath.Join("testdata", "lint", "ok.json"))
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := Parse(ok)
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]*Flow{"default ru": Default("ru"), "default en": Default("en"), "ok.json": fromFile} {
		b, err := f.MarshalIndent()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(b, []byte("}\n")) || !bytes.Contains(b, []byte("\n  \"nodes\": [\n")) {
			t.Errorf("%s: not indented JSON:\n%s", name, b)
		}
		g, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: Parse of the export: %v\n%s", name, err, b)
		}
		if !reflect.DeepEqual(g, f) {
			t.Errorf("%s: round trip changed the flow:\n%+v\n%+v", name, g, f)
		}
		b2, _ := g.MarshalIndent()
		if !bytes.Equal(b, b2) {
			t.Errorf("%s: second export differs", name)
		}
	}
}
