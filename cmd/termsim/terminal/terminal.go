package terminal

import (
	"crypto/cipher"
	"fmt"
	"github.com/cardhost/cardhost/iso/digit"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/iso"
)

// EntryMode is how the card is read: it sets field 22 and decides which
// card data a request carries.
type EntryMode string

// Entry modes.
const (
	// EntryChip: contact chip (22 = 051): field 55 with an ARQC, the
	// chip's track 2 equivalent (iCVV) and the PAN sequence number.
	EntryChip EntryMode = "chip"
	// EntryContactless: contactless chip (22 = 071), as EntryChip.
	EntryContactless EntryMode = "contactless"
	// EntryMagstripe: magnetic stripe, full track (22 = 901): track 2
	// with the CVV.
	EntryMagstripe EntryMode = "magstripe"
	// EntryFallback: chip card read by its stripe after a chip failure
	// (22 = 801): track 2 with the CVV.
	EntryFallback EntryMode = "fallback"
	// EntryManual: key entry (22 = 012): PAN and expiry.
	EntryManual EntryMode = "manual"
	// EntryEcommerce: card not present (22 = 812): PAN, expiry, field 48
	// (CVV2, ECI, CAVV).
	EntryEcommerce EntryMode = "ecommerce"
)

// EntryModes lists the entry modes in documentation order.
func EntryModes() []EntryMode {
	return []EntryMode{EntryChip, EntryContactless, EntryMagstripe, EntryFallback, EntryManual, EntryEcommerce}
}

// ParseEntryMode accepts the names of EntryModes ("e-commerce" too).
func ParseEntryMode(s string) (EntryMode, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "e-commerce" {
		s = "ecommerce"
	}
	for _, e := range EntryModes() {
		if string(e) == s {
			return e, nil
		}
	}
	return "", fmt.Errorf("%w: entry mode %q is not chip, contactless, magstripe, fallback, manual or ecommerce", ErrTransaction, s)
}

// Field22 returns the POS entry mode (field 22) of the entry mode.
func (e EntryMode) Field22() string {
	switch e {
	case EntryChip:
		return "051"
	case EntryContactless:
		return "071"
	case EntryMagstripe:
		return "901"
	case EntryFallback:
		return "801"
	case EntryManual:
		return "012"
	case EntryEcommerce:
		return "812"
	}
	return ""
}

// IsChip reports whether the entry mode reads the chip (contact or
// contactless).
func (e EntryMode) IsChip() bool { return e == EntryChip || e == EntryContactless }

// TxnType is a transaction type: field 3 positions 1-2.
type TxnType string

// Transaction types (DESIGN.md: field 3).
const (
	TxnPurchase TxnType = "00"
	TxnCash     TxnType = "01"
	TxnRefund   TxnType = "20"
	TxnBalance  TxnType = "30"
)

// ParseTxnType accepts purchase, cash, refund and balance.
func ParseTxnType(s string) (TxnType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "purchase", "":
		return TxnPurchase, nil
	case "cash":
		return TxnCash, nil
	case "refund":
		return TxnRefund, nil
	case "balance", "balance_inquiry":
		return TxnBalance, nil
	}
	return "", fmt.Errorf("%w: transaction type %q is not purchase, cash, refund or balance", ErrTransaction, s)
}

