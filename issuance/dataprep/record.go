package dataprep

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/cardhost/cardhost/emv"
)

// The personalisation record (docs/perso.md). It is a JSON object holding
// the card's data in clear, and it only ever exists in clear in memory: the
// HSM seals it under a transport key (KEK) before it is written to an
// embossing file or returned by the sandbox export.
const (
	// RecordFormat is the value of the record's "format" member.
	RecordFormat = "cardhost-perso-v1"
	// SealFormat names the envelope a sealed record travels in.
	SealFormat = "cardhost-sealed-v1+aes-256-gcm"
	// SealInfo is the HKDF-SHA-256 info string that derives the record
	// key from the transport key.
	SealInfo = "cardhost:perso:v1"
	// SealVersion is the first byte of a sealed record.
	SealVersion = 0x01
)

// Record is a card's personalisation record: what a card bureau needs to
// personalise the plastic and the chip, and what the terminal simulator
// needs to act as the card. Every string is clear card data: a Record must
// never be logged or stored unsealed.
type Record struct {
	Format      string `json:"format"`
	CardID      string `json:"card_id"`
	CardType    string `json:"card_type"`
	PAN         string `json:"pan"`
	Expiry      string `json:"expiry"` // YYMM
	PSN         string `json:"psn"`    // 2 digits
	ServiceCode string `json:"service_code"`
	// Track2 is the magnetic stripe's track 2 (with the CVV).
	Track2 string `json:"track2"`
	// Track2Chip is the chip's track 2 equivalent, tag 57 (with the iCVV).
	Track2Chip  string `json:"track2_chip"`
	CVV2        string `json:"cvv2"`
	PrintedName string `json:"printed_name"`
	// PIN is present only in sandbox exports, and only when the PIN was
	// set through the sandbox simulator's PIN call.
	PIN       string `json:"pin,omitempty"`
	PINMethod string `json:"pin_method,omitempty"` // PVV or IBM3624
	PVKI      string `json:"pvki,omitempty"`
	PINLength int    `json:"pin_length,omitempty"`
	Network   string `json:"network"` // VISA, MASTERCARD or UNIONPAY
	// Scheme and CVN name the card's cryptogram version in the emv CVN
	// registry: emv.LookupCVN(Scheme, CVN).
	Scheme string `json:"scheme"`
	CVN    int    `json:"cvn"`
	// CVNCode is the CVN byte the chip puts in 9F10 (hex).
	CVNCode string `json:"cvn_code,omitempty"`
	// IADFormat describes the issuer application data layout the chip
	// emits (the CVN registry's ACData rule).
	IADFormat string `json:"iad_format,omitempty"`
	AID       string `json:"aid,omitempty"`
	// Layout and ShippingAddress are for the bureau (plastics).
	Layout          string          `json:"layout,omitempty"`
	EmbosserID      string          `json:"embosser_id,omitempty"`
	ShippingAddress json.RawMessage `json:"shipping_address,omitempty"`
	// ICCKeyBlocks are the chip's master keys as TR-31 key blocks under
	// the same transport key (embossing files).
	ICCKeyBlocks *ICCKeyBlocks `json:"icc_key_blocks,omitempty"`
	// ICCMasterKeys are the chip's master keys in clear hex, inserted by
	// the HSM inside the sealed record (sandbox export only).
	ICCMasterKeys *ICCMasterKeys `json:"icc_master_keys,omitempty"`
}

// ICCKeyBlocks are a chip's master keys exported under a transport key.
type ICCKeyBlocks struct {
	AC  KeyBlock  `json:"ac"`
	SMI *KeyBlock `json:"smi,omitempty"`
	SMC *KeyBlock `json:"smc,omitempty"`
}

// KeyBlock is one TR-31 key block and the key's check value.
type KeyBlock struct {
	KeyBlock string `json:"key_block"`
	KCV      string `json:"kcv"`
}

// ICCMasterKeys are a chip's master keys in clear (hex) with their check
// values, as the HSM writes them inside a sealed sandbox record.
type ICCMasterKeys struct {
	AC     string `json:"ac"`
	ACKCV  string `json:"ac_kcv"`
	SMI    string `json:"smi,omitempty"`
	SMIKCV string `json:"smi_kcv,omitempty"`
	SMC    string `json:"smc,omitempty"`
	SMCKCV string `json:"smc_kcv,omitempty"`
}

// Marshal encodes the record (for sealing). The caller should wipe the
// result (emv.SecretBytes(b).Wipe()) once it is sealed.
func (r *Record) Marshal() ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encoding personalisation record: %w", ErrRecord)
	}
	return b, nil
}

// SealKey derives the record key from a transport key's clear value:
// HKDF-SHA-256 with an empty salt, info SealInfo, 32 bytes (AES-256).
func SealKey(kek []byte) (emv.SecretBytes, error) {
	k, err := hkdf.Key(sha256.New, kek, nil, SealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving record key: %w", ErrRecord)
	}
	return k, nil
}

// OpenRecord opens a sealed record with the transport key's clear value
// (the sandbox tenant transport key is published for this): the envelope
// is SealVersion (1 byte) ‖ KEK version (4 bytes, big-endian) ‖ nonce (12)
// ‖ AES-256-GCM ciphertext ‖ tag (16), the key SealKey(kek), the
// additional data the card id. It returns the record JSON; the caller
// should wipe it after use. A wrong key, card id or any change gives
// ErrRecord.
//
// This is the reference for docs/perso.md: it uses only the standard
// library, so any client (the terminal simulator) can do the same.
func OpenRecord(kek []byte, cardID string, sealed []byte) ([]byte, error) {
	if len(sealed) < 1+4+12+16 || sealed[0] != SealVersion || binary.BigEndian.Uint32(sealed[1:5]) == 0 {
		return nil, fmt.Errorf("opening personalisation record: %w", ErrRecord)
	}
	key, err := SealKey(kek)
	if err != nil {
		return nil, err
	}
	defer key.Wipe()
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("opening personalisation record: %w", ErrRecord)
	}
	gcm, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, fmt.Errorf("opening personalisation record: %w", ErrRecord)
	}
	clear, err := gcm.Open(nil, sealed[5:17], sealed[17:], []byte(cardID))
	if err != nil {
		return nil, fmt.Errorf("opening personalisation record: %w", ErrRecord)
	}
	return clear, nil
}

// SealedKEKVersion returns the transport key version a sealed record was
// made with (0 when malformed).
func SealedKEKVersion(sealed []byte) int {
	if len(sealed) < 5 || sealed[0] != SealVersion {
		return 0
	}
	return int(binary.BigEndian.Uint32(sealed[1:5]))
}
