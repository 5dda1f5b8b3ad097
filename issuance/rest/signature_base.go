package rest

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

	"github.com/cardhost/cardhost/issuance/ca"
)

// RFC 9421 HTTP message signatures: the signature base (§2.5) and the
// verification of the three algorithms cardhost accepts (§3.3.4-3.3.6).
// This file knows nothing of fiber; signature.go adapts a request to
// sigMessage and applies cardhost's policy (which components must be
// covered, the time window, the digest).

// sigMessage is an HTTP message as the signature base sees it.
type sigMessage struct {
	method    string // request method as sent ("POST")
	scheme    string // "http" or "https"
	authority string // host[:port], lower-cased
	path      string // absolute path as sent (percent-encoded), "" -> "/"
	query     string // query without '?', as sent ("" when none)
	status    int    // responses only (0 for requests)
	// header returns a field's values in order (name lower-case), nil when
	// the field is absent.
	header func(name string) []string
}

// errSigBase is a signature base that cannot be built: a covered component
// is absent, unknown or malformed. Its text is safe for a client.
type errSigBase struct{ msg string }

func (e errSigBase) Error() string { return e.msg }

// componentValue returns the value of one covered component (§2.1, §2.2).
func (m sigMessage) componentValue(it sfItem) (string, error) {
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
	vals := m.header(name)
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
func (m sigMessage) derived(name string) (string, error) {
	path := m.path
	if path == "" {
		path = "/"
	}
	switch name {
	case "@method":
		return m.method, nil
	case "@scheme":
		return strings.ToLower(m.scheme), nil
	case "@authority":
		return strings.ToLower(m.authority), nil
	case "@path":
		return path, nil
	case "@query":
		return "?" + m.query, nil
	case "@request-target":
		if m.query != "" {
			return path + "?" + m.query, nil
		}
		return path, nil
	case "@target-uri":
		u := strings.ToLower(m.scheme) + "://" + strings.ToLower(m.authority) + path
		if m.query != "" {
			u += "?" + m.query
		}
		return u, nil
	case "@status":
		if m.status == 0 {
			return "", errSigBase{`"@status" is only defined for responses`}
		}
		return strconv.Itoa(m.status), nil
	}
	return "", errSigBase{"unknown derived component " + strconv.Quote(name)}
}

// queryParam returns a query parameter's value, decoded then re-encoded
// (§2.2.8). A parameter that appears more than once cannot be covered
// unambiguously here and is refused.
func (m sigMessage) queryParam(name string) (string, error) {
	var found []string
	for _, pair := range strings.Split(m.query, "&") {
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
func signatureBase(m sigMessage, input sfInnerList) ([]byte, error) {
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

// verifySignatureBytes checks a signature over base with the tenant's
// public key and algorithm: ECDSA as r || s (fixed length, §3.3.4-3.3.5),
// Ed25519 (§3.3.6).
func verifySignatureBytes(pub crypto.PublicKey, alg ca.SigningAlgorithm, base, sig []byte) error {
	switch alg {
	case ca.SigningECDSAP256, ca.SigningECDSAP384:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("verifying signature: key is not ECDSA")
		}
		size := 32
		var digest []byte
		if alg == ca.SigningECDSAP256 {
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
	case ca.SigningEd25519:
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
