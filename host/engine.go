package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/cardhost/cardhost/emv/tlv"
	"github.com/cardhost/cardhost/host/merchantguard"
	"github.com/cardhost/cardhost/iso/digit"
	"github.com/cardhost/cardhost/issuance"
)

// Config configures an Engine. The zero value of every field but
// PANIndexRef means its default.
type Config struct {
	// PANIndexRef is the HSM key (PAN-IDX) of the keyed PAN index the cards
	// are looked up by. Required.
	PANIndexRef string
	// OptimisticAttempts is how often a request is decided on a snapshot
	// and committed with a version check before it is decided under the
	// card's lock in the ledger (Ledger.CommitLocked). Requests for one card
	// in one instance already wait for each other; a commit finds the card
	// changed only when another instance (or the API) changed it. Default 3.
	OptimisticAttempts int
	// MaxAttempts bounds how often one request is decided again in all
	// (a locked decision can still find a capture's or reversal's original
	// changed). Default 16; then the request fails (96).
	MaxAttempts int
	// CacheSize is how many card snapshots are kept in memory for look-up
	// by PAN index. Snapshots are never trusted blindly: every commit checks
	// the card's version. Default 100,000; negative disables the cache.
	CacheSize int
	// CacheTTL bounds how long a snapshot is reused before it is read
	// again (it bounds memory of cards not used any more, not correctness).
	// Default 5 minutes.
	CacheTTL time.Duration
	// AcquirerTTL is how long the acquirers (keys, MAC and PIN block
	// settings) read from the ledger are used before they are read again;
	// an acquirer the engine does not know is looked for at most once a
	// second. Default 1 minute.
	AcquirerTTL time.Duration
	// HoldExpiry is how long a funded card's hold lives before it expires
	// and gives the money back (docs/ledger.md). Default 7 days.
	HoldExpiry time.Duration
	// HoldExpiryLong is the life of holds at lodging and vehicle rental
	// MCCs. Default 31 days.
	HoldExpiryLong time.Duration
	// Now is the clock. Default time.Now (used in UTC).
	Now func() time.Time
	// Merchants configures the guard against BIN attacks (merchant.go);
	// its window lives in this Engine's memory.
	Merchants MerchantGuardConfig
	// Decisions configures real-time authorization decisions by the
	// tenants' own endpoints (issuer.go); the zero value asks no one.
	Decisions DecisionsConfig
}

// Engine decides requests. It holds no state that decides an authorization
// (the card cache is validated by every commit), so several engines on
// several instances may share one ledger; the one exception is the
// merchant guard's window (merchant.go), which is per instance by design.
// Safe for concurrent use.
type Engine struct {
	cfg       Config
	ledger    Ledger
	v         Verifier
	log       *slog.Logger
	hook      StepHook
	cache     *cardCache
	acq       *acquirerBook
	merchants *merchantguard.Guard
	issuers   *decisionBook
	locks     [lockStripes]sync.Mutex
}

// lockStripes is the number of per-card locks: requests for one card are
// decided one after another in this process (so they do not keep
// invalidating each other's snapshots); requests for different cards run
// in parallel except for the rare stripe collision. Other instances are
// kept honest by the version check in the commit.
const lockStripes = 1024

func (e *Engine) lockCard(id string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(id))
	m := &e.locks[h.Sum32()%lockStripes]
	m.Lock()
	return m
}

