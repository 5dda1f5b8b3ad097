package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	stdpng "image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cardhost/cardhost/issuance/rest/reference"
)

// howToDocument is what a failure of TestOpenAPIReference asks for.
const howToDocument = "document it in issuance/rest: Doc (and Errors) on its operation in routes.go, or its line in operationDocs (openapi_docs.go)"

// TestOpenAPIReference holds the served /openapi.json (of the fully wired
// app, so every route any package adds is checked) to the structural rules
// of Redocly's recommended set that matter to a reader, so that CI needs
// no Node: every operation has an operationId (unique), a summary, a
// description, at least one 2xx and one documented 4xx answer (problem
// details with an example), an example of its request body and of its
// JSON success answer that validate against their schemas, declared path
// parameters and described tags; `enum` values match their type; servers
// follow the address the document was read from. It names each operation
// and what it lacks. /docs renders every operation, and / points to it.
func TestOpenAPIReference(t *testing.T) {
	app := startApp(t, testEnv(t))
	req, _ := http.NewRequest("GET", app.base()+"/openapi.json", nil)
	req.Host = "cardhost.example.test:8443"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if out := os.Getenv("CARDHOST_OPENAPI_OUT"); out != "" { // .ci/run lints it with Redocly's CLI
		if err := os.WriteFile(out, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("decoding /openapi.json: %v", err)
	}
	if servers, _ := doc["servers"].([]any); len(servers) != 1 || servers[0].(map[string]any)["url"] != "http://cardhost.example.test:8443" {
		t.Errorf("servers = %v, want the address the request came to (http://cardhost.example.test:8443)", doc["servers"])
	}
	v := &validator{defs: doc["components"].(map[string]any)["schemas"].(map[string]any)}
	tagDesc := map[string]bool{}
	for _, tg := range asList(doc["tags"]) {
		m := tg.(map[string]any)
		tagDesc[m["name"].(string)] = m["description"] != nil && m["description"] != ""
	}
	var problems []string
	fail := func(opName, format string, a ...any) {
		problems = append(problems, opName+": "+fmt.Sprintf(format, a...))
	}
	ids := map[string]string{}
	paramRE := regexp.MustCompile(`\{([^}]+)\}`)
	paths := doc["paths"].(map[string]any)
	count := 0
	for path, methods := range paths {
		for method, raw := range methods.(map[string]any) {
			count++
			o := raw.(map[string]any)
			id, _ := o["operationId"].(string)
			name := fmt.Sprintf("operation %s (%s %s)", id, strings.ToUpper(method), path)
			if id == "" {
				fail(name, "no operationId")
			} else if other, dup := ids[id]; dup {
				fail(name, "operationId also used by %s", other)
			}
			ids[id] = strings.ToUpper(method) + " " + path
			if s, _ := o["summary"].(string); s == "" {
				fail(name, "no summary")
			}
			if d, _ := o["description"].(string); len(d) < 20 {
				fail(name, "no description (%q); %s", d, howToDocument)
			}
			for _, tg := range asList(o["tags"]) {
				if !tagDesc[tg.(string)] {
					fail(name, "tag %q has no description: add it to tagDocs in issuance/rest/openapi_docs.go", tg)
				}
			}
			declared := map[string]bool{}
			for _, p := range asList(o["parameters"]) {
				pm := p.(map[string]any)
				if pm["in"] == "path" {
					declared[pm["name"].(string)] = true
				}
			}
			for _, m := range paramRE.FindAllStringSubmatch(path, -1) {
				if !declared[m[1]] {
					fail(name, "path parameter %s is not declared", m[1])
				}
			}
			if rb, ok := o["requestBody"].(map[string]any); ok {
				mt, _ := rb["content"].(map[string]any)["application/json"].(map[string]any)
				switch ex, has := mt["example"]; {
				case !has:
					fail(name, "no request example")
				default:
					if err := v.validate(mt["schema"], ex, "request"); err != nil {
						fail(name, "request example does not validate: %v", err)
					}
				}
			}
			has2xx, has4xx := false, false
			for status, r := range o["responses"].(map[string]any) {
				code, _ := strconv.Atoi(status)
				rm := r.(map[string]any)
				content, _ := rm["content"].(map[string]any)
				switch {
				case code >= 200 && code < 300:
					has2xx = true
					if mt, ok := content["application/json"].(map[string]any); ok {
						ex, has := mt["example"]
						if !has {
							fail(name, "no example of its %s answer", status)
						} else if err := v.validate(mt["schema"], ex, "answer"); err != nil {
							fail(name, "example of its %s answer does not validate: %v", status, err)
						}
					}
				case code >= 400 && code < 500:
					has4xx = true
					mt, ok := content["application/problem+json"].(map[string]any)
					if !ok {
						fail(name, "its %s answer is not documented as application/problem+json", status)
						continue
					}
					if err := v.validate(mt["schema"], mt["example"], "problem"); err != nil {
						fail(name, "example of its %s problem does not validate: %v", status, err)
					}
					if d, _ := rm["description"].(string); !strings.Contains(d, "`") {
						fail(name, "its %s answer names no slug", status)
					}
				}
			}
			if !has2xx {
				fail(name, "no 2xx answer")
			}
			if !has4xx {
				fail(name, "no documented 4xx answer; %s", howToDocument)
			}
		}
	}
	for name, sch := range v.defs {
		checkEnums(t, "schema "+name, sch, &problems)
	}
	slices.Sort(problems)
	for _, p := range problems {
		t.Error(p)
	}
	if count < 60 {
		t.Fatalf("/openapi.json lists %d operations", count)
	}

	// The reference page loads the vendored renderer from this server only,
	// under a policy that allows nothing else; without JavaScript (inside
	// <noscript>, and alone at ?static=1, without any script) it renders
	// every operation on the server. / points to it.
	resp, err = http.Get(app.base() + "/docs")
	if err != nil {
		t.Fatal(err)
	}
	pageBytes, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page, csp := string(pageBytes), resp.Header.Get("Content-Security-Policy")
	scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1)
	if resp.StatusCode != 200 || !strings.Contains(page, "<title>cardhost issuance API") || len(scripts) != 1 || scripts[0] != `<script src="/docs/`+reference.Script+`">` ||
		!strings.Contains(page, `<redoc spec-url="/openapi.json">`) || !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("/docs: %d, scripts %q, CSP %q; want the renderer's script from this origin only, reading /openapi.json", resp.StatusCode, scripts, csp)
	}
	resp, err = http.Get(app.base() + "/docs/" + reference.Script)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || !bytes.Equal(js, reference.ScriptBytes()) {
		t.Fatalf("GET /docs/%s: %d %s, %d bytes", reference.Script, resp.StatusCode, resp.Header.Get("Content-Type"), len(js))
	}
	noscript := page[strings.Index(page, "<noscript>"):strings.Index(page, "</noscript>")]
	status, static := app.get(t, "", "/docs?static=1")
	if status != 200 || strings.Contains(string(static), "<script") {
		t.Fatalf("/docs?static=1: %d, want an HTML page without scripts", status)
	}
	for _, html := range []string{noscript, string(static)} {
		for id, where := range ids {
			if !strings.Contains(html, `id="`+id+`"`) {
				t.Errorf("/docs without JavaScript does not show operation %s (%s)", id, where)
			}
		}
		for _, want := range []string{"Idempotency-Key", "idempotency_key_reused", "&#34;card_holder_name&#34;", "Sandbox mode only."} {
			if !strings.Contains(html, want) {
				t.Errorf("/docs without JavaScript lacks %s", want)
			}
		}
	}
	if status, index := app.get(t, "", "/"); status != 200 || !strings.Contains(string(index), `href="/docs"`) {
		t.Errorf("/: %d %s, want a link to /docs", status, index)
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

// checkEnums reports enum values whose JSON type differs from the
// schema's type (Redocly's no-enum-type-mismatch), anywhere in sch.
func checkEnums(t *testing.T, where string, sch any, problems *[]string) {
	switch s := sch.(type) {
	case map[string]any:
		if enum, ok := s["enum"].([]any); ok {
			for _, e := range enum {
				if typ, _ := s["type"].(string); typ != "" && jsonType(e) != typ {
					*problems = append(*problems, fmt.Sprintf("%s: enum value %v is %s, the schema's type is %s", where, e, jsonType(e), typ))
				}
			}
		}
		for k, v := range s {
			checkEnums(t, where+"."+k, v, problems)
		}
	case []any:
		for _, v := range s {
			checkEnums(t, where, v, problems)
		}
	}
}

func jsonType(v any) string {
	switch x := v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case nil:
		return "null"
	}
	return "unknown"
}

