package kafka

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"io"
	"time"
)

// NewID returns a new event id: a UUID version 7 (RFC 9562, section 5.7) in
// its canonical lower-case 8-4-4-4-12 form. The first 48 bits are now in Unix
// milliseconds, so ids sort roughly by creation time (handy in logs and
// indexes); the other 74 bits come from crypto/rand, so ids are unique without
// coordination between cardhost instances. Safe for concurrent use.
func NewID(now time.Time) string {
	return newID(now, rand.Reader)
}

// newID builds a UUIDv7 from now and 10 bytes of r.
func newID(now time.Time, r io.Reader) string {
	var u [16]byte
	ms := uint64(now.UnixMilli())
	binary.BigEndian.PutUint16(u[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(u[2:6], uint32(ms))
	if _, err := io.ReadFull(r, u[6:]); err != nil {
		// crypto/rand.Reader never fails (Go 1.24+); a test reader that
		// does is a programming error.
		panic("kafka: reading random bytes for an event id: " + err.Error())
	}
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // variant 10
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}
