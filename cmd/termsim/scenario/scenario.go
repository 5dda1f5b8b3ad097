package scenario

import (
	"errors"
	"fmt"
	"github.com/cardhost/cardhost/iso/digit"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/kafka"
)

// Scenario is one scenario file (docs/termsim.md, "Scenario files"): cards
// set up through the REST API (or given as card files), then steps sent to
// the host, each with what the answer must be.
type Scenario struct {
	// Name defaults to the file name.
	Name        string `yaml:"name"`
	Description string `yaml:"description"` // what the scenario shows
	Setup       Setup  `yaml:"setup"`       // the cards
	Steps       []Step `yaml:"steps"`       // run in order

	// File is the path the scenario was read from.
	File string `yaml:"-"`
}

// Setup is what a scenario needs before its first step.
type Setup struct {
	Line   int `yaml:"-"` // position in the file
	Column int `yaml:"-"` // position in the file
	// Cards are the scenario's cards by name, in file order.
	Cards SetupCards `yaml:"cards"`
	// Merchant is field 42 of the scenario's terminal instead of the
	// runner's (up to 15 letters, digits or spaces): a scenario whose
	// card-not-present requests fail verification on purpose stands at a
	// merchant of its own, so that the failures of all the scenarios of a
	// replay do not add up at one merchant to the host's merchant guard
	// threshold (docs/termsim.md, "setup.merchant"). Each # is a digit of
	// the replay's own, so that the failures of two replays do not add up
	// either (Runner.Merchant). A step's merchant still wins.
	Merchant string `yaml:"merchant"`
}

// SetupCards are named cards in file order.
type SetupCards []*SetupCard

func (s *SetupCards) decodeNode(d *strictDecoder, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "want a mapping of card names to cards, got %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	keys, vals := keysOf(n)
	for i, k := range keys {
		if seen[k.Value] {
			d.errorf(k, "card %q defined twice", k.Value)
			continue
		}
		seen[k.Value] = true
		c := &SetupCard{Name: k.Value}
		d.decode(vals[i], reflect.ValueOf(c).Elem())
		c.Name = k.Value
		*s = append(*s, c)
	}
}

