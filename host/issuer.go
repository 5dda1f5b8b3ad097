package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/whsig"
)

// Real-time authorization decisions (issue 14, points 4 and 5;
// docs/webhooks.md, "Authorization decisions"). A tenant that registered a
// decision endpoint is asked, for every 0100/0200 purchase or cash request
// that passed the host's own checks (the whole pipeline), whether to
// approve it. The call is made outside the card's lock and outside any
// database transaction: the engine's decision returns errAskIssuer, the
// engine lets go of the card, calls, takes the card again and decides once
// more with the answer remembered (issuerCall, like verified's HSM
// answers). Tenants without an endpoint pay one map look-up.

// DecidedBy says who made an authorization's decision.
type DecidedBy string

// Who decided (stored with every authorization and in its event):
//   - host: the host alone: every decision of a tenant without a decision
//     endpoint, every decline by the host's own checks, every message that
//     is not a 0100/0200 purchase or cash request, and the host's limits
//     when they changed between the call and the commit.
//   - issuer: the issuer's endpoint answered in time with a valid answer
//     (2xx, a JSON object with a boolean "approved").
//   - issuer_timeout: no answer within the endpoint's timeout_ms (or the
//     ISO decision deadline): default_action was applied.
//   - issuer_error: the call failed (refused connection, TLS, a redirect
//     or any non-2xx status, a body over the limit, an answer that is not
//     a valid decision): default_action was applied.
//   - stand_in: the host did not call at all and applied default_action:
//     the time left before the ISO decision deadline was too short for a
//     call.
const (
	DecidedByHost          DecidedBy = "host"
	DecidedByIssuer        DecidedBy = "issuer"
	DecidedByIssuerTimeout DecidedBy = "issuer_timeout"
	DecidedByIssuerError   DecidedBy = "issuer_error"
	DecidedByStandIn       DecidedBy = "stand_in"
)

// Reasons of the issuer's decisions.
const (
	// ReasonIssuerDeclined: the issuer's endpoint answered approved:false
	// (with no reason, "do_not_honor" or one the host does not know), or
	// approved a lower amount for a request that cannot be partially
	// approved.
	ReasonIssuerDeclined Reason = "issuer_declined"
	// ReasonIssuerInsufficientFunds: approved:false, reason
	// "insufficient_funds".
	ReasonIssuerInsufficientFunds Reason = "issuer_insufficient_funds"
	// ReasonIssuerSuspectedFraud: approved:false, reason "suspected_fraud".
	ReasonIssuerSuspectedFraud Reason = "issuer_suspected_fraud"
	// ReasonIssuerUnavailable: the issuer did not answer usably (timeout,
	// error, or no time to call) and its default_action is DECLINE.
	ReasonIssuerUnavailable Reason = "issuer_unavailable"
)

// issuerReasons maps the reason an issuer may give with approved:false to
// the host's reason; anything else is ReasonIssuerDeclined.
var issuerReasons = map[string]Reason{
	"insufficient_funds": ReasonIssuerInsufficientFunds,
	"suspected_fraud":    ReasonIssuerSuspectedFraud,
	"do_not_honor":       ReasonIssuerDeclined,
}

// DecisionEndpoint is a tenant's decision endpoint as the engine uses it.
type DecisionEndpoint struct {
	TenantID string
	URL      string
	// Timeout is how long the host waits for an answer (100 ms to 3 s).
	Timeout time.Duration
	// DefaultApprove: default_action APPROVE (else DECLINE).
	DefaultApprove bool
	// Secret signs the requests (Standard Webhooks).
	Secret whsig.Secret
}

// IssuerCaller POSTs a decision request and returns the answer's status
// and body (bounded; redirects not followed). It must return when ctx
// ends; an error's text must hold neither the URL nor a secret.
// issuance/webhook/sender implements it.
type IssuerCaller interface {
	Call(ctx context.Context, url string, header http.Header, body []byte) (status int, answer []byte, err error)
}

// DecisionsConfig configures real-time authorization decisions. Without
// Load and Caller no issuer is ever asked.
type DecisionsConfig struct {
	// Load reads every tenant's decision endpoint (secrets opened).
	Load func(ctx context.Context) ([]DecisionEndpoint, error)
	// Caller makes the HTTP calls.
	Caller IssuerCaller
	// TTL is how long the endpoints read are used before they are read
	// again, in the background. Default 5s.
	TTL time.Duration
	// Reserve is the time kept, before the request's deadline (the ISO
	// decision timeout), for the commit after the call. Default 500ms.
	Reserve time.Duration
}

