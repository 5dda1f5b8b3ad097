package termsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/moov-io/iso8583"

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

// scriptedHost is a raw TCP host for tests: answer decides, per request,
// the answer to write (nil: none).
func scriptedHost(t testing.TB, answer func(req *iso8583.Message) *iso8583.Message) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer nc.Close()
				for {
					b, err := iso.ReadFrame(nc, nil)
					if err != nil {
						return
					}
					m, err := iso.Unpack(b)
					if err != nil {
						return
					}
					if r := answer(m); r != nil {
						p, err := iso.Pack(r)
						if err != nil {
							t.Error(err)
							return
						}
						if err := iso.WriteFrame(nc, p); err != nil {
							return
						}
					}
				}
			})
		}
	})
	return ln.Addr().String()
}

func dialT(t testing.TB, addr string, opts ...Option) *Client {
	t.Helper()
	c, err := Dial(context.Background(), addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestEchoAgainstBareServer(t *testing.T) {
	s := startBare(t)
	c := dialT(t, s.Addr().String())
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

func TestEchoAnswers(t *testing.T) {
	reply := func(mti, code string) func(*iso8583.Message) *iso8583.Message {
		return func(req *iso8583.Message) *iso8583.Message {
			r := iso.NewMessage(mti)
			stan, _ := req.GetString(iso.FieldSTAN)
			_ = r.Field(iso.FieldSTAN, stan)
			_ = r.Field(iso.FieldResponseCode, code)
			return r
		}
	}
	tests := []struct {
		name string
		host func(*iso8583.Message) *iso8583.Message
		mti  string
		code iso.ResponseCode
	}{
		{"format error", reply("0810", "30"), "0810", iso.FormatError},
		{"wrong MTI", reply("0110", "00"), "0110", iso.Approved},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dialT(t, scriptedHost(t, tc.host))
			_, err := c.Echo(context.Background())
			var re *ResponseError
			if !errors.As(err, &re) || re.MTI != tc.mti || re.Code != tc.code {
				t.Fatalf("Echo = %v, want ResponseError %s %s", err, tc.mti, tc.code)
			}
		})
	}
}

func TestEchoTimeout(t *testing.T) {
	silent := scriptedHost(t, func(*iso8583.Message) *iso8583.Message { return nil })
	t.Run("request timeout", func(t *testing.T) {
		c := dialT(t, silent, RequestTimeout(50*time.Millisecond))
		start := time.Now()
		if _, err := c.Echo(context.Background()); !errors.Is(err, ErrTimeout) {
			t.Fatalf("Echo = %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d < 40*time.Millisecond || d > time.Second {
			t.Errorf("gave up after %v", d)
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		c := dialT(t, silent)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := c.Echo(ctx)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("Echo = %v, want ErrTimeout", err)
		}
	})
	t.Run("canceled context", func(t *testing.T) {
		c := dialT(t, silent)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(30*time.Millisecond, cancel)
		_, err := c.Echo(ctx)
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Echo = %v, want ErrTimeout and context.Canceled", err)
		}
	})
}

// TestConcurrentSends: many goroutines share one Client; every answer
// goes back to its own request (STAN + terminal).
func TestConcurrentSends(t *testing.T) {
	s := startBare(t)
	c := dialT(t, s.Addr().String())
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				m := iso.NewMessage(iso.MTIAuthorizationRequest)
				amount := fmt.Sprintf("%012d", g*1000+i)
				terminal := fmt.Sprintf("TERM%04d", g)
				_ = m.Field(iso.FieldSTAN, c.NextSTAN())
				_ = m.Field(iso.FieldAmount, amount)
				_ = m.Field(iso.FieldTerminal, terminal)
				r, err := c.Send(context.Background(), m)
				if err != nil {
					errs <- err
					return
				}
				mti, _ := r.GetMTI()
				got, _ := r.GetString(iso.FieldAmount)
				term, _ := r.GetString(iso.FieldTerminal)
				code, _ := r.GetString(iso.FieldResponseCode)
				if mti != "0110" || got != amount || term != terminal || code != "00" {
					errs <- fmt.Errorf("answer %s 4=%s 41=%s 39=%s for 4=%s 41=%s", mti, got, term, code, amount, terminal)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSendErrors(t *testing.T) {
	s := startBare(t)
	t.Run("unpackable message", func(t *testing.T) {
		c := dialT(t, s.Addr().String())
		m := iso.NewMessage("0100")
		_ = m.Field(iso.FieldSTAN, "000001")
		_ = m.Field(iso.FieldAmount, "12") // not 12 digits
		_, err := c.Send(context.Background(), m)
		var fe *iso.FieldError
		if !errors.As(err, &fe) || fe.Field != iso.FieldAmount {
			t.Fatalf("Send = %v, want a field 4 error", err)
		}
		if _, err := c.Echo(context.Background()); err != nil {
			t.Fatalf("connection unusable after a pack error: %v", err)
		}
	})
	t.Run("no STAN", func(t *testing.T) {
		c := dialT(t, s.Addr().String())
		if _, err := c.Send(context.Background(), iso.NewMessage("0800")); err == nil {
			t.Fatal("sent a message without STAN")
		}
	})
	t.Run("after Close", func(t *testing.T) {
		c := dialT(t, s.Addr().String())
		c.Close()
		if _, err := c.Echo(context.Background()); !errors.Is(err, ErrClosed) {
			t.Fatalf("Echo after Close = %v, want ErrClosed", err)
		}
	})
	t.Run("host closes", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			nc, err := ln.Accept()
			if err == nil {
				iso.ReadFrame(nc, nil)
				nc.Close()
			}
		}()
		c := dialT(t, ln.Addr().String())
		if _, err := c.Echo(context.Background()); !errors.Is(err, ErrClosed) {
			t.Fatalf("Echo = %v, want ErrClosed", err)
		}
		select {
		case <-c.Done():
		case <-time.After(time.Second):
			t.Fatal("Done not closed")
		}
	})
}

func TestDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	if _, err := Dial(context.Background(), closed); err == nil {
		t.Error("Dial to a closed port succeeded")
	}
	for name, opt := range map[string]Option{
		"zero connect timeout":     ConnectTimeout(0),
		"negative request timeout": RequestTimeout(-time.Second),
		"nil clock":                WithClock(nil),
	} {
		if _, err := Dial(context.Background(), closed, opt); !errors.Is(err, errOption) {
			t.Errorf("%s: Dial = %v, want errOption", name, err)
		}
	}
}

func TestUnmatchedAnswerIsLogged(t *testing.T) {
	host := scriptedHost(t, func(req *iso8583.Message) *iso8583.Message {
		r := iso.NewMessage("0810")
		_ = r.Field(iso.FieldSTAN, "999999") // not the request's
		_ = r.Field(iso.FieldResponseCode, "00")
		return r
	})
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	c := dialT(t, host, RequestTimeout(100*time.Millisecond), WithLogger(logger))
	if _, err := c.Echo(context.Background()); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Echo = %v, want ErrTimeout", err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		mu.Lock()
		ok := bytes.Contains(logs.Bytes(), []byte("stan=999999"))
		mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("unmatched answer not logged: %s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestNextSTAN(t *testing.T) {
	c := &Client{}
	c.stan.Store(maxSTAN - 2)
	var got []string
	for range 4 {
		got = append(got, c.NextSTAN())
	}
	want := []string{"999999", "000001", "000002", "000003"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("STANs %v, want %v", got, want)
		}
	}
}
