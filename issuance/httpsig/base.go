package httpsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
)

// The signature base (RFC 9421 §2.5) and the verification of the three
// algorithms cardhost accepts (§3.3.4-3.3.6). verify.go applies the
// policy (which components must be covered, the time window, the digest).

// Algorithm is an RFC 9421 signature algorithm name (HTTP Signature
// Algorithms registry).
type Algorithm string

// The algorithms [Verify] accepts.
const (
	ECDSAP256SHA256 Algorithm = "ecdsa-p256-sha256" // RFC 9421 §3.3.4
	ECDSAP384SHA384 Algorithm = "ecdsa-p384-sha384" // RFC 9421 §3.3.5
	Ed25519         Algorithm = "ed25519"           // RFC 9421 §3.3.6
)

// Message is an HTTP message as the signature base sees it.
type Message struct {
	Method    string // request method as sent ("POST")
	Scheme    string // "http" or "https"
	Authority string // host[:port]
	Path      string // absolute path as sent (percent-encoded), "" -> "/"
	Query     string // query without '?', as sent ("" when none)
	Status    int    // responses only (0 for requests)
	// Header returns a field's values in order (name lower-case), nil when
	// the field is absent.
	Header func(name string) []string
}

// errSigBase is a signature base that cannot be built: a covered component
// is absent, unknown or malformed. Its text is safe for a client.
type errSigBase struct{ msg string }

func (e errSigBase) Error() string { return e.msg }

// componentValue returns the value of one covered component (§2.1, §2.2).
func (m Message) componentValue(it sfItem) (string, error) {
	if it.bare.kind != sfString {
		return "", errSigBase{"covered components must be strings"}
	}
	name := it.bare.s
	if name != strings.ToLower(name) || name == "" {
		return "", errSigBase{"component " + strconv.Quote(name) + " must be lower-case"}
	}
	if strings.HasPrefix(name, "@") {
		if name == "@query-param" {
			if len(it.params) != 1 || it.params[0].key != "name" || it.params[0].val.kind != sfString {
				return "", errSigBase{`"@query-param" needs exactly one parameter: name`}
			}
			return m.queryParam(it.params[0].val.s)
		}
		if len(it.params) > 0 {
			return "", errSigBase{"component parameters on " + strconv.Quote(name) + " are not supported"}
		}
		return m.derived(name)
	}
	if len(it.params) > 0 {
		return "", errSigBase{"component parameters (sf, key, bs, req, tr) on " + strconv.Quote(name) + " are not supported"}
	}
	vals := m.Header(name)
	if vals == nil {
		return "", errSigBase{"covered header " + strconv.Quote(name) + " is absent from the request"}
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = strings.TrimSpace(v)
	}
	return strings.Join(parts, ", "), nil
}

// derived returns a derived component's value (§2.2).
func (m Message) derived(name string) (string, error) {
	path := m.Path
	if path == "" {
		path = "/"
	}
	switch name {
	case "@method":
		return m.Method, nil
	case "@scheme":
		return strings.ToLower(m.Scheme), nil
	case "@authority":
		return strings.ToLower(m.Authority), nil
	case "@path":
		return path, nil
	case "@query":
		return "?" + m.Query, nil
	case "@request-target":
		if m.Query != "" {
			return path + "?" + m.Query, nil
		}
		return path, nil
	case "@target-uri":
		u := strings.ToLower(m.Scheme) + "://" + strings.ToLower(m.Authority) + path
		if m.Query != "" {
			u += "?" + m.Query
		}
		return u, nil
	case "@status":
		if m.Status == 0 {
			return "", errSigBase{`"@status" is only defined for responses`}
		}
		return strconv.Itoa(m.Status), nil
	}
	return "", errSigBase{"unknown derived component " + strconv.Quote(name)}
}

// queryParam returns a query parameter's value, decoded then re-encoded
// (§2.2.8). A parameter that appears more than once cannot be covered
// unambiguously here and is refused.
func (m Message) queryParam(name string) (string, error) {
	var found []string
	for _, pair := range strings.Split(m.Query, "&") {
		k, v, _ := strings.Cut(pair, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return "", errSigBase{"the query string is malformed"}
		}
		if dk == name {
			found = append(found, dv)
		}
	}
	switch len(found) {
	case 0:
		return "", errSigBase{"query parameter " + strconv.Quote(name) + " is absent"}
	case 1:
		return strings.ReplaceAll(url.QueryEscape(found[0]), "+", "%20"), nil
	}
	return "", errSigBase{"query parameter " + strconv.Quote(name) + " appears more than once"}
}

// signatureBase builds the signature base of a message for the covered
// components and signature parameters of one Signature-Input member
// (§2.5): one line per component, then the "@signature-params" line, with
// no trailing newline.
func signatureBase(m Message, input sfInnerList) ([]byte, error) {
	var sb strings.Builder
	seen := map[string]bool{}
	for _, it := range input.items {
		var id strings.Builder
		it.serialize(&id)
		if seen[id.String()] {
			return nil, errSigBase{"component " + id.String() + " is covered twice"}
		}
		seen[id.String()] = true
		v, err := m.componentValue(it)
		if err != nil {
			return nil, err
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, errSigBase{"component " + id.String() + " has a line break"}
		}
		sb.WriteString(id.String())
		sb.WriteString(": ")
		sb.WriteString(v)
		sb.WriteByte('\n')
	}
	sb.WriteString(`"@signature-params": `)
	sb.WriteString(input.String())
	return []byte(sb.String()), nil
}

// errBadSignature: the signature does not verify over the base.
var errBadSignature = errors.New("the signature does not verify")

// verifySignatureBytes checks a signature over base with the signer's
// public key and algorithm: ECDSA as r || s (fixed length, §3.3.4-3.3.5),
// Ed25519 (§3.3.6).
func verifySignatureBytes(pub crypto.PublicKey, alg Algorithm, base, sig []byte) error {
	switch alg {
	case ECDSAP256SHA256, ECDSAP384SHA384:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("verifying signature: key is not ECDSA")
		}
		size := 32
		var digest []byte
		if alg == ECDSAP256SHA256 {
			h := sha256.Sum256(base)
			digest = h[:]
		} else {
			size = 48
			h := sha512.Sum384(base)
			digest = h[:]
		}
		if len(sig) != 2*size {
			return errBadSignature
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		if !ecdsa.Verify(k, digest, r, s) {
			return errBadSignature
		}
		return nil
	case Ed25519:
		k, ok := pub.(ed25519.PublicKey)
		if !ok {
			return fmt.Errorf("verifying signature: key is not Ed25519")
		}
		if len(sig) != ed25519.SignatureSize || !ed25519.Verify(k, base, sig) {
			return errBadSignature
		}
		return nil
	}
	return fmt.Errorf("verifying signature: unknown algorithm %q", alg)
}
