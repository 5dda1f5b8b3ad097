// Package host is cardhost's authorization domain: it decides what acquirers
// send over ISO 8583 (authorizations, financial requests, advices,
// captures and reversals) against the card's status, expiry, card
// verification data, PIN, risk controls, one-time rules, spending controls
// and limit, and answers chip cards with an ARPC.
//
// Ring: domain. It imports the standard library and the leaf packages iso,
// emv, emv/tlv and kafka, plus the issuance domain for the card model and
// its pure control predicates. It never imports an adapter (pgx, fiber,
// franz-go, moov): the ISO 8583 transport is host/isoserver, the ledger is
// implemented by host/postgres, the Verifier by emv/softhsm.
//
// # Decisions
//
// [Engine.Decide] turns a [Request] into a [Response]. Declines are values:
// every business decline is a [Decision] (an ISO response code and a
// [Reason] slug, both stored and published) with a nil error; an error means
// "could not decide" and the transport answers 96. The pipeline's order is
// one list in pipeline.go, in DESIGN.md's order: format, card look-up,
// status, expiry, card verification (CVV, iCVV, CVV2, ARQC), PIN, risk
// controls, one-time rules, spending controls and card limit, approve. Each
// step is a small function of the request, the card snapshot, the clock and
// (for the cryptographic ones) the Verifier, with its own table test.
//
// # Atomicity
//
// A decision is made on a snapshot of the card (possibly cached) and then
// committed in one [Ledger.Commit]: the card's new authorization state
// (spend counters, total, ATC, PIN tries, one-time cancellation), the
// authorization record and its outbox events, in one PostgreSQL round trip
// and transaction, guarded by the card's version. If the card changed since
// the snapshot (another authorization, a freeze over REST, another
// instance), the commit reports it stale and the engine decides again on a
// fresh snapshot. Concurrent authorizations on one card therefore can never
// spend past a control, and no state that decides an authorization lives
// only in one process's memory. Deciding again re-runs only what reads card
// state: the HSM's answers for the request (ARQC, ARPC, CVV, iCVV, CVV2,
// PIN) from the first attempt are reused (verified.go).
//
// # Retransmissions
//
// A request's match key (acquirer, terminal, STAN, transmission time, RRN
// and message class) is unique among stored records. A retransmission with
// the same content (Request.Fingerprint) gets the stored answer again and
// changes nothing; the same key with other content is declined 94.
package host
