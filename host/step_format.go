package host

import (
	"github.com/cardhost/cardhost/iso/digit"
	"github.com/cardhost/cardhost/issuance"
)

// stepFormat checks what the transport cannot: mandatory fields per message
// kind, supported processing codes, entry modes (the allow-list of
// entrymode.go) and amounts. It runs before the card look-up and needs no
// card.
func stepFormat(r *Request) Decision {
	if r.Kind == KindUnknown {
		return Decline(ReasonInvalidTransaction)
	}
	if r.STAN == "" || r.TransmissionTime == "" || !digit.N(r.STAN, 6) || !digit.N(r.TransmissionTime, 10) {
		return Decline(ReasonFormatError)
	}
	if r.PAN == "" || len(r.PAN) < 12 || len(r.PAN) > 19 || !digit.All(string(r.PAN)) {
		return Decline(ReasonFormatError)
	}
	if !digit.LuhnValid(string(r.PAN)) {
		return Decline(ReasonCardNotFound)
	}
	if !digit.N(r.ProcessingCode, 6) || !digit.N(r.Currency, 3) {
		return Decline(ReasonFormatError)
	}
	switch r.TxnType() {
	case TxnPurchase, TxnCash, TxnRefund, TxnBalanceInquiry:
	default:
		return Decline(ReasonInvalidTransaction)
	}
	if r.TxnType() == TxnBalanceInquiry && r.Kind != KindAuthorization && r.Kind != KindFinancial {
		return Decline(ReasonInvalidTransaction)
	}
	switch r.Kind {
	case KindReversal, KindReversalAdvice, KindCapture:
		if r.Original == nil && r.RRN == "" {
			return Decline(ReasonFormatError)
		}
		if r.Amount < 0 || r.Amount > issuance.MaxAmount {
			return Decline(ReasonInvalidAmount)
		}
		return Decision{}
	}
	if r.Terminal == "" || !digit.N(r.EntryMode, 3) || !digit.N(r.MCC, 4) {
		return Decline(ReasonFormatError)
	}
	// An advice reports the network's stand-in decision: it is recorded
	// whatever its entry mode.
	if _, ok := entryModeOf(r.EntryMode); !ok && r.Kind != KindAdvice {
		return Decline(ReasonEntryModeNotSupported)
	}
	if r.TxnType() == TxnBalanceInquiry {
		if r.Amount != 0 {
			return Decline(ReasonInvalidAmount)
		}
		return Decision{}
	}
	if r.Amount <= 0 || r.Amount > issuance.MaxAmount {
		return Decline(ReasonInvalidAmount)
	}
	return Decision{}
}
