package terminal

import (
	"crypto/cipher"
	"fmt"
	"github.com/cardhost/cardhost/iso/digit"
	"strings"
	"sync"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
)

// MaxATC is the largest application transaction counter a chip can reach
// (2 bytes); a card at MaxATC can no longer make cryptograms.
const MaxATC = 0xFFFF

// Card is a simulated card: what its magnetic stripe, its printed CVV2, its
// cardholder's PIN and its chip (keys, ATC) give a terminal. Build one with
// LoadCard (a card file), OpenPerso (a sandbox personalisation record) or
// NewCard. Secret values use emv's secret types: a Card can be printed or
// logged without revealing card data.
//
// A Card is safe for concurrent use: its ATC is the only mutable state,
// and NextATC hands out each value once. Chip transactions on one card
// should still be sent one at a time: a host refuses an ATC lower than one
// it has already seen (atc_replay), so requests overtaking each other on
// the wire would be declined.
type Card struct {
	// ID is the card's id at the issuer (REST and events), "" when unknown.
	ID string
	// PAN is the primary account number.
	PAN emv.PAN
	// Expiry is the printed expiry, YYMM.
	Expiry string
	// PSN is the PAN sequence number, 2 digits ("" when the card has none).
	PSN string
	// ServiceCode is the 3-digit service code of track 2.
	ServiceCode string
	// Network is the card's network.
	Network emv.Network
	// Track2 is the magnetic stripe's track 2 (with the CVV).
	Track2 emv.Track2
	// ChipTrack2 is the chip's track 2 equivalent data (tag 57, with the
	// iCVV); "" for a card without chip.
	ChipTrack2 emv.Track2
	// CVV2 is the printed card verification value ("" when unknown).
	CVV2 emv.CVV
	// PIN is the cardholder's PIN ("" when unknown).
	PIN emv.Sensitive
	// PINMethod is how the issuer verifies the PIN (PVV or IBM3624),
	// informational.
	PINMethod string

	chip *chipProfile // nil: no chip

	mu        sync.Mutex
	atc       int // last ATC used
	statePath string
}

// chipProfile is what the chip needs to make cryptograms.
type chipProfile struct {
	cvn   emv.CVN
	iccMK emv.SecretBytes // MK-AC, 16 bytes
	aip   []byte          // 2 bytes
}

// CardSpec is everything NewCard needs. Strings are clear values; NewCard
// turns them into secret types. Track2 and ChipTrack2 are built from the
// other values when empty (see Track2).
type CardSpec struct {
	ID          string // the card's id at the issuer ("" when unknown)
	PAN         string // 12 to 19 digits
	Expiry      string // YYMM
	PSN         string // 2 digits, "" for none
	ServiceCode string // default "201" (chip card, normal authorization)
	Track2      string // the stripe's track 2 (default built)
	ChipTrack2  string // the chip's track 2 equivalent (default built)
	PVKI        string // track 2 PIN verification key index, default "0"
	PVV         string // track 2 PIN verification value, default "0000"
	CVV         string // magstripe CVV (track 2)
	ICVV        string // chip iCVV (track 2 equivalent)
	CVV2        string // printed CVV2, 3 digits
	PIN         string // the cardholder's PIN
	PINMethod   string // PVV or IBM3624, informational
	Network     string // VISA, MASTERCARD or UNIONPAY; default from the PAN (4 Visa; 2, 5 Mastercard; 62 UnionPay)
	// CVN is the cryptogram version number (Visa 10, 18, 22; Mastercard
	// 16, 17, 20, 21; UnionPay 1); 0 with no ICC master key means a card
	// without chip.
	CVN int
	// ICCMasterKeyAC is the chip's application cryptogram master key
	// (MK-AC), 32 hex characters.
	ICCMasterKeyAC string
	// AIP is the application interchange profile, 4 hex characters;
	// default 1800 (online capable, terminal risk management).
	AIP string
	// ATC is the last application transaction counter used (the next
	// cryptogram uses ATC+1).
	ATC int
}

