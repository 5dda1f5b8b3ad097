package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ledger"
)

// Cards as the card domain sees them (issuance.CardStore). The columns the
// authorization host owns (spend, total_spent, last_atc, used_at) are never
// written here; pin_tries only resets on a PIN set, cvv2_tries on the
// issuer's reset (issuance/cvv2). Every UPDATE bumps
// version and sets updated_at.

var _ issuance.CardStore = (*DB)(nil)

// cards lists cards (they are created and changed by the functions below).
var cards = &tenantTable[issuance.Card]{what: "card", plural: "cards", table: "cards", columns: cardColumns, scan: scanCard}

// cardColumns are the columns an issuance.Card is read from.
const cardColumns = `id, tenant_id, coalesce(product_id, ''), coalesce(cardholder_id, ''), coalesce(reference_id, ''), reference_number,
	type, status, status_reason, printed_name, currency, card_limit, spending_controls, risk_controls, usage_type,
	auto_cancel_trigger, expiry_at, pin_length, metadata, billing_address, shipping_address, embosser_id, layout_id,
	embossing_status, template_id, pan_cipher, pan_index, bin, last4, pan_length, expiry, psn, service_code, network, cvn,
	imk_ac_ref, cvk_ref, pvk_ref, pin_method, pvki, pin_verify, pin_try_max, imported, cvk_version,
	cvv2_policy, cvv2_max_tries, created_at, updated_at, version, funding_mode, lifecycle`

func scanCard(row pgx.Row) (issuance.Card, error) {
	var c issuance.Card
	var typ, status, usage, trigger, network string
	var spending, risk, metadata, billing, shipping, life []byte
	err := row.Scan(&c.ID, &c.TenantID, &c.ProductID, &c.CardholderID, &c.ReferenceID, &c.ReferenceNumber,
		&typ, &status, &c.StatusReason, &c.PrintedName, &c.Currency, &c.CardLimit, &spending, &risk, &usage,
		&trigger, &c.ExpiryAt, &c.PINLength, &metadata, &billing, &shipping, &c.EmbosserID, &c.LayoutID,
		&c.EmbossingStatus, &c.TemplateID, &c.PANCipher, &c.PANIndex, &c.BIN, &c.Last4, &c.PANLength, &c.Expiry, &c.PSN, &c.ServiceCode, &network, &c.CVN,
		&c.IMKACRef, &c.CVKRef, &c.PVKRef, &c.PINMethod, &c.PVKI, &c.PINVerify, &c.PINTryMax, &c.Imported, &c.CVKVersion,
		&c.CVV2Policy, &c.CVV2MaxTries, &c.CreatedAt, &c.UpdatedAt, &c.Version, &c.FundingMode, &life)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, issuance.ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("reading card: %w", err)
	}
	c.Type, c.Status, c.UsageType = issuance.CardType(typ), issuance.Status(status), issuance.UsageType(usage)
	c.AutoCancelTrigger, c.Network = issuance.AutoCancelTrigger(trigger), issuance.Network(network)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if c.ExpiryAt != nil {
		t := c.ExpiryAt.UTC()
		c.ExpiryAt = &t
	}
	if err := json.Unmarshal(spending, &c.SpendingControls); err != nil {
		return c, fmt.Errorf("reading card spending controls: %w", err)
	}
	if err := json.Unmarshal(risk, &c.RiskControls); err != nil {
		return c, fmt.Errorf("reading card risk controls: %w", err)
	}
	c.Metadata = json.RawMessage(metadata)
	if err := json.Unmarshal(life, &c.Fields); err != nil {
		return c, fmt.Errorf("reading card lifecycle: %w", err)
	}
	for _, a := range []struct {
		raw []byte
		dst **issuance.Address
	}{{billing, &c.BillingAddress}, {shipping, &c.ShippingAddress}} {
		if len(a.raw) == 0 {
			continue
		}
		var addr issuance.Address
		if err := json.Unmarshal(a.raw, &addr); err != nil {
			return c, fmt.Errorf("reading card address: %w", err)
		}
		*a.dst = &addr
	}
	return c, nil
}

// jsonArg encodes v for a json/jsonb parameter.
func jsonArg(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encoding JSON column: %w", err)
	}
	return string(b), nil
}

// addressArg encodes an optional address (NULL when nil).
func addressArg(a *issuance.Address) (any, error) {
	if a == nil {
		return nil, nil
	}
	return jsonArg(a)
}

