package startup

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
)

// ErrTLSFiles is wrapped by TLSConfig's errors: a certificate, key or CA
// file that cannot be read or used.
var ErrTLSFiles = errors.New("TLS files unusable")

// TLSFiles turns a TLSConfig error into a *Problem naming the settings of
// the files; other errors are returned as they are.
func TLSFiles(what string, cert, key Setting, err error) error {
	if !errors.Is(err, ErrTLSFiles) {
		return err
	}
	return &Problem{What: "cannot load the " + what + " TLS certificate", Fix: "set " + cert.String() + " and " + key.String() +
		" to a readable PEM certificate and its private key", Err: err}
}

// Listen opens a TCP listener, wrapped in TLS when a certificate is given
// (and requiring client certificates signed by clientCA when set).
func Listen(addr, certFile, keyFile, clientCA string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil || certFile == "" {
		return ln, err
	}
	tc, err := TLSConfig(certFile, keyFile, clientCA)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return tls.NewListener(ln, tc), nil
}

// TLSConfig loads a certificate and key (and a client CA bundle: then
// client certificates it signed are required).
func TLSConfig(certFile, keyFile, clientCA string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading TLS certificate: %w: %w", ErrTLSFiles, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCA != "" {
		pem, err := os.ReadFile(clientCA)
		if err != nil {
			return nil, fmt.Errorf("reading client CA: %w: %w", ErrTLSFiles, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: client CA file holds no PEM certificate", ErrTLSFiles)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}
