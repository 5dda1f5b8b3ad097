package seedwalk

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
)

// pinBlock enciphers pin as an issuer does for a card's creation
// (docs/hsm.md, "PIN set key agreement"): emv.EncipherPINForSetWith with
// the issuer certificate's key against the HSM's key, format 4 bound to
// twelve zeros, or format 0 (QPay's 16 hex characters) bound to thirteen.
func pinBlock(issuer *ecdsa.PrivateKey, hsmPublicKeyPEM, format, pin string) (string, error) {
	var (
		f   pinblock.Format
		pan emv.PAN
	)
	switch format {
	case "format4":
		f, pan = pinblock.Format4, emv.PINSetPlaceholderPAN
	case "format0":
		f, pan = pinblock.Format0, emv.PINSetPlaceholderPANFormat0
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
	_, b, err := emv.EncipherPINForSetWith(f, mine, hsm.Bytes(), pan, []byte(pin), rand.Reader)
	return strings.ToUpper(b.Reveal()), err
}