// controlArgs encodes a card's controls and metadata.
func controlArgs(c *issuance.Card) (spending, risk, metadata string, err error) {
	sc := c.SpendingControls
	if sc == nil {
		sc = []issuance.SpendingControl{}
	}
	if spending, err = jsonArg(sc); err != nil {
		return
	}
	if risk, err = jsonArg(c.RiskControls); err != nil {
		return
	}
	metadata = "{}"
	if len(c.Metadata) > 0 {
		metadata = string(c.Metadata)
	}
	return
}

func insertCard(ctx context.Context, tx pgx.Tx, c *issuance.Card) error {
	spending, risk, metadata, err := controlArgs(c)
	if err != nil {
		return err
	}
	billing, err := addressArg(c.BillingAddress)
	if err != nil {
		return err
	}
	shipping, err := addressArg(c.ShippingAddress)
	if err != nil {
		return err
	}
	if len(c.PANIndexOlder) > 0 {
		// The PAN may be a card indexed under an older PAN-index key
		// version (the unique index only sees equal indexes).
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cards WHERE pan_index = ANY ($1))`, c.PANIndexOlder).Scan(&taken); err != nil {
			return fmt.Errorf("checking PAN: %w", err)
		}
		if taken {
			return issuance.ErrPANTaken
		}
	}
	_, err = tx.Exec(ctx, `INSERT INTO cards (id, tenant_id, product_id, cardholder_id, reference_id, reference_number,
		type, status, status_reason, printed_name, currency, card_limit, spending_controls, risk_controls, usage_type,
		auto_cancel_trigger, expiry_at, pin_length, metadata, billing_address, shipping_address, embosser_id, layout_id,
		embossing_status, template_id, pan_cipher, pan_index, bin, last4, pan_length, expiry, psn, service_code, network, cvn,
		imk_ac_ref, cvk_ref, pvk_ref, pin_method, pvki, pin_verify, pin_try_max, imported, cvk_version,
		cvv2_policy, cvv2_max_tries, created_at, updated_at, version, funding_mode, funding_account, lifecycle)
		VALUES ($1, $2, nullif($3, ''), nullif($4, ''), nullif($5, ''), $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
		$19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42,
		$43, $44, $45, $46, $47, $48, 1, $49, nullif($50, ''), $51)`,
		c.ID, c.TenantID, c.ProductID, c.CardholderID, c.ReferenceID, c.ReferenceNumber,
		string(c.Type), string(c.Status), c.StatusReason, c.PrintedName, c.Currency, c.CardLimit, spending, risk, string(c.UsageType),
		string(c.AutoCancelTrigger), c.ExpiryAt, c.PINLength, metadata, billing, shipping, c.EmbosserID, c.LayoutID,
		c.EmbossingStatus, c.TemplateID, c.PANCipher, c.PANIndex, c.BIN, c.Last4, c.PANLength, c.Expiry, c.PSN, c.ServiceCode, string(c.Network), c.CVN,
		c.IMKACRef, c.CVKRef, c.PVKRef, c.PINMethod, c.PVKI, c.PINVerify, c.PINTryMax, c.Imported, c.CVKVersion,
		cvv2Policy(c.CVV2Policy), cvv2MaxTries(c.CVV2MaxTries), c.CreatedAt, c.UpdatedAt, fundingMode(c.FundingMode), ledger.SourceAccount(fundingMode(c.FundingMode), c.TenantID, c.ID, c.Currency), c.Fields)
	switch {
	case isUniqueViolation(err, "cards_pan_index"):
		return issuance.ErrPANTaken
	case isUniqueViolation(err, "cards_reference_id"):
		return issuance.ErrReferenceIDTaken
	case err != nil:
		return fmt.Errorf("inserting card: %w", err)
	}
	c.Version = 1
	return nil
}

// CreateCard implements issuance.CardStore.
func (db *DB) CreateCard(ctx context.Context, n issuance.NewCard) error {
	c := &n.Card
	c.FundingMode = fundingMode(c.FundingMode)
	return db.feeRefused(ctx, &n, db.inTx(ctx, func(tx pgx.Tx) error { return writeNewCard(ctx, tx, &n, db.Now()) }))
}

// writeNewCard writes what CreateCard stores (and a reissue's new card), in
// the caller's transaction.
func writeNewCard(ctx context.Context, tx pgx.Tx, n *issuance.NewCard, now time.Time) error {
	if n.Order.BatchID != "" {
		if err := lockOpenOrder(ctx, tx, n.Order.TenantID, n.Order.ID); err != nil {
			return err
		}
	}
	if err := insertCard(ctx, tx, &n.Card); err != nil {
		return err
	}
	events, err := fundCard(ctx, tx, n, now)
	if err != nil {
		return err
	}
	n.Events = append(n.Events, events...)
	if n.Order.BatchID != "" {
		if err := updateOrder(ctx, tx, &n.Order); err != nil {
			return err
		}
	} else if err := insertOrder(ctx, tx, &n.Order); err != nil {
		return err
	}
	if j := n.Emboss; j != nil {
		if _, err := tx.Exec(ctx, `INSERT INTO embossing_jobs (card_id, tenant_id, embosser_id, batch_ref, attempts, next_attempt_at, created_at)
				VALUES ($1, $2, $3, $4, 0, $5, $6)`, j.CardID, j.TenantID, j.EmbosserID, j.BatchRef, j.NextAttemptAt, j.CreatedAt); err != nil {
			return fmt.Errorf("queueing card for embossing: %w", err)
		}
	}
	if n.BatchItem != nil {
		if err := settleBatchItem(ctx, tx, n.Order.BatchID, n.BatchItem, n.Card.UpdatedAt); err != nil {
			return err
		}
	}
	return insertEvents(ctx, tx, n.Events)
}

// Cards implements issuance.CardStore.
func (db *DB) Cards(ctx context.Context, tenantID string, f issuance.CardFilter) ([]issuance.Card, bool, error) {
	return cards.list(ctx, db, tenantID, f.PageRequest,
		eq("status", string(f.Status)), eq("product_id", f.ProductID), eq("cardholder_id", f.CardholderID),
		eq("reference_id", f.ReferenceID), eq("last4", f.Last4),
		timeCond("created_at > ?", f.CreatedAfter), timeCond("created_at < ?", f.CreatedBefore))
}

// Card implements issuance.CardStore.
func (db *DB) Card(ctx context.Context, tenantID, id string) (issuance.Card, error) {
	return scanCard(db.pool.QueryRow(ctx, cards.byID(), tenantID, id))
}

// UpdateCard implements issuance.CardStore.
func (db *DB) UpdateCard(ctx context.Context, tenantID, id string, fn func(*issuance.CardChange) error) (issuance.Card, error) {
	var out issuance.Card
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		c, err := scanCard(tx.QueryRow(ctx, `SELECT `+cardColumns+` FROM cards WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, id))
		if err != nil {
			return err
		}
		ch, err := changeLocked(ctx, tx, c, fn)
		if err != nil {
			return err
		}
		out = ch.Card
		return nil
	})
	return out, err
}

