package httpsig

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// RFC 8941 structured field values, as far as HTTP message signatures
// (RFC 9421) and Content-Digest (RFC 9530) need them: dictionaries whose
// members are items or inner lists, with parameters; bare items of every
// type. Parsing follows RFC 8941 §4.2, serialization §4.1, so a parsed
// Signature-Input member serializes back to its canonical form for the
// "@signature-params" line of the signature base.

// errSF is returned for any malformed structured field.
var errSF = errors.New("malformed structured field")

// sfKind is the type of a bare item.
type sfKind byte

const (
	sfInteger sfKind = iota + 1
	sfDecimal
	sfString
	sfToken
	sfBytes
	sfBoolean
)

// sfBare is a bare item.
type sfBare struct {
	kind sfKind
	i    int64   // integer
	d    float64 // decimal
	s    string  // string, token
	b    []byte  // byte sequence
	t    bool    // boolean
}

// sfParam is one parameter; parameters keep their order.
type sfParam struct {
	key string
	val sfBare
}

type sfParams []sfParam

// get returns a parameter's value.
func (ps sfParams) get(key string) (sfBare, bool) {
	for _, p := range ps {
		if p.key == key {
			return p.val, true
		}
	}
	return sfBare{}, false
}

// sfItem is a bare item with parameters.
type sfItem struct {
	bare   sfBare
	params sfParams
}

// sfInnerList is a parenthesised list of items with parameters.
type sfInnerList struct {
	items  []sfItem
	params sfParams
}

// sfMember is one dictionary member: an item or an inner list.
type sfMember struct {
	key   string
	item  *sfItem
	inner *sfInnerList
}

// sfDict is a dictionary, in order; a later duplicate key replaces an
// earlier one's value (RFC 8941 §4.2.2).
type sfDict []sfMember

func (d sfDict) get(key string) (sfMember, bool) {
	for _, m := range d {
		if m.key == key {
			return m, true
		}
	}
	return sfMember{}, false
}

// sfParser reads one field value.
type sfParser struct {
	s string
	i int
}

func (p *sfParser) eof() bool  { return p.i >= len(p.s) }
func (p *sfParser) peek() byte { return p.s[p.i] }

func (p *sfParser) skipSP() {
	for !p.eof() && p.peek() == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.i++
	}
}

// parseSFDictionary parses a whole field value as a dictionary.
func parseSFDictionary(s string) (sfDict, error) {
	p := &sfParser{s: s}
	p.skipSP()
	var d sfDict
	for !p.eof() {
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		m := sfMember{key: key}
		if !p.eof() && p.peek() == '=' {
			p.i++
			if !p.eof() && p.peek() == '(' {
				il, err := p.innerList()
				if err != nil {
					return nil, err
				}
				m.inner = &il
			} else {
				it, err := p.item()
				if err != nil {
					return nil, err
				}
				m.item = &it
			}
		} else {
			params, err := p.params()
			if err != nil {
				return nil, err
			}
			m.item = &sfItem{bare: sfBare{kind: sfBoolean, t: true}, params: params}
		}
		replaced := false
		for i := range d {
			if d[i].key == key {
				d[i], replaced = m, true
			}
		}
		if !replaced {
			d = append(d, m)
		}
		p.skipOWS()
		if p.eof() {
			return d, nil
		}
		if p.peek() != ',' {
			return nil, errSF
		}
		p.i++
		p.skipOWS()
		if p.eof() {
			return nil, errSF // trailing comma
		}
	}
	return d, nil
}

func (p *sfParser) innerList() (sfInnerList, error) {
	var il sfInnerList
	p.i++ // '('
	for !p.eof() {
		p.skipSP()
		if p.eof() {
			break
		}
		if p.peek() == ')' {
			p.i++
			params, err := p.params()
			if err != nil {
				return il, err
			}
			il.params = params
			return il, nil
		}
		it, err := p.item()
		if err != nil {
			return il, err
		}
		il.items = append(il.items, it)
		if p.eof() || (p.peek() != ' ' && p.peek() != ')') {
			return il, errSF
		}
	}
	return il, errSF
}

func (p *sfParser) item() (sfItem, error) {
	b, err := p.bare()
	if err != nil {
		return sfItem{}, err
	}
	params, err := p.params()
	return sfItem{bare: b, params: params}, err
}

func (p *sfParser) params() (sfParams, error) {
	var ps sfParams
	for !p.eof() && p.peek() == ';' {
		p.i++
		p.skipSP()
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		val := sfBare{kind: sfBoolean, t: true}
		if !p.eof() && p.peek() == '=' {
			p.i++
			if val, err = p.bare(); err != nil {
				return nil, err
			}
		}
		replaced := false
		for i := range ps {
			if ps[i].key == key {
				ps[i].val, replaced = val, true
			}
		}
		if !replaced {
			ps = append(ps, sfParam{key: key, val: val})
		}
	}
	return ps, nil
}

func (p *sfParser) key() (string, error) {
	if p.eof() {
		return "", errSF
	}
	c := p.peek()
	if !(c >= 'a' && c <= 'z' || c == '*') {
		return "", errSF
	}
	start := p.i
	for !p.eof() {
		c := p.peek()
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '*') {
			break
		}
		p.i++
	}
	return p.s[start:p.i], nil
}

