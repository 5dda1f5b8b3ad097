package host

import (
	"context"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance"
)

// step is one stage of the decision pipeline. It returns a Decision to stop
// the pipeline (a decline, or an approval at the end), the zero Decision to
// go on, or an error when it could not decide (answered 96).
type step struct {
	name string
	run  func(ctx context.Context, t *txn) (Decision, error)
}

// authorizationPipeline is DESIGN.md's decision order for requests that
// can spend (0100, 0200, 0120 is recorded without it): the first decline
// wins. TestPipelineOrder pins it.
var authorizationPipeline = []step{
	{"status", stepStatus},
	// card_not_present: for key-entered and e-commerce requests,
	// expiry_missing, then cvv2_tries_exceeded (before any check whose
	// answer would tell a guesser something: the expiry, the CVV2), then
	// cvv2_missing.
	{"card_not_present", stepCardNotPresent},
	{"expiry", stepExpiry},
	// card_verification: for chip, cryptogram_type_invalid and
	// cryptogram_amount_mismatch (chipBinding) come after cvn_mismatch and
	// before the ARQC is verified (arqc_invalid, then atc_replay).
	{"card_verification", stepCardVerification},
	{"pin", stepPIN},
	{"risk_controls", stepRiskControls},
	{"one_time", stepOneTime},
	{"spending", stepSpending},
}

// Format and card look-up come before the list above: format needs no
// card (stepFormat, which also refuses entry modes outside the allow-list
// of entrymode.go: entry_mode_not_supported, after the processing code and
// before the amount) and look-up is I/O done by the engine. Between them,
// a card-not-present request of a merchant the guard blocked (merchant.go)
// is declined merchant_blocked, whether or not its card exists, so a
// blocked merchant learns nothing more about any card.

// txn is one decision in progress: the request, the card snapshot, the
// clock and what the steps found out along the way.
type txn struct {
	req  *Request
	card *Card
	now  time.Time
	v    Verifier
	// acquirer returns the acquirer with a field 32 (ErrNotFound).
	acquirer func(ctx context.Context, id string) (Acquirer, error)

	// amount is the request amount in the card's currency.
	amount int64
	// channels the transaction uses (from entry mode, ECI and MCC).
	channels     []issuance.Channel
	ecommerce3DS bool

	// Chip: set once the ARQC verified.
	arqc        *emv.ARQCCheck
	arqcVersion int

	// next is the card's state after this decision; dirty when it differs.
	next  State
	dirty bool

	// approved is the amount approved (less than amount on a partial
	// approval); applied lists the counters it was added to.
	approved int64
	applied  []Applied
	// cancel: a one-time card is cancelled by this approval.
	cancel bool
	// fundsBelow, when > 0: the funding account's balance decided (a 51 or
	// a partial approval); the decision holds while the balance is below it.
	fundsBelow int64
}

func newTxn(req *Request, card *Card, now time.Time, v Verifier, acquirer func(context.Context, string) (Acquirer, error)) *txn {
	t := &txn{req: req, card: card, now: now, v: v, acquirer: acquirer}
	if card != nil {
		t.next = card.State.Clone()
		t.amount = cardAmount(req, &card.Card)
	}
	t.channels, t.ecommerce3DS = channelsOf(req, card)
	return t
}

// runPipeline runs steps until one decides.
func runPipeline(ctx context.Context, t *txn, steps []step, hook StepHook) (Decision, error) {
	var start time.Time
	if hook != nil {
		start = time.Now()
	}
	for _, s := range steps {
		d, err := s.run(ctx, t)
		if hook != nil { // one clock read per step: a step ends where the next starts
			end := time.Now()
			hook.StepDone(s.name, end.Sub(start))
			start = end
		}
		if err != nil || d.Decided() {
			return d, err
		}
	}
	return Decision{}, nil
}

// StepHook observes pipeline steps (latency metrics per step). Adapters
// implement it; StepDone must be cheap and safe for concurrent use.
type StepHook interface {
	StepDone(step string, d time.Duration)
}

// cardAmount converts the request amount to the card's currency: field 4
// when field 49 is the card's currency, else field 6 (the billing amount,
// which the network converted), else 0 (declined as invalid).
func cardAmount(req *Request, c *issuance.Card) int64 {
	if n, ok := issuance.CurrencyNumeric(c.Currency); ok && n == req.Currency {
		return req.Amount
	}
	if req.BillingAmount > 0 {
		return req.BillingAmount
	}
	return 0
}