// Find returns the card named name.
func (s SetupCards) Find(name string) *SetupCard {
	for _, c := range s {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// SetupCard is one card of a scenario: either a card the simulator already
// has (File, or Card inline: no REST call, no card id), or a card created
// through the REST API with the other members, then exported (sandbox
// personalisation) so that termsim can act as it.
type SetupCard struct {
	Name   string `yaml:"-"` // the key it is defined under
	Line   int    `yaml:"-"` // position in the file
	Column int    `yaml:"-"` // position in the file

	// File is a card file, relative to the scenario file.
	File string `yaml:"file"`
	// Card is a card file's content inline.
	Card *terminal.CardFile `yaml:"card"`

	// Network (VISA, MASTERCARD or UNIONPAY) and CVN choose the sandbox data prep
	// template, and so the product (default VISA 18: the seeded product).
	Network string `yaml:"network"`
	CVN     int    `yaml:"cvn"` // see Network
	// Product is a product id (instead of Network and CVN).
	Product string `yaml:"product"`
	// Currency, CardLimit, SpendingControls, RiskControls, UsageType and
	// AutoCancelTrigger are the card's (POST /v1/cards).
	Currency          string            `yaml:"currency"`
	CardLimit         *int64            `yaml:"card_limit"`          // minor units
	SpendingControls  []SpendingControl `yaml:"spending_controls"`   // see Currency
	RiskControls      *RiskControls     `yaml:"risk_controls"`       // see Currency
	UsageType         string            `yaml:"usage_type"`          // NORMAL or ONE_TIME
	AutoCancelTrigger string            `yaml:"auto_cancel_trigger"` // ON_AUTH or ON_CAPTURE
	// ExpiryAt is a time (RFC 3339) or a duration from the setup ("5s").
	ExpiryAt string `yaml:"expiry_at"`
	// PIN is set through the sandbox simulator (POST /v1/simulator/cards/{id}/pin).
	PIN string `yaml:"pin"`
	// Status moves the card after creation: FROZEN, BLOCKED or CANCELED;
	// or PROVISIONED: a PLASTIC card of an embosser with manual issue,
	// left waiting for its embossing (not yet active).
	Status string `yaml:"status"`
	// BlockReason is the reason of BLOCKED: lost, stolen, fraud or other.
	BlockReason string `yaml:"block_reason"`
	// CVV2Policy (REQUIRED or IF_PRESENT) and CVV2MaxTries (1 to 99) choose
	// a product with these card-not-present rules (default REQUIRED, 5).
	CVV2Policy   string `yaml:"cvv2_policy"`
	CVV2MaxTries int    `yaml:"cvv2_max_tries"`
	// Funding makes a funded card (docs/ledger.md): SHARED (it spends the
	// tenant's program balance) or PREPAID (its own balance); default the
	// LIMIT card of every other scenario.
	Funding string `yaml:"funding"`
	// Recharge, for a PREPAID card, is the balance it starts with: the
	// setup deposits it (sandbox) and moves it to the card.
	Recharge *int64 `yaml:"recharge"`
}

// Local reports whether the card comes from a card file rather than the
// REST API.
func (c *SetupCard) Local() bool { return c.File != "" || c.Card != nil }

// Step is one step of a scenario: exactly one action, and what its result
// must be.
type Step struct {
	Line   int `yaml:"-"` // position in the file
	Column int `yaml:"-"` // position in the file
	// Name describes the step in the report.
	Name string `yaml:"name"`
	// ID names the step so later steps can refer to it (capture,
	// reversal, retransmit, same_as).
	ID string `yaml:"id"`

	// The action: exactly one of these.
	Auth       *AuthStep       `yaml:"auth"`       // 0100 or 0200
	Advice     *AuthStep       `yaml:"advice"`     // 0120
	Capture    *CaptureStep    `yaml:"capture"`    // 0220
	Reversal   *ReversalStep   `yaml:"reversal"`   // 0400 or 0420
	Retransmit *RetransmitStep `yaml:"retransmit"` // an earlier request again
	Echo       *EchoStep       `yaml:"echo"`       // 0800 echo test
	Wait       time.Duration   `yaml:"wait"`       // pause
	Card       *CardStep       `yaml:"card"`       // REST status change
	Decider    *DeciderStep    `yaml:"decider"`    // the local decision endpoint
	Clearing   *ClearingStep   `yaml:"clearing"`   // a clearing record (sandbox simulator)
	Expire     *ExpireStep     `yaml:"expire"`     // a hold expired now (sandbox simulator)

	// Expect is what the result must be.
	Expect Expect `yaml:"expect"`
}

// AuthStep is a card request: auth (0100 or 0200) or advice (0120).
type AuthStep struct {
	Line   int `yaml:"-"` // position in the file
	Column int `yaml:"-"` // position in the file
	// Card names a setup card.
	Card string `yaml:"card"`
	// Type: purchase (default), cash, refund, balance.
	Type string `yaml:"type"`
	// ProcessingCode is field 3 (6 digits), instead of Type: for
	// transaction types the host does not support.
	ProcessingCode string `yaml:"processing_code"`
	// Acquirer is field 32 instead of the terminal's (an acquirer the
	// host has no zone PIN key for).
	Acquirer string `yaml:"acquirer"`
	// Entry: chip (default), contactless, magstripe, fallback, manual,
	// ecommerce.
	Entry string `yaml:"entry"`
	// Amount in minor units (default 1000; 0 for balance).
	Amount *int64 `yaml:"amount"`
	// Currency (field 49) and Country (field 19) are ISO numeric codes;
	// MCC is field 18.
	Currency string `yaml:"currency"`
	Country  string `yaml:"country"` // see Currency
	MCC      string `yaml:"mcc"`     // see Currency
	// PIN: right (the card's), wrong, or the digits to enter.
	PIN string `yaml:"pin"`
	// CVV2: right (the card's; the default for ecommerce and manual when
	// the card has one), wrong, none, or the digits to send.
	CVV2 string `yaml:"cvv2"`
	ECI  string `yaml:"eci"`  // field 48 element 02
	CAVV string `yaml:"cavv"` // field 48 element 03, 40 hex characters
	// Partial: the terminal accepts a partial approval (48.04 = Y).
	Partial bool `yaml:"partial"`
	// MTI: 0100 (default) or 0200 (0200 default for balance).
	MTI string `yaml:"mti"`
	// Expiry sends this YYMM in field 14 instead of the card's; none
	// leaves field 14 out of a manual or e-commerce request.
	Expiry string `yaml:"expiry"`
	// Merchant is field 42 instead of the terminal's (# as in
	// Setup.Merchant).
	Merchant string `yaml:"merchant"`
	// WrongCVV puts a wrong CVV (iCVV for chip) in track 2.
	WrongCVV bool `yaml:"wrong_cvv"`
	// TamperARQC sends a cryptogram that does not verify.
	TamperARQC bool `yaml:"tamper_arqc"`
	// CVN puts another cryptogram version in 9F10 (10, 18, 22; 16, 17,
	// 20, 21; -1 for any other than the card's).
	CVN int `yaml:"cvn"`
	// ReplayATC makes the cryptogram with the last ATC used again.
	ReplayATC bool `yaml:"replay_atc"`
	// BadField55 sends a field 55 that is not BER-TLV (a format error).
	BadField55 bool `yaml:"bad_field55"`
	// Field22 sends these three digits as field 22 instead of the entry's
	// (the card data still follow entry): an entry mode the host refuses.
	Field22 string `yaml:"field22"`
	// Cryptogram makes the chip return AAC (declined) or TC (approved
	// offline) instead of an ARQC; RelabelARQC then says ARQC in 9F27.
	Cryptogram  string `yaml:"cryptogram"`
	RelabelARQC bool   `yaml:"relabel_arqc"` // see Cryptogram
	// ChipAmount and ChipCurrency are the 9F02 and 5F2A the chip signs
	// instead of fields 4 and 49.
	ChipAmount   *int64 `yaml:"chip_amount"`
	ChipCurrency string `yaml:"chip_currency"` // see ChipAmount
	// Code is the stand-in decision of an advice (field 39, default 00).
	Code string `yaml:"code"`
	// MAC is the request's MAC (fields 64/128) under the terminal's zone
	// MAC key: right, wrong or none (default: the terminal's --mac).
	MAC string `yaml:"mac"`
	// PINFormat is field 52's ISO 9564 format (0, 1 or 3) instead of the
	// terminal's.
	PINFormat *int `yaml:"pin_format"`
	// Of (advice only) names an earlier auth step of the same card whose
	// transaction the advice reports: it carries that request's RRN (field
	// 37), as a network's stand-in advice of a request whose answer never
	// reached it does.
	Of string `yaml:"of"`
}

// CaptureStep is an 0220 completing an earlier authorization.
type CaptureStep struct {
	Line   int `yaml:"-"` // position in the file
	Column int `yaml:"-"` // position in the file
	// Of is the id of the authorization step.
	Of string `yaml:"of"`
	// Amount captured (default the authorization's amount).
	Amount *int64 `yaml:"amount"`
	// Card and Unmatched send a capture of an authorization that never
	// happened (a forced capture) for card, instead of Of.
	Card string `yaml:"card"`
}

// ReversalStep is an 0400 (or 0420) reversing an earlier request.
type ReversalStep struct {
	Line   int `yaml:"-"` // position in the file
	Column int `yaml:"-"` // position in the file
	// Of is the id of the step reversed.
	Of string `yaml:"of"`
	// Card sends the reversal of a request that was never sent, for card
	// (unknown original), instead of Of; Amount is then its amount.
	Card   string `yaml:"card"`
	Amount *int64 `yaml:"amount"` // see Card
	// Keep makes it partial: the amount that stays authorized (field 95).
	Keep *int64 `yaml:"keep"`
	// Advice sends an 0420 instead of an 0400.
	Advice bool `yaml:"advice"`
}

// RetransmitStep sends an earlier step's request again.
type RetransmitStep struct {
	Line   int `yaml:"-"` // position in the file
	Column int `yaml:"-"` // position in the file
	// Of is the id of the step whose request is sent again.
	Of string `yaml:"of"`
	// Repeat sends it with the repeat MTI (0101, 0401...).
	Repeat bool `yaml:"repeat"`
	// Amount changes field 4 (the same key with other content: 94).
	Amount *int64 `yaml:"amount"`
}

// EchoStep is an 0800 echo test (no members).
type EchoStep struct {
	Line   int `yaml:"-"` // position in the file
	Column int `yaml:"-"` // position in the file
}

// CardStep changes a card through the REST API.
// DeciderStep points the tenant's authorization decision endpoint at
// termsim's local decider (cmd/termsim/decider) with these rules, or
// removes it (off). The scenario's end removes it.
type DeciderStep struct {
	Line   int `yaml:"-"` // position in the file
	Column int `yaml:"-"` // position in the file
	// DeclineAbove, Reason, Partial, Sleep and Status are the decider's
	// rules (decider.Rules): decline above an amount (with a reason),
	// approve at most an amount, answer after a pause, fail with a status.
	DeclineAbove int64         `yaml:"decline_above"`
	Reason       string        `yaml:"reason"`
	Partial      int64         `yaml:"partial"`
	Sleep        time.Duration `yaml:"sleep"`
	Status       int           `yaml:"status"`
	// TimeoutMS and DefaultAction are the endpoint's (PUT
	// /v1/authorization-decision; defaults 2000 and DECLINE).
	TimeoutMS     int    `yaml:"timeout_ms"`
	DefaultAction string `yaml:"default_action"`
	// Off removes the endpoint: the host decides alone again.
	Off bool `yaml:"off"`
}

type CardStep struct {
	Line   int `yaml:"-"` // position in the file
	Column int `yaml:"-"` // position in the file
	// Card names a setup card (created through the API).
	Card string `yaml:"card"`
	// Action is freeze, unfreeze, block, cancel or reset_cvv2_tries.
	Action string `yaml:"action"`
	// Reason of a block: lost, stolen, fraud or other.
	Reason string `yaml:"reason"`
}

// ClearingStep sends a clearing record of an earlier authorization
// through the host's clearing path (POST
// /v1/simulator/authorizations/{id}/clearing).
type ClearingStep struct {
	Line   int `yaml:"-"` // position in the file
	Column int `yaml:"-"` // position in the file
	// Of is the id of the authorization step.
	Of string `yaml:"of"`
	// Amount presented (default the authorization's; more for a tip).
	Amount *int64 `yaml:"amount"`
	// Type: purchase (default) or refund.
	Type string `yaml:"type"`
}

// ExpireStep expires the hold of an earlier authorization now, as the
// hold expiry job does when it is due (POST
// /v1/simulator/authorizations/{id}/expire).
type ExpireStep struct {
	Line   int `yaml:"-"` // position in the file
	Column int `yaml:"-"` // position in the file
	// Of is the id of the authorization step.
	Of string `yaml:"of"`
}

// Expect is what a step's result must be. Empty members are not checked.
type Expect struct {
	Line   int `yaml:"-"` // position in the file
	Column int `yaml:"-"` // position in the file
	// Code is the response code (field 39).
	Code string `yaml:"code"`
	// Reason is the host's reason slug, read back from the authorization
	// events (or the REST API).
	Reason string `yaml:"reason"`
	// ApprovalCode is present or absent (field 38).
	ApprovalCode string `yaml:"approval_code"`
	// ARPC is valid, absent or any. Unset: valid where DESIGN.md requires
	// tag 91 (see ARPCExpected), and never invalid.
	ARPC string `yaml:"arpc"`
	// MAC is the answer's MAC (fields 64/128) under the terminal's zone
	// MAC key: valid or absent. Unset: valid when the request was MACed,
	// and never invalid.
	MAC string `yaml:"mac"`
	// Amount is field 4 of the answer (the approved amount of a partial
	// approval).
	Amount *int64 `yaml:"amount"`
	// Balance is the available balance in field 54 (amount type 02), in
	// minor units (negative: debit).
	Balance *int64 `yaml:"balance"`
	// Events are the event types the step publishes for the card, in
	// order (read from Kafka).
	Events []string `yaml:"events"`
	// SameAs is the id of an earlier step whose answer this one must
	// repeat byte for byte (retransmissions).
	SameAs string `yaml:"same_as"`
	// Status is the card's status after the step (REST).
	Status string `yaml:"status"`
	// Available is a funded card's available balance after the step
	// (GET /v1/cards/{id}/balance), minor units.
	Available *int64 `yaml:"available"`
}

// Reasons are the reason slugs of DESIGN.md's table and of the host
// interface specification (docs/iso8583.md section 8.2), with their codes
// ("" where an advice answers 00 whatever the reason). It is a copy of
// package host's table, since termsim knows the host only through its
// published interfaces; TestReasonsAreTheHosts fails when the two differ.
var Reasons = map[string]iso.ResponseCode{
	"approved": iso.Approved, "partial_approval": iso.PartialApproval,
	"format_error": iso.FormatError, "invalid_transaction": iso.InvalidTransaction, "invalid_amount": iso.InvalidAmount,
	"card_not_found": iso.InvalidCardNumber, "card_not_active": iso.RestrictedCard, "card_frozen": iso.RestrictedCard,
	"card_canceled": iso.RestrictedCard, "one_time_card_used": iso.RestrictedCard, "card_lost": iso.LostCard,
	"card_stolen": iso.StolenCard, "card_blocked": iso.RestrictedCard, "card_expired": iso.ExpiredCard,
	"cvv_invalid": iso.CryptographicFailure, "icvv_invalid": iso.CryptographicFailure, "cvv2_invalid": iso.CryptographicFailure,
	"arqc_invalid": iso.CryptographicFailure, "cvn_mismatch": iso.CryptographicFailure, "atc_replay": iso.CryptographicFailure,
	"pin_invalid": iso.IncorrectPIN, "pin_tries_exceeded": iso.PINTriesExceeded, "security_violation": iso.SecurityViolation,
	"mcc_blocked": iso.NotPermittedToCardholder, "channel_not_allowed": iso.NotPermittedToCardholder,
	"country_not_allowed": iso.NotPermittedToCardholder, "3ds_not_allowed": iso.NotPermittedToCardholder,
	"spending_control_amount": iso.ExceedsAmountLimit, "spending_control_count": iso.ExceedsFrequencyLimit,
	"card_limit_exceeded": iso.InsufficientFunds, "duplicate_transmission": iso.DuplicateTransmission,
	"stand_in_declined": "", "system_error": iso.SystemMalfunction,
	"refund_exceeds_spent":     iso.InvalidAmount,
	"entry_mode_not_supported": iso.NotPermittedToTerminal, "cryptogram_type_invalid": iso.CryptographicFailure,
	"cryptogram_amount_mismatch": iso.CryptographicFailure,
	"expiry_missing":             iso.FormatError, "cvv2_missing": iso.CryptographicFailure,
	"cvv2_tries_exceeded": iso.CryptographicFailure, "merchant_blocked": iso.SuspectedFraud,
	"mac_missing": iso.SecurityViolation, "mac_invalid": iso.SecurityViolation,
	"pin_block_format_not_allowed": iso.SecurityViolation,
	"issuer_declined":              iso.DoNotHonor, "issuer_insufficient_funds": iso.InsufficientFunds,
	"issuer_suspected_fraud": iso.SuspectedFraud, "issuer_unavailable": iso.DoNotHonor,
	"insufficient_funds": iso.InsufficientFunds,
}

// EventTypes are the event types of package kafka's catalogue
// (docs/events.md) a scenario may expect: the card and authorization
// events a step causes, and the order events.
var EventTypes = []string{
	kafka.TypeCardCreated, kafka.TypeCardActivated, kafka.TypeCardFrozen, kafka.TypeCardUnfrozen, kafka.TypeCardBlocked, kafka.TypeCardCanceled,
	kafka.TypeCardExpired, kafka.TypeCardControlsUpdated, kafka.TypeCardPINChanged, kafka.TypeCardCVV2TriesReset,
	kafka.TypeAuthorizationApproved, kafka.TypeAuthorizationDeclined, kafka.TypeAuthorizationReversed, kafka.TypeAuthorizationCaptured,
	kafka.TypeOrderCompleted, kafka.TypeOrderFailed,
	kafka.TypeLedgerRecharge, kafka.TypeLedgerWithdraw, kafka.TypeLedgerHoldExpired, kafka.TypeLedgerCleared, kafka.TypeLedgerForcePosted,
}

// ScenarioError lists the mistakes of a scenario file, each with its line.
type ScenarioError struct {
	File   string     // the scenario file
	Errors []posError // every mistake, in line order
}

// Error returns one mistake per line: "file:line:col: message".
func (e *ScenarioError) Error() string {
	var b strings.Builder
	for i, p := range e.Errors {
		if i > 0 {
			b.WriteByte('\n')
		}
		if p.Line > 0 {
			fmt.Fprintf(&b, "%s:%d:%d: %s", e.File, p.Line, p.Column, p.Msg)
		} else {
			fmt.Fprintf(&b, "%s: %s", e.File, p.Msg)
		}
	}
	return b.String()
}

// ErrScenario is wrapped by every *ScenarioError (errors.Is).
var ErrScenario = errors.New("termsim: invalid scenario")

// Is makes errors.Is(err, ErrScenario) true.
func (e *ScenarioError) Is(target error) bool { return target == ErrScenario }

// LoadScenario reads and checks a scenario file.
func LoadScenario(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading scenario: %w", err)
	}
	return ParseScenario(path, data)
}

// ParseScenario decodes a scenario (YAML or JSON) strictly and checks it:
// unknown keys, values of the wrong type, steps referring to cards or steps
// not defined, unknown response codes, reasons, event types, entry modes
// and the like are all reported, each with its line, as a
// *ScenarioError. Card files named by the setup are read and checked too.
func ParseScenario(file string, data []byte) (*Scenario, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &ScenarioError{File: file, Errors: []posError{{Line: yamlErrLine(err), Msg: "not valid YAML/JSON: " + terminal.YAMLErrorText(err)}}}
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, &ScenarioError{File: file, Errors: []posError{{Msg: "empty scenario"}}}
	}
	d := &strictDecoder{}
	sc := &Scenario{File: file}
	d.decode(&root, reflect.ValueOf(sc).Elem())
	sc.check(d, root.Content[0]) // also after decoding mistakes: report them all at once
	sort.SliceStable(d.errs, func(i, j int) bool {
		a, b := d.errs[i], d.errs[j]
		return a.Line < b.Line || (a.Line == b.Line && a.Column < b.Column)
	})
	if len(d.errs) > 0 {
		return nil, &ScenarioError{File: file, Errors: d.errs}
	}
	if sc.Name == "" {
		sc.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	return sc, nil
}

// yamlErrLine finds the line number in a yaml.v3 syntax error ("yaml: line
// 3: ..."), or 0.
func yamlErrLine(err error) int {
	var n int
	if _, e := fmt.Sscanf(err.Error(), "yaml: line %d:", &n); e == nil {
		return n
	}
	return 0
}

// validMerchant reports whether m may be field 42: up to 15 letters,
// digits or spaces ("" for the terminal's), and # for a digit of the
// replay's own (Runner.Merchant).
func validMerchant(m string) bool {
	return len(m) <= 15 && iso.Alphanumeric(strings.NewReplacer(" ", "", "#", "").Replace(m))
}

// at returns a node standing for a position (for errors about decoded
// values).
func at(line, column int) *yaml.Node { return &yaml.Node{Line: line, Column: column} }

// check validates the decoded scenario (references, enumerations).
func (sc *Scenario) check(d *strictDecoder, root *yaml.Node) {
	if len(sc.Steps) == 0 {
		d.errorf(root, "a scenario needs at least one step")
	}
	for _, c := range sc.Setup.Cards {
		sc.checkCard(d, c)
	}
	if !validMerchant(sc.Setup.Merchant) {
		d.errorf(at(sc.Setup.Line, sc.Setup.Column), "setup.merchant (field 42) must be up to 15 letters, digits, spaces or #")
	}
	ids := map[string]*Step{}
	for i := range sc.Steps {
		s := &sc.Steps[i]
		sc.checkStep(d, s, ids)
		if s.ID != "" {
			if _, dup := ids[s.ID]; dup {
				d.errorf(at(s.Line, s.Column), "step id %q used twice", s.ID)
			}
			ids[s.ID] = s
		}
	}
}

func (sc *Scenario) checkCard(d *strictDecoder, c *SetupCard) {
	n := at(c.Line, c.Column)
	rest := c.Network != "" || c.CVN != 0 || c.Product != "" || c.Currency != "" || c.CardLimit != nil || c.SpendingControls != nil ||
		c.RiskControls != nil || c.UsageType != "" || c.AutoCancelTrigger != "" || c.ExpiryAt != "" || c.PIN != "" || c.Status != "" || c.BlockReason != "" ||
		c.CVV2Policy != "" || c.CVV2MaxTries != 0 || c.Funding != "" || c.Recharge != nil
	switch {
	case c.File != "" && c.Card != nil:
		d.errorf(n, "card %q: give file or card, not both", c.Name)
	case c.Local() && rest:
		d.errorf(n, "card %q: a card from a card file is not created through the API: no network, cvn, product, controls, pin or status", c.Name)
	case c.File != "":
		path := c.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(sc.File), path)
		}
		if _, err := terminal.LoadCard(path); err != nil {
			d.errorf(n, "card %q: %v", c.Name, err)
		}
	case c.Card != nil:
		if _, err := terminal.NewCard(c.Card.Spec()); err != nil {
			d.errorf(n, "card %q: %v", c.Name, err)
		}
	}
	if c.Local() {
		return
	}
	if c.Product != "" && (c.Network != "" || c.CVN != 0) {
		d.errorf(n, "card %q: give product, or network and cvn, not both", c.Name)
	}
	if c.Network != "" || c.CVN != 0 {
		net, cvn := c.Network, c.CVN
		if net == "" {
			net = "VISA"
		}
		if cvn == 0 {
			cvn = 18
		}
		nw, err := emv.ParseNetwork(net)
		if err != nil {
			d.errorf(n, "card %q: network %q is not one of %s", c.Name, c.Network, emv.NetworkList())
		} else if _, err := nw.CVN(cvn); err != nil {
			d.errorf(n, "card %q: %s has no CVN %d (%s)", c.Name, nw, cvn, emv.CVNList())
		}
	}
	for _, s := range c.SpendingControls {
		if !slices.Contains([]string{"PER_TRANSACTION", "DAILY", "WEEKLY", "MONTHLY", "YEARLY", "ALL_TIME"}, s.Interval) {
			d.errorf(n, "card %q: spending control interval %q is not PER_TRANSACTION, DAILY, WEEKLY, MONTHLY, YEARLY or ALL_TIME", c.Name, s.Interval)
		}
	}
	if !slices.Contains([]string{"", "NORMAL", "ONE_TIME"}, c.UsageType) {
		d.errorf(n, "card %q: usage_type %q is not NORMAL or ONE_TIME", c.Name, c.UsageType)
	}
	if !slices.Contains([]string{"", "ON_AUTH", "ON_CAPTURE"}, c.AutoCancelTrigger) {
		d.errorf(n, "card %q: auto_cancel_trigger %q is not ON_AUTH or ON_CAPTURE", c.Name, c.AutoCancelTrigger)
	}
	if c.ExpiryAt != "" {
		if _, err := expiryAt(c.ExpiryAt, time.Now()); err != nil {
			d.errorf(n, "card %q: expiry_at %q is neither an RFC 3339 time nor a duration", c.Name, c.ExpiryAt)
		}
	}
	if c.PIN != "" && (len(c.PIN) < 4 || len(c.PIN) > 12 || !digit.N(c.PIN, len(c.PIN))) {
		d.errorf(n, "card %q: pin must be 4 to 12 digits", c.Name)
	}
	if !slices.Contains([]string{"", "REQUIRED", "IF_PRESENT"}, c.CVV2Policy) || c.CVV2MaxTries < 0 || c.CVV2MaxTries > 99 {
		d.errorf(n, "card %q: cvv2_policy is REQUIRED or IF_PRESENT, cvv2_max_tries 1 to 99", c.Name)
	}
	if c.Product != "" && (c.CVV2Policy != "" || c.CVV2MaxTries != 0) {
		d.errorf(n, "card %q: a product has its CVV2 rules: give product, or cvv2_policy and cvv2_max_tries, not both", c.Name)
	}
	if !slices.Contains([]string{"", "SHARED", "PREPAID"}, c.Funding) {
		d.errorf(n, "card %q: funding %q is not SHARED or PREPAID", c.Name, c.Funding)
	}
	if c.Recharge != nil && (c.Funding != "PREPAID" || *c.Recharge <= 0 || *c.Recharge > iso.MaxAmount) {
		d.errorf(n, "card %q: recharge is a positive amount a PREPAID card starts with", c.Name)
	}
	if c.Funding != "" && c.Product != "" {
		d.errorf(n, "card %q: give product, or funding (a product of that mode is made), not both", c.Name)
	}
	switch c.Status {
	case "", "ACTIVE", "FROZEN", "CANCELED", "PROVISIONED":
		if c.BlockReason != "" {
			d.errorf(n, "card %q: block_reason needs status BLOCKED", c.Name)
		}
	case "BLOCKED":
		if !slices.Contains([]string{"lost", "stolen", "fraud", "other"}, c.BlockReason) {
			d.errorf(n, "card %q: a BLOCKED card needs block_reason lost, stolen, fraud or other", c.Name)
		}
	default:
		d.errorf(n, "card %q: status %q is not PROVISIONED, ACTIVE, FROZEN, BLOCKED or CANCELED", c.Name, c.Status)
	}
}

