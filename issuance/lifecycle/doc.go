// Package lifecycle holds the card lifecycle rules the seed guides need
// (issue 15, point 4) as data and pure functions: a card's validity
// (validity_period_hours, valid_until, TEMPORARY cards), the dynamic CVV2's
// rotation counter and its grace, the bounds of an expiration_date given
// at creation, and the embossing custom field's syntax.
//
// It is a leaf beside issuance/dataprep: issuance embeds its Fields in
// issuance.Card and its Request in issuance.CardRequest, and the
// authorization host reads Fields to verify a dynamic CVV2. It imports no
// cardhost package but issuance/dataprep's leaves and must never import
// issuance (which imports it) or an adapter.
package lifecycle
