package seedwalk

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
)

// placeholderPAN4 is the PAN a format 4 block sent with a card's creation
// is bound to: the card's PAN does not exist yet (docs/api.md, "PIN set").
const placeholderPAN4 = "000000000000"

// pinBlock enciphers pin as an issuer does for a card's creation
// (docs/hsm.md, "PIN set key agreement"): ECDH P-256 between the issuer
// certificate's key and the HSM's key, the agreed key from emv's KDF, then
// format 4 under AES-256 bound to twelve zeros, or format 0 (QPay's 16 hex
// characters) under three-key TDES bound to thirteen zeros.
func pinBlock(issuer *ecdsa.PrivateKey, hsmPublicKeyPEM, format, pin string) (string, error) {
	var (
		f   pinblock.Format
		pan string
	)
	switch format {
	case "format4":
		f, pan = pinblock.Format4, placeholderPAN4
	case "format0":
		f, pan = pinblock.Format0, string(emv.PINSetPlaceholderPANFormat0)
	default:
		return "", fmt.Errorf("pin_block: %s is not a format a guide sends (format0, format4)", format)
	}
	blk, _ := pem.Decode([]byte(hsmPublicKeyPEM))
	if blk == nil {
		return "", errors.New("HSM public key: not PEM")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return "", fmt.Errorf("HSM public key: %w", err)
	}
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return "", errors.New("HSM public key: not an EC key")
	}
	hsm, err := ek.ECDH()
	if err != nil {
		return "", err
	}
	mine, err := issuer.ECDH()
	if err != nil {
		return "", err
	}
	z, err := mine.ECDH(hsm)
	if err != nil {
		return "", err
	}
	c, err := emv.PINSetCipher(f, z, mine.PublicKey().Bytes(), hsm.Bytes())
	if err != nil {
		return "", err
	}
	b, err := pinblock.Encipher(f, c, []byte(pin), pan, rand.Reader)
	if err != nil {
		return "", err
	}
	return strings.ToUpper(hex.EncodeToString(b)), nil
}
