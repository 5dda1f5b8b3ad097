package seedwalk

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cardhost/cardhost/cmd/internal/yamlpos"
)

// Walk is one seed guide as a walk file: setup (what the guide assumes
// already exists, in cardhost's own API) and the guide's steps.
type Walk struct {
	File  string // the file it was read from, for messages
	Seed  string // the seed's short name: qpay, offblocks, uqpay, pismo, pintopay
	Guide string // the guide file in shared/reference/seeds
	Title string
	// Tenant is "sandbox" (the tenant cardhost seeds at its first start)
	// or "new" (a sandbox tenant of its own, made for the walk).
	Tenant string
	// Signing names the key a tenant that signs its requests uses:
	// "ecdsa-p384", "ecdsa-p256", "ed25519", or "" for none.
	Signing string
	Setup   []Step
	Steps   []Step
}

// Step is one request of a walk (or, in setup, one cardhost CLI command).
type Step struct {
	Line int    // the step's line in the walk file
	Name string // what the guide calls it ("Step 6 — Create a card product")
	// Native marks a request in cardhost's own API: every setup step, and
	// guide-less checks of what the guide says happens. Guide requests are
	// mapped by the path mapping table.
	Native bool
	// Note says how the step departs from the guide's literal text and
	// why (a guide example date that has passed, a path the capture lost).
	Note string
	// Pending names what cardhost lacks for the step to pass (a feature,
	// an issue): the step still runs with the guide's expectations, a
	// failure is reported as pending, and a pass is an error (the marker
	// must go). Empty for every step expected to pass.
	Pending string
	CLI     []string // a cardhost CLI command (setup only) instead of a request
	Method  string
	Path    string
	Headers []Header
	// Body is the request body as written (nil: no body); strings may hold
	// ${variables}, substituted when the step runs.
	Body *yaml.Node
	Sign bool // sign the request (RFC 9421) with the walk's signing key
	// Eventually repeats the request until the expectations hold, for at
	// most this long (what a guide says happens "shortly after").
	Eventually time.Duration
	Expect     Expect
	Capture    []Capture

	lines map[string]int // the line of each key of the step, for messages
}

// Header is one request header, in the order written.
type Header struct{ Name, Value string }

// Capture keeps a value of the answer under a variable name for later
// steps: From is a path into the JSON answer (see [Lookup]).
type Capture struct {
	Var, From string
	Line      int
}

// Expect is what the guide says the answer is.
type Expect struct {
	Status  int
	Slug    string   // the problem slug of an error answer
	Headers []Header // answer headers that must have these values
	Equal   []PathValue
	Present []string // paths that must exist (and not be null)
	Absent  []string // paths that must not exist (or be null)
	Match   []PathValue
}

// PathValue pairs a path into the answer with the value (Equal: a YAML
// value compared as JSON; Match: a regular expression) it must have.
type PathValue struct {
	Path  string
	Value *yaml.Node
	Line  int
}

// WalkError lists the mistakes of a walk or mapping file, each with its
// line and column.
type WalkError struct {
	File   string
	Errors []PosError
}

// PosError is one mistake at a position of a file.
type PosError = yamlpos.Error

func (e *WalkError) Error() string {
	var b strings.Builder
	for i, p := range e.Errors {
		if i > 0 {
			b.WriteByte('\n')
		}
		if p.Column > 0 {
			fmt.Fprintf(&b, "%s:%d:%d: %s", e.File, p.Line, p.Column, p.Msg)
		} else {
			fmt.Fprintf(&b, "%s:%d: %s", e.File, p.Line, p.Msg)
		}
	}
	return b.String()
}

// decoder collects mistakes with their positions.
type decoder struct{ errs []PosError }

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, yamlpos.At(n, format, args...))
}

// kindName describes a node for messages ("a list", "text"...).
var kindName = yamlpos.Kind

