package whsig

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every secret as it is shown to an issuer.
const SecretPrefix = "whsec_"

// Sizes of a secret's key bytes (the specification: 24 to 64 bytes).
const (
	SecretSize    = 32 // what NewSecret makes
	MinSecretSize = 24
	MaxSecretSize = 64
)

// DefaultTolerance is how far a webhook-timestamp may be from the
// receiver's clock before Verify refuses it (replay protection).
const DefaultTolerance = 5 * time.Minute

// Errors of ParseSecret and Verify. Verify's errors wrap one of them.
var (
	ErrSecretFormat  = errors.New("not a whsec_ secret of 24 to 64 bytes")
	ErrMissingHeader = errors.New("missing webhook header")
	ErrTimestamp     = errors.New("webhook-timestamp outside the tolerance")
	ErrNoSignature   = errors.New("no signature matches")
)

// Secret is a signing secret's key bytes. Its String, LogValue and
// MarshalJSON redact it; Reveal gives the whsec_ form.
type Secret []byte

const redacted = "[redacted]"

// NewSecret returns a new random secret of SecretSize bytes.
func NewSecret() Secret {
	s := make(Secret, SecretSize)
	_, _ = rand.Read(s) // crypto/rand.Read never fails (Go 1.24+)
	return s
}

// ParseSecret reads a secret in its whsec_ form (the prefix may be
// omitted, as the specification's libraries accept): standard base64 of
// 24 to 64 bytes.
func ParseSecret(s string) (Secret, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), SecretPrefix))
	if err != nil || len(b) < MinSecretSize || len(b) > MaxSecretSize {
		return nil, ErrSecretFormat
	}
	return b, nil
}

// Reveal returns the secret in its whsec_ form: the one way to print it.
func (s Secret) Reveal() string { return SecretPrefix + base64.StdEncoding.EncodeToString(s) }

// String implements fmt.Stringer without revealing the secret.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer without revealing the secret.
func (s Secret) GoString() string { return redacted }

// LogValue implements slog.LogValuer without revealing the secret.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON encodes "[redacted]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// Wipe zeroes the secret's bytes.
func (s Secret) Wipe() { clear(s) }

// signature is "v1," + base64(HMAC-SHA256(secret, id.timestamp.body)).
func (s Secret) signature(id, ts string, body []byte) string {
	mac := hmac.New(sha256.New, s)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Sign returns the webhook-signature header value for a message id, a
// timestamp (sent as Unix seconds) and the exact body bytes sent: one v1
// signature per secret, in the order given, space-separated. The id must
// not contain "." (the specification's rule: it delimits the content).
func Sign(id string, ts time.Time, body []byte, secrets ...Secret) string {
	unix := strconv.FormatInt(ts.Unix(), 10)
	sigs := make([]string, len(secrets))
	for i, s := range secrets {
		sigs[i] = s.signature(id, unix, body)
	}
	return strings.Join(sigs, " ")
}

// SetHeaders sets the three Standard Webhooks headers of a request
// carrying body.
func SetHeaders(h http.Header, id string, ts time.Time, body []byte, secrets ...Secret) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, Sign(id, ts, body, secrets...))
}

// Verify checks a received webhook: the three headers are present, the
// timestamp is within tolerance of now (0: DefaultTolerance), and one of
// the v1 signatures of webhook-signature (others, such as v1a, are
// skipped) is the body's under one of the secrets, compared in constant
// time. The error wraps ErrMissingHeader, ErrTimestamp or ErrNoSignature.
func Verify(h http.Header, body []byte, now time.Time, tolerance time.Duration, secrets ...Secret) error {
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	for _, hv := range [...]struct{ name, v string }{{HeaderID, id}, {HeaderTimestamp, ts}, {HeaderSignature, sigs}} {
		if hv.v == "" {
			return fmt.Errorf("verifying webhook: %s: %w", hv.name, ErrMissingHeader)
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("verifying webhook: %s is not Unix seconds: %w", HeaderTimestamp, ErrTimestamp)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("verifying webhook: %w", ErrTimestamp)
	}
	for _, s := range secrets {
		want := []byte(s.signature(id, ts, body))
		for _, got := range strings.Fields(sigs) {
			if strings.HasPrefix(got, "v1,") && subtle.ConstantTimeCompare([]byte(got), want) == 1 {
				return nil
			}
		}
	}
	return fmt.Errorf("verifying webhook: %w", ErrNoSignature)
}
