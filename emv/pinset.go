package emv

import (
	"crypto/aes"
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
// under it. The HSM side is emv/softhsm's SetPIN; the issuer side,
// [EncipherPINForSet], is what the sandbox simulator and tests play.

// PIN-set key agreement as published with the HSM public key.
const (
	PINSetKeyAgreement = "ECDH-P256"
	PINSetKDF          = "NIST SP 800-56C one-step SHA-256"
)

// PINSetAlgorithmID is the AlgorithmID of the PIN-set KDF's FixedInfo
// (docs/hsm.md, "PIN set key agreement").
const PINSetAlgorithmID = "cardhost:pin-set:iso9564-4:aes-256"

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
	var b []byte
	for _, f := range [][]byte{[]byte(PINSetAlgorithmID), issuerPub, hsmPub} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return binary.BigEndian.AppendUint32(b, 256)
}

// EncipherPINForSet is the issuer's side of the PIN set: ECDH with a fresh
// P-256 key (from random) against the HSM's public point, the one-step KDF
// over [PINSetFixedInfo], and an ISO 9564 format 4 block for pin and pan
// under the result. It returns the fresh public key (uncompressed point)
// and the block in hex.
func EncipherPINForSet(hsmPoint []byte, pan PAN, pin []byte, random io.Reader) ([]byte, PINBlock, error) {
	hsmPub, err := ecdh.P256().NewPublicKey(hsmPoint)
	if err != nil {
		return nil, "", fmt.Errorf("reading the HSM's ECDH key: %w", err)
	}
	priv, err := ecdh.P256().GenerateKey(random)
	if err != nil {
		return nil, "", fmt.Errorf("generating PIN-set key: %w", err)
	}
	z, err := priv.ECDH(hsmPub)
	if err != nil {
		return nil, "", fmt.Errorf("agreeing PIN-set key: %w", err)
	}
	defer SecretBytes(z).Wipe()
	issuerPub := priv.PublicKey().Bytes()
	key := SecretBytes(KDFOneStepSHA256(z, PINSetFixedInfo(issuerPub, hsmPoint), 32))
	defer key.Wipe()
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, "", fmt.Errorf("agreeing PIN-set key: %w", err)
	}
	b, err := pinblock.Encipher(pinblock.Format4, blk, pin, pan.Reveal(), random)
	if err != nil {
		return nil, "", fmt.Errorf("building PIN block: %w", err)
	}
	return issuerPub, PINBlock(EncodeHex(b)), nil
}
