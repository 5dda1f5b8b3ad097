package rest

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/alias"
	"github.com/cardhost/cardhost/issuance/subaccount"
)

// exampleIDs are example values of string properties, by property name:
// ids with the prefix of their kind, as the API gives them, and a few
// well-known values.
var exampleIDs = map[string]string{
	"card_id": "crd_01JB7Y3K2M5Q8R9S0T1V2W3X4Y", "original_authorization_id": "auth_01JB7Y4A7C9E1G3J5L7N9Q1S3U",
	"authorization_id": "auth_01JB7Y4A7C9E1G3J5L7N9Q1S3U", "product_id": "prd_01JB7XZ8D6F4H2K0M8P6R4T2V0",
	"data_prep_template_id": "tpl_01JB7XY5B3D1F9H7K5M3P1R9T7", "template_id": "tpl_01JB7XY5B3D1F9H7K5M3P1R9T7",
	"default_embosser_id": "emb_01JB7XY9C7E5G3J1L9N7Q5S3U1", "embosser_id": "emb_01JB7XY9C7E5G3J1L9N7Q5S3U1",
	"layout_id": "lay_01JB7XYB2D0F8H6K4M2P0R8T6V4", "cardholder_id": "chd_01JB7XZ2E0G8J6L4N2Q0S8U6W4",
	"certificate_id": "crt_01JB7XX4A2C0E8G6J4L2N0Q8S6", "tenant_id": "ten_01JB7XW0Z8B6D4F2H0K8M6P4R2",
	"batch_id": "bat_01JB7Y5F3H1K9M7P5R3T1V9X7Z", "order_id": "ord_01JB7Y3M4P2R0T8V6X4Z2B0D8F",
	"request_id": "req-2026-01-31-0001", "reference_id": "CARD-000123",
	// Not ids, but a reader recognises them better than "string".
	"name": "Blue plastic", "currency": "USD", "country": "US", "mcc": "5999", "card_holder_name": "ADA LOVELACE",
	"printed_name": "ADA LOVELACE", "layout": "standard-blue-v1", "iin": "40000018", "aid": "A0000000031010",
}

// exampleID is an example of the id in path parameter name of path: the
// prefix of the collection the path names.
func exampleID(path, name string) string {
	for _, seg := range []struct{ part, field string }{{"/cards/", "card_id"}, {"/authorizations/", "authorization_id"},
		{"/card-products/", "product_id"}, {"/data-prep-templates/", "template_id"}, {"/embossers/", "embosser_id"},
		{"/card-layouts/", "layout_id"}, {"/cardholders/", "cardholder_id"}, {"/certificates/", "certificate_id"},
		{"/card-batches/", "batch_id"}, {"/orders/", "order_id"}} {
		if strings.Contains(path, seg.part+":"+name) {
			return exampleIDs[seg.field]
		}
	}
	return "id_01JB7Y3K2M5Q8R9S0T1V2W3X4Y"
}