// minIssuerCall is the shortest call worth making: with less time left
// before the deadline the default action is applied without a call.
const minIssuerCall = 50 * time.Millisecond

// lateGrace is how long a call may go on past its deadline so that a
// late answer is logged (and ignored) rather than cut off unseen.
const lateGrace = 2 * time.Second

// decisionBook is the engine's copy of the decision endpoints, by tenant,
// read whole and kept in memory: no request reads the database to learn
// whether its tenant has an endpoint. The first request loads it; later
// ones read it again in the background once it is older than TTL (one at
// a time), using the copy they have meanwhile.
type decisionBook struct {
	cfg DecisionsConfig
	now func() time.Time
	log interface {
		Warn(msg string, args ...any)
	}

	mu       sync.Mutex // held by the first, synchronous load
	loading  atomic.Bool
	cur      atomic.Pointer[decisionSnapshot]
	disabled bool
}

type decisionSnapshot struct {
	byTenant map[string]*DecisionEndpoint
	loaded   time.Time
}

func newDecisionBook(cfg DecisionsConfig, now func() time.Time, log interface{ Warn(string, ...any) }) *decisionBook {
	if cfg.TTL <= 0 {
		cfg.TTL = 5 * time.Second
	}
	if cfg.Reserve <= 0 {
		cfg.Reserve = 500 * time.Millisecond
	}
	return &decisionBook{cfg: cfg, now: now, log: log, disabled: cfg.Load == nil || cfg.Caller == nil}
}

// endpoint returns the tenant's decision endpoint, or nil.
func (b *decisionBook) endpoint(ctx context.Context, tenant string) *DecisionEndpoint {
	if b.disabled {
		return nil
	}
	s := b.cur.Load()
	if s == nil {
		s = b.loadFirst(ctx)
	} else if b.now().Sub(s.loaded) >= b.cfg.TTL && b.loading.CompareAndSwap(false, true) {
		go func() {
			defer b.loading.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			b.load(ctx)
		}()
	}
	if s == nil {
		return nil
	}
	return s.byTenant[tenant]
}

func (b *decisionBook) loadFirst(ctx context.Context) *decisionSnapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.cur.Load(); s != nil {
		return s
	}
	return b.load(ctx)
}

// load reads the endpoints.
func (b *decisionBook) load(ctx context.Context) *decisionSnapshot {
	eps, err := b.cfg.Load(ctx)
	if err != nil {
		b.log.Warn("reading decision endpoints (the previous copy stays in use)", "error", err)
		if s := b.cur.Load(); s != nil {
			return s
		}
		// Nothing yet: try again in a second, not on every request.
		s := &decisionSnapshot{byTenant: map[string]*DecisionEndpoint{}, loaded: b.now().Add(time.Second - b.cfg.TTL)}
		b.cur.Store(s)
		return s
	}
	s := &decisionSnapshot{byTenant: make(map[string]*DecisionEndpoint, len(eps)), loaded: b.now()}
	for i := range eps {
		s.byTenant[eps[i].TenantID] = &eps[i]
	}
	b.cur.Store(s)
	return s
}

// RefreshDecisionEndpoints reads the decision endpoints again at once, so
// that a change made through the API on this instance applies to the next
// request (other instances see it within DecisionsConfig.TTL).
func (e *Engine) RefreshDecisionEndpoints(ctx context.Context) {
	if !e.issuers.disabled {
		e.issuers.load(ctx)
	}
}

// errAskIssuer is what authorize returns when the request passed the
// host's checks and its issuer has not been asked yet: the engine lets go
// of the card and asks (never under a lock or in a transaction).
var errAskIssuer = errors.New("the issuer is to be asked")

// issuerCall is one request's question to its issuer and the answer,
// across the request's attempts (the issuer is asked once).
type issuerCall struct {
	ep *DecisionEndpoint
	// id is the authorization's id, chosen before the call so that the
	// issuer sees the id the record is stored under.
	id string
	// question is the request body, set by authorize before errAskIssuer.
	question []byte
	// deadline is when the call must end (timeout_at).
	deadline time.Time
	// asked: the answer below is final.
	asked   bool
	by      DecidedBy
	latency time.Duration
	answer  issuerAnswer
}

// issuerAnswer is the body an issuer answers with.
type issuerAnswer struct {
	Approved *bool  `json:"approved"`
	Amount   *int64 `json:"amount"`
	Reason   string `json:"reason"`
}