// TerminalConfig configures a Terminal. A zero field means its default.
type TerminalConfig struct {
	// TerminalID is field 41 (8 characters). Default "TERM0001".
	TerminalID string
	// MerchantID is field 42 (15 characters). Default "MERCHANT0000001".
	MerchantID string
	// Name, City and CountryAlpha make field 43 (25 + 13 + 2 characters).
	// Default "CARDHOST TEST MERCHANT", "SAN JOSE", "US".
	Name, City, CountryAlpha string
	// AcquirerID is field 32 (1 to 11 digits), which names the acquirer
	// whose zone PIN key enciphers field 52. Default DefaultAcquirerID.
	AcquirerID string
	// Country is the acquirer's ISO 3166 numeric country (field 19, and
	// 9F1A). Default "840".
	Country string
	// Currency is the ISO 4217 numeric currency (field 49, and 5F2A).
	// Default "840".
	Currency string
	// MCC is the merchant category code (field 18). Default "5411".
	MCC string
	// ZPK is the acquirer's zone PIN key in clear (16 or 24 bytes); nil
	// means DefaultZPK. PIN blocks are enciphered under it.
	ZPK []byte
	// PINFormat is the ISO 9564-1 format of field 52: 0 (default), 1 or 3.
	PINFormat pinblock.Format
	// ZAK is the acquirer's zone MAC key in clear (16 bytes, K || K');
	// nil means DefaultZAKHex. Requests are MACed under it as MAC (or
	// TxnOptions.MAC) says, and every answer that carries a MAC is checked
	// with it (Result.MAC).
	ZAK []byte
	// MAC MACs every request (fields 64/128, docs/iso8583.md section
	// 5.15); TxnOptions.MAC overrides it per request. Default false.
	MAC bool
	// STAN returns the next field 11 (6 digits). Default: a counter that
	// starts at a random value and counts 000001-999999.
	STAN func() string
	// RRN returns field 37 (12 characters) for a request sent at now with
	// stan. Default: YDDDhh + STAN (last digit of the year, day of the
	// year, hour, STAN), the usual acquirer form.
	RRN func(now time.Time, stan string) string
	// Now is the terminal's clock. Default time.Now.
	Now func() time.Time
}

// Terminal defaults.
const (
	DefaultTerminalID = "TERM0001"
	DefaultMerchantID = "MERCHANT0000001"
	DefaultAcquirerID = "00000000001"
	DefaultCountry    = "840"
	DefaultCurrency   = "840"
	DefaultMCC        = "5411"
)

// DefaultZPKHex is the clear value of the sandbox acquirer's zone PIN key
// (acquirer 00000000001, docs/sandbox.md): the XOR of the three published
// key parts of EFTlab's BP-CCALC tutorial, check value DDA8BA. Field 52 is
// enciphered under it when no other key is given. It is a public test key,
// never a production one.
const DefaultZPKHex = "F2A84CD346401C19CE6194D6EA1FBF8F"

// DefaultZPKKCV is DefaultZPKHex's check value (TDES encrypt-zeros).
const DefaultZPKKCV = "DDA8BA"

// Terminal builds requests as one card acceptor would: it holds field 41,
// 42, 43, 32, 19, the default currency and MCC, the zone PIN key, and the
// STAN and RRN sources. A Terminal is safe for concurrent use.
type Terminal struct {
	cfg TerminalConfig
	zpk cipher.Block // the zone PIN key's expanded cipher
	mac func(data []byte) ([]byte, error)
	acq string
	f43 string
}

// NewTerminal checks cfg, applies the defaults and returns the terminal.
func NewTerminal(cfg TerminalConfig) (*Terminal, error) {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&cfg.TerminalID, DefaultTerminalID)
	def(&cfg.MerchantID, DefaultMerchantID)
	def(&cfg.Name, "CARDHOST TEST MERCHANT")
	def(&cfg.City, "SAN JOSE")
	def(&cfg.CountryAlpha, "US")
	def(&cfg.AcquirerID, DefaultAcquirerID)
	def(&cfg.Country, DefaultCountry)
	def(&cfg.Currency, DefaultCurrency)
	def(&cfg.MCC, DefaultMCC)
	switch {
	case len(cfg.TerminalID) > 8:
		return nil, fmt.Errorf("%w: terminal id is at most 8 characters", ErrTransaction)
	case len(cfg.MerchantID) > 15:
		return nil, fmt.Errorf("%w: merchant id is at most 15 characters", ErrTransaction)
	case len(cfg.AcquirerID) > 11 || !digit.N(cfg.AcquirerID, len(cfg.AcquirerID)):
		return nil, fmt.Errorf("%w: acquirer id must be 1 to 11 digits", ErrTransaction)
	case !digit.N(cfg.Country, 3):
		return nil, fmt.Errorf("%w: country must be 3 digits (ISO 3166 numeric)", ErrTransaction)
	case !digit.N(cfg.Currency, 3):
		return nil, fmt.Errorf("%w: currency must be 3 digits (ISO 4217 numeric)", ErrTransaction)
	case !digit.N(cfg.MCC, 4):
		return nil, fmt.Errorf("%w: MCC must be 4 digits", ErrTransaction)
	case len(cfg.Name) > 25 || len(cfg.City) > 13 || len(cfg.CountryAlpha) != 2:
		return nil, fmt.Errorf("%w: acceptor name is at most 25 characters, city 13, country 2 letters", ErrTransaction)
	case cfg.PINFormat != pinblock.Format0 && cfg.PINFormat != pinblock.Format1 && cfg.PINFormat != pinblock.Format3:
		return nil, fmt.Errorf("%w: PIN block format must be 0, 1 or 3", ErrTransaction)
	}
	t := &Terminal{cfg: cfg, acq: cfg.AcquirerID}
	zpk := cfg.ZPK
	if zpk == nil {
		zpk, _ = emv.DecodeHex(DefaultZPKHex)
	}
	if len(zpk) != 16 && len(zpk) != 24 {
		return nil, fmt.Errorf("%w: zone PIN key must be 16 or 24 bytes", ErrTransaction)
	}
	blk, err := emv.NewTDES(zpk)
	if err != nil {
		return nil, fmt.Errorf("%w: zone PIN key: %w", ErrTransaction, err)
	}
	t.zpk = blk
	t.cfg.ZPK = nil // the clear key is not kept
	zak := cfg.ZAK
	if zak == nil {
		zak, _ = emv.DecodeHex(DefaultZAKHex)
	}
	if len(zak) != 16 {
		return nil, fmt.Errorf("%w: zone MAC key must be 16 bytes", ErrTransaction)
	}
	t.mac = macFunc(zak)
	t.cfg.ZAK = nil
	t.f43 = fmt.Sprintf("%-25s%-13s%-2s", cfg.Name, cfg.City, cfg.CountryAlpha)
	if t.cfg.Now == nil {
		t.cfg.Now = time.Now
	}
	if t.cfg.STAN == nil {
		t.cfg.STAN = NewSTANs()
	}
	if t.cfg.RRN == nil {
		t.cfg.RRN = DefaultRRN
	}
	return t, nil
}

