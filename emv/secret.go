package emv

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
)

// Secret value types. Card data and key material travel through cardhost as
// these types, never as bare strings, so that formatting, logging and JSON
// encoding mask or refuse them: "never in a log or an event" is enforced by
// the compiler rather than by review. Code that really needs the clear value
// calls Reveal (or Bytes), which is easy to grep for.

// ErrSecretJSON is returned when a secret value is marshalled to JSON.
var ErrSecretJSON = errors.New("emv: secret value must not be marshalled")

// PAN is a primary account number (digits only). Its String, LogValue and
// MarshalJSON show only the first six and last four digits.
type PAN string

// Reveal returns the clear PAN.
func (p PAN) Reveal() string { return string(p) }

// Masked returns the PAN with all but the BIN (first 6) and last 4 digits
// replaced by '*'. PANs of 10 digits or fewer are fully masked but the last 4.
func (p PAN) Masked() string { return MaskPAN(string(p)) }

// Last4 returns the last four digits ("" when shorter).
func (p PAN) Last4() string {
	if len(p) < 4 {
		return ""
	}
	return string(p[len(p)-4:])
}

// String implements fmt.Stringer with the masked PAN.
func (p PAN) String() string { return p.Masked() }

// GoString implements fmt.GoStringer with the masked PAN (for %#v).
func (p PAN) GoString() string { return p.Masked() }

// LogValue implements slog.LogValuer with the masked PAN.
func (p PAN) LogValue() slog.Value { return slog.StringValue(p.Masked()) }

// MarshalJSON writes the masked PAN, never the clear one.
func (p PAN) MarshalJSON() ([]byte, error) { return json.Marshal(p.Masked()) }

// MaskPAN masks a PAN as 6 + '*' + 4 (or '*' + last 4 for short values).
func MaskPAN(pan string) string {
	n := len(pan)
	switch {
	case n == 0:
		return ""
	case n <= 10:
		if n <= 4 {
			return strings.Repeat("*", n)
		}
		return strings.Repeat("*", n-4) + pan[n-4:]
	default:
		return pan[:6] + strings.Repeat("*", n-10) + pan[n-4:]
	}
}

// Sensitive is a secret string (track data, CVV, PIN, PIN block, clear key in
// hex) that formats as "[redacted]" everywhere and refuses JSON encoding.
type Sensitive string

const redacted = "[redacted]"

// Reveal returns the clear value.
func (s Sensitive) Reveal() string { return string(s) }

// String implements fmt.Stringer without revealing the value.
func (s Sensitive) String() string { return redacted }

// GoString implements fmt.GoStringer without revealing the value.
func (s Sensitive) GoString() string { return redacted }

// LogValue implements slog.LogValuer without revealing the value.
func (s Sensitive) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON refuses to encode the value.
func (s Sensitive) MarshalJSON() ([]byte, error) { return nil, ErrSecretJSON }

// PIN is a clear PIN: the sandbox simulator's test PIN, the one clear PIN
// cardhost holds outside the HSM (real PINs arrive enciphered). Its own
// type, not a string, a Sensitive or a PAN (whose masking would show a
// long PIN's last digits): it formats as "[redacted]" and refuses JSON
// encoding, and cannot be passed where a PAN or a CVV is expected.
type PIN string

// Reveal returns the clear PIN.
func (p PIN) Reveal() string { return string(p) }

// String implements fmt.Stringer without revealing the PIN.
func (p PIN) String() string { return redacted }

// GoString implements fmt.GoStringer without revealing the PIN.
func (p PIN) GoString() string { return redacted }

// LogValue implements slog.LogValuer without revealing the PIN.
func (p PIN) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON refuses to encode the PIN.
func (p PIN) MarshalJSON() ([]byte, error) { return nil, ErrSecretJSON }

// Track2 is magnetic-stripe track 2 equivalent data.
type Track2 = Sensitive

// CVV is a card verification value (CVV, iCVV or CVV2).
type CVV = Sensitive

// PINBlock is an enciphered PIN block in hex.
type PINBlock = Sensitive

// SecretBytes is clear key or PIN material. It formats as "[redacted]",
// refuses JSON and can be zeroed after use with Wipe.
type SecretBytes []byte

// Bytes returns the clear bytes (not a copy).
func (b SecretBytes) Bytes() []byte { return b }

// Wipe overwrites the bytes with zeros.
func (b SecretBytes) Wipe() {
	for i := range b {
		b[i] = 0
	}
}

// String implements fmt.Stringer without revealing the value.
func (b SecretBytes) String() string { return redacted }

// GoString implements fmt.GoStringer without revealing the value.
func (b SecretBytes) GoString() string { return redacted }

// LogValue implements slog.LogValuer without revealing the value.
func (b SecretBytes) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON refuses to encode the value.
func (b SecretBytes) MarshalJSON() ([]byte, error) { return nil, ErrSecretJSON }
