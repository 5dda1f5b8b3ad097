package yamlpos

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func TestKindAndAt(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("a: [1]\nb: {c: d}\ne: ~\nf: 2.5\ng: true\nh: text\n"), &doc); err != nil {
		t.Fatal(err)
	}
	m := doc.Content[0]
	want := map[string]string{"a": "a list", "b": "a mapping", "e": "nothing (null)", "f": "a number", "g": "true/false", "h": "text"}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if got := Kind(v); got != want[k.Value] {
			t.Errorf("Kind(%s) = %q, want %q", k.Value, got, want[k.Value])
		}
	}
	if e := At(m.Content[3], "bad %s", "b"); e != (Error{Line: 2, Column: 4, Msg: "bad b"}) {
		t.Errorf("At = %+v", e)
	}
}