// NewSTANs returns a STAN source: a counter that starts at a random value
// and counts 000001-999999, safe for concurrent use. Terminals that share
// a terminal id should share one (a terminal's STANs are one sequence).
func NewSTANs() func() string {
	var n atomic.Uint32
	n.Store(rand.Uint32N(maxSTAN))
	return func() string { return fmt.Sprintf("%06d", n.Add(1)%maxSTAN+1) }
}

// DefaultRRN is the default RRN source: last digit of the year, day of the
// year (3), hour (2) and the STAN (6), from the UTC time.
func DefaultRRN(now time.Time, stan string) string {
	now = now.UTC()
	return fmt.Sprintf("%d%03d%02d%s", now.Year()%10, now.YearDay(), now.Hour(), stan)
}

// ID returns field 41.
func (t *Terminal) ID() string { return t.cfg.TerminalID }

// AcquirerID returns field 32.
func (t *Terminal) AcquirerID() string { return t.acq }

// Now returns the terminal's clock.
func (t *Terminal) Now() time.Time { return t.cfg.Now() }

// TxnOptions are the options of one card transaction. The zero value is
// a chip purchase (magnetic stripe for a card without chip) with the
// terminal's currency, MCC and country, no PIN and no CVV2.
type TxnOptions struct {
	// Type is the transaction type; default purchase.
	Type TxnType
	// Entry is how the card is read; default chip (magstripe when the
	// card has no chip).
	Entry EntryMode
	// Field22, when not "", is sent as field 22 instead of Entry's value
	// (three digits; the card data still follow Entry): an entry mode the
	// host does not accept (entry_mode_not_supported).
	Field22 string
	// MTI is the request MTI: "0100" (default; "0200" for balance
	// inquiries), "0200", "0120" (advice: see Advice) or a repeat MTI.
	MTI string
	// Currency, MCC and Country override the terminal's (fields 49, 18,
	// 19 and 5F2A, 9F1A).
	Currency, MCC, Country string
	// AccountTypes is field 3 positions 3-6 ("0000" default).
	AccountTypes string
	// AcquirerID overrides the terminal's field 32.
	AcquirerID string
	// PIN, when not empty, is the PIN the cardholder enters (field 52):
	// the card's PIN or a wrong one.
	PIN string
	// CVV2, when not empty, is sent in field 48 element 01.
	CVV2 string
	// ECI and CAVV go in field 48 elements 02 and 03 (e-commerce).
	ECI, CAVV string
	// Partial sets field 48 element 04 to Y: the terminal accepts a
	// partial approval.
	Partial bool
	// Expiry overrides the expiry sent in field 14 (manual and
	// e-commerce, or any entry when set); NoExpiry leaves field 14 out of
	// a manual or e-commerce request (expiry_missing).
	Expiry   string
	NoExpiry bool
	// MerchantID overrides the terminal's field 42.
	MerchantID string
	// WrongTrackCVV changes the CVV (iCVV for chip) in track 2 to another
	// value (cvv_invalid, icvv_invalid).
	WrongTrackCVV bool
	// NoTrack2 leaves track 2 out of chip requests.
	NoTrack2 bool
	// Chip tampers with the chip's cryptogram (arqc_invalid, cvn_mismatch,
	// atc_replay, format errors).
	Chip ChipTamper
	// TVR is the chip's terminal verification results (nil: zeros).
	TVR []byte
	// RRN is field 37 instead of the terminal's RRN source (an advice of
	// an earlier request carries that request's RRN): 1 to 12 letters or
	// digits.
	RRN string
	// AdviceCode and AdviceApproval are fields 39 and 38 of an 0120
	// advice: the network's stand-in decision (default 00 and a generated
	// approval code when approved).
	AdviceCode, AdviceApproval string
	// MAC is the request's MAC (fields 64/128): right, wrong, none, or
	// the terminal's setting.
	MAC MACMode
	// PINFormat, when set, is field 52's format instead of the
	// terminal's (0, 1 or 3).
	PINFormat *pinblock.Format
}

