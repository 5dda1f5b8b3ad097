package scenario

import (
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cardhost/cardhost/cmd/internal/yamlpos"
)

// A strict decoder from yaml.v3 nodes into Go values, for scenario files:
// every mapping key must name a field (by its yaml tag), every value must
// have the field's type, a key may appear once, and each mistake is
// reported with the line and column of the node at fault. yaml.v3's own
// KnownFields check exists only on its Decoder, stops at the first
// mistake and cannot say where a value came from; this one collects all
// mistakes and lets the caller keep positions (struct fields named Line
// and Column with tag `yaml:"-"` receive the position of the mapping they
// were decoded from).

// posError is one mistake at a position of a file.
type posError = yamlpos.Error

// nodeDecoder is implemented by types that decode themselves from a node
// (for example an ordered mapping), reporting mistakes through d.
type nodeDecoder interface {
	decodeNode(d *strictDecoder, n *yaml.Node)
}

type strictDecoder struct {
	errs []posError
}

func (d *strictDecoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, yamlpos.At(n, format, args...))
}

var durationType = reflect.TypeOf(time.Duration(0))

// kindName describes a node for messages ("a list", "text"...).
var kindName = yamlpos.Kind

// decode decodes n into v (a settable value).
func (d *strictDecoder) decode(n *yaml.Node, v reflect.Value) {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if v.CanAddr() {
		if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
			nd.decodeNode(d, n)
			return
		}
	}
	if v.Type() == durationType {
		dur, err := time.ParseDuration(n.Value)
		if n.Kind != yaml.ScalarNode || err != nil {
			d.errorf(n, "want a duration such as 500ms or 2s, got %s", kindName(n))
			return
		}
		v.SetInt(int64(dur))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.Tag == "!!null" {
			return
		}
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem())
		v.Set(p)
	case reflect.Struct:
		d.decodeStruct(n, v)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, "want a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i))
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			d.errorf(n, "want text, got %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.errorf(n, "want a whole number, got %s", kindName(n))
			return
		}
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			d.errorf(n, "want a whole number")
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.errorf(n, "want true or false, got %s", kindName(n))
			return
		}
		v.SetBool(n.Value == "true" || n.Value == "True" || n.Value == "TRUE")
	default:
		d.errorf(n, "cannot decode into %s", v.Type())
	}
}

// decodeStruct decodes a mapping into a struct by yaml tags.
func (d *strictDecoder) decodeStruct(n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "want a mapping (key: value), got %s", kindName(n))
		return
	}
	t := v.Type()
	fields := map[string]int{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "-" && f.Type.Kind() == reflect.Int && (f.Name == "Line" || f.Name == "Column") {
			if f.Name == "Line" {
				v.Field(i).SetInt(int64(n.Line))
			} else {
				v.Field(i).SetInt(int64(n.Column))
			}
			continue
		}
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		fields[tag] = i
		names = append(names, tag)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		idx, ok := fields[k.Value]
		switch {
		case !ok:
			d.errorf(k, "unknown key %q (known here: %s)", k.Value, strings.Join(names, ", "))
			continue
		case seen[k.Value]:
			d.errorf(k, "key %q given twice", k.Value)
			continue
		}
		seen[k.Value] = true
		d.decode(val, v.Field(idx))
	}
}

// keysOf returns the keys of a mapping node in order, with their nodes.
func keysOf(n *yaml.Node) (keys []*yaml.Node, vals []*yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		keys = append(keys, n.Content[i])
		vals = append(vals, n.Content[i+1])
	}
	return keys, vals
}