// example builds an example value of schema sch (resolving references in
// g.defs): the property's own example or first enum value, else a value
// of its type and format. Request examples hold the required properties
// and those with an example of their own; response examples hold every
// property. The test validates each against its schema.
func (g *schemaGen) example(sch map[string]any, request bool, name string, depth int) any {
	if ref, ok := sch["$ref"].(string); ok {
		def, _ := g.defs[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
		return g.example(def, request, name, depth)
	}
	if all, ok := sch["allOf"].([]any); ok && len(all) > 0 {
		first, _ := all[0].(map[string]any)
		return g.example(first, request, name, depth)
	}
	if ex, ok := sch["examples"].([]string); ok && len(ex) > 0 {
		return ex[0]
	}
	if enum, ok := sch["enum"].([]string); ok && len(enum) > 0 {
		return enum[0]
	}
	switch sch["type"] {
	case "string":
		if id, ok := exampleIDs[name]; ok {
			return id
		}
		switch sch["format"] {
		case "date-time":
			return "2026-01-31T12:00:00Z"
		case "date":
			return "2026-01-31"
		}
		if sch["contentEncoding"] == "base64" {
			return "AAECAwQFBgc="
		}
		return "string"
	case "integer":
		return 1000
	case "number":
		return 1.5
	case "boolean":
		return false
	case "array":
		items, _ := sch["items"].(map[string]any)
		if depth > 6 || items == nil {
			return []any{}
		}
		return []any{g.example(items, request, strings.TrimSuffix(name, "s"), depth+1)}
	case "object":
		out := map[string]any{}
		props, _ := sch["properties"].(map[string]any)
		if props == nil {
			if add, ok := sch["additionalProperties"].(map[string]any); ok && depth <= 6 {
				out["key"] = g.example(add, request, "", depth+1)
			}
			return out
		}
		required, _ := sch["required"].([]string)
		for k, v := range props {
			p, _ := v.(map[string]any)
			_, hasExample := p["examples"]
			if request && !slices.Contains(required, k) && !hasExample {
				continue
			}
			if depth > 6 && !slices.Contains(required, k) {
				continue
			}
			out[k] = g.example(p, request, k, depth+1)
		}
		return out
	}
	return map[string]any{}
}

// problemCase is one problem answer an operation can give.
type problemCase struct {
	slug, when string
}

// problemResponses documents the problem answers of a route, by status:
// those its shape implies (a query parameter that is not UTF-8 is refused
// by every route; a key, an id, a body, an idempotency key or sandbox mode
// bring theirs) and the business slugs its opDoc and operation list.
func problemResponses(r route) map[string]any {
	byStatus := map[int][]problemCase{}
	add := func(slug, when string) {
		st := statusOf(slug)
		for _, pc := range byStatus[st] {
			if pc.slug == slug {
				return
			}
		}
		byStatus[st] = append(byStatus[st], problemCase{slug, when})
	}
	op := r.op
	if op.Request != nil {
		add(slugMalformedJSON, "the body is not JSON")
		add(issuance.SlugValidationFailed, "a field breaks a rule, is unknown, or is a seed guide's field cardhost has no equivalent for; `errors` names each field")
		add(slugBodyTooLarge, "the body is over the configured limit")
		add(slugUnsupportedMediaType, "the body is not application/json")
	} else {
		add(issuance.SlugValidationFailed, "a query parameter is not valid (or not UTF-8)")
	}
	if !op.Public {
		add(issuance.SlugUnauthorized, "no API key, or an unknown or revoked one")
		add(slugSignatureInvalid, "the tenant signs its requests and this one's signature is missing or wrong")
		add(slugRateLimited, "over the tenant's request rate; Retry-After says when to try again")
		add(subaccount.SlugNotFound, "x-on-behalf-of names no sub-account of the key's tenant")
		add(subaccount.SlugNotAllowed, "x-on-behalf-of sent with a sub-account's key: sub-accounts act for no other tenant")
	}
	if len(pathParams(r.path)) > 0 {
		add(issuance.SlugNotFound, "no such object for this tenant (another tenant's id answers the same)")
	}
	if op.SandboxOnly {
		add(issuance.SlugSandboxOnly, "the instance is not in sandbox mode and the tenant is not a sandbox tenant")
	}
	if op.Idempotent {
		add(issuance.SlugIdempotencyKeyReused, "the Idempotency-Key was used with another body")
		add(issuance.SlugIdempotencyInProgress, "a request with this Idempotency-Key is still in flight")
		add(slugIdempotencyKeyRequired, "the tenant's idempotency_policy is required and the request has no Idempotency-Key")
		add(alias.SlugConflictingFields, "Idempotency-Key and x-idempotency-key differ, or the body names a field under two names (docs/api.md \"Guide field names\")")
	}
	for _, slug := range append(slices.Clone(operationDocs[op.ID].Errors), op.Errors...) {
		add(slug, "")
	}
	out := map[string]any{}
	for st, cases := range byStatus {
		var lines []string
		for _, pc := range cases {
			line := "`" + pc.slug + "`"
			if pc.when != "" {
				line += ": " + pc.when
			}
			lines = append(lines, line)
		}
		sort.Strings(lines)
		first := cases[0]
		out[itoa(st)] = map[string]any{
			"description": http.StatusText(st) + ". " + strings.Join(lines, "; "),
			"content": map[string]any{"application/problem+json": map[string]any{
				"schema": map[string]any{"$ref": "#/components/schemas/Problem"},
				"example": map[string]any{"type": problemTypeBase + first.slug, "title": http.StatusText(st), "status": st,
					"slug": first.slug, "detail": fmt.Sprintf("%s (%s)", http.StatusText(st), first.slug), "request_id": "req_01JB7Y6Q2S4U6W8Y0A2C4E6G8J"},
			}},
		}
	}
	return out
}
