// Package terminal is the terminal and card side of cardhost's simulator,
// the library behind the termsim command (with its siblings loadgen and
// scenario). It talks to a host only over TCP (ISO 8583), as a real
// acquirer or terminal does, so that what it proves about the host is what
// the published interface (docs/iso8583.md) promises.
//
// The pieces:
//
//   - Transport: a [Client] holding one ISO 8583 connection (2-byte length
//     framing, many requests in flight matched by STAN and terminal id,
//     per-request timeouts, [WithTLS]), [Client.Echo] (0800 echo test) and
//     [Client.Do] (send a [Txn] and check the answer into a [Result]).
//   - Cards: a [Card] from a card file ([LoadCard], [ParseCardFile]), a
//     sandbox personalisation record ([OpenPerso], [PersoExport.Open]) or a
//     [CardSpec]. It lays out track 2 (CVV, iCVV), enciphers PIN blocks
//     under the acquirer's zone PIN key, and acts as the chip: [Card.Chip]
//     makes a genuine ARQC of the card's CVN (Visa 10, 18, 22; Mastercard
//     16, 17, 20, 21; UnionPay 1) with its own ATC, and [ChipRequest.CheckARPC] checks
//     the issuer's tag 91 with the method and key of that CVN.
//   - Terminal: a [Terminal] builds full requests (purchase, cash, refund,
//     balance inquiry, 0200, 0120 advice, 0220 capture, 0400/0420
//     reversal, partial reversal, retransmissions) with the tampering the
//     scenarios need (wrong ARQC, mismatched CVN, replayed ATC, wrong
//     CVV/iCVV/CVV2/PIN, bad field 55).
//
// Secrets: card data is held in emv's secret types (PAN, Track2, CVV,
// PINBlock, SecretBytes), which never print; errors and reports name
// fields, never their values.
//
// Ring: adapter. It may import iso, emv, emv/tlv and emv/pinblock from
// cardhost, and owns moov-io/iso8583 (client side) and gopkg.in/yaml.v3
// (card files). It must not import host or any other host/... package,
// issuance, or its siblings loadgen and scenario (they import it): it
// knows the host only through its published interfaces.
package terminal
