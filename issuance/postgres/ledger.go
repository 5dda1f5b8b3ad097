package postgres

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/issuance"
)

// Ledger is the authorization host's persistence (host.Ledger): card
// snapshots by PAN index and the one-round-trip commit (ch_commit), with
// group commit. Safe for concurrent use.
type Ledger struct {
	db      *DB
	batcher *commitBatcher
	// locked bounds the locked commits in flight to half the pool: each
	// holds a connection for its transaction while its decision may read
	// through another (an original, an acquirer key).
	locked chan struct{}
}

// Ledger returns the host ledger over this database (one per DB; DB.Close
// stops its commit workers).
func (db *DB) Ledger() *Ledger {
	db.ledgerOnce.Do(func() {
		l := &Ledger{db: db, locked: make(chan struct{}, max(1, int(db.pool.Config().MaxConns)/2))}
		l.batcher = newCommitBatcher(l, db.config.CommitBatch, db.config.CommitWorkers)
		db.ledger = l
	})
	return db.ledger
}

var _ host.Ledger = (*Ledger)(nil)

// hostCardColumns are the cards columns a host.Card is read from.
const hostCardColumns = `id, tenant_id, coalesce(product_id, ''), coalesce(cardholder_id, ''), coalesce(reference_id, ''), reference_number,
	type, status, status_reason, printed_name, currency, card_limit, spending_controls, risk_controls, usage_type,
	auto_cancel_trigger, expiry_at, pin_length, pan_index, bin, last4, pan_length, expiry, psn, service_code, network, cvn,
	imk_ac_ref, cvk_ref, pvk_ref, pin_method, pvki, pin_verify, pin_try_max, template_id,
	spend, total_spent, last_atc, pin_tries, used_at, created_at, updated_at, version`

func scanHostCard(row pgx.Row) (*host.Card, error) {
	var c host.Card
	var typ, status, usage, trigger, network string
	var spending, risk, spend []byte
	err := row.Scan(&c.ID, &c.TenantID, &c.ProductID, &c.CardholderID, &c.ReferenceID, &c.ReferenceNumber,
		&typ, &status, &c.StatusReason, &c.PrintedName, &c.Currency, &c.CardLimit, &spending, &risk, &usage,
		&trigger, &c.ExpiryAt, &c.PINLength, &c.PANIndex, &c.BIN, &c.Last4, &c.PANLength, &c.Expiry, &c.PSN, &c.ServiceCode, &network, &c.CVN,
		&c.IMKACRef, &c.CVKRef, &c.PVKRef, &c.PINMethod, &c.PVKI, &c.PINVerify, &c.PINTryMax, &c.TemplateID,
		&spend, &c.TotalSpent, &c.LastATC, &c.PINTries, &c.UsedAt, &c.CreatedAt, &c.UpdatedAt, &c.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, host.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading card: %w", err)
	}
	c.Type, c.Status, c.UsageType = issuance.CardType(typ), issuance.Status(status), issuance.UsageType(usage)
	c.AutoCancelTrigger, c.Network = issuance.AutoCancelTrigger(trigger), issuance.Network(network)
	if err := json.Unmarshal(spending, &c.SpendingControls); err != nil {
		return nil, fmt.Errorf("reading card spending controls: %w", err)
	}
	if err := json.Unmarshal(risk, &c.RiskControls); err != nil {
		return nil, fmt.Errorf("reading card risk controls: %w", err)
	}
	if err := json.Unmarshal(spend, &c.Spend); err != nil {
		return nil, fmt.Errorf("reading card spend: %w", err)
	}
	if c.Spend == nil {
		c.Spend = map[string]host.Counter{}
	}
	return &c, nil
}

// CardByPANIndex implements host.Ledger.
func (l *Ledger) CardByPANIndex(ctx context.Context, index []byte) (*host.Card, error) {
	c, err := scanHostCard(l.db.pool.QueryRow(ctx, `SELECT `+hostCardColumns+` FROM cards WHERE pan_index = $1`, index))
	return c, ledgerErr(err)
}

// CardByID implements host.Ledger.
func (l *Ledger) CardByID(ctx context.Context, id string) (*host.Card, error) {
	c, err := scanHostCard(l.db.pool.QueryRow(ctx, `SELECT `+hostCardColumns+` FROM cards WHERE id = $1`, id))
	return c, ledgerErr(err)
}

// AcquirerZPK implements host.Ledger.
func (l *Ledger) AcquirerZPK(ctx context.Context, acquirerID string) (string, error) {
	var ref string
	err := l.db.pool.QueryRow(ctx, `SELECT zpk_ref FROM acquirers WHERE id = $1`, acquirerID).Scan(&ref)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && ref == "") {
		return "", host.ErrNotFound
	}
	if err != nil {
		return "", ledgerErr(fmt.Errorf("reading acquirer: %w", err))
	}
	return ref, nil
}

