package host

import "github.com/cardhost/cardhost/issuance"

// stepFormat checks what the transport cannot: mandatory fields per message
// kind, supported processing codes and amounts. It runs before the card
// look-up and needs no card.
func stepFormat(r *Request) Decision {
	if r.Kind == KindUnknown {
		return Decline(ReasonInvalidTransaction)
	}
	if r.STAN == "" || r.TransmissionTime == "" || !digits(r.STAN, 6) || !digits(r.TransmissionTime, 10) {
		return Decline(ReasonFormatError)
	}
	if r.PAN == "" || len(r.PAN) < 12 || len(r.PAN) > 19 || !allDigits(string(r.PAN)) {
		return Decline(ReasonFormatError)
	}
	if !luhn(string(r.PAN)) {
		return Decline(ReasonCardNotFound)
	}
	if !digits(r.ProcessingCode, 6) || !digits(r.Currency, 3) {
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
	if r.Terminal == "" || !digits(r.EntryMode, 3) || !digits(r.MCC, 4) {
		return Decline(ReasonFormatError)
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

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func digits(s string, n int) bool { return len(s) == n && allDigits(s) }

// luhn reports whether a digit string passes the Luhn (mod 10) check.
func luhn(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
