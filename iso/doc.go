// Package iso is cardhost's ISO 8583:1987 wire layer: the message
// specification as one declarative table ([Fields], [Spec]), 2-byte
// big-endian length framing ([ReadFrame], [AppendFrame]), MTI constants and
// the request -> response MTI mapping ([ResponseMTI], [BaseMTI]), the layouts
// of the structured fields (48 [PrivateData], 54 [AdditionalAmount], 90
// [OriginalData], 95 [ReplacementAmounts]) and the response-code table
// ([ResponseCode]).
//
// Ring: leaf. It imports no other cardhost package; it owns
// github.com/moov-io/iso8583. Messages come in two forms over the same
// table and codec. *iso8583.Message values built on [Spec], read and
// written by [Unpack] and [Pack], serve termsim, the tests and tools, and
// are the reference. [FieldValues], read by [UnpackFields] and written by
// [FieldValues.Pack], is the same message as flat values without moov's
// field machinery (no map of field objects, one copy of the message): the
// ISO server's hot path. FuzzUnpackFields checks that both forms read and
// write every message identically, errors and partial messages included.
//
// Layout: moov-io/iso8583's specs.Spec87ASCII (ASCII MTI and numerics, each
// bitmap as 16 upper-case hex characters, ASCII LL/LLL length prefixes) with
// cardhost's changes: field 55 is LLL + raw BER-TLV bytes (the prefix counts
// bytes), field 48 is LLL + private elements `TT LL value`, fields 52, 64
// and 128 are 16 hex characters, and fields 70 (n3), 90 (n42), 95 (an42) and
// 128 are defined. docs/iso8583.md is the host interface specification built
// from this table; testdata/iso pins it with golden messages.
//
// Every field is read and written by one small codec (codec.go, used by
// both forms) that checks the length prefix and the field's character
// set, so a message that [Unpack] or [UnpackFields] accepts has only
// well-formed fields. Errors never contain field values: an [UnpackError]
// names the field number and a cause, and its RawMessage must never be
// logged.
//
// All functions are safe for concurrent use. An *iso8583.Message or a
// *FieldValues is not meant to be shared between goroutines while it is
// being built.
package iso
