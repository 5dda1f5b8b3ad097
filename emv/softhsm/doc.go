// Package softhsm is cardhost's software hardware security module: an agent,
// modeled on upspin's Factotum, that performs cryptographic operations on
// keys named by reference and never hands out a clear key.
//
// Keys are [emv.KeyRecord] values kept in a [KeyStore] (PostgreSQL in
// production through issuance/postgres, [MemStore] in tests), each wrapped
// with AES-256-GCM under a local master key with its identity (type, TR-31
// usage, spec, KCV, tenant, reference, version, dates) bound as additional
// authenticated data, so a tampered record fails with [ErrKeyBlockAuth].
// The master key comes from a 0600 file or a hex value passed in [Config];
// [GenerateMasterKeyFile] makes one for sandbox runs.
//
// Every operation takes a key reference and checks that the key's type
// allows it (an IMK-AC cannot verify a PIN, a ZPK cannot make a CVV:
// [ErrKeyUsage]). Operations that create something use the active version;
// operations that verify or open also try retired versions still inside
// their UsableUntil, so rotation ([HSM.Rotate]) does not break cards or data
// made under the old version. Failed verifications are results (false, nil),
// not errors.
//
// Operations: ARQC verification and ARPC generation per CVN
// ([HSM.VerifyARQC], [HSM.GenerateARPC]); CVV, iCVV and CVV2 verification,
// CVV sets for data prep and CVV2 reveal; ICC master key derivation for
// personalisation, exported as TR-31 key blocks; PIN block translation and
// PIN verification (Visa PVV, IBM 3624 offset); PIN set over ECDH P-256 with
// the NIST SP 800-56C one-step KDF; issuer certificates signed from CSRs;
// PAN sealing (AES-GCM) and indexing (HMAC-SHA-256); key ceremonies
// (generate, import from components with KCV checks, export under a KEK,
// rotate, list). docs/hsm.md describes the key hierarchy and formats.
//
// Clear keys live only inside the HSM: unwrapped keys (with their expanded
// ciphers) are cached for [Config.CacheTTL] and wiped on eviction and by
// [HSM.Purge]; derived keys, PINs and intermediate blocks are wiped after
// use. No error, log value or panic carries key bytes, PINs, PIN blocks,
// PANs or CVVs. An [HSM] is safe for concurrent use.
//
// Ring: adapter. Package softhsm imports emv, emv/tlv and emv/pinblock and
// the standard library only; it must not import issuance, host, iso, kafka
// or any other adapter. Consumers declare the small interfaces they need
// (host.Verifier, issuance.Vault) and *HSM satisfies them.
package softhsm
