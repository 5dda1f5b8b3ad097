package rest

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ca"
)

// Request signing (DESIGN.md "REST API"; docs/api.md "Request signing"). A
// tenant that registered a public key must sign every request with RFC 9421
// HTTP message signatures:
//
//   - Signature-Input holds a member whose keyid is the registered key id,
//     with a created time (and optionally expires) and, optionally, alg;
//   - the covered components include "@method" and "@path", "content-digest"
//     when the request has a body, and "idempotency-key" when that header
//     is sent;
//   - Content-Digest (RFC 9530) carries sha-256 or sha-512 of the body;
//   - Signature holds the same label's signature over the signature base.
//
// Every failure is a 401 signature_invalid whose detail names the check
// that failed; the Accept-Signature header says what to sign.

// signatureWindow is how far created may be from the server's clock, either
// way, and the longest a signature is accepted after it was created.
const signatureWindow = 5 * time.Minute

// sigFail is a signature_invalid rejection.
func sigFail(format string, args ...any) error {
	return &issuance.Error{Slug: slugSignatureInvalid, Message: fmt.Sprintf(format, args...)}
}

// fiberSigMessage adapts a fiber request.
func fiberSigMessage(c *fiber.Ctx) sigMessage {
	req := c.Request()
	return sigMessage{
		method:    c.Method(),
		scheme:    c.Protocol(),
		authority: string(req.Host()),
		path:      string(req.URI().PathOriginal()),
		query:     string(req.URI().QueryString()),
		header: func(name string) []string {
			vals := req.Header.PeekAll(name)
			if len(vals) == 0 {
				return nil
			}
			out := make([]string, len(vals))
			for i, v := range vals {
				out[i] = string(v)
			}
			return out
		},
	}
}

// headerValue joins a field's values as one list value.
func headerValue(m sigMessage, name string) (string, bool) {
	vals := m.header(name)
	if vals == nil {
		return "", false
	}
	return strings.Join(vals, ", "), true
}

// acceptSignature is the Accept-Signature answer (RFC 9421 §5.1): what a
// request from this tenant must cover.
func acceptSignature(t issuance.Tenant, alg ca.SigningAlgorithm) string {
	return `sig1=("@method" "@path" "content-digest" "idempotency-key");keyid="` + t.SigningKeyID + `";alg="` + string(alg) + `";created`
}

// verifySignature checks the RFC 9421 signature of a request from a tenant
// that registered a signing key, at time now.
func verifySignature(c *fiber.Ctx, t issuance.Tenant, now time.Time) error {
	pub, alg, err := ca.ParseSigningKey(t.SigningKeyPEM)
	if err != nil {
		return fmt.Errorf("reading the tenant's signing key: %w", err)
	}
	err = checkSignature(fiberSigMessage(c), c.Body(), t.SigningKeyID, pub, alg, now)
	var e *issuance.Error
	if errors.As(err, &e) {
		c.Set("Accept-Signature", acceptSignature(t, alg))
	}
	return err
}

