// Package dataprep prepares card data from a data prep template: PANs in
// the template's IIN (Luhn-valid, random account digits), printed expiry
// dates from a product's validity, EMV 5F20 printed names, track 2
// equivalent data, and the personalisation record an embosser (or, in
// sandbox mode, the terminal simulator) receives, sealed under a transport
// key by the HSM.
//
// Everything here is a pure function of its inputs (and of an io.Reader
// for randomness): the secrets themselves (CVVs, sealed PANs, ICC master
// keys, the sealing of the record) come from the HSM, which the card domain
// calls by key reference. [OpenRecord] is the reference implementation, in
// standard-library crypto only, of what a record's recipient does to open
// it (docs/perso.md). No PAN, CVV, track or key value appears in an error.
//
// Ring: a leaf below the card domain. Package dataprep imports only the
// standard library and emv (+ emv/pinblock); it must not import issuance,
// any adapter (postgres, rest, softhsm) or kafka, so that the card domain
// (package issuance) can call it without an import cycle. It does no I/O
// of its own. (CONVENTIONS.md lists dataprep among the adapters; it was
// made a leaf because card creation, which lives in the domain, runs data
// prep synchronously.)
package dataprep