// fields walks a mapping node, calling the handler of each key; unknown
// keys, keys given twice and missing required keys are mistakes.
func (d *decoder) fields(n *yaml.Node, what string, handlers map[string]func(v *yaml.Node), required ...string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: want a mapping (key: value), got %s", what, kindName(n))
		return
	}
	var known []string
	for k := range handlers {
		known = append(known, k)
	}
	sort.Strings(known)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		h, ok := handlers[k.Value]
		switch {
		case !ok:
			d.errorf(k, "%s: unknown key %q (known: %s)", what, k.Value, strings.Join(known, ", "))
			continue
		case seen[k.Value]:
			d.errorf(k, "%s: key %q given twice", what, k.Value)
			continue
		}
		seen[k.Value] = true
		h(v)
	}
	for _, r := range required {
		if !seen[r] {
			d.errorf(n, "%s: %q is required", what, r)
		}
	}
}

func (d *decoder) str(n *yaml.Node, what string, into *string) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, "%s: want text, got %s", what, kindName(n))
		return
	}
	*into = n.Value
}

func (d *decoder) boolean(n *yaml.Node, what string, into *bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		d.errorf(n, "%s: want true or false, got %s", what, kindName(n))
		return
	}
	*into = n.Value == "true"
}

func (d *decoder) strList(n *yaml.Node, what string, into *[]string) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: want a list, got %s", what, kindName(n))
		return
	}
	for _, c := range n.Content {
		var s string
		d.str(c, what, &s)
		*into = append(*into, s)
	}
}

// pairs reads a mapping of text values in order.
func (d *decoder) pairs(n *yaml.Node, what string, each func(k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: want a mapping, got %s", what, kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if seen[k.Value] {
			d.errorf(k, "%s: key %q given twice", what, k.Value)
			continue
		}
		seen[k.Value] = true
		each(k, n.Content[i+1])
	}
}

func (d *decoder) headers(n *yaml.Node, what string) []Header {
	var hs []Header
	d.pairs(n, what, func(k, v *yaml.Node) {
		var s string
		d.str(v, what+" "+k.Value, &s)
		hs = append(hs, Header{Name: k.Value, Value: s})
	})
	return hs
}

