package iso

import (
	"fmt"
	"iter"
	"log/slog"
	"math/bits"
	"strconv"
	"strings"
)

// FieldValues is one message as flat values: the MTI (field 0) and fields
// 2-128, each a string (field 55's raw bytes included), with a presence
// bit per field. The bitmap (field 1) is not stored: [UnpackFields] reads
// it and [FieldValues.AppendPack] writes it from the fields present.
//
// It is the server's hot-path alternative to *iso8583.Message: the same
// table ([Fields]), the same per-field codec (length prefix and character
// set) and exactly the same results as [Unpack] and [Pack] (FuzzUnpackFields
// checks them against each other), without a map of field objects. An
// unpacked FieldValues holds one copy of the message: its values are
// substrings of that copy (no allocation per field) and never alias the
// caller's buffer.
//
// The zero value is an empty message without an MTI. A FieldValues is not
// safe for concurrent use while it is modified; concurrent reads are safe.
// Its String, GoString and LogValue name the fields present, never their
// values.
type FieldValues struct {
	// text is the unpacked message (or, for a response, the request's
	// copy of it, see Echo); extra holds the values set with Set. The
	// pointers come first: the garbage collector scans the first three
	// words only, and loc is plain numbers.
	text  string
	extra []string
	set   [3]uint64 // bit id%64 of word id/64: field id is present
	// loc says where each present value is: extra[loc&^locExtra] when
	// locExtra is set, else text[off:off+n] with loc = off<<locLenBits | n.
	loc [maxFieldID + 1]uint32
}

const (
	locExtra   = 1 << 31
	locLenBits = 10 // a text value has at most 999 characters
	locMaxOff  = locExtra>>locLenBits - 1
)

// NewFieldValues returns an empty message with its MTI set, with room for
// the values a response sets.
func NewFieldValues(mti string) *FieldValues {
	f := &FieldValues{extra: make([]string, 0, 8)}
	f.Set(FieldMTI, mti)
	return f
}

// MTI returns the MTI ("" when unset).
func (f *FieldValues) MTI() string { return f.Get(FieldMTI) }

// Has reports whether field id is present (false for a nil f, for the
// bitmap and for ids outside 0-128).
func (f *FieldValues) Has(id int) bool {
	if f == nil || id < 0 || id > maxFieldID {
		return false
	}
	return f.set[id>>6]&(1<<(id&63)) != 0
}

// Get returns field id's value, "" when it is absent (or f is nil). Field
// 55's value is its raw bytes as a string.
func (f *FieldValues) Get(id int) string {
	if !f.Has(id) {
		return ""
	}
	return f.value(id)
}

// value returns present field id's value.
func (f *FieldValues) value(id int) string {
	l := f.loc[id]
	if l&locExtra != 0 {
		return f.extra[l&^locExtra]
	}
	off := l >> locLenBits
	return f.text[off : off+l&(1<<locLenBits-1)]
}

// Bytes returns a copy of field id's value, nil when it is absent: field
// 55 as the []byte callers keep.
func (f *FieldValues) Bytes(id int) []byte {
	if !f.Has(id) {
		return nil
	}
	return []byte(f.value(id))
}

// Set sets field id (0 for the MTI, 2-128) to v. Values are checked when
// packing, like iso8583.Message.Field: an empty value is present (and
// refused by Pack), and so is a field the table does not define (Pack
// refuses it with ErrUnknownField). Set panics for the bitmap (1) and for
// ids outside 0-128, which no message can carry.
func (f *FieldValues) Set(id int, v string) {
	if id == FieldBitmap || id < 0 || id > maxFieldID {
		panic(fmt.Sprintf("iso: FieldValues.Set of field %d", id))
	}
	if l := f.loc[id]; f.Has(id) && l&locExtra != 0 {
		f.extra[l&^locExtra] = v
		return
	}
	f.set[id>>6] |= 1 << (id & 63)
	f.loc[id] = uint32(len(f.extra)) | locExtra
	f.extra = append(f.extra, v)
}

// SetBytes sets field id to a copy of v (field 55). It panics like Set.
func (f *FieldValues) SetBytes(id int, v []byte) { f.Set(id, string(v)) }

// setText sets field id to f.text[off:end] (UnpackFields).
func (f *FieldValues) setText(id, off, end int) {
	if off > locMaxOff { // past 2 MiB: only after a run of bitmaps
		f.Set(id, f.text[off:end])
		return
	}
	f.set[id>>6] |= 1 << (id & 63)
	f.loc[id] = uint32(off)<<locLenBits | uint32(end-off)
}

