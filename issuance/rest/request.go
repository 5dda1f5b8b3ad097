package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

// decodeJSON strictly decodes the request body into v: the content type
// must be JSON, unknown fields are rejected, exactly one JSON value.
func decodeJSON(c *fiber.Ctx, v any) error {
	ct := c.Get(fiber.HeaderContentType)
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != fiber.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json")) {
		return &issuance.Error{Slug: slugUnsupportedMediaType, Message: "the request body must be application/json"}
	}
	if !utf8.Valid(c.Body()) {
		// RFC 8259 section 8.1: JSON between systems is UTF-8. Other bytes
		// would reach PostgreSQL where a handler keeps raw JSON (a batch's
		// items), which refuses them (a 500).
		return &issuance.Error{Slug: slugMalformedJSON, Message: "the request body is not UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &issuance.Error{Slug: slugMalformedJSON, Message: "the request body must hold exactly one JSON value"}
	}
	if hasNUL(c.Body()) {
		return &issuance.Error{Slug: issuance.SlugValidationFailed, Message: "the request has invalid fields",
			Fields: []issuance.FieldError{{Field: "(body)", Code: "invalid", Message: `strings and keys must not contain U+0000 (\u0000)`}}}
	}
	return nil
}

// hasNUL reports whether a string or key of the JSON body holds U+0000,
// which PostgreSQL cannot store in text or jsonb (the statement fails, a
// 500); it is never meaningful in this API. Only bodies holding the
// escape are walked.
func hasNUL(body []byte) bool {
	if !bytes.Contains(body, []byte(`\u0000`)) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if s, ok := tok.(string); ok && strings.IndexByte(s, 0) >= 0 {
			return true
		}
	}
}

// jsonError turns a decoding error into a client error without echoing
// request content (which may hold card data).
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &issuance.Error{Slug: slugMalformedJSON, Message: fmt.Sprintf("malformed JSON at byte %d", syn.Offset)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &issuance.Error{Slug: slugMalformedJSON, Message: "the request body is empty or truncated"}
	case errors.As(err, &typ):
		field := jsonPath(typ.Field)
		if field == "" {
			field = "(body)"
		}
		return &issuance.Error{Slug: issuance.SlugValidationFailed, Message: "the request has invalid fields",
			Fields: []issuance.FieldError{{Field: field, Code: "invalid_type", Message: "must be " + jsonTypeName(typ.Type.Kind().String())}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &issuance.Error{Slug: issuance.SlugValidationFailed, Message: "the request has invalid fields",
			Fields: []issuance.FieldError{{Field: name, Code: "unknown", Message: "unknown field"}}}
	default:
		return &issuance.Error{Slug: slugMalformedJSON, Message: "malformed JSON"}
	}
}

// jsonPath is a decoding error's field path without the Go names of
// embedded structs (issuance.CardRequest embeds lifecycle.Request), which
// encoding/json puts in it: JSON names here are lower-case.
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	out := parts[:0]
	for _, p := range parts {
		if p != "" && (p[0] < 'A' || p[0] > 'Z') {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}

func jsonTypeName(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer"
	case strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "bool":
		return "a boolean"
	case kind == "string":
		return "a string"
	case kind == "slice", kind == "array":
		return "an array"
	case kind == "map", kind == "struct":
		return "an object"
	}
	return "a valid value"
}
