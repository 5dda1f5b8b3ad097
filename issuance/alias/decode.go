package alias

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Error is a refused request body, in the shape of the API's problem
// details: Slug (SlugMalformedJSON, SlugValidationFailed,
// SlugConflictingFields), a Message that never quotes a value, and the
// fields at fault.
type Error struct {
	Slug    string
	Message string
	Fields  []FieldError
}

// FieldError is one field at fault: its JSON path, a code ("unknown",
// "invalid_type", "no_equivalent", "conflicting") and what is wrong.
type FieldError struct {
	Field   string
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Slug + ": " + e.Message }

// Decode decodes the JSON body raw into v (a pointer to a request type):
// first it renames, in every object whose Go type has a body in [Types],
// the guide names of [Bodies] to their native names and runs the
// entries' conversions (a value in a guide's shape made cardhost's); then
// it decodes strictly: unknown fields are refused, and so is anything
// after the one JSON value. What a conversion cannot settle from the body
// alone (amounts waiting for their currency, facts about a record) goes to
// v's Receive ([Receiver]) after the decode. Every refusal is an
// [*Error]; nothing is decoded into v then but what the standard decoder
// had already set.
func Decode(raw []byte, v any) error {
	t := reflect.TypeOf(v)
	body, deferred, err := rewrite(raw, t)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &Error{Slug: SlugMalformedJSON, Message: "the request body must hold exactly one JSON value"}
	}
	if len(deferred.Amounts)+len(deferred.Facts) > 0 {
		r, ok := v.(Receiver)
		if !ok {
			return fmt.Errorf("decoding %T: the alias table defers values to a type that takes none (alias.Receiver)", v)
		}
		r.Receive(deferred)
	}
	return nil
}

// rewrite returns raw with the aliases of the body types reachable from t
// renamed and their conversions run, and what the conversions defer. raw
// is returned as it is when no alias is reachable from t or none appears
// in it; malformed JSON is left to the strict decode.
func rewrite(raw []byte, t reflect.Type) ([]byte, Deferred, error) {
	keys := reachable(t)
	hit := false
	for _, k := range keys {
		if bytes.Contains(raw, []byte(`"`+k+`"`)) {
			hit = true
			break
		}
	}
	if !hit {
		return raw, Deferred{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return raw, Deferred{}, nil // the strict decode reports it
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		// Re-encoding the first value would drop what follows it.
		return nil, Deferred{}, &Error{Slug: SlugMalformedJSON, Message: "the request body must hold exactly one JSON value"}
	}
	w := walker{}
	doc = w.value(doc, t, "")
	if len(w.conflicts) > 0 {
		return nil, Deferred{}, &Error{Slug: SlugConflictingFields, Message: "the body names a field twice, under cardhost's name and a guide's (docs/api.md \"Guide field names\"): send one", Fields: w.conflicts}
	}
	if len(w.none) > 0 {
		return nil, Deferred{}, &Error{Slug: SlugValidationFailed, Message: "the request has guide fields cardhost has no equivalent for or cannot convert", Fields: w.none}
	}
	if !w.changed {
		return raw, Deferred{}, nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, Deferred{}, fmt.Errorf("re-encoding the body: %w", err)
	}
	return out, w.deferred, nil
}

// walker renames aliases in a decoded document and runs their
// conversions, following the Go type the document will be decoded into.
type walker struct {
	changed   bool
	conflicts []FieldError
	none      []FieldError // no equivalent, or a value a conversion refused
	deferred  Deferred
}

func (w *walker) value(v any, t reflect.Type, path string) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return v
		}
		w.object(obj, t, path)
		for name, ft := range fieldsOf(t) {
			if fv, ok := obj[name]; ok {
				obj[name] = w.value(fv, ft, path+name+".")
			}
		}
	case reflect.Slice, reflect.Array:
		arr, ok := v.([]any)
		if !ok {
			return v
		}
		prefix := strings.TrimSuffix(path, ".")
		for i := range arr {
			arr[i] = w.value(arr[i], t.Elem(), prefix+"["+strconv.Itoa(i)+"].")
		}
	}
	return v
}