// expiryAt reads expiry_at: an RFC 3339 time, or a duration from now.
func expiryAt(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d), nil
	}
	return time.Parse(time.RFC3339, s)
}

// stepKind returns the step's action name and the number of actions given.
func (s *Step) kind() (string, int) {
	name, n := "", 0
	for k, set := range map[string]bool{
		"auth": s.Auth != nil, "advice": s.Advice != nil, "capture": s.Capture != nil, "reversal": s.Reversal != nil,
		"retransmit": s.Retransmit != nil, "echo": s.Echo != nil, "wait": s.Wait != 0, "card": s.Card != nil,
		"decider":  s.Decider != nil,
		"clearing": s.Clearing != nil, "expire": s.Expire != nil,
	} {
		if set {
			name, n = k, n+1
		}
	}
	return name, n
}

// isISO reports whether the step sends a card message (not echo, wait or
// card).
func isISO(kind string) bool {
	return kind == "auth" || kind == "advice" || kind == "capture" || kind == "reversal" || kind == "retransmit"
}

func (sc *Scenario) checkStep(d *strictDecoder, s *Step, earlier map[string]*Step) {
	n := at(s.Line, s.Column)
	kind, count := s.kind()
	if count != 1 {
		d.errorf(n, "a step needs exactly one of auth, advice, capture, reversal, retransmit, echo, wait, card, decider, clearing, expire (found %d)", count)
		return
	}
	cardRef := func(name string, line, col int) *SetupCard {
		c := sc.Setup.Cards.Find(name)
		if name == "" {
			d.errorf(at(line, col), "%s: card is required", kind)
		} else if c == nil {
			d.errorf(at(line, col), "%s: card %q is not defined in setup.cards", kind, name)
		}
		return c
	}
	stepRef := func(id string, line, col int, kinds ...string) *Step {
		if id == "" {
			d.errorf(at(line, col), "%s: of (the id of an earlier step) is required", kind)
			return nil
		}
		e, ok := earlier[id]
		if !ok {
			d.errorf(at(line, col), "%s: of %q names no earlier step", kind, id)
			return nil
		}
		ek, _ := e.kind()
		if !slices.Contains(kinds, ek) {
			d.errorf(at(line, col), "%s: of %q is a %s step, want %s", kind, id, ek, strings.Join(kinds, " or "))
			return nil
		}
		return e
	}
	var card *SetupCard
	switch kind {
	case "auth", "advice":
		a := s.Auth
		if a == nil {
			a = s.Advice
		}
		card = cardRef(a.Card, a.Line, a.Column)
		sc.checkAuth(d, kind, a, card)
		if a.Of != "" {
			if kind != "advice" {
				d.errorf(at(a.Line, a.Column), "auth: of is for an advice (the request whose transaction it reports)")
			} else if e := stepRef(a.Of, a.Line, a.Column, "auth"); e != nil && card != nil && sc.stepCard(e) != card {
				d.errorf(at(a.Line, a.Column), "advice: of %q is a request of another card", a.Of)
			}
		}
	case "capture":
		c := s.Capture
		switch {
		case c.Of != "" && c.Card != "":
			d.errorf(at(c.Line, c.Column), "capture: give of (an earlier authorization) or card (a capture without one), not both")
		case c.Card != "":
			card = cardRef(c.Card, c.Line, c.Column)
		default:
			if e := stepRef(c.Of, c.Line, c.Column, "auth", "advice"); e != nil {
				card = sc.stepCard(e)
			}
		}
		if c.Amount != nil && (*c.Amount < 0 || *c.Amount > iso.MaxAmount) {
			d.errorf(at(c.Line, c.Column), "capture: amount out of range")
		}
	case "reversal":
		r := s.Reversal
		switch {
		case r.Of != "" && r.Card != "":
			d.errorf(at(r.Line, r.Column), "reversal: give of (an earlier request) or card (an unknown original), not both")
		case r.Card != "":
			card = cardRef(r.Card, r.Line, r.Column)
		default:
			if e := stepRef(r.Of, r.Line, r.Column, "auth", "advice", "capture"); e != nil {
				card = sc.stepCard(e)
			}
			if r.Amount != nil {
				d.errorf(at(r.Line, r.Column), "reversal: amount is for a reversal of an unknown original (card); a reversal of a step carries its amount")
			}
		}
		if r.Keep != nil && *r.Keep < 0 {
			d.errorf(at(r.Line, r.Column), "reversal: keep must not be negative")
		}
	case "retransmit":
		r := s.Retransmit
		if e := stepRef(r.Of, r.Line, r.Column, "auth", "advice", "capture", "reversal", "retransmit"); e != nil {
			card = sc.stepCard(e)
		}
	case "card":
		c := s.Card
		card = cardRef(c.Card, c.Line, c.Column)
		if card != nil && card.Local() {
			d.errorf(at(c.Line, c.Column), "card: %q comes from a card file; only cards created through the API can change status", c.Card)
		}
		if !slices.Contains([]string{"freeze", "unfreeze", "block", "cancel", "reset_cvv2_tries"}, c.Action) {
			d.errorf(at(c.Line, c.Column), "card: action %q is not freeze, unfreeze, block, cancel or reset_cvv2_tries", c.Action)
		}
		if c.Action == "block" && !slices.Contains([]string{"lost", "stolen", "fraud", "other"}, c.Reason) {
			d.errorf(at(c.Line, c.Column), "card: block needs reason lost, stolen, fraud or other")
		}
	case "wait":
		if s.Wait < 0 || s.Wait > 5*time.Minute {
			d.errorf(n, "wait: must be between 0 and 5m")
		}
	case "decider":
		c := s.Decider
		switch {
		case c.TimeoutMS != 0 && (c.TimeoutMS < 100 || c.TimeoutMS > 3000):
			d.errorf(at(c.Line, c.Column), "decider: timeout_ms must be between 100 and 3000")
		case !slices.Contains([]string{"", "APPROVE", "DECLINE"}, c.DefaultAction):
			d.errorf(at(c.Line, c.Column), "decider: default_action must be APPROVE or DECLINE")
		case c.DeclineAbove < 0 || c.Partial < 0 || c.Sleep < 0 || c.Sleep > time.Minute:
			d.errorf(at(c.Line, c.Column), "decider: decline_above and partial must be positive, sleep between 0 and 1m")
		}
	case "clearing":
		c := s.Clearing
		if e := stepRef(c.Of, c.Line, c.Column, "auth", "advice"); e != nil {
			card = sc.stepCard(e)
		}
		if c.Amount != nil && (*c.Amount <= 0 || *c.Amount > iso.MaxAmount) {
			d.errorf(at(c.Line, c.Column), "clearing: amount out of range")
		}
		if !slices.Contains([]string{"", "purchase", "refund"}, c.Type) {
			d.errorf(at(c.Line, c.Column), "clearing: type %q is not purchase or refund", c.Type)
		}
	case "expire":
		if e := stepRef(s.Expire.Of, s.Expire.Line, s.Expire.Column, "auth", "advice"); e != nil {
			card = sc.stepCard(e)
		}
	}
	if (kind == "clearing" || kind == "expire") && card != nil && card.Local() {
		d.errorf(n, "%s: card %q comes from a card file; the simulator clears and expires cards created through the API", kind, card.Name)
	}
	sc.checkExpect(d, s, kind, card, earlier)
}

