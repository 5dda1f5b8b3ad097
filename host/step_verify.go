package host

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/cardhost/cardhost/iso/digit"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/emv/tlv"
	"github.com/cardhost/cardhost/issuance"
)

// stepCardVerification checks the card verification data the entry mode
// brings (the card data column of entrymode.go): for chip and contactless
// the ARQC in field 55 (and the iCVV when track 2 is present), for
// magnetic stripe the CVV in track 2, and the CVV2 of field 48 whenever
// present (whether a card-not-present request must carry one is the
// card's cvv2_policy, stepCardNotPresent). A wrong CVV2 is counted, a
// right one resets the count.
func stepCardVerification(ctx context.Context, t *txn) (Decision, error) {
	r, c := t.req, t.card
	m, ok := entryModeOf(r.EntryMode)
	if !ok {
		return Decline(ReasonEntryModeNotSupported), nil
	}
	chip := m.data == dataChip
	if chip {
		if len(r.ICC) == 0 {
			return Decline(ReasonFormatError), nil
		}
		if d, err := verifyARQC(ctx, t); d.Decided() || err != nil {
			return d, err
		}
	}
	if r.Track2 != "" {
		tr, err := parseTrack2(r.Track2.Reveal())
		if err != nil || tr.pan != r.PAN.Reveal() {
			return Decline(ReasonFormatError), nil
		}
		if chip {
			ok, err := t.v.VerifyICVV(ctx, c.CVKRef, r.PAN, tr.expiry, emv.CVV(tr.cvv))
			if err != nil {
				return Decision{}, fmt.Errorf("verifying iCVV: %w", err)
			}
			if !ok {
				return Decline(ReasonICVVInvalid), nil
			}
		} else {
			ok, err := t.v.VerifyCVV(ctx, c.CVKRef, r.PAN, tr.expiry, tr.serviceCode, emv.CVV(tr.cvv))
			if err != nil {
				return Decision{}, fmt.Errorf("verifying CVV: %w", err)
			}
			if !ok {
				return Decline(ReasonCVVInvalid), nil
			}
		}
	} else if m.data == dataTrack {
		return Decline(ReasonFormatError), nil
	}
	if r.CVV2 != "" {
		if !digit.N(r.CVV2.Reveal(), 3) {
			return Decline(ReasonFormatError), nil
		}
		ok, err := t.verifyCVV2(ctx)
		if err != nil {
			return Decision{}, fmt.Errorf("verifying CVV2: %w", err)
		}
		if !ok {
			return t.wrongCVV2(), nil
		}
		if t.next.CVV2Tries != 0 {
			t.next.CVV2Tries = 0
			t.dirty = true
		}
	}
	return Decision{}, nil
}

// Chip data tags the host reads itself.
const (
	tagIAD = tlv.Tag(0x9F10)
	tagATC = tlv.Tag(0x9F36)
	tagPSN = tlv.Tag(0x5F34)
)

// verifyARQC parses field 55, checks the card's CVN against 9F10, verifies
// the ARQC and the ATC. Once the ARQC verified, t.arqc is set so that the
// response carries an ARPC whatever the final decision.
func verifyARQC(ctx context.Context, t *txn) (Decision, error) {
	r, c := t.req, t.card
	list, err := tlv.Decode(r.ICC)
	if err != nil {
		return Decline(ReasonFormatError), nil
	}
	icc, err := list.Map()
	if err != nil {
		return Decline(ReasonFormatError), nil
	}
	cvn, err := c.Network.CVN(c.CVN)
	if err != nil {
		return Decision{}, fmt.Errorf("card %s has no usable CVN: %w", c.ID, err)
	}
	raw, ok := icc[tagIAD]
	if !ok {
		return Decline(ReasonFormatError), nil
	}
	iad, err := emv.ParseIAD(string(cvn.Scheme), raw)
	if err != nil {
		return Decline(ReasonFormatError), nil
	}
	if !cvn.Names(iad) {
		return Decline(ReasonCVNMismatch), nil
	}
	if d := chipBinding(r, c, icc, iad); d.Decided() {
		return d, nil
	}
	atcBytes, ok := icc[tagATC]
	if !ok || len(atcBytes) != 2 {
		return Decline(ReasonFormatError), nil
	}
	psn := r.PSN
	if psn == "" {
		if b, ok := icc[tagPSN]; ok && len(b) == 1 {
			psn = fmt.Sprintf("%02X", b[0])
		}
	}
	check := emv.ARQCCheck{IMKRef: c.IMKACRef, CVN: cvn, PAN: r.PAN, PSN: psn, ICC: icc}
	res, err := t.v.VerifyARQC(ctx, check)
	if err != nil {
		if isChipDataError(err) {
			return Decline(ReasonFormatError), nil
		}
		return Decision{}, fmt.Errorf("verifying ARQC: %w", err)
	}
	if !res.Valid {
		return Decline(ReasonARQCInvalid), nil
	}
	check.Session = res.Session // the ARPC reuses the keys the verification derived
	t.arqc, t.arqcVersion = &check, res.KeyVersion
	atc := int(binary.BigEndian.Uint16(atcBytes))
	if atc <= t.card.LastATC {
		return Decline(ReasonATCReplay), nil
	}
	t.next.LastATC = atc
	t.dirty = true
	return Decision{}, nil
}