// Default card values.
const (
	DefaultServiceCode = "201"
	DefaultAIP         = "1800"
)

// NewCard checks spec and returns the card. Errors wrap ErrCard and name
// the bad member, never its value.
func NewCard(spec CardSpec) (*Card, error) {
	c := &Card{ID: spec.ID, PAN: emv.PAN(spec.PAN), Expiry: spec.Expiry, PSN: spec.PSN,
		ServiceCode: spec.ServiceCode, CVV2: emv.CVV(spec.CVV2), PIN: emv.Sensitive(spec.PIN), PINMethod: spec.PINMethod}
	if !validPAN(spec.PAN) {
		return nil, fmt.Errorf("%w: pan must be 12 to 19 digits", ErrCard)
	}
	if !digit.N(spec.Expiry, 4) || spec.Expiry[2:] < "01" || spec.Expiry[2:] > "12" {
		return nil, fmt.Errorf("%w: expiry must be YYMM", ErrCard)
	}
	if spec.PSN != "" && !digit.N(spec.PSN, 2) {
		return nil, fmt.Errorf("%w: psn must be 2 digits", ErrCard)
	}
	if c.ServiceCode == "" {
		c.ServiceCode = DefaultServiceCode
	}
	if !digit.N(c.ServiceCode, 3) {
		return nil, fmt.Errorf("%w: service_code must be 3 digits", ErrCard)
	}
	if spec.CVV2 != "" && !digit.N(spec.CVV2, 3) {
		return nil, fmt.Errorf("%w: cvv2 must be 3 digits", ErrCard)
	}
	if spec.PIN != "" && (len(spec.PIN) < 4 || len(spec.PIN) > 12 || !digit.N(spec.PIN, len(spec.PIN))) {
		return nil, fmt.Errorf("%w: pin must be 4 to 12 digits", ErrCard)
	}
	switch {
	case spec.Network != "":
		n, err := emv.ParseNetwork(spec.Network)
		if err != nil {
			return nil, fmt.Errorf("%w: network must be one of %s", ErrCard, emv.NetworkList())
		}
		c.Network = n
	case spec.PAN[0] == '4':
		c.Network = emv.NetworkVisa
	case spec.PAN[0] == '5' || spec.PAN[0] == '2':
		c.Network = emv.NetworkMastercard
	case emv.NetworkUnionPay.InRange(spec.PAN):
		c.Network = emv.NetworkUnionPay
	default:
		return nil, fmt.Errorf("%w: network is required for this PAN", ErrCard)
	}
	if err := c.buildTracks(spec); err != nil {
		return nil, err
	}
	if spec.CVN != 0 || spec.ICCMasterKeyAC != "" {
		if err := c.buildChip(spec); err != nil {
			return nil, err
		}
	}
	if spec.ATC < 0 || spec.ATC > MaxATC {
		return nil, fmt.Errorf("%w: atc must be 0 to %d", ErrCard, MaxATC)
	}
	c.atc = spec.ATC
	return c, nil
}

