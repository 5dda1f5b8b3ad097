package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/kafka"
)

// Reissue implements reissue.Store: in one transaction it locks the card
// (and its latest order), lets decide build the old card's change and the
// new card, writes the change (the old card closed or linked, its events),
// clears the old card's PAN index when the new card keeps the PAN, writes
// the new card as CreateCard does (order, embossing job, accounts,
// events), and for a PREPAID card moves the old card's available balance
// to the new card's account by a reissue transfer (ledger.reissue). It
// returns the new card. Errors: decide's, issuance.ErrPANTaken (draw
// again), issuance.ErrNotFound.
func (db *DB) Reissue(ctx context.Context, tenantID, id string, keepPAN bool, decide func(*issuance.CardChange) (issuance.NewCard, error)) (issuance.Card, error) {
	var out issuance.Card
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		c, err := scanCard(tx.QueryRow(ctx, `SELECT `+cardColumns+` FROM cards WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, id))
		if err != nil {
			return err
		}
		var n issuance.NewCard
		if _, err := changeLocked(ctx, tx, c, func(ch *issuance.CardChange) error {
			n, err = decide(ch)
			return err
		}); err != nil {
			return err
		}
		if keepPAN {
			if _, err := tx.Exec(ctx, `UPDATE cards SET pan_index = NULL WHERE id = $1`, c.ID); err != nil {
				return fmt.Errorf("releasing the old card's PAN index: %w", err)
			}
		}
		n.Card.FundingMode = fundingMode(n.Card.FundingMode)
		if err := writeNewCard(ctx, tx, &n, now); err != nil {
			return err
		}
		if err := carryBalance(ctx, tx, &c, &n.Card, now); err != nil {
			return err
		}
		out = n.Card
		return nil
	})
	return out, err
}

// carryBalance moves a PREPAID card's available balance (posted credits
// less posted and pending debits) to its reissue, with its event. Money
// that the old card's holds release later stays on the old card's account.
func carryBalance(ctx context.Context, tx pgx.Tx, old, c *issuance.Card, now time.Time) error {
	if fundingMode(old.FundingMode) != ledger.ModePrepaid {
		return nil
	}
	from, to := ledger.CardAccount(old.ID), ledger.CardAccount(c.ID)
	a, err := scanAccount(tx.QueryRow(ctx, `SELECT `+accountColumns+` FROM ledger_accounts WHERE id = $1 FOR UPDATE`, from))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // the old card never had money
	}
	if err != nil {
		return fmt.Errorf("reading the old card's balance: %w", err)
	}
	amount := a.Available()
	if amount <= 0 {
		return nil
	}
	t := ledger.New(ledger.KindReissue, c.TenantID, from, to, amount, c.Currency, now)
	t.CardID = c.ID
	ts := []ledger.Transfer{t}
	res, err := applyTransfers(ctx, tx, ts, now)
	if err != nil {
		return err
	}
	ev, err := ledger.MoneyEvent(kafka.TypeLedgerReissue, string(ledger.KindReissue), ts, to, res, "", now)
	if err != nil {
		return err
	}
	return insertEvents(ctx, tx, []kafka.Event{ev})
}