// checkSignature applies cardhost's signing policy to a message.
func checkSignature(m sigMessage, body []byte, keyID string, pub any, alg ca.SigningAlgorithm, now time.Time) error {
	inputField, ok := headerValue(m, "signature-input")
	if !ok {
		return sigFail("missing Signature-Input header: this tenant signs its requests (RFC 9421)")
	}
	sigField, ok := headerValue(m, "signature")
	if !ok {
		return sigFail("missing Signature header")
	}
	inputs, err := parseSFDictionary(inputField)
	if err != nil {
		return sigFail("malformed Signature-Input header (RFC 8941 dictionary expected)")
	}
	sigs, err := parseSFDictionary(sigField)
	if err != nil {
		return sigFail("malformed Signature header (RFC 8941 dictionary expected)")
	}

	// The member signed with the registered key.
	var label string
	var input *sfInnerList
	for _, mem := range inputs {
		if mem.inner == nil {
			continue
		}
		if k, ok := mem.inner.params.get("keyid"); ok && k.kind == sfString && k.s == keyID {
			label, input = mem.key, mem.inner
			break
		}
	}
	if input == nil {
		return sigFail("unknown keyid: no Signature-Input member has the keyid of the tenant's registered key")
	}
	sigMem, ok := sigs.get(label)
	if !ok || sigMem.item == nil || sigMem.item.bare.kind != sfBytes {
		return sigFail("the Signature header has no byte sequence for label %q", label)
	}

	// Parameters: alg, created, expires.
	if a, ok := input.params.get("alg"); ok && (a.kind != sfString || a.s != string(alg)) {
		return sigFail("algorithm mismatch: the registered key signs with %s", alg)
	}
	created, ok := input.params.get("created")
	if !ok || created.kind != sfInteger {
		return sigFail("the signature has no created parameter (an integer UNIX time)")
	}
	at := time.Unix(created.i, 0)
	switch {
	case at.After(now.Add(signatureWindow)):
		return sigFail("created is in the future (more than %s ahead of the server clock)", signatureWindow)
	case now.Sub(at) > signatureWindow:
		return sigFail("signature expired: created more than %s ago", signatureWindow)
	}
	if exp, ok := input.params.get("expires"); ok {
		if exp.kind != sfInteger {
			return sigFail("the expires parameter must be an integer UNIX time")
		}
		if !now.Before(time.Unix(exp.i, 0)) {
			return sigFail("signature expired: past its expires time")
		}
	}

	// Covered components cardhost requires.
	covered := map[string]bool{}
	for _, it := range input.items {
		if it.bare.kind == sfString && len(it.params) == 0 {
			covered[it.bare.s] = true
		}
	}
	_, hasDigest := headerValue(m, "content-digest")
	_, hasIdem := headerValue(m, "idempotency-key")
	var missing []string
	for _, need := range []struct {
		name     string
		required bool
	}{
		{"@method", true},
		{"@path", true},
		{"content-digest", len(body) > 0 || hasDigest},
		{"idempotency-key", hasIdem},
	} {
		if need.required && !covered[need.name] {
			missing = append(missing, need.name)
		}
	}
	if len(missing) > 0 {
		return sigFail("covered components missing: %s", strings.Join(missing, ", "))
	}

	// The body's digest.
	if len(body) > 0 && !hasDigest {
		return sigFail("missing Content-Digest header: a request with a body carries its sha-256 or sha-512 digest (RFC 9530)")
	}
	if hasDigest {
		if err := checkContentDigest(m, body); err != nil {
			return err
		}
	}

	base, err := signatureBase(m, *input)
	var be errSigBase
	if errors.As(err, &be) {
		return sigFail("cannot build the signature base: %s", be.msg)
	}
	if err != nil {
		return err
	}
	err = verifySignatureBytes(pub, alg, base, sigMem.item.bare.b)
	if errors.Is(err, errBadSignature) {
		return sigFail("bad signature: it does not verify with the registered key over the signature base")
	}
	return err
}

// checkContentDigest checks Content-Digest against the body: every sha-256
// and sha-512 member must match and at least one must be there; other
// algorithms are ignored (RFC 9530 §2).
func checkContentDigest(m sigMessage, body []byte) error {
	v, _ := headerValue(m, "content-digest")
	d, err := parseSFDictionary(v)
	if err != nil {
		return sigFail("malformed Content-Digest header (RFC 9530)")
	}
	checked := 0
	for _, mem := range d {
		var sum []byte
		switch mem.key {
		case "sha-256":
			h := sha256.Sum256(body)
			sum = h[:]
		case "sha-512":
			h := sha512.Sum512(body)
			sum = h[:]
		default:
			continue
		}
		if mem.item == nil || mem.item.bare.kind != sfBytes {
			return sigFail("malformed Content-Digest header: %s must be a byte sequence", mem.key)
		}
		if subtle.ConstantTimeCompare(mem.item.bare.b, sum) != 1 {
			return sigFail("bad digest: Content-Digest %s does not match the request body", mem.key)
		}
		checked++
	}
	if checked == 0 {
		return sigFail("Content-Digest has no sha-256 or sha-512 digest")
	}
	return nil
}