// New returns an Engine. hook may be nil.
func New(cfg Config, ledger Ledger, v Verifier, logger *slog.Logger, hook StepHook) (*Engine, error) {
	if cfg.PANIndexRef == "" {
		return nil, errors.New("host: Config.PANIndexRef is required")
	}
	if ledger == nil || v == nil {
		return nil, errors.New("host: a Ledger and a Verifier are required")
	}
	if cfg.OptimisticAttempts <= 0 {
		cfg.OptimisticAttempts = 3
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 16
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 100_000
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 5 * time.Minute
	}
	if cfg.AcquirerTTL <= 0 {
		cfg.AcquirerTTL = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{cfg: cfg, ledger: ledger, v: v, log: logger.With("component", "host"), hook: hook,
		cache: newCardCache(cfg.CacheSize, cfg.CacheTTL), merchants: merchantguard.New(cfg.Merchants)}
	e.acq = newAcquirerBook(ledger.Acquirers, cfg.AcquirerTTL, e.now)
	e.issuers = newDecisionBook(cfg.Decisions, e.now, e.log)
	return e, nil
}

func (e *Engine) now() time.Time { return e.cfg.Now().UTC() }

// errPANMoved: the card decided on gave up its PAN index while the
// request was decided (a reissue that kept the PAN, issuance/reissue); the
// request is looked up again, once.
var errPANMoved = errors.New("the card's PAN moved to its reissue")

// Acquirer returns the acquirer whose field 32 is id, from memory (see
// Config.AcquirerTTL), or ErrNotFound. The ISO server reads its MAC
// settings with it; the PIN step its zone PIN key and PIN block formats.
func (e *Engine) Acquirer(ctx context.Context, id string) (Acquirer, error) {
	return e.acq.get(ctx, id)
}

// Decide answers one request. A business decline is a Response with a nil
// error; an error means the request could not be decided (96).
func (e *Engine) Decide(ctx context.Context, req *Request) (*Response, error) {
	n := &decideNote{now: e.now()}
	resp, err := e.decide(ctx, req, n)
	if errors.Is(err, errPANMoved) {
		// The cached card gave its PAN to its reissue: look it up again.
		n = &decideNote{now: n.now}
		resp, err = e.decide(ctx, req, n)
	}
	if err == nil {
		e.decided(ctx, req, resp, n)
	}
	return resp, err
}

// decideNote is what Decide learns about a request on the way, for what
// follows the answer (decided).
type decideNote struct {
	now time.Time
	// cnp: an 0100/0200 of a card-not-present entry mode past the format
	// step; the merchant guard counts it.
	cnp bool
	// index is the PAN's index under the newest PAN-index key (nil when
	// the PAN was not looked up); card the card found (nil: none).
	index []byte
	card  *Card
	// repeat: the answer is a retransmission's stored one (or 94).
	repeat bool
}

func (e *Engine) decide(ctx context.Context, req *Request, n *decideNote) (*Response, error) {
	now := n.now
	early := stepFormat(req)
	if req.Refused != "" {
		// The transport refused the message (its MAC): recorded, never
		// decided, whatever its kind.
		early = Decline(req.Refused)
	}
	if early.Decided() && !panLooksValid(req) {
		return e.decideWithoutCard(ctx, req, early, n)
	}
	n.cnp = !early.Decided() && (req.Kind == KindAuthorization || req.Kind == KindFinancial) && cardNotPresent(req.EntryMode)
	if n.cnp && e.merchants.Blocked(req.AcquirerID, req.Merchant, now) {
		early = Decline(ReasonMerchantBlocked) // known card or not: the same answer
	}
	idxs, err := e.v.IndexPANAll(ctx, e.cfg.PANIndexRef, req.PAN)
	if err == nil && len(idxs) == 0 {
		err = errors.New("no usable version of the PAN-index key")
	}
	if err != nil {
		return nil, fmt.Errorf("indexing PAN: %w", err)
	}
	n.index = idxs[0]
	start := time.Now()
	card, err := e.lookup(ctx, idxs)
	e.observe("card_lookup", start)
	if errors.Is(err, ErrNotFound) {
		if req.Refused != "" {
			return e.decideWithoutCard(ctx, req, early, n)
		}
		if req.Kind == KindReversal || req.Kind == KindReversalAdvice || req.Kind == KindAdvice || req.Kind == KindCapture {
			// Advices and reversals are acknowledged whatever happens.
			return e.decideWithoutCard(ctx, req, Decision{Code: ReasonApproved.Code(), Reason: ReasonCardNotFound}, n)
		}
		if early.Decided() {
			return e.decideWithoutCard(ctx, req, early, n)
		}
		return e.decideWithoutCard(ctx, req, Decline(ReasonCardNotFound), n)
	}
	if err != nil {
		return nil, err
	}
	n.card = card
	var (
		decide func(ctx context.Context, req *Request, card *Card, now time.Time) (*Commit, *Response, error)
		call   *issuerCall // the issuer's question, for a tenant with a decision endpoint
	)
	switch {
	case early.Decided():
		// A format decline of a request for a known card is stored and
		// published with the card, like every other decline.
		decide = func(_ context.Context, req *Request, card *Card, now time.Time) (*Commit, *Response, error) {
			return e.earlyDecline(req, card, early, now)
		}
	case req.Kind == KindAuthorization || req.Kind == KindFinancial:
		// The HSM's answers are the request's: every attempt reuses them.
		v := newVerified(e.v)
		if ep := e.issuers.endpoint(ctx, card.TenantID); ep != nil {
			call = &issuerCall{ep: ep, id: issuance.NewID(issuance.AuthorizationIDPrefix, now)}
		}
		decide = func(ctx context.Context, req *Request, card *Card, now time.Time) (*Commit, *Response, error) {
			return e.authorize(ctx, req, card, now, v, call)
		}
	case req.Kind == KindAdvice:
		decide = e.advice
	case req.Kind == KindCapture:
		decide = e.capture
	case req.Kind == KindReversal || req.Kind == KindReversalAdvice:
		decide = e.reverse
	default:
		return e.decideWithoutCard(ctx, req, Decline(ReasonInvalidTransaction), n)
	}
	mu := e.lockCard(card.ID)
	defer mu.Unlock()
	// askIssuer calls the issuer with the card let go (errAskIssuer) and
	// takes it again, fresher when another request committed meanwhile.
	askIssuer := func() {
		mu.Unlock()
		e.issuers.call(ctx, call, e.log)
		mu.Lock()
		if fresh := e.cache.byID(card.ID); fresh != nil && fresh.Version > card.Version {
			card = fresh
		}
	}
	if fresh := e.cache.byID(card.ID); fresh != nil && fresh.Version > card.Version {
		card = fresh // another request of this card committed while we waited
	}
	for attempt := 1; ; attempt++ {
		var (
			c        *Commit
			resp     *Response
			outcome  CommitOutcome
			existing *Authorization
		)
		if attempt <= e.cfg.OptimisticAttempts {
			if c, resp, err = decide(ctx, req, card, now); err != nil {
				if errors.Is(err, errAskIssuer) && call != nil && !call.asked {
					askIssuer()
					attempt--
					continue
				}
				return nil, err
			}
			start := time.Now()
			outcome, existing, err = e.ledger.Commit(ctx, c)
			e.observe("commit", start)
		} else {
			// Other instances keep changing the card between our read
			// and our commit: decide under the card's lock instead.
			start := time.Now()
			outcome, existing, err = e.ledger.CommitLocked(ctx, card.ID, func(locked *Card) (*Commit, error) {
				card = locked
				var derr error
				c, resp, derr = decide(ctx, req, locked, now)
				return c, derr
			})
			e.observe("commit_locked", start)
			if err != nil && c == nil {
				if errors.Is(err, errAskIssuer) && call != nil && !call.asked {
					askIssuer() // never inside the locked transaction
					attempt--
					continue
				}
				return nil, err // decide failed, or the card could not be read
			}
		}
		if err != nil {
			return nil, fmt.Errorf("committing decision: %w", err)
		}
		switch outcome {
		case CommitDone:
			e.remember(card, c)
			e.reindex(ctx, card, idxs[0])
			return resp, nil
		case CommitDuplicate:
			n.repeat = true
			return retransmission(req, existing), nil
		}
		if attempt >= e.cfg.MaxAttempts {
			return nil, fmt.Errorf("deciding: card %s kept changing after %d attempts", card.ID, attempt)
		}
		if attempt < e.cfg.OptimisticAttempts {
			if card, err = e.ledger.CardByID(ctx, card.ID); err != nil {
				return nil, fmt.Errorf("reloading card: %w", err)
			}
			e.cache.put(card, e.now())
			if len(card.PANIndex) == 0 {
				return nil, errPANMoved
			}
		}
	}
}

func (e *Engine) observe(step string, start time.Time) {
	if e.hook != nil {
		e.hook.StepDone(step, time.Since(start))
	}
}

// retransmission answers a request whose match key is already stored: the
// stored answer again when the content is the same, else 94.
func retransmission(req *Request, existing *Authorization) *Response {
	if existing != nil && string(existing.Fingerprint) == string(req.Fingerprint) {
		return existing.Response()
	}
	return &Response{Decision: Decline(ReasonDuplicate)}
}

// panLooksValid reports whether the request's PAN can be looked up.
func panLooksValid(r *Request) bool {
	p := string(r.PAN)
	return len(p) >= 12 && len(p) <= 19 && digit.All(p) && digit.LuhnValid(p)
}

// earlyDecline builds the commit of a format-stage decline for a known
// card: the record and its authorization.declined event, the card only
// checked (not changed).
func (e *Engine) earlyDecline(req *Request, card *Card, d Decision, now time.Time) (*Commit, *Response, error) {
	rec := e.newRecord(req, card, d, now)
	rec.Status = StatusDeclined
	c := &Commit{CardID: card.ID, CardVersion: card.Version, Record: rec}
	var err error
	if c.Events, err = decisionEvents(card, rec, c, now); err != nil {
		return nil, nil, err
	}
	return c, &Response{Decision: d, Amount: req.Amount, AuthorizationID: rec.ID}, nil
}

// decideWithoutCard records a decision made before a card was found.
func (e *Engine) decideWithoutCard(ctx context.Context, req *Request, d Decision, n *decideNote) (*Response, error) {
	rec := e.newRecord(req, nil, d, n.now)
	if d.Approved() {
		rec.Status = StatusUnmatched
	} else {
		rec.Status = StatusDeclined
	}
	resp := &Response{Decision: d, Amount: req.Amount, AuthorizationID: rec.ID}
	outcome, existing, err := e.ledger.Commit(ctx, &Commit{Record: rec})
	if err != nil {
		return nil, fmt.Errorf("recording decision: %w", err)
	}
	if outcome == CommitDuplicate {
		n.repeat = true
		return retransmission(req, existing), nil
	}
	return resp, nil
}

// lookup finds a card by any of its PAN indexes (newest key version
// first), from the cache when it holds it.
func (e *Engine) lookup(ctx context.Context, idxs [][]byte) (*Card, error) {
	now := e.now()
	for _, idx := range idxs {
		if c := e.cache.get(idx, now); c != nil {
			return c, nil
		}
	}
	c, err := e.ledger.CardByPANIndex(ctx, idxs)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("looking up card: %w", err)
	}
	e.cache.put(c, now)
	return c, nil
}

