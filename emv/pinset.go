package emv

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/cardhost/cardhost/emv/pinblock"
)

// PIN set key agreement (docs/hsm.md, "PIN set key agreement"): the issuer
// and the HSM agree an AES-256 key by ECDH P-256 and the NIST SP 800-56C
// one-step KDF, and the issuer sends the PIN as an ISO 9564 format 4 block
// under it (or, as QPay's guide allows, a format 0 block under a TDES key
// agreed the same way with another AlgorithmID). The HSM side is emv/softhsm's SetPIN; the issuer side,
// [EncipherPINForSet], is what the sandbox simulator and tests play.

// PIN-set key agreement as published with the HSM public key.
const (
	PINSetKeyAgreement = "ECDH-P256"
	PINSetKDF          = "NIST SP 800-56C one-step SHA-256"
)

// PINSetAlgorithmID is the AlgorithmID of the PIN-set KDF's FixedInfo
// (docs/hsm.md, "PIN set key agreement") for a format 4 block: the agreed
// key is AES-256.
const PINSetAlgorithmID = "cardhost:pin-set:iso9564-4:aes-256"

// PINSetAlgorithmIDFormat0 is the AlgorithmID for an ISO 9564 format 0
// block (the 16 hex characters QPay's guide sends): the agreed key is a
// three-key TDES key (24 bytes), so that an 8-byte block is one cipher
// block. A distinct AlgorithmID gives a distinct key from the same
// agreement.
const PINSetAlgorithmIDFormat0 = "cardhost:pin-set:iso9564-0:tdes-192"

// KDFOneStepSHA256 is the NIST SP 800-56C rev. 2 section 4.1 one-step key
// derivation with H = SHA-256: the first n bytes of
// SHA-256(counter || z || fixedInfo) for counter = 1, 2, ... (32 bits,
// big-endian). It is also ANSI X9.63's and NIST SP 800-56A's concatenation
// KDF.
func KDFOneStepSHA256(z, fixedInfo []byte, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	for counter := uint32(1); len(out) < n; counter++ {
		h := sha256.New()
		var c [4]byte
		binary.BigEndian.PutUint32(c[:], counter)
		h.Write(c[:])
		h.Write(z)
		h.Write(fixedInfo)
		out = h.Sum(out)
	}
	return out[:n]
}

// PINSetFixedInfo is the FixedInfo of the PIN-set KDF, in the SP 800-56A
// concatenation format: AlgorithmID, PartyUInfo (the issuer's public key,
// an uncompressed P-256 point) and PartyVInfo (the HSM's ECDH public key,
// uncompressed), each as a 4-byte big-endian length and the bytes, then
// SuppPubInfo, the key length in bits (256) as 4 bytes.
func PINSetFixedInfo(issuerPub, hsmPub []byte) []byte {
	return pinSetFixedInfo(PINSetAlgorithmID, 256, issuerPub, hsmPub)
}

// PINSetFixedInfoFormat0 is PINSetFixedInfo for a format 0 block:
// AlgorithmID PINSetAlgorithmIDFormat0 and a key length of 192 bits.
func PINSetFixedInfoFormat0(issuerPub, hsmPub []byte) []byte {
	return pinSetFixedInfo(PINSetAlgorithmIDFormat0, 192, issuerPub, hsmPub)
}

func pinSetFixedInfo(alg string, bits uint32, issuerPub, hsmPub []byte) []byte {
	var b []byte
	for _, f := range [][]byte{[]byte(alg), issuerPub, hsmPub} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return binary.BigEndian.AppendUint32(b, bits)
}

// PINSetPlaceholderPAN is the PAN a PIN block is bound to when the
// cardholder chooses a PIN before the card's PAN exists (PIN set at card
// creation): the ISO 9564-1 format 4 PAN field of twelve zeros.
const PINSetPlaceholderPAN PAN = "000000000000"