// object renames the aliases of t's body in obj, in name order.
func (w *walker) object(obj map[string]any, t reflect.Type, path string) {
	table := Bodies[Types[t.String()]]
	names := make([]string, 0, len(table))
	for name := range table {
		if _, ok := obj[name]; ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var dialects []map[string]*Conversion
	for _, name := range names {
		e := table[name]
		if e.Native == "" {
			if e.Convert == nil {
				w.none = append(w.none, FieldError{Field: path + name, Code: "no_equivalent", Message: e.Note})
				continue
			}
			e.Convert.apply(w, obj, name, paths{sent: path + name, native: path + name})
			w.changed = true
			continue
		}
		if other, ok := hasKey(obj, e.Native); ok {
			w.conflicts = append(w.conflicts, FieldError{Field: path + name, Code: "conflicting",
				Message: "the " + e.Guides + " name of " + path + e.Native + ", which the body also gives as " + path + other})
			continue
		}
		obj[e.Native] = obj[name]
		delete(obj, name)
		w.changed = true
		if e.Convert != nil {
			e.Convert.apply(w, obj, e.Native, paths{sent: path + name, native: path + e.Native})
		}
		if e.Dialect != nil {
			dialects = append(dialects, e.Dialect)
		}
	}
	// The guide's shapes of native fields, once every name is cardhost's.
	for _, d := range dialects {
		fields := make([]string, 0, len(d))
		for f := range d {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			w.dialect(obj, strings.Split(f, "."), path, d[f])
		}
	}
}

// dialect runs c on the value at the JSON path segs of obj ("x[]" is each
// element of the array x), when the body has it.
func (w *walker) dialect(obj map[string]any, segs []string, path string, c *Conversion) {
	name, each := strings.CutSuffix(segs[0], "[]")
	v, ok := obj[name]
	if !ok {
		return
	}
	if len(segs) == 1 {
		c.apply(w, obj, name, paths{sent: path + name, native: path + name})
		return
	}
	if !each {
		if child, ok := v.(map[string]any); ok {
			w.dialect(child, segs[1:], path+name+".", c)
		}
		return
	}
	arr, _ := v.([]any)
	for i, el := range arr {
		if child, ok := el.(map[string]any); ok {
			w.dialect(child, segs[1:], path+name+"["+strconv.Itoa(i)+"].", c)
		}
	}
}

// hasKey finds key in obj as encoding/json matches it: exactly or
// without regard to case.
func hasKey(obj map[string]any, key string) (string, bool) {
	if _, ok := obj[key]; ok {
		return key, true
	}
	for k := range obj {
		if strings.EqualFold(k, key) {
			return k, true
		}
	}
	return "", false
}

var (
	fieldCache     sync.Map // reflect.Type -> map[string]reflect.Type
	reachableCache sync.Map // reflect.Type -> []string
	unmarshaler    = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
)

// fieldsOf returns the JSON fields of struct type t whose values may hold
// objects (structs, pointers, slices and arrays of them), by JSON name,
// embedded structs flattened as encoding/json does. Types that decode
// themselves (json.Unmarshaler) are opaque.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	if reflect.PointerTo(t).Implements(unmarshaler) {
		fieldCache.Store(t, out)
		return out
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for n, nt := range fieldsOf(ft) {
					out[n] = nt
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = ft
	}
	fieldCache.Store(t, out)
	return out
}

// reachable lists the alias names of every body type reachable from t.
func reachable(t reflect.Type) []string {
	if k, ok := reachableCache.Load(t); ok {
		return k.([]string)
	}
	seen := map[reflect.Type]bool{}
	var keys []string
	var visit func(reflect.Type)
	visit = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for name := range Bodies[Types[t.String()]] {
			keys = append(keys, name)
		}
		for _, ft := range fieldsOf(t) {
			visit(ft)
		}
	}
	visit(t)
	sort.Strings(keys)
	reachableCache.Store(t, keys)
	return keys
}

// jsonError turns a decoding error into a refusal without echoing
// request content (which may hold card data).
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &Error{Slug: SlugMalformedJSON, Message: fmt.Sprintf("malformed JSON at byte %d", syn.Offset)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Slug: SlugMalformedJSON, Message: "the request body is empty or truncated"}
	case errors.As(err, &typ):
		field := jsonPath(typ.Field)
		if field == "" {
			field = "(body)"
		}
		return &Error{Slug: SlugValidationFailed, Message: "the request has invalid fields",
			Fields: []FieldError{{Field: field, Code: "invalid_type", Message: "must be " + jsonTypeName(typ.Type.Kind().String())}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &Error{Slug: SlugValidationFailed, Message: "the request has invalid fields",
			Fields: []FieldError{{Field: name, Code: "unknown", Message: "unknown field"}}}
	default:
		return &Error{Slug: SlugMalformedJSON, Message: "malformed JSON"}
	}
}

// jsonPath is a decoding error's field path without the Go names of
// embedded structs (issuance.CardRequest embeds lifecycle.Request), which
// encoding/json puts in it: JSON names here are lower-case.
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	out := parts[:0]
	for _, p := range parts {
		if p != "" && (p[0] < 'A' || p[0] > 'Z') {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}

func jsonTypeName(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer"
	case strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "bool":
		return "a boolean"
	case kind == "string":
		return "a string"
	case kind == "slice", kind == "array":
		return "an array"
	case kind == "map", kind == "struct":
		return "an object"
	}
	return "a valid value"
}
