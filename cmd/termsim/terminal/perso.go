package terminal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cardhost/cardhost/emv"
)

// The sealed personalisation record (docs/perso.md): the sandbox export of
// a card, which termsim opens with the tenant's transport key to become the
// card. The envelope is
//
//	0x01 ‖ KEK version (4 bytes, big-endian) ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)
//
// under the key HKDF-SHA-256(KEK, salt empty, info PersoSealInfo, 32 bytes),
// with the card id as additional authenticated data. Only the standard
// library is needed to open it.
const (
	// PersoFormat is the record's "format" member.
	PersoFormat = "cardhost-perso-v1"
	// PersoSealInfo is the HKDF info string of the record key.
	PersoSealInfo = "cardhost:perso:v1"
	persoVersion  = 0x01
)

// DefaultTransportKeyHex is the clear value of every sandbox tenant's
// transport key (AES-256 KEK, docs/sandbox.md): the XOR of two published
// components, check value (AES-CMAC) A25E84. Sandbox exports of
// personalisation records are sealed under it. A public test key.
const DefaultTransportKeyHex = "36F84D8A544BDC9CF02EBA0710E63665BC65FFE9F01DD87CB7CB139D7AA6B72A"

// DefaultTransportKeyKCV is DefaultTransportKeyHex's check value.
const DefaultTransportKeyKCV = "A25E84"

// persoRecord is the part of the personalisation record termsim reads.
type persoRecord struct {
	Format      string `json:"format"`
	CardID      string `json:"card_id"`
	PAN         string `json:"pan"`
	Expiry      string `json:"expiry"`
	PSN         string `json:"psn"`
	ServiceCode string `json:"service_code"`
	Track2      string `json:"track2"`
	Track2Chip  string `json:"track2_chip"`
	CVV2        string `json:"cvv2"`
	PIN         string `json:"pin"`
	PINMethod   string `json:"pin_method"`
	Network     string `json:"network"`
	Scheme      string `json:"scheme"`
	CVN         int    `json:"cvn"`
	ICCKeys     *struct {
		AC    string `json:"ac"`
		ACKCV string `json:"ac_kcv"`
	} `json:"icc_master_keys"`
}

// OpenPerso opens a sealed personalisation record with the clear transport
// key (32 bytes; DefaultTransportKeyHex in the sandbox) and the card id it
// was sealed for, and returns the card. A wrong key, card id or any change
// to the envelope fails with ErrCard; so does a record without the chip's
// clear MK-AC (only sandbox exports carry it) or whose MK-AC does not match
// its check value.
func OpenPerso(transportKey []byte, cardID string, sealed []byte) (*Card, error) {
	clearRec, err := openSealed(transportKey, cardID, sealed)
	if err != nil {
		return nil, err
	}
	defer clear(clearRec)
	var r persoRecord
	if err := json.Unmarshal(clearRec, &r); err != nil {
		return nil, fmt.Errorf("%w: personalisation record is not JSON", ErrCard)
	}
	if r.Format != PersoFormat {
		return nil, fmt.Errorf("%w: personalisation record format %q, want %s", ErrCard, r.Format, PersoFormat)
	}
	if r.CardID != cardID {
		return nil, fmt.Errorf("%w: personalisation record is for another card", ErrCard)
	}
	spec := CardSpec{
		ID: r.CardID, PAN: r.PAN, Expiry: r.Expiry, PSN: r.PSN, ServiceCode: r.ServiceCode,
		Track2: r.Track2, ChipTrack2: r.Track2Chip, CVV2: r.CVV2, PIN: r.PIN, PINMethod: r.PINMethod,
		Network: r.Network,
	}
	if r.ICCKeys != nil && r.ICCKeys.AC != "" {
		mk, err := emv.DecodeHex(r.ICCKeys.AC)
		if err != nil {
			return nil, fmt.Errorf("%w: icc_master_keys.ac is not hex", ErrCard)
		}
		kcv, err := emv.KCV(emv.AlgorithmTDES, mk)
		clear(mk)
		if err != nil || (r.ICCKeys.ACKCV != "" && emv.EncodeHex(kcv) != r.ICCKeys.ACKCV) {
			return nil, fmt.Errorf("%w: icc_master_keys.ac does not match its check value", ErrCard)
		}
		spec.CVN, spec.ICCMasterKeyAC = r.CVN, r.ICCKeys.AC
	} else if r.CVN != 0 {
		return nil, fmt.Errorf("%w: record has no clear chip key (only sandbox exports do)", ErrCard)
	}
	return NewCard(spec)
}

// openSealed checks and decrypts the envelope.
func openSealed(kek []byte, cardID string, sealed []byte) ([]byte, error) {
	if len(kek) != 32 {
		return nil, fmt.Errorf("%w: transport key must be 32 bytes (AES-256)", ErrCard)
	}
	if len(sealed) < 1+4+12+16 || sealed[0] != persoVersion || binary.BigEndian.Uint32(sealed[1:5]) == 0 {
		return nil, fmt.Errorf("%w: not a sealed personalisation record", ErrCard)
	}
	key, err := hkdf.Key(sha256.New, kek, nil, PersoSealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("%w: deriving record key", ErrCard)
	}
	defer clear(key)
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: record key", ErrCard)
	}
	gcm, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, fmt.Errorf("%w: record key", ErrCard)
	}
	out, err := gcm.Open(nil, sealed[5:17], sealed[17:], []byte(cardID))
	if err != nil {
		return nil, fmt.Errorf("%w: personalisation record does not open with this transport key and card id", ErrCard)
	}
	return out, nil
}

// kcvAES returns an AES key's check value (CMAC, 6 hex digits).
func kcvAES(key []byte) (string, error) {
	kcv, err := emv.KCV(emv.AlgorithmAES, key)
	if err != nil {
		return "", err
	}
	return emv.EncodeHex(kcv), nil
}

// PersoExport is the answer of POST /v1/simulator/cards/{id}/perso: the
// card's personalisation record sealed under the tenant's transport key.
type PersoExport struct {
	CardID       string `json:"card_id"`       // the card (and the envelope's additional data)
	KeyReference string `json:"key_reference"` // the transport key's reference
	KeyVersion   int    `json:"key_version"`   // and version
	// KCV is the transport key's check value (AES-CMAC).
	KCV    string `json:"kcv"`
	Format string `json:"format"` // cardhost-sealed-v1+aes-256-gcm
	// Record is the sealed record, base64.
	Record string `json:"record"`
}

// ParsePersoExport reads a PersoExport saved as JSON (the API's answer).
func ParsePersoExport(data []byte) (PersoExport, error) {
	var p PersoExport
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&p); err != nil || p.CardID == "" || p.Record == "" {
		return PersoExport{}, fmt.Errorf("%w: not a personalisation export (want the JSON answer of POST /v1/simulator/cards/{id}/perso)", ErrCard)
	}
	return p, nil
}

// Open opens the export with the clear transport key (32 bytes) and
// returns the card. A transport key whose check value differs from the
// export's is refused before anything is decrypted.
func (p PersoExport) Open(transportKey []byte) (*Card, error) {
	if p.KCV != "" {
		if kcv, err := kcvAES(transportKey); err != nil || !strings.EqualFold(kcv, p.KCV) {
			return nil, fmt.Errorf("%w: transport key check value is not the export's %s", ErrCard, p.KCV)
		}
	}
	sealed, err := base64.StdEncoding.DecodeString(p.Record)
	if err != nil {
		return nil, fmt.Errorf("%w: record is not base64", ErrCard)
	}
	return OpenPerso(transportKey, p.CardID, sealed)
}