// changeLocked changes a card locked by the caller: it prepares the change
// (with the card's latest order, locked too), lets fn decide it and writes
// what fn decided.
func changeLocked(ctx context.Context, tx pgx.Tx, c issuance.Card, fn func(*issuance.CardChange) error) (*issuance.CardChange, error) {
	ch := &issuance.CardChange{Card: c}
	o, err := scanOrder(tx.QueryRow(ctx, `SELECT `+orderColumns+` FROM card_orders WHERE tenant_id = $1 AND card_id = $2
		ORDER BY id DESC LIMIT 1 FOR UPDATE`, c.TenantID, c.ID))
	switch {
	case err == nil:
		ch.Order = &o
	case !errors.Is(err, issuance.ErrNotFound):
		return nil, err
	}
	if err := fn(ch); err != nil {
		return nil, err
	}
	return ch, applyChange(ctx, tx, ch)
}

// applyChange writes what a callback decided, card row first so that the
// events follow the change they describe.
func applyChange(ctx context.Context, tx pgx.Tx, ch *issuance.CardChange) error {
	c := &ch.Card
	if !ch.Skip {
		spending, risk, metadata, err := controlArgs(c)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `UPDATE cards SET status = $3, status_reason = $4, printed_name = $5, card_limit = $6,
			spending_controls = $7, risk_controls = $8, expiry_at = $9, metadata = $10, embossing_status = $11,
			pin_method = $12, pvki = $13, pin_verify = $14, cvk_version = $15,
			pin_tries = CASE WHEN $16 THEN 0 ELSE pin_tries END,
			cvv2_tries = CASE WHEN $18 THEN 0 ELSE cvv2_tries END,
			lifecycle = $19, cvv2_policy = $20,
			updated_at = $17, version = version + 1
			WHERE tenant_id = $1 AND id = $2 RETURNING version`,
			c.TenantID, c.ID, string(c.Status), c.StatusReason, c.PrintedName, c.CardLimit,
			spending, risk, c.ExpiryAt, metadata, c.EmbossingStatus,
			c.PINMethod, c.PVKI, c.PINVerify, c.CVKVersion, ch.ResetPINTries, c.UpdatedAt, ch.ResetCVV2Tries, c.Fields, cvv2Policy(c.CVV2Policy)).Scan(&c.Version)
		if err != nil {
			return fmt.Errorf("updating card: %w", err)
		}
		if ch.OrderChanged && ch.Order != nil {
			if err := updateOrder(ctx, tx, ch.Order); err != nil {
				return err
			}
		}
		if ch.SandboxPIN != nil {
			var err error
			if len(ch.SandboxPIN) == 0 {
				_, err = tx.Exec(ctx, `DELETE FROM card_sandbox_pins WHERE card_id = $1`, c.ID)
			} else {
				_, err = tx.Exec(ctx, `INSERT INTO card_sandbox_pins (card_id, tenant_id, sealed, updated_at) VALUES ($1, $2, $3, $4)
					ON CONFLICT (card_id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`, c.ID, c.TenantID, ch.SandboxPIN, c.UpdatedAt)
			}
			if err != nil {
				return fmt.Errorf("storing sandbox PIN: %w", err)
			}
		}
		if ch.Audit != nil {
			if err := insertAudit(ctx, tx, *ch.Audit); err != nil {
				return err
			}
		}
		if err := insertEvents(ctx, tx, ch.Events); err != nil {
			return err
		}
	}
	switch {
	case ch.Dequeue:
		if _, err := tx.Exec(ctx, `DELETE FROM embossing_jobs WHERE card_id = $1`, c.ID); err != nil {
			return fmt.Errorf("dequeueing embossing job: %w", err)
		}
	case ch.Retry != nil:
		if _, err := tx.Exec(ctx, `UPDATE embossing_jobs SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE card_id = $1`,
			c.ID, ch.Retry.At, truncate(ch.Retry.LastError, 500)); err != nil {
			return fmt.Errorf("rescheduling embossing job: %w", err)
		}
	}
	return nil
}

