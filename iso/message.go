package iso

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/moov-io/iso8583"
	mooverrors "github.com/moov-io/iso8583/errors"
	"github.com/moov-io/iso8583/field"
)

// NewMessage returns an empty message on [Spec] with its MTI set.
func NewMessage(mti string) *iso8583.Message {
	m := iso8583.NewMessage(Spec)
	m.MTI(mti)
	return m
}

// Unpack reads a packed message: the payload of one frame, without its
// length header. Every field is checked against the specification, and
// bytes after the last field are an error.
//
// On failure the error is an *[UnpackError]. When the MTI was readable,
// Unpack also returns the partial message holding the fields read before
// the failing one, so that a server can echo them in its response-code-30
// answer; the partial message must not be used for anything else.
func Unpack(b []byte) (*iso8583.Message, error) {
	m := iso8583.NewMessage(Spec)
	if err := m.Unpack(b); err != nil {
		return unpackFailure(m, b, err)
	}
	if m.Bitmap().Len() > maxFieldID {
		// Bit 65 was set: the codec read it as announcing a third bitmap,
		// but field 65 is not in the table.
		return unpackFailure(m, b, &FieldError{Field: fieldTertiaryBitmap, Err: ErrUnknownField})
	}

	// moov stops after the last field in the bitmap: count what it read.
	fields := m.GetFields()
	read := mtiLength + m.Bitmap().Len()/4 // 16 hex characters per 64 bits
	last := FieldBitmap
	for id, f := range fields {
		if id <= FieldBitmap {
			continue
		}
		read += int(fieldDefs[id].Prefix)
		switch v := f.(type) {
		case *field.String:
			read += len(v.Value())
		case *field.Binary:
			read += len(v.Value())
		}
		last = max(last, id)
	}
	if read != len(b) {
		return m, &UnpackError{
			Field:      last,
			Err:        ErrTrailingData,
			MTI:        valueOf(fields, FieldMTI),
			STAN:       valueOf(fields, FieldSTAN),
			RawMessage: b,
		}
	}
	return m, nil
}

// mtiLength is the length of the MTI on the wire.
const mtiLength = 4

// fieldTertiaryBitmap is bit 65, which ISO 8583:1987 uses to announce a
// third bitmap; cardhost's table has no field 65, so a message with it set
// is answered 30 naming field 65.
const fieldTertiaryBitmap = 65

func unpackFailure(m *iso8583.Message, b []byte, err error) (*iso8583.Message, error) {
	ue := &UnpackError{Field: FieldMTI, Err: ErrMalformed, RawMessage: b}
	var me *moovUnpackError
	if errors.As(err, &me) {
		if id, aerr := strconv.Atoi(me.FieldID); aerr == nil {
			ue.Field = id
		}
	}
	var fe *FieldError
	switch {
	case errors.As(err, &fe):
		ue.Field, ue.Err = fe.Field, fe.Err
	case ue.Field > maxFieldID:
		// The codec read more than two bitmaps (bit 65, then bit 129...,
		// set) and then met a field past 128: what is wrong is bit 65.
		ue.Field, ue.Err = fieldTertiaryBitmap, ErrUnknownField
	case ue.Field > FieldBitmap && fieldDefs[ue.Field] == nil:
		ue.Err = ErrUnknownField
	}
	if ue.Field == fieldTertiaryBitmap {
		for id := range m.GetFields() {
			if id > fieldTertiaryBitmap { // keep only the fields before the failing one
				m.UnsetField(id)
			}
		}
	}
	if ue.Field == FieldMTI {
		return nil, ue
	}
	fields := m.GetFields()
	ue.MTI = valueOf(fields, FieldMTI)
	if ue.Field > FieldSTAN {
		ue.STAN = valueOf(fields, FieldSTAN)
	}
	if ue.Field > FieldBitmap {
		m.UnsetField(ue.Field)
	}
	return m, ue
}

type moovUnpackError = mooverrors.UnpackError

// valueOf returns the text value of field id in fields ("" when absent).
func valueOf(fields map[int]field.Field, id int) string {
	if s, ok := fields[id].(*field.String); ok {
		return s.Value()
	}
	return ""
}

// Pack packs msg (without the length header). Every field is checked
// against the specification; an error names the field (a *[FieldError] in
// its chain) and never its value.
func Pack(msg *iso8583.Message) ([]byte, error) {
	if mti, _ := msg.GetMTI(); mti == "" {
		return nil, fmt.Errorf("packing message: %w", ErrMissingMTI)
	}
	b, err := msg.Pack()
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("packing message: %w", fe)
		}
		return nil, fmt.Errorf("packing message: %w", err)
	}
	return b, nil
}
