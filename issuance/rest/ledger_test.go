package rest_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/cardhost/cardhost/issuance/ledger"
)

type movementOut struct {
	TransferID    string         `json:"transfer_id"`
	Kind          string         `json:"kind"`
	Amount        int64          `json:"amount"`
	Currency      string         `json:"currency"`
	Account       string         `json:"account"`
	BalanceBefore int64          `json:"balance_before"`
	BalanceAfter  int64          `json:"balance_after"`
	Balance       ledger.Balance `json:"balance"`
	Program       ledger.Balance `json:"program_balance"`
}

// fundedProduct creates a product with a funding mode and an issue fee.
func fundedProduct(t *testing.T, ce *cardEnv, mode string, fee int64) string {
	t.Helper()
	var prd struct {
		ID          string `json:"product_id"`
		FundingMode string `json:"funding_mode"`
		IssueFee    int64  `json:"issue_fee"`
	}
	mustStatus(t, ce.do("POST", "/v1/card-products", map[string]any{
		"name": mode + " product", "layout_id": ce.cat.layout, "data_prep_template_id": ce.cat.template,
		"default_embosser_id": ce.cat.embosser, "currency": "EUR", "card_type": "VIRTUAL", "funding_mode": mode, "issue_fee": fee,
	}), 201).JSON(t, &prd)
	if prd.FundingMode != mode || prd.IssueFee != fee {
		t.Fatalf("product %+v", prd)
	}
	return prd.ID
}

func (ce *cardEnv) card(t *testing.T, product string) string {
	t.Helper()
	var c struct {
		ID          string `json:"card_id"`
		FundingMode string `json:"funding_mode"`
	}
	mustStatus(t, ce.do("POST", "/v1/cards", map[string]any{"product_id": product, "card_holder_name": "MONEY TEST"}), 201).JSON(t, &c)
	return c.ID
}

