package seedwalk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// predefined are the variables the runner sets before a walk starts.
var predefined = map[string]string{
	"tenant_id":              "the walk's tenant",
	"signing_key_id":         "the keyid of the walk's signing key",
	"signing_public_key_pem": "the walk's signing public key (PEM), to register with PUT /v1/tenant/signing-key",
	"csr":                    "a PKCS #10 request (base64 DER) for the walk's issuer P-256 key, made once per walk",
}

// generators are the ${name:argument} forms.
var generators = map[string]string{
	"uuid":      "${uuid:label}: a random UUID, the same for one label within a walk (an idempotency key sent twice)",
	"time":      "${time:+90d}: now plus a duration (d, h, m, s), RFC 3339 UTC",
	"pin_block": "${pin_block:format4:1234} / ${pin_block:format0:1234}: the PIN enciphered as the guide says, under the key agreed with the HSM key captured as hsm_public_key_pem",
}

// checkVariable says whether ${name} can be resolved when it is used.
func checkVariable(name string, known map[string]bool) error {
	if gen, arg, ok := strings.Cut(name, ":"); ok {
		if _, ok := generators[gen]; !ok {
			return fmt.Errorf("${%s}: unknown generator %q (known: uuid, time, pin_block)", name, gen)
		}
		if arg == "" {
			return fmt.Errorf("${%s}: %s", name, generators[gen])
		}
		if gen == "time" {
			if _, err := offset(arg); err != nil {
				return fmt.Errorf("${%s}: %v", name, err)
			}
		}
		if gen == "pin_block" {
			f, pin, _ := strings.Cut(arg, ":")
			if (f != "format0" && f != "format4") || len(pin) < 4 || len(pin) > 12 {
				return fmt.Errorf("${%s}: %s", name, generators[gen])
			}
			if !known["hsm_public_key_pem"] {
				return fmt.Errorf("${%s}: no earlier step captures hsm_public_key_pem", name)
			}
		}
		return nil
	}
	if !known[name] {
		return fmt.Errorf("${%s}: no earlier step captures %s (and it is not one of the runner's variables)", name, name)
	}
	return nil
}

// offset parses "+90d", "+36h", "-5m".
func offset(s string) (time.Duration, error) {
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') {
		return 0, fmt.Errorf("want an offset such as +90d or +2h, got %q", s)
	}
	unit := map[byte]time.Duration{'d': 24 * time.Hour, 'h': time.Hour, 'm': time.Minute, 's': time.Second}[s[len(s)-1]]
	n, err := strconv.Atoi(s[1 : len(s)-1])
	if unit == 0 || err != nil {
		return 0, fmt.Errorf("want an offset such as +90d or +2h, got %q", s)
	}
	d := time.Duration(n) * unit
	if s[0] == '-' {
		d = -d
	}
	return d, nil
}

// pathSeg is one segment of a path into a JSON answer: a key, an index,
// or a selection of the first element of a list whose field has a value.
type pathSeg struct {
	key       string
	index     int // -1 when not an index
	selField  string
	selValue  string
	selection bool
}

// parsePath reads "data[name=UnionPay Classic].id", "errors[0].field",
// "card_id". Values in a selection may hold ${variables}.
func parsePath(p string) ([]pathSeg, error) {
	if p == "" {
		return nil, fmt.Errorf("empty path")
	}
	var segs []pathSeg
	i := 0
	for i < len(p) {
		switch p[i] {
		case '.':
			if i == 0 || i == len(p)-1 {
				return nil, fmt.Errorf("path %q: a dot must sit between two names", p)
			}
			i++
		case '[':
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("path %q: [ without ]", p)
			}
			inner := p[i+1 : i+end]
			i += end + 1
			if f, v, ok := strings.Cut(inner, "="); ok {
				if f == "" {
					return nil, fmt.Errorf("path %q: [field=value] needs a field", p)
				}
				segs = append(segs, pathSeg{selField: f, selValue: v, selection: true, index: -1})
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("path %q: [%s] is neither an index nor field=value", p, inner)
			}
			segs = append(segs, pathSeg{index: n})
		default:
			j := i
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			segs = append(segs, pathSeg{key: p[i:j], index: -1})
			i = j
		}
	}
	return segs, nil
}

// Lookup finds path in a decoded JSON value (decoded with UseNumber).
func Lookup(v any, path string) (any, bool) {
	segs, err := parsePath(path)
	if err != nil {
		return nil, false
	}
	for _, s := range segs {
		switch {
		case s.key != "":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[s.key]; !ok {
				return nil, false
			}
		case s.selection:
			l, ok := v.([]any)
			if !ok {
				return nil, false
			}
			found := false
			for _, e := range l {
				m, ok := e.(map[string]any)
				if !ok {
					continue
				}
				if x, ok := m[s.selField]; ok && scalarText(x) == s.selValue {
					v, found = e, true
					break
				}
			}
			if !found {
				return nil, false
			}
		default:
			l, ok := v.([]any)
			if !ok || s.index >= len(l) {
				return nil, false
			}
			v = l[s.index]
		}
	}
	return v, true
}

// scalarText is a JSON scalar as text ("" for objects and lists).
func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// decodeJSON decodes with numbers kept as json.Number.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// jsonEqual compares two decoded JSON values; numbers compare by value.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		fx, e1 := x.Float64()
		fy, e2 := y.Float64()
		return e1 == nil && e2 == nil && fx == fy
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}
