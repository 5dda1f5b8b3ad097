package ledger

import (
	"context"
	"sort"
	"time"

	"github.com/cardhost/cardhost/issuance"
)

// SettlementLine is what the clearing records of one day add up to for one
// currency, record type and outcome (Store.Settlement).
type SettlementLine struct {
	Currency string // ISO 4217 alpha
	Type     string // purchase, refund, reversal
	// Unmatched: the records matched no authorization (force posted, or
	// for a reversal nothing to take back).
	Unmatched bool
	Count     int
	Amount    int64
}

// Total is a number of records and their amount.
type Total struct {
	Count  int   `json:"count"`
	Amount int64 `json:"amount"`
}

// SettlementCurrency is the day's settlement in one currency: what the
// clearing records presented, refunded and reversed, and the net the
// issuer owes the networks (presentments less refunds and reversals).
type SettlementCurrency struct {
	Currency    string `json:"currency"`
	Presentment Total  `json:"presentments"`
	Refunds     Total  `json:"refunds"`
	Reversals   Total  `json:"reversals"`
	// Unmatched counts the records of any type that matched no
	// authorization (their amounts are in the totals above too).
	Unmatched Total `json:"unmatched"`
	Net       int64 `json:"net" doc:"presentments less refunds and reversals, minor units"`
}

// SettlementReport is the daily settlement report per currency.
type SettlementReport struct {
	Date       string               `json:"date" doc:"YYYY-MM-DD, UTC"`
	Currencies []SettlementCurrency `json:"currencies"`
}

// BuildSettlement adds lines up into the day's report, currencies in
// alphabetical order.
func BuildSettlement(day time.Time, lines []SettlementLine) SettlementReport {
	per := map[string]*SettlementCurrency{}
	for _, l := range lines {
		c := per[l.Currency]
		if c == nil {
			c = &SettlementCurrency{Currency: l.Currency}
			per[l.Currency] = c
		}
		t := Total{Count: l.Count, Amount: l.Amount}
		switch l.Type {
		case ClearingPurchase:
			c.Presentment = add(c.Presentment, t)
			c.Net += l.Amount
		case ClearingRefund:
			c.Refunds = add(c.Refunds, t)
			c.Net -= l.Amount
		case ClearingReversal:
			c.Reversals = add(c.Reversals, t)
			c.Net -= l.Amount
		}
		if l.Unmatched {
			c.Unmatched = add(c.Unmatched, t)
		}
	}
	out := SettlementReport{Date: day.UTC().Format(time.DateOnly), Currencies: []SettlementCurrency{}}
	for _, c := range per {
		out.Currencies = append(out.Currencies, *c)
	}
	sort.Slice(out.Currencies, func(i, j int) bool { return out.Currencies[i].Currency < out.Currencies[j].Currency })
	return out
}

func add(a, b Total) Total { return Total{Count: a.Count + b.Count, Amount: a.Amount + b.Amount} }

// Settlement returns a tenant's settlement report for a day ("YYYY-MM-DD",
// UTC; validation_failed otherwise). An empty tenantID reports every
// tenant (the operator command).
func (s *Service) Settlement(ctx context.Context, tenantID, date string) (SettlementReport, error) {
	day, err := time.Parse(time.DateOnly, date)
	if err != nil {
		var v issuance.Validator
		v.Add("date", "invalid", "a day as YYYY-MM-DD (UTC)")
		return SettlementReport{}, v.Err()
	}
	lines, err := s.d.Store.Settlement(ctx, tenantID, day)
	if err != nil {
		return SettlementReport{}, err
	}
	return BuildSettlement(day, lines), nil
}
