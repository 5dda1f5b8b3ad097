// Package cvv2 holds the card-not-present verification rules of card
// products and cards, and the issuer's way out of a locked card:
//
//   - the CVV2 policy of a product: [Required] (the default), a key-entered
//     or e-commerce authorization without a CVV2 declines; or [IfPresent],
//     the CVV2 is verified only when the acquirer sends one;
//   - the most consecutive wrong CVV2s a card takes ([DefaultMaxTries]):
//     past it, its card-not-present requests decline until the issuer
//     resets the counter ([Service.ResetTries], POST
//     /v1/cards/{id}/cvv2-tries/reset: audited, published as
//     card.cvv2_tries_reset).
//
// A card copies its product's policy and limit when it is made (as it
// copies the product's controls); the authorization host (package host)
// applies them and keeps the counter in the card's authorization state.
//
// Ring: domain, one room beside package issuance (which is full). It
// imports issuance and kafka; it must not import adapters
// (issuance/postgres, issuance/rest) or any driver. Rejections are
// *issuance.Error values with issuance's slugs.
package cvv2