func TestMoneyRESTFlow(t *testing.T) {
	ce := newCardEnv(t)
	prepaid := fundedProduct(t, ce, "PREPAID", 150)

	// Without money the fee cannot be paid: no card, 409 with the balance.
	ans := ce.do("POST", "/v1/cards", map[string]any{"product_id": prepaid, "card_holder_name": "MONEY TEST"})
	p := mustStatus(t, ans, 409).problem(t)
	if p.Slug != "insufficient_funds" {
		t.Fatalf("problem %+v", p)
	}
	var short struct {
		Amount    int64                     `json:"amount"`
		Available int64                     `json:"available"`
		Currency  string                    `json:"currency"`
		Balances  map[string]ledger.Balance `json:"balances"`
	}
	ans.JSON(t, &short)
	if short.Amount != 150 || short.Available != 0 || short.Currency != "EUR" {
		t.Fatalf("insufficient_funds members %s", ans.Body)
	}
	var cards struct{ Data []struct{} }
	mustStatus(t, ce.do("GET", "/v1/cards?product_id="+prepaid, nil), 200).JSON(t, &cards)
	if len(cards.Data) != 0 {
		t.Fatalf("a card was created without its fee: %d", len(cards.Data))
	}

	var dep movementOut
	mustStatus(t, ce.do("POST", "/v1/simulator/deposits", map[string]any{"currency": "eur", "amount": 10000}, "Idempotency-Key", "dep-1"), 201).JSON(t, &dep)
	if dep.Kind != "deposit" || dep.BalanceBefore != 0 || dep.BalanceAfter != 10000 || dep.Currency != "EUR" {
		t.Fatalf("deposit %+v", dep)
	}
	// The same key and body replay; nothing moves twice.
	replay := ce.do("POST", "/v1/simulator/deposits", map[string]any{"currency": "eur", "amount": 10000}, "Idempotency-Key", "dep-1")
	if replay.Status != 201 || replay.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %d %s", replay.Status, replay.Header)
	}

	card := ce.card(t, prepaid)
	var bal struct{ Data []ledger.Balance }
	mustStatus(t, ce.do("GET", "/v1/balances", nil), 200).JSON(t, &bal)
	if len(bal.Data) != 1 || bal.Data[0] != (ledger.Balance{Currency: "EUR", Available: 9850, Posted: 9850}) {
		t.Fatalf("balances after the fee %+v", bal.Data)
	}

	var rch movementOut
	mustStatus(t, ce.do("POST", "/v1/cards/"+card+"/recharge", map[string]any{"amount": 2500}), 200).JSON(t, &rch)
	if rch.BalanceBefore != 0 || rch.BalanceAfter != 2500 || rch.Account != ledger.CardAccount(card) || rch.Program.Available != 7350 {
		t.Fatalf("recharge %+v", rch)
	}
	var wd movementOut
	mustStatus(t, ce.do("POST", "/v1/cards/"+card+"/withdraw", map[string]any{"amount": 500}), 200).JSON(t, &wd)
	if wd.BalanceBefore != 2500 || wd.BalanceAfter != 2000 || wd.Program.Available != 7850 {
		t.Fatalf("withdraw %+v", wd)
	}

	// A withdraw beyond the card's balance: 409 with both balances, and
	// nothing moves.
	ans = ce.do("POST", "/v1/cards/"+card+"/withdraw", map[string]any{"amount": 2001})
	mustStatus(t, ans, 409)
	ans.JSON(t, &short)
	if short.Available != 2000 || short.Balances["card"].Available != 2000 || short.Balances["program"].Available != 7850 {
		t.Fatalf("insufficient_funds members %s", ans.Body)
	}
	var cb ledger.CardBalance
	mustStatus(t, ce.do("GET", "/v1/cards/"+card+"/balance", nil), 200).JSON(t, &cb)
	if cb.FundingMode != "PREPAID" || cb.Available != 2000 || cb.Posted != 2000 || cb.Currency != "EUR" {
		t.Fatalf("card balance %+v", cb)
	}

	// Bad input changes nothing.
	for _, tc := range []struct {
		path   string
		body   any
		status int
		slug   string
	}{
		{"/v1/cards/" + card + "/recharge", map[string]any{"amount": 0}, 422, "validation_failed"},
		{"/v1/cards/" + card + "/recharge", map[string]any{"amount": -5}, 422, "validation_failed"},
		{"/v1/cards/" + card + "/recharge", map[string]any{"amount": 99999}, 409, "insufficient_funds"},
		{"/v1/cards/" + ce.card(t, ce.cat.product) + "/recharge", map[string]any{"amount": 100}, 409, "card_not_prepaid"},
		{"/v1/simulator/deposits", map[string]any{"currency": "EURO", "amount": 100}, 422, "validation_failed"},
		{"/v1/simulator/deposits", map[string]any{"currency": "EUR", "amount": 0}, 422, "validation_failed"},
	} {
		if got := mustStatus(t, ce.do("POST", tc.path, tc.body), tc.status).problem(t); got.Slug != tc.slug {
			t.Errorf("POST %s %v: %s, want %s", tc.path, tc.body, got.Slug, tc.slug)
		}
	}
	mustStatus(t, ce.do("GET", "/v1/cards/"+ce.card(t, ce.cat.product)+"/balance", nil), 409)
	mustStatus(t, ce.do("GET", "/v1/balances", nil), 200).JSON(t, &bal)
	if bal.Data[0].Available != 7850 {
		t.Fatalf("bad input moved money: %+v", bal.Data)
	}

	// The transfers: filters and cursor pagination.
	type transferList struct {
		Data []struct {
			ID     string `json:"transfer_id"`
			Kind   string `json:"kind"`
			CardID string `json:"card_id"`
			Amount int64  `json:"amount"`
		} `json:"data"`
		HasMore bool `json:"has_more"`
	}
	var all transferList
	mustStatus(t, ce.do("GET", "/v1/ledger/transfers", nil), 200).JSON(t, &all)
	if len(all.Data) != 4 || all.Data[0].Kind != "withdraw" || all.Data[3].Kind != "deposit" {
		t.Fatalf("transfers %+v", all.Data)
	}
	var page1, page2 transferList
	mustStatus(t, ce.do("GET", "/v1/ledger/transfers?limit=3", nil), 200).JSON(t, &page1)
	mustStatus(t, ce.do("GET", "/v1/ledger/transfers?limit=3&starting_after="+page1.Data[2].ID, nil), 200).JSON(t, &page2)
	if !page1.HasMore || len(page1.Data) != 3 || page2.HasMore || len(page2.Data) != 1 || page2.Data[0].Kind != "deposit" {
		t.Fatalf("pages %+v / %+v", page1, page2)
	}
	var byCard, byKind, byAccount transferList
	mustStatus(t, ce.do("GET", "/v1/ledger/transfers?card_id="+card, nil), 200).JSON(t, &byCard)
	mustStatus(t, ce.do("GET", "/v1/ledger/transfers?kind=fee", nil), 200).JSON(t, &byKind)
	mustStatus(t, ce.do("GET", "/v1/ledger/transfers?account_id="+ledger.CardAccount(card), nil), 200).JSON(t, &byAccount)
	if len(byCard.Data) != 3 || len(byKind.Data) != 1 || byKind.Data[0].Amount != 150 || len(byAccount.Data) != 2 {
		t.Fatalf("filters: card %d, kind %+v, account %d", len(byCard.Data), byKind.Data, len(byAccount.Data))
	}
	var none transferList
	mustStatus(t, ce.do("GET", "/v1/ledger/transfers?created_after=2999-01-01T00:00:00Z", nil), 200).JSON(t, &none)
	if len(none.Data) != 0 {
		t.Fatalf("created_after in the future listed %d", len(none.Data))
	}
	for _, q := range []string{"kind=gift", "card_id=nope", "account_id=nope", "created_after=yesterday", "limit=0"} {
		if got := mustStatus(t, ce.do("GET", "/v1/ledger/transfers?"+q, nil), 422).problem(t); got.Slug != "validation_failed" {
			t.Errorf("%s: %s", q, got.Slug)
		}
	}

	c := ledger.NewChecker()
	if err := ce.db.CheckLedger(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Finish(); len(v) > 0 {
		t.Fatalf("ledger check: %v", v)
	}
}

// TestConcurrentRechargesNeverOverdraw: recharges racing for one program
// balance move exactly what it holds.
func TestConcurrentRechargesNeverOverdraw(t *testing.T) {
	ce := newCardEnv(t)
	prepaid := fundedProduct(t, ce, "PREPAID", 0)
	mustStatus(t, ce.do("POST", "/v1/simulator/deposits", map[string]any{"currency": "EUR", "amount": 1000}), 201)
	cards := []string{ce.card(t, prepaid), ce.card(t, prepaid)}
	var n atomic.Int32
	answers := concurrently(12, func() response {
		i := n.Add(1)
		return ce.do("POST", "/v1/cards/"+cards[i%2]+"/recharge", map[string]any{"amount": 100}, "Idempotency-Key", fmt.Sprint("r-", i))
	})
	ok := 0
	for _, a := range answers {
		switch a.Status {
		case 200:
			ok++
		case 409:
		default:
			t.Errorf("recharge answered %d %s", a.Status, a.Body)
		}
	}
	if ok != 10 {
		t.Fatalf("%d recharges of 100 went through on a balance of 1000", ok)
	}
	c := ledger.NewChecker()
	if err := ce.db.CheckLedger(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Finish(); len(v) > 0 {
		t.Fatalf("ledger check: %v", v)
	}
}
