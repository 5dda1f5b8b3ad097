package emv

import (
	"encoding/json"
	"time"

	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/emv/tlv"
)

// The value types of the software HSM's operations. They live in this leaf
// package so that the domain packages can declare the small interfaces they
// need (host.Verifier, issuance.Vault) over them, and *softhsm.HSM satisfies
// those interfaces without either side importing the other. softhsm keeps
// aliases with its historical names.

// Certificate is an issued certificate.
type Certificate struct {
	DER         []byte
	PEM         string
	Serial      string    // hex
	NotBefore   time.Time // UTC
	NotAfter    time.Time // UTC
	Fingerprint string    // SHA-256 of DER, hex
	// CAKeyVersion is the CA key version that signed it.
	CAKeyVersion int
}

// PublicKey is the HSM's ECDH public key for PIN set, in the forms issuers'
// tools take.
type PublicKey struct {
	Ref     string `json:"hsm_key_reference"`
	Version int    `json:"version"`
	// PEM is the SubjectPublicKeyInfo ("PUBLIC KEY").
	PEM string `json:"public_key_pem"`
	// JWK is the key as an RFC 7517 JSON Web Key (kty EC, crv P-256, use
	// enc, kid = Fingerprint).
	JWK json.RawMessage `json:"jwk"`
	// Fingerprint is the RFC 7638 JWK thumbprint (SHA-256, base64url).
	Fingerprint string `json:"fingerprint"`
	// Point is the uncompressed point (65 bytes), as used in FixedInfo.
	Point []byte `json:"-"`
}

// PINSet is a PIN chosen by a cardholder, enciphered by the issuer as an
// ISO 9564-1 format 4 (or format 0) block under the key agreed between the issuer's
// certificate key and the HSM's ECDH key.
type PINSet struct {
	ECDHRef string // HSM ECDH key
	// IssuerPublicKey is the issuer's P-256 key (the one its certificate
	// certifies): PEM, PKIX DER, certificate PEM or uncompressed point.
	IssuerPublicKey []byte
	Block           PINBlock // 32 hex characters (format 4) or 16 (format 0)
	PAN             PAN
}

// ARQCCheck is a chip authorization as the host sees it: the card's CVN (from
// its card record), PAN and PSN, and the field 55 values.
type ARQCCheck struct {
	IMKRef string // IMK-AC reference
	CVN    CVN    // the card's cryptogram version (LookupCVN)
	PAN    PAN
	PSN    string // "nn" or field 23's "0nn"; "" means "00"
	// ICC holds the field 55 values by tag (tlv.List.Map): 9F26, 9F10,
	// 9F36 and the cryptogram input elements the CVN needs.
	ICC map[tlv.Tag][]byte
	// Session, when set, is the ARQCResult.Session of this very check:
	// GenerateARPC then answers with the keys VerifyARQC already derived
	// instead of deriving them again.
	Session *ACSession
}

// ARQCResult is the outcome of VerifyARQC.
type ARQCResult struct {
	// Valid reports whether the ARQC verified under some usable version of
	// the IMK. false is a decline (arqc_invalid), not an error.
	Valid bool
	// KeyVersion is the IMK version that verified it; pass it to
	// GenerateARPC so the answer uses the same key.
	KeyVersion int
	// Session is an opaque handle on the transaction's derived keys (set
	// when Valid): put it in ARQCCheck.Session for GenerateARPC. It holds
	// key schedules: keep it for the one transaction, never store or share
	// it; it never prints its keys.
	Session *ACSession
}

// CVVSet is the card verification values data prep writes: CVV for the
// magnetic stripe, iCVV for the chip's track 2 equivalent, CVV2 for the
// card's back.
type CVVSet struct {
	CVV  CVV
	ICVV CVV
	CVV2 CVV
	// KeyVersion is the CVK version used.
	KeyVersion int
}

// ICCKeyRequest names the issuer master keys a card's chip keys come from
// and the transport key they leave under. IMKSMI and IMKSMC may be empty
// (then those keys are not derived).
type ICCKeyRequest struct {
	IMKAC, IMKSMI, IMKSMC string
	PAN                   PAN
	PSN                   string
	MKD                   MKDOption // MKDAuto: option A, or B for PANs over 16 digits
	KEKRef                string    // AES KEK of the embosser (or of the sandbox tenant)
}

// ExportedKey is a key that left the HSM as a TR-31 key block.
type ExportedKey struct {
	KeyBlock string // TR-31 version D under the KEK
	KCV      string // check value of the clear key
	// KEKVersion is the KEK version used.
	KEKVersion int
}

// ICCKeys are a card's chip master keys, each under the transport key.
type ICCKeys struct {
	AC, SMI, SMC ExportedKey // SMI, SMC zero when not requested
}

// EncryptedPIN is a PIN block as it arrives: hex, its ISO 9564-1 format and
// the reference of the zone PIN key it is enciphered under.
type EncryptedPIN struct {
	ZPKRef string
	Format pinblock.Format
	Block  PINBlock // hex: 16 characters (formats 0, 1, 3) or 32 (format 4)
	// Accept, with Format pinblock.FormatAny, lists the formats the block
	// may be in (an acquirer's setting); a well-formed block in another is
	// refused with an error wrapping pinblock.ErrNotAccepted. Empty: 0, 1
	// and 3.
	Accept []pinblock.Format
}

// PINMethod is how the issuer verifies PINs.
type PINMethod string

// PIN verification methods.
const (
	PINMethodPVV     PINMethod = "pvv"      // Visa PIN verification value (PVKI + 4-digit PVV)
	PINMethodIBM3624 PINMethod = "ibm-3624" // IBM 3624 PIN offset
)

// PINCheck says how to verify (or derive verification data for) a PIN.
type PINCheck struct {
	Method PINMethod
	PVKRef string
	// PVKI is the 1-digit PIN verification key index (PVV method).
	PVKI string
	// PVV is the stored 4-digit value to compare with (VerifyPIN, PVV).
	PVV string
	// Offset is the stored IBM 3624 offset (VerifyPIN, IBM 3624).
	Offset string
	// ValidationData is the IBM 3624 validation data (16 hex digits); ""
	// means the rightmost 12 PAN digits before the check digit, padded with
	// F on the right (PINValidationData).
	ValidationData string
	// DecTable is the IBM 3624 decimalisation table; "" means
	// "0123456789012345".
	DecTable string
}

// PINVerificationData is what the issuer stores for a PIN: never the PIN.
type PINVerificationData struct {
	Method     PINMethod
	PVKI       string // PVV method
	PVV        string // PVV method: 4 digits
	Offset     string // IBM 3624: as many digits as the PIN
	PVKVersion int    // PVK version used
}
