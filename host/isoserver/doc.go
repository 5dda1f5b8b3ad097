// Package isoserver is cardhost's ISO 8583 TCP server: the door through
// which acquirers and networks send authorizations, advices, captures,
// reversals and network management messages.
//
// It accepts many connections, reads 2-byte length-framed messages (package
// iso), decodes each into a [host.Request], asks an [Engine] for the
// decision and writes the response back on the same connection. Messages
// are read with iso.UnpackFields and answers built and packed as
// iso.FieldValues: flat values, without moov-io/iso8583's map of field
// objects on the hot path, and checked against moov's path (iso.Unpack,
// iso.Pack) by FuzzUnpackFields in package iso. Requests on
// one connection are decided concurrently by a bounded pool of workers
// ([Config.MaxInFlight]) and answered as soon as each is decided, so
// responses may come back in a different order than requests: acquirers
// match them by STAN (field 11) and terminal (field 41). A single writer
// goroutine per connection batches responses and flushes when its queue is
// empty.
//
// The server answers some messages itself, without the engine:
//   - 0800 network management (70 = 001 sign-on, 002 sign-off, 301 echo)
//     with an 0810, response code 00;
//   - a message with a readable MTI but a malformed field, or without a
//     STAN, with response code 30 (format error) on the same connection;
//   - an engine error with response code 96 (system malfunction).
//
// With [Config.Acquirers] and [Config.MAC] it authenticates messages
// (mac.go): the MAC in field 64 (or 128 with a secondary bitmap) of a
// message whose acquirer has a zone MAC key is verified by the HSM, a
// message that fails is passed to the engine as refused (recorded as a
// 63 decline, mac_missing or mac_invalid, nothing decided), and answers to
// that acquirer are MACed.
//
// A length header of zero or over 8,192 bytes, or an unreadable MTI, cannot
// be recovered from: the server answers what is already in flight on that
// connection, then closes it. Other connections are not disturbed.
//
// Nothing this package logs holds card data: logs carry MTIs, STANs,
// terminal and acquirer ids, field numbers and causes, never field values
// (iso.UnpackError.RawMessage is never logged).
//
// Ring: adapter. It imports host (the domain), iso, emv (secret value
// types) and emv/tlv; its tests also use github.com/moov-io/iso8583 and
// iso8583-connection, as acquirers built on them would. It must not
// import other adapters (issuance/..., kafka/...) nor cmd (termsim's
// packages included).
package isoserver
