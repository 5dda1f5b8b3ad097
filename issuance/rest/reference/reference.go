package reference

import (
	_ "embed"
	"encoding/json"
	"html/template"
	"io"
	"slices"
	"sort"
	"strings"
)

// Script is the file name of the vendored renderer, Redoc's standalone
// bundle (static/README.md: package, version, licence, SHA-256);
// issuance/rest serves it at /docs/Script. The name carries the version,
// so the file may be cached for good.
const Script = "redoc-2.5.4.standalone.js"

//go:embed static/redoc-2.5.4.standalone.js
var script []byte

// ScriptBytes returns the renderer's bytes; the caller must not change
// them. Safe for concurrent use.
func ScriptBytes() []byte { return script }

// ContentSecurityPolicy is the reference page's policy: scripts from the
// same origin only (the renderer; the page has no inline script), the
// document fetched from the same origin, inline styles (Redoc's
// styled-components inserts <style> elements, and the fallback has its
// own), Redoc's search index in a worker it makes from a blob: URL, and
// images as data: URLs. Nothing is loaded from elsewhere.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Page writes the reference page of the OpenAPI document doc: Redoc,
// loaded from scriptURL, renders the document it fetches from specURL;
// inside <noscript> the same reference is rendered on the server, so a
// browser without JavaScript (or curl) reads it all.
func Page(w io.Writer, doc map[string]any, specURL, scriptURL string) error {
	p := pageOf(doc)
	p.SpecURL, p.ScriptURL = specURL, scriptURL
	return templates.ExecuteTemplate(w, "page", p)
}

// Static writes the reference rendered on the server alone: a page with
// no script, no font and nothing fetched from elsewhere.
func Static(w io.Writer, doc map[string]any) error {
	return templates.ExecuteTemplate(w, "static", pageOf(doc))
}

// operation is one operation as the page shows it.
type operation struct {
	ID, Method, Path, Summary, Description string
	Params                                 []param
	Request                                string // example body, indented JSON
	Responses                              []response
	Public                                 bool
}

type param struct{ Name, In, Type, Description string }

type response struct {
	Status, Description, Example string
}

type section struct {
	Name, Description string
	Operations        []operation
}

type pageData struct {
	Title, Version, Description, Server string
	Tags                                []section
	SpecURL, ScriptURL                  string // the renderer's page only
}

var templates = template.Must(template.New("reference").Funcs(template.FuncMap{"md": inlineCode}).Parse(`{{define "style"}}<style>
body.static,noscript{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;display:flex}
body{margin:0}
nav{width:17rem;flex:none;height:100vh;overflow:auto;position:sticky;top:0;background:#f4f6f9;padding:1rem;box-sizing:border-box;font-size:13px}
nav a{display:block;color:#1d2330;text-decoration:none;padding:1px 0}nav h3{margin:1rem 0 .2rem;font-size:12px;text-transform:uppercase;color:#5b6475}
main{padding:1rem 2rem 4rem;max-width:60rem;min-width:0}
section.op{border-top:1px solid #dde2ea;padding:.6rem 0 1rem}
.m{display:inline-block;min-width:4.2em;font:600 12px monospace;padding:2px 6px;border-radius:4px;color:#fff;text-align:center}
.GET{background:#2f7d32}.POST{background:#1f5fbf}.PATCH{background:#8a5a00}.PUT{background:#6a3fb5}.DELETE{background:#b3261e}
code,pre{font-family:ui-monospace,monospace;font-size:13px}pre{background:#f4f6f9;padding:.6rem;overflow:auto;border-radius:4px}
table{border-collapse:collapse;margin:.3rem 0}td,th{border:1px solid #dde2ea;padding:3px 8px;text-align:left;vertical-align:top}
.st{font-weight:600}.pub{color:#5b6475;font-size:12px}
</style>{{end}}
{{define "body"}}<nav><strong>{{.Title}}</strong><br><span class="pub">version {{.Version}} · <a href="/openapi.json" style="display:inline">openapi.json</a></span>
{{range .Tags}}<h3>{{.Name}}</h3>{{range .Operations}}<a href="#{{.ID}}"><span class="m {{.Method}}">{{.Method}}</span> {{.Path}}</a>{{end}}{{end}}
</nav><main>
<h1>{{.Title}}</h1><p>{{md .Description}}</p><p>Server: <code>{{.Server}}</code></p>
{{range .Tags}}<h2 id="tag-{{.Name}}">{{.Name}}</h2><p>{{md .Description}}</p>
{{range .Operations}}<section class="op" id="{{.ID}}">
<h3><span class="m {{.Method}}">{{.Method}}</span> <code>{{.Path}}</code></h3>
<p><strong>{{.Summary}}</strong>{{if .Public}} <span class="pub">(no API key)</span>{{end}}</p><p>{{md .Description}}</p>
{{if .Params}}<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>{{range .Params}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{.Type}}</td><td>{{md .Description}}</td></tr>{{end}}</table>{{end}}
{{if .Request}}<p>Request body, for example:</p><pre>{{.Request}}</pre>{{end}}
<table><tr><th>status</th><th>answer</th></tr>{{range .Responses}}<tr><td class="st">{{.Status}}</td><td>{{md .Description}}{{if .Example}}<pre>{{.Example}}</pre>{{end}}</td></tr>{{end}}</table>
</section>{{end}}{{end}}
</main>{{end}}
{{define "static"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — reference</title>
{{template "style"}}</head><body class="static">
{{template "body" .}}
</body></html>
{{end}}
{{define "page"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — reference</title><link rel="icon" href="data:,">
</head><body>
<redoc spec-url="{{.SpecURL}}"></redoc>
<noscript>{{template "style"}}{{template "body" .}}</noscript>
<script src="{{.ScriptURL}}"></script>
</body></html>
{{end}}`))

