package isoserver

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/cardhost/cardhost/emv"
)

// Config configures a Server. The zero value of every field but
// FingerprintKey means its default.
type Config struct {
	// Addr is the TCP address ListenAndServe listens on. Default ":8583".
	Addr string

	// TLS, when non-nil, serves every connection over TLS with this
	// configuration. For mutual TLS set ClientAuth to
	// tls.RequireAndVerifyClientCert and ClientCAs to the acquirers' CAs.
	// Default nil: plain TCP.
	TLS *tls.Config

	// MaxConnections is the most connections served at once. Connections
	// over the limit are accepted and closed at once, and counted as
	// rejected. Default 1000.
	MaxConnections int

	// MaxInFlight is the most requests decided at once on one connection:
	// the size of its worker pool. With that many in flight the server stops
	// reading from the connection until one is answered (TCP backpressure).
	// Default 64.
	MaxInFlight int

	// IdleTimeout closes a connection on which no message starts for this
	// long. Acquirers keep quiet connections open with 0800 echo tests.
	// Default 5 minutes.
	IdleTimeout time.Duration

	// ReadTimeout is the longest a message may take to arrive once its
	// length header has been read; a slower peer is disconnected. Also
	// bounds the TLS handshake. Default 10 seconds.
	ReadTimeout time.Duration

	// WriteTimeout is the longest one batch of responses may take to write;
	// a peer that does not read is disconnected. Default 10 seconds.
	WriteTimeout time.Duration

	// DecisionTimeout is the deadline of the context passed to
	// Engine.Decide: past it a request that could not be decided is
	// answered 91. It must stay well below the acquirers' own timeout
	// (typically 5 to 10 seconds), after which they reverse what they
	// sent. Default 4 seconds.
	DecisionTimeout time.Duration

	// ShutdownTimeout bounds the graceful shutdown ListenAndServe performs
	// when its context ends. Default 15 seconds.
	ShutdownTimeout time.Duration

	// FingerprintKey is the HMAC-SHA-256 key of Request.Fingerprint, the
	// content hash the engine uses to tell retransmissions (same content)
	// from duplicates (different content). Required, at least 32 bytes, and
	// the same on every instance sharing a database.
	FingerprintKey emv.SecretBytes

	// Acquirers and MAC, set together, turn on message authentication
	// (docs/iso8583.md section 5.15): fields 64/128 of a message whose
	// field 32 names an acquirer with a zone MAC key (ZAK) are verified
	// (ISO/IEC 9797-1 MAC algorithm 3, by the HSM), a message without one
	// is refused when the acquirer requires MACs, and the answers carry a
	// MAC. Default nil: no message is authenticated and MACs are ignored
	// (tests of other things; cmd/cardhost always sets both).
	Acquirers Acquirers
	MAC       MACer

	// Now returns the current time (Request.Received, field 7 checks).
	// Default time.Now. Times are used in UTC.
	Now func() time.Time
}

// Defaults applied by New to zero Config fields.
const (
	DefaultAddr            = ":8583"
	DefaultMaxConnections  = 1000
	DefaultMaxInFlight     = 64
	DefaultIdleTimeout     = 5 * time.Minute
	DefaultReadTimeout     = 10 * time.Second
	DefaultWriteTimeout    = 10 * time.Second
	DefaultDecisionTimeout = 4 * time.Second
	DefaultShutdownTimeout = 15 * time.Second
	minFingerprintKeyLen   = 32
)

// withDefaults returns cfg with defaults applied, or an error naming the
// first invalid value.
func (cfg Config) withDefaults() (Config, error) {
	if len(cfg.FingerprintKey) < minFingerprintKeyLen {
		return cfg, ErrFingerprintKey
	}
	if (cfg.Acquirers == nil) != (cfg.MAC == nil) {
		return cfg, fmt.Errorf("%w: Acquirers and MAC go together", ErrConfig)
	}
	def := func(d *time.Duration, v time.Duration, name string) error {
		switch {
		case *d < 0:
			return fmt.Errorf("%w: %s is negative", ErrConfig, name)
		case *d == 0:
			*d = v
		}
		return nil
	}
	for _, f := range []struct {
		d    *time.Duration
		v    time.Duration
		name string
	}{
		{&cfg.IdleTimeout, DefaultIdleTimeout, "IdleTimeout"},
		{&cfg.ReadTimeout, DefaultReadTimeout, "ReadTimeout"},
		{&cfg.WriteTimeout, DefaultWriteTimeout, "WriteTimeout"},
		{&cfg.DecisionTimeout, DefaultDecisionTimeout, "DecisionTimeout"},
		{&cfg.ShutdownTimeout, DefaultShutdownTimeout, "ShutdownTimeout"},
	} {
		if err := def(f.d, f.v, f.name); err != nil {
			return cfg, err
		}
	}
	switch {
	case cfg.MaxConnections < 0:
		return cfg, fmt.Errorf("%w: MaxConnections is negative", ErrConfig)
	case cfg.MaxInFlight < 0:
		return cfg, fmt.Errorf("%w: MaxInFlight is negative", ErrConfig)
	}
	cfg.MaxConnections = cmp.Or(cfg.MaxConnections, DefaultMaxConnections)
	cfg.MaxInFlight = cmp.Or(cfg.MaxInFlight, DefaultMaxInFlight)
	cfg.Addr = cmp.Or(cfg.Addr, DefaultAddr)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, nil
}