// SandboxPIN implements issuance.CardStore.
func (db *DB) SandboxPIN(ctx context.Context, tenantID, cardID string) ([]byte, error) {
	var sealed []byte
	err := db.pool.QueryRow(ctx, `SELECT sealed FROM card_sandbox_pins WHERE tenant_id = $1 AND card_id = $2`, tenantID, cardID).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading sandbox PIN: %w", err)
	}
	return sealed, nil
}

// NextEmbossing implements issuance.CardStore. The job is locked first
// (SKIP LOCKED); its card is then locked without waiting (SKIP LOCKED): a
// card held by another transaction (a cancel that will delete the job) is
// left for the next pass, so the worker and card updates never deadlock.
func (db *DB) NextEmbossing(ctx context.Context, now time.Time, fn func(issuance.EmbossJob, *issuance.CardChange) error) (bool, error) {
	found := false
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var j issuance.EmbossJob
		err := tx.QueryRow(ctx, `SELECT card_id, tenant_id, embosser_id, batch_ref, attempts, next_attempt_at, last_error, created_at
			FROM embossing_jobs WHERE next_attempt_at <= $1 ORDER BY next_attempt_at, created_at LIMIT 1 FOR UPDATE SKIP LOCKED`, now).
			Scan(&j.CardID, &j.TenantID, &j.EmbosserID, &j.BatchRef, &j.Attempts, &j.NextAttemptAt, &j.LastError, &j.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("taking embossing job: %w", err)
		}
		c, err := scanCard(tx.QueryRow(ctx, `SELECT `+cardColumns+` FROM cards WHERE tenant_id = $1 AND id = $2 FOR UPDATE SKIP LOCKED`, j.TenantID, j.CardID))
		if errors.Is(err, issuance.ErrNotFound) {
			return nil // busy: next pass
		}
		if err != nil {
			return err
		}
		found = true
		_, err = changeLocked(ctx, tx, c, func(ch *issuance.CardChange) error { return fn(j, ch) })
		return err
	})
	return found, err
}

