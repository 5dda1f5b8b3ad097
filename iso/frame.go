package iso

import (
	"errors"
	"fmt"
	"io"
)

// Framing: every message is preceded by a 2-byte big-endian header holding
// the message's length in bytes (the header itself not included).
const (
	// HeaderLen is the size of the length header in bytes.
	HeaderLen = 2
	// MaxMessageLen is the largest message cardhost accepts or sends, in
	// bytes, not counting the header.
	MaxMessageLen = 8192
)

// Frame errors. A peer that sends one of them cannot be resynchronised:
// the connection has to be closed.
var (
	// ErrFrameEmpty: the length header is zero.
	ErrFrameEmpty = errors.New("frame length is zero")
	// ErrFrameTooLarge: the length header is over MaxMessageLen, or a
	// message to send is.
	ErrFrameTooLarge = errors.New("frame length over the limit")
)

// DecodeHeader returns the message length held by a 2-byte header, checked
// against the limits.
func DecodeHeader(h [HeaderLen]byte) (int, error) {
	n := int(h[0])<<8 | int(h[1])
	switch {
	case n == 0:
		return 0, ErrFrameEmpty
	case n > MaxMessageLen:
		return n, ErrFrameTooLarge
	}
	return n, nil
}

// ReadLength reads a length header from r and returns the message length.
// It has the signature of iso8583-connection's MessageLengthReader.
func ReadLength(r io.Reader) (int, error) {
	var h [HeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, err
	}
	return DecodeHeader(h)
}

// WriteLength writes the length header for a message of n bytes. It has
// the signature of iso8583-connection's MessageLengthWriter.
func WriteLength(w io.Writer, n int) (int, error) {
	if n <= 0 {
		return 0, ErrFrameEmpty
	}
	if n > MaxMessageLen {
		return 0, ErrFrameTooLarge
	}
	return w.Write([]byte{byte(n >> 8), byte(n)})
}

// ReadFrame reads one frame from r and returns its message, read into buf
// when it is large enough (buf may be nil). A header of zero or over
// MaxMessageLen returns ErrFrameEmpty or ErrFrameTooLarge without reading
// further; a message cut short returns io.ErrUnexpectedEOF; a clean end of
// stream before the header returns io.EOF.
func ReadFrame(r io.Reader, buf []byte) ([]byte, error) {
	n, err := ReadLength(r)
	if err != nil {
		return nil, err
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading message: %w", err)
	}
	return buf, nil
}

// AppendFrame appends msg's length header and msg to dst.
func AppendFrame(dst, msg []byte) ([]byte, error) {
	if len(msg) == 0 {
		return dst, ErrFrameEmpty
	}
	if len(msg) > MaxMessageLen {
		return dst, ErrFrameTooLarge
	}
	dst = append(dst, byte(len(msg)>>8), byte(len(msg)))
	return append(dst, msg...), nil
}

// WriteFrame writes msg with its length header in a single Write call.
func WriteFrame(w io.Writer, msg []byte) error {
	frame, err := AppendFrame(make([]byte, 0, HeaderLen+len(msg)), msg)
	if err != nil {
		return err
	}
	if _, err := w.Write(frame); err != nil {
		return fmt.Errorf("writing frame: %w", err)
	}
	return nil
}