func (p *sfParser) bare() (sfBare, error) {
	if p.eof() {
		return sfBare{}, errSF
	}
	switch c := p.peek(); {
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == '"':
		return p.str()
	case c == ':':
		return p.bytes()
	case c == '?':
		p.i++
		if p.eof() {
			return sfBare{}, errSF
		}
		switch p.peek() {
		case '1':
			p.i++
			return sfBare{kind: sfBoolean, t: true}, nil
		case '0':
			p.i++
			return sfBare{kind: sfBoolean}, nil
		}
		return sfBare{}, errSF
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '*':
		start := p.i
		p.i++
		for !p.eof() && isTokenChar(p.peek()) {
			p.i++
		}
		return sfBare{kind: sfToken, s: p.s[start:p.i]}, nil
	}
	return sfBare{}, errSF
}

// isTokenChar: tchar, ':' or '/' (RFC 8941 §3.3.4).
func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~:/", c) >= 0
}

func (p *sfParser) number() (sfBare, error) {
	start := p.i
	if p.peek() == '-' {
		p.i++
	}
	digits, dot := 0, -1
	for !p.eof() {
		c := p.peek()
		if c >= '0' && c <= '9' {
			digits++
			p.i++
			continue
		}
		if c == '.' && dot < 0 {
			dot = p.i
			p.i++
			continue
		}
		break
	}
	text := p.s[start:p.i]
	if digits == 0 {
		return sfBare{}, errSF
	}
	if dot < 0 {
		if digits > 15 {
			return sfBare{}, errSF
		}
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return sfBare{}, errSF
		}
		return sfBare{kind: sfInteger, i: n}, nil
	}
	intDigits, fracDigits := dot-start, p.i-dot-1
	if text[0] == '-' {
		intDigits--
	}
	if intDigits > 12 || fracDigits < 1 || fracDigits > 3 {
		return sfBare{}, errSF
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return sfBare{}, errSF
	}
	return sfBare{kind: sfDecimal, d: f}, nil
}

func (p *sfParser) str() (sfBare, error) {
	p.i++ // '"'
	var sb strings.Builder
	for !p.eof() {
		c := p.peek()
		p.i++
		switch {
		case c == '\\':
			if p.eof() {
				return sfBare{}, errSF
			}
			n := p.peek()
			if n != '"' && n != '\\' {
				return sfBare{}, errSF
			}
			sb.WriteByte(n)
			p.i++
		case c == '"':
			return sfBare{kind: sfString, s: sb.String()}, nil
		case c < 0x20 || c > 0x7e:
			return sfBare{}, errSF
		default:
			sb.WriteByte(c)
		}
	}
	return sfBare{}, errSF
}

func (p *sfParser) bytes() (sfBare, error) {
	p.i++ // ':'
	end := strings.IndexByte(p.s[p.i:], ':')
	if end < 0 {
		return sfBare{}, errSF
	}
	text := p.s[p.i : p.i+end]
	p.i += end + 1
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		// RFC 8941 §4.2.7 lets parsers accept missing padding.
		if b, err = base64.RawStdEncoding.DecodeString(text); err != nil {
			return sfBare{}, errSF
		}
	}
	return sfBare{kind: sfBytes, b: b}, nil
}

// serialize writes a bare item (RFC 8941 §4.1.3).
func (b sfBare) serialize(sb *strings.Builder) {
	switch b.kind {
	case sfInteger:
		sb.WriteString(strconv.FormatInt(b.i, 10))
	case sfDecimal:
		s := strconv.FormatFloat(b.d, 'f', 3, 64)
		s = strings.TrimRight(s, "0")
		if strings.HasSuffix(s, ".") {
			s += "0"
		}
		sb.WriteString(s)
	case sfString:
		sb.WriteByte('"')
		for i := 0; i < len(b.s); i++ {
			if b.s[i] == '"' || b.s[i] == '\\' {
				sb.WriteByte('\\')
			}
			sb.WriteByte(b.s[i])
		}
		sb.WriteByte('"')
	case sfToken:
		sb.WriteString(b.s)
	case sfBytes:
		sb.WriteByte(':')
		sb.WriteString(base64.StdEncoding.EncodeToString(b.b))
		sb.WriteByte(':')
	case sfBoolean:
		if b.t {
			sb.WriteString("?1")
		} else {
			sb.WriteString("?0")
		}
	}
}

// serialize writes parameters (RFC 8941 §4.1.1.2): a true boolean is the
// bare key.
func (ps sfParams) serialize(sb *strings.Builder) {
	for _, p := range ps {
		sb.WriteByte(';')
		sb.WriteString(p.key)
		if p.val.kind == sfBoolean && p.val.t {
			continue
		}
		sb.WriteByte('=')
		p.val.serialize(sb)
	}
}

// serialize writes an item with its parameters.
func (it sfItem) serialize(sb *strings.Builder) {
	it.bare.serialize(sb)
	it.params.serialize(sb)
}

// String returns the canonical serialization of an inner list.
func (il sfInnerList) String() string {
	var sb strings.Builder
	sb.WriteByte('(')
	for i, it := range il.items {
		if i > 0 {
			sb.WriteByte(' ')
		}
		it.serialize(&sb)
	}
	sb.WriteByte(')')
	il.params.serialize(&sb)
	return sb.String()
}
