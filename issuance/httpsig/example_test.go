package httpsig_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"time"

	"github.com/cardhost/cardhost/issuance/httpsig"
)

// ExampleSign signs a POST with the Ed25519 test key of RFC 9421
// (Appendix B.1.4). Ed25519 signatures are deterministic, so the headers
// are fixed for a fixed body and time. The digest and the signature were
// checked independently with OpenSSL (openssl dgst -sha256; openssl
// pkeyutl -verify -rawin over the signature base).
func ExampleSign() {
	blk, _ := pem.Decode([]byte(`-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----`))
	k, _ := x509.ParsePKCS8PrivateKey(blk.Bytes)
	body := []byte(`{"layout":"standard-blue-v1"}`)
	req, _ := http.NewRequest("POST", "http://127.0.0.1:8080/v1/card-layouts", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer chk_...")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "layout-1")
	if err := httpsig.Sign(req, body, "issuer-key-1", k.(ed25519.PrivateKey), time.Unix(1767225600, 0)); err != nil {
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
