package tlv

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by [*Error]. Compare with errors.Is.
var (
	// ErrTruncated: the input ends inside a tag, a length or a value.
	ErrTruncated = errors.New("truncated data object")
	// ErrIndefiniteLength: the length byte is 0x80 (BER indefinite form),
	// which EMV does not allow.
	ErrIndefiniteLength = errors.New("indefinite length")
	// ErrLengthTooLong: the length field has more than 3 bytes or the value
	// is longer than MaxLength.
	ErrLengthTooLong = errors.New("length too long")
	// ErrNonMinimalLength: the length is not in its shortest form (for
	// example 0x81 0x05 instead of 0x05).
	ErrNonMinimalLength = errors.New("non-minimal length encoding")
	// ErrTagTooLong: the tag has more than 4 bytes.
	ErrTagTooLong = errors.New("tag too long")
	// ErrInvalidTag: a tag starts with 0x00 or 0xFF (padding or trailing
	// garbage), or a Tag value is not a well-formed tag.
	ErrInvalidTag = errors.New("invalid tag")
	// ErrTooDeep: constructed objects are nested deeper than MaxDepth.
	ErrTooDeep = errors.New("nesting too deep")
	// ErrDuplicateTag: List.Map found a tag twice at the top level.
	ErrDuplicateTag = errors.New("duplicate tag")
	// ErrInvalidObject: a TLV to encode mixes Value and Children, or gives a
	// primitive tag children.
	ErrInvalidObject = errors.New("invalid data object")
)

// Error is a decode or encode failure at a position in the input. For
// Decode, Offset is the byte offset from the start of the input where the
// failing data object (or nested list, for ErrTooDeep) begins; for List.Map
// it is the object's index. Tag is the
// failing object's tag when it was read (0 otherwise). Err is one of the
// package's sentinel errors. The message never contains value bytes.
type Error struct {
	Offset int
	Tag    Tag
	Err    error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Tag != 0 {
		return fmt.Sprintf("tlv: decoding tag %s at offset %d: %v", e.Tag, e.Offset, e.Err)
	}
	return fmt.Sprintf("tlv: decoding at offset %d: %v", e.Offset, e.Err)
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }
