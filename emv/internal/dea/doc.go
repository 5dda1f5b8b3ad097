// Package dea is cardhost's own single-DES block cipher: the Data
// Encryption Algorithm of FIPS 46-3, written from that specification's
// tables.
//
// It exists for the cost of the key schedule. Every chip authorization
// derives an ICC master key and a session key, each a double-length TDES key
// that is expanded into two single-DES schedules before a handful of blocks
// are enciphered under it. crypto/des builds each schedule bit by bit (and
// allocates while doing so), which made key expansion about 9% of the host's
// CPU (issue 17). Here PC-1 and PC-2 are lookup tables built once from the
// FIPS 46-3 tables, the 28-bit halves C and D rotate in registers, and
// [Cipher.SetKey] writes the sixteen subkeys into the cipher value without
// allocating. The rounds use combined S-box and P tables.
//
// A [Cipher] is a plain value, so a TDES type can hold two or three of them
// inline; [EncryptEDE] and [DecryptEDE] run TDES (encrypt, decrypt, encrypt)
// over three schedules without the inner final and initial permutations,
// which cancel. Parity bits (the low bit of every key byte) are ignored, as
// in crypto/des. The code is table-driven like crypto/des: it does not branch
// on key or data bits, but table lookups are indexed by them.
//
// What holds it to the standard: the NIST known-answer tests in
// testdata/vectors/des_kat.json (NIST SP 800-20 Appendix A: variable
// plaintext, inverse permutation, variable key, permutation operation and
// substitution table tests; FIPS 81 Appendix B's ECB example), checked by
// emv's TestDESKnownAnswers; this package's own tests of its tables against
// the FIPS 46-3 ones and of random keys and blocks against crypto/des; and
// emv's FuzzDES, which compares single, double- and triple-length use with
// crypto/des.
//
// Ring: leaf, internal to emv. Package dea imports only the standard
// library; only emv (and its tests) may import it.
package dea
