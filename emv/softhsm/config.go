package softhsm

import (
	"io"
	"time"

	"github.com/cardhost/cardhost/emv"
)

// Defaults applied to zero Config fields.
const (
	DefaultCacheTTL      = 5 * time.Minute
	DefaultRetireOverlap = 90 * 24 * time.Hour
	DefaultCertValidity  = 90 * 24 * time.Hour
)

// Config configures an HSM. The zero value of each field means its default;
// exactly one of MasterKeyFile and MasterKeyHex must be set. The HSM never
// reads the environment itself: cmd/cardhost passes the values in.
type Config struct {
	// MasterKeyFile is the path of a file holding the AES-256 master key as
	// 64 hex characters (surrounding white space ignored) or as 32 raw
	// bytes. The file must not be readable or writable by group or others
	// (mode 0600 or stricter).
	MasterKeyFile string
	// MasterKeyHex is the master key as 64 hex characters, for deployments
	// that inject it through the environment.
	MasterKeyHex emv.Sensitive
	// CacheTTL is how long an unwrapped key (with its expanded cipher) and
	// the resolution of a reference to its active version stay in memory.
	// Zero means DefaultCacheTTL (5 minutes); negative disables caching.
	// With several cardhost instances a status change made by one is seen
	// by the others within CacheTTL.
	CacheTTL time.Duration
	// RetireOverlap is how long a rotated-out version still verifies when
	// it has no expiry of its own and Rotate is given no end time. Zero
	// means DefaultRetireOverlap (90 days).
	RetireOverlap time.Duration
	// CertValidity is the validity of issued issuer certificates. Zero
	// means DefaultCertValidity (90 days).
	CertValidity time.Duration
	// Now returns the current time; nil means time.Now. Results are used
	// in UTC.
	Now func() time.Time
	// Rand is the source of randomness for keys, nonces, PIN block fill and
	// signatures; nil means crypto/rand.Reader. Tests may make it
	// deterministic. It must be safe for concurrent use.
	Rand io.Reader
}
