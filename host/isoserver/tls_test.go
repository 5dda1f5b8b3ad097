package isoserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"
)

// testPKI is a CA with a server and a client certificate.
type testPKI struct {
	pool   *x509.CertPool
	server tls.Certificate
	client tls.Certificate
}

func newPKI(t *testing.T) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test acquirer CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, name string, usage x509.ExtKeyUsage) tls.Certificate {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return testPKI{
		pool:   pool,
		server: leaf(2, "cardhost", x509.ExtKeyUsageServerAuth),
		client: leaf(3, "acquirer 123456", x509.ExtKeyUsageClientAuth),
	}
}

func TestMutualTLS(t *testing.T) {
	pki := newPKI(t)
	ts := startServer(t, Config{TLS: &tls.Config{
		Certificates: []tls.Certificate{pki.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pki.pool,
		MinVersion:   tls.VersionTLS12,
	}}, approveAll())

	tlsDial := func(certs []tls.Certificate) *client {
		nc, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", ts.addr, &tls.Config{
			RootCAs:      pki.pool,
			Certificates: certs,
			MinVersion:   tls.VersionTLS12,
		})
		if err != nil {
			t.Fatalf("dialing: %v", err)
		}
		t.Cleanup(func() { nc.Close() })
		return &client{t: t, nc: nc}
	}

	t.Run("client certificate", func(t *testing.T) {
		c := tlsDial([]tls.Certificate{pki.client})
		c.echo("000001")
		c.send(authMessage("000002", "000000000100"))
		if r := c.recv(); str(r, 39) != "00" {
			t.Fatalf("39 = %s", str(r, 39))
		}
	})
	t.Run("no client certificate", func(t *testing.T) {
		c := tlsDial(nil) // TLS 1.3: the server's refusal arrives on the first read
		c.send(networkMessage("000003", "301"))
		if _, err := c.tryRecv(2 * time.Second); err == nil {
			t.Fatal("answered without a client certificate")
		}
		eventually(t, "handshake rejection counted", func() bool {
			return ts.metric(t, "cardhost_iso_connections_rejected_total", "reason", reasonTLSHandshake) == 1
		})
	})
	t.Run("plain TCP", func(t *testing.T) {
		c := dial(t, ts.addr)
		c.sendRaw([]byte("0800")) // not a TLS ClientHello
		c.expectClosed()
	})
}

// TestShutdownDuringHandshake: a peer that connects and never says hello
// does not hold Shutdown up for the handshake timeout.
func TestShutdownDuringHandshake(t *testing.T) {
	pki := newPKI(t)
	ts := startServer(t, Config{TLS: &tls.Config{Certificates: []tls.Certificate{pki.server}}}, approveAll())
	c := dial(t, ts.addr) // plain TCP, no ClientHello
	eventually(t, "connection open", func() bool { return ts.metric(t, "cardhost_iso_connections_open") == 1 })
	// The handshake would wait for the read timeout (10 s); Shutdown must
	// return within its context, far shorter.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v (held up by the handshake)", err)
	}
	c.expectClosed()
	if got := ts.metric(t, "cardhost_iso_connections_rejected_total", "reason", reasonShutdown); got != 1 {
		t.Errorf("rejected{shutdown} = %v", got)
	}
}
