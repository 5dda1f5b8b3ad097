package tlv

import "fmt"

// Issuer authentication data (tag 91) sizes, EMV Book 3 Annex A: 8 to 16
// bytes. ARPC method 1 gives ARPC (8) || ARC (2); method 2 gives ARPC (4) ||
// CSU (4) || proprietary authentication data (0 to 8).
const (
	MinIssuerAuthDataLen = 8
	MaxIssuerAuthDataLen = 16
)

// ErrIssuerAuthData is returned by ResponseICC when the issuer
// authentication data is not 8 to 16 bytes long.
var ErrIssuerAuthData = fmt.Errorf("issuer authentication data must be %d to %d bytes", MinIssuerAuthDataLen, MaxIssuerAuthDataLen)

// ResponseICC builds the response field 55: tag 91 with the issuer
// authentication data iad (nil for none), followed by any issuer script
// templates (tags 71 and 72, constructed). A nil result with a nil error
// means there is nothing to send.
func ResponseICC(iad []byte, scripts ...TLV) ([]byte, error) {
	var l List
	if iad != nil {
		if len(iad) < MinIssuerAuthDataLen || len(iad) > MaxIssuerAuthDataLen {
			return nil, fmt.Errorf("building response field 55: %w", ErrIssuerAuthData)
		}
		l = append(l, New(TagIssuerAuthenticationData, iad))
	}
	for _, s := range scripts {
		if s.Tag != TagIssuerScript1 && s.Tag != TagIssuerScript2 {
			return nil, fmt.Errorf("building response field 55: script tag %s: %w", s.Tag, ErrInvalidObject)
		}
		l = append(l, s)
	}
	if len(l) == 0 {
		return nil, nil
	}
	b, err := l.Encode()
	if err != nil {
		return nil, fmt.Errorf("building response field 55: %w", err)
	}
	return b, nil
}