// Echo sets field id to src's value of it (a response repeating a request
// field), or removes it when src lacks it or is nil. The value is not
// copied: f shares src's copy of its message when it can.
func (f *FieldValues) Echo(src *FieldValues, id int) {
	switch {
	case !src.Has(id):
		f.Unset(id)
	case src.loc[id]&locExtra == 0 && (f.text == "" || f.text == src.text):
		f.text = src.text
		f.set[id>>6] |= 1 << (id & 63)
		f.loc[id] = src.loc[id]
	default:
		f.Set(id, src.value(id))
	}
}

// Unset removes field id.
func (f *FieldValues) Unset(id int) {
	if id < 0 || id > maxFieldID {
		return
	}
	f.set[id>>6] &^= 1 << (id & 63)
	f.loc[id] = 0
}

// All yields the fields present, MTI first, then by increasing field
// number.
func (f *FieldValues) All() iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		if f == nil {
			return
		}
		for w, word := range f.set {
			for ; word != 0; word &= word - 1 {
				id := w<<6 | bits.TrailingZeros64(word)
				if !yield(id, f.value(id)) {
					return
				}
			}
		}
	}
}

// ids returns the numbers of the fields present, for String and LogValue.
func (f *FieldValues) ids() []string {
	var out []string
	for id := range f.All() {
		if id != FieldMTI {
			out = append(out, strconv.Itoa(id))
		}
	}
	return out
}

// String returns the MTI and the numbers of the fields present, never a
// value: "0100 [2 3 4 11]".
func (f *FieldValues) String() string {
	if f == nil {
		return "<nil>"
	}
	return f.MTI() + " [" + strings.Join(f.ids(), " ") + "]"
}

// GoString keeps values out of %#v.
func (f *FieldValues) GoString() string {
	return "&iso.FieldValues{" + f.String() + "}"
}

// LogValue implements slog.LogValuer with the MTI and the numbers of the
// fields present, never a value.
func (f *FieldValues) LogValue() slog.Value {
	return slog.GroupValue(slog.String("mti", f.MTI()), slog.String("fields", strings.Join(f.ids(), " ")))
}

// UnpackFields reads a packed message (the payload of one frame, without
// its length header) exactly as [Unpack] does, into flat values: the same
// checks of every field, the same *[UnpackError] (field, cause, MTI, STAN,
// RawMessage), and on failure the same partial message (nil when the MTI
// is unreadable; else the MTI and the fields read before the failing one,
// for a response-code-30 echo and nothing else; the whole message for
// ErrTrailingData).
//
// The values are substrings of one copy of b: b may be reused as soon as
// UnpackFields returns (the error's RawMessage is b itself, as Unpack's).
func UnpackFields(b []byte) (*FieldValues, error) {
	fail := func(f *FieldValues, id int, cause error) (*FieldValues, error) {
		ue := &UnpackError{Field: id, Err: cause, RawMessage: b}
		if f == nil {
			return nil, ue
		}
		if id == fieldTertiaryBitmap {
			// Fields 66-128 may have been read before the third bitmap
			// was refused: the partial message ends before field 65.
			f.set[1] &= 1<<(fieldTertiaryBitmap&63) - 1
			f.set[2] = 0
		}
		ue.MTI = f.MTI()
		if id > FieldSTAN {
			ue.STAN = f.Get(FieldSTAN)
		}
		return f, ue
	}

	if _, _, err := scanField(fieldDefs[FieldMTI], b); err != nil {
		return fail(nil, FieldMTI, err.(*FieldError).Err)
	}
	s := string(b) // the one copy: every value is a substring of s
	f := &FieldValues{text: s}
	f.setText(FieldMTI, 0, mtiLength)
	off := mtiLength

	// The bitmaps: 16 hexadecimal characters each, another one following
	// while the first bit of the last one is set (moov reads them all;
	// cardhost defines fields up to 128, so a third one is a format error
	// naming field 65, reported once the fields up to 128 are read).
	var bitmap [2]uint64
	bitmaps := 0
	for {
		if len(s)-off < 16 {
			return fail(f, FieldBitmap, ErrMalformed)
		}
		v, ok := parseHex64(s[off : off+16])
		if !ok {
			return fail(f, FieldBitmap, ErrMalformed)
		}
		if bitmaps < len(bitmap) {
			bitmap[bitmaps] = v
		}
		bitmaps++
		off += 16
		if v>>63 == 0 {
			break
		}
	}

	for w := range min(bitmaps, len(bitmap)) {
		// Bit 1 of each bitmap (the MSB) announces the next bitmap.
		for word := bitmap[w] &^ (1 << 63); word != 0; {
			i := bits.LeadingZeros64(word) // 0-based bit within this bitmap
			word &^= 1 << (63 - i)
			id := w*64 + i + 1
			d := fieldDefs[id]
			if d == nil {
				return fail(f, id, ErrUnknownField)
			}
			start, end, err := scanField(d, b[off:])
			if err != nil {
				return fail(f, id, err.(*FieldError).Err)
			}
			f.setText(id, off+start, off+end)
			off += end
		}
	}
	if bitmaps > len(bitmap) {
		return fail(f, fieldTertiaryBitmap, ErrUnknownField)
	}
	if off != len(b) {
		last := FieldBitmap
		for id := range f.All() {
			last = max(last, id)
		}
		return f, &UnpackError{Field: last, Err: ErrTrailingData, MTI: f.MTI(), STAN: f.Get(FieldSTAN), RawMessage: b}
	}
	return f, nil
}

