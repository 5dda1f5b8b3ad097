// Package pinblock builds and parses ISO 9564-1 PIN blocks: formats 0, 1 and
// 3 (8 bytes, enciphered with TDES) and format 4 (16 bytes, enciphered with
// AES together with the PAN field), and translates enciphered blocks between
// keys and formats.
//
// Two layers:
//
//   - [Encipher], [Decipher] and [Translate] work on PIN digits as byte
//     slices, take any cipher.Block of the right size, and zero every
//     intermediate clear block. The software HSM uses these and wipes the
//     PIN digits it gets back.
//   - [ISO0], [ISO1], [ISO3] and [ISO4] mirror moov-io/pinblock's per-format
//     objects (Encode(pin, pan) and Decode(block, pan) with hex strings, ISO
//     1 without a PAN, ISO 4 holding its cipher) so that callers written
//     against either library look alike and the two can be swapped.
//
// Random fill (formats 1, 3 and 4) comes from an io.Reader that defaults to
// crypto/rand.Reader and can be replaced for deterministic tests.
//
// Decoding is strict: a wrong control field, a PIN length outside 4-12, a
// non-decimal PIN digit or a wrong fill (F for format 0, A-F for format 3,
// A for format 4) is rejected with an error wrapping [ErrMalformed]. A PAN
// that differs from the one the block was built with shows up as one of
// these in most cases; with formats 0 and 3 a PAN that differs only in the
// digits overlapping the PIN can still decode, to a different PIN, which
// verification then rejects. Errors never contain PIN digits, blocks or
// PANs.
//
// Ring: leaf. Package pinblock imports only the standard library; it must not
// import other cardhost packages (so that package emv may use it).
package pinblock
