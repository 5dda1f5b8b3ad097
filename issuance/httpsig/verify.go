package httpsig

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Window is how far a signature's created time may be from the verifier's
// clock, either way, and the longest a signature is accepted after it was
// created.
const Window = 5 * time.Minute

// Error is a rejected signature. Reason says which check failed; it is
// safe to show to the client and names no secret.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

// reject returns a rejection.
func reject(format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// headerValue joins a field's values as one list value.
func headerValue(m Message, name string) (string, bool) {
	vals := m.Header(name)
	if vals == nil {
		return "", false
	}
	return strings.Join(vals, ", "), true
}

// AcceptSignature is the Accept-Signature answer (RFC 9421 §5.1): what a
// request signed with the key keyID must cover.
func AcceptSignature(keyID string, alg Algorithm) string {
	return `sig1=("@method" "@path" "content-digest" "idempotency-key");keyid="` + keyID + `";alg="` + string(alg) + `";created`
}

// Verify checks the RFC 9421 signature of a request with body, made with
// the key keyID (public key pub, algorithm alg), at time now. Its policy:
//
//   - Signature-Input holds a member whose keyid is keyID, with a created
//     time within [Window] of now (and, optionally, expires and alg);
//   - the covered components include "@method" and "@path",
//     "content-digest" when the request has a body or that header, and
//     "idempotency-key" when that header is sent, "x-idempotency-key"
//     (the seed guides' name of it, docs/api.md "Guide field names") when
//     that one is, and "x-on-behalf-of" when it is (a signed request
//     cannot be replayed for another sub-account);
//   - Content-Digest (RFC 9530) carries sha-256 or sha-512 of the body;
//   - Signature holds the same label's signature over the signature base.
//
// A rejection is an [*Error]; any other error means the key itself is
// unusable (a server fault).
func Verify(m Message, body []byte, keyID string, pub crypto.PublicKey, alg Algorithm, now time.Time) error {
	inputField, ok := headerValue(m, "signature-input")
	if !ok {
		return reject("missing Signature-Input header: this tenant signs its requests (RFC 9421)")
	}
	sigField, ok := headerValue(m, "signature")
	if !ok {
		return reject("missing Signature header")
	}
	inputs, err := parseSFDictionary(inputField)
	if err != nil {
		return reject("malformed Signature-Input header (RFC 8941 dictionary expected)")
	}
	sigs, err := parseSFDictionary(sigField)
	if err != nil {
		return reject("malformed Signature header (RFC 8941 dictionary expected)")
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
		return reject("unknown keyid: no Signature-Input member has the keyid of the tenant's registered key")
	}
	sigMem, ok := sigs.get(label)
	if !ok || sigMem.item == nil || sigMem.item.bare.kind != sfBytes {
		return reject("the Signature header has no byte sequence for label %q", label)
	}

	// Parameters: alg, created, expires.
	if a, ok := input.params.get("alg"); ok && (a.kind != sfString || a.s != string(alg)) {
		return reject("algorithm mismatch: the registered key signs with %s", alg)
	}
	created, ok := input.params.get("created")
	if !ok || created.kind != sfInteger {
		return reject("the signature has no created parameter (an integer UNIX time)")
	}
	at := time.Unix(created.i, 0)
	switch {
	case at.After(now.Add(Window)):
		return reject("created is in the future (more than %s ahead of the server clock)", Window)
	case now.Sub(at) > Window:
		return reject("signature expired: created more than %s ago", Window)
	}
	if exp, ok := input.params.get("expires"); ok {
		if exp.kind != sfInteger {
			return reject("the expires parameter must be an integer UNIX time")
		}
		if !now.Before(time.Unix(exp.i, 0)) {
			return reject("signature expired: past its expires time")
		}
	}

	// Covered components the policy requires.
	covered := map[string]bool{}
	for _, it := range input.items {
		if it.bare.kind == sfString && len(it.params) == 0 {
			covered[it.bare.s] = true
		}
	}
	_, hasDigest := headerValue(m, "content-digest")
	_, hasIdem := headerValue(m, "idempotency-key")
	_, hasOnBehalf := headerValue(m, "x-on-behalf-of")
	_, hasXIdem := headerValue(m, "x-idempotency-key")
	var missing []string
	for _, need := range []struct {
		name     string
		required bool
	}{
		{"@method", true},
		{"@path", true},
		{"content-digest", len(body) > 0 || hasDigest},
		{"idempotency-key", hasIdem},
		{"x-on-behalf-of", hasOnBehalf},
		{"x-idempotency-key", hasXIdem},
	} {
		if need.required && !covered[need.name] {
			missing = append(missing, need.name)
		}
	}
	if len(missing) > 0 {
		return reject("covered components missing: %s", strings.Join(missing, ", "))
	}

	// The body's digest.
	if len(body) > 0 && !hasDigest {
		return reject("missing Content-Digest header: a request with a body carries its sha-256 or sha-512 digest (RFC 9530)")
	}
	if hasDigest {
		if err := checkContentDigest(m, body); err != nil {
			return err
		}
	}

	base, err := signatureBase(m, *input)
	var be errSigBase
	if errors.As(err, &be) {
		return reject("cannot build the signature base: %s", be.msg)
	}
	if err != nil {
		return err
	}
	err = verifySignatureBytes(pub, alg, base, sigMem.item.bare.b)
	if errors.Is(err, errBadSignature) {
		return reject("bad signature: it does not verify with the registered key over the signature base")
	}
	return err
}

// checkContentDigest checks Content-Digest against the body: every sha-256
// and sha-512 member must match and at least one must be there; other
// algorithms are ignored (RFC 9530 §2).
func checkContentDigest(m Message, body []byte) error {
	v, _ := headerValue(m, "content-digest")
	d, err := parseSFDictionary(v)
	if err != nil {
		return reject("malformed Content-Digest header (RFC 9530)")
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
			return reject("malformed Content-Digest header: %s must be a byte sequence", mem.key)
		}
		if subtle.ConstantTimeCompare(mem.item.bare.b, sum) != 1 {
			return reject("bad digest: Content-Digest %s does not match the request body", mem.key)
		}
		checked++
	}
	if checked == 0 {
		return reject("Content-Digest has no sha-256 or sha-512 digest")
	}
	return nil
}
