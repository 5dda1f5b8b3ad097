package terminal

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"github.com/cardhost/cardhost/iso/digit"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/tlv"
	"github.com/cardhost/cardhost/iso"
)

// ChipData is what the terminal gives the chip for one cryptogram: the
// CDOL1 data of EMV Book 3 (amounts, country, currency, date, type, TVR,
// unpredictable number).
type ChipData struct {
	// Amount is the authorized amount (9F02), minor units.
	Amount int64
	// OtherAmount is the cashback amount (9F03), minor units.
	OtherAmount int64
	// Country is the terminal's ISO 3166 numeric country code (9F1A).
	Country string
	// Currency is the ISO 4217 numeric transaction currency (5F2A).
	Currency string
	// Date is the transaction date (9A, YYMMDD of Date in UTC).
	Date time.Time
	// TxnType is the transaction type (9C): field 3 positions 1-2.
	TxnType string
	// TVR is the terminal verification results (95), 5 bytes; nil means
	// all zeros (nothing failed).
	TVR []byte
	// UN is the unpredictable number (9F37), 4 bytes; nil means random.
	UN []byte
	// PINEntered sets the CVM results (9F34) to "online PIN".
	PINEntered bool
}

// ChipTamper makes a chip request wrong on purpose, to test the host's
// declines. The zero value tampers with nothing.
type ChipTamper struct {
	// ARQC flips a bit of the cryptogram after it is computed
	// (arqc_invalid).
	ARQC bool
	// CVN, when not 0, puts another cryptogram version of the card's
	// network in 9F10 (cvn_mismatch): a CVN number (10, 18, 22; 16, 17,
	// 20, 21), or -1 for "any other than the card's". UnionPay has one
	// CVN in the registry: for a UnionPay card -1 keeps CVN 01 and names
	// SM4 (algorithm identifier 04) in 9F10, a version the host lacks.
	CVN int
	// ATC, when not 0, uses this ATC instead of the card's next one, and
	// leaves the card's counter alone (atc_replay with an ATC already
	// used).
	ATC int
	// Field55 replaces the whole field 55 with these bytes (a format error
	// on purpose); the request then has no usable cryptogram.
	Field55 []byte
	// Cryptogram, when not "", makes the card return this kind of
	// cryptogram instead of an ARQC: "AAC" (the card declined) or "TC" (it
	// approved offline); 9F27 and the CVR in 9F10 say so
	// (cryptogram_type_invalid).
	Cryptogram string
	// RelabelARQC puts 80 (ARQC) in 9F27 whatever the card returned: with
	// Cryptogram, a decline or offline approval relabelled as an online
	// request (the CVR, which the cryptogram covers, still tells).
	RelabelARQC bool
	// Amount and Currency, when not zero or "", are the 9F02 and 5F2A the
	// card signs instead of the request's fields 4 and 49
	// (cryptogram_amount_mismatch).
	Amount   int64
	Currency string
}

// cryptogramCID returns the 9F27 byte and the CVR's first GENERATE AC bits
// (bits 6-5 of its first byte, second GENERATE AC "not requested") of the
// cryptogram kind the tampering asks for.
func (t ChipTamper) cryptogramCID() (cid, cvr byte, err error) {
	switch t.Cryptogram {
	case "", "ARQC":
		cid, cvr = 0x80, 0xA0
	case "AAC":
		cid, cvr = 0x00, 0x80
	case "TC":
		cid, cvr = 0x40, 0x90
	default:
		return 0, 0, fmt.Errorf("%w: cryptogram %q is not AAC, TC or ARQC", ErrCard, t.Cryptogram)
	}
	if t.RelabelARQC {
		cid = 0x80
	}
	return cid, cvr, nil
}

// tampersData reports whether t changes the cryptogram's kind or data.
func (t ChipTamper) tampersData() bool {
	return t.Cryptogram != "" || t.RelabelARQC || t.Amount != 0 || t.Currency != ""
}

