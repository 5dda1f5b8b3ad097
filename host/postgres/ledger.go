package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ledger"
	issuancepg "github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/kafka"
)

// Ledger is the authorization host's persistence (host.Ledger): card
// snapshots by PAN index, the records of captures and reversals, and the
// one commit path (commit.go), grouped by a commitBatcher. Safe for
// concurrent use.
type Ledger struct {
	db      *issuancepg.DB
	pool    *pgxpool.Pool
	batcher *commitBatcher
	// commitTimeout bounds a group whose members set no deadline: twice
	// the statement timeout, so that a database that stops answering (no
	// reset) cannot hold it forever.
	commitTimeout time.Duration
	// locked bounds the locked commits in flight to half the pool: each
	// holds a connection for its transaction while its decision may read
	// through another (an original, an acquirer key).
	locked chan struct{}
	// types caches the commit's row type OIDs (commitTypes).
	types atomic.Pointer[commitTypeOIDs]
}

var (
	_ host.Ledger        = (*Ledger)(nil)
	_ host.EventAppender = (*Ledger)(nil)
)

// New returns the host ledger over db and starts its commit workers
// (db.Config().CommitBatch, CommitWorkers); db.Close stops them, after
// which Commit fails. Build one per DB: each has its own workers.
func New(db *issuancepg.DB) *Ledger {
	pool := db.Pool()
	cfg := db.Config()
	l := &Ledger{db: db, pool: pool, commitTimeout: 2 * cfg.StatementTimeout,
		locked: make(chan struct{}, max(1, int(pool.Config().MaxConns)/2))}
	l.batcher = newCommitBatcher(l, cfg.CommitBatch, cfg.CommitWorkers)
	db.OnClose(l.batcher.close)
	return l
}

// hostCardColumns are the cards columns a host.Card is read from.
const hostCardColumns = `id, tenant_id, coalesce(product_id, ''), coalesce(cardholder_id, ''), coalesce(reference_id, ''), reference_number,
	type, status, status_reason, printed_name, currency, card_limit, spending_controls, risk_controls, usage_type,
	auto_cancel_trigger, expiry_at, pin_length, pan_index, bin, last4, pan_length, expiry, psn, service_code, network, cvn,
	imk_ac_ref, cvk_ref, pvk_ref, pin_method, pvki, pin_verify, pin_try_max, template_id, cvk_version, cvv2_policy, cvv2_max_tries,
	spend, total_spent, last_atc, pin_tries, cvv2_tries, used_at, created_at, updated_at, version, funding_mode, coalesce(funding_account, ''),
	lifecycle, (SELECT ARRAY[a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted] FROM ledger_accounts a WHERE a.id = cards.funding_account)`

func scanHostCard(row pgx.Row) (*host.Card, error) {
	var c host.Card
	var typ, status, usage, trigger, network string
	var spending, risk, spend []byte
	var totals []int64
	err := row.Scan(&c.ID, &c.TenantID, &c.ProductID, &c.CardholderID, &c.ReferenceID, &c.ReferenceNumber,
		&typ, &status, &c.StatusReason, &c.PrintedName, &c.Currency, &c.CardLimit, &spending, &risk, &usage,
		&trigger, &c.ExpiryAt, &c.PINLength, &c.PANIndex, &c.BIN, &c.Last4, &c.PANLength, &c.Expiry, &c.PSN, &c.ServiceCode, &network, &c.CVN,
		&c.IMKACRef, &c.CVKRef, &c.PVKRef, &c.PINMethod, &c.PVKI, &c.PINVerify, &c.PINTryMax, &c.TemplateID, &c.CVKVersion, &c.CVV2Policy, &c.CVV2MaxTries,
		&spend, &c.TotalSpent, &c.LastATC, &c.PINTries, &c.CVV2Tries, &c.UsedAt, &c.CreatedAt, &c.UpdatedAt, &c.Version, &c.FundingMode, &c.FundingAccount, &c.Fields, &totals)
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
	c.Source = sourceAccount(&c, totals)
	return &c, nil
}

// sourceAccount is a card's funding account from its four totals (none
// yet: zero).
func sourceAccount(c *host.Card, totals []int64) ledger.Account {
	a := ledger.Account{ID: c.FundingAccount, TenantID: c.TenantID, Currency: c.Currency, NoOverdraft: true, Kind: ledger.KindOf(c.FundingAccount)}
	if len(totals) == 4 {
		a.DebitsPending, a.DebitsPosted, a.CreditsPending, a.CreditsPosted = totals[0], totals[1], totals[2], totals[3]
	}
	return a
}