// pageOf turns the OpenAPI document into the page's data.
func pageOf(doc map[string]any) pageData {
	info, _ := doc["info"].(map[string]any)
	page := pageData{Title: str(info["title"]), Version: str(info["version"]), Description: str(info["description"])}
	if servers, _ := doc["servers"].([]any); len(servers) > 0 {
		page.Server = str(servers[0].(map[string]any)["url"])
	}
	tagDesc := map[string]string{}
	var tagOrder []string
	tags, _ := doc["tags"].([]any)
	for _, t := range tags {
		m := t.(map[string]any)
		tagDesc[str(m["name"])] = str(m["description"])
		tagOrder = append(tagOrder, str(m["name"]))
	}
	byTag := map[string][]operation{}
	paths, _ := doc["paths"].(map[string]map[string]any)
	for path, methods := range paths {
		for method, v := range methods {
			o := v.(map[string]any)
			op := operation{ID: str(o["operationId"]), Method: strings.ToUpper(method), Path: path, Summary: str(o["summary"]),
				Description: str(o["description"])}
			if sec, ok := o["security"].([]any); ok && len(sec) == 0 {
				op.Public = true
			}
			params, _ := o["parameters"].([]any)
			for _, p := range params {
				m := p.(map[string]any)
				sch, _ := m["schema"].(map[string]any)
				op.Params = append(op.Params, param{Name: str(m["name"]), In: str(m["in"]), Type: str(sch["type"]), Description: str(m["description"])})
			}
			if rb, ok := o["requestBody"].(map[string]any); ok {
				op.Request = exampleOf(rb["content"])
			}
			responses, _ := o["responses"].(map[string]any)
			for _, st := range slices.Sorted(func(yield func(string) bool) {
				for k := range responses {
					if k != "default" && !yield(k) {
						return
					}
				}
			}) {
				r := responses[st].(map[string]any)
				op.Responses = append(op.Responses, response{Status: st, Description: str(r["description"]), Example: exampleOf(r["content"])})
			}
			tag := o["tags"].([]string)[0]
			byTag[tag] = append(byTag[tag], op)
		}
	}
	for _, t := range tagOrder {
		ops := byTag[t]
		sort.Slice(ops, func(i, j int) bool { return ops[i].Path+" "+ops[i].Method < ops[j].Path+" "+ops[j].Method })
		page.Tags = append(page.Tags, section{Name: t, Description: tagDesc[t], Operations: ops})
	}
	return page
}

// exampleOf returns the example of a content map's first media type as
// indented JSON ("" when none).
func exampleOf(content any) string {
	m, _ := content.(map[string]any)
	for _, mt := range m {
		ex, ok := mt.(map[string]any)["example"]
		if !ok {
			continue
		}
		b, err := json.MarshalIndent(ex, "", "  ")
		if err == nil {
			return string(b)
		}
	}
	return ""
}

// inlineCode escapes s for HTML and shows its `quoted` parts as code, as
// Markdown does.
func inlineCode(s string) template.HTML {
	parts := strings.Split(s, "`")
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 && i < len(parts)-1 {
			b.WriteString("<code>" + template.HTMLEscapeString(p) + "</code>")
		} else {
			if i%2 == 1 { // an unpaired backquote stays as it was
				b.WriteString("`")
			}
			b.WriteString(template.HTMLEscapeString(p))
		}
	}
	return template.HTML(b.String())
}

func str(v any) string { s, _ := v.(string); return s }
