// Package tlv decodes and encodes BER-TLV data objects as carried in ISO 8583
// field 55 (ICC data): the chip's request data (9F26 ARQC, 9F10 issuer
// application data, 9F36 ATC, ...) and the issuer's response (91 issuer
// authentication data, 71/72 issuer scripts).
//
// The decoder is strict. Besides plain truncation it rejects indefinite
// lengths (0x80), length fields longer than 3 bytes or values longer than
// [MaxLength], non-minimal length encodings (0x81 followed by a value under
// 0x80, 0x82 with a leading zero byte), tags longer than 4 bytes, padding or
// garbage where a tag must start (0x00 and 0xFF) and constructed objects
// whose value is not itself a complete TLV sequence. Because every accepted
// encoding is the canonical one, [List.Encode] of a decoded [List]
// reproduces the input byte for byte; the fuzz target FuzzDecode checks this.
//
// Decode failures are [*Error] values carrying the byte offset and one of the
// sentinel errors ([ErrTruncated], [ErrIndefiniteLength], ...), for use with
// errors.Is and errors.As. Error messages never contain value bytes: field 55
// can carry track 2 equivalent data (tag 57) and the PAN (tag 5A).
//
// Ring: leaf. Package tlv imports only the standard library; it must not
// import any other cardhost package.
package tlv