// card reads one card through q, selected by a WHERE clause.
func (l *Ledger) card(ctx context.Context, q querier, where string, args ...any) (*host.Card, error) {
	return scanHostCard(q.QueryRow(ctx, `SELECT `+hostCardColumns+` FROM cards WHERE `+where, args...))
}

// CardByPANIndex implements host.Ledger: one index probe per key version,
// in one statement.
func (l *Ledger) CardByPANIndex(ctx context.Context, indexes [][]byte) (*host.Card, error) {
	c, err := l.card(ctx, l.pool, `pan_index = ANY ($1)`, indexes)
	return c, issuancepg.WrapUnavailable(err)
}

// Reindex implements host.Ledger.
func (l *Ledger) Reindex(ctx context.Context, cardID string, from, to []byte) error {
	tag, err := l.pool.Exec(ctx, `UPDATE cards SET pan_index = $3 WHERE id = $1 AND pan_index = $2`, cardID, from, to)
	if err != nil {
		return issuancepg.WrapUnavailable(fmt.Errorf("re-indexing card: %w", err))
	}
	if tag.RowsAffected() == 0 {
		return host.ErrNotFound
	}
	return nil
}

// CardByID implements host.Ledger.
func (l *Ledger) CardByID(ctx context.Context, id string) (*host.Card, error) {
	c, err := l.card(ctx, l.pool, `id = $1`, id)
	return c, issuancepg.WrapUnavailable(err)
}

// AppendEvents implements host.EventAppender: the events are written to
// the outbox in one transaction (issuancepg.DB.AppendEvents).
func (l *Ledger) AppendEvents(ctx context.Context, events []kafka.Event) error {
	return issuancepg.WrapUnavailable(l.db.AppendEvents(ctx, events))
}

// Acquirers implements host.Ledger: every acquirer, with its keys and
// settings, in one read.
func (l *Ledger) Acquirers(ctx context.Context) ([]host.Acquirer, error) {
	as, err := l.db.Acquirers(ctx)
	if err != nil {
		return nil, issuancepg.WrapUnavailable(err)
	}
	out := make([]host.Acquirer, len(as))
	for i, a := range as {
		out[i] = host.Acquirer{ID: a.ID, ZPKRef: a.ZPKRef, ZAKRef: a.ZAKRef, MACRequired: a.MACRequired, PINFormats: a.PINFormats}
	}
	return out, nil
}

const authColumns = `id, coalesce(tenant_id, ''), coalesce(card_id, ''), kind, mti, processing_code, amount, currency, card_amount,
	approved_amount, response_code, reason, approval_code, acquirer_id, terminal_id, merchant_id, acceptor, stan, rrn,
	transmission_time, mcc, country, entry_mode, eci, coalesce(original_id, ''), status, held, captured_amount,
	reversed_amount, applied, match_key, fingerprint, response_icc, balances, received_at, decided_at, version, decided_by,
	coalesce(issuer_latency_ms, 0), coalesce(hold_id, ''), coalesce(hold_amount, 0), hold_expires_at, coalesce(cleared_amount, 0)`

func scanAuthorization(row pgx.Row) (*host.Authorization, error) {
	var a host.Authorization
	var kind, code, reason, status string
	var applied, balances []byte
	var decided string
	var latencyMS int64
	err := row.Scan(&a.ID, &a.TenantID, &a.CardID, &kind, &a.MTI, &a.ProcessingCode, &a.Amount, &a.Currency, &a.CardAmount,
		&a.ApprovedAmount, &code, &reason, &a.ApprovalCode, &a.AcquirerID, &a.Terminal, &a.Merchant, &a.Acceptor, &a.STAN, &a.RRN,
		&a.TransmissionTime, &a.MCC, &a.Country, &a.EntryMode, &a.ECI, &a.OriginalID, &status, &a.Held, &a.CapturedAmount,
		&a.ReversedAmount, &applied, &a.MatchKey, &a.Fingerprint, &a.ResponseICC, &balances, &a.ReceivedAt, &a.DecidedAt, &a.Version, &decided, &latencyMS,
		&a.HoldID, &a.HoldAmount, &a.HoldExpiresAt, &a.Cleared)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, host.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading authorization: %w", err)
	}
	a.Kind, a.Code, a.Reason, a.Status = host.ParseKind(kind), iso.ResponseCode(code), host.Reason(reason), host.AuthStatus(status)
	a.DecidedBy, a.IssuerLatency = host.DecidedBy(decided), time.Duration(latencyMS)*time.Millisecond
	if err := json.Unmarshal(applied, &a.Applied); err != nil {
		return nil, fmt.Errorf("reading authorization: %w", err)
	}
	if len(balances) > 0 {
		if err := json.Unmarshal(balances, &a.Balances); err != nil {
			return nil, fmt.Errorf("reading authorization: %w", err)
		}
	}
	a.ReceivedAt, a.DecidedAt = a.ReceivedAt.UTC(), a.DecidedAt.UTC()
	if a.HoldExpiresAt != nil {
		t := a.HoldExpiresAt.UTC()
		a.HoldExpiresAt = &t
	}
	return &a, nil
}

