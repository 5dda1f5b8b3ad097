package host

import "github.com/cardhost/cardhost/host/merchantguard"

// MerchantGuardConfig configures the guard against BIN attacks
// (merchantguard.Config): a merchant whose card-not-present requests fail
// verification on many distinct cards in a short window has them declined
// merchant_blocked (59) for a while, and the issuers whose cards it hit
// get a merchant.blocked event.
type MerchantGuardConfig = merchantguard.Config

// failureReasons are the declines that count against a merchant: the
// answers a guesser of card numbers, expiries and CVV2s gets.
var failureReasons = map[Reason]bool{
	ReasonCardNotFound: true, ReasonCardExpired: true, ReasonExpiryMissing: true,
	ReasonCVV2Invalid: true, ReasonCVV2Missing: true, ReasonCVV2TriesExceeded: true,
}