const authColumns = `id, coalesce(tenant_id, ''), coalesce(card_id, ''), kind, mti, processing_code, amount, currency, card_amount,
	approved_amount, response_code, reason, approval_code, acquirer_id, terminal_id, merchant_id, acceptor, stan, rrn,
	transmission_time, mcc, country, entry_mode, eci, coalesce(original_id, ''), status, held, captured_amount,
	reversed_amount, applied, match_key, fingerprint, response_icc, balances, received_at, decided_at, version`

func scanAuthorization(row pgx.Row) (*host.Authorization, error) {
	var a host.Authorization
	var kind, code, reason, status string
	var applied, balances []byte
	err := row.Scan(&a.ID, &a.TenantID, &a.CardID, &kind, &a.MTI, &a.ProcessingCode, &a.Amount, &a.Currency, &a.CardAmount,
		&a.ApprovedAmount, &code, &reason, &a.ApprovalCode, &a.AcquirerID, &a.Terminal, &a.Merchant, &a.Acceptor, &a.STAN, &a.RRN,
		&a.TransmissionTime, &a.MCC, &a.Country, &a.EntryMode, &a.ECI, &a.OriginalID, &status, &a.Held, &a.CapturedAmount,
		&a.ReversedAmount, &applied, &a.MatchKey, &a.Fingerprint, &a.ResponseICC, &balances, &a.ReceivedAt, &a.DecidedAt, &a.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, host.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading authorization: %w", err)
	}
	a.Kind, a.Code, a.Reason, a.Status = host.ParseKind(kind), iso.ResponseCode(code), host.Reason(reason), host.AuthStatus(status)
	if err := json.Unmarshal(applied, &a.Applied); err != nil {
		return nil, fmt.Errorf("reading authorization: %w", err)
	}
	if len(balances) > 0 {
		if err := json.Unmarshal(balances, &a.Balances); err != nil {
			return nil, fmt.Errorf("reading authorization: %w", err)
		}
	}
	a.ReceivedAt, a.DecidedAt = a.ReceivedAt.UTC(), a.DecidedAt.UTC()
	return &a, nil
}

// AuthorizationByKey implements host.Ledger.
func (l *Ledger) AuthorizationByKey(ctx context.Context, key string) (*host.Authorization, error) {
	a, err := scanAuthorization(l.db.pool.QueryRow(ctx, `SELECT `+authColumns+` FROM authorizations WHERE match_key = $1`, key))
	return a, ledgerErr(err)
}

// FindOriginal implements host.Ledger: the newest authorization (0100,
// 0200 or 0120) of the card that field 90 (or the RRN) names. An 0120
// advice matched to an 0100 (original_id set) stands for that 0100.
func (l *Ledger) FindOriginal(ctx context.Context, q host.OriginalQuery) (*host.Authorization, error) {
	a, err := l.findOriginal(ctx, q)
	return a, ledgerErr(err)
}

func (l *Ledger) findOriginal(ctx context.Context, q host.OriginalQuery) (*host.Authorization, error) {
	const kinds = `kind IN ('authorization', 'financial', 'advice')`
	const outer = `SELECT ` + authColumns + ` FROM authorizations WHERE id = (SELECT coalesce(original_id, id) FROM authorizations `
	if q.STAN != "" {
		return scanAuthorization(l.db.pool.QueryRow(ctx, outer+`
			WHERE card_id = $1 AND stan = $2 AND transmission_time = $3
			  AND ltrim(acquirer_id, '0') = ltrim($4, '0') AND ($5 = '' OR terminal_id = $5)
			  AND ($6 = '' OR left(mti, 3) = left($6, 3)) AND `+kinds+`
			ORDER BY decided_at DESC LIMIT 1)`, q.CardID, q.STAN, q.TransmissionTime, q.AcquirerID, q.Terminal, q.MTI))
	}
	return scanAuthorization(l.db.pool.QueryRow(ctx, outer+`
		WHERE card_id = $1 AND rrn = $2 AND ($3 = '' OR terminal_id = $3) AND `+kinds+`
		ORDER BY decided_at DESC LIMIT 1)`, q.CardID, q.RRN, q.Terminal))
}

