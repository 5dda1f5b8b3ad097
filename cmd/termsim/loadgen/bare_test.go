package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
	"github.com/cardhost/cardhost/iso"
)

// startBare serves a BareServer on 127.0.0.1:0 until the test ends.
func startBare(t testing.TB) *BareServer {
	t.Helper()
	s := NewBareServer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	})
	for s.Addr() == nil {
		time.Sleep(time.Millisecond)
	}
	return s
}

func TestBareServerAnswers(t *testing.T) {
	s := startBare(t)
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	tests := []struct {
		name string
		msg  func() []byte
		mti  string
		code string
	}{
		{"authorization", func() []byte {
			m := iso.NewMessage("0100")
			_ = m.Field(iso.FieldSTAN, "000001")
			_ = m.Field(iso.FieldAmount, "000000001000")
			_ = m.Field(iso.FieldTerminal, "TERM0001")
			b, _ := iso.Pack(m)
			return b
		}, "0110", "00"},
		{"financial", func() []byte {
			m := iso.NewMessage("0200")
			_ = m.Field(iso.FieldSTAN, "000002")
			b, _ := iso.Pack(m)
			return b
		}, "0210", "00"},
		{"echo", func() []byte {
			m := iso.NewMessage("0800")
			_ = m.Field(iso.FieldSTAN, "000003")
			_ = m.Field(iso.FieldNetworkCode, "301")
			b, _ := iso.Pack(m)
			return b
		}, "0810", "00"},
		{"bad field", func() []byte {
			return []byte("0100" + "0020000000000000" + "00000A")
		}, "0110", "30"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sent := tc.msg()
			if err := iso.WriteFrame(nc, sent); err != nil {
				t.Fatal(err)
			}
			nc.SetReadDeadline(time.Now().Add(2 * time.Second))
			b, err := iso.ReadFrame(nc, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, err := iso.Unpack(b)
			if err != nil {
				t.Fatal(err)
			}
			mti, _ := r.GetMTI()
			code, _ := r.GetString(iso.FieldResponseCode)
			if mti != tc.mti || code != tc.code {
				t.Fatalf("answered %s %s, want %s %s", mti, code, tc.mti, tc.code)
			}
			if req, err := iso.Unpack(sent); err == nil {
				for _, id := range []int{iso.FieldSTAN, iso.FieldAmount, iso.FieldTerminal, iso.FieldNetworkCode} {
					want, _ := req.GetString(id)
					if got, _ := r.GetString(id); got != want {
						t.Errorf("field %d = %q, want %q", id, got, want)
					}
				}
			}
		})
	}
}

func TestBareServerClosesOnBadFrames(t *testing.T) {
	s := startBare(t)
	for name, frame := range map[string][]byte{
		"zero length":    {0, 0},
		"too large":      {0xff, 0xff},
		"unreadable MTI": append([]byte{0, 4}, "AB12"...),
	} {
		t.Run(name, func(t *testing.T) {
			nc, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.Write(frame)
			nc.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
				t.Fatalf("read = %v, want EOF", err)
			}
		})
	}
}

func TestBareServerClose(t *testing.T) {
	s := startBare(t) // checks that Serve returns ErrServerClosed
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	time.Sleep(10 * time.Millisecond) // let the connection be accepted
	s.Close()
	nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open after Close")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Close = %v", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Fatal("Serve after Close left the listener open")
	}
}

func TestEchoAgainstBareServer(t *testing.T) {
	s := startBare(t)
	c := terminaltest.Dial(t, s.Addr().String())
	for range 3 {
		rtt, err := c.Echo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if rtt <= 0 || rtt > 2*time.Second {
			t.Errorf("round trip %v", rtt)
		}
	}
}
