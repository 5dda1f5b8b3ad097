package reference

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestVendoredRenderer: the embedded renderer is the recorded npm file,
// with its licences, recorded in static/README.md with its SHA-256.
func TestVendoredRenderer(t *testing.T) {
	const sum = "dcaf76612bc4a3fbcc923a8966dee2f6146a5f32e5ce1b6f02dd60cbbf89500b"
	got := sha256.Sum256(ScriptBytes())
	readme, err := os.ReadFile("static/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got[:]) != sum || !strings.Contains(string(readme), "| "+Script+" | redoc (") || !strings.Contains(string(readme), sum) {
		t.Errorf("%s: SHA-256 %x, recorded %s (and in static/README.md with its package)", Script, got, sum)
	}
	version := strings.TrimSuffix(strings.TrimPrefix(Script, "redoc-"), ".standalone.js")
	if !bytes.Contains(ScriptBytes(), []byte(`"`+version+`"`)) {
		t.Errorf("%s does not carry its version %s", Script, version)
	}
	if l, err := os.ReadFile("static/redoc-" + version + ".LICENSE"); err != nil || !strings.Contains(string(l), "The MIT License") {
		t.Errorf("no MIT licence file for %s: %v", Script, err)
	}
	if l, err := os.ReadFile("static/" + Script + ".LICENSE.txt"); err != nil || !strings.Contains(string(l), "DOMPurify") {
		t.Errorf("no notices of the bundled libraries for %s: %v", Script, err)
	}
}

// doc is a small OpenAPI document shaped as issuance/rest builds it.
var doc = map[string]any{
	"info":    map[string]any{"title": "cardhost issuance API", "version": "1", "description": "The `API`."},
	"servers": []any{map[string]any{"url": "http://127.0.0.1:8080"}},
	"tags":    []any{map[string]any{"name": "cards", "description": "Cards."}},
	"paths": map[string]map[string]any{"/v1/cards": {"post": map[string]any{
		"operationId": "createCard", "summary": "Create a card", "description": "Uses an `Idempotency-Key`.", "tags": []string{"cards"},
		"requestBody": map[string]any{"content": map[string]any{"application/json": map[string]any{"example": map[string]any{"card_holder_name": "ADA"}}}},
		"responses":   map[string]any{"201": map[string]any{"description": "created"}, "422": map[string]any{"description": "`validation_failed`"}},
	}}},
}

// TestPage: the renderer's page loads the renderer from the given URL
// (no inline script) and reads the document from the given URL; inside
// <noscript> and in the static page the reference is rendered on the
// server, and the static page has no script at all.
func TestPage(t *testing.T) {
	var page, static bytes.Buffer
	if err := Page(&page, doc, "/openapi.json", "/docs/"+Script); err != nil {
		t.Fatal(err)
	}
	if err := Static(&static, doc); err != nil {
		t.Fatal(err)
	}
	p := page.String()
	scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(p, -1)
	if len(scripts) != 1 || scripts[0] != `<script src="/docs/`+Script+`">` || !strings.Contains(p, `<redoc spec-url="/openapi.json"></redoc>`) {
		t.Errorf("the page's scripts %q, want the renderer's only; and a <redoc> element reading /openapi.json:\n%s", scripts, p)
	}
	ns := p[strings.Index(p, "<noscript>"):strings.Index(p, "</noscript>")]
	for _, html := range []string{ns, static.String()} {
		for _, want := range []string{`id="createCard"`, "Create a card", "<code>Idempotency-Key</code>", "&#34;card_holder_name&#34;", "<code>validation_failed</code>", "http://127.0.0.1:8080"} {
			if !strings.Contains(html, want) {
				t.Errorf("the server-rendered reference lacks %s", want)
			}
		}
	}
	if strings.Contains(static.String(), "<script") {
		t.Errorf("the static page has a script")
	}
}
