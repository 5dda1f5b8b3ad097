package seedwalk

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/cardhost/cardhost/issuance/httpsig"
	"gopkg.in/yaml.v3"
)

// Runner sends walks to a running cardhost. A Runner runs one walk at a
// time; make one per walk.
type Runner struct {
	Base    string       // the API's base URL, http://127.0.0.1:8080
	Key     string       // the walk tenant's API key (sent as Authorization: Bearer)
	HTTP    *http.Client // default: a client with a 20 s timeout
	Mapping *Mapping
	// CLI runs a cardhost command (setup's cli steps) and returns what it
	// printed.
	CLI func(ctx context.Context, args []string) (string, error)
	// Vars are the runner's variables (tenant_id...); captures add to them.
	Vars map[string]string
	// Now is the clock of ${time:...} and of signatures; default time.Now.
	Now func() time.Time

	values     map[string]any // captured values, decoded JSON
	captured   map[string]string
	uuids      map[string]string
	issuer     *ecdsa.PrivateKey // the CSR's key (QPay's issuer key)
	signer     crypto.Signer
	signingKey string
}

// Result is what one step did.
type Result struct {
	Section string // "setup" or "steps"
	Index   int    // 1-based within its section
	Step    Step
	// Sent is the request as it reached cardhost (native method and path).
	SentMethod, SentPath string
	Status               int
	Body                 []byte
	Failures             []string // empty when the step passed
	Took                 time.Duration
}

// Passed says whether the step met every expectation.
func (r Result) Passed() bool { return len(r.Failures) == 0 }

func (r Result) String() string {
	what := r.Step.Method + " " + r.Step.Path
	if len(r.Step.CLI) > 0 {
		what = "cardhost " + strings.Join(r.Step.CLI, " ")
	}
	s := fmt.Sprintf("%s %d (line %d) %q: %s", r.Section, r.Index, r.Step.Line, r.Step.Name, what)
	if r.SentPath != "" && (r.SentMethod != r.Step.Method || r.SentPath != r.Step.Path) {
		s += " -> " + r.SentMethod + " " + r.SentPath
	}
	if r.Passed() {
		return s + ": ok (" + r.Took.Round(time.Millisecond).String() + ")"
	}
	return s + " (" + r.Took.Round(time.Millisecond).String() + "):\n    " + strings.Join(r.Failures, "\n    ")
}

// Run runs the walk's setup, then its steps, and returns every step's
// result. A failed step does not stop the walk: later steps run with what
// was captured, so that one run lists every step that fails.
func (r *Runner) Run(ctx context.Context, w *Walk) []Result {
	r.init(w)
	var out []Result
	for _, sec := range []struct {
		name  string
		steps []Step
	}{{"setup", w.Setup}, {"steps", w.Steps}} {
		for i, s := range sec.steps {
			start := time.Now()
			res := r.step(ctx, w, s)
			res.Section, res.Index, res.Step, res.Took = sec.name, i+1, s, time.Since(start)
			out = append(out, res)
		}
	}
	return out
}

func (r *Runner) init(w *Walk) {
	if r.HTTP == nil {
		r.HTTP = &http.Client{Timeout: 20 * time.Second}
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Vars == nil {
		r.Vars = map[string]string{}
	}
	r.values, r.uuids, r.captured = map[string]any{}, map[string]string{}, map[string]string{}
	var err error
	if r.issuer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err) // crypto/rand does not fail
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "My Issuer", Organization: []string{"My Organization"}, Country: []string{"BR"}}}, r.issuer)
	if err != nil {
		panic(err)
	}
	r.Vars["csr"] = base64.StdEncoding.EncodeToString(der)
	switch w.Signing {
	case "ecdsa-p384", "ecdsa-p256":
		curve := elliptic.P384()
		if w.Signing == "ecdsa-p256" {
			curve = elliptic.P256()
		}
		k, _ := ecdsa.GenerateKey(curve, rand.Reader)
		r.signer = k
	case "ed25519":
		_, k, _ := ed25519.GenerateKey(rand.Reader)
		r.signer = k
	}
	if r.signer != nil {
		der, _ := x509.MarshalPKIXPublicKey(r.signer.Public())
		r.Vars["signing_public_key_pem"] = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		r.signingKey = "walk-" + w.Seed
		r.Vars["signing_key_id"] = r.signingKey
	}
}

