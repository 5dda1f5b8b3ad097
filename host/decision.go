package host

import "github.com/cardhost/cardhost/iso"

// Reason is the internal slug stored and published with every decision.
type Reason string

// Decline reasons (DESIGN.md, "Reason -> response code").
const (
	ReasonApproved           Reason = "approved"
	ReasonPartialApproval    Reason = "partial_approval"
	ReasonFormatError        Reason = "format_error"
	ReasonInvalidTransaction Reason = "invalid_transaction"
	ReasonInvalidAmount      Reason = "invalid_amount"
	ReasonCardNotFound       Reason = "card_not_found"
	ReasonCardNotActive      Reason = "card_not_active"
	ReasonCardFrozen         Reason = "card_frozen"
	ReasonCardCanceled       Reason = "card_canceled"
	ReasonOneTimeCardUsed    Reason = "one_time_card_used"
	ReasonCardLost           Reason = "card_lost"
	ReasonCardStolen         Reason = "card_stolen"
	ReasonCardBlocked        Reason = "card_blocked"
	ReasonCardExpired        Reason = "card_expired"
	ReasonCVVInvalid         Reason = "cvv_invalid"
	ReasonICVVInvalid        Reason = "icvv_invalid"
	ReasonCVV2Invalid        Reason = "cvv2_invalid"
	ReasonARQCInvalid        Reason = "arqc_invalid"
	ReasonCVNMismatch        Reason = "cvn_mismatch"
	ReasonATCReplay          Reason = "atc_replay"
	ReasonPINInvalid         Reason = "pin_invalid"
	ReasonPINTriesExceeded   Reason = "pin_tries_exceeded"
	ReasonMCCBlocked         Reason = "mcc_blocked"
	ReasonChannelNotAllowed  Reason = "channel_not_allowed"
	ReasonCountryNotAllowed  Reason = "country_not_allowed"
	Reason3DSNotAllowed      Reason = "3ds_not_allowed"
	ReasonSpendingAmount     Reason = "spending_control_amount"
	ReasonSpendingCount      Reason = "spending_control_count"
	ReasonCardLimitExceeded  Reason = "card_limit_exceeded"
	// A refund larger than what the card has spent (card_limit's total).
	ReasonRefundExceedsSpent Reason = "refund_exceeds_spent"
	ReasonStandInDecline     Reason = "stand_in_declined"  // an advice of a decline made by the network
	ReasonSecurityViolation  Reason = "security_violation" // PIN block from an acquirer without a zone PIN key
	ReasonDuplicate          Reason = "duplicate_transmission"
	ReasonSystemError        Reason = "system_error"
)

// Reasons of the entry-mode allow-list and of the chip data bound to the
// request (issue 12).
const (
	// ReasonEntryModeNotSupported: field 22 is not in the entry-mode
	// allow-list (entrymode.go).
	ReasonEntryModeNotSupported Reason = "entry_mode_not_supported"
	// ReasonCryptogramTypeInvalid: the cryptogram is not an ARQC (9F27, or
	// the CVR in 9F10): a decline (AAC) or an offline approval (TC) sent
	// for online authorization.
	ReasonCryptogramTypeInvalid Reason = "cryptogram_type_invalid"
	// ReasonCryptogramAmountMismatch: the amount or currency the cryptogram
	// covers (9F02, 5F2A) is not the request's (fields 4 and 49, or field 6
	// in the card's currency).
	ReasonCryptogramAmountMismatch Reason = "cryptogram_amount_mismatch"
)

// Reasons of the card-not-present rules (issue 12, points 1 and 2;
// step_cnp.go and merchant.go).
const (
	// ReasonExpiryMissing: a card-not-present request (key entry,
	// e-commerce) without field 14.
	ReasonExpiryMissing Reason = "expiry_missing"
	// ReasonCVV2Missing: a card-not-present request without a CVV2 (field
	// 48 element 01) for a card whose product's cvv2_policy is REQUIRED.
	ReasonCVV2Missing Reason = "cvv2_missing"
	// ReasonCVV2TriesExceeded: the card's consecutive wrong CVV2s reached
	// its cvv2_max_tries; its card-not-present requests (and any request
	// with a CVV2) decline until the issuer resets the counter.
	ReasonCVV2TriesExceeded Reason = "cvv2_tries_exceeded"
	// ReasonMerchantBlocked: the merchant (fields 32 and 42) failed
	// card-not-present verifications on many cards in a short window (a
	// BIN attack); its card-not-present requests decline for a while.
	ReasonMerchantBlocked Reason = "merchant_blocked"
)

// Reasons of message authentication and of the acquirer's PIN block
// formats (issue 12; docs/iso8583.md sections 5.9 and 5.15). All answer 63,
// security violation: the acquirer's security set-up is at fault, not the
// card.
const (
	// ReasonMACMissing: the acquirer requires a MAC (fields 64/128) and
	// the message has none.
	ReasonMACMissing Reason = "mac_missing"
	// ReasonMACInvalid: the message's MAC does not verify under any live
	// version of the acquirer's ZAK, or the acquirer has no ZAK.
	ReasonMACInvalid Reason = "mac_invalid"
	// ReasonPINFormatNotAllowed: field 52 is a well-formed PIN block in a
	// format the acquirer is not configured for (format 1, not bound to
	// the PAN, unless allowed). The PIN is not checked nor counted.
	ReasonPINFormatNotAllowed Reason = "pin_block_format_not_allowed"
)

