package iso_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/iso"
)

func TestReadFrame(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    string
		wantErr error
	}{
		{"one frame", []byte("\x00\x040800"), "0800", nil},
		{"frame then more", []byte("\x00\x040800\x00\x02xx"), "0800", nil},
		{"largest frame", append([]byte{0x20, 0x00}, bytes.Repeat([]byte("a"), iso.MaxMessageLen)...), strings.Repeat("a", iso.MaxMessageLen), nil},
		{"zero length", []byte("\x00\x00"), "", iso.ErrFrameEmpty},
		{"one over the limit", []byte{0x20, 0x01}, "", iso.ErrFrameTooLarge},
		{"garbage header", []byte("GET / HTTP/1.1\r\n"), "", iso.ErrFrameTooLarge},
		{"clean end", nil, "", io.EOF},
		{"header cut", []byte{0x00}, "", io.ErrUnexpectedEOF},
		{"message cut", []byte("\x00\x0a0800"), "", io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := iso.ReadFrame(bytes.NewReader(tc.in), nil)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if string(got) != tc.want {
				t.Fatalf("message = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReadFrameReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 64)
	got, err := iso.ReadFrame(bytes.NewReader([]byte("\x00\x040800")), buf)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &buf[:1][0] {
		t.Error("ReadFrame allocated although buf was large enough")
	}
}

func TestWriteFrame(t *testing.T) {
	tests := []struct {
		name    string
		msg     []byte
		want    []byte
		wantErr error
	}{
		{"small", []byte("0800"), []byte("\x00\x040800"), nil},
		{"256 bytes", bytes.Repeat([]byte("b"), 256), append([]byte{0x01, 0x00}, bytes.Repeat([]byte("b"), 256)...), nil},
		{"empty", nil, nil, iso.ErrFrameEmpty},
		{"too large", make([]byte, iso.MaxMessageLen+1), nil, iso.ErrFrameTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w countingWriter
			err := iso.WriteFrame(&w, tc.msg)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if !bytes.Equal(w.Bytes(), tc.want) {
				t.Fatalf("wrote % X, want % X", w.Bytes(), tc.want)
			}
			if tc.wantErr == nil && w.writes != 1 {
				t.Errorf("%d writes, want 1", w.writes)
			}
			// AppendFrame agrees and ReadFrame reads it back.
			if tc.wantErr == nil {
				f, err := iso.AppendFrame([]byte("prefix"), tc.msg)
				if err != nil || !bytes.Equal(f, append([]byte("prefix"), tc.want...)) {
					t.Fatalf("AppendFrame = % X, %v", f, err)
				}
				back, err := iso.ReadFrame(bytes.NewReader(w.Bytes()), nil)
				if err != nil || !bytes.Equal(back, tc.msg) {
					t.Fatalf("ReadFrame = %q, %v", back, err)
				}
			}
		})
	}
}

func TestLengthHelpers(t *testing.T) {
	var b bytes.Buffer
	if n, err := iso.WriteLength(&b, 300); err != nil || n != 2 || !bytes.Equal(b.Bytes(), []byte{0x01, 0x2c}) {
		t.Fatalf("WriteLength = %d, %v, % X", n, err, b.Bytes())
	}
	if n, err := iso.ReadLength(&b); err != nil || n != 300 {
		t.Fatalf("ReadLength = %d, %v", n, err)
	}
	if _, err := iso.WriteLength(&b, 0); !errors.Is(err, iso.ErrFrameEmpty) {
		t.Errorf("WriteLength(0) = %v", err)
	}
	if _, err := iso.WriteLength(&b, iso.MaxMessageLen+1); !errors.Is(err, iso.ErrFrameTooLarge) {
		t.Errorf("WriteLength(max+1) = %v", err)
	}
	if n, err := iso.DecodeHeader([2]byte{0xff, 0xff}); !errors.Is(err, iso.ErrFrameTooLarge) || n != 65535 {
		t.Errorf("DecodeHeader(FFFF) = %d, %v", n, err)
	}
}

type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}
