package isoserver

import (
	"errors"
	"fmt"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
)

// echoed are the request fields every response repeats when the request
// has them (docs/iso8583.md, "Responses"). Field 4 is then replaced by the
// approved amount on a partial approval.
var echoed = [...]int{
	iso.FieldPAN, iso.FieldProcessingCode, iso.FieldAmount, iso.FieldTransmissionTime,
	iso.FieldSTAN, iso.FieldLocalTime, iso.FieldLocalDate, iso.FieldAcquirerID,
	iso.FieldRRN, iso.FieldTerminal, iso.FieldMerchant, iso.FieldCurrency,
	iso.FieldNetworkCode, iso.FieldOriginalData,
}

// errEngineResponse: the engine answered something that cannot be sent.
var errEngineResponse = errors.New("engine response cannot be sent")

// newResponse returns a response with MTI mti, the echoed fields of req
// (nil for none) and response code code. Values are checked when packing.
func newResponse(req *iso.FieldValues, mti string, code iso.ResponseCode) *iso.FieldValues {
	m := iso.NewFieldValues(mti)
	for _, id := range echoed {
		if req.Has(id) {
			m.Echo(req, id) // shares the request's copy of its message
		}
	}
	m.Set(iso.FieldResponseCode, string(code))
	return m
}

// decisionResponse builds the response carrying the engine's answer: the
// echoed fields, 39, and 4 (approved amount), 38 (approval code, approvals
// only), 54 (balances) and 55 (ICC response data) as the answer has them.
// It also returns how many balances it left out of field 54 because their
// 12 digits cannot carry them (docs/iso8583.md section 5.10): field 54 is
// informational, so such a balance does not cost the answer.
func decisionResponse(req *iso.FieldValues, mti string, in *host.Request, r *host.Response) (*iso.FieldValues, int, error) {
	code := r.Code
	if !code.Known() {
		return nil, 0, fmt.Errorf("%w: response code %q is not in the table", errEngineResponse, string(code))
	}
	m := newResponse(req, mti, code)
	if code == iso.PartialApproval && (r.Amount <= 0 || r.Amount >= in.Amount) {
		return nil, 0, fmt.Errorf("%w: partial approval amount out of range", errEngineResponse)
	}
	if req.Has(iso.FieldAmount) && (r.Amount > 0 || code == iso.PartialApproval) {
		amount, ok := iso.FormatAmount(r.Amount)
		if !ok {
			return nil, 0, fmt.Errorf("%w: amount out of range", errEngineResponse)
		}
		m.Set(iso.FieldAmount, amount)
	}
	if code.Approved() && r.ApprovalCode != "" {
		m.Set(iso.FieldApprovalCode, r.ApprovalCode)
	}
	omitted := 0
	if len(r.Balances) > 0 {
		entries := make([]iso.AdditionalAmount, 0, len(r.Balances))
		for _, b := range r.Balances {
			if b.Amount > iso.MaxAmount || b.Amount < -iso.MaxAmount {
				omitted++ // 10^12 minor units or more: not a 12-digit amount
				continue
			}
			entries = append(entries, iso.AdditionalAmount{AccountType: b.AccountType, AmountType: b.AmountType, Currency: b.Currency, Amount: b.Amount})
		}
		if len(entries) > 0 {
			v, err := iso.EncodeAdditionalAmounts(entries)
			if err != nil {
				return nil, 0, fmt.Errorf("%w: %w", errEngineResponse, err)
			}
			m.Set(iso.FieldAdditionalAmounts, v)
		}
	}
	if len(r.ICC) > 0 {
		m.SetBytes(iso.FieldICC, r.ICC)
	}
	return m, omitted, nil
}