// Txn is one built request and what the terminal must remember about it:
// the fields a capture, reversal or retransmission refer to, and the
// chip's cryptogram for checking the ARPC. The message must not be changed
// once the Txn is sent.
type Txn struct {
	// Msg is the request.
	Msg *iso8583.Message
	// Card is the card used (nil for network management).
	Card *Card
	// Entry is the entry mode (for card transactions).
	Entry EntryMode
	// MTI, STAN, TransmissionTime (field 7), RRN, AcquirerID, TerminalID,
	// MerchantID, ProcessingCode and Currency are the request's fields.
	MTI, STAN, TransmissionTime, RRN, AcquirerID, TerminalID, MerchantID, ProcessingCode, Currency string
	// Amount is field 4 in minor units.
	Amount int64
	// Chip is the card's cryptogram (nil for other entry modes).
	Chip *ChipRequest
	// Original is the transaction a capture or reversal refers to.
	Original *Txn
	// MAC is how the request is MACed (right, wrong or none).
	MAC MACMode
	// mac computes MACs under the terminal's ZAK (answers are checked
	// with it).
	mac func(data []byte) ([]byte, error)
}

// Purchase builds a purchase of amount (minor units).
func (t *Terminal) Purchase(c *Card, amount int64, o TxnOptions) (*Txn, error) {
	o.Type = TxnPurchase
	return t.Request(c, amount, o)
}

// Cash builds a cash withdrawal (field 3 = 01).
func (t *Terminal) Cash(c *Card, amount int64, o TxnOptions) (*Txn, error) {
	o.Type = TxnCash
	return t.Request(c, amount, o)
}

// Refund builds a refund (field 3 = 20).
func (t *Terminal) Refund(c *Card, amount int64, o TxnOptions) (*Txn, error) {
	o.Type = TxnRefund
	return t.Request(c, amount, o)
}

// BalanceInquiry builds a balance inquiry (field 3 = 30, amount 0, 0200
// unless o.MTI says otherwise).
func (t *Terminal) BalanceInquiry(c *Card, o TxnOptions) (*Txn, error) {
	o.Type = TxnBalance
	if o.MTI == "" {
		o.MTI = iso.MTIFinancialRequest
	}
	return t.Request(c, 0, o)
}

// Advice builds an 0120 authorization advice: the network approved (or
// declined, o.AdviceCode) in the issuer's stead.
func (t *Terminal) Advice(c *Card, amount int64, o TxnOptions) (*Txn, error) {
	o.MTI = iso.MTIAuthorizationAdvice
	return t.Request(c, amount, o)
}

