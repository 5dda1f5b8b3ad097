package softhsm

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
)

// Sealed records: data (a card's personalisation record) encrypted for the
// holder of a transport key (KEK), for embossing files and the sandbox
// export (docs/perso.md). The KEK itself never encrypts data: a record key
// is derived from it with HKDF-SHA-256 (empty salt, info RecordSealInfo, 32
// bytes), which keeps the KEK's own use (TR-31 key blocks) separate. The
// envelope is
//
//	0x01 ‖ KEK version (4 bytes, big-endian) ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)
//
// with the caller's additional data (the card id) authenticated.

// RecordSealInfo is the HKDF info string of the record key.
const RecordSealInfo = "cardhost:perso:v1"

// MaxRecordSize bounds a record passed to SealRecord (64 KiB).
const MaxRecordSize = 64 << 10

const recordSealVersion = 0x01

// SealRecord encrypts record (a JSON object) under a key derived from the
// active version of the KEK kekRef and returns the envelope and the KEK's
// check value. aad (the card id) is authenticated, not encrypted.
//
// When clearICC is not nil the HSM derives that card's ICC master keys
// (MK-AC, and MK-SMI/MK-SMC when their IMKs are named; clearICC.KEKRef is
// ignored) and adds them, in clear hex with their check values, to the
// record as the member "icc_master_keys" before sealing: the clear keys
// exist only inside the HSM and inside the sealed record. This is the
// sandbox export, which lets the terminal simulator act as the chip.
//
// Errors: ErrKeyUsage (kekRef is not a KEK, or an IMK is not an IMK),
// ErrNotExportable (the KEK is not an AES key), ErrInvalidInput (record
// empty, too large, not a JSON object, or already holding
// "icc_master_keys"; bad PAN/PSN), and the key look-up errors.
func (h *HSM) SealRecord(ctx context.Context, kekRef string, aad, record []byte, clearICC *ICCKeyRequest) ([]byte, string, error) {
	if len(record) == 0 || len(record) > MaxRecordSize {
		return nil, "", fmt.Errorf("sealing record: size: %w", ErrInvalidInput)
	}
	if err := h.checkType(ctx, kekRef, opWrap); err != nil {
		return nil, "", err
	}
	plain := record
	if clearICC != nil {
		p, err := h.withClearICCKeys(ctx, record, *clearICC)
		if err != nil {
			return nil, "", err
		}
		defer emv.SecretBytes(p).Wipe()
		plain = p
	}
	var out []byte
	var kcv string
	err := h.withActive(ctx, kekRef, opWrap, func(kek *key) error {
		if !isAES(kek.rec.Spec) {
			return fmt.Errorf("sealing record under %s: %w", kekRef, ErrNotExportable)
		}
		dk, err := hkdf.Key(sha256.New, kek.raw, nil, RecordSealInfo, 32)
		if err != nil {
			return fmt.Errorf("sealing record: %w", ErrKeySpec)
		}
		defer emv.SecretBytes(dk).Wipe()
		blk, err := aes.NewCipher(dk)
		if err != nil {
			return fmt.Errorf("sealing record: %w", ErrKeySpec)
		}
		gcm, err := cipher.NewGCM(blk)
		if err != nil {
			return fmt.Errorf("sealing record: %w", ErrKeySpec)
		}
		out = make([]byte, 0, 1+4+12+len(plain)+16)
		out = append(out, recordSealVersion)
		out = binary.BigEndian.AppendUint32(out, uint32(kek.rec.Version))
		nonce := make([]byte, 12)
		if _, err := io.ReadFull(h.rand, nonce); err != nil {
			return fmt.Errorf("sealing record: %w", err)
		}
		out = append(out, nonce...)
		out = gcm.Seal(out, nonce, plain, aad)
		kcv = kek.rec.KCV
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, kcv, nil
}

// withClearICCKeys returns record with the member "icc_master_keys" added
// (first), holding the card's ICC master keys in hex. The key material is
// written straight into the returned buffer (no encoder buffers), which the
// caller wipes.
func (h *HSM) withClearICCKeys(ctx context.Context, record []byte, req ICCKeyRequest) ([]byte, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(record, &members); err != nil || members == nil {
		return nil, fmt.Errorf("sealing record: not a JSON object: %w", ErrInvalidInput)
	}
	if _, dup := members["icc_master_keys"]; dup {
		return nil, fmt.Errorf("sealing record: icc_master_keys already present: %w", ErrInvalidInput)
	}
	var buf bytes.Buffer
	buf.Grow(len(record) + 256)
	buf.WriteString(`{"icc_master_keys":{`)
	first := true
	err := h.eachICCMasterKey(ctx, req, "sealing record", func(name string, _ *key, mk emv.SecretBytes) error {
		kcv, err := checkValue(emv.KeySpecTDES2, mk)
		if err != nil {
			return err
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		buf.WriteString(`"` + name + `":"`)
		writeHex(&buf, mk)
		buf.WriteString(`","` + name + `_kcv":"` + kcv + `"`)
		return nil
	})
	if err != nil {
		emv.SecretBytes(buf.Bytes()).Wipe()
		return nil, err
	}
	buf.WriteByte('}')
	rest := bytes.TrimSpace(record)[1:] // after '{'
	if len(bytes.TrimSpace(rest)) > 1 { // more than "}": other members follow
		buf.WriteByte(',')
	}
	buf.Write(rest)
	return buf.Bytes(), nil
}

// writeHex writes b as upper-case hex without intermediate strings.
func writeHex(w *bytes.Buffer, b []byte) {
	const digits = "0123456789ABCDEF"
	for _, x := range b {
		w.WriteByte(digits[x>>4])
		w.WriteByte(digits[x&0x0F])
	}
}

// IsInputError reports whether err means that data given to an operation
// was rejected (a PIN block that does not decipher or decode, a public key
// or CSR that is not acceptable, a malformed PAN, PSN or expiry) rather
// than the HSM failing to work (missing or expired keys, a store failure).
// API adapters answer the first kind with a client error.
func (h *HSM) IsInputError(err error) bool {
	return errors.Is(err, ErrPINBlock) || errors.Is(err, ErrPublicKey) || errors.Is(err, ErrCSR) || errors.Is(err, ErrInvalidInput)
}

// PINSetPlaceholderPAN is emv.PINSetPlaceholderPAN: the PAN a PIN block
// chosen before the card's PAN exists is bound to.
const PINSetPlaceholderPAN = emv.PINSetPlaceholderPAN

// SetPINWithBinding is SetPIN for a block whose PAN field holds
// bindPAN rather than the card's PAN (req.PAN), as when a PIN is chosen at
// card creation (bindPAN PINSetPlaceholderPAN): the block is deciphered
// with bindPAN and the verification data computed for the card's PAN. The
// PIN is never stored or returned. A block that does not decode gives
// ErrPINBlock.
func (h *HSM) SetPINWithBinding(ctx context.Context, req PINSet, bindPAN emv.PAN, c PINCheck) (PINVerificationData, error) {
	if err := h.checkType(ctx, c.PVKRef, opPINVerify); err != nil {
		return PINVerificationData{}, err
	}
	peer, err := ParsePublicKey(req.IssuerPublicKey)
	if err != nil {
		return PINVerificationData{}, err
	}
	block, err := emv.DecodeHex(req.Block.Reveal())
	format, ok := emv.PINSetFormatOf(len(block))
	if err != nil || !ok {
		return PINVerificationData{}, fmt.Errorf("reading PIN block: %w", ErrPINBlock)
	}
	if format == pinblock.Format0 && bindPAN == PINSetPlaceholderPAN {
		bindPAN = emv.PINSetPlaceholderPANFormat0 // format 0 needs 13 digits
	}
	var pin []byte
	_, err = h.eachVerifiable(ctx, req.ECDHRef, opAgree, func(k *key) (bool, error) {
		priv, err := k.ec.ECDH()
		if err != nil {
			return false, fmt.Errorf("agreeing PIN key: %w", ErrKeySpec)
		}
		z, err := priv.ECDH(peer)
		if err != nil {
			return false, fmt.Errorf("agreeing PIN key: %w", ErrPublicKey)
		}
		defer emv.SecretBytes(z).Wipe()
		blk, err := emv.PINSetCipher(format, z, peer.Bytes(), priv.PublicKey().Bytes())
		if err != nil {
			return false, fmt.Errorf("agreeing PIN key: %w", ErrKeySpec)
		}
		p, err := pinblock.Decipher(format, blk, block, bindPAN.Reveal())
		if err != nil {
			return false, nil // an older ECDH version may have made it
		}
		pin = p
		return true, nil
	})
	if err != nil {
		return PINVerificationData{}, err
	}
	if pin == nil {
		return PINVerificationData{}, fmt.Errorf("deciphering PIN set block: %w", ErrPINBlock)
	}
	defer emv.SecretBytes(pin).Wipe()
	return h.deriveVerification(ctx, string(pin), req.PAN.Reveal(), c)
}
