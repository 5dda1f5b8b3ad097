package host

import (
	"context"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/cardhost/cardhost/host/merchantguard"
	"github.com/cardhost/cardhost/kafka"
)

// DecisionHook observes every decision the engine answers (not the
// stored answers of retransmissions), by reason: a counter per reason
// slug. A StepHook given to New that also implements it gets them.
// Decided must be cheap and safe for concurrent use.
type DecisionHook interface {
	Decided(reason Reason)
}

// EventAppender is what a Ledger also implements to publish events that
// no decision's commit carries (merchant.blocked), written to the outbox
// in a transaction of their own. host/postgres implements it; without it
// those events are only logged.
type EventAppender interface {
	AppendEvents(ctx context.Context, events []kafka.Event) error
}

// declineLog is how a decline is logged: its level and message.
type declineLog struct {
	level slog.Level
	msg   string
}

// declineLogs are the declines of issue 12 the engine logs, one line each,
// never with card data: the reason and code, the card's id (none when the
// PAN is unknown), the acquirer, merchant and terminal, the STAN, the entry
// mode, the amount and currency. The levels (docs/operations.md, "Logged
// declines"): WARN for what signals tampering or an acquirer's or
// terminal's misconfiguration; INFO for what a cardholder or a merchant
// gets wrong (a card-not-present field left out, a refund above what was
// spent); merchant_blocked, which a BIN attack answers by the thousand,
// only at DEBUG (the block itself is a WARN line, merchantBlocked). The MAC
// refusals are logged by the ISO server, which decides them.
var declineLogs = map[Reason]declineLog{
	ReasonExpiryMissing:     {slog.LevelInfo, msgCNPDeclined},
	ReasonCVV2Missing:       {slog.LevelInfo, msgCNPDeclined},
	ReasonCVV2TriesExceeded: {slog.LevelInfo, msgCNPDeclined},
	ReasonMerchantBlocked:   {slog.LevelDebug, msgCNPDeclined},

	ReasonEntryModeNotSupported:    {slog.LevelWarn, "request declined: entry mode not supported"},
	ReasonCryptogramTypeInvalid:    {slog.LevelWarn, "request declined: the cryptogram is not an ARQC"},
	ReasonCryptogramAmountMismatch: {slog.LevelWarn, "request declined: the cryptogram covers another amount or currency"},
	ReasonPINFormatNotAllowed:      {slog.LevelWarn, "request declined: PIN block format not allowed for the acquirer"},
	ReasonRefundExceedsSpent:       {slog.LevelInfo, "refund declined: more than the card spent"},
}

// msgCNPDeclined is the message of the card-not-present declines.
const msgCNPDeclined = "card-not-present request declined"

// appendTimeout bounds the write of a merchant.blocked event.
const appendTimeout = 10 * time.Second

// decided follows an answer: the reason counter, the log line of a
// decline in declineLogs, and the merchant guard's count of a
// card-not-present request (which may block the merchant).
func (e *Engine) decided(ctx context.Context, req *Request, resp *Response, n *decideNote) {
	if n.repeat {
		return
	}
	if h, ok := e.hook.(DecisionHook); ok {
		h.Decided(resp.Reason)
	}
	var tenant, cardID string
	if n.card != nil {
		tenant, cardID = n.card.TenantID, n.card.ID
	}
	if l, ok := declineLogs[resp.Reason]; ok && e.log.Enabled(ctx, l.level) { // no arguments built for a level that is off
		e.log.Log(ctx, l.level, l.msg, "reason", resp.Reason, "code", resp.Code, "card_id", cardID, "acquirer_id", req.AcquirerID,
			"merchant_id", req.Merchant, "terminal", req.Terminal, "stan", req.STAN, "entry_mode", req.EntryMode,
			"amount", req.Amount, "currency", req.Currency)
	}
	if !n.cnp || n.index == nil || resp.Reason == ReasonMerchantBlocked {
		return
	}
	h := fnv.New64a()
	h.Write(n.index)
	if trip := e.merchants.Record(req.AcquirerID, req.Merchant, h.Sum64(), tenant, cardID, failureReasons[resp.Reason], n.now); trip != nil {
		e.merchantBlocked(ctx, trip)
	}
}

// merchantBlocked reports a blocked merchant: a warning, and a
// merchant.blocked event to each issuer whose cards it hit, written off the
// request's path.
func (e *Engine) merchantBlocked(ctx context.Context, t *merchantguard.Trip) {
	e.log.WarnContext(ctx, "merchant blocked for card-not-present requests: verification failures on many cards", "acquirer_id", t.Acquirer,
		"merchant_id", t.Merchant, "failed_cards", t.FailedCards, "failed_requests", t.Failures, "requests", t.All, "blocked_until", t.Until)
	var events []kafka.Event
	for _, tenant := range slices.Sorted(maps.Keys(t.Cards)) {
		cards := t.Cards[tenant]
		slices.Sort(cards)
		d := kafka.MerchantData{Merchant: kafka.MerchantKey(t.Acquirer, t.Merchant), TenantID: tenant, AcquirerID: t.Acquirer, MerchantID: t.Merchant,
			CardIDs: cards, FailedCards: t.FailedCards, FailedRequests: t.Failures, Requests: t.All,
			WindowSeconds: int(e.merchants.Window() / time.Second), BlockedAt: t.At, BlockedUntil: t.Until}
		ev, err := kafka.NewEvent(kafka.TypeMerchantBlocked, d.Merchant, tenant, d, t.At)
		if err != nil {
			e.log.ErrorContext(ctx, "building merchant.blocked event", "tenant_id", tenant, "error", err)
			continue
		}
		events = append(events, ev)
	}
	a, ok := e.ledger.(EventAppender)
	if !ok || len(events) == 0 {
		return
	}
	go func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), appendTimeout)
		defer cancel()
		if err := a.AppendEvents(actx, events); err != nil {
			e.log.Error("writing merchant.blocked events", "acquirer_id", t.Acquirer, "merchant_id", t.Merchant, "error", err)
		}
	}()
}
