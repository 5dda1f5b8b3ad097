package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/iso"
)

// TestAbuseSlowISOClients runs the real app with a 1 s ISO read timeout
// and opens slow connections on the ISO port: a length header and then
// nothing, a message dribbled a byte at a time. Every one is cut about a
// read timeout after it started, while a normal acquirer keeps getting
// fast answers. (The HTTP half, slow REST clients, is issuance/rest's
// TestAbuseSlowClients.)
func TestAbuseSlowISOClients(t *testing.T) {
	const readTimeout = time.Second
	env := testEnv(t)
	env["CARDHOST_ISO_READ_TIMEOUT"] = readTimeout.String()
	app := startApp(t, env)
	card, _ := newCard(t, app.issuer(t, "http"), termsimCardRequest())
	iso1 := dialISO(t, app.ISOAddr())
	term := newTerminal(t, "ABUSE001")
	if r := purchase(t, iso1, term, card, 100, 5*time.Second); r.Code != iso.Approved {
		t.Fatalf("warm-up: %s", r.Code)
	}

	type slowConn struct {
		name string
		conn net.Conn
	}
	var slow []slowConn
	dialSlow := func(name string, first []byte) net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", app.ISOAddr(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.Write(first); err != nil {
			t.Fatal(err)
		}
		slow = append(slow, slowConn{name, c})
		return c
	}
	var drip []func() // each writes the next byte of one slow connection
	for range 10 {
		dialSlow("ISO length header, then nothing", []byte{0x01, 0x00})
		ci := dialSlow("ISO message dribbled", []byte{0x00, 0x40})
		msg := bytes.Repeat([]byte("0"), 0x40)
		drip = append(drip, func() {
			if len(msg) > 1 {
				ci.Write(msg[:1])
				msg = msg[1:]
			}
		})
	}
	started := time.Now()
	stop := make(chan struct{})
	dripped := repeatUntil(stop, 100*time.Millisecond, func() {
		for _, d := range drip {
			d()
		}
	})

	// A normal acquirer, served fast meanwhile.
	for time.Since(started) < readTimeout+500*time.Millisecond {
		t0 := time.Now()
		if r := purchase(t, iso1, term, card, 100, 5*time.Second); r.Code != iso.Approved {
			t.Fatalf("normal acquirer: %s", r.Code)
		}
		if d := time.Since(t0); d > 500*time.Millisecond {
			t.Errorf("an authorization took %v among %d slow connections", d, len(slow))
		}
		time.Sleep(50 * time.Millisecond)
	}

	for _, s := range slow {
		_, closed := terminaltest.ClosedWithin(s.conn, max(readTimeout+3*time.Second-time.Since(started), 100*time.Millisecond))
		after := time.Since(started)
		switch {
		case !closed:
			t.Errorf("%s: still open %v after it started (read timeout %v)", s.name, after, readTimeout)
		case after < readTimeout-100*time.Millisecond:
			t.Errorf("%s: closed after %v, before the read timeout %v: not by it", s.name, after, readTimeout)
		}
	}
	if d := time.Since(started); d > readTimeout+3*time.Second {
		t.Errorf("slow connections cut after %v, want about %v", d, readTimeout)
	}
	close(stop)
	dripped()
}

// TestAbuseISOConnectionLimits runs the real app with at most 3 ISO
// connections and 2 requests in flight per connection: a fourth
// connection is closed at once and a slot freed is reusable; with the
// database slowed, six authorizations sent at once on one connection are
// all answered, never more than two decided at a time.
func TestAbuseISOConnectionLimits(t *testing.T) {
	env, proxy, _ := proxiedEnv(t)
	env["CARDHOST_ISO_MAX_CONNECTIONS"] = "3"
	env["CARDHOST_ISO_MAX_INFLIGHT"] = "2"
	app := startApp(t, env)
	is := app.issuer(t, "http")

	t.Run("max connections", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var clients []*terminal.Client
		for range 3 {
			c := dialISO(t, app.ISOAddr())
			if _, err := c.Echo(ctx); err != nil {
				t.Fatalf("echo: %v", err)
			}
			clients = append(clients, c)
		}
		extra, err := net.DialTimeout("tcp", app.ISOAddr(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer extra.Close()
		if _, closed := terminaltest.ClosedWithin(extra, 2*time.Second); !closed {
			t.Fatal("a fourth connection was kept open")
		}
		clients[0].Close()
		waitFor(t, 5*time.Second, "a freed slot to serve a new connection", func() bool {
			c, err := terminal.Dial(ctx, app.ISOAddr())
			if err != nil {
				return false
			}
			defer c.Close()
			_, err = c.Echo(ctx)
			return err == nil
		})
		for _, c := range clients[1:] {
			if _, err := c.Echo(ctx); err != nil {
				t.Fatalf("an established connection after the limit was hit: %v", err)
			}
			c.Close()
		}
	})

	t.Run("max in flight", func(t *testing.T) {
		type pair struct {
			card *terminal.Card
			term *terminal.Terminal
		}
		var pairs []pair
		for i := range 6 {
			card, _ := newCard(t, is, termsimCardRequest())
			pairs = append(pairs, pair{card, newTerminal(t, fmt.Sprintf("INFL%04d", i))})
		}
		var c *terminal.Client
		waitFor(t, 5*time.Second, "an ISO connection slot", func() bool {
			cl, err := terminal.Dial(context.Background(), app.ISOAddr())
			if err != nil {
				return false
			}
			if _, err := cl.Echo(context.Background()); err != nil {
				cl.Close()
				return false
			}
			c = cl
			return true
		})
		defer c.Close()
		proxy.Slow(150 * time.Millisecond)
		defer proxy.Slow(0)

		hc := &http.Client{Timeout: 5 * time.Second}
		var peak float64
		done := make(chan struct{})
		sampled := repeatUntil(done, 20*time.Millisecond, func() {
			resp, err := hc.Get("http://" + app.HTTPAddr() + "/metrics")
			if err != nil {
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if v := metricValue(string(b), "cardhost_iso_requests_in_flight"); v > peak {
				peak = v
			}
		})
		var wg sync.WaitGroup
		codes := make([]iso.ResponseCode, len(pairs))
		for i, p := range pairs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tx, err := p.term.Purchase(p.card, 100, terminal.TxnOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				r, err := c.Do(ctx, tx)
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					return
				}
				codes[i] = r.Code
			}()
		}
		wg.Wait()
		close(done)
		sampled()
		for i, code := range codes {
			if code != iso.Approved {
				t.Errorf("request %d: %q, want 00", i, code)
			}
		}
		if peak != 2 {
			t.Fatalf("at most %v requests seen in flight, want exactly the limit 2 (backpressure, not refusal)", peak)
		}
	})
}
