package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/iso"
)

// rawHTTP writes a request over a fresh connection and reads the answer:
// the server may answer before it has read the whole body, which an HTTP
// client still uploading would see as a reset.
func rawHTTP(t *testing.T, addr, request string) (int, http.Header, []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

// TestAbuseRESTLimits runs the real app with a 2 KiB body limit and a
// rate limit of 5 requests per second per tenant: bodies over the limit
// (announced or chunked) get 413 body_too_large, a body under it is
// served; a tenant over its rate gets 429 rate_limited with Retry-After
// while another tenant is served, and is served again after the delay.
func TestAbuseRESTLimits(t *testing.T) {
	env := testEnv(t)
	env["CARDHOST_HTTP_BODY_LIMIT"] = "2048"
	env["CARDHOST_HTTP_RATE_LIMIT"] = "5"
	app := startApp(t, env)
	key := app.sandboxKey(t)
	hc := &http.Client{Timeout: 10 * time.Second}
	base := "http://" + app.HTTPAddr()

	t.Run("body limit", func(t *testing.T) {
		big := `{"scopes":[],"pad":"` + strings.Repeat("x", 4000) + `"}`
		for _, tc := range []struct{ name, request string }{
			{"announced", fmt.Sprintf("POST /v1/api-keys HTTP/1.1\r\nHost: cardhost\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", key, len(big), big)},
			{"announced, never sent", fmt.Sprintf("POST /v1/api-keys HTTP/1.1\r\nHost: cardhost\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", key, 64<<20)},
			{"chunked", fmt.Sprintf("POST /v1/api-keys HTTP/1.1\r\nHost: cardhost\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", key, len(big), big)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, h, body := rawHTTP(t, app.HTTPAddr(), tc.request)
				if status != http.StatusRequestEntityTooLarge {
					t.Fatalf("%d %s, want 413", status, body)
				}
				if p := decodeProblem(t, h, body); p.Slug != "body_too_large" {
					t.Fatalf("problem %+v", p)
				}
			})
		}
		// Under the limit (padded with whitespace, which JSON allows): served.
		small := `{"scopes":[]}` + strings.Repeat(" ", 1900)
		status, _, body := rawHTTP(t, app.HTTPAddr(), fmt.Sprintf("POST /v1/api-keys HTTP/1.1\r\nHost: cardhost\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", key, len(small), small))
		if status != http.StatusCreated {
			t.Fatalf("a body under the limit: %d %s", status, body)
		}
	})

	t.Run("rate limit per tenant", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"tenants", "create", "--name", "Other Issuer"}, getenvOf(env), &out, &errOut); code != 0 {
			t.Fatalf("tenants create: %s", errOut.String())
		}
		other := apiKeyRE.FindString(out.String())
		time.Sleep(2 * time.Second) // let the sandbox tenant's bucket refill after the body tests
		ok, limited, retryAfter := 0, 0, 0
		start := time.Now()
		for range 40 {
			status, h, body := httpGet(t, hc, base+"/v1/tenant", key)
			switch status {
			case http.StatusOK:
				ok++
			case http.StatusTooManyRequests:
				limited++
				if p := decodeProblem(t, h, body); p.Slug != "rate_limited" {
					t.Fatalf("429 with problem %+v", p)
				}
				n, err := strconv.Atoi(h.Get("Retry-After"))
				if err != nil || n < 1 {
					t.Fatalf("429 with Retry-After %q", h.Get("Retry-After"))
				}
				retryAfter = n
			default:
				t.Fatalf("GET /v1/tenant: %d %s", status, body)
			}
		}
		// A burst of 10, plus what refills at 5/s while the 40 requests run.
		most := 10 + int(5*time.Since(start).Seconds()) + 1
		if ok < 10 || ok > most || limited == 0 {
			t.Fatalf("%d served (want 10 to %d) and %d limited of 40 at 5/s with a burst of 10", ok, most, limited)
		}
		// Another tenant is not affected.
		for range 5 {
			if status, _, body := httpGet(t, hc, base+"/v1/tenant", other); status != http.StatusOK {
				t.Fatalf("another tenant while the first is limited: %d %s", status, body)
			}
		}
		// Liveness and readiness are not rate limited.
		if status, _, _ := httpGet(t, hc, base+"/healthz", ""); status != http.StatusOK {
			t.Fatalf("/healthz: %d", status)
		}
		time.Sleep(time.Duration(retryAfter) * time.Second)
		if status, _, body := httpGet(t, hc, base+"/v1/tenant", key); status != http.StatusOK {
			t.Fatalf("after Retry-After: %d %s", status, body)
		}
	})
}