// Request builds a card request (0100 by default; o.MTI for 0200, 0120
// or repeats) of o.Type for amount.
func (t *Terminal) Request(c *Card, amount int64, o TxnOptions) (*Txn, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: no card", ErrTransaction)
	}
	if o.Type == "" {
		o.Type = TxnPurchase
	}
	if o.MTI == "" {
		o.MTI = iso.MTIAuthorizationRequest
	}
	switch iso.BaseMTI(o.MTI) {
	case iso.MTIAuthorizationRequest, iso.MTIFinancialRequest, iso.MTIAuthorizationAdvice:
	default:
		return nil, fmt.Errorf("%w: MTI %s is not a card request (0100, 0200, 0120)", ErrTransaction, o.MTI)
	}
	if o.Entry == "" {
		o.Entry = EntryChip
		if !c.HasChip() {
			o.Entry = EntryMagstripe
		}
	}
	if o.Entry.Field22() == "" {
		return nil, fmt.Errorf("%w: unknown entry mode %q", ErrTransaction, o.Entry)
	}
	if o.Field22 != "" && !digit.N(o.Field22, 3) {
		return nil, fmt.Errorf("%w: field 22 must be 3 digits", ErrTransaction)
	}
	currency, mcc, country := or(o.Currency, t.cfg.Currency), or(o.MCC, t.cfg.MCC), or(o.Country, t.cfg.Country)
	accounts := or(o.AccountTypes, "0000")
	if !digit.N(currency, 3) || !digit.N(mcc, 4) || !digit.N(country, 3) || !digit.N(accounts, 4) {
		return nil, fmt.Errorf("%w: currency and country must be 3 digits, MCC 4, account types 4", ErrTransaction)
	}
	amt, ok := iso.FormatAmount(amount)
	if !ok {
		return nil, fmt.Errorf("%w: amount must be 0 to %d", ErrTransaction, int64(iso.MaxAmount))
	}
	acq := or(o.AcquirerID, t.acq)
	if len(acq) > 11 || !digit.N(acq, len(acq)) {
		return nil, fmt.Errorf("%w: acquirer id must be 1 to 11 digits", ErrTransaction)
	}
	if o.RRN != "" && (len(o.RRN) > 12 || !iso.Alphanumeric(o.RRN)) {
		return nil, fmt.Errorf("%w: rrn must be 1 to 12 letters or digits", ErrTransaction)
	}
	if len(o.MerchantID) > 15 {
		return nil, fmt.Errorf("%w: merchant id must be at most 15 characters", ErrTransaction)
	}
	now := t.cfg.Now()
	stan := t.cfg.STAN()
	tx := &Txn{
		Card: c, Entry: o.Entry, MTI: o.MTI, STAN: stan, TransmissionTime: iso.FormatTransmissionTime(now),
		RRN: or(o.RRN, t.cfg.RRN(now, stan)), AcquirerID: acq, TerminalID: t.cfg.TerminalID, MerchantID: or(o.MerchantID, t.cfg.MerchantID),
		ProcessingCode: string(o.Type) + accounts, Currency: currency, Amount: amount,
	}
	m := iso.NewMessage(o.MTI)
	set := func(id int, v string) { _ = m.Field(id, v) } // values are checked when packing
	set(iso.FieldPAN, c.PAN.Reveal())
	set(iso.FieldProcessingCode, tx.ProcessingCode)
	set(iso.FieldAmount, amt)
	t.setTimes(m, now, stan)
	set(iso.FieldMCC, mcc)
	set(iso.FieldAcquirerCountry, country)
	set(iso.FieldEntryMode, or(o.Field22, o.Entry.Field22()))
	set(iso.FieldAcquirerID, acq)
	set(iso.FieldRRN, tx.RRN)
	set(iso.FieldTerminal, t.cfg.TerminalID)
	set(iso.FieldMerchant, tx.MerchantID)
	set(iso.FieldAcceptor, t.f43)
	set(iso.FieldCurrency, currency)

	switch o.Entry {
	case EntryChip, EntryContactless:
		d := ChipData{Amount: amount, Country: country, Currency: currency, Date: now, TxnType: string(o.Type), TVR: o.TVR, PINEntered: o.PIN != ""}
		cr, err := c.Chip(d, o.Chip)
		if err != nil {
			return nil, err
		}
		tx.Chip = cr
		_ = m.BinaryField(iso.FieldICC, cr.Field55)
		if c.PSN != "" {
			set(iso.FieldPANSequence, "0"+c.PSN)
		}
		if !o.NoTrack2 && c.ChipTrack2 != "" {
			set(iso.FieldTrack2, trackCVV(c.ChipTrack2.Reveal(), o.WrongTrackCVV))
		}
	case EntryMagstripe, EntryFallback:
		if c.Track2 == "" {
			return nil, fmt.Errorf("%w: card has no magnetic stripe track 2 (give cvv or track2)", ErrTransaction)
		}
		set(iso.FieldTrack2, trackCVV(c.Track2.Reveal(), o.WrongTrackCVV))
	case EntryManual, EntryEcommerce:
		if !o.NoExpiry {
			set(iso.FieldExpiry, or(o.Expiry, c.Expiry))
		}
	}
	if o.Expiry != "" {
		set(iso.FieldExpiry, o.Expiry)
	}
	var pd iso.PrivateData
	if o.CVV2 != "" {
		pd = append(pd, iso.Element{Tag: iso.ElementCVV2, Value: o.CVV2})
	}
	if o.ECI != "" {
		pd = append(pd, iso.Element{Tag: iso.ElementECI, Value: o.ECI})
	}
	if o.CAVV != "" {
		pd = append(pd, iso.Element{Tag: iso.ElementCAVV, Value: strings.ToUpper(o.CAVV)})
	}
	if o.Partial {
		pd = append(pd, iso.Element{Tag: iso.ElementPartialApproval, Value: "Y"})
	}
	if len(pd) > 0 {
		v, err := pd.Encode()
		if err != nil {
			return nil, fmt.Errorf("%w: field 48: %w", ErrTransaction, err)
		}
		set(iso.FieldPrivateData, v)
	}
	if o.PIN != "" {
		f := t.cfg.PINFormat
		if o.PINFormat != nil {
			f = *o.PINFormat
		}
		pb, err := c.pinBlockWith(o.PIN, f, t.zpk)
		if err != nil {
			return nil, err
		}
		set(iso.FieldPINBlock, pb.Reveal())
	}
	if iso.BaseMTI(o.MTI) == iso.MTIAuthorizationAdvice {
		code := or(o.AdviceCode, string(iso.Approved))
		set(iso.FieldResponseCode, code)
		if iso.ResponseCode(code).Approved() {
			set(iso.FieldApprovalCode, or(o.AdviceApproval, "SI"+stan[2:]))
		}
	}
	tx.Msg = m
	if err := t.applyMAC(tx, o.MAC); err != nil {
		return nil, err
	}
	return tx, nil
}

