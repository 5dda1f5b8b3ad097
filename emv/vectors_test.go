package emv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vectorFile is the layout of every file in testdata/vectors: a header
// naming the algorithm and the published sources, then the vectors, each
// naming its source.
type vectorFile[T any] struct {
	Algorithm string                       `json:"algorithm"`
	Sources   map[string]map[string]string `json:"sources"`
	Vectors   []T                          `json:"vectors"`
}

// sourced is embedded by every vector type.
type sourced struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

func (s sourced) label() string { return s.Name + " [" + s.Source + "]" }

// forVectors runs check on every vector of a testdata/vectors file, each as
// a subtest named by the vector and its source.
func forVectors[T interface {
	cite() sourced
	label() string
}](t *testing.T, name string, check func(t *testing.T, v T)) {
	for _, v := range loadVectors[T](t, name) {
		t.Run(v.label(), func(t *testing.T) { check(t, v) })
	}
}

// loadVectors reads ../testdata/vectors/<name> and checks that the file
// names its sources and that every vector cites one of them.
func loadVectors[T interface{ cite() sourced }](t testing.TB, name string) []T {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "vectors", name))
	if err != nil {
		t.Fatalf("reading vectors: %v", err)
	}
	var f vectorFile[T]
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	if f.Algorithm == "" || len(f.Sources) == 0 || len(f.Vectors) == 0 {
		t.Fatalf("%s: header (algorithm, sources) and vectors are required", name)
	}
	for _, src := range f.Sources {
		if src["document"] == "" && src["repository"] == "" {
			t.Fatalf("%s: every source must name a document or a repository", name)
		}
	}
	for _, v := range f.Vectors {
		c := v.cite()
		if c.Name == "" {
			t.Fatalf("%s: vector without a name", name)
		}
		if _, ok := f.Sources[c.Source]; !ok {
			t.Fatalf("%s: vector %q cites unknown source %q", name, c.Name, c.Source)
		}
	}
	return f.Vectors
}

func (s sourced) cite() sourced { return s }

// mustHex decodes test hex or fails the test.
func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := DecodeHex(s)
	if err != nil {
		t.Fatalf("test vector hex: %v", err)
	}
	return b
}

// hexPrefix reports whether got (bytes) starts with the hex digits want:
// published values are often truncated (2-byte KCVs, 4-byte MACs).
func hexPrefix(got []byte, want string) bool {
	return len(want) > 0 && len(want) <= 2*len(got) && strings.HasPrefix(EncodeHex(got), strings.ToUpper(want))
}