// stepCard returns the setup card an earlier step used.
func (sc *Scenario) stepCard(s *Step) *SetupCard {
	switch {
	case s.Auth != nil:
		return sc.Setup.Cards.Find(s.Auth.Card)
	case s.Advice != nil:
		return sc.Setup.Cards.Find(s.Advice.Card)
	case s.Capture != nil && s.Capture.Card != "":
		return sc.Setup.Cards.Find(s.Capture.Card)
	case s.Reversal != nil && s.Reversal.Card != "":
		return sc.Setup.Cards.Find(s.Reversal.Card)
	}
	for i := range sc.Steps {
		o := &sc.Steps[i]
		if o.ID == "" {
			continue
		}
		switch {
		case s.Capture != nil && o.ID == s.Capture.Of,
			s.Reversal != nil && o.ID == s.Reversal.Of,
			s.Retransmit != nil && o.ID == s.Retransmit.Of,
			s.Clearing != nil && o.ID == s.Clearing.Of,
			s.Expire != nil && o.ID == s.Expire.Of:
			return sc.stepCard(o)
		}
	}
	return nil
}

func (sc *Scenario) checkAuth(d *strictDecoder, kind string, a *AuthStep, card *SetupCard) {
	n := at(a.Line, a.Column)
	if _, err := terminal.ParseTxnType(a.Type); err != nil {
		d.errorf(n, "%s: type %q is not purchase, cash, refund or balance", kind, a.Type)
	}
	if a.ProcessingCode != "" && (a.Type != "" || !digit.N(a.ProcessingCode, 6)) {
		d.errorf(n, "%s: processing_code is 6 digits, given instead of type", kind)
	}
	if a.Acquirer != "" && (len(a.Acquirer) > 11 || !digit.N(a.Acquirer, len(a.Acquirer))) {
		d.errorf(n, "%s: acquirer must be 1 to 11 digits", kind)
	}
	if a.Entry != "" {
		if _, err := terminal.ParseEntryMode(a.Entry); err != nil {
			d.errorf(n, "%s: entry %q is not chip, contactless, magstripe, fallback, manual or ecommerce", kind, a.Entry)
		}
	}
	if a.Amount != nil && (*a.Amount < 0 || *a.Amount > iso.MaxAmount) {
		d.errorf(n, "%s: amount out of range", kind)
	}
	for _, f := range []struct{ name, v string }{{"currency", a.Currency}, {"country", a.Country}} {
		if f.v != "" && !digit.N(f.v, 3) {
			d.errorf(n, "%s: %s must be 3 digits (ISO numeric code)", kind, f.name)
		}
	}
	if a.MCC != "" && !digit.N(a.MCC, 4) {
		d.errorf(n, "%s: mcc must be 4 digits", kind)
	}
	if a.Expiry != "" && a.Expiry != "none" && !digit.N(a.Expiry, 4) {
		d.errorf(n, "%s: expiry must be YYMM or none", kind)
	}
	if !validMerchant(a.Merchant) {
		d.errorf(n, "%s: merchant (field 42) must be up to 15 letters, digits, spaces or #", kind)
	}
	if !slices.Contains([]string{"", "right", "wrong"}, a.PIN) && (len(a.PIN) < 4 || len(a.PIN) > 12 || !digit.N(a.PIN, len(a.PIN))) {
		d.errorf(n, "%s: pin must be right, wrong or 4 to 12 digits", kind)
	}
	if !slices.Contains([]string{"", "right", "wrong", "none"}, a.CVV2) && !digit.N(a.CVV2, 3) {
		d.errorf(n, "%s: cvv2 must be right, wrong, none or 3 digits", kind)
	}
	if a.MTI != "" && !slices.Contains([]string{"0100", "0200", "0101", "0201"}, a.MTI) {
		d.errorf(n, "%s: mti must be 0100 or 0200 (or their repeats)", kind)
	}
	if kind == "advice" && a.MTI != "" {
		d.errorf(n, "advice: the MTI of an advice is 0120")
	}
	if a.Code != "" && (kind != "advice" || !iso.ResponseCode(a.Code).Known()) {
		d.errorf(n, "%s: code is the stand-in decision of an advice, a response code of DESIGN.md", kind)
	}
	if a.CVN != 0 && a.CVN != -1 {
		if !slices.ContainsFunc(emv.CVNs(), func(c emv.CVN) bool { return c.Number == a.CVN }) {
			d.errorf(n, "%s: cvn %d is not a CVN of the registry (%s)", kind, a.CVN, emv.CVNList())
		}
	}
	if a.Field22 != "" && !digit.N(a.Field22, 3) {
		d.errorf(n, "%s: field22 must be 3 digits", kind)
	}
	if _, err := terminal.ParseMACMode(a.MAC); err != nil || a.MAC != strings.ToLower(a.MAC) {
		d.errorf(n, "%s: mac must be right, wrong or none", kind)
	}
	if a.PINFormat != nil && (a.PIN == "" || !slices.Contains([]int{0, 1, 3}, *a.PINFormat)) {
		d.errorf(n, "%s: pin_format must be 0, 1 or 3, with a pin", kind)
	}
	if !slices.Contains([]string{"", "aac", "tc"}, a.Cryptogram) {
		d.errorf(n, "%s: cryptogram must be aac or tc", kind)
	}
	if a.ChipAmount != nil && *a.ChipAmount <= 0 {
		d.errorf(n, "%s: chip_amount must be positive", kind)
	}
	if a.ChipCurrency != "" && !digit.N(a.ChipCurrency, 3) {
		d.errorf(n, "%s: chip_currency must be 3 digits (ISO numeric code)", kind)
	}
	entry, _ := terminal.ParseEntryMode(a.Entry)
	chipOnly := a.TamperARQC || a.CVN != 0 || a.ReplayATC || a.BadField55 || a.Cryptogram != "" || a.RelabelARQC || a.ChipAmount != nil || a.ChipCurrency != ""
	if chipOnly && a.Entry != "" && !entry.IsChip() {
		d.errorf(n, "%s: tamper_arqc, cvn, replay_atc, bad_field55, cryptogram, relabel_arqc, chip_amount and chip_currency need a chip or contactless entry", kind)
	}
	if card != nil && card.Local() && card.File == "" && card.Card != nil {
		if c, err := terminal.NewCard(card.Card.Spec()); err == nil && chipOnly && !c.HasChip() {
			d.errorf(n, "%s: card %q has no chip", kind, card.Name)
		}
	}
}

