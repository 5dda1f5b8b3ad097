// Package alias accepts the seed guides' request shapes where they mean
// what cardhost's own names mean (issue 15, docs/api.md "Guide field
// names"). It holds one table, [Bodies], of the field names the five seed
// guides (QPay, OffBlocks, UQPay, Pismo, PintoPay) send in request bodies,
// each mapped to cardhost's native name or marked as having none, and
// [Headers], the same for request headers; and [Decode], the one strict
// JSON decoder of request bodies, which applies the table before decoding.
//
// Aliases never widen validation: a field sent under a guide's name is
// renamed to its native name before the strict decode, so it is decoded
// and validated exactly as the native field (and errors name the native
// field); two names for one field in one body are refused
// (conflicting_fields); a guide's field that cardhost has no equivalent
// for is refused with a message that names what cardhost calls it or says
// that it has none; any other unknown field is refused as before.
//
// Where a guide sends a value in its own shape, an entry declares a
// [Conversion] (UQPay's amounts in major units, its "Y"/"N" booleans,
// Pismo's per-transaction limit as a decimal string): the value is
// checked and made cardhost's before the strict decode, and refused under
// the name it was sent with when it cannot be. A native field's own shape
// never changes: the guide's shape is read only in the guide's body (an
// alias's Convert, or the fields an alias's Dialect names in a body that
// uses that alias). What the body alone cannot settle is [Deferred] to the
// request type: amounts wait for their currency's exponent ([SetAmounts]),
// facts about the cardholder for its record ([CheckFacts]).
//
// It sits in the domain ring beside issuance and imports only the
// standard library and the leaf issuance/isocode, so that package
// issuance (batch items) and issuance/rest (every request body) share it.
// It must not import issuance or any adapter. It is safe for concurrent
// use.
package alias