// AuthorizationByID implements host.Ledger.
func (l *Ledger) AuthorizationByID(ctx context.Context, id string) (*host.Authorization, error) {
	a, err := scanAuthorization(l.pool.QueryRow(ctx, `SELECT `+authColumns+` FROM authorizations WHERE id = $1`, id))
	return a, issuancepg.WrapUnavailable(err)
}

// DueHolds implements host.Ledger, through authorizations_hold_expiry.
func (l *Ledger) DueHolds(ctx context.Context, now time.Time, limit int) ([]host.HoldRef, error) {
	rows, err := l.pool.Query(ctx, `SELECT card_id, id FROM authorizations WHERE hold_amount > 0 AND hold_expires_at <= $1
		ORDER BY hold_expires_at LIMIT $2`, now, limit)
	if err != nil {
		return nil, issuancepg.WrapUnavailable(fmt.Errorf("listing due holds: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (host.HoldRef, error) {
		var h host.HoldRef
		return h, r.Scan(&h.CardID, &h.AuthorizationID)
	})
	return out, issuancepg.WrapUnavailable(err)
}

// AuthorizationByKey implements host.Ledger.
func (l *Ledger) AuthorizationByKey(ctx context.Context, key string) (*host.Authorization, error) {
	a, err := scanAuthorization(l.pool.QueryRow(ctx, `SELECT `+authColumns+` FROM authorizations WHERE match_key = $1`, key))
	return a, issuancepg.WrapUnavailable(err)
}

// FindOriginal implements host.Ledger: the newest authorization (0100,
// 0200 or 0120) of the card that field 90 (or the RRN) names. An 0120
// advice matched to an 0100 (original_id set) stands for that 0100.
func (l *Ledger) FindOriginal(ctx context.Context, q host.OriginalQuery) (*host.Authorization, error) {
	a, err := l.findOriginal(ctx, q)
	return a, issuancepg.WrapUnavailable(err)
}

func (l *Ledger) findOriginal(ctx context.Context, q host.OriginalQuery) (*host.Authorization, error) {
	const kinds = `kind IN ('authorization', 'financial', 'advice')`
	const outer = `SELECT ` + authColumns + ` FROM authorizations WHERE id = (SELECT coalesce(original_id, id) FROM authorizations `
	if q.Clearing {
		// A clearing record: the card's approved authorization with this
		// approval code (and RRN when both are known), a refund for a
		// refund.
		return scanAuthorization(l.pool.QueryRow(ctx, outer+`
			WHERE card_id = $1 AND ($2 = '' OR approval_code = $2) AND ($3 = '' OR rrn = $3) AND `+kinds+`
			  AND response_code IN ('00', '10') AND (left(processing_code, 2) = '20') = $4
			ORDER BY decided_at DESC LIMIT 1)`, q.CardID, q.ApprovalCode, q.RRN, q.Refund))
	}
	if q.STAN != "" {
		return scanAuthorization(l.pool.QueryRow(ctx, outer+`
			WHERE card_id = $1 AND stan = $2 AND transmission_time = $3
			  AND ltrim(acquirer_id, '0') = ltrim($4, '0') AND ($5 = '' OR terminal_id = $5)
			  AND ($6 = '' OR left(mti, 3) = left($6, 3)) AND `+kinds+`
			ORDER BY decided_at DESC LIMIT 1)`, q.CardID, q.STAN, q.TransmissionTime, q.AcquirerID, q.Terminal, q.MTI))
	}
	return scanAuthorization(l.pool.QueryRow(ctx, outer+`
		WHERE card_id = $1 AND rrn = $2 AND ($3 = '' OR terminal_id = $3)
		  AND ltrim(acquirer_id, '0') = ltrim($4, '0') AND `+kinds+`
		ORDER BY decided_at DESC LIMIT 1)`, q.CardID, q.RRN, q.Terminal, q.AcquirerID))
}
