package seedwalk

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
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

// placeholderPAN is the PAN a PIN block sent with a card's creation is
// bound to: the card's PAN does not exist yet (docs/api.md, "PIN set").
const placeholderPAN = "000000000000"

// agreedKey is the issuer's side of the PIN set key agreement
// (docs/hsm.md, "PIN set key agreement"): ECDH P-256 between the issuer
// certificate's key and the HSM's, then the NIST SP 800-56C one-step KDF
// with SHA-256 over the label and both public points.
func agreedKey(issuer *ecdsa.PrivateKey, hsmPublicKeyPEM, label string, bits int) ([]byte, error) {
	blk, _ := pem.Decode([]byte(hsmPublicKeyPEM))
	if blk == nil {
		return nil, errors.New("HSM public key: not PEM")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("HSM public key: %w", err)
	}
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("HSM public key: not an EC key")
	}
	hsm, err := ek.ECDH()
	if err != nil {
		return nil, err
	}
	mine, err := issuer.ECDH()
	if err != nil {
		return nil, err
	}
	z, err := mine.ECDH(hsm)
	if err != nil {
		return nil, err
	}
	var fixedInfo []byte
	for _, f := range [][]byte{[]byte(label), mine.PublicKey().Bytes(), hsm.Bytes()} {
		fixedInfo = binary.BigEndian.AppendUint32(fixedInfo, uint32(len(f)))
		fixedInfo = append(fixedInfo, f...)
	}
	fixedInfo = binary.BigEndian.AppendUint32(fixedInfo, uint32(bits))
	h := sha256.New()
	h.Write([]byte{0, 0, 0, 1})
	h.Write(z)
	h.Write(fixedInfo)
	return h.Sum(nil)[:bits/8], nil
}

// pinBlock enciphers pin as an issuer does for a card's creation: format
// 4 under the agreed AES-256 key, bound to the placeholder PAN of twelve
// zeros; format 0 (QPay's 16 hex characters) under the agreed three-key
// TDES key, bound to thirteen zeros (docs/api.md, "PIN set").
func pinBlock(issuer *ecdsa.PrivateKey, hsmPublicKeyPEM, format, pin string) (string, error) {
	var (
		c   cipher.Block
		f   pinblock.Format
		pan string
	)
	switch format {
	case "format4":
		key, err := agreedKey(issuer, hsmPublicKeyPEM, "cardhost:pin-set:iso9564-4:aes-256", 256)
		if err != nil {
			return "", err
		}
		if c, err = aes.NewCipher(key); err != nil {
			return "", err
		}
		f, pan = pinblock.Format4, placeholderPAN
	case "format0":
		key, err := agreedKey(issuer, hsmPublicKeyPEM, "cardhost:pin-set:iso9564-0:tdes-192", 192)
		if err != nil {
			return "", err
		}
		if c, err = des.NewTripleDESCipher(key); err != nil {
			return "", err
		}
		f, pan = pinblock.Format0, placeholderPAN+"0"
	default:
		return "", fmt.Errorf("pin_block: %s is not a format a guide sends (format0, format4)", format)
	}
	b, err := pinblock.Encipher(f, c, []byte(pin), pan, rand.Reader)
	if err != nil {
		return "", err
	}
	return strings.ToUpper(hex.EncodeToString(b)), nil
}
