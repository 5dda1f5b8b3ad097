package iso

// ReplacementAmounts is field 95 (an42): actual amount (12) + actual
// settlement amount (12) + actual transaction fee (C/D + 8) + actual
// settlement fee (C/D + 8). In a partial reversal, Actual is the amount
// that stays authorized.
type ReplacementAmounts struct {
	// Actual is the amount that stays authorized, in minor units.
	Actual int64 `json:"actual"`
	// Settlement is the actual settlement amount, in minor units.
	Settlement int64 `json:"settlement"`
	// TransactionFee is signed: positive is C, negative is D.
	TransactionFee int64 `json:"transaction_fee"`
	// SettlementFee is signed: positive is C, negative is D.
	SettlementFee int64 `json:"settlement_fee"`
}

// ParseReplacementAmounts decodes field 95.
func ParseReplacementAmounts(s string) (ReplacementAmounts, error) {
	if len(s) != 42 {
		return ReplacementAmounts{}, &FieldError{Field: FieldReplacementAmounts, Err: ErrLength}
	}
	var r ReplacementAmounts
	var ok [4]bool
	r.Actual, ok[0] = ParseAmount(s[0:12])
	r.Settlement, ok[1] = ParseAmount(s[12:24])
	r.TransactionFee, ok[2] = parseSigned(s[24], s[25:33])
	r.SettlementFee, ok[3] = parseSigned(s[33], s[34:42])
	if !ok[0] || !ok[1] || !ok[2] || !ok[3] {
		return ReplacementAmounts{}, &FieldError{Field: FieldReplacementAmounts, Err: ErrInvalidValue}
	}
	return r, nil
}

// Encode returns field 95's value.
func (r ReplacementAmounts) Encode() (string, error) {
	actual, ok1 := FormatAmount(r.Actual)
	settlement, ok2 := FormatAmount(r.Settlement)
	txFee, ok3 := formatSigned(r.TransactionFee, 8)
	stFee, ok4 := formatSigned(r.SettlementFee, 8)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return "", &FieldError{Field: FieldReplacementAmounts, Err: ErrInvalidValue}
	}
	return actual + settlement + txFee + stFee, nil
}