// closedWithin waits for the peer to close conn (EOF or reset; bytes it
// sends first, such as a 408, are read and ignored) and reports how long
// it took, or fails after limit.
func closedWithin(conn net.Conn, limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	conn.SetReadDeadline(start.Add(limit))
	buf := make([]byte, 4096)
	for {
		if _, err := conn.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return time.Since(start), false
			}
			return time.Since(start), true
		}
	}
}

// TestAbuseSlowClients runs the real app with 1 s read timeouts and opens
// slow connections on both ports: HTTP headers dribbled a byte at a time,
// an HTTP body dribbled, an ISO length header and then nothing, an ISO
// message dribbled. Every one is cut about a read timeout after it
// started, while a normal REST client and a normal acquirer keep getting
// fast answers.
func TestAbuseSlowClients(t *testing.T) {
	const readTimeout = time.Second
	env := testEnv(t)
	env["CARDHOST_HTTP_READ_TIMEOUT"] = readTimeout.String()
	env["CARDHOST_ISO_READ_TIMEOUT"] = readTimeout.String()
	app := startApp(t, env)
	key := app.sandboxKey(t)
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
	dialSlow := func(name, addr string, first []byte) net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if len(first) > 0 {
			if _, err := c.Write(first); err != nil {
				t.Fatal(err)
			}
		}
		slow = append(slow, slowConn{name, c})
		return c
	}
	var drip []func() // each writes the next byte of one slow connection
	body := `{"scopes":[]}`
	for i := range 10 {
		header := fmt.Sprintf("GET /v1/tenant HTTP/1.1\r\nHost: cardhost\r\nAuthorization: Bearer %s\r\nX-Slow: %d", key, i)
		c := dialSlow("HTTP headers dribbled", app.HTTPAddr(), []byte(header[:10]))
		rest := []byte(header[10:])
		drip = append(drip, func() {
			if len(rest) > 0 {
				c.Write(rest[:1])
				rest = rest[1:]
			}
		})
		head := fmt.Sprintf("POST /v1/api-keys HTTP/1.1\r\nHost: cardhost\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", key, len(body))
		cb := dialSlow("HTTP body dribbled", app.HTTPAddr(), []byte(head))
		restBody := []byte(body)
		drip = append(drip, func() {
			if len(restBody) > 1 { // never the last byte
				cb.Write(restBody[:1])
				restBody = restBody[1:]
			}
		})
		dialSlow("ISO length header, then nothing", app.ISOAddr(), []byte{0x01, 0x00})
		ci := dialSlow("ISO message dribbled", app.ISOAddr(), []byte{0x00, 0x40})
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
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			for _, d := range drip {
				d()
			}
		}
	}()

	// Normal clients on both ports, served fast meanwhile.
	hc := &http.Client{Timeout: 5 * time.Second}
	base := "http://" + app.HTTPAddr()
	for time.Since(started) < readTimeout+500*time.Millisecond {
		t0 := time.Now()
		if status, _, body := httpGet(t, hc, base+"/v1/tenant", key); status != http.StatusOK {
			t.Fatalf("normal REST client: %d %s", status, body)
		}
		if r := purchase(t, iso1, term, card, 100, 5*time.Second); r.Code != iso.Approved {
			t.Fatalf("normal acquirer: %s", r.Code)
		}
		if d := time.Since(t0); d > 500*time.Millisecond {
			t.Errorf("a REST call and an authorization took %v among %d slow connections", d, len(slow))
		}
		time.Sleep(50 * time.Millisecond)
	}

	for _, s := range slow {
		_, closed := closedWithin(s.conn, max(readTimeout+3*time.Second-time.Since(started), 100*time.Millisecond))
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
	wg.Wait()
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
		if _, closed := closedWithin(extra, 2*time.Second); !closed {
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
		var sampler sync.WaitGroup
		sampler.Add(1)
		go func() {
			defer sampler.Done()
			for {
				select {
				case <-done:
					return
				case <-time.After(20 * time.Millisecond):
				}
				resp, err := hc.Get("http://" + app.HTTPAddr() + "/metrics")
				if err != nil {
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if v := metricValue(string(b), "cardhost_iso_requests_in_flight"); v > peak {
					peak = v
				}
			}
		}()
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
		sampler.Wait()
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
