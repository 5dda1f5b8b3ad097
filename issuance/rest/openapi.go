package rest

import (
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance/subaccount"
)

// The OpenAPI 3.1 document is built from the same route table that fiber
// serves, and request and response schemas are derived from the Go types
// the handlers decode and encode, so the document cannot drift from the
// code. Struct tags refine the schemas:
//
//	json:"name,omitempty"   property name (omitempty: optional in responses)
//	required:"true"         the property is required in requests
//	doc:"text"              description
//	enum:"A,B,C"            allowed values
//	format:"date"           string format
//	example:"..."           example value (string)

// operation documents one route.
type operation struct {
	// ID is the operationId (camelCase, unique).
	ID string
	// Summary is the one-line description.
	Summary string
	// Tag groups operations ("cards", "products"...).
	Tag string
	// Public routes need no API key.
	Public bool
	// Idempotent POSTs accept an Idempotency-Key header.
	Idempotent bool
	// SecretOnce marks an idempotent POST whose success answer holds a
	// secret shown once: the idempotency table keeps the answer the
	// handler gave keepForReplay (without the secret), and a replay
	// answers that.
	SecretOnce bool
	// Request is a value of the request body type (nil: no body).
	Request any
	// Response is a value of the success response body type (nil: none).
	Response any
	// Status is the success status. Default 200 (201 for idempotent POSTs
	// that create).
	Status int
	// Query documents query parameters.
	Query []queryParam
	// ContentType of a non-JSON success response (e.g. text/plain).
	ContentType string
	// SandboxOnly marks simulator routes.
	SandboxOnly bool
	// Doc is the operation's description (a paragraph); empty: its line
	// of operationDocs (openapi_docs.go). Every operation has one.
	Doc string
	// Errors are the business problem slugs the operation can answer
	// beyond those its shape implies (problemResponses); added to its
	// operationDocs line's.
	Errors []string
}

// named returns the operation with an id and a summary.
func (o operation) named(id, summary string) operation {
	o.ID, o.Summary = id, summary
	return o
}

// queryParam is one documented query parameter.
type queryParam struct {
	Name, Type, Doc string
}

// openAPI renders the document for the registered routes; base is the
// URL the request came to (scheme and host), which `servers` names.
func (s *Server) openAPI(base string) map[string]any {
	g := &schemaGen{defs: map[string]any{}}
	paths := map[string]map[string]any{}
	tags := map[string]bool{}
	for _, r := range s.routes {
		p := openAPIPath(r.path)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		op := r.op
		tags[op.Tag] = true
		o := map[string]any{"operationId": op.ID, "summary": op.Summary, "tags": []string{op.Tag}, "description": op.description()}
		var params []any
		for _, name := range pathParams(r.path) {
			params = append(params, map[string]any{"name": name, "in": "path", "required": true, "description": "the object's id",
				"schema": map[string]any{"type": "string"}, "example": exampleID(r.path, name)})
		}
		for _, q := range op.Query {
			params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Doc, "schema": map[string]any{"type": q.Type}})
		}
		if op.Idempotent {
			replays := "Replays the first response for 24 h"
			if op.SecretOnce {
				replays += " without its secret (shown only once)"
			}
			params = append(params, map[string]any{"name": headerIdempotencyKey, "in": "header", "required": false,
				"description": replays + "; a different body answers 422 idempotency_key_reused, a request in flight 409.",
				"schema":      map[string]any{"type": "string", "maxLength": 255}, "example": "order-4711-card"})
		}
		if !op.Public {
			params = append(params, map[string]any{"name": subaccount.Header, "in": "header", "required": false,
				"description": "Act as this sub-account of the key's tenant (docs/api.md \"Sub-accounts\"); absent or empty: the key's own tenant.",
				"schema":      map[string]any{"type": "string"}, "example": "ten_01JZ8X4Q2M7K9T3V5W6Y8A0B1C"})
		}
		if len(params) > 0 {
			o["parameters"] = params
		}
		if op.Request != nil {
			sch := g.schema(reflect.TypeOf(op.Request), true)
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": sch, "example": g.example(sch, true, "", 0)}}}
		}
		status := op.Status
		if status == 0 {
			status = http.StatusOK
		}
		resp := map[string]any{"description": http.StatusText(status)}
		switch {
		case op.ContentType == fiber.MIMEApplicationJSON: // this document
			resp["content"] = map[string]any{op.ContentType: map[string]any{"schema": map[string]any{"type": "object", "description": "an OpenAPI 3.1 document"},
				"example": map[string]any{"openapi": "3.1.0", "info": map[string]any{"title": "cardhost issuance API", "version": s.cfg.Version}}}}
		case op.ContentType != "":
			resp["content"] = map[string]any{op.ContentType: map[string]any{"schema": map[string]any{"type": "string"}}}
		case op.Response != nil:
			sch := g.schema(reflect.TypeOf(op.Response), false)
			resp["content"] = map[string]any{"application/json": map[string]any{"schema": sch, "example": g.example(sch, false, "", 0)}}
		}
		responses := problemResponses(r)
		responses[itoa(status)] = resp
		responses["default"] = map[string]any{"$ref": "#/components/responses/Problem"}
		o["responses"] = responses
		if op.Public {
			o["security"] = []any{}
		}
		paths[p][strings.ToLower(r.method)] = o
	}
	g.schema(reflect.TypeOf(Problem{}), false)
	var tagList []any
	for _, t := range slices.Sorted(maps.Keys(tags)) {
		tagList = append(tagList, map[string]any{"name": t, "description": tagDocs[t]})
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "cardhost issuance API",
			"version":     s.cfg.Version,
			"description": "REST API of cardhost, an open-source issuer processor. Authenticate with a tenant API key (`Authorization: Bearer chk_...`). All errors are RFC 9457 problem details (`application/problem+json`) with a machine `slug`; each operation lists the ones it can answer. JSON answers end with a newline.",
			"license":     map[string]any{"name": "Apache-2.0", "identifier": "Apache-2.0"},
		},
		"servers":  []any{map[string]any{"url": base, "description": "this cardhost (the address this document was read from)"}},
		"security": []any{map[string]any{"bearerAuth": []any{}}},
		"tags":     tagList,
		"paths":    paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearerAuth": map[string]any{"type": "http", "scheme": "bearer", "description": "A tenant API key (chk_...)."}},
			"schemas":         g.defs,
			"responses": map[string]any{"Problem": map[string]any{
				"description": "RFC 9457 problem details",
				"content":     map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}},
			}},
		},
	}
}

