package softhsm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"

	"github.com/cardhost/cardhost/emv"
)

// Key blocks that leave the HSM (exports under a KEK) use ANSI X9.143 /
// ASC X9 TR-31:2018 key block version "D": AES key block protection key,
// KBEK and KBAK derived with AES-CMAC in counter mode, a 16-byte CMAC over
// header and clear payload, and AES-CBC encryption of the payload with the
// MAC as IV. Optional header blocks are not produced and are rejected on
// import.

// TR31Header is the fixed part of a TR-31 key block header.
type TR31Header struct {
	Usage         string // key usage, 2 characters ("E0", "P0", "C0", ...)
	Algorithm     byte   // 'T' TDES, 'A' AES, 'H' HMAC, 'E' ECC
	ModeOfUse     byte   // 'B' both, 'C' MAC/verify both, 'E' encrypt, 'D' decrypt, 'N' none, 'X' derive, ...
	KeyVersion    string // 2 characters; "00" when unused
	Exportability byte   // 'E' exportable, 'N' non-exportable, 'S' sensitive
}

func (h TR31Header) encode(total int) (string, error) {
	if len(h.Usage) != 2 || len(h.KeyVersion) != 2 || total > 9999 {
		return "", fmt.Errorf("building TR-31 header: %w", ErrInvalidInput)
	}
	return fmt.Sprintf("D%04d%s%c%c%s%c0000", total, h.Usage, h.Algorithm, h.ModeOfUse, h.KeyVersion, h.Exportability), nil
}

// tr31Keys derives the key block encryption and authentication keys from
// an AES KBPK (TR-31:2018 section A.5.2, NIST SP 800-108 counter mode with
// CMAC).
func tr31Keys(kbpk []byte) (kbek, kbak emv.SecretBytes, err error) {
	var alg uint16
	switch len(kbpk) {
	case 16:
		alg = 2
	case 24:
		alg = 3
	case 32:
		alg = 4
	default:
		return nil, nil, fmt.Errorf("deriving TR-31 keys: %w", ErrKeySpec)
	}
	b, err := aes.NewCipher(kbpk)
	if err != nil {
		return nil, nil, fmt.Errorf("deriving TR-31 keys: %w", ErrKeySpec)
	}
	derive := func(usage uint16) (emv.SecretBytes, error) {
		out := make(emv.SecretBytes, 0, 32)
		for counter := byte(1); len(out) < len(kbpk); counter++ {
			in := []byte{counter}
			in = binary.BigEndian.AppendUint16(in, usage)
			in = append(in, 0x00)
			in = binary.BigEndian.AppendUint16(in, alg)
			in = binary.BigEndian.AppendUint16(in, uint16(len(kbpk)*8))
			m, err := emv.CMAC(b, in)
			if err != nil {
				return nil, err
			}
			out = append(out, m...)
		}
		return out[:len(kbpk)], nil
	}
	if kbek, err = derive(0x0000); err != nil {
		return nil, nil, fmt.Errorf("deriving TR-31 keys: %w", err)
	}
	if kbak, err = derive(0x0001); err != nil {
		kbek.Wipe()
		return nil, nil, fmt.Errorf("deriving TR-31 keys: %w", err)
	}
	return kbek, kbak, nil
}