// recordRow is an authorizations row as ch_commit and ch_commit_batch
// insert it with jsonb_populate_record: every column (absent keys would be
// NULL, not the column default), bytea as \x hex. A struct, not a map, so
// encoding is cheap and needs no key sorting.
type recordRow struct {
	ID               string         `json:"id"`
	TenantID         *string        `json:"tenant_id"`
	CardID           *string        `json:"card_id"`
	Kind             string         `json:"kind"`
	MTI              string         `json:"mti"`
	ProcessingCode   string         `json:"processing_code"`
	Amount           int64          `json:"amount"`
	Currency         string         `json:"currency"`
	CardAmount       int64          `json:"card_amount"`
	ApprovedAmount   int64          `json:"approved_amount"`
	ResponseCode     string         `json:"response_code"`
	Reason           string         `json:"reason"`
	ApprovalCode     string         `json:"approval_code"`
	AcquirerID       string         `json:"acquirer_id"`
	TerminalID       string         `json:"terminal_id"`
	MerchantID       string         `json:"merchant_id"`
	Acceptor         string         `json:"acceptor"`
	STAN             string         `json:"stan"`
	RRN              string         `json:"rrn"`
	TransmissionTime string         `json:"transmission_time"`
	MCC              string         `json:"mcc"`
	Country          string         `json:"country"`
	EntryMode        string         `json:"entry_mode"`
	ECI              string         `json:"eci"`
	OriginalID       *string        `json:"original_id"`
	Status           string         `json:"status"`
	Held             int64          `json:"held"`
	CapturedAmount   int64          `json:"captured_amount"`
	ReversedAmount   int64          `json:"reversed_amount"`
	Applied          []host.Applied `json:"applied"`
	MatchKey         string         `json:"match_key"`
	Fingerprint      *string        `json:"fingerprint"`
	ResponseICC      *string        `json:"response_icc"`
	Balances         []host.Balance `json:"balances"`
	ReceivedAt       time.Time      `json:"received_at"`
	DecidedAt        time.Time      `json:"decided_at"`
	Version          int64          `json:"version"`
}

func newRecordRow(a *host.Authorization) recordRow {
	applied := a.Applied
	if applied == nil {
		applied = []host.Applied{}
	}
	return recordRow{
		ID: a.ID, TenantID: nullString(a.TenantID), CardID: nullString(a.CardID), Kind: a.Kind.String(), MTI: a.MTI,
		ProcessingCode: a.ProcessingCode, Amount: a.Amount, Currency: a.Currency, CardAmount: a.CardAmount,
		ApprovedAmount: a.ApprovedAmount, ResponseCode: string(a.Code), Reason: string(a.Reason), ApprovalCode: a.ApprovalCode,
		AcquirerID: a.AcquirerID, TerminalID: a.Terminal, MerchantID: a.Merchant, Acceptor: a.Acceptor, STAN: a.STAN, RRN: a.RRN,
		TransmissionTime: a.TransmissionTime, MCC: a.MCC, Country: a.Country, EntryMode: a.EntryMode, ECI: a.ECI,
		OriginalID: nullString(a.OriginalID), Status: string(a.Status), Held: a.Held, CapturedAmount: a.CapturedAmount,
		ReversedAmount: a.ReversedAmount, Applied: applied, MatchKey: a.MatchKey, Fingerprint: byteaHex(a.Fingerprint),
		ResponseICC: byteaHex(a.ResponseICC), Balances: a.Balances, ReceivedAt: a.ReceivedAt, DecidedAt: a.DecidedAt, Version: 1,
	}
}

// recordJSON renders a record for ch_commit.
func recordJSON(a *host.Authorization) ([]byte, error) { return json.Marshal(newRecordRow(a)) }

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func byteaHex(b []byte) *string {
	if b == nil {
		return nil
	}
	s := `\x` + hex.EncodeToString(b)
	return &s
}

// commitArgs renders a commit as the arguments of ch_commit.
func (l *Ledger) commitArgs(c *host.Commit) ([]any, error) {
	rec, err := recordJSON(c.Record)
	if err != nil {
		return nil, fmt.Errorf("encoding record: %w", err)
	}
	events := []byte("[]")
	if len(c.Events) > 0 {
		if events, err = json.Marshal(c.Events); err != nil {
			return nil, fmt.Errorf("encoding events: %w", err)
		}
	}
	var (
		cardID, status, statusReason any
		spend                        []byte
		total                        int64
		lastATC, pinTries            int
		usedAt                       *time.Time
	)
	if c.CardID != "" {
		cardID = c.CardID
	}
	if c.State != nil {
		if spend, err = json.Marshal(c.State.Spend); err != nil {
			return nil, fmt.Errorf("encoding spend: %w", err)
		}
		total, lastATC, pinTries, usedAt = c.State.TotalSpent, c.State.LastATC, c.State.PINTries, c.State.UsedAt
	}
	if c.Status != "" {
		status, statusReason = string(c.Status), c.StatusReason
	}
	var origID any
	var origVersion, origHeld, origCaptured, origReversed int64
	var origStatus string
	if o := c.Original; o != nil {
		origID, origVersion, origStatus = o.ID, o.Version, string(o.Status)
		origHeld, origCaptured, origReversed = o.Held, o.CapturedAmount, o.ReversedAmount
	}
	return []any{cardID, c.CardVersion, c.State != nil, spend, total, lastATC, pinTries, usedAt, status, statusReason, l.db.Now(),
		rec, origID, origVersion, origStatus, origHeld, origCaptured, origReversed, string(events)}, nil
}

