package emv

import (
	"errors"
	"time"
)

// This file holds the persisted form of the software HSM's keys. It lives in
// package emv (a leaf) so that the PostgreSQL adapter can implement
// softhsm.KeyStore without importing softhsm: KeyRecord is plain data, and
// its Wrapped field is opaque ciphertext that only the HSM holding the
// master key can open.

// KeyType is what a key is for in cardhost's key hierarchy. The HSM checks
// it on every operation: an IMK-AC cannot verify a PIN, a ZPK cannot make a
// CVV.
type KeyType string

// Key types (DESIGN.md, "EMV and the software HSM"; docs/hsm.md).
const (
	KeyIMKAC  KeyType = "IMK-AC"  // issuer master key for application cryptograms (ARQC/ARPC)
	KeyIMKSMI KeyType = "IMK-SMI" // issuer master key for secure messaging integrity
	KeyIMKSMC KeyType = "IMK-SMC" // issuer master key for secure messaging confidentiality
	KeyCVK    KeyType = "CVK"     // card verification key pair (CVV, iCVV, CVV2)
	KeyPVK    KeyType = "PVK"     // PIN verification key (Visa PVV, IBM 3624 offset)
	KeyZPK    KeyType = "ZPK"     // zone PIN key (PIN blocks from acquirers, PIN set)
	KeyZAK    KeyType = "ZAK"     // zone authentication (MAC) key
	KeyKEK    KeyType = "KEK"     // key encryption / transport key (TMK, embosser keys)
	KeyCA     KeyType = "CA"      // ECDSA P-256 key that signs issuer certificates
	KeyECDH   KeyType = "ECDH"    // ECDH P-256 key for PIN-set key agreement
	KeyPANDEK KeyType = "PAN-DEK" // AES-256 data key that encrypts stored PANs
	KeyPANIDX KeyType = "PAN-IDX" // HMAC-SHA-256 key for the PAN look-up index
)

// KeySpec is the algorithm and size of a key's material.
type KeySpec string

// Key specs.
const (
	KeySpecTDES2      KeySpec = "TDES2"       // double-length TDES, 16 bytes
	KeySpecTDES3      KeySpec = "TDES3"       // triple-length TDES, 24 bytes
	KeySpecAES128     KeySpec = "AES128"      // 16 bytes
	KeySpecAES256     KeySpec = "AES256"      // 32 bytes
	KeySpecHMACSHA256 KeySpec = "HMAC-SHA256" // 32 random bytes
	KeySpecECP256     KeySpec = "EC-P256"     // NIST P-256 private scalar, 32 bytes
)

// KeyStatus is a key version's life-cycle state.
type KeyStatus string

// Key statuses. An active version is used for every operation; a retired
// version is still used to verify (cryptograms, CVVs, PINs) and to open
// data sealed under it until its UsableUntil time, and never to create
// anything new.
const (
	KeyActive  KeyStatus = "active"
	KeyRetired KeyStatus = "retired"
)

// Errors that a KeyStore implementation returns; the HSM re-exports them
// (softhsm.ErrKeyNotFound, softhsm.ErrKeyExists) so callers can use either.
var (
	// ErrKeyNotFound: no key record has that reference (and version).
	ErrKeyNotFound = errors.New("emv: key not found")
	// ErrKeyExists: a key record with that reference and version exists.
	ErrKeyExists = errors.New("emv: key already exists")
)

// KeyRecord is one version of one key as stored: metadata in the clear and
// the key material wrapped (AES-256-GCM) under the HSM's master key, with the
// identity fields bound as additional authenticated data so that changing
// the type, usage, spec, KCV, tenant, reference or version of a record makes
// it fail to unwrap. Status and UsableUntil are not bound: they change on
// rotation without re-wrapping.
type KeyRecord struct {
	Ref     string    // stable reference ("key_" + 26 base32 characters), shared by all versions
	Version int       // 1, 2, ... (rotation adds a version)
	Type    KeyType   // what the key is for
	Usage   string    // ANSI X9.143 (TR-31) key usage code derived from Type, e.g. "E0", "P0"
	Spec    KeySpec   // algorithm and size
	KCV     string    // key check value, 6 upper-case hex digits (EC keys: first 6 of the public key's SHA-256)
	Tenant  string    // owning tenant; "" for keys shared by all tenants
	Label   string    // free text for operators; never secret
	Status  KeyStatus // active or retired
	Created time.Time // when the version was created (UTC)
	// Activated is when the version became usable (UTC); equals Created
	// unless imported for later use.
	Activated time.Time
	// Expires is the end of the key's cryptoperiod (UTC); zero means none.
	Expires time.Time
	// UsableUntil is, for a retired version, until when it may still
	// verify and open (UTC); zero means not at all.
	UsableUntil time.Time
	// MasterKCV identifies the master key that wrapped the record.
	MasterKCV string
	// Wrapped is nonce (12) || AES-256-GCM ciphertext || tag (16).
	Wrapped []byte
}

// KeyFilter selects records for KeyStore.ListKeys. Zero fields match all.
type KeyFilter struct {
	Ref    string
	Type   KeyType
	Tenant string
	Status KeyStatus
}

// Match reports whether r passes the filter.
func (f KeyFilter) Match(r KeyRecord) bool {
	return (f.Ref == "" || f.Ref == r.Ref) &&
		(f.Type == "" || f.Type == r.Type) &&
		(f.Tenant == "" || f.Tenant == r.Tenant) &&
		(f.Status == "" || f.Status == r.Status)
}
