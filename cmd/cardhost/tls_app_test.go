package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/iso"
)

// testCA is a certificate authority made at runtime.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	der, key := makeCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, nil)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue makes a leaf certificate for name: a server certificate for
// 127.0.0.1 (usage server) or a client certificate (usage client). It
// returns the tls.Certificate and its certificate and key as PEM.
func (ca *testCA) issue(t *testing.T, name string, usage x509.ExtKeyUsage) (tls.Certificate, []byte, []byte) {
	t.Helper()
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: name}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, key := makeCert(t, tmpl, ca)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair, certPEM, keyPEM
}

// makeCert gives tmpl a new P-256 key, a serial number and a day's
// validity, and signs it by ca (self-signed when ca is nil).
func makeCert(t *testing.T, tmpl *x509.Certificate, ca *testCA) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTLSBothPorts generates a CA, a server certificate, an acquirer's
// client certificate and a stranger's (signed by another CA) at runtime,
// and starts the real app with TLS on the REST port and mutual TLS on the
// ISO 8583 port. It checks: HTTPS works and presents the configured
// certificate; plain HTTP on the REST port gets no answer; the acquirer
// with its certificate authorizes over TLS; a TLS client without a
// certificate, one with the stranger's certificate, one limited to TLS
// 1.1 and a plain TCP client are all refused on the ISO port.
func TestTLSBothPorts(t *testing.T) {
	dir := t.TempDir()
	serverCA := newTestCA(t, "cardhost test server CA")
	acquirerCA := newTestCA(t, "cardhost test acquirer CA")
	strangerCA := newTestCA(t, "someone else's CA")
	serverPair, serverCert, serverKey := serverCA.issue(t, "cardhost.test", x509.ExtKeyUsageServerAuth)
	acquirerPair, _, _ := acquirerCA.issue(t, "acquirer 00000000001", x509.ExtKeyUsageClientAuth)
	strangerPair, _, _ := strangerCA.issue(t, "stranger", x509.ExtKeyUsageClientAuth)

	env := testEnv(t)
	env["CARDHOST_HTTP_TLS_CERT"] = writeFile(t, dir, "server.pem", serverCert)
	env["CARDHOST_HTTP_TLS_KEY"] = writeFile(t, dir, "server.key", serverKey)
	env["CARDHOST_ISO_TLS_CERT"] = env["CARDHOST_HTTP_TLS_CERT"]
	env["CARDHOST_ISO_TLS_KEY"] = env["CARDHOST_HTTP_TLS_KEY"]
	env["CARDHOST_ISO_TLS_CLIENT_CA"] = writeFile(t, dir, "acquirers.pem", acquirerCA.pem)
	env["CARDHOST_ISO_READ_TIMEOUT"] = "2s"
	app := startApp(t, env)
	roots := x509.NewCertPool()
	roots.AddCert(serverCA.cert)

	// REST over HTTPS, verified against the test CA.
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := hc.Get("https://" + app.HTTPAddr() + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || !resp.TLS.PeerCertificates[0].Equal(serverPair.Leaf) {
		t.Fatalf("HTTPS /healthz: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	if status, _, body := httpGet(t, hc, "https://"+app.HTTPAddr()+"/v1/tenant", app.sandboxKey(t)); status != http.StatusOK {
		t.Fatalf("HTTPS /v1/tenant: %d %s", status, body)
	}
	// The console's session cookie is Secure over TLS.
	cc := newConsoleClient(t, "https://"+app.HTTPAddr())
	cc.hc.Transport = hc.Transport
	_, page := cc.do("GET", "/console/login", nil)
	req, _ := http.NewRequest("POST", cc.base+"/console/login", strings.NewReader(url.Values{"csrf_token": {consoleCSRF.FindStringSubmatch(page)[1]}, "api_key": {app.sandboxKey(t)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := cc.hc.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("console sign-in over HTTPS: %v %v", resp, err)
	} else if set := strings.Join(resp.Header.Values("Set-Cookie"), "\n"); !strings.Contains(set, "cardhost_console=") || !strings.Contains(set, "secure") && !strings.Contains(set, "Secure") {
		t.Fatalf("console session cookie over HTTPS is not Secure: %s", set)
	}

	// Plain HTTP on the TLS port: no HTTP answer.
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get("http://" + app.HTTPAddr() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP was served on the TLS port")
		}
	}

	// The acquirer with its certificate: TLS 1.2+ with the configured
	// server certificate, echo and an authorization.
	// termsim's REST client uses the default transport: trust the test CA
	// there while this test runs (the package's tests are not parallel).
	prev := http.DefaultTransport
	http.DefaultTransport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	t.Cleanup(func() { http.DefaultTransport = prev })
	card, _ := newCard(t, app.issuer(t, "https"), termsimCardRequest())
	acquirerTLS := &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{acquirerPair}}
	raw, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", app.ISOAddr(), acquirerTLS)
	if err != nil {
		t.Fatalf("mutual TLS handshake: %v", err)
	}
	st := raw.ConnectionState()
	raw.Close()
	if !st.PeerCertificates[0].Equal(serverPair.Leaf) || st.Version < tls.VersionTLS12 {
		t.Fatalf("ISO TLS: version %x, server certificate %v", st.Version, st.PeerCertificates[0].Subject)
	}
	c := dialISO(t, app.ISOAddr(), terminal.WithTLS(acquirerTLS))
	if r := purchase(t, c, newTerminal(t, "TLSTERM1"), card, 100, 10*time.Second); r.Code != iso.Approved || len(r.Problems) > 0 {
		t.Fatalf("authorization over mutual TLS: %s %v", r.Code, r.Problems)
	}

	// The probe answers for the acquirer (so that its failures below are
	// refusals, not a broken probe)...
	if err := isoEcho(app.ISOAddr(), acquirerTLS); err != nil {
		t.Fatalf("echo probe with the acquirer's certificate: %v", err)
	}
	// ...and these are refused on the ISO port.
	for _, tc := range []struct {
		name string
		tls  *tls.Config // nil: plain TCP
	}{
		{"TLS without a client certificate", &tls.Config{RootCAs: roots}},
		// (forced: Go's client would not offer a certificate the server's
		// list of acceptable CAs does not name)
		{"a client certificate from another CA", &tls.Config{RootCAs: roots,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &strangerPair, nil }}},
		{"TLS 1.1", &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{acquirerPair}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}},
		{"plain TCP", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := isoEcho(app.ISOAddr(), tc.tls); err == nil {
				t.Fatal("echo answered")
			}
		})
	}
	// Each was refused by the server's handshake, not by the client. (The
	// server counts a refusal after sending its alert, which the client may
	// have read first: wait for the count.)
	var refused float64
	waitFor(t, 5*time.Second, "the 4 refused ISO handshakes to be counted", func() bool {
		_, _, metrics := httpGet(t, hc, "https://"+app.HTTPAddr()+"/metrics", "")
		refused = metricValue(string(metrics), `cardhost_iso_connections_rejected_total{reason="tls_handshake"}`)
		return refused >= 4
	})
	if refused != 4 {
		t.Errorf("%v ISO handshakes refused, want the 4 above", refused)
	}
	// Still serving the acquirer.
	if _, err := c.Echo(context.Background()); err != nil {
		t.Fatalf("the acquirer's connection after the refusals: %v", err)
	}
}