var (
	methodRE = regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE)$`)
	seedRE   = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	varRE    = regexp.MustCompile(`\$\{([^}]*)\}`)
	nameRE   = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// ParseWalk reads a walk file strictly: every mistake is reported with
// its line and column, all of them at once.
func ParseWalk(file string, data []byte) (*Walk, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &WalkError{File: file, Errors: []PosError{{Line: yamlErrLine(err), Msg: "not valid YAML: " + err.Error()}}}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, &WalkError{File: file, Errors: []PosError{{Line: 1, Msg: "empty walk file"}}}
	}
	d := &decoder{}
	w := &Walk{File: file}
	top := root.Content[0]
	d.fields(top, "walk", map[string]func(*yaml.Node){
		"seed":    func(v *yaml.Node) { d.str(v, "seed", &w.Seed) },
		"guide":   func(v *yaml.Node) { d.str(v, "guide", &w.Guide) },
		"title":   func(v *yaml.Node) { d.str(v, "title", &w.Title) },
		"tenant":  func(v *yaml.Node) { d.str(v, "tenant", &w.Tenant) },
		"signing": func(v *yaml.Node) { d.str(v, "signing", &w.Signing) },
		"setup":   func(v *yaml.Node) { w.Setup = d.steps(v, "setup", true) },
		"steps":   func(v *yaml.Node) { w.Steps = d.steps(v, "steps", false) },
	}, "seed", "guide", "title", "tenant", "steps")
	if w.Seed != "" && !seedRE.MatchString(w.Seed) {
		d.errorf(top, "seed: %q is not a short lower-case name", w.Seed)
	}
	if w.Tenant != "" && w.Tenant != "sandbox" && w.Tenant != "new" {
		d.errorf(top, "tenant: want sandbox or new, got %q", w.Tenant)
	}
	switch w.Signing {
	case "", "ecdsa-p384", "ecdsa-p256", "ed25519":
	default:
		d.errorf(top, "signing: want ecdsa-p384, ecdsa-p256 or ed25519, got %q", w.Signing)
	}
	d.checkVariables(w)
	if len(d.errs) > 0 {
		return nil, &WalkError{File: file, Errors: d.errs}
	}
	return w, nil
}

func (d *decoder) steps(n *yaml.Node, what string, setup bool) []Step {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: want a list of steps, got %s", what, kindName(n))
		return nil
	}
	var out []Step
	for _, sn := range n.Content {
		s := Step{Line: sn.Line, Native: setup, lines: map[string]int{}}
		for i := 0; i+1 < len(sn.Content); i += 2 {
			s.lines[sn.Content[i].Value] = sn.Content[i].Line
		}
		var eventually string
		d.fields(sn, what+" step", map[string]func(*yaml.Node){
			"name":       func(v *yaml.Node) { d.str(v, "name", &s.Name) },
			"native":     func(v *yaml.Node) { d.boolean(v, "native", &s.Native) },
			"note":       func(v *yaml.Node) { d.str(v, "note", &s.Note) },
			"pending":    func(v *yaml.Node) { d.str(v, "pending", &s.Pending) },
			"cli":        func(v *yaml.Node) { d.strList(v, "cli", &s.CLI) },
			"method":     func(v *yaml.Node) { d.str(v, "method", &s.Method) },
			"path":       func(v *yaml.Node) { d.str(v, "path", &s.Path) },
			"headers":    func(v *yaml.Node) { s.Headers = d.headers(v, "headers") },
			"body":       func(v *yaml.Node) { s.Body = v },
			"sign":       func(v *yaml.Node) { d.boolean(v, "sign", &s.Sign) },
			"eventually": func(v *yaml.Node) { d.str(v, "eventually", &eventually) },
			"expect":     func(v *yaml.Node) { s.Expect = d.expect(v) },
			"capture": func(v *yaml.Node) {
				d.pairs(v, "capture", func(k, val *yaml.Node) {
					c := Capture{Var: k.Value, Line: k.Line}
					d.str(val, "capture "+k.Value, &c.From)
					if !nameRE.MatchString(c.Var) {
						d.errorf(k, "capture: %q is not a variable name (a-z, 0-9, _)", c.Var)
					}
					if _, err := parsePath(c.From); err != nil {
						d.errorf(val, "capture %s: %v", c.Var, err)
					}
					s.Capture = append(s.Capture, c)
				})
			},
		}, "name")
		if setup && !s.Native {
			d.errorf(sn, "setup step %q: setup steps use cardhost's own API (native cannot be false)", s.Name)
		}
		if eventually != "" {
			dur, err := time.ParseDuration(eventually)
			if err != nil || dur <= 0 || dur > 30*time.Second {
				d.errorf(&yaml.Node{Line: s.lines["eventually"], Column: 5}, "eventually: want a duration from 1ms to 30s such as 10s, got %q", eventually)
			}
			s.Eventually = dur
		}
		if len(s.CLI) > 0 {
			if !setup {
				d.errorf(&yaml.Node{Line: s.lines["cli"], Column: 5}, "step %q: cli commands belong in setup, not in the guide's steps", s.Name)
			}
			if s.Method != "" || s.Path != "" || s.Body != nil || s.Expect.Status != 0 {
				d.errorf(sn, "step %q: a cli step has no method, path, body or expect", s.Name)
			}
		} else {
			if !methodRE.MatchString(s.Method) {
				d.errorf(sn, "step %q: method: want GET, POST, PUT, PATCH or DELETE, got %q", s.Name, s.Method)
			}
			if !strings.HasPrefix(s.Path, "/") {
				d.errorf(sn, "step %q: path: want a path starting with /, got %q", s.Name, s.Path)
			}
			if s.Expect.Status == 0 {
				d.errorf(sn, "step %q: expect.status is required (the answer the guide says comes back)", s.Name)
			}
		}
		out = append(out, s)
	}
	return out
}

func (d *decoder) expect(n *yaml.Node) Expect {
	var e Expect
	pathValues := func(what string, into *[]PathValue, regex bool) func(*yaml.Node) {
		return func(v *yaml.Node) {
			d.pairs(v, what, func(k, val *yaml.Node) {
				if _, err := parsePath(k.Value); err != nil {
					d.errorf(k, "%s: %v", what, err)
				}
				if regex {
					if val.Kind != yaml.ScalarNode {
						d.errorf(val, "%s %s: want a regular expression, got %s", what, k.Value, kindName(val))
					} else if _, err := regexp.Compile(val.Value); err != nil {
						d.errorf(val, "%s %s: %v", what, k.Value, err)
					}
				}
				*into = append(*into, PathValue{Path: k.Value, Value: val, Line: k.Line})
			})
		}
	}
	paths := func(what string, into *[]string) func(*yaml.Node) {
		return func(v *yaml.Node) {
			d.strList(v, what, into)
			for i, p := range *into {
				if _, err := parsePath(p); err != nil {
					d.errorf(v.Content[i], "%s: %v", what, err)
				}
			}
		}
	}
	d.fields(n, "expect", map[string]func(*yaml.Node){
		"status": func(v *yaml.Node) {
			st, err := strconv.Atoi(v.Value)
			if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || err != nil || st < 100 || st > 599 {
				d.errorf(v, "expect.status: want an HTTP status such as 201, got %s", kindName(v))
				return
			}
			e.Status = st
		},
		"slug":    func(v *yaml.Node) { d.str(v, "expect.slug", &e.Slug) },
		"headers": func(v *yaml.Node) { e.Headers = d.headers(v, "expect.headers") },
		"equal":   pathValues("expect.equal", &e.Equal, false),
		"match":   pathValues("expect.match", &e.Match, true),
		"present": paths("expect.present", &e.Present),
		"absent":  paths("expect.absent", &e.Absent),
	}, "status")
	return e
}

// checkVariables reports a ${variable} used before any step captures or
// defines it, and an unknown generator.
func (d *decoder) checkVariables(w *Walk) {
	known := map[string]bool{}
	for k := range predefined {
		known[k] = true
	}
	check := func(n *yaml.Node, s string) {
		for _, m := range varRE.FindAllStringSubmatch(s, -1) {
			if err := checkVariable(m[1], known); err != nil {
				d.errorf(n, "%v", err)
			}
		}
	}
	var checkNode func(n *yaml.Node)
	checkNode = func(n *yaml.Node) {
		if n == nil {
			return
		}
		if n.Kind == yaml.ScalarNode {
			check(n, n.Value)
		}
		for _, c := range n.Content {
			checkNode(c)
		}
	}
	for _, steps := range [][]Step{w.Setup, w.Steps} {
		for _, s := range steps {
			at := func(key string) *yaml.Node {
				if l, ok := s.lines[key]; ok {
					return &yaml.Node{Line: l, Column: 5}
				}
				return &yaml.Node{Line: s.Line, Column: 5}
			}
			check(at("path"), s.Path)
			for _, h := range s.Headers {
				check(at("headers"), h.Value)
			}
			for _, a := range s.CLI {
				check(at("cli"), a)
			}
			checkNode(s.Body)
			for _, p := range s.Expect.Equal {
				check(&yaml.Node{Line: p.Line}, p.Path)
				checkNode(p.Value)
			}
			for _, h := range s.Expect.Headers {
				check(at("expect"), h.Value)
			}
			for _, p := range s.Expect.Present {
				check(at("expect"), p)
			}
			for _, p := range s.Expect.Absent { // a path naming an unset variable would make the check pass unseen
				check(at("expect"), p)
			}
			for _, p := range s.Expect.Match {
				check(&yaml.Node{Line: p.Line}, p.Path)
			}
			for _, c := range s.Capture {
				check(&yaml.Node{Line: c.Line}, c.From)
				known[c.Var] = true
			}
		}
	}
}

// yamlErrLine finds the line number in a yaml.v3 syntax error ("yaml: line
// 7: ...").
func yamlErrLine(err error) int {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return 0
	}
	m := regexp.MustCompile(`line (\d+)`).FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