// WrapTR31 returns key as a TR-31 version D key block under the AES key
// block protection key kbpk. rnd supplies the padding (nil: none is read and
// zero padding is used, which only tests should do).
func WrapTR31(kbpk []byte, h TR31Header, key []byte, rnd io.Reader) (string, error) {
	kbek, kbak, err := tr31Keys(kbpk)
	if err != nil {
		return "", err
	}
	defer kbek.Wipe()
	defer kbak.Wipe()
	if len(key) == 0 || len(key) > 64 {
		return "", fmt.Errorf("wrapping TR-31 key block: %w", ErrKeySpec)
	}
	plen := 2 + len(key)
	plen += (16 - plen%16) % 16
	payload := make(emv.SecretBytes, plen)
	defer payload.Wipe()
	binary.BigEndian.PutUint16(payload, uint16(len(key)*8))
	copy(payload[2:], key)
	if rnd != nil {
		if _, err := io.ReadFull(rnd, payload[2+len(key):]); err != nil {
			return "", fmt.Errorf("wrapping TR-31 key block: %w", err)
		}
	}
	hdr, err := h.encode(16 + 2*plen + 32)
	if err != nil {
		return "", err
	}
	mac, err := tr31MAC(kbak, hdr, payload)
	if err != nil {
		return "", err
	}
	eb, _ := aes.NewCipher(kbek)
	enc := make([]byte, plen)
	cipher.NewCBCEncrypter(eb, mac).CryptBlocks(enc, payload)
	return hdr + emv.EncodeHex(enc) + emv.EncodeHex(mac), nil
}

func tr31MAC(kbak []byte, hdr string, payload []byte) ([]byte, error) {
	ab, err := aes.NewCipher(kbak)
	if err != nil {
		return nil, fmt.Errorf("computing TR-31 MAC: %w", ErrKeySpec)
	}
	msg := make([]byte, 0, len(hdr)+len(payload))
	msg = append(msg, hdr...)
	msg = append(msg, payload...)
	defer emv.SecretBytes(msg).Wipe()
	return emv.CMAC(ab, msg)
}

// UnwrapTR31 checks and opens a TR-31 version D key block under kbpk. A
// wrong key or any change to the block gives ErrKeyBlockAuth; a malformed
// block gives ErrInvalidInput.
func UnwrapTR31(kbpk []byte, block string) (TR31Header, emv.SecretBytes, error) {
	var h TR31Header
	bad := func() (TR31Header, emv.SecretBytes, error) {
		return TR31Header{}, nil, fmt.Errorf("unwrapping TR-31 key block: %w", ErrInvalidInput)
	}
	if len(block) < 16+64 || block[0] != 'D' {
		return bad()
	}
	n, err := strconv.Atoi(block[1:5])
	if err != nil || n != len(block) || block[12:14] != "00" || block[14:16] != "00" {
		return bad() // length mismatch, optional blocks, or reserved field
	}
	h = TR31Header{Usage: block[5:7], Algorithm: block[7], ModeOfUse: block[8], KeyVersion: block[9:11], Exportability: block[11]}
	hdr := block[:16]
	enc, err := emv.DecodeHex(block[16 : len(block)-32])
	if err != nil || len(enc) == 0 || len(enc)%16 != 0 {
		return bad()
	}
	mac, err := emv.DecodeHex(block[len(block)-32:])
	if err != nil {
		return bad()
	}
	kbek, kbak, err := tr31Keys(kbpk)
	if err != nil {
		return TR31Header{}, nil, err
	}
	defer kbek.Wipe()
	defer kbak.Wipe()
	eb, _ := aes.NewCipher(kbek)
	payload := make(emv.SecretBytes, len(enc))
	defer payload.Wipe()
	cipher.NewCBCDecrypter(eb, mac).CryptBlocks(payload, enc)
	want, err := tr31MAC(kbak, hdr, payload)
	if err != nil {
		return TR31Header{}, nil, err
	}
	if subtle.ConstantTimeCompare(want, mac) != 1 {
		return TR31Header{}, nil, fmt.Errorf("unwrapping TR-31 key block: %w", ErrKeyBlockAuth)
	}
	bits := int(binary.BigEndian.Uint16(payload))
	if bits%8 != 0 || 2+bits/8 > len(payload) {
		return TR31Header{}, nil, fmt.Errorf("unwrapping TR-31 key block: %w", ErrKeyBlockAuth)
	}
	key := make(emv.SecretBytes, bits/8)
	copy(key, payload[2:])
	return h, key, nil
}
