package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/cardhost/cardhost/iso/digit"
	"io"
	"math/rand/v2"
	"os"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/iso"
)

// Mix is the transaction mix of a load run (docs/termsim.md, "The mix
// file"): kinds of transaction, each with a weight and the response codes
// it expects.
type Mix struct {
	// Kinds are the kinds of transaction, in file order.
	Kinds []MixKind `yaml:"kinds" json:"kinds"`

	total int
}

// MixKind is one kind of transaction in a Mix.
type MixKind struct {
	// Name labels the kind in reports (required, unique).
	Name string `yaml:"name" json:"name"`
	// Weight is the kind's share of the requests (a positive integer).
	Weight int `yaml:"weight" json:"weight"`
	// Entry is the entry mode (default chip).
	Entry string `yaml:"entry,omitempty" json:"entry,omitempty"`
	// Type is purchase (default), cash, refund or balance.
	Type string `yaml:"type,omitempty" json:"type,omitempty"`
	// Amount in minor units (default 1000; 0 for balance inquiries).
	Amount *int64 `yaml:"amount,omitempty" json:"amount,omitempty"`
	// MCC overrides the terminal's merchant category code (field 18).
	MCC string `yaml:"mcc,omitempty" json:"mcc,omitempty"`
	// Country overrides the terminal's country (field 19, ISO numeric).
	Country string `yaml:"country,omitempty" json:"country,omitempty"`
	// PIN: none (default), right (the card's PIN) or wrong.
	PIN string `yaml:"pin,omitempty" json:"pin,omitempty"`
	// CVV2: none, right (the card's) or wrong; default right for
	// e-commerce and key entry, none otherwise.
	CVV2 string `yaml:"cvv2,omitempty" json:"cvv2,omitempty"`
	// ECI is field 48 element 02 (e-commerce).
	ECI string `yaml:"eci,omitempty" json:"eci,omitempty"`
	// TamperARQC sends a wrong cryptogram (expect 82).
	TamperARQC bool `yaml:"tamper_arqc,omitempty" json:"tamper_arqc,omitempty"`
	// Reversal follows an approved request with a reversal: none
	// (default), full or partial (half the amount stays authorized). The
	// reversal expects 00.
	Reversal string `yaml:"reversal,omitempty" json:"reversal,omitempty"`
	// Expect are the response codes that count as expected (default 00).
	Expect []string `yaml:"expect,omitempty" json:"expect,omitempty"`

	entry  terminal.EntryMode
	typ    terminal.TxnType
	expect map[iso.ResponseCode]bool
}

// DefaultMix is the mix of a load run without --mix: chip, contactless,
// magnetic stripe and e-commerce purchases, all expected approved.
func DefaultMix() *Mix {
	m := &Mix{Kinds: []MixKind{
		{Name: "chip", Weight: 40, Entry: "chip"},
		{Name: "contactless", Weight: 30, Entry: "contactless"},
		{Name: "magstripe", Weight: 15, Entry: "magstripe"},
		{Name: "ecommerce", Weight: 15, Entry: "ecommerce"},
	}}
	if err := m.validate(); err != nil {
		panic(err)
	}
	return m
}

// ErrMix: a mix file is malformed.
var ErrMix = errors.New("termsim: invalid mix")