// reindex moves a card found under an older version of the PAN-index key
// to newest, once, after its decision is committed: a card already under
// the newest version costs nothing. A failure is logged and left for the
// card's next request (the card is still found under the older version
// until that version's end of use).
func (e *Engine) reindex(ctx context.Context, card *Card, newest []byte) {
	if card == nil || bytes.Equal(card.PANIndex, newest) {
		return
	}
	if err := e.ledger.Reindex(ctx, card.ID, card.PANIndex, newest); err != nil {
		e.log.WarnContext(ctx, "re-indexing card under the newest PAN-index key", "card_id", card.ID, "error", err)
		return
	}
	if cached := e.cache.byID(card.ID); cached != nil {
		next := *cached
		next.PANIndex = newest
		e.cache.put(&next, e.now())
	}
}

// remember caches the card as the commit left it.
func (e *Engine) remember(card *Card, c *Commit) {
	if card == nil {
		return
	}
	next := *card
	if c.State != nil {
		next.State = *c.State
		next.Version++
	}
	if c.Status != "" {
		next.Status, next.StatusReason = c.Status, c.StatusReason
	}
	if c.Source != nil {
		next.Source = *c.Source
	}
	e.cache.put(&next, e.now())
}

// newRecord starts the stored record of a request.
func (e *Engine) newRecord(req *Request, card *Card, d Decision, now time.Time) *Authorization {
	rec := &Authorization{
		ID:               issuance.NewID(issuance.AuthorizationIDPrefix, now),
		Kind:             req.Kind,
		MTI:              req.MTI,
		ProcessingCode:   req.ProcessingCode,
		Amount:           req.Amount,
		Currency:         req.Currency,
		Code:             d.Code,
		Reason:           d.Reason,
		AcquirerID:       req.AcquirerID,
		Terminal:         req.Terminal,
		Merchant:         req.Merchant,
		Acceptor:         req.Acceptor,
		STAN:             req.STAN,
		RRN:              req.RRN,
		TransmissionTime: req.TransmissionTime,
		MCC:              req.MCC,
		Country:          req.Country,
		EntryMode:        req.EntryMode,
		ECI:              req.ECI,
		MatchKey:         MatchKey(req),
		Fingerprint:      req.Fingerprint,
		ReceivedAt:       req.Received,
		DecidedAt:        now,
		DecidedBy:        DecidedByHost,
	}
	if card != nil {
		rec.TenantID, rec.CardID = card.TenantID, card.ID
	}
	if req.Refused != "" {
		// A refused message does not take its match key: the acquirer's
		// retransmission of the request with a good MAC is decided, and a
		// forged message cannot make a real one a duplicate (94).
		rec.MatchKey = "refused|" + rec.ID
	}
	if rec.ReceivedAt.IsZero() {
		rec.ReceivedAt = now
	}
	return rec
}

// MatchKey is the retransmission key of a request: acquirer, terminal,
// STAN, transmission time, RRN and the message class (the MTI without its
// repeat digit).
func MatchKey(r *Request) string {
	if r.Clearing != nil { // a clearing record is applied once: its type and ARN
		return "CLR|" + r.Clearing.Type + "|" + r.Clearing.ARN
	}
	class := r.MTI
	if len(class) == 4 {
		class = class[:3]
	}
	return class + "|" + r.AcquirerID + "|" + r.Terminal + "|" + r.STAN + "|" + r.TransmissionTime + "|" + r.RRN
}

// approvalCode returns a random six-character approval code (field 38).
func approvalCode() string {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	var b [6]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// arpc builds the response field 55 for a chip request whose ARQC
// verified, with the ARC of the final response code.
func arpc(ctx context.Context, t *txn, d Decision) ([]byte, error) {
	if t.arqc == nil {
		return nil, nil
	}
	iad, err := t.v.GenerateARPC(ctx, *t.arqc, t.arqcVersion, string(d.Code))
	if err != nil {
		return nil, fmt.Errorf("generating ARPC: %w", err)
	}
	return tlv.ResponseICC(iad)
}