// parseHex64 decodes 16 hexadecimal characters (either case).
func parseHex64(s string) (uint64, bool) {
	var v uint64
	for i := 0; i < 16; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(c)
	}
	return v, true
}

// Pack packs the message (without the length header) exactly as [Pack]
// packs the iso8583.Message holding the same values: the same bytes, and
// the same errors (ErrMissingMTI, or a *[FieldError] naming the first field
// that is refused, never its value). A field the table does not define,
// which an iso8583.Message cannot hold, is refused with ErrUnknownField.
func (f *FieldValues) Pack() ([]byte, error) {
	return f.AppendPack(nil)
}

// AppendPack appends the packed message to dst, as [FieldValues.Pack]. On
// error it returns dst unchanged.
func (f *FieldValues) AppendPack(dst []byte) ([]byte, error) {
	if f.MTI() == "" {
		return dst, fmt.Errorf("packing message: %w", ErrMissingMTI)
	}
	// The bitmaps in ISO bit order: field n (2-64) is bit n of the
	// primary bitmap, counted from its most significant bit; field 64+n
	// bit n of the secondary, announced by bit 1 of the primary.
	var bitmap [2]uint64
	size := mtiLength
	for id, v := range f.All() {
		if id >= 2 {
			bitmap[(id-1)/64] |= 1 << (63 - (id-1)%64)
			size += int(LLL) + len(v) // at most: prefixes are 0, 2 or 3 digits
		}
	}
	bitmaps := 1
	if bitmap[1] != 0 {
		bitmap[0] |= 1 << 63
		bitmaps = 2
	}
	size += 16 * bitmaps
	out := dst
	if cap(out)-len(out) < size {
		out = make([]byte, len(dst), len(dst)+size)
		copy(out, dst)
	}
	out, err := appendField(out, fieldDefs[FieldMTI], f.MTI())
	if err != nil {
		return dst, fmt.Errorf("packing message: %w", err)
	}
	for _, v := range bitmap[:bitmaps] {
		out = appendHex64(out, v)
	}
	for id, v := range f.All() {
		if id == FieldMTI {
			continue
		}
		d := fieldDefs[id]
		if d == nil {
			return dst, fmt.Errorf("packing message: %w", &FieldError{Field: id, Err: ErrUnknownField})
		}
		if out, err = appendField(out, d, v); err != nil {
			return dst, fmt.Errorf("packing message: %w", err)
		}
	}
	return out, nil
}

// appendHex64 appends v as 16 upper-case hexadecimal characters.
func appendHex64(dst []byte, v uint64) []byte {
	const digits = "0123456789ABCDEF"
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, digits[v>>shift&0xF])
	}
	return dst
}

// PackMAC packs the message with a MAC, exactly as [PackMAC] does for an
// iso8583.Message: the MAC field (128 when a field from 65 to 127 is
// present, else 64; any MAC field already set is replaced) is set, the
// message packed, mac asked for the MAC of the bytes before the MAC field
// (8 bytes), and the packed message returned with that MAC in place. f
// holds the MAC field afterwards.
func (f *FieldValues) PackMAC(mac func(data []byte) ([]byte, error)) ([]byte, error) {
	f.Unset(FieldMAC)
	f.Unset(FieldSecondaryMAC)
	// Fields 65-127: bits 1-63 of word 1 (field 64 is bit 0).
	id := MACField(f.set[1]&^1 != 0)
	f.Set(id, strings.Repeat("0", MACLen))
	b, err := f.Pack()
	if err != nil {
		return nil, err
	}
	h, err := writeMAC(b, id, mac)
	if err != nil {
		return nil, err
	}
	f.Set(id, h)
	return b, nil
}
