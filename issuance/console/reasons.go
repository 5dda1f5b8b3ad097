package console

import "github.com/cardhost/cardhost/host"

// plainWords explains each of the host's reasons to a person (every
// reason of host.Reasons has a line: TestEveryReasonInPlainWords).
var plainWords = map[host.Reason]string{
	host.ReasonApproved:                 "Approved",
	host.ReasonPartialApproval:          "Approved in part (the rest exceeded a limit)",
	host.ReasonFormatError:              "The message had a missing or malformed field",
	host.ReasonInvalidTransaction:       "This kind of transaction is not supported",
	host.ReasonInvalidAmount:            "The amount was zero or too large",
	host.ReasonCardNotFound:             "No card has this number",
	host.ReasonCardNotActive:            "The card is not active yet",
	host.ReasonCardFrozen:               "The card is frozen",
	host.ReasonCardCanceled:             "The card is canceled",
	host.ReasonOneTimeCardUsed:          "The one-time card was already used",
	host.ReasonCardLost:                 "The card is blocked as lost",
	host.ReasonCardStolen:               "The card is blocked as stolen",
	host.ReasonCardBlocked:              "The card is blocked",
	host.ReasonCardExpired:              "The card has expired (or the expiry sent was wrong)",
	host.ReasonCVVInvalid:               "The magnetic stripe's CVV was wrong",
	host.ReasonICVVInvalid:              "The chip's iCVV was wrong",
	host.ReasonCVV2Invalid:              "The security code (CVV2) was wrong",
	host.ReasonARQCInvalid:              "The chip's cryptogram did not verify",
	host.ReasonCVNMismatch:              "The chip used another cryptogram version than the card's",
	host.ReasonATCReplay:                "The chip's transaction counter was replayed",
	host.ReasonPINInvalid:               "The PIN was wrong",
	host.ReasonPINTriesExceeded:         "Too many wrong PINs",
	host.ReasonMCCBlocked:               "The card's controls do not allow this kind of merchant",
	host.ReasonChannelNotAllowed:        "The card's controls do not allow this channel",
	host.ReasonCountryNotAllowed:        "The card's controls do not allow this country",
	host.Reason3DSNotAllowed:            "The card's controls do not allow 3-D Secure payments",
	host.ReasonSpendingAmount:           "A spending control's amount was exceeded",
	host.ReasonSpendingCount:            "A spending control's number of payments was exceeded",
	host.ReasonCardLimitExceeded:        "The card limit was exceeded",
	host.ReasonInsufficientFunds:        "The balance it spends (the card's or the program's) was too low",
	host.ReasonRefundExceedsSpent:       "The refund is larger than what the card spent",
	host.ReasonStandInDecline:           "The network declined it while standing in",
	host.ReasonSecurityViolation:        "The acquirer sent a PIN it cannot send (no zone PIN key)",
	host.ReasonDuplicate:                "A repeated message had different content",
	host.ReasonSystemError:              "The host could not decide (system error)",
	host.ReasonEntryModeNotSupported:    "The terminal's entry mode is not supported",
	host.ReasonCryptogramTypeInvalid:    "The chip did not ask for online authorization",
	host.ReasonCryptogramAmountMismatch: "The chip's cryptogram is for another amount",
	host.ReasonExpiryMissing:            "A card-not-present payment came without the expiry date",
	host.ReasonCVV2Missing:              "A card-not-present payment came without the security code the product requires",
	host.ReasonCVV2TriesExceeded:        "Too many wrong security codes (CVV2) in a row",
	host.ReasonMerchantBlocked:          "The merchant is blocked for a while (many failed card-not-present checks)",
	host.ReasonMACMissing:               "The acquirer's message had no MAC",
	host.ReasonMACInvalid:               "The acquirer's message MAC did not verify",
	host.ReasonPINFormatNotAllowed:      "The PIN block's format is not allowed for this acquirer",
	host.ReasonIssuerDeclined:           "The issuer's decision endpoint declined it",
	host.ReasonIssuerInsufficientFunds:  "The issuer's decision endpoint declined it: insufficient funds",
	host.ReasonIssuerSuspectedFraud:     "The issuer's decision endpoint declined it: suspected fraud",
	host.ReasonIssuerUnavailable:        "The issuer's decision endpoint did not answer in time; its default is to decline",
}

// reasonWords is a reason in plain words (its slug when it has none).
func reasonWords(r host.Reason) string {
	if w, ok := plainWords[r]; ok {
		return w
	}
	return string(r)
}

// decidedBy names who made a record's decision: the network for an
// advice of its stand-in decision, the issuer's real-time decision
// endpoint (or its default action when the endpoint failed, timed out or
// could not be asked in time), else cardhost.
func decidedBy(a *host.Authorization) string {
	if a.Kind == host.KindAdvice || a.Kind == host.KindReversalAdvice {
		return "network (stand-in)"
	}
	switch a.DecidedBy {
	case host.DecidedByIssuer:
		return "issuer"
	case host.DecidedByIssuerTimeout:
		return "issuer's default action (endpoint timed out)"
	case host.DecidedByIssuerError:
		return "issuer's default action (endpoint failed)"
	case host.DecidedByStandIn:
		return "issuer's default action (no time to ask)"
	}
	return "cardhost"
}
