// Package iso is cardhost's ISO 8583:1987 wire layer: the message
// specification as one declarative table ([Fields], [Spec]), 2-byte
// big-endian length framing ([ReadFrame], [AppendFrame]), MTI constants and
// the request -> response MTI mapping ([ResponseMTI], [BaseMTI]), the layouts
// of the structured fields (48 [PrivateData], 54 [AdditionalAmount], 90
// [OriginalData], 95 [ReplacementAmounts]) and the response-code table
// ([ResponseCode]).
//
// Ring: leaf. It imports no other cardhost package; it owns
// github.com/moov-io/iso8583, so messages are *iso8583.Message values built
// on [Spec] and read with GetString (no reflection-based struct marshalling
// on the hot path).
//
// Layout: moov-io/iso8583's specs.Spec87ASCII (ASCII MTI and numerics, each
// bitmap as 16 upper-case hex characters, ASCII LL/LLL length prefixes) with
// cardhost's changes: field 55 is LLL + raw BER-TLV bytes (the prefix counts
// bytes), field 48 is LLL + private elements `TT LL value`, fields 52, 64
// and 128 are 16 hex characters, and fields 70 (n3), 90 (n42), 95 (an42) and
// 128 are defined. docs/iso8583.md is the host interface specification built
// from this table; testdata/iso pins it with golden messages.
//
// Every field is read by one small codec that checks the length prefix and
// the field's character set, so a message that [Unpack] accepts has only
// well-formed fields. Errors never contain field values: an [UnpackError]
// names the field number and a cause, and its RawMessage must never be
// logged.
//
// All functions are safe for concurrent use. An *iso8583.Message is not
// meant to be shared between goroutines while it is being built.
package iso