// LoadMix reads a mix file (YAML or JSON).
func LoadMix(path string) (*Mix, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading mix file: %w", err)
	}
	m, err := ParseMix(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ParseMix decodes a mix strictly (unknown members and wrong types are
// errors naming the line) and checks it.
func ParseMix(data []byte) (*Mix, error) {
	var m Mix
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty mix file", ErrMix)
		}
		return nil, fmt.Errorf("%w: %s", ErrMix, terminal.YAMLErrorText(err))
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Mix) validate() error {
	if len(m.Kinds) == 0 {
		return fmt.Errorf("%w: no kinds", ErrMix)
	}
	names := map[string]bool{}
	m.total = 0
	for i := range m.Kinds {
		k := &m.Kinds[i]
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: kind %d (%s): %s", ErrMix, i+1, k.Name, fmt.Sprintf(format, args...))
		}
		if k.Name == "" || names[k.Name] {
			return bad("needs a unique name")
		}
		names[k.Name] = true
		if k.Weight <= 0 {
			return bad("weight must be positive")
		}
		m.total += k.Weight
		var err error
		k.entry = terminal.EntryChip
		if k.Entry != "" {
			if k.entry, err = terminal.ParseEntryMode(k.Entry); err != nil {
				return bad("entry %q is not chip, contactless, magstripe, fallback, manual or ecommerce", k.Entry)
			}
		}
		if k.typ, err = terminal.ParseTxnType(k.Type); err != nil {
			return bad("type %q is not purchase, cash, refund or balance", k.Type)
		}
		if k.Amount != nil && (*k.Amount < 0 || *k.Amount > iso.MaxAmount) {
			return bad("amount out of range")
		}
		if k.MCC != "" && !digit.N(k.MCC, 4) {
			return bad("mcc must be 4 digits")
		}
		if k.Country != "" && !digit.N(k.Country, 3) {
			return bad("country must be 3 digits (ISO 3166 numeric)")
		}
		if !slices.Contains([]string{"", "none", "right", "wrong"}, k.PIN) {
			return bad("pin must be none, right or wrong")
		}
		if !slices.Contains([]string{"", "none", "right", "wrong"}, k.CVV2) {
			return bad("cvv2 must be none, right or wrong")
		}
		if !slices.Contains([]string{"", "none", "full", "partial"}, k.Reversal) {
			return bad("reversal must be none, full or partial")
		}
		if k.TamperARQC && !k.entry.IsChip() {
			return bad("tamper_arqc needs a chip or contactless entry")
		}
		k.expect = map[iso.ResponseCode]bool{}
		if len(k.Expect) == 0 {
			k.expect[iso.Approved] = true
		}
		for _, c := range k.Expect {
			if !iso.ResponseCode(c).Known() {
				return bad("expect: %q is not a response code of DESIGN.md's table", c)
			}
			k.expect[iso.ResponseCode(c)] = true
		}
	}
	return nil
}

// pick returns a kind at random by weight.
func (m *Mix) pick(r *rand.Rand) *MixKind {
	n := r.IntN(m.total)
	for i := range m.Kinds {
		if n < m.Kinds[i].Weight {
			return &m.Kinds[i]
		}
		n -= m.Kinds[i].Weight
	}
	return &m.Kinds[len(m.Kinds)-1]
}

// needs reports what a card must have for every kind of the mix: a chip,
// a magnetic stripe track, a CVV2 and a PIN.
func (m *Mix) needs() (chip, stripe, cvv2, pin bool) {
	for _, k := range m.Kinds {
		chip = chip || k.entry.IsChip()
		stripe = stripe || k.entry == terminal.EntryMagstripe || k.entry == terminal.EntryFallback
		cvv2 = cvv2 || k.cvv2() != "none"
		pin = pin || k.PIN == "right" || k.PIN == "wrong"
	}
	return
}

// cvv2 is what kind k sends in field 48 element 01: right, wrong or none;
// by default the card's own for key entry and e-commerce (the cardholder
// types it), nothing for card-present entries.
func (k *MixKind) cvv2() string {
	switch {
	case k.CVV2 != "":
		return k.CVV2
	case k.entry == terminal.EntryEcommerce || k.entry == terminal.EntryManual:
		return "right"
	}
	return "none"
}

// options returns the request options of kind k for card c.
func (k *MixKind) options(c *terminal.Card) (terminal.TxnOptions, int64) {
	o := terminal.TxnOptions{Type: k.typ, Entry: k.entry, MCC: k.MCC, Country: k.Country, ECI: k.ECI}
	if k.typ == terminal.TxnBalance {
		o.MTI = iso.MTIFinancialRequest
	}
	switch k.PIN {
	case "right":
		o.PIN = c.PIN.Reveal()
	case "wrong":
		o.PIN = terminal.WrongDigits(c.PIN.Reveal())
	}
	switch k.cvv2() {
	case "right":
		o.CVV2 = c.CVV2.Reveal()
	case "wrong":
		o.CVV2 = terminal.WrongDigits(c.CVV2.Reveal())
	}
	o.Chip.ARQC = k.TamperARQC
	amount := int64(1000)
	if k.typ == terminal.TxnBalance {
		amount = 0
	}
	if k.Amount != nil {
		amount = *k.Amount
	}
	return o, amount
}