// chipBinding checks that field 55 asks for this authorization, before
// the HSM verifies the cryptogram (so these declines carry no ARPC):
//
//   - the cryptogram is an ARQC: 9F27 says so, and so does the CVR in 9F10,
//     which the cryptogram covers (9F27 is not in its input, so an AAC or
//     TC relabelled ARQC in 9F27 is caught by the CVR);
//     else cryptogram_type_invalid;
//   - the amount and currency it covers are the request's: 5F2A equals
//     field 49 and 9F02 equals field 4; or, when the chip signed in the
//     card's currency (dynamic currency conversion) and field 49 is
//     another, 5F2A is the card's currency and 9F02 equals field 6. 9F02
//     includes any cash-back, which 9F03 states and which must not exceed
//     it. Else cryptogram_amount_mismatch.
//
// A missing or malformed 9F27, 9F02, 9F03 or 5F2A is a format error.
func chipBinding(r *Request, c *Card, icc map[tlv.Tag][]byte, iad emv.IAD) Decision {
	cid, ok := icc[tlv.TagCryptogramInformationData]
	if !ok || len(cid) != 1 {
		return Decline(ReasonFormatError)
	}
	if emv.CIDType(cid[0]) != emv.ARQC || iad.FirstACType() != emv.ARQC {
		return Decline(ReasonCryptogramTypeInvalid)
	}
	amount, ok1 := packedDigits(icc[tlv.TagAmountAuthorised], 6)
	other, ok2 := packedDigits(icc[tlv.TagAmountOther], 6)
	currency, ok3 := packedDigits(icc[tlv.TagCurrencyCode], 2)
	if !ok1 || !ok2 || !ok3 {
		return Decline(ReasonFormatError)
	}
	cur := fmt.Sprintf("%03d", currency)
	want := r.Amount
	if cur != r.Currency {
		if n, ok := issuance.CurrencyNumeric(c.Currency); !ok || n != cur || r.BillingAmount <= 0 {
			return Decline(ReasonCryptogramAmountMismatch)
		}
		want = r.BillingAmount
	}
	if amount != want || other > amount {
		return Decline(ReasonCryptogramAmountMismatch)
	}
	return Decision{}
}

// packedDigits reads n bytes of packed BCD (EMV format n) as a number;
// false when b is not n bytes of decimal digits.
func packedDigits(b []byte, n int) (int64, bool) {
	if len(b) != n {
		return 0, false
	}
	var v int64
	for _, x := range b {
		hi, lo := x>>4, x&0x0F
		if hi > 9 || lo > 9 {
			return 0, false
		}
		v = v*100 + int64(hi)*10 + int64(lo)
	}
	return v, true
}

// isChipDataError reports errors caused by the request's chip data rather
// than by the host: answered 30, not 96.
func isChipDataError(err error) bool {
	for _, e := range []error{emv.ErrMissingTag, emv.ErrLength, emv.ErrIAD, emv.ErrPadding, emv.ErrDigits, emv.ErrPAN} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// stepPIN verifies field 52 when present: under the acquirer's zone PIN key
// (looked up by field 32), in one of the PIN block formats the acquirer is
// configured for (default 0 and 3; a block in another format, e.g. format
// 1, is pin_block_format_not_allowed, not a PIN try), against the card's
// PVV or IBM 3624 offset. Wrong PINs count; at the card's limit the card
// answers 75 until a PIN set resets the counter.
func stepPIN(ctx context.Context, t *txn) (Decision, error) {
	r, c := t.req, t.card
	if r.PINBlock == "" {
		return Decision{}, nil
	}
	if len(r.PINBlock) != 16 {
		return Decline(ReasonFormatError), nil
	}
	max := c.PINTryMax
	if max <= 0 {
		max = 3
	}
	if t.next.PINTries >= max {
		return Decline(ReasonPINTriesExceeded), nil
	}
	if c.PINMethod == "" {
		return t.wrongPIN(max), nil
	}
	acq, err := t.acquirer(ctx, r.AcquirerID)
	if errors.Is(err, ErrNotFound) || (err == nil && acq.ZPKRef == "") {
		return Decline(ReasonSecurityViolation), nil
	}
	if err != nil {
		return Decision{}, fmt.Errorf("looking up acquirer ZPK: %w", err)
	}
	check := emv.PINCheck{PVKRef: c.PVKRef}
	switch c.PINMethod {
	case "PVV":
		check.Method, check.PVKI, check.PVV = emv.PINMethodPVV, c.PVKI, c.PINVerify
	case "IBM3624":
		check.Method, check.Offset = emv.PINMethodIBM3624, c.PINVerify
	default:
		return Decision{}, fmt.Errorf("card %s: unknown PIN method", c.ID)
	}
	in := emv.EncryptedPIN{ZPKRef: acq.ZPKRef, Format: pinblock.FormatAny, Block: r.PINBlock, Accept: acq.AcceptedPINFormats()}
	ok, err := t.v.VerifyPIN(ctx, in, r.PAN, check)
	if err != nil {
		if errors.Is(err, pinblock.ErrNotAccepted) {
			return Decline(ReasonPINFormatNotAllowed), nil // not a PIN try
		}
		if errors.Is(err, pinblock.ErrMalformed) {
			return t.wrongPIN(max), nil // wrong key or garbage: a wrong PIN
		}
		return Decision{}, fmt.Errorf("verifying PIN: %w", err)
	}
	if !ok {
		return t.wrongPIN(max), nil
	}
	if t.next.PINTries != 0 {
		t.next.PINTries = 0
		t.dirty = true
	}
	return Decision{}, nil
}

// wrongPIN counts a wrong PIN and declines 55, or 75 at the limit.
func (t *txn) wrongPIN(max int) Decision {
	t.next.PINTries++
	t.dirty = true
	if t.next.PINTries >= max {
		return Decline(ReasonPINTriesExceeded)
	}
	return Decline(ReasonPINInvalid)
}