// IssuerRequest is the body of a decision request (docs/webhooks.md).
// Amounts are in minor units; card_amount and any partial amount answered
// are in the card's currency.
type IssuerRequest struct {
	Type              string    `json:"type"`
	ID                string    `json:"id"`
	CardID            string    `json:"card_id"`
	TenantID          string    `json:"tenant_id"`
	MTI               string    `json:"mti"`
	Kind              string    `json:"kind"`
	ProcessingCode    string    `json:"processing_code"`
	Amount            int64     `json:"amount"`
	Currency          string    `json:"currency"`
	BillingAmount     int64     `json:"billing_amount"`
	CardAmount        int64     `json:"card_amount"`
	CardCurrency      string    `json:"card_currency"`
	MerchantID        string    `json:"merchant_id"`
	MerchantName      string    `json:"merchant_name,omitempty"`
	MCC               string    `json:"mcc"`
	Country           string    `json:"country"`
	EntryMode         string    `json:"entry_mode"`
	AcquirerID        string    `json:"acquirer_id"`
	TerminalID        string    `json:"terminal_id"`
	Verification      []string  `json:"verification"`
	PartialApproval   bool      `json:"partial_approval"`
	HostPartialAmount *int64    `json:"host_partial_amount,omitempty"`
	TimeoutAt         time.Time `json:"timeout_at"`
}

// IssuerRequestType is the type field of a decision request.
const IssuerRequestType = "authorization.decision_request"

// wantsIssuer reports whether an approved request goes to its issuer:
// purchases and cash (refunds and balance inquiries spend nothing).
func wantsIssuer(req *Request) bool {
	tt := req.TxnType()
	return tt != TxnRefund && tt != TxnBalanceInquiry
}

// verificationResults lists what the host verified for the request.
func verificationResults(t *txn) []string {
	var out []string
	if t.arqc != nil {
		out = append(out, "arqc")
	}
	if t.req.CVV2 != "" {
		out = append(out, "cvv2")
	}
	if t.req.PINBlock != "" {
		out = append(out, "pin")
	}
	if t.req.Track2 != "" && t.arqc == nil {
		out = append(out, "cvv")
	}
	if t.ecommerce3DS {
		out = append(out, "3ds")
	}
	if t.req.Expiry != "" {
		out = append(out, "expiry")
	}
	return out
}

// prepare prepares the question of an approved request: the body the engine
// POSTs once it let go of the card.
func (c *issuerCall) prepare(t *txn, d Decision, deadline time.Time) error {
	r := IssuerRequest{Type: IssuerRequestType, ID: c.id, CardID: t.card.ID, TenantID: t.card.TenantID, MTI: t.req.MTI,
		Kind: t.req.Kind.String(), ProcessingCode: t.req.ProcessingCode, Amount: t.req.Amount, Currency: currencyAlpha(t.req.Currency),
		BillingAmount: t.req.BillingAmount, CardAmount: t.amount, CardCurrency: t.card.Currency, MerchantID: t.req.Merchant,
		MCC: t.req.MCC, EntryMode: t.req.EntryMode, AcquirerID: t.req.AcquirerID, TerminalID: t.req.Terminal,
		Verification: verificationResults(t), PartialApproval: t.req.PartialSupported, TimeoutAt: deadline}
	if r.Verification == nil {
		r.Verification = []string{}
	}
	if a, ok := issuance.CountryAlpha(t.req.Country); ok {
		r.Country = a
	}
	if len(t.req.Acceptor) >= 25 {
		r.MerchantName = strings.TrimSpace(t.req.Acceptor[:25])
	}
	if d.Reason == ReasonPartialApproval {
		v := t.approved
		r.HostPartialAmount = &v
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding decision request: %w", err)
	}
	c.question = b
	return nil
}