// setTimes sets fields 7, 11, 12 and 13.
func (t *Terminal) setTimes(m *iso8583.Message, now time.Time, stan string) {
	local := now.UTC()
	_ = m.Field(iso.FieldTransmissionTime, iso.FormatTransmissionTime(now))
	_ = m.Field(iso.FieldSTAN, stan)
	_ = m.Field(iso.FieldLocalTime, local.Format("150405"))
	_ = m.Field(iso.FieldLocalDate, local.Format("0102"))
}

// Capture builds an 0220 completing orig (an approved 0100) for amount:
// field 90 names orig, 37 is orig's RRN, 38 its approval code (when
// given).
func (t *Terminal) Capture(orig *Txn, amount int64, approvalCode string) (*Txn, error) {
	return t.follow(orig, iso.MTIFinancialAdvice, amount, func(m *iso8583.Message) error {
		if approvalCode != "" {
			_ = m.Field(iso.FieldApprovalCode, approvalCode)
		}
		return nil
	})
}

// ReversalOptions say how a reversal is sent.
type ReversalOptions struct {
	// Advice sends an 0420 reversal advice instead of an 0400.
	Advice bool
	// Keep, when not nil, makes it a partial reversal: field 95's actual
	// amount, what stays authorized.
	Keep *int64
}

// Reversal builds an 0400 (or 0420) reversing orig: field 4 is the
// original amount, 37 the original RRN, 90 names the original, and 95
// (partial reversal) the amount that stays authorized.
func (t *Terminal) Reversal(orig *Txn, o ReversalOptions) (*Txn, error) {
	mti := iso.MTIReversalRequest
	if o.Advice {
		mti = iso.MTIReversalAdvice
	}
	return t.follow(orig, mti, orig.Amount, func(m *iso8583.Message) error {
		if o.Keep == nil {
			return nil
		}
		ra := iso.ReplacementAmounts{Actual: *o.Keep, Settlement: *o.Keep}
		v, err := ra.Encode()
		if err != nil {
			return fmt.Errorf("%w: field 95: %w", ErrTransaction, err)
		}
		_ = m.Field(iso.FieldReplacementAmounts, v)
		return nil
	})
}

