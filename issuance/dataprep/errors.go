package dataprep

import "errors"

// Sentinel errors. Every error this package returns wraps one of them and
// names lengths or rules only, never a PAN, CVV, PIN or key value.
var (
	// ErrIIN: an IIN is not 6 to 11 digits, or leaves no room for account
	// digits in the requested PAN length.
	ErrIIN = errors.New("dataprep: invalid IIN or PAN length")
	// ErrPAN: a PAN is not 12 to 19 digits or fails the Luhn check.
	ErrPAN = errors.New("dataprep: invalid PAN")
	// ErrExpiry: an expiry is not a YYMM month, or a validity is out of range.
	ErrExpiry = errors.New("dataprep: invalid expiry")
	// ErrPrintedName: a printed name breaks the EMV 5F20 rules (2 to 26
	// characters, A-Z and space).
	ErrPrintedName = errors.New("dataprep: invalid printed name")
	// ErrTrack2: a track 2 element has the wrong length or is not numeric.
	ErrTrack2 = errors.New("dataprep: invalid track 2 element")
	// ErrRecord: a sealed personalisation record is malformed or does not
	// open under the key (wrong key, wrong card, or tampered).
	ErrRecord = errors.New("dataprep: personalisation record rejected")
)
