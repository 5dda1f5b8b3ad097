package softhsm

import (
	"errors"

	"github.com/cardhost/cardhost/emv"
)

// Sentinel errors. Every error the HSM returns wraps one of these (or a
// KeyStore failure) and never carries key material, PINs, PIN blocks, PANs
// or CVVs. Note that a failed verification (wrong ARQC, CVV or PIN) is not
// an error: the methods return false with a nil error.
var (
	// ErrKeyNotFound: no key has that reference (or version, or it belongs to
	// another tenant). Same value as emv.ErrKeyNotFound.
	ErrKeyNotFound = emv.ErrKeyNotFound
	// ErrKeyExists: a key with that reference and version already exists.
	// Same value as emv.ErrKeyExists.
	ErrKeyExists = emv.ErrKeyExists
	// ErrKeyUsage: the key's type does not allow the operation (an IMK-AC
	// asked to verify a PIN, a ZPK asked for a CVV, a retired version asked
	// to create something).
	ErrKeyUsage = errors.New("softhsm: key usage not allowed")
	// ErrKeyBlockAuth: a key record failed authentication under the master
	// key: its header (type, usage, KCV, ...) or its wrapped bytes were
	// changed, or it was wrapped under another master key.
	ErrKeyBlockAuth = errors.New("softhsm: key block authentication failed")
	// ErrKeyExpired: the key is outside its validity (not yet activated,
	// expired, or retired past its UsableUntil).
	ErrKeyExpired = errors.New("softhsm: key expired or not yet active")
	// ErrNoMasterKey: Config gave no master key, or it could not be read.
	ErrNoMasterKey = errors.New("softhsm: no master key")
	// ErrMasterKey: the master key file or value is malformed (length,
	// hex, file permissions).
	ErrMasterKey = errors.New("softhsm: invalid master key")
	// ErrKCVMismatch: an imported key or component does not have the
	// check value the ceremony stated; nothing was stored.
	ErrKCVMismatch = errors.New("softhsm: key check value mismatch")
	// ErrKeySpec: the requested algorithm or size does not fit the key type,
	// or key material has the wrong length.
	ErrKeySpec = errors.New("softhsm: key spec not allowed for key type")
	// ErrWeakKey: an imported TDES key is a single-length DES key in
	// disguise (its halves, or two of its thirds, are equal): it would give
	// DES strength under a TDES label. Nothing was stored.
	ErrWeakKey = errors.New("softhsm: TDES key with equal halves (single-length DES)")
	// ErrInvalidInput: a request field is malformed (PAN, PSN, expiry,
	// service code, component count, PIN block length...).
	ErrInvalidInput = errors.New("softhsm: invalid input")
	// ErrCSR: a certificate signing request is malformed, has a bad
	// signature or a key other than ECDSA P-256.
	ErrCSR = errors.New("softhsm: certificate request rejected")
	// ErrPublicKey: a peer public key is malformed or not on P-256.
	ErrPublicKey = errors.New("softhsm: invalid public key")
	// ErrSealed: sealed PAN data is malformed or fails authentication
	// (wrong tenant/card binding or tampering).
	ErrSealed = errors.New("softhsm: sealed data rejected")
	// ErrPINBlock: a PIN block is malformed (wrong format, fill, length, or
	// PAN binding). A PIN verification with such a block is a decline.
	ErrPINBlock = errors.New("softhsm: PIN block malformed")
	// ErrNotExportable: the key type may not leave the HSM (CA, ECDH,
	// PAN-DEK, PAN-IDX) or the transport key is not an AES KEK.
	ErrNotExportable = errors.New("softhsm: key not exportable")
)

// ErrWrongMasterKey: the key store holds keys wrapped under a master key
// other than the HSM's (a second master key was generated, or the
// configuration points at the wrong key file). Returned, as a
// *MasterKeyMismatch, by CheckMasterKey and StoredMasterKCVs' users.
var ErrWrongMasterKey = errors.New("softhsm: keys are wrapped under another master key")