// callDeadline is when a call must end: the endpoint's timeout from now,
// or the request's deadline less the reserve for the commit.
func (b *decisionBook) callDeadline(ctx context.Context, ep *DecisionEndpoint, now time.Time) time.Time {
	end := now.Add(ep.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Add(-b.cfg.Reserve).Before(end) {
		end = d.Add(-b.cfg.Reserve)
	}
	return end
}

// call asks the issuer (outside any lock) and records who decided.
func (b *decisionBook) call(ctx context.Context, c *issuerCall, log logger) {
	deadline := c.deadline
	c.asked = true
	start := time.Now()
	if time.Until(deadline) < minIssuerCall {
		c.by = DecidedByStandIn
		log.WarnContext(ctx, "no time left to ask the issuer: default action applied", "authorization_id", c.id, "tenant_id", c.ep.TenantID)
		return
	}
	// The call itself may run lateGrace past the deadline, so that a late
	// answer is seen (logged and ignored); the decision waits only until
	// the deadline.
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	whsig.SetHeaders(h, c.id, b.now(), c.question, c.ep.Secret)
	type result struct {
		status int
		body   []byte
		err    error
	}
	done := make(chan result, 1)
	go func() {
		cctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline.Add(lateGrace))
		defer cancel()
		s, a, err := b.cfg.Caller.Call(cctx, c.ep.URL, h, c.question)
		done <- result{s, a, err}
	}()
	var r result
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	waiting := false // the call goes on past the deadline
	select {
	case r = <-done:
	case <-timer.C:
		waiting = true
	case <-ctx.Done():
		waiting = true
	}
	c.latency = time.Since(start)
	switch {
	case waiting:
		c.by = DecidedByIssuerTimeout
		log.WarnContext(ctx, "issuer decision timed out: default action applied", "authorization_id", c.id, "tenant_id", c.ep.TenantID,
			"latency_ms", c.latency.Milliseconds())
		go func() { // a late answer is logged and ignored
			late := <-done
			if late.err == nil {
				log.InfoContext(context.Background(), "late issuer decision ignored", "authorization_id", c.id, "tenant_id", c.ep.TenantID,
					"status", late.status, "latency_ms", time.Since(start).Milliseconds())
			}
		}()
		return
	case r.err != nil:
		c.by = DecidedByIssuerError
		log.WarnContext(ctx, "issuer decision failed: default action applied", "authorization_id", c.id, "tenant_id", c.ep.TenantID, "error", r.err)
		return
	case r.status < 200 || r.status > 299:
		c.by = DecidedByIssuerError
		log.WarnContext(ctx, "issuer decision answered a non-2xx status: default action applied", "authorization_id", c.id,
			"tenant_id", c.ep.TenantID, "status", r.status)
		return
	}
	var a issuerAnswer
	if err := json.Unmarshal(r.body, &a); err != nil || a.Approved == nil || (a.Amount != nil && *a.Amount <= 0) {
		c.by = DecidedByIssuerError
		log.WarnContext(ctx, "issuer decision unreadable: default action applied", "authorization_id", c.id, "tenant_id", c.ep.TenantID)
		return
	}
	c.by, c.answer = DecidedByIssuer, a
}

// logger is the part of slog.Logger the issuer call uses.
type logger interface {
	WarnContext(ctx context.Context, msg string, args ...any)
	InfoContext(ctx context.Context, msg string, args ...any)
}

// apply turns the issuer's answer (or the default action) into the final
// decision of a request the host approved with d, changing t's approval
// (a lower amount, or none).
func (c *issuerCall) apply(t *txn, d Decision) Decision {
	if c.by != DecidedByIssuer {
		if c.ep.DefaultApprove {
			return d
		}
		t.undoApproval()
		return Decline(ReasonIssuerUnavailable)
	}
	a := c.answer
	if !*a.Approved {
		t.undoApproval()
		if r, ok := issuerReasons[a.Reason]; ok {
			return Decline(r)
		}
		return Decline(ReasonIssuerDeclined)
	}
	if a.Amount == nil || *a.Amount >= t.approved {
		return d // the issuer cannot approve more than the host's checks allow
	}
	if !t.req.PartialSupported {
		t.undoApproval()
		return Decline(ReasonIssuerDeclined)
	}
	t.shrinkApproval(*a.Amount)
	return Decision{Code: ReasonPartialApproval.Code(), Reason: ReasonPartialApproval}
}

// undoApproval takes the spend the pipeline added back out of the card's
// next state (what the checks changed otherwise stays: the ATC, the PIN
// and CVV2 tries).
func (t *txn) undoApproval() {
	releaseSpend(&t.next, t.applied, t.approved, true)
	t.approved, t.applied = 0, nil
}

// shrinkApproval lowers the approved amount to n (0 < n < t.approved).
func (t *txn) shrinkApproval(n int64) {
	delta := t.approved - n
	releaseSpend(&t.next, t.applied, delta, false)
	for i := range t.applied {
		t.applied[i].Amount = n
	}
	t.approved = n
}
