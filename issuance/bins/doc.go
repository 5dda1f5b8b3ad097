// Package bins is the vocabulary of BIN ranges: the card-number ranges the
// operator assigns to a tenant (`cardhost tenants add-bin`). A range is an
// IIN prefix of 6 to 8 digits and holds every card number that starts with
// it; ranges never overlap, so a range belongs to exactly one tenant and
// every card inside it is that tenant's.
//
// The card domain uses them where a caller chooses card numbers: a data
// prep template's IIN (and so every product and generated PAN) and an
// imported PAN must lie in one of the tenant's own ranges. The answer
// outside them is the same whatever other tenants hold, and it is given
// before the PAN index is looked up, so that `pan_taken` can only be about
// the tenant's own card (docs/api.md, BIN ranges).
//
// It is a leaf of the domain ring: it imports only the standard library
// and iso/digit, so that package issuance (which embeds [Store] in its
// catalog store) and issuance/catalog (which manages ranges) can both use
// it. It must not import issuance or any adapter.
package bins