// buildTracks sets Track2 and ChipTrack2 from the spec: given literally,
// or laid out as DESIGN.md specifies from PAN, expiry, service code, PVKI,
// PVV and the CVV (magstripe) or iCVV (chip).
func (c *Card) buildTracks(spec CardSpec) error {
	if spec.Track2 != "" {
		if err := checkTrack2(spec.Track2, spec.PAN); err != nil {
			return err
		}
		c.Track2 = emv.Track2(spec.Track2)
	} else if spec.CVV != "" {
		t, err := Track2(spec.PAN, spec.Expiry, c.ServiceCode, spec.PVKI, spec.PVV, spec.CVV)
		if err != nil {
			return err
		}
		c.Track2 = t
	}
	switch {
	case spec.ChipTrack2 != "":
		if err := checkTrack2(spec.ChipTrack2, spec.PAN); err != nil {
			return err
		}
		c.ChipTrack2 = emv.Track2(spec.ChipTrack2)
	case spec.ICVV != "" && spec.Track2 != "":
		// The chip's track 2 is the stripe's with the iCVV in the CVV place.
		if !digit.N(spec.ICVV, 3) {
			return fmt.Errorf("%w: icvv must be 3 digits", ErrCard)
		}
		t := []byte(spec.Track2)
		i := strings.IndexAny(spec.Track2, "=D")
		copy(t[i+1+4+3+1+4:], spec.ICVV)
		c.ChipTrack2 = emv.Track2(t)
	case spec.ICVV != "":
		t, err := Track2(spec.PAN, spec.Expiry, c.ServiceCode, spec.PVKI, spec.PVV, spec.ICVV)
		if err != nil {
			return err
		}
		c.ChipTrack2 = t
	}
	return nil
}

func (c *Card) buildChip(spec CardSpec) error {
	cvn, err := c.Network.CVN(spec.CVN)
	if err != nil {
		return fmt.Errorf("%w: %s has no CVN %d (%s)", ErrCard, c.Network, spec.CVN, emv.CVNList())
	}
	mk, err := emv.DecodeHex(spec.ICCMasterKeyAC)
	if err != nil || len(mk) != 16 {
		return fmt.Errorf("%w: icc_master_key_ac must be 32 hex characters", ErrCard)
	}
	aipHex := spec.AIP
	if aipHex == "" {
		aipHex = DefaultAIP
	}
	aip, err := emv.DecodeHex(aipHex)
	if err != nil || len(aip) != 2 {
		return fmt.Errorf("%w: aip must be 4 hex characters", ErrCard)
	}
	c.chip = &chipProfile{cvn: cvn, iccMK: emv.SecretBytes(mk), aip: aip}
	return nil
}

// Track2 lays out track 2 (equivalent) data as DESIGN.md specifies:
// PAN '=' YYMM service code (3) PVKI (1) PVV (4) CVV (3), zero-filled to
// 37 characters. Empty pvki and pvv become "0" and "0000". Pass the iCVV
// as cvv for the chip's track 2 equivalent.
func Track2(pan, expiry, serviceCode, pvki, pvv, cvv string) (emv.Track2, error) {
	if pvki == "" {
		pvki = "0"
	}
	if pvv == "" {
		pvv = "0000"
	}
	switch {
	case !validPAN(pan):
		return "", fmt.Errorf("%w: track 2: pan must be 12 to 19 digits", ErrCard)
	case !digit.N(expiry, 4):
		return "", fmt.Errorf("%w: track 2: expiry must be YYMM", ErrCard)
	case !digit.N(serviceCode, 3):
		return "", fmt.Errorf("%w: track 2: service code must be 3 digits", ErrCard)
	case !digit.N(pvki, 1) || !digit.N(pvv, 4):
		return "", fmt.Errorf("%w: track 2: pvki must be 1 digit and pvv 4", ErrCard)
	case !digit.N(cvv, 3):
		return "", fmt.Errorf("%w: track 2: cvv must be 3 digits", ErrCard)
	}
	var b strings.Builder
	b.Grow(track2Len)
	b.WriteString(pan)
	b.WriteByte('=')
	b.WriteString(expiry)
	b.WriteString(serviceCode)
	b.WriteString(pvki)
	b.WriteString(pvv)
	b.WriteString(cvv)
	for b.Len() < track2Len {
		b.WriteByte('0')
	}
	return emv.Track2(b.String()), nil
}

// track2Len is the length track 2 is zero-filled to (field 35's maximum).
const track2Len = 37