// PINSetPlaceholderPANFormat0 is the PAN a format 0 block chosen before
// the card's PAN exists is bound to: thirteen zeros, whose format 0
// account field (the 12 digits before the check digit) is all zeros, as
// format 4's placeholder is.
const PINSetPlaceholderPANFormat0 PAN = "0000000000000"

// PINSetCipher returns the cipher of a PIN-set block of format f (Format4:
// AES-256, Format0: three-key TDES) under the key agreed from z, the
// issuer's and the HSM's public points; ErrFormat-like errors for any
// other format.
func PINSetCipher(f pinblock.Format, z, issuerPub, hsmPub []byte) (cipher.Block, error) {
	switch f {
	case pinblock.Format4:
		key := SecretBytes(KDFOneStepSHA256(z, PINSetFixedInfo(issuerPub, hsmPub), 32))
		defer key.Wipe()
		return aes.NewCipher(key)
	case pinblock.Format0:
		key := SecretBytes(KDFOneStepSHA256(z, PINSetFixedInfoFormat0(issuerPub, hsmPub), 24))
		defer key.Wipe()
		return newTDES3(key), nil
	}
	return nil, fmt.Errorf("PIN set: %w", pinblock.ErrFormat)
}

// PINSetFormatOf is the format of an enciphered PIN-set block by its
// length in bytes: 16 format 4, 8 format 0; ok false otherwise.
func PINSetFormatOf(n int) (pinblock.Format, bool) {
	switch n {
	case 16:
		return pinblock.Format4, true
	case 8:
		return pinblock.Format0, true
	}
	return 0, false
}

// EncipherPINForSet is the issuer's side of the PIN set: ECDH with a fresh
// P-256 key (from random) against the HSM's public point, the one-step KDF
// over [PINSetFixedInfo], and an ISO 9564 format 4 block for pin and pan
// under the result. It returns the fresh public key (uncompressed point)
// and the block in hex.
func EncipherPINForSet(hsmPoint []byte, pan PAN, pin []byte, random io.Reader) ([]byte, PINBlock, error) {
	return EncipherPINForSetFormat(pinblock.Format4, hsmPoint, pan, pin, random)
}

// EncipherPINForSetFormat is EncipherPINForSet for a block of format f:
// Format4 (32 hex) or Format0 (16 hex, [PINSetFixedInfoFormat0], TDES).
func EncipherPINForSetFormat(f pinblock.Format, hsmPoint []byte, pan PAN, pin []byte, random io.Reader) ([]byte, PINBlock, error) {
	priv, err := ecdh.P256().GenerateKey(random)
	if err != nil {
		return nil, "", fmt.Errorf("generating PIN-set key: %w", err)
	}
	return EncipherPINForSetWith(f, priv, hsmPoint, pan, pin, random)
}

// EncipherPINForSetWith is EncipherPINForSetFormat with the issuer's own
// P-256 key instead of a fresh one (an issuer certificate's key, as a
// guide's walk uses it).
func EncipherPINForSetWith(f pinblock.Format, priv *ecdh.PrivateKey, hsmPoint []byte, pan PAN, pin []byte, random io.Reader) ([]byte, PINBlock, error) {
	hsmPub, err := ecdh.P256().NewPublicKey(hsmPoint)
	if err != nil {
		return nil, "", fmt.Errorf("reading the HSM's ECDH key: %w", err)
	}
	z, err := priv.ECDH(hsmPub)
	if err != nil {
		return nil, "", fmt.Errorf("agreeing PIN-set key: %w", err)
	}
	defer SecretBytes(z).Wipe()
	issuerPub := priv.PublicKey().Bytes()
	blk, err := PINSetCipher(f, z, issuerPub, hsmPoint)
	if err != nil {
		return nil, "", fmt.Errorf("agreeing PIN-set key: %w", err)
	}
	b, err := pinblock.Encipher(f, blk, pin, pan.Reveal(), random)
	if err != nil {
		return nil, "", fmt.Errorf("building PIN block: %w", err)
	}
	return issuerPub, PINBlock(EncodeHex(b)), nil
}