func (r *Runner) step(ctx context.Context, w *Walk, s Step) Result {
	var res Result
	fail := func(format string, args ...any) Result {
		res.Failures = append(res.Failures, fmt.Sprintf(format, args...))
		return res
	}
	if len(s.CLI) > 0 {
		args := make([]string, len(s.CLI))
		for i, a := range s.CLI {
			v, err := r.subst(a)
			if err != nil {
				return fail("%v", err)
			}
			args[i] = v
		}
		if r.CLI == nil {
			return fail("the runner has no CLI")
		}
		if out, err := r.CLI(ctx, args); err != nil {
			return fail("cardhost %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return res
	}
	path, err := r.subst(s.Path)
	if err != nil {
		return fail("path: %v", err)
	}
	body, err := r.body(s.Body)
	if err != nil {
		return fail("body: %v", err)
	}
	headers := http.Header{}
	for _, h := range s.Headers {
		v, err := r.subst(h.Value)
		if err != nil {
			return fail("header %s: %v", h.Name, err)
		}
		headers.Set(h.Name, v)
	}
	method := s.Method
	if !s.Native {
		route, params, err := r.Mapping.Find(w.Seed, method, path)
		if err != nil {
			return fail("%v", err)
		}
		if method, path, body, err = route.Apply(path, params, body, headers.Get, r.lookupText); err != nil {
			return fail("%v", err)
		}
	}
	res.SentMethod, res.SentPath = method, path
	deadline := time.Now().Add(s.Eventually)
	for {
		res.Failures = nil
		status, hdr, raw, err := r.send(ctx, s.Sign, headers, method, path, body)
		if err != nil {
			return fail("%s %s: %v", method, path, err)
		}
		res.Status, res.Body = status, raw
		var unset bool
		res.Failures, unset = r.check(s.Expect, status, hdr, raw)
		if len(res.Failures) == 0 || unset || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(s.Capture) > 0 && res.Status == s.Expect.Status {
		v, err := decodeJSON(res.Body)
		for _, c := range s.Capture {
			from, serr := r.subst(c.From)
			var x any
			ok := false
			if err == nil && serr == nil {
				x, ok = Lookup(v, from)
			}
			if !ok || x == nil {
				res.Failures = append(res.Failures, fmt.Sprintf("capture %s: the answer has no %s", c.Var, c.From))
				continue
			}
			r.values[c.Var] = x
			if t := scalarText(x); t != "" {
				r.Vars[c.Var] = t
			} else {
				b, _ := json.Marshal(x)
				r.Vars[c.Var] = string(b)
			}
			r.captured[c.Var] = r.Vars[c.Var]
		}
	}
	return res
}

// send makes one HTTP request and reads the answer.
func (r *Runner) send(ctx context.Context, sign bool, headers http.Header, method, path string, body []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.Base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if r.Key != "" {
		req.Header.Set("Authorization", "Bearer "+r.Key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for name, vs := range headers {
		req.Header[name] = vs
	}
	if sign {
		if r.signer == nil {
			return 0, nil, nil, fmt.Errorf("the step is signed but the walk has no signing key")
		}
		if err := httpsig.Sign(req, body, r.signingKey, r.signer, r.Now()); err != nil {
			return 0, nil, nil, err
		}
	}
	resp, err := r.HTTP.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw, err
}

// check compares an answer with the step's expectations. unset reports
// an expectation naming a variable no step set: repeating cannot help.
func (r *Runner) check(e Expect, status int, hdr http.Header, raw []byte) (fails []string, unset bool) {
	subst := func(s string) (string, error) {
		v, err := r.subst(s)
		if err != nil {
			unset = true
		}
		return v, err
	}
	brief := string(raw)
	if len(brief) > 600 {
		brief = brief[:600] + "..."
	}
	if status != e.Status {
		// The answer's fields say nothing more: one line, with the body.
		return append(fails, fmt.Sprintf("status %d, want %d: %s", status, e.Status, brief)), false
	}
	for _, h := range e.Headers {
		want, err := subst(h.Value)
		if err != nil {
			fails = append(fails, err.Error())
		} else if got := hdr.Get(h.Name); got != want {
			fails = append(fails, fmt.Sprintf("header %s is %q, want %q", h.Name, got, want))
		}
	}
	needBody := e.Slug != "" || len(e.Equal)+len(e.Present)+len(e.Absent)+len(e.Match) > 0
	if !needBody {
		return fails, unset
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return append(fails, fmt.Sprintf("the answer is not JSON (%v): %s", err, brief)), unset
	}
	get := func(path string) (any, bool, error) {
		p, err := subst(path)
		if err != nil {
			return nil, false, err
		}
		x, ok := Lookup(v, p)
		return x, ok, nil
	}
	if e.Slug != "" {
		if got, _, _ := get("slug"); scalarText(got) != e.Slug {
			fails = append(fails, fmt.Sprintf("slug %q, want %q", scalarText(got), e.Slug))
		}
	}
	for _, pv := range e.Equal {
		got, ok, err := get(pv.Path)
		if err != nil {
			fails = append(fails, err.Error())
			continue
		}
		wantRaw, err := r.nodeJSON(pv.Value)
		if err != nil {
			unset = true
			fails = append(fails, fmt.Sprintf("%s: %v", pv.Path, err))
			continue
		}
		want, _ := decodeJSON(wantRaw)
		if !ok || !jsonEqual(got, want) {
			g, _ := json.Marshal(got)
			if !ok {
				g = []byte("(absent)")
			}
			fails = append(fails, fmt.Sprintf("%s is %s, want %s", pv.Path, g, wantRaw))
		}
	}
	for _, p := range e.Present {
		if x, ok, err := get(p); err != nil || !ok || x == nil {
			fails = append(fails, fmt.Sprintf("%s is absent, want it present", p))
		}
	}
	for _, p := range e.Absent {
		if x, ok, err := get(p); err == nil && ok && x != nil {
			fails = append(fails, fmt.Sprintf("%s is present, want it absent", p))
		}
	}
	for _, pv := range e.Match {
		got, ok, err := get(pv.Path)
		re := regexp.MustCompile(pv.Value.Value)
		if err != nil || !ok || !re.MatchString(scalarText(got)) {
			fails = append(fails, fmt.Sprintf("%s is %q, want a match of %s", pv.Path, scalarText(got), pv.Value.Value))
		}
	}
	return fails, unset
}

// Captured returns what the last walk's steps captured, by variable, as
// text.
func (r *Runner) Captured() map[string]string {
	out := make(map[string]string, len(r.captured))
	for k, v := range r.captured {
		out[k] = v
	}
	return out
}

// lookupText resolves a walk variable as text.
func (r *Runner) lookupText(name string) (string, bool) {
	v, ok := r.Vars[name]
	return v, ok
}

// subst replaces each ${variable} of s.
func (r *Runner) subst(s string) (string, error) {
	var firstErr error
	out := varRE.ReplaceAllStringFunc(s, func(m string) string {
		v, err := r.resolve(m[2 : len(m)-1])
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	})
	return out, firstErr
}

func (r *Runner) resolve(name string) (string, error) {
	gen, arg, isGen := strings.Cut(name, ":")
	if !isGen {
		v, ok := r.Vars[name]
		if !ok {
			return "", fmt.Errorf("${%s} is not set: the step that captures it failed", name)
		}
		return v, nil
	}
	switch gen {
	case "uuid":
		if u, ok := r.uuids[arg]; ok {
			return u, nil
		}
		var b [16]byte
		rand.Read(b[:])
		b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
		u := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
		r.uuids[arg] = u
		return u, nil
	case "time":
		d, err := offset(arg)
		if err != nil {
			return "", err
		}
		return r.Now().UTC().Add(d).Format(time.RFC3339), nil
	case "pin_block":
		format, pin, _ := strings.Cut(arg, ":")
		hsm, ok := r.Vars["hsm_public_key_pem"]
		if !ok {
			return "", fmt.Errorf("${%s}: hsm_public_key_pem is not set: the step that captures it failed", name)
		}
		return pinBlock(r.issuer, hsm, format, pin)
	}
	return "", fmt.Errorf("${%s}: unknown generator", name)
}

// body renders a step's body as JSON (or as text, when the body is a
// plain string: a deliberately malformed body).
func (r *Runner) body(n *yaml.Node) ([]byte, error) {
	if n == nil {
		return nil, nil
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		s, err := r.subst(n.Value)
		return []byte(s), err
	}
	return r.nodeJSON(n)
}

// nodeJSON renders a YAML value as JSON, in the order written, with
// ${variables} substituted in strings. A string that is exactly one
// variable whose captured value is not a string (a number, an object)
// becomes that value.
func (r *Runner) nodeJSON(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	var walk func(n *yaml.Node) error
	walk = func(n *yaml.Node) error {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		switch n.Kind {
		case yaml.MappingNode:
			b.WriteByte('{')
			for i := 0; i+1 < len(n.Content); i += 2 {
				if i > 0 {
					b.WriteByte(',')
				}
				k, _ := json.Marshal(n.Content[i].Value)
				b.Write(k)
				b.WriteByte(':')
				if err := walk(n.Content[i+1]); err != nil {
					return err
				}
			}
			b.WriteByte('}')
		case yaml.SequenceNode:
			b.WriteByte('[')
			for i, c := range n.Content {
				if i > 0 {
					b.WriteByte(',')
				}
				if err := walk(c); err != nil {
					return err
				}
			}
			b.WriteByte(']')
		default:
			switch n.Tag {
			case "!!null":
				b.WriteString("null")
			case "!!bool":
				b.WriteString(n.Value)
			case "!!int", "!!float":
				if !json.Valid([]byte(n.Value)) {
					return fmt.Errorf("line %d: %s is not a JSON number", n.Line, n.Value)
				}
				b.WriteString(n.Value)
			default:
				if m := varRE.FindStringSubmatch(n.Value); m != nil && m[0] == n.Value {
					if v, ok := r.values[m[1]]; ok {
						if _, isString := v.(string); !isString {
							raw, _ := json.Marshal(v)
							b.Write(raw)
							return nil
						}
					}
				}
				s, err := r.subst(n.Value)
				if err != nil {
					return err
				}
				q, _ := json.Marshal(s)
				b.Write(q)
			}
		}
		return nil
	}
	err := walk(n)
	return b.Bytes(), err
}