// checkTrack2 checks a literal track 2: the card's PAN, a separator, then
// at least expiry, service code, PVKI, PVV and CVV in digits.
func checkTrack2(t, pan string) error {
	i := strings.IndexAny(t, "=D")
	if i < 0 || t[:i] != pan || len(t) > track2Len || len(t)-i-1 < 4+3+1+4+3 || !digit.N(t[i+1:], len(t)-i-1) {
		return fmt.Errorf("%w: track2 must be PAN=YYMM + service code + PVKI + PVV + CVV (digits, at most 37)", ErrCard)
	}
	return nil
}

// HasChip reports whether the card has a chip (a CVN and an ICC master key).
func (c *Card) HasChip() bool { return c.chip != nil }

// CVN returns the chip's cryptogram version, and false for a card without
// chip.
func (c *Card) CVN() (emv.CVN, bool) {
	if c.chip == nil {
		return emv.CVN{}, false
	}
	return c.chip.cvn, true
}

// ATC returns the last application transaction counter the chip used.
func (c *Card) ATC() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.atc
}

// SetATC sets the last ATC used (the next cryptogram uses n+1). It is for
// starting a run from a chosen value.
func (c *Card) SetATC(n int) error {
	if n < 0 || n > MaxATC {
		return fmt.Errorf("%w: atc must be 0 to %d", ErrCard, MaxATC)
	}
	c.mu.Lock()
	c.atc = n
	c.mu.Unlock()
	return nil
}

// NextATC returns the next ATC and records it as used. It fails with
// ErrATCExhausted when the counter has reached MaxATC, as a real chip
// would stop.
func (c *Card) NextATC() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.atc >= MaxATC {
		return 0, ErrATCExhausted
	}
	c.atc++
	return c.atc, nil
}

// String describes the card without card data: network, masked PAN, CVN.
func (c *Card) String() string {
	s := string(c.Network) + " " + c.PAN.Masked()
	if c.chip != nil {
		s += fmt.Sprintf(" CVN %d", c.chip.cvn.Number)
	}
	return s
}

// PINBlock enciphers pin as an ISO 9564-1 PIN block of format f (0, 1 or
// 3) for this card under the clear zone PIN key zpk (16 or 24 bytes), as
// field 52 carries it: 16 upper-case hex characters.
func (c *Card) PINBlock(pin string, f pinblock.Format, zpk []byte) (emv.PINBlock, error) {
	if f != pinblock.Format0 && f != pinblock.Format1 && f != pinblock.Format3 {
		return "", fmt.Errorf("%w: PIN block format must be 0, 1 or 3", ErrCard)
	}
	if len(zpk) != 16 && len(zpk) != 24 {
		return "", fmt.Errorf("%w: zone PIN key must be 16 or 24 bytes", ErrCard)
	}
	blk, err := emv.NewTDES(zpk)
	if err != nil {
		return "", fmt.Errorf("building PIN block: %w", err)
	}
	return c.pinBlockWith(pin, f, blk)
}

// pinBlockWith is PINBlock with the zone PIN key's cipher already made.
func (c *Card) pinBlockWith(pin string, f pinblock.Format, blk cipher.Block) (emv.PINBlock, error) {
	if f != pinblock.Format0 && f != pinblock.Format1 && f != pinblock.Format3 {
		return "", fmt.Errorf("%w: PIN block format must be 0, 1 or 3", ErrCard)
	}
	digits := []byte(pin)
	defer clear(digits)
	b, err := pinblock.Encipher(f, blk, digits, c.PAN.Reveal(), nil)
	if err != nil {
		return "", fmt.Errorf("building PIN block: %w", err)
	}
	return emv.PINBlock(emv.EncodeHex(b)), nil
}

func validPAN(p string) bool { return len(p) >= 12 && len(p) <= 19 && digit.N(p, len(p)) }

// WrongDigits returns another value of the same length (each digit + 5).
func WrongDigits(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] >= '0' && b[i] <= '9' {
			b[i] = '0' + (b[i]-'0'+5)%10
		}
	}
	return string(b)
}