// ChipRequest is one cryptogram the card made: the field 55 it went out
// in and the data needed to check the issuer's answer.
type ChipRequest struct {
	// Field55 is the BER-TLV of the request's field 55.
	Field55 []byte
	// ATC is the application transaction counter used.
	ATC int
	// Tampered reports whether ChipTamper changed anything.
	Tampered bool

	cvn  emv.CVN
	mk   emv.SecretBytes
	tags map[tlv.Tag][]byte
}

// ARPCStatus is the outcome of checking the ARPC (tag 91) of a response.
type ARPCStatus string

// ARPC check outcomes.
const (
	// ARPCNotChecked: the request was not a chip request.
	ARPCNotChecked ARPCStatus = ""
	// ARPCValid: tag 91 is there and verifies with the card's key, the
	// response code's ARC (method 1) or the expected CSU (method 2).
	ARPCValid ARPCStatus = "valid"
	// ARPCInvalid: tag 91 is there and does not verify, or field 55 of
	// the response is unreadable.
	ARPCInvalid ARPCStatus = "invalid"
	// ARPCAbsent: no tag 91 in the response.
	ARPCAbsent ARPCStatus = "absent"
)

// ARPCCheck is the result of ChipRequest.CheckARPC.
type ARPCCheck struct {
	// Status is the outcome.
	Status ARPCStatus
	// Detail says why an ARPC is invalid ("" otherwise). It never holds
	// key material or cryptograms.
	Detail string
}

// Standard tags of field 55 (tlv has names for most).
const (
	tagTerminalType = tlv.Tag(0x9F35)
	tagTSI          = tlv.Tag(0x9B) // transaction status information
)

