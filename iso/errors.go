package iso

import (
	"errors"
	"fmt"
	"log/slog"
)

// Causes of unreadable messages and fields. They never carry field values;
// callers branch on them with errors.Is.
var (
	// ErrShort: the message ends inside the field.
	ErrShort = errors.New("message ends inside the field")
	// ErrLength: the length prefix is not digits, is zero, or is over the
	// field's maximum; or a fixed field has the wrong length when packing.
	ErrLength = errors.New("bad field length")
	// ErrCharset: the value holds characters its format does not allow.
	ErrCharset = errors.New("characters not allowed by the field format")
	// ErrUnknownField: the bitmap names a field the specification does not
	// define.
	ErrUnknownField = errors.New("field not defined by the specification")
	// ErrTrailingData: bytes follow the last field of the message.
	ErrTrailingData = errors.New("data after the last field")
	// ErrMalformed: the MTI or bitmap is unreadable, or the field is
	// malformed in another way.
	ErrMalformed = errors.New("malformed field")
	// ErrInvalidValue: a structured field (7, 48, 54, 90, 95) has a valid
	// character set but a value its layout does not allow.
	ErrInvalidValue = errors.New("invalid field value")
	// ErrMissingMTI: a message to pack has no MTI.
	ErrMissingMTI = errors.New("message has no MTI")
)

// UnpackError reports a message that [Unpack] could not read. It names the
// field and the cause, and carries the MTI and STAN when they were readable
// so that a server can still answer with response code 30.
//
// Its Error text and LogValue never contain field values. RawMessage holds
// the whole message, card data included: it must never be logged, printed
// or stored.
type UnpackError struct {
	// Field is the field number that could not be read: 0 the MTI, 1 the
	// bitmap, 2-128 a data field. For ErrTrailingData it is the last field
	// read.
	Field int
	// Err is the cause: one of ErrShort, ErrLength, ErrCharset,
	// ErrUnknownField, ErrTrailingData, ErrMalformed.
	Err error
	// MTI is the message's MTI, "" when it was unreadable.
	MTI string
	// STAN is field 11, "" when it was absent or unreadable.
	STAN string
	// RawMessage is the message as received. Never log it.
	RawMessage []byte
}

// Error returns "unpacking field N: cause" (no field values).
func (e *UnpackError) Error() string {
	return fmt.Sprintf("unpacking field %d: %v", e.Field, e.Err)
}

// Unwrap returns the cause.
func (e *UnpackError) Unwrap() error { return e.Err }

// GoString keeps RawMessage out of %#v.
func (e *UnpackError) GoString() string {
	return fmt.Sprintf("&iso.UnpackError{Field:%d, Err:%q, MTI:%q, STAN:%q}", e.Field, e.Err, e.MTI, e.STAN)
}

// MTIReadable reports whether the message's MTI could be read.
func (e *UnpackError) MTIReadable() bool { return e.MTI != "" }

// LogValue implements slog.LogValuer with the field, cause, MTI and STAN
// only: never the raw message.
func (e *UnpackError) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("field", e.Field),
		slog.String("cause", e.Err.Error()),
		slog.String("mti", e.MTI),
		slog.String("stan", e.STAN),
	)
}

// FieldError reports a field whose value cannot be used: a structured
// field's layout (7, 48, 54, 90, 95), or a value refused when packing. It
// never contains the value.
type FieldError struct {
	// Field is the field number.
	Field int
	// Element is the field 48 element tag ("" for other fields).
	Element string
	// Err is the cause (ErrLength, ErrCharset, ErrInvalidValue...).
	Err error
}

// Error returns "field N: cause" or "field 48 element TT: cause".
func (e *FieldError) Error() string {
	if e.Element != "" {
		return fmt.Sprintf("field %d element %s: %v", e.Field, e.Element, e.Err)
	}
	return fmt.Sprintf("field %d: %v", e.Field, e.Err)
}

// Unwrap returns the cause.
func (e *FieldError) Unwrap() error { return e.Err }

// FieldOf returns the field number named by err (an *UnpackError or a
// *FieldError anywhere in its chain), or -1.
func FieldOf(err error) int {
	var ue *UnpackError
	if errors.As(err, &ue) {
		return ue.Field
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return -1
}