// isoEcho connects (over TLS when cfg is set), sends an 0800 echo and
// waits for its 0810: nil only if it was answered.
func isoEcho(addr string, cfg *tls.Config) error {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	conn := nc
	if cfg != nil {
		cfg = cfg.Clone()
		cfg.ServerName, _, _ = net.SplitHostPort(addr)
		tc := tls.Client(nc, cfg)
		if err := tc.Handshake(); err != nil {
			return err
		}
		conn = tc
	}
	m := iso.NewMessage(iso.MTINetworkRequest)
	_ = m.Field(iso.FieldTransmissionTime, iso.FormatTransmissionTime(time.Now()))
	_ = m.Field(iso.FieldSTAN, "000001")
	_ = m.Field(iso.FieldNetworkCode, iso.NetworkEcho)
	b, err := iso.Pack(m)
	if err != nil {
		return err
	}
	if err := iso.WriteFrame(conn, b); err != nil {
		return err
	}
	_, err = iso.ReadFrame(conn, nil)
	return err
}

// TestTLSSandboxSimulator: in sandbox mode with mutual TLS on the ISO
// port, the REST simulator (which sends real ISO messages to the host's
// own port) still authorizes.
func TestTLSSandboxSimulator(t *testing.T) {
	dir := t.TempDir()
	serverCA := newTestCA(t, "server CA")
	acquirerCA := newTestCA(t, "acquirer CA")
	_, serverCert, serverKey := serverCA.issue(t, "cardhost.test", x509.ExtKeyUsageServerAuth)
	env := testEnv(t)
	env["CARDHOST_ISO_TLS_CERT"] = writeFile(t, dir, "server.pem", serverCert)
	env["CARDHOST_ISO_TLS_KEY"] = writeFile(t, dir, "server.key", serverKey)
	env["CARDHOST_ISO_TLS_CLIENT_CA"] = writeFile(t, dir, "acquirers.pem", acquirerCA.pem)
	app := startApp(t, env)
	_, info := newCard(t, app.issuer(t, "http"), termsimCardRequest())

	body, _ := json.Marshal(map[string]any{"card_id": info.CardID, "amount": 1234})
	req, _ := http.NewRequest("POST", "http://"+app.HTTPAddr()+"/v1/simulator/authorizations", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+app.sandboxKey(t))
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 || !strings.Contains(string(out), `"response_code":"00"`) {
		t.Fatalf("simulated authorization with mutual TLS on the ISO port: %d %s", resp.StatusCode, out)
	}
}
