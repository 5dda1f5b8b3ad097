package terminal

import (
	"fmt"
	"strings"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/iso"
)

// Message authentication (docs/iso8583.md section 5.15): an acquirer with
// a zone MAC key (ZAK) sends the ISO/IEC 9797-1 MAC algorithm 3 (padding
// method 2) of each packed request, up to its MAC field, in field 64, or
// 128 when the message has a secondary bitmap, and the host MACs its
// answers the same way.

// DefaultZAKHex is the clear value of the sandbox MAC acquirer's zone MAC
// key (acquirer DefaultMACAcquirerID, docs/sandbox.md): the key of the
// ISO/IEC 9797-1 Annex B examples, K = 0123456789ABCDEF and
// K' = FEDCBA9876543210, check value 08D7B4. It is a public test key,
// never a production one.
const DefaultZAKHex = "0123456789ABCDEFFEDCBA9876543210"

// DefaultZAKKCV is DefaultZAKHex's check value (TDES encrypt-zeros).
const DefaultZAKKCV = "08D7B4"

// DefaultMACAcquirerID is the sandbox acquirer that requires MACs.
const DefaultMACAcquirerID = "00000000002"

// MACMode says whether and how a request carries a MAC.
type MACMode string

// MAC modes.
const (
	// MACDefault is the terminal's setting: MACRight when
	// TerminalConfig.MAC is set, else MACNone.
	MACDefault MACMode = ""
	// MACRight sends the request's MAC under the terminal's ZAK.
	MACRight MACMode = "right"
	// MACWrong sends a MAC that does not verify (mac_invalid).
	MACWrong MACMode = "wrong"
	// MACNone sends no MAC field (mac_missing at an acquirer that requires
	// MACs).
	MACNone MACMode = "none"
)

// ParseMACMode accepts right, wrong and none ("" for the default).
func ParseMACMode(s string) (MACMode, error) {
	switch m := MACMode(strings.ToLower(strings.TrimSpace(s))); m {
	case MACDefault, MACRight, MACWrong, MACNone:
		return m, nil
	}
	return "", fmt.Errorf("%w: mac %q is not right, wrong or none", ErrTransaction, s)
}

// MACStatus is the outcome of checking an answer's MAC.
type MACStatus string

// MAC check outcomes.
const (
	// MACValid: the answer's MAC verifies under the terminal's ZAK.
	MACValid MACStatus = "valid"
	// MACInvalid: the answer carries a MAC that does not verify.
	MACInvalid MACStatus = "invalid"
	// MACAbsent: the answer carries no MAC.
	MACAbsent MACStatus = "absent"
)

// macFunc returns the MAC of data under the clear ZAK key.
func macFunc(key []byte) func(data []byte) ([]byte, error) {
	key = append([]byte(nil), key...)
	return func(data []byte) ([]byte, error) { return emv.MACAlgorithm3(key, data, emv.PaddingMethod2) }
}

// applyMAC gives tx's message the MAC mode asks for (MACDefault: the
// terminal's setting) and remembers it in tx.
func (t *Terminal) applyMAC(tx *Txn, mode MACMode) error {
	if mode == MACDefault {
		mode = MACNone
		if t.cfg.MAC {
			mode = MACRight
		}
	}
	tx.MAC, tx.mac = mode, t.mac
	return tx.seal()
}

// seal sets the MAC field of tx's message as tx.MAC says.
func (tx *Txn) seal() error {
	if tx.MAC != MACRight && tx.MAC != MACWrong {
		return nil
	}
	if _, err := iso.PackMAC(tx.Msg, tx.mac); err != nil {
		return fmt.Errorf("%w: %w", ErrTransaction, err)
	}
	if tx.MAC == MACWrong {
		id := iso.FieldMAC
		v, _ := tx.Msg.GetString(id)
		if v == "" {
			id = iso.FieldSecondaryMAC
			v, _ = tx.Msg.GetString(id)
		}
		last := "0"
		if v[len(v)-1] == '0' {
			last = "1"
		}
		_ = tx.Msg.Field(id, v[:len(v)-1]+last)
	}
	return nil
}

// checkMAC checks the MAC of an answer (its bytes as received) with the
// terminal's ZAK: valid, invalid or absent. The problem is "" unless the
// MAC is invalid, or absent from the answer to a request MACed right (the
// host MACs every answer to an acquirer that MACs).
func (tx *Txn) checkMAC(raw []byte) (MACStatus, string) {
	data, mac, present, err := iso.MACInput(raw)
	if err != nil {
		return MACInvalid, fmt.Sprintf("answer MAC: %v", err)
	}
	if !present {
		if tx.MAC == MACRight {
			return MACAbsent, "no MAC (field 64/128) on the answer to a MACed request"
		}
		return MACAbsent, ""
	}
	if tx.mac == nil {
		return MACInvalid, "answer MAC: the terminal has no ZAK"
	}
	want, err := tx.mac(data)
	if err != nil || emv.EncodeHex(want) != strings.ToUpper(string(mac)) {
		return MACInvalid, "answer MAC does not verify under the terminal's ZAK"
	}
	return MACValid, ""
}
