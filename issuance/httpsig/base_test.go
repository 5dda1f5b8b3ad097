package httpsig

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"
)

// Test vectors of RFC 9421 ("HTTP Message Signatures", February 2024),
// Appendix B: the test keys of B.1.3 (test-key-ecc-p256) and B.1.4
// (test-key-ed25519), the test-request and test-response messages of B.2,
// and the signature bases and signatures of B.2.1-B.2.6 (RFC 8792 line
// wrapping removed). Section 2.5's Figure 1 gives another base.

const (
	rfc9421ECCP256Public = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf
w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END PUBLIC KEY-----`
	rfc9421Ed25519Public = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----`
	rfc9421Ed25519Private = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----`

	rfc9421RequestDigest  = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
	rfc9421ResponseDigest = "sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:"
	rfc9421RequestBody    = `{"hello": "world"}`
	rfc9421ResponseBody   = `{"message": "good dog"}`
	rfc9421Created        = 1618884473
)

func headerFunc(h map[string][]string) func(string) []string {
	return func(name string) []string { return h[name] }
}

// rfc9421Request is B.2's test-request:
//
//	POST /foo?param=Value&Pet=dog HTTP/1.1
//	Host: example.com
//	Date: Tue, 20 Apr 2021 02:07:55 GMT
//	Content-Type: application/json
//	Content-Digest: sha-512=:WZDPaVn/...:
//	Content-Length: 18
func rfc9421Request(extra map[string][]string) Message {
	h := map[string][]string{
		"host":           {"example.com"},
		"date":           {"Tue, 20 Apr 2021 02:07:55 GMT"},
		"content-type":   {"application/json"},
		"content-digest": {rfc9421RequestDigest},
		"content-length": {"18"},
	}
	for k, v := range extra {
		h[k] = v
	}
	return Message{Method: "POST", Scheme: "https", Authority: "example.com", Path: "/foo", Query: "param=Value&Pet=dog", Header: headerFunc(h)}
}

// rfc9421Response is B.2's test-response (status 200).
func rfc9421Response() Message {
	return Message{Status: 200, Header: headerFunc(map[string][]string{
		"date":           {"Tue, 20 Apr 2021 02:07:56 GMT"},
		"content-type":   {"application/json"},
		"content-digest": {rfc9421ResponseDigest},
		"content-length": {"23"},
	})}
}

func parsePublic(t *testing.T, p string) any {
	t.Helper()
	blk, _ := pem.Decode([]byte(p))
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// inputMember parses one Signature-Input dictionary member.
func inputMember(t *testing.T, field, label string) sfInnerList {
	t.Helper()
	d, err := parseSFDictionary(field)
	if err != nil {
		t.Fatalf("parsing %s: %v", field, err)
	}
	m, ok := d.get(label)
	if !ok || m.inner == nil {
		t.Fatalf("no inner list %s in %s", label, field)
	}
	return *m.inner
}

func TestSignatureBaseRFC9421(t *testing.T) {
	for _, tc := range []struct {
		name, label, input string
		msg                Message
		base               []string
	}{
		{"section 2.5 figure 1", "sig1", `sig1=("@method" "@authority" "@path" "content-digest" "content-length" "content-type");created=1618884473;keyid="test-key-rsa-pss"`,
			rfc9421Request(nil), []string{
				`"@method": POST`,
				`"@authority": example.com`,
				`"@path": /foo`,
				`"content-digest": ` + rfc9421RequestDigest,
				`"content-length": 18`,
				`"content-type": application/json`,
				`"@signature-params": ("@method" "@authority" "@path" "content-digest" "content-length" "content-type");created=1618884473;keyid="test-key-rsa-pss"`,
			}},
		{"B.2.1 minimal", "sig-b21", `sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"`,
			rfc9421Request(nil), []string{
				`"@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"`,
			}},
		{"B.2.2 selective with @query-param", "sig-b22", `sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"`,
			rfc9421Request(nil), []string{
				`"@authority": example.com`,
				`"content-digest": ` + rfc9421RequestDigest,
				`"@query-param";name="Pet": dog`,
				`"@signature-params": ("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"`,
			}},
		{"B.2.3 full coverage", "sig-b23", `sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"`,
			rfc9421Request(nil), []string{
				`"date": Tue, 20 Apr 2021 02:07:55 GMT`,
				`"@method": POST`,
				`"@path": /foo`,
				`"@query": ?param=Value&Pet=dog`,
				`"@authority": example.com`,
				`"content-type": application/json`,
				`"content-digest": ` + rfc9421RequestDigest,
				`"content-length": 18`,
				`"@signature-params": ("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"`,
			}},
		{"B.2.4 response", "sig-b24", `sig-b24=("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"`,
			rfc9421Response(), []string{
				`"@status": 200`,
				`"content-type": application/json`,
				`"content-digest": ` + rfc9421ResponseDigest,
				`"content-length": 23`,
				`"@signature-params": ("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"`,
			}},
		{"B.2.6 ed25519", "sig-b26", `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`,
			rfc9421Request(nil), []string{
				`"date": Tue, 20 Apr 2021 02:07:55 GMT`,
				`"@method": POST`,
				`"@path": /foo`,
				`"@authority": example.com`,
				`"content-type": application/json`,
				`"content-length": 18`,
				`"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := signatureBase(tc.msg, inputMember(t, tc.input, tc.label))
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.Join(tc.base, "\n"); string(got) != want {
				t.Fatalf("signature base\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestRFC9421PublishedSignaturesVerify(t *testing.T) {
	for _, tc := range []struct {
		name, label, input, sig, key string
		alg                          Algorithm
		msg                          Message
	}{
		{"B.2.4 ecdsa-p256-sha256", "sig-b24", `sig-b24=("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"`,
			"wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==", rfc9421ECCP256Public, ECDSAP256SHA256, rfc9421Response()},
		{"B.2.6 ed25519", "sig-b26", `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`,
			"wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==", rfc9421Ed25519Public, Ed25519, rfc9421Request(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub := parsePublic(t, tc.key)
			base, err := signatureBase(tc.msg, inputMember(t, tc.input, tc.label))
			if err != nil {
				t.Fatal(err)
			}
			sig, _ := base64.StdEncoding.DecodeString(tc.sig)
			if err := verifySignatureBytes(pub, tc.alg, base, sig); err != nil {
				t.Fatalf("the RFC's signature does not verify: %v", err)
			}
			// One changed bit in the base or the signature fails.
			base[0] ^= 1
			if err := verifySignatureBytes(pub, tc.alg, base, sig); !errors.Is(err, errBadSignature) {
				t.Fatalf("changed base: %v, want errBadSignature", err)
			}
			base[0] ^= 1
			sig[len(sig)-1] ^= 1
			if err := verifySignatureBytes(pub, tc.alg, base, sig); !errors.Is(err, errBadSignature) {
				t.Fatalf("changed signature: %v, want errBadSignature", err)
			}
		})
	}

	// Ed25519 is deterministic: the B.1.4 private key reproduces B.2.6.
	blk, _ := pem.Decode([]byte(rfc9421Ed25519Private))
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	base, err := signatureBase(rfc9421Request(nil), inputMember(t, `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`, "sig-b26"))
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.StdEncoding.EncodeToString(ed25519.Sign(k.(ed25519.PrivateKey), base)); got != "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==" {
		t.Fatalf("B.2.6 signature %s", got)
	}
}

func TestContentDigestRFC9421Messages(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  Message
		body string
		ok   bool
	}{
		{"request", rfc9421Request(nil), rfc9421RequestBody, true},
		{"response", rfc9421Response(), rfc9421ResponseBody, true},
		{"request digest, other body", rfc9421Request(nil), rfc9421RequestBody + " ", false},
		{"sha-256 and an unknown algorithm", rfc9421Request(map[string][]string{"content-digest": {"md5=:AAAA:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"}}), rfc9421RequestBody, true},
		{"only unknown algorithms", rfc9421Request(map[string][]string{"content-digest": {"md5=:AAAA:"}}), rfc9421RequestBody, false},
		{"not a dictionary", rfc9421Request(map[string][]string{"content-digest": {"sha-256=AAAA"}}), rfc9421RequestBody, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkContentDigest(tc.msg, []byte(tc.body))
			if (err == nil) != tc.ok {
				t.Fatalf("checkContentDigest = %v, want ok %v", err, tc.ok)
			}
			var e *Error
			if err != nil && !errors.As(err, &e) {
				t.Fatalf("%v is not a rejection (*Error)", err)
			}
		})
	}
}

func TestStructuredFields(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
		label    string
		canon    string // canonical inner list of label, when ok
	}{
		{"canonical", `sig1=("@method" "@path");created=1;keyid="k"`, true, "sig1", `("@method" "@path");created=1;keyid="k"`},
		{"extra spaces", `sig1=( "@method"  "@path" );created=1;keyid="k" ,  sig2=()`, true, "sig1", `("@method" "@path");created=1;keyid="k"`},
		{"escapes", `s=("a\"b\\c");keyid="x"`, true, "s", `("a\"b\\c");keyid="x"`},
		{"boolean param", `s=();flag;other=?0`, true, "s", `();flag;other=?0`},
		{"token and decimal", `s=(tok 1.5);p=-2`, true, "s", `(tok 1.5);p=-2`},
		{"later duplicate wins", `s=("a"), s=("b")`, true, "s", `("b")`},
		{"trailing comma", `s=("a"),`, false, "", ""},
		{"unterminated list", `s=("a"`, false, "", ""},
		{"bad key", `Sig=("a")`, false, "", ""},
		{"unterminated string", `s=("a)`, false, "", ""},
		{"control character", "s=(\"a\x01\")", false, "", ""},
		{"integer too long", `s=();created=1234567890123456`, false, "", ""},
		{"bad byte sequence", `s=:***:`, false, "", ""},
		{"missing separator", `s=("a""b")`, false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseSFDictionary(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("parse err = %v, want ok %v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			m, _ := d.get(tc.label)
			if m.inner == nil || m.inner.String() != tc.canon {
				t.Fatalf("member %s = %+v, want %s", tc.label, m.inner, tc.canon)
			}
		})
	}
}

func TestSignaturePolicy(t *testing.T) {
	pub := parsePublic(t, rfc9421Ed25519Public)
	blk, _ := pem.Decode([]byte(rfc9421Ed25519Private))
	k, _ := x509.ParsePKCS8PrivateKey(blk.Bytes)
	priv := k.(ed25519.PrivateKey)
	now := time.Unix(rfc9421Created, 0)
	const keyID = "test-key-ed25519"

	// signed returns the RFC test-request with a signature over input.
	signed := func(input string, extra map[string][]string) Message {
		h := map[string][]string{"signature-input": {"sig1=" + input}}
		for k, v := range extra {
			h[k] = v
		}
		m := rfc9421Request(h)
		il := inputMember(t, "sig1="+input, "sig1")
		base, err := signatureBase(m, il)
		if err != nil {
			t.Fatal(err)
		}
		h["signature"] = []string{"sig1=:" + base64.StdEncoding.EncodeToString(ed25519.Sign(priv, base)) + ":"}
		return rfc9421Request(h)
	}
	good := `("@method" "@path" "content-digest");created=1618884473;keyid="test-key-ed25519";alg="ed25519"`
	body := []byte(rfc9421RequestBody)
	for _, tc := range []struct {
		name   string
		msg    Message
		body   []byte
		now    time.Time
		detail string // "" when the request passes
	}{
		{"valid", signed(good, nil), body, now, ""},
		{"valid with idempotency key", signed(`("@method" "@path" "content-digest" "idempotency-key");created=1618884473;keyid="test-key-ed25519"`, map[string][]string{"idempotency-key": {"k1"}}), body, now, ""},
		{"valid near the window's end", signed(good, nil), body, now.Add(Window), ""},
		{"missing Signature-Input", rfc9421Request(nil), body, now, "missing Signature-Input"},
		{"missing Signature", rfc9421Request(map[string][]string{"signature-input": {"sig1=" + good}}), body, now, "missing Signature header"},
		{"unknown keyid", signed(strings.Replace(good, keyID, "other", 1), nil), body, now, "unknown keyid"},
		{"wrong alg", signed(strings.Replace(good, `alg="ed25519"`, `alg="ecdsa-p256-sha256"`, 1), nil), body, now, "algorithm mismatch"},
		{"no created", signed(`("@method" "@path" "content-digest");keyid="test-key-ed25519"`, nil), body, now, "no created"},
		{"expired", signed(good, nil), body, now.Add(Window + time.Second), "signature expired"},
		{"from the future", signed(good, nil), body, now.Add(-Window - time.Second), "in the future"},
		{"past expires", signed(`("@method" "@path" "content-digest");created=1618884473;expires=1618884474;keyid="test-key-ed25519"`, nil), body, now.Add(2 * time.Second), "past its expires"},
		{"path not covered", signed(`("@method" "content-digest");created=1618884473;keyid="test-key-ed25519"`, nil), body, now, "covered components missing: @path"},
		{"digest not covered", signed(`("@method" "@path");created=1618884473;keyid="test-key-ed25519"`, nil), body, now, "covered components missing: content-digest"},
		{"idempotency key not covered", signed(good, map[string][]string{"idempotency-key": {"k1"}}), body, now, "covered components missing: idempotency-key"},
		{"valid with x-idempotency-key", signed(`("@method" "@path" "content-digest" "x-idempotency-key");created=1618884473;keyid="test-key-ed25519"`, map[string][]string{"x-idempotency-key": {"k1"}}), body, now, ""},
		{"x-idempotency-key not covered", signed(good, map[string][]string{"x-idempotency-key": {"k1"}}), body, now, "covered components missing: x-idempotency-key"},
		{"body changed", signed(good, nil), []byte(`{"hello": "World"}`), now, "bad digest"},
		{"covered header absent", rfc9421Request(map[string][]string{
			"signature-input": {`sig1=("@method" "@path" "content-digest" "x-missing");created=1618884473;keyid="test-key-ed25519"`},
			"signature":       {"sig1=:" + base64.StdEncoding.EncodeToString(make([]byte, 64)) + ":"},
		}), body, now, "cannot build the signature base"},
		{"tampered header", func() Message {
			m := signed(`("@method" "@path" "content-digest" "content-type");created=1618884473;keyid="test-key-ed25519"`, nil)
			h := m.Header
			m.Header = func(n string) []string {
				if n == "content-type" {
					return []string{"text/plain"}
				}
				return h(n)
			}
			return m
		}(), body, now, "bad signature"},
		{"method changed", func() Message { m := signed(good, nil); m.Method = "PUT"; return m }(), body, now, "bad signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.msg, tc.body, keyID, pub, Ed25519, tc.now)
			if tc.detail == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(e.Reason, tc.detail) {
				t.Fatalf("err = %v, want signature_invalid saying %q", err, tc.detail)
			}
		})
	}
}