// Chip makes the card's ARQC for the terminal's data and returns the
// request's field 55: 9F26 (ARQC), 9F27, 9F10 (the issuer application data
// of the card's CVN), 9F37, 9F36, 95, 9A, 9C, 9F02, 5F2A, 82, 9F1A, 9F03,
// 9F33, 9F34, 9F35 and 9B. It takes the card's next ATC (unless tamper.ATC
// says otherwise). A card without chip returns ErrNoChip.
func (c *Card) Chip(d ChipData, tamper ChipTamper) (*ChipRequest, error) {
	if c.chip == nil {
		return nil, ErrNoChip
	}
	if tamper.Field55 != nil {
		return &ChipRequest{Field55: tamper.Field55, Tampered: true, cvn: c.chip.cvn, mk: c.chip.iccMK}, nil
	}
	atc := tamper.ATC
	if atc < 0 || atc > MaxATC {
		return nil, fmt.Errorf("%w: tampered ATC out of range", ErrCard)
	}
	if atc == 0 {
		var err error
		if atc, err = c.NextATC(); err != nil {
			return nil, err
		}
	}
	un := d.UN
	if un == nil {
		un = make([]byte, 4)
		if _, err := rand.Read(un); err != nil {
			return nil, fmt.Errorf("reading unpredictable number: %w", err)
		}
	} else if len(un) != 4 {
		return nil, fmt.Errorf("%w: unpredictable number must be 4 bytes", ErrCard)
	}
	tvr := d.TVR
	if tvr == nil {
		tvr = make([]byte, 5)
	} else if len(tvr) != 5 {
		return nil, fmt.Errorf("%w: TVR must be 5 bytes", ErrCard)
	}
	if tamper.Amount != 0 {
		d.Amount = tamper.Amount
	}
	if tamper.Currency != "" {
		d.Currency = tamper.Currency
	}
	cid, cvr, err := tamper.cryptogramCID()
	if err != nil {
		return nil, err
	}
	amount, ok1 := bcd(d.Amount, 6)
	other, ok2 := bcd(d.OtherAmount, 6)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: amount out of range", ErrCard)
	}
	country, ok1 := bcdString(d.Country, 2)
	currency, ok2 := bcdString(d.Currency, 2)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: country and currency must be 3 digits", ErrCard)
	}
	txnType, ok := bcdString(d.TxnType, 1)
	if !ok {
		return nil, fmt.Errorf("%w: transaction type must be 2 digits", ErrCard)
	}
	date, _ := bcdString(d.Date.UTC().Format("060102"), 3)

	cvn := c.chip.cvn
	code, alg := cvn.Code, emv.UnionPayAlgorithmTDES
	tampered := tamper.tampersData()
	switch {
	case tamper.CVN == -1 && cvn.Scheme == emv.SchemeUnionPay:
		alg, tampered = emv.UnionPayAlgorithmSM4, true
	case tamper.CVN != 0:
		other, err := otherCVN(cvn, tamper.CVN)
		if err != nil {
			return nil, err
		}
		code, tampered = other.Code, true
	}
	cvm := []byte{0x1F, 0x03, 0x02} // no CVM performed
	if d.PINEntered {
		cvm = []byte{0x42, 0x03, 0x00} // enciphered PIN verified online
	}
	tags := map[tlv.Tag][]byte{
		tlv.TagAmountAuthorised:          amount,
		tlv.TagAmountOther:               other,
		tlv.TagTerminalCountryCode:       country,
		tlv.TagTVR:                       tvr,
		tlv.TagCurrencyCode:              currency,
		tlv.TagTransactionDate:           date,
		tlv.TagTransactionType:           txnType,
		tlv.TagUnpredictableNumber:       un,
		tlv.TagAIP:                       c.chip.aip,
		tlv.TagATC:                       {byte(atc >> 8), byte(atc)},
		tlv.TagIssuerApplicationData:     issuerApplicationData(cvn, code, cvr, alg),
		tlv.TagCryptogramInformationData: {cid}, // 80: ARQC
		tlv.TagTerminalCapabilities:      {0xE0, 0xF8, 0xC8},
		tlv.TagCVMResults:                cvm,
		tagTerminalType:                  {0x22},       // attended, online only, merchant
		tagTSI:                           {0x68, 0x00}, // CVM, card and terminal risk management performed
	}
	arqc, err := emv.GenerateAC(cvn, c.chip.iccMK, tags)
	if err != nil {
		return nil, fmt.Errorf("generating ARQC: %w", err)
	}
	if tamper.ARQC {
		arqc[7] ^= 0x01
		tampered = true
	}
	tags[tlv.TagApplicationCryptogram] = arqc
	if tamper.ATC != 0 {
		tampered = true
	}
	f55, err := encodeField55(tags)
	if err != nil {
		return nil, err
	}
	return &ChipRequest{Field55: f55, ATC: atc, Tampered: tampered, cvn: cvn, mk: c.chip.iccMK, tags: tags}, nil
}

// field55Order is the order tags go out in (the order of the golden chip
// message, then the terminal's own tags).
var field55Order = []tlv.Tag{
	tlv.TagApplicationCryptogram, tlv.TagCryptogramInformationData, tlv.TagIssuerApplicationData,
	tlv.TagUnpredictableNumber, tlv.TagATC, tlv.TagTVR, tlv.TagTransactionDate, tlv.TagTransactionType,
	tlv.TagAmountAuthorised, tlv.TagCurrencyCode, tlv.TagAIP, tlv.TagTerminalCountryCode,
	tlv.TagAmountOther, tlv.TagTerminalCapabilities, tlv.TagCVMResults, tagTerminalType, tagTSI,
}

func encodeField55(tags map[tlv.Tag][]byte) ([]byte, error) {
	l := make(tlv.List, 0, len(field55Order))
	for _, t := range field55Order {
		if v, ok := tags[t]; ok {
			l = append(l, tlv.New(t, v))
		}
	}
	b, err := l.Encode()
	if err != nil {
		return nil, fmt.Errorf("encoding field 55: %w", err)
	}
	return b, nil
}