const commitSQL = `SELECT ch_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`

// Commit implements host.Ledger. Commits from concurrent requests are
// grouped (see commitBatcher): many share one PostgreSQL round trip and one
// WAL flush, and none is answered before its transaction is durable.
func (l *Ledger) Commit(ctx context.Context, c *host.Commit) (host.CommitOutcome, *host.Authorization, error) {
	outcome, err := l.batcher.commit(ctx, c)
	if err != nil {
		return 0, nil, ledgerErr(fmt.Errorf("committing authorization: %w", err))
	}
	o, a, err := l.outcome(ctx, c, outcome)
	return o, a, ledgerErr(err)
}

// errNotDone rolls back a locked commit whose ch_commit did not apply.
var errNotDone = errors.New("commit not applied")

// CommitLocked implements host.Ledger: the card row is read FOR UPDATE, so
// every other commit of the card (grouped or locked, from any instance)
// waits for this transaction, decide runs on it, and its commit is applied
// by ch_commit in the same transaction. It is not grouped: it is the rare
// path of a card contended across instances.
func (l *Ledger) CommitLocked(ctx context.Context, cardID string, decide func(*host.Card) (*host.Commit, error)) (host.CommitOutcome, *host.Authorization, error) {
	select {
	case l.locked <- struct{}{}:
		defer func() { <-l.locked }()
	case <-ctx.Done():
		return 0, nil, ledgerErr(fmt.Errorf("waiting for a locked commit slot: %w", ctx.Err()))
	}
	var (
		c       *host.Commit
		outcome string
	)
	err := pgx.BeginFunc(ctx, l.db.pool, func(tx pgx.Tx) error {
		card, err := scanHostCard(tx.QueryRow(ctx, `SELECT `+hostCardColumns+` FROM cards WHERE id = $1 FOR UPDATE`, cardID))
		if err != nil {
			return err
		}
		if c, err = decide(card); err != nil {
			return err
		}
		args, err := l.commitArgs(c)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, commitSQL, args...).Scan(&outcome)
		if outcome, err = mapCommitError(outcome, err); err != nil {
			return fmt.Errorf("committing authorization: %w", err)
		}
		if outcome != "done" {
			return errNotDone
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNotDone) {
		return 0, nil, ledgerErr(err)
	}
	o, a, err := l.outcome(ctx, c, outcome)
	return o, a, ledgerErr(err)
}

// ledgerErr wraps host.ErrUnavailable around an error that means the
// database is unreachable or too slow (IsUnavailable), so that the host
// answers 91 rather than 96 for it.
func ledgerErr(err error) error {
	if err == nil || errors.Is(err, host.ErrUnavailable) || !IsUnavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", host.ErrUnavailable, err)
}

// commitOne runs one ch_commit in its own transaction, mapping the
// exceptions it raises for races to their outcomes.
func (l *Ledger) commitOne(ctx context.Context, c *host.Commit) (string, error) {
	args, err := l.commitArgs(c)
	if err != nil {
		return "", err
	}
	var outcome string
	err = l.db.pool.QueryRow(ctx, commitSQL, args...).Scan(&outcome)
	return mapCommitError(outcome, err)
}

func mapCommitError(outcome string, err error) (string, error) {
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "CH001":
		return "stale", nil
	case errors.As(err, &pgErr) && pgErr.Code == "CH002":
		return "duplicate", nil
	case err != nil:
		return "", err
	}
	return outcome, nil
}

func (l *Ledger) outcome(ctx context.Context, c *host.Commit, outcome string) (host.CommitOutcome, *host.Authorization, error) {
	switch outcome {
	case "done":
		if len(c.Events) > 0 {
			l.db.committed()
		}
		return host.CommitDone, nil, nil
	case "stale":
		return host.CommitStale, nil, nil
	case "duplicate":
		existing, err := l.AuthorizationByKey(ctx, c.Record.MatchKey)
		if err != nil {
			return 0, nil, fmt.Errorf("reading the stored original of a retransmission: %w", err)
		}
		return host.CommitDuplicate, existing, nil
	}
	return 0, nil, fmt.Errorf("committing authorization: unexpected outcome %q", outcome)
}
