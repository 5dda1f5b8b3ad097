package seedwalk

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Mapping is the path mapping table: for each seed, which cardhost route
// serves each of its guide's routes.
type Mapping struct {
	File  string
	Seeds map[string][]Route
	Order []string // the seeds in file order
}

// Route maps one guide route to cardhost's.
type Route struct {
	Line                     int
	GuideMethod, GuidePath   string // POST /accounts/{accountId}/cards
	NativeMethod, NativePath string // POST /v1/cards
	Note                     string
	// PathToBody moves a guide path parameter into a body field
	// (OffBlocks names the account in the path; cardhost's card names its
	// cardholder in the body).
	PathToBody []Pair
	// HeaderToBody moves a guide request header into a body field (Pismo
	// names the customer in x-customer-id).
	HeaderToBody []Pair
	// BodyToPath moves body fields into the native path (PintoPay reads
	// with POST and a body; cardhost with GET /v1/orders/{order_id}).
	BodyToPath []string
	// AddBody adds body fields from walk variables where the guide's
	// platform knows them from context (the account's program).
	AddBody []Pair
}

// Pair is a name and what it becomes.
type Pair struct{ From, To string }

var routeRE = regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE) (/[^ ]*)$`)

// ParseMapping reads the path mapping table strictly.
func ParseMapping(file string, data []byte) (*Mapping, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &WalkError{File: file, Errors: []PosError{{Line: yamlErrLine(err), Msg: "not valid YAML: " + err.Error()}}}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, &WalkError{File: file, Errors: []PosError{{Line: 1, Msg: "empty mapping file"}}}
	}
	d := &decoder{}
	m := &Mapping{File: file, Seeds: map[string][]Route{}}
	d.pairs(root.Content[0], "mapping", func(k, v *yaml.Node) {
		if !seedRE.MatchString(k.Value) {
			d.errorf(k, "%q is not a seed's short name", k.Value)
		}
		m.Order = append(m.Order, k.Value)
		if v.Kind != yaml.SequenceNode {
			d.errorf(v, "%s: want a list of routes, got %s", k.Value, kindName(v))
			return
		}
		seen := map[string]int{}
		for _, rn := range v.Content {
			r := Route{Line: rn.Line}
			var guide, native string
			d.fields(rn, k.Value+" route", map[string]func(*yaml.Node){
				"guide":  func(v *yaml.Node) { d.str(v, "guide", &guide) },
				"native": func(v *yaml.Node) { d.str(v, "native", &native) },
				"note":   func(v *yaml.Node) { d.str(v, "note", &r.Note) },
				"path_to_body": func(v *yaml.Node) {
					d.pairs(v, "path_to_body", func(k, v *yaml.Node) {
						p := Pair{From: k.Value}
						d.str(v, "path_to_body "+k.Value, &p.To)
						r.PathToBody = append(r.PathToBody, p)
					})
				},
				"header_to_body": func(v *yaml.Node) {
					d.pairs(v, "header_to_body", func(k, v *yaml.Node) {
						p := Pair{From: k.Value}
						d.str(v, "header_to_body "+k.Value, &p.To)
						r.HeaderToBody = append(r.HeaderToBody, p)
					})
				},
				"body_to_path": func(v *yaml.Node) { d.strList(v, "body_to_path", &r.BodyToPath) },
				"add_body": func(v *yaml.Node) {
					d.pairs(v, "add_body", func(k, v *yaml.Node) {
						p := Pair{From: k.Value}
						d.str(v, "add_body "+k.Value, &p.To)
						r.AddBody = append(r.AddBody, p)
					})
				},
			}, "guide", "native")
			gm := routeRE.FindStringSubmatch(guide)
			nm := routeRE.FindStringSubmatch(native)
			if guide != "" && gm == nil {
				d.errorf(rn, "guide: want METHOD /path, got %q", guide)
			}
			if native != "" && (nm == nil || !strings.HasPrefix(nm[2], "/v1/")) {
				d.errorf(rn, "native: want METHOD /v1/path (a cardhost route), got %q", native)
			}
			if gm == nil || nm == nil {
				continue
			}
			r.GuideMethod, r.GuidePath, r.NativeMethod, r.NativePath = gm[1], gm[2], nm[1], nm[2]
			if prev, ok := seen[guide]; ok {
				d.errorf(rn, "%s: %q is mapped twice (first on line %d)", k.Value, guide, prev)
			}
			seen[guide] = rn.Line
			// Every placeholder of the native path must come from the
			// guide path or from the body.
			params := map[string]bool{}
			for _, s := range strings.Split(r.GuidePath, "/") {
				if isParam(s) {
					params[s[1:len(s)-1]] = true
				}
			}
			for _, f := range r.BodyToPath {
				params[f] = true
			}
			for _, p := range r.PathToBody {
				if !params[p.From] {
					d.errorf(rn, "path_to_body: %q is not a parameter of %s", p.From, r.GuidePath)
				}
			}
			for _, s := range strings.Split(r.NativePath, "/") {
				if isParam(s) && !params[s[1:len(s)-1]] {
					d.errorf(rn, "native: %s comes neither from the guide path nor from body_to_path", s)
				}
			}
			m.Seeds[k.Value] = append(m.Seeds[k.Value], r)
		}
	})
	if len(d.errs) > 0 {
		return nil, &WalkError{File: file, Errors: d.errs}
	}
	return m, nil
}

func isParam(seg string) bool {
	return len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}'
}

// match returns the guide path's parameters when path (without query)
// matches the route's guide path.
func (r Route) match(method, path string) (map[string]string, bool) {
	if method != r.GuideMethod {
		return nil, false
	}
	want, got := strings.Split(r.GuidePath, "/"), strings.Split(path, "/")
	if len(want) != len(got) {
		return nil, false
	}
	params := map[string]string{}
	for i := range want {
		switch {
		case isParam(want[i]):
			if got[i] == "" {
				return nil, false
			}
			params[want[i][1:len(want[i])-1]] = got[i]
		case want[i] != got[i]:
			return nil, false
		}
	}
	return params, true
}

// Find returns the route of seed that serves method and path (a path as
// sent, its parameters filled in).
func (m *Mapping) Find(seed, method, path string) (Route, map[string]string, error) {
	p, _, _ := strings.Cut(path, "?")
	for _, r := range m.Seeds[seed] {
		if params, ok := r.match(method, p); ok {
			return r, params, nil
		}
	}
	return Route{}, nil, fmt.Errorf("%s has no mapping for %s %s: add it to %s", seed, method, p, m.File)
}

// Apply turns a guide request into cardhost's: the native method and path
// and the body with path_to_body, header_to_body, body_to_path and
// add_body applied. header reads the request's headers; vars resolves
// add_body's walk variables.
func (r Route) Apply(path string, params map[string]string, body []byte, header func(string) string, vars func(string) (string, bool)) (method, native string, out []byte, err error) {
	_, query, _ := strings.Cut(path, "?")
	out = body
	if len(r.PathToBody)+len(r.HeaderToBody)+len(r.BodyToPath)+len(r.AddBody) > 0 {
		fields := map[string]any{}
		if len(body) > 0 {
			if err := json.Unmarshal(body, &fields); err != nil {
				return "", "", nil, fmt.Errorf("%s %s moves body fields, but the body is not a JSON object: %v", r.GuideMethod, r.GuidePath, err)
			}
		}
		for _, p := range r.PathToBody {
			fields[p.To] = params[p.From]
		}
		for _, p := range r.HeaderToBody {
			v := header(p.From)
			if v == "" {
				return "", "", nil, fmt.Errorf("%s %s: the request has no %s header", r.GuideMethod, r.GuidePath, p.From)
			}
			fields[p.To] = v
		}
		for _, f := range r.BodyToPath {
			v, ok := fields[f].(string)
			if !ok || v == "" {
				return "", "", nil, fmt.Errorf("%s %s: the body has no %s for the path", r.GuideMethod, r.GuidePath, f)
			}
			params[f] = v
			delete(fields, f)
		}
		for _, p := range r.AddBody {
			if _, ok := fields[p.From]; ok {
				continue // the guide's own value wins
			}
			v, ok := vars(p.To)
			if !ok {
				return "", "", nil, fmt.Errorf("%s %s: add_body %s: no variable %s", r.GuideMethod, r.GuidePath, p.From, p.To)
			}
			fields[p.From] = v
		}
		out = nil
		if len(fields) > 0 {
			if out, err = json.Marshal(fields); err != nil {
				return "", "", nil, err
			}
		}
	}
	segs := strings.Split(r.NativePath, "/")
	for i, s := range segs {
		if isParam(s) {
			segs[i] = params[s[1:len(s)-1]]
		}
	}
	native = strings.Join(segs, "/")
	if query != "" {
		native += "?" + query
	}
	return r.NativeMethod, native, out, nil
}

// RouteOf returns the route that serves a walk step as written (its
// ${variables} unresolved: each fills one path segment).
func RouteOf(m *Mapping, seed string, s Step) (Route, bool) {
	r, _, err := m.Find(seed, s.Method, s.Path)
	return r, err == nil
}

// MappingTable renders the mapping as the Markdown table of
// docs/seeds/README.md: one row per route, in file order.
func MappingTable(m *Mapping) string {
	var b strings.Builder
	b.WriteString("| seed | guide request | cardhost route | what moves | why |\n|---|---|---|---|---|\n")
	for _, seed := range m.Order {
		for _, r := range m.Seeds[seed] {
			var moves []string
			for _, p := range r.PathToBody {
				moves = append(moves, "path `{"+p.From+"}` → body `"+p.To+"`")
			}
			for _, p := range r.HeaderToBody {
				moves = append(moves, "header `"+p.From+"` → body `"+p.To+"`")
			}
			for _, f := range r.BodyToPath {
				moves = append(moves, "body `"+f+"` → path")
			}
			for _, p := range r.AddBody {
				moves = append(moves, "body `"+p.From+"` added (the walk's `"+p.To+"`)")
			}
			fmt.Fprintf(&b, "| %s | `%s %s` | `%s %s` | %s | %s |\n", seed, r.GuideMethod, r.GuidePath, r.NativeMethod, r.NativePath,
				strings.Join(moves, "; "), r.Note)
		}
	}
	return b.String()
}
