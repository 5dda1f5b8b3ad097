package terminal_test

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

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
	"github.com/cardhost/cardhost/iso"
)

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
			c := terminaltest.Dial(t, terminaltest.ScriptedHost(t, tc.host))
			_, err := c.Echo(context.Background())
			var re *terminal.ResponseError
			if !errors.As(err, &re) || re.MTI != tc.mti || re.Code != tc.code {
				t.Fatalf("Echo = %v, want ResponseError %s %s", err, tc.mti, tc.code)
			}
		})
	}
}

func TestEchoTimeout(t *testing.T) {
	silent := terminaltest.ScriptedHost(t, func(*iso8583.Message) *iso8583.Message { return nil })
	t.Run("request timeout", func(t *testing.T) {
		c := terminaltest.Dial(t, silent, terminal.RequestTimeout(50*time.Millisecond))
		start := time.Now()
		if _, err := c.Echo(context.Background()); !errors.Is(err, terminal.ErrTimeout) {
			t.Fatalf("Echo = %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d < 40*time.Millisecond || d > time.Second {
			t.Errorf("gave up after %v", d)
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		c := terminaltest.Dial(t, silent)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := c.Echo(ctx)
		if !errors.Is(err, terminal.ErrTimeout) {
			t.Fatalf("Echo = %v, want ErrTimeout", err)
		}
	})
	t.Run("canceled context", func(t *testing.T) {
		c := terminaltest.Dial(t, silent)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(30*time.Millisecond, cancel)
		_, err := c.Echo(ctx)
		if !errors.Is(err, terminal.ErrTimeout) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Echo = %v, want ErrTimeout and context.Canceled", err)
		}
	})
}

// TestConcurrentSends: many goroutines share one Client; every answer
// goes back to its own request (STAN + terminal).
func TestConcurrentSends(t *testing.T) {
	addr := terminaltest.EchoHost(t)
	c := terminaltest.Dial(t, addr)
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
	addr := terminaltest.EchoHost(t)
	t.Run("unpackable message", func(t *testing.T) {
		c := terminaltest.Dial(t, addr)
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
		c := terminaltest.Dial(t, addr)
		if _, err := c.Send(context.Background(), iso.NewMessage("0800")); err == nil {
			t.Fatal("sent a message without STAN")
		}
	})
	t.Run("after Close", func(t *testing.T) {
		c := terminaltest.Dial(t, addr)
		c.Close()
		if _, err := c.Echo(context.Background()); !errors.Is(err, terminal.ErrClosed) {
			t.Fatalf("Echo after Close = %v, want ErrClosed", err)
		}
	})
	t.Run("host closes", func(t *testing.T) {
		host := terminaltest.Serve(t, func(nc net.Conn) { iso.ReadFrame(nc, nil) })
		c := terminaltest.Dial(t, host)
		if _, err := c.Echo(context.Background()); !errors.Is(err, terminal.ErrClosed) {
			t.Fatalf("Echo = %v, want ErrClosed", err)
		}
		select {
		case <-c.Done():
		case <-time.After(time.Second):
			t.Fatal("Done not closed")
		}
	})
}

func TestUnmatchedAnswerIsLogged(t *testing.T) {
	host := terminaltest.ScriptedHost(t, func(req *iso8583.Message) *iso8583.Message {
		r := iso.NewMessage("0810")
		_ = r.Field(iso.FieldSTAN, "999999") // not the request's
		_ = r.Field(iso.FieldResponseCode, "00")
		return r
	})
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	c := terminaltest.Dial(t, host, terminal.RequestTimeout(100*time.Millisecond), terminal.WithLogger(logger))
	if _, err := c.Echo(context.Background()); !errors.Is(err, terminal.ErrTimeout) {
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