// ReasonInsufficientFunds: a funded card's funding account (its own
// balance, or the program balance) has less available than the amount
// (issue 13, docs/ledger.md); partial approval applies to it.
const ReasonInsufficientFunds Reason = "insufficient_funds"

// reasonCodes maps every reason to its ISO response code, row by row as in
// DESIGN.md.
var reasonCodes = map[Reason]iso.ResponseCode{
	ReasonApproved:           iso.Approved,
	ReasonPartialApproval:    iso.PartialApproval,
	ReasonFormatError:        iso.FormatError,
	ReasonInvalidTransaction: iso.InvalidTransaction,
	ReasonInvalidAmount:      iso.InvalidAmount,
	ReasonCardNotFound:       iso.InvalidCardNumber,
	ReasonCardNotActive:      iso.RestrictedCard,
	ReasonCardFrozen:         iso.RestrictedCard,
	ReasonCardCanceled:       iso.RestrictedCard,
	ReasonOneTimeCardUsed:    iso.RestrictedCard,
	ReasonCardLost:           iso.LostCard,
	ReasonCardStolen:         iso.StolenCard,
	ReasonCardBlocked:        iso.RestrictedCard,
	ReasonCardExpired:        iso.ExpiredCard,
	ReasonCVVInvalid:         iso.CryptographicFailure,
	ReasonICVVInvalid:        iso.CryptographicFailure,
	ReasonCVV2Invalid:        iso.CryptographicFailure,
	ReasonARQCInvalid:        iso.CryptographicFailure,
	ReasonCVNMismatch:        iso.CryptographicFailure,
	ReasonATCReplay:          iso.CryptographicFailure,
	ReasonPINInvalid:         iso.IncorrectPIN,
	ReasonPINTriesExceeded:   iso.PINTriesExceeded,
	ReasonMCCBlocked:         iso.NotPermittedToCardholder,
	ReasonChannelNotAllowed:  iso.NotPermittedToCardholder,
	ReasonCountryNotAllowed:  iso.NotPermittedToCardholder,
	Reason3DSNotAllowed:      iso.NotPermittedToCardholder,
	ReasonSpendingAmount:     iso.ExceedsAmountLimit,
	ReasonSpendingCount:      iso.ExceedsFrequencyLimit,
	ReasonCardLimitExceeded:  iso.InsufficientFunds,
	ReasonRefundExceedsSpent: iso.InvalidAmount,
	ReasonSecurityViolation:  iso.SecurityViolation,
	ReasonStandInDecline:     iso.DoNotHonor,
	ReasonDuplicate:          iso.DuplicateTransmission,
	ReasonSystemError:        iso.SystemMalfunction,

	ReasonEntryModeNotSupported:    iso.NotPermittedToTerminal,
	ReasonCryptogramTypeInvalid:    iso.CryptographicFailure,
	ReasonCryptogramAmountMismatch: iso.CryptographicFailure,

	ReasonExpiryMissing:     iso.FormatError,
	ReasonCVV2Missing:       iso.CryptographicFailure,
	ReasonCVV2TriesExceeded: iso.CryptographicFailure,
	ReasonMerchantBlocked:   iso.SuspectedFraud,

	ReasonMACMissing:          iso.SecurityViolation,
	ReasonMACInvalid:          iso.SecurityViolation,
	ReasonPINFormatNotAllowed: iso.SecurityViolation,

	ReasonIssuerDeclined:          iso.DoNotHonor,
	ReasonIssuerInsufficientFunds: iso.InsufficientFunds,
	ReasonIssuerSuspectedFraud:    iso.SuspectedFraud,
	ReasonIssuerUnavailable:       iso.DoNotHonor,
	ReasonInsufficientFunds:       iso.InsufficientFunds,
}

// Code returns the reason's ISO response code (96 for an unknown reason).
func (r Reason) Code() iso.ResponseCode {
	if c, ok := reasonCodes[r]; ok {
		return c
	}
	return iso.SystemMalfunction
}

// Reasons returns every reason in the table, for docs and tests.
func Reasons() []Reason {
	out := make([]Reason, 0, len(reasonCodes))
	for r := range reasonCodes {
		out = append(out, r)
	}
	return out
}

// Decision is the outcome of the pipeline: a response code and the reason
// behind it. Declines are values: a step that declines returns a Decision,
// never an error. The zero Decision means "no decision yet" (continue).
type Decision struct {
	Code   iso.ResponseCode
	Reason Reason
}

// Decline returns the Decision for reason r.
func Decline(r Reason) Decision { return Decision{Code: r.Code(), Reason: r} }

// Approve is the approval Decision.
var Approve = Decision{Code: iso.Approved, Reason: ReasonApproved}

// Decided reports whether d holds a decision (the zero value does not).
func (d Decision) Decided() bool { return d.Code != "" }

// Approved reports whether d approves (fully or partially).
func (d Decision) Approved() bool { return d.Code.Approved() }
