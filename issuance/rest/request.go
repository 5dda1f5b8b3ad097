package rest

import (
	"bytes"
	"encoding/json"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

// decodeJSON decodes the request body into v: the content type must be
// JSON and the body UTF-8; then issuance.DecodeStrict, the one decoder of
// request bodies, renames the seed guides' field names (package alias)
// and decodes strictly: unknown fields are refused, exactly one value.
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
	if err := issuance.DecodeStrict(c.Body(), v); err != nil {
		return err
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