// follow builds a message that refers to orig (capture, reversal).
func (t *Terminal) follow(orig *Txn, mti string, amount int64, extra func(*iso8583.Message) error) (*Txn, error) {
	if orig == nil || orig.Card == nil {
		return nil, fmt.Errorf("%w: no original transaction", ErrTransaction)
	}
	amt, ok := iso.FormatAmount(amount)
	if !ok {
		return nil, fmt.Errorf("%w: amount must be 0 to %d", ErrTransaction, int64(iso.MaxAmount))
	}
	od, err := iso.OriginalData{MTI: iso.BaseMTI(orig.MTI), STAN: orig.STAN, TransmissionTime: orig.TransmissionTime, AcquirerID: orig.AcquirerID}.Encode()
	if err != nil {
		return nil, fmt.Errorf("%w: field 90: %w", ErrTransaction, err)
	}
	now := t.cfg.Now()
	stan := t.cfg.STAN()
	tx := &Txn{
		Card: orig.Card, Entry: orig.Entry, MTI: mti, STAN: stan, TransmissionTime: iso.FormatTransmissionTime(now),
		RRN: orig.RRN, AcquirerID: orig.AcquirerID, TerminalID: orig.TerminalID, MerchantID: orig.MerchantID,
		ProcessingCode: orig.ProcessingCode, Currency: orig.Currency, Amount: amount, Original: orig,
	}
	m := iso.NewMessage(mti)
	_ = m.Field(iso.FieldPAN, orig.Card.PAN.Reveal())
	_ = m.Field(iso.FieldProcessingCode, orig.ProcessingCode)
	_ = m.Field(iso.FieldAmount, amt)
	t.setTimes(m, now, stan)
	_ = m.Field(iso.FieldAcquirerID, orig.AcquirerID)
	_ = m.Field(iso.FieldRRN, orig.RRN)
	_ = m.Field(iso.FieldTerminal, orig.TerminalID)
	_ = m.Field(iso.FieldMerchant, orig.MerchantID)
	_ = m.Field(iso.FieldCurrency, orig.Currency)
	_ = m.Field(iso.FieldOriginalData, od)
	if err := extra(m); err != nil {
		return nil, err
	}
	tx.Msg = m
	mode := MACDefault
	if orig.MAC == MACRight || orig.MAC == MACWrong {
		mode = MACRight // the acquirer MACs: its follow-ups too
	}
	if err := t.applyMAC(tx, mode); err != nil {
		return nil, err
	}
	return tx, nil
}

// Retransmit returns a copy of tx to send again: the same bytes (the host
// must answer with its first answer), or with repeat the repeat MTI (0101,
// 0201, 0401...), which the host treats as the same content. change, when
// not nil, alters the copy (the same key with different content: 94).
func (tx *Txn) Retransmit(repeat bool, change func(m *iso8583.Message)) (*Txn, error) {
	b, err := iso.Pack(tx.Msg)
	if err != nil {
		return nil, fmt.Errorf("packing original: %w", err)
	}
	m, err := iso.Unpack(b)
	if err != nil {
		return nil, fmt.Errorf("copying original: %w", err)
	}
	cp := *tx
	cp.Msg = m
	if repeat && !iso.IsRepeat(tx.MTI) {
		cp.MTI = tx.MTI[:3] + "1"
		m.MTI(cp.MTI)
	}
	if change != nil {
		change(m)
		if v, err := m.GetString(iso.FieldAmount); err == nil {
			if a, ok := iso.ParseAmount(v); ok {
				cp.Amount = a
			}
		}
	}
	if repeat || change != nil {
		// The acquirer MACs what it sends again (the MTI is MACed too).
		if err := cp.seal(); err != nil {
			return nil, err
		}
	}
	return &cp, nil
}

// trackCVV returns track 2 with its CVV (or iCVV) replaced by another
// value when wrong is set.
func trackCVV(track string, wrong bool) string {
	if !wrong {
		return track
	}
	i := strings.IndexAny(track, "=D")
	p := i + 1 + 4 + 3 + 1 + 4 // separator, expiry, service code, PVKI, PVV
	if i < 0 || p+3 > len(track) {
		return track
	}
	b := []byte(track)
	for k := p; k < p+3; k++ {
		b[k] = '0' + (b[k]-'0'+5)%10
	}
	return string(b)
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