// issuerApplicationData returns the 9F10 a chip of CVN c emits, carrying
// the cryptogram version byte code (c.Code unless tampering) and cvr as the
// CVR's first byte (A0 for an ARQC), and for UnionPay the algorithm
// identifier alg:
//
//   - Visa CVN 10 and 18 (IAD format 0/1/3, VIS 1.5 Appendix D): 06, DKI
//     01, CVN, CVR length 03, CVR A0 00 00 (ARQC returned in the first
//     GENERATE AC, second not requested).
//   - Visa CVN 22 (IAD format 2, VIS 1.6): 32 bytes: 1F, CVN, DKI 01,
//     CVR A0 00 00 00 00, 24 bytes of issuer discretionary data (zeros).
//   - Mastercard M/Chip: DKI 01, CVN, CVR A0 00 00 00 00 00, DAC 00 00,
//     offline counters (8 bytes, zeros): 18 bytes, so CVN 17 and 21 find
//     their counters.
//   - UnionPay (UICS / PBOC): 07, DKI 01, CVN, CVR length 03, CVR A0 00
//     00, algorithm identifier (01 TDES): 8 bytes, no issuer
//     discretionary data.
func issuerApplicationData(c emv.CVN, code, cvr, alg byte) []byte {
	switch {
	case c.Scheme == emv.SchemeUnionPay:
		return []byte{0x07, 0x01, code, 0x03, cvr, 0x00, 0x00, alg}
	case c.Scheme == emv.SchemeVisa && c.Number == 22:
		iad := make([]byte, 32)
		iad[0], iad[1], iad[2], iad[3] = 0x1F, code, 0x01, cvr
		return iad
	case c.Scheme == emv.SchemeVisa:
		return []byte{0x06, 0x01, code, 0x03, cvr, 0x00, 0x00}
	default:
		iad := make([]byte, 18)
		iad[0], iad[1], iad[2] = 0x01, code, cvr
		return iad
	}
}

// otherCVN returns the CVN a tampered 9F10 claims: number n of the same
// scheme, or (n = -1) the first registry row of that scheme other than c.
func otherCVN(c emv.CVN, n int) (emv.CVN, error) {
	if n > 0 {
		o, err := emv.LookupCVN(string(c.Scheme), n)
		if err != nil || o.Code == c.Code {
			return emv.CVN{}, fmt.Errorf("%w: mismatched CVN must be another %s CVN", ErrCard, c.Scheme)
		}
		return o, nil
	}
	for _, o := range emv.CVNs() {
		if o.Scheme == c.Scheme && o.Code != c.Code {
			return o, nil
		}
	}
	return emv.CVN{}, fmt.Errorf("%w: no other %s CVN", ErrCard, c.Scheme)
}

// CVN returns the cryptogram version the card used.
func (r *ChipRequest) CVN() emv.CVN { return r.cvn }

// ARPCExpected reports whether DESIGN.md requires tag 91 in an answer with
// code: every chip request whose ARQC the host verified gets one,
// approvals and declines alike. Declines decided before the cryptogram is
// checked (12, 13, 14, 30, 41, 43, 54, 58, 62), duplicates (94), system errors
// (96) and cryptogram failures (82, which may be an ARQC that did not
// verify) may come without one.
func ARPCExpected(code iso.ResponseCode) bool {
	switch code {
	case iso.InvalidTransaction, iso.InvalidAmount, iso.InvalidCardNumber, iso.FormatError, iso.NotPermittedToTerminal,
		iso.LostCard, iso.StolenCard, iso.ExpiredCard, iso.RestrictedCard,
		iso.CryptographicFailure, iso.DuplicateTransmission, iso.SystemMalfunction,
		iso.IssuerOrSwitchInoperative:
		return false
	}
	return true
}

