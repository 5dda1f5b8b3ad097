package rest_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// signRequest is the client side of cardhost's request signing, written
// with the standard library only, as an issuer would (docs/api.md,
// "Request signing"):
//
//  1. Content-Digest: sha-256 of the body (RFC 9530), when there is a body;
//  2. the covered components: "@method", "@path", then "content-digest"
//     and "idempotency-key" when present;
//  3. the signature parameters: created (UNIX seconds), keyid, alg;
//  4. the signature base (RFC 9421 §2.5): one `"name": value` line per
//     component and a last `"@signature-params": ...` line, joined by "\n";
//  5. the signature: Ed25519 over the base, or ECDSA over its SHA-256
//     (P-256) / SHA-384 (P-384) hash as r || s, each zero-padded to the
//     curve size (not ASN.1);
//  6. the Signature-Input and Signature headers, with the same label.
func signRequest(req *http.Request, body []byte, keyID string, key crypto.Signer, created time.Time) error {
	components := []string{`"@method"`, `"@path"`}
	values := []string{req.Method, req.URL.EscapedPath()}
	if len(body) > 0 {
		sum := sha256.Sum256(body)
		digest := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
		req.Header.Set("Content-Digest", digest)
		components = append(components, `"content-digest"`)
		values = append(values, digest)
	}
	if k := req.Header.Get("Idempotency-Key"); k != "" {
		components = append(components, `"idempotency-key"`)
		values = append(values, k)
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

// Example_requestSigning signs a POST with the Ed25519 test key of RFC 9421
// (Appendix B.1.4). Ed25519 signatures are deterministic, so the headers
// are fixed for a fixed body and time. The digest and the signature were
// checked independently with OpenSSL (openssl dgst -sha256; openssl
// pkeyutl -verify -rawin over the signature base).
func Example_requestSigning() {
	blk, _ := pem.Decode([]byte(`-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----`))
	k, _ := x509.ParsePKCS8PrivateKey(blk.Bytes)
	body := []byte(`{"layout":"standard-blue-v1"}`)
	req, _ := http.NewRequest("POST", "http://127.0.0.1:8080/v1/card-layouts", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer chk_...")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "layout-1")
	if err := signRequest(req, body, "issuer-key-1", k.(ed25519.PrivateKey), time.Unix(1767225600, 0)); err != nil {
		panic(err)
	}
	for _, h := range []string{"Content-Digest", "Signature-Input", "Signature"} {
		fmt.Printf("%s: %s\n", h, req.Header.Get(h))
	}
	// Output:
	// Content-Digest: sha-256=:tCITBfqIEJu3SADphjQ8yvvC+8lN9re/8/GU5l8dCeU=:
	// Signature-Input: sig1=("@method" "@path" "content-digest" "idempotency-key");created=1767225600;keyid="issuer-key-1";alg="ed25519"
	// Signature: sig1=:MtRAeVxI2r7xJg6bOeGIGLnwfDmzJ1z+1Z+vlFWkMhvhTbKLTcmBWl3MNUnOpWNFVta5ZTOT8dup/WkAMhD6Bg==:
}
