package rest_test

import (
	"crypto/aes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/cardhost/cardhost/emv/pinblock"
)

// pinSetBlock is the issuer's side of a PIN set (docs/api.md "PIN set"),
// standard library and emv/pinblock only:
//
//  1. Z = ECDH(issuer private key, HSM public key) — the issuer key is the
//     one its cardhost certificate certifies (hsm_key_reference), the HSM
//     key comes from GET /v1/hsm/public-key;
//  2. K = SHA-256(00000001 ‖ Z ‖ FixedInfo), NIST SP 800-56C rev. 2
//     one-step KDF, FixedInfo = len ‖ "cardhost:pin-set:iso9564-4:aes-256"
//     ‖ len ‖ issuer point ‖ len ‖ HSM point ‖ 00000100 (4-byte big-endian
//     lengths; points uncompressed, 65 bytes);
//  3. an ISO 9564-1 format 4 PIN block for the PIN and the card's PAN
//     (000000000000 when the PIN comes with the card creation request),
//     enciphered under K;
//  4. the 32 hex characters go in enciphered_pin_block.
func pinSetBlock(issuer *ecdh.PrivateKey, hsmPublicKeyPEM, pan, pin string) (string, error) {
	blk, _ := pem.Decode([]byte(hsmPublicKeyPEM))
	if blk == nil {
		return "", errors.New("HSM public key: not PEM")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return "", err
	}
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return "", errors.New("HSM public key: not EC")
	}
	hsm, err := ek.ECDH()
	if err != nil {
		return "", err
	}
	z, err := issuer.ECDH(hsm)
	if err != nil {
		return "", err
	}
	var fixedInfo []byte
	for _, f := range [][]byte{[]byte("cardhost:pin-set:iso9564-4:aes-256"), issuer.PublicKey().Bytes(), hsm.Bytes()} {
		fixedInfo = binary.BigEndian.AppendUint32(fixedInfo, uint32(len(f)))
		fixedInfo = append(fixedInfo, f...)
	}
	fixedInfo = binary.BigEndian.AppendUint32(fixedInfo, 256)
	h := sha256.New()
	h.Write([]byte{0, 0, 0, 1})
	h.Write(z)
	h.Write(fixedInfo)
	key := h.Sum(nil)
	c, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	b, err := pinblock.Encipher(pinblock.Format4, c, []byte(pin), pan, rand.Reader)
	if err != nil {
		return "", err
	}
	return strings.ToUpper(hex.EncodeToString(b)), nil
}

// Example_pinSet shows the issuer's side of a PIN set. A real client uses
// the private key its certificate certifies and the HSM key from
// GET /v1/hsm/public-key; here a local key stands in for the HSM's.
func Example_pinSet() {
	issuer, _ := ecdh.P256().GenerateKey(rand.Reader) // your certificate's key
	hsmKey, _ := ecdh.P256().GenerateKey(rand.Reader) // stands in for the HSM
	der, _ := x509.MarshalPKIXPublicKey(hsmKey.PublicKey())
	hsmPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))

	block, err := pinSetBlock(issuer, hsmPEM, "4000001234567899", "1234")
	fmt.Println(len(block), err)
	// POST /v1/cards/{id}/pin
	// {"enciphered_pin_block": block, "incoming_pek": {"key_reference": "<hsm_key_reference>"}}

	// Output: 32 <nil>
}
