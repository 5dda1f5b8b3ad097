// Package reissue reissues cards (POST /v1/cards/{id}/reissue; issue 15,
// point 4): a replacement with a new PAN, or a renewal that keeps the PAN
// with a new expiry. The old card is closed (CANCELED, reason reissued)
// unless it already was (BLOCKED, EXPIRED, INOPERATIVE), and names its
// successor; the new card takes the old card's product, cardholder, type,
// printed name, controls, spending settings, metadata, addresses,
// embosser and lifecycle settings; a PREPAID card's available balance
// moves to it through the ledger (a reissue transfer) in the same
// transaction.
//
// It is a room beside issuance, like issuance/cvv2: it imports issuance
// (the card domain and its Service's data prep), issuance/lifecycle and
// kafka, and defines the one store method it needs (Store), implemented
// by issuance/postgres. It must not import an adapter.
package reissue