// validator checks a JSON value against the subset of JSON Schema 2020-12
// the document uses: $ref, allOf, type, properties, required,
// additionalProperties, items, enum.
type validator struct{ defs map[string]any }

func (v *validator) validate(schema, value any, at string) error {
	s, _ := schema.(map[string]any)
	if ref, ok := s["$ref"].(string); ok {
		return v.validate(v.defs[strings.TrimPrefix(ref, "#/components/schemas/")], value, at)
	}
	for _, sub := range asList(s["allOf"]) {
		if err := v.validate(sub, value, at); err != nil {
			return err
		}
	}
	if enum := asList(s["enum"]); len(enum) > 0 && !slices.ContainsFunc(enum, func(e any) bool { return e == value }) {
		return fmt.Errorf("%s: %v is not one of %v", at, value, enum)
	}
	typ, _ := s["type"].(string)
	if typ == "" {
		return nil
	}
	if got := jsonType(value); got != typ && (typ != "number" || got != "integer") {
		return fmt.Errorf("%s: %s, want %s", at, got, typ)
	}
	switch typ {
	case "array":
		for i, item := range value.([]any) {
			if err := v.validate(s["items"], item, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "object":
		obj := value.(map[string]any)
		for _, r := range asList(s["required"]) {
			if _, ok := obj[r.(string)]; !ok {
				return fmt.Errorf("%s: required property %s missing", at, r)
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, val := range obj {
			ps, ok := props[k]
			if !ok {
				if s["additionalProperties"] == false {
					return fmt.Errorf("%s: property %s not allowed", at, k)
				}
				ps = s["additionalProperties"]
			}
			if err := v.validate(ps, val, at+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestDocsPageInABrowser loads /docs in headless Chromium (skipped when
// it is not installed) under the page's Content-Security-Policy: the
// vendored Redoc fetches /openapi.json and draws it, so the test waits for
// the section Redoc renders for createCard and reads the summary it shows
// from the document; nothing on the console is an error (a script or
// style the policy refused, an exception). The screenshot, taken after
// the renderer has drawn, must look like a page of text (with
// -update-screenshots it is written to docs/api-reference.png).
func TestDocsPageInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a browser")
	}
	ctx := newBrowser(t)
	app := startApp(t, testEnv(t))
	var doc struct {
		Paths map[string]map[string]struct{ OperationID, Summary string }
	}
	if _, body := app.get(t, "", "/openapi.json"); json.Unmarshal(body, &doc) != nil || doc.Paths["/v1/cards"]["post"].Summary == "" {
		t.Fatalf("/openapi.json has no createCard summary")
	}
	summary := doc.Paths["/v1/cards"]["post"].Summary

	var mu sync.Mutex
	var problems []string
	consoleCtx, stopConsole := context.WithCancel(ctx)
	defer stopConsole()
	if err := chromedp.Do(ctx); err != nil { // open the tab, so that no message is missed
		t.Fatal(err)
	}
	messages := chromedp.Console(consoleCtx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				problems = append(problems, m.String())
				mu.Unlock()
			}
		}
	}()
	// Redoc gives each operation a section whose id ends in
	// operation/<operationId>, with the summary as its heading.
	section := `[id$="operation/createCard"] h2`
	waitCtx, cancelWait := context.WithTimeout(ctx, 45*time.Second)
	defer cancelWait()
	if err := chromedp.Do(waitCtx, chromedp.Navigate(app.base()+"/docs"), chromedp.WaitVisible(section)); err != nil {
		t.Fatalf("Redoc did not draw createCard on /docs: %v", err)
	}
	if got := text(t, ctx, section); strings.TrimSpace(got) != summary {
		t.Errorf("Redoc shows createCard as %q, want the document's summary %q", got, summary)
	}
	if title := text(t, ctx, `.api-info h1`); !strings.Contains(title, "cardhost issuance API") {
		t.Errorf("Redoc's title %q", title)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if *updateScreenshots {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "api-reference.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stopConsole()
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		// Redoc's menu shows its maker's logo from its CDN; the policy
		// refuses it (nothing is loaded from elsewhere) and Redoc hides it.
		if strings.Contains(p, "'https://cdn.redoc.ly/redoc/logo-mini.svg' violates the following Content Security Policy directive") {
			continue
		}
		t.Errorf("console: %s", p)
	}
	img, err := stdpng.Decode(bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	dark, light, total := 0, 0, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			lum := (299*r + 587*g + 114*bl) / 1000 >> 8
			switch {
			case lum < 100:
				dark++
			case lum > 200:
				light++
			}
			total++
		}
	}
	// A rendered reference is mostly light with a good share of text.
	if light < total/2 || dark < total/200 {
		t.Fatalf("the screenshot of /docs does not look like a page of text: %d light, %d dark of %d pixels", light, dark, total)
	}
}
