// Package emv holds cardhost's EMV and card-security algorithms as pure
// functions over clear keys, each tested against published vectors in
// testdata/vectors, and the secret value types that keep card data out of
// logs.
//
// The algorithms:
//
//   - Key check values: [KCV] (TDES encrypt-zeros, AES CMAC per ANSI
//     X9.24-1:2017 7.7) and [KCVWithMethod]; [XORComponents] for key
//     ceremonies; [CMAC] (NIST SP 800-38B).
//   - ICC master keys: [DeriveICCMasterKey] (EMV Book 2 A1.4: Option A up to
//     16 PAN digits, Option B above), [DeriveICCMasterKeyA],
//     [DeriveICCMasterKeyB], [DeriveICCMasterKeyWith] for a cached issuer
//     master key cipher.
//   - Session keys: [DeriveSessionKeyEMV] (common session key, A1.3.1),
//     [DeriveSessionKeyMastercard] (M/Chip SKD with ATC and UN),
//     [DeriveSessionKeyVisaSM] (Visa secure messaging),
//     [DeriveSessionKeyUnionPay] (UICS / PBOC: ATC and its complement),
//     [DeriveSessionKey].
//   - Networks ([Network], [ParseNetwork], [NetworkOf]): Visa, Mastercard
//     and UnionPay, their RIDs and IIN ranges.
//   - The CVN registry ([CVN], [LookupCVN], [LookupCVNCode]): Visa CVN 10,
//     18, 22, Mastercard M/Chip CVN 16, 17, 20, 21 and UnionPay CVN 01,
//     one literal in cvn.go.
//   - Cryptograms: [ACInput] builds the AC input from chip data, [ParseIAD]
//     splits 9F10, [GenerateAC] and [VerifyARQC] compute and check the ARQC,
//     [GenerateARPC] and [IssuerAuthenticationData] answer with tag 91;
//     building blocks [ApplicationCryptogram], [ARPCMethod1], [ARPCMethod2].
//   - Card verification: [GenerateCVV], [GenerateICVV], [GenerateCVV2],
//     [VerifyCVV]; PIN verification: [PVV], [VerifyPVV], IBM 3624
//     [IBM3624Offset], [IBM3624PIN], [VerifyIBM3624Offset].
//   - MACs: ISO/IEC 9797-1 [MACAlgorithm1] and [MACAlgorithm3] (retail MAC)
//     with padding methods 1, 2 and 3 ([Pad]).
//
// Conventions. Keys are clear []byte; functions that return keys return
// [SecretBytes], and CVVs come back as [CVV], so a derived key or card code
// cannot be printed, logged or marshalled by accident. Declines are values:
// a wrong ARQC, CVV, PVV or PIN is (false, nil); an error means the input
// could not be used. Every error wraps a sentinel ([ErrKeyLength], [ErrHex],
// [ErrPAN], [ErrDigits], [ErrLength], [ErrMissingTag], [ErrUnknownCVN],
// [ErrPadding], [ErrIAD], [ErrUnsupported]) for errors.Is, and carries
// lengths and positions only: never key bytes, PANs, PINs or CVVs.
// Comparisons of cryptograms and codes are constant-time. Every function is
// safe for concurrent use.
//
// Chip data is passed as a map from tag to value. The cryptogram functions
// are generic over the key type (any type based on uint32), so callers can
// pass the tlv package's tag maps without conversion.
//
// DES and TDES are cardhost's own (package emv/internal/dea, written from
// FIPS 46-3 for a key schedule that costs a tenth of crypto/des's): see
// docs/crypto.md, "DES".
//
// Ring: leaf. Package emv imports only the standard library (and may import
// emv/tlv, emv/pinblock, iso/digit and its own emv/internal/dea); it must
// not import any other cardhost package, do I/O, read the clock or log. The software HSM (emv/softhsm) calls these functions with
// the keys it unwraps; the terminal simulator uses them to act as a card.
package emv