// SweepExpiry implements issuance.CardStore.
func (db *DB) SweepExpiry(ctx context.Context, now time.Time, limit int, fn func(*issuance.CardChange) error) (int, error) {
	changed := 0
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		changed = 0
		cards, err := listAll(ctx, tx, "expired cards", `SELECT `+cardColumns+` FROM cards
			WHERE status IN ('PROVISIONED', 'ACTIVE', 'FROZEN')
			  AND ((expiry_at IS NOT NULL AND expiry_at <= $1) OR printed_expiry_end <= ($1 AT TIME ZONE 'UTC')::date)
			ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`, scanCard, now, limit)
		if err != nil {
			return err
		}
		for _, c := range cards {
			ch, err := changeLocked(ctx, tx, c, fn)
			if err != nil {
				return err
			}
			if !ch.Skip {
				changed++
			}
		}
		return nil
	})
	return changed, err
}

// RecordAudit implements issuance.CardStore.
func (db *DB) RecordAudit(ctx context.Context, e issuance.AuditEntry) error {
	return db.inTx(ctx, func(tx pgx.Tx) error { return insertAudit(ctx, tx, e) })
}

func insertAudit(ctx context.Context, tx pgx.Tx, e issuance.AuditEntry) error {
	_, err := tx.Exec(ctx, `INSERT INTO card_audit (id, tenant_id, card_id, action, api_key_id, api_key_tenant_id, request_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.ID, e.TenantID, e.CardID, e.Action, e.APIKeyID, e.KeyTenantID, e.RequestID, e.At)
	if err != nil {
		return fmt.Errorf("writing audit trail: %w", err)
	}
	return nil
}

// AuditTrail implements issuance.CardStore.
func (db *DB) AuditTrail(ctx context.Context, tenantID, cardID string) ([]issuance.AuditEntry, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, tenant_id, card_id, action, api_key_id, api_key_tenant_id, request_id, at FROM card_audit
		WHERE tenant_id = $1 AND card_id = $2 ORDER BY at, id`, tenantID, cardID)
	if err != nil {
		return nil, fmt.Errorf("reading audit trail: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (issuance.AuditEntry, error) {
		var e issuance.AuditEntry
		err := r.Scan(&e.ID, &e.TenantID, &e.CardID, &e.Action, &e.APIKeyID, &e.KeyTenantID, &e.RequestID, &e.At)
		e.At = e.At.UTC()
		return e, err
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// ReindexPANs walks every card in pages of 500 by id, asks index for the
// card's PAN index under the newest PAN-index key version (from its sealed
// PAN) and writes it where it differs. It returns how many cards moved.
// Safe while hosts serve: a card a host re-indexed meanwhile is skipped
// (the update is guarded by the index read).
func (db *DB) ReindexPANs(ctx context.Context, index func(tenantID, cardID string, sealed []byte) ([]byte, error)) (int, error) {
	moved, after := 0, ""
	for {
		type row struct {
			id, tenant    string
			sealed, index []byte
		}
		var page []row
		rows, err := db.pool.Query(ctx, `SELECT id, tenant_id, pan_cipher, pan_index FROM cards WHERE id > $1 AND pan_index IS NOT NULL ORDER BY id LIMIT 500`, after)
		if err != nil {
			return moved, fmt.Errorf("listing cards: %w", err)
		}
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.tenant, &r.sealed, &r.index); err != nil {
				rows.Close()
				return moved, fmt.Errorf("listing cards: %w", err)
			}
			page = append(page, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return moved, fmt.Errorf("listing cards: %w", err)
		}
		if len(page) == 0 {
			return moved, nil
		}
		for _, r := range page {
			idx, err := index(r.tenant, r.id, r.sealed)
			if err != nil {
				return moved, fmt.Errorf("indexing card %s: %w", r.id, err)
			}
			if bytes.Equal(idx, r.index) {
				continue
			}
			tag, err := db.pool.Exec(ctx, `UPDATE cards SET pan_index = $3 WHERE id = $1 AND pan_index = $2`, r.id, r.index, idx)
			if err != nil {
				return moved, fmt.Errorf("re-indexing card %s: %w", r.id, err)
			}
			moved += int(tag.RowsAffected())
		}
		after = page[len(page)-1].id
	}
}