// description is the operation's description: its Doc, or its line of
// operationDocs; sandbox-only operations say so first.
func (o operation) description() string {
	d := o.Doc
	if d == "" {
		d = operationDocs[o.ID].Doc
	}
	if o.SandboxOnly && !strings.HasPrefix(d, sandboxOnlyDoc) {
		d = strings.TrimSpace(sandboxOnlyDoc + " " + d)
	}
	return d
}

// sandboxOnlyDoc starts the description of sandbox-only operations.
const sandboxOnlyDoc = "Sandbox mode only."

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// openAPIPath turns fiber's "/v1/cards/:id" into "/v1/cards/{id}".
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + strings.TrimSuffix(s[1:], "?") + "}"
		}
	}
	return strings.Join(parts, "/")
}

func pathParams(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if strings.HasPrefix(s, ":") {
			out = append(out, strings.TrimSuffix(s[1:], "?"))
		}
	}
	return out
}

// schemaGen derives JSON Schemas (2020-12, as OpenAPI 3.1 uses) from Go types.
type schemaGen struct{ defs map[string]any }

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage(nil))
)

func (g *schemaGen) schema(t reflect.Type, request bool) map[string]any {
	if t.Kind() == reflect.Pointer {
		return g.schema(t.Elem(), request)
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem(), request)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem(), request)}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := t.Name()
		if name == "" {
			return g.structSchema(t, request)
		}
		if request {
			name += "Request"
		}
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = map[string]any{} // placeholder against recursion
			g.defs[name] = g.structSchema(t, request)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

func (g *schemaGen) structSchema(t reflect.Type, request bool) map[string]any {
	props := map[string]any{}
	var required []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			inner := g.structSchema(f.Type, request)
			for k, v := range inner["properties"].(map[string]any) {
				props[k] = v
			}
			if r, ok := inner["required"].([]string); ok {
				required = append(required, r...)
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := g.schema(f.Type, request)
		if _, isRef := s["$ref"]; isRef && (f.Tag.Get("doc") != "") {
			s = map[string]any{"allOf": []any{s}}
		}
		if d := f.Tag.Get("doc"); d != "" {
			s["description"] = d
		}
		// enum, format and example constrain a list's items, not the list.
		target := s
		if items, ok := s["items"].(map[string]any); ok && s["type"] == "array" {
			if _, isRef := items["$ref"]; !isRef {
				target = items
			}
		}
		if e := f.Tag.Get("enum"); e != "" {
			target["enum"] = strings.Split(e, ",")
		}
		if fm := f.Tag.Get("format"); fm != "" {
			target["format"] = fm
		}
		if ex := f.Tag.Get("example"); ex != "" {
			target["examples"] = []string{ex}
		}
		props[name] = s
		if request && f.Tag.Get("required") == "true" || !request && !strings.Contains(opts, "omitempty") {
			required = append(required, name)
		}
	}
	sort.Strings(required)
	out := map[string]any{"type": "object", "properties": props}
	if request {
		out["additionalProperties"] = false
	}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}