// CheckARPC checks tag 91 in a response's field 55 (nil when the response
// had none) against the answer code: method 1 must be ARPC || ARC with ARC
// the code's two ASCII characters, method 2 ARPC || CSU with CSU 00800000
// on approval and 00000000 on decline and no proprietary data; the ARPC
// must verify under the card's key (emv.GenerateARPC, the method and key of
// the card's CVN).
func (r *ChipRequest) CheckARPC(code iso.ResponseCode, field55 []byte) ARPCCheck {
	var tag91 []byte
	if len(field55) > 0 {
		l, err := tlv.Decode(field55)
		if err != nil {
			return ARPCCheck{Status: ARPCInvalid, Detail: "response field 55 is not BER-TLV"}
		}
		v, ok := l.Value(tlv.TagIssuerAuthenticationData)
		if !ok {
			return ARPCCheck{Status: ARPCAbsent}
		}
		tag91 = v
	}
	if tag91 == nil {
		return ARPCCheck{Status: ARPCAbsent}
	}
	if r.tags == nil {
		return ARPCCheck{Status: ARPCInvalid, Detail: "tag 91 answers a request without a cryptogram"}
	}
	var in emv.ARPCInput
	var arpc []byte
	switch r.cvn.ARPCMethod {
	case 1:
		if len(tag91) != 10 {
			return ARPCCheck{Status: ARPCInvalid, Detail: fmt.Sprintf("tag 91 is %d bytes, method 1 needs 10 (ARPC || ARC)", len(tag91))}
		}
		arpc, in.ARC = tag91[:8], tag91[8:]
	default:
		if len(tag91) < 8 || len(tag91) > 16 {
			return ARPCCheck{Status: ARPCInvalid, Detail: fmt.Sprintf("tag 91 is %d bytes, method 2 needs 8 to 16 (ARPC || CSU || data)", len(tag91))}
		}
		arpc, in.CSU, in.ProprietaryData = tag91[:4], tag91[4:8], tag91[8:]
	}
	want, err := emv.GenerateARPC(r.cvn, r.mk, r.tags, in)
	if err != nil {
		return ARPCCheck{Status: ARPCInvalid, Detail: "computing the expected ARPC: " + err.Error()}
	}
	if subtle.ConstantTimeCompare(want, arpc) != 1 {
		return ARPCCheck{Status: ARPCInvalid, Detail: fmt.Sprintf("ARPC does not verify under the card's key (%s, method %d)", r.cvn, r.cvn.ARPCMethod)}
	}
	switch r.cvn.ARPCMethod {
	case 1:
		if !bytes.Equal(in.ARC, emv.ARC(string(code))) {
			return ARPCCheck{Status: ARPCInvalid, Detail: fmt.Sprintf("ARC %s is not response code %s", emv.EncodeHex(in.ARC), code)}
		}
	default:
		if wantCSU := emv.CSU(code.Approved()); !bytes.Equal(in.CSU, wantCSU) {
			return ARPCCheck{Status: ARPCInvalid, Detail: fmt.Sprintf("CSU %s, want %s for response code %s", emv.EncodeHex(in.CSU), emv.EncodeHex(wantCSU), code)}
		}
		if len(in.ProprietaryData) > 0 {
			return ARPCCheck{Status: ARPCInvalid, Detail: "unexpected proprietary authentication data after the CSU"}
		}
	}
	return ARPCCheck{Status: ARPCValid}
}

// bcd packs n as 2n digits of packed BCD in size bytes.
func bcd(n int64, size int) ([]byte, bool) {
	if n < 0 {
		return nil, false
	}
	return bcdString(fmt.Sprintf("%0*d", size*2, n), size)
}

// bcdString packs a decimal string right-justified (zero-filled) into size
// bytes of packed BCD.
func bcdString(s string, size int) ([]byte, bool) {
	if len(s) > size*2 || !digit.N(s, len(s)) {
		return nil, false
	}
	for len(s) < size*2 {
		s = "0" + s
	}
	out := make([]byte, size)
	for i := range out {
		out[i] = (s[2*i]-'0')<<4 | (s[2*i+1] - '0')
	}
	return out, true
}