func (sc *Scenario) checkExpect(d *strictDecoder, s *Step, kind string, card *SetupCard, earlier map[string]*Step) {
	e := s.Expect
	n := at(e.Line, e.Column)
	if e.Line == 0 {
		n = at(s.Line, s.Column)
	}
	if e.Code != "" && !iso.ResponseCode(e.Code).Known() {
		d.errorf(n, "expect: code %q is not a response code of DESIGN.md's table", e.Code)
	}
	if e.Reason != "" {
		code, ok := Reasons[e.Reason]
		switch {
		case !ok:
			d.errorf(n, "expect: reason %q is not a reason of DESIGN.md's table", e.Reason)
		case e.Code != "" && code != "" && code != iso.ResponseCode(e.Code) && kind == "auth":
			d.errorf(n, "expect: reason %s answers %s, not %s", e.Reason, code, e.Code)
		}
	}
	if !slices.Contains([]string{"", "present", "absent"}, e.ApprovalCode) {
		d.errorf(n, "expect: approval_code must be present or absent")
	}
	if !slices.Contains([]string{"", "valid", "absent", "any"}, e.ARPC) {
		d.errorf(n, "expect: arpc must be valid, absent or any")
	}
	if !slices.Contains([]string{"", "valid", "absent"}, e.MAC) {
		d.errorf(n, "expect: mac must be valid or absent")
	}
	for _, t := range e.Events {
		if !slices.Contains(EventTypes, t) {
			d.errorf(n, "expect: event type %q is not in DESIGN.md's list", t)
		}
	}
	if e.SameAs != "" {
		if _, ok := earlier[e.SameAs]; !ok {
			d.errorf(n, "expect: same_as %q names no earlier step", e.SameAs)
		}
	}
	if e.Status != "" && !slices.Contains([]string{"PROVISIONED", "ACTIVE", "FROZEN", "BLOCKED", "CANCELED", "EXPIRED"}, e.Status) {
		d.errorf(n, "expect: status %q is not a card status", e.Status)
	}
	switch {
	case kind == "wait" && !e.empty():
		d.errorf(n, "expect: a wait step checks nothing")
	case kind == "echo" && !(Expect{Code: e.Code}).sameAs(e):
		d.errorf(n, "expect: an echo checks only its code")
	case kind == "card" && !(Expect{Status: e.Status, Events: e.Events}).sameAs(e):
		d.errorf(n, "expect: a card step checks only status and events")
	case (kind == "clearing" || kind == "expire") && !(Expect{Status: e.Status, Events: e.Events, Available: e.Available}).sameAs(e):
		d.errorf(n, "expect: a %s step checks only status, events and available", kind)
	case isISO(kind) && e.Code == "":
		d.errorf(n, "expect: code is required for an ISO 8583 step")
	case kind == "retransmit" && e.Reason != "":
		d.errorf(n, "expect: a retransmission is not stored anew, so it has no reason to read back (expect its code, or same_as)")
	}
	if e.Available != nil && card != nil && card.Funding == "" {
		d.errorf(n, "expect: available is a funded card's balance; card %q has no funding", card.Name)
	}
	if card != nil && card.Local() && (e.Reason != "" || len(e.Events) > 0 || e.Status != "") {
		d.errorf(n, "expect: reason, events and status are read back for cards created through the API; card %q comes from a card file", card.Name)
	}
}

// sameAs reports whether e and o expect the same (positions aside).
func (e Expect) sameAs(o Expect) bool {
	e.Line, e.Column, o.Line, o.Column = 0, 0, 0, 0
	return e.Code == o.Code && e.Reason == o.Reason && e.ApprovalCode == o.ApprovalCode && e.ARPC == o.ARPC && e.MAC == o.MAC &&
		(e.Amount == nil) == (o.Amount == nil) && (e.Balance == nil) == (o.Balance == nil) &&
		strings.Join(e.Events, ",") == strings.Join(o.Events, ",") && e.SameAs == o.SameAs && e.Status == o.Status &&
		(e.Available == nil) == (o.Available == nil)
}

// empty reports whether nothing is expected.
func (e Expect) empty() bool {
	return e.Code == "" && e.Reason == "" && e.ApprovalCode == "" && e.ARPC == "" && e.MAC == "" && e.Amount == nil && e.Balance == nil &&
		len(e.Events) == 0 && e.SameAs == "" && e.Status == "" && e.Available == nil
}
