// Package termsim is cardhost's terminal and card simulator: the library
// behind the termsim command. It talks to a host only over TCP (ISO 8583)
// and HTTP (the REST API), as a real acquirer, terminal or issuer back
// office does, so that what it proves about the host is what the published
// interface (docs/iso8583.md, docs/api.md, docs/events.md) promises.
//
// The pieces:
//
//   - Transport: a [Client] holding one ISO 8583 connection (2-byte length
//     framing, many requests in flight matched by STAN and terminal id,
//     per-request timeouts), [Client.Echo] (0800 echo test), [Client.Do]
//     (send a [Txn] and check the answer into a [Result]), and a
//     [BareServer]: the same codec and framing answering 00 without
//     deciding anything, the baseline of `termsim load --baseline`.
//   - Cards: a [Card] from a card file ([LoadCard], [ParseCardFile]), a
//     sandbox personalisation record ([OpenPerso], [PersoExport.Open]) or a
//     [CardSpec]. It lays out track 2 (CVV, iCVV), enciphers PIN blocks
//     under the acquirer's zone PIN key, and acts as the chip: [Card.Chip]
//     makes a genuine ARQC of the card's CVN (Visa 10, 18, 22; Mastercard
//     16, 17, 20, 21) with its own ATC, and [ChipRequest.CheckARPC] checks
//     the issuer's tag 91 with the method and key of that CVN.
//   - Terminal: a [Terminal] builds full requests (purchase, cash, refund,
//     balance inquiry, 0200, 0120 advice, 0220 capture, 0400/0420
//     reversal, partial reversal, retransmissions) with the tampering the
//     scenarios need (wrong ARQC, mismatched CVN, replayed ATC, wrong
//     CVV/iCVV/CVV2/PIN, bad field 55).
//   - Load: [RunLoad] drives connections x in-flight requests at a rate or
//     flat out, from a [Mix] of transaction kinds with expected codes,
//     with a log-linear [Histogram] for latency percentiles, and
//     [NewBaseline] compares a host run with a bare-server run.
//   - Scenarios: [ParseScenario] reads scenario files strictly (errors name
//     file and line), and a [Runner] sets them up through the REST API
//     ([API], [Issuer]) and replays them over ISO 8583, checking codes,
//     reasons, approval codes, ARPCs, amounts and Kafka events.
//
// Secrets: card data is held in emv's secret types (PAN, Track2, CVV,
// PINBlock, SecretBytes), which never print; errors and reports name
// fields, never their values.
//
// Ring: adapter. It may import iso, emv, emv/tlv and emv/pinblock from
// cardhost, and owns moov-io/iso8583 (client side), gopkg.in/yaml.v3
// (card, mix and scenario files) and franz-go (reading events). It must not
// import host or any other host/... package, issuance, kafka or cmd: it
// knows the host only through its published interfaces.
package termsim
