package httpsig

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sign is the client side of the policy [Verify] applies, written with the
// standard library only, as an issuer would (docs/api.md, "Request
// signing"). It signs req, whose body is body, with key named keyID at
// time created:
//
//  1. Content-Digest: sha-256 of the body (RFC 9530), when there is a body;
//  2. the covered components: "@method", "@path", then "content-digest",
//     "idempotency-key" (and its alias "x-idempotency-key") and
//     "x-on-behalf-of" when present;
//  3. the signature parameters: created (UNIX seconds), keyid, alg;
//  4. the signature base (RFC 9421 §2.5): one `"name": value` line per
//     component and a last `"@signature-params": ...` line, joined by "\n";
//  5. the signature: Ed25519 over the base, or ECDSA over its SHA-256
//     (P-256) / SHA-384 (P-384) hash as r || s, each zero-padded to the
//     curve size (not ASN.1);
//  6. the Signature-Input and Signature headers, with the same label.
func Sign(req *http.Request, body []byte, keyID string, key crypto.Signer, created time.Time) error {
	components := []string{`"@method"`, `"@path"`}
	values := []string{req.Method, req.URL.EscapedPath()}
	if len(body) > 0 {
		sum := sha256.Sum256(body)
		digest := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
		req.Header.Set("Content-Digest", digest)
		components = append(components, `"content-digest"`)
		values = append(values, digest)
	}
	for _, h := range []string{"Idempotency-Key", "X-Idempotency-Key", "X-On-Behalf-Of"} {
		if k := req.Header.Get(h); k != "" {
			components = append(components, `"`+strings.ToLower(h)+`"`)
			values = append(values, k)
		}
	}
	var alg string
	switch k := key.Public().(type) {
	case ed25519.PublicKey:
		alg = "ed25519"
	case *ecdsa.PublicKey:
		alg = "ecdsa-p" + strconv.Itoa(k.Curve.Params().BitSize) + "-sha" + strconv.Itoa(k.Curve.Params().BitSize)
	default:
		return fmt.Errorf("unsupported key %T", k)
	}
	params := "(" + strings.Join(components, " ") + ");created=" + strconv.FormatInt(created.Unix(), 10) +
		`;keyid="` + keyID + `";alg="` + alg + `"`
	var base bytes.Buffer
	for i, c := range components {
		fmt.Fprintf(&base, "%s: %s\n", c, values[i])
	}
	base.WriteString(`"@signature-params": ` + params)

	var sig []byte
	switch k := key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, base.Bytes())
	case *ecdsa.PrivateKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		var digest []byte
		if size == 32 {
			h := sha256.Sum256(base.Bytes())
			digest = h[:]
		} else {
			h := crypto.SHA384.New()
			h.Write(base.Bytes())
			digest = h.Sum(nil)
		}
		r, s, err := ecdsa.Sign(rand.Reader, k, digest)
		if err != nil {
			return err
		}
		sig = make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
	default:
		return fmt.Errorf("unsupported key %T", k)
	}
	req.Header.Set("Signature-Input", "sig1="+params)
	req.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(sig)+":")
	return nil
}
