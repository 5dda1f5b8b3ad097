package iso

import (
	"strings"

	"github.com/cardhost/cardhost/iso/digit"
)

// Field 54 amount types.
const (
	// AmountTypeLedger is the ledger (current) balance.
	AmountTypeLedger = "01"
	// AmountTypeAvailable is the available balance.
	AmountTypeAvailable = "02"
)

// additionalAmountLen is the length of one field 54 entry.
const additionalAmountLen = 20

// AdditionalAmount is one field 54 entry: account type (2) + amount type
// (2) + currency (3) + sign C/D (1) + amount (12).
type AdditionalAmount struct {
	// AccountType is 2 digits, as in field 3 positions 3-6 (00 default, 10
	// savings, 20 checking, 30 credit).
	AccountType string `json:"account_type"`
	// AmountType is 2 digits: AmountTypeLedger or AmountTypeAvailable.
	AmountType string `json:"amount_type"`
	// Currency is the ISO 4217 numeric code (3 digits).
	Currency string `json:"currency"`
	// Amount is in minor units, signed: positive is C (credit balance),
	// negative is D (debit balance).
	Amount int64 `json:"amount"`
}

// ParseAdditionalAmounts decodes field 54: 1 to 6 entries of 20 characters.
func ParseAdditionalAmounts(s string) ([]AdditionalAmount, error) {
	if len(s) == 0 || len(s)%additionalAmountLen != 0 {
		return nil, &FieldError{Field: FieldAdditionalAmounts, Err: ErrLength}
	}
	out := make([]AdditionalAmount, 0, len(s)/additionalAmountLen)
	for ; len(s) > 0; s = s[additionalAmountLen:] {
		e := s[:additionalAmountLen]
		a := AdditionalAmount{AccountType: e[0:2], AmountType: e[2:4], Currency: e[4:7]}
		amount, ok := parseSigned(e[7], e[8:20])
		if !ok || !digit.All(e[0:7]) {
			return nil, &FieldError{Field: FieldAdditionalAmounts, Err: ErrInvalidValue}
		}
		a.Amount = amount
		out = append(out, a)
	}
	return out, nil
}

// EncodeAdditionalAmounts encodes entries as field 54's value.
func EncodeAdditionalAmounts(entries []AdditionalAmount) (string, error) {
	maxEntries := fieldDefs[FieldAdditionalAmounts].Length / additionalAmountLen
	if len(entries) == 0 || len(entries) > maxEntries {
		return "", &FieldError{Field: FieldAdditionalAmounts, Err: ErrLength}
	}
	var b strings.Builder
	b.Grow(len(entries) * additionalAmountLen)
	for _, a := range entries {
		amount, ok := formatSigned(a.Amount, 12)
		if !ok || len(a.AccountType) != 2 || len(a.AmountType) != 2 || len(a.Currency) != 3 ||
			!digit.All(a.AccountType+a.AmountType+a.Currency) {
			return "", &FieldError{Field: FieldAdditionalAmounts, Err: ErrInvalidValue}
		}
		b.WriteString(a.AccountType)
		b.WriteString(a.AmountType)
		b.WriteString(a.Currency)
		b.WriteString(amount)
	}
	return b.String(), nil
}
