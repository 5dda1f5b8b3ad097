package rest_test

import (
	"bufio"
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

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/rest"
)

// withConfig changes the server's configuration.
func withConfig(f func(*rest.Config)) envOption {
	return func(c *rest.Config, _ *issuance.Deps) { f(c) }
}

// addr is the server's host:port.
func (e *env) addr() string { return strings.TrimPrefix(e.base, "http://") }

// rawHTTP writes a request over a fresh connection and reads the answer:
// the server may answer before it has read the whole body, which an HTTP
// client still uploading would see as a reset.
func rawHTTP(t *testing.T, addr, request string) response {
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
	return response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// TestAbuseRESTLimits runs the server with a 2 KiB body limit and a rate
// limit of 5 requests per second per tenant: bodies over the limit
// (announced or chunked) get 413 body_too_large, a body under it is
// served; a tenant over its rate gets 429 rate_limited with Retry-After
// while another tenant is served, and is served again after the delay.
func TestAbuseRESTLimits(t *testing.T) {
	e := newEnv(t, withConfig(func(c *rest.Config) { c.BodyLimit, c.RateLimit = 2048, 5 }))
	key := e.key

	t.Run("body limit", func(t *testing.T) {
		big := `{"scopes":[],"pad":"` + strings.Repeat("x", 4000) + `"}`
		for _, tc := range []struct{ name, request string }{
			{"announced", fmt.Sprintf("POST /v1/api-keys HTTP/1.1\r\nHost: cardhost\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", key, len(big), big)},
			{"announced, never sent", fmt.Sprintf("POST /v1/api-keys HTTP/1.1\r\nHost: cardhost\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", key, 64<<20)},
			{"chunked", fmt.Sprintf("POST /v1/api-keys HTTP/1.1\r\nHost: cardhost\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", key, len(big), big)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := rawHTTP(t, e.addr(), tc.request)
				if r.Status != http.StatusRequestEntityTooLarge {
					t.Fatalf("%d %s, want 413", r.Status, r.Body)
				}
				if p := r.problem(t); p.Slug != "body_too_large" {
					t.Fatalf("problem %+v", p)
				}
			})
		}
		// Under the limit (padded with whitespace, which JSON allows): served.
		small := `{"name":"small","scopes":[]}` + strings.Repeat(" ", 1900)
		r := rawHTTP(t, e.addr(), fmt.Sprintf("POST /v1/api-keys HTTP/1.1\r\nHost: cardhost\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", key, len(small), small))
		if r.Status != http.StatusCreated {
			t.Fatalf("a body under the limit: %d %s", r.Status, r.Body)
		}
	})

	t.Run("rate limit per tenant", func(t *testing.T) {
		_, other, err := e.svc.CreateTenant(context.Background(), "Other Issuer", false, nil)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // let the tenant's bucket refill after the body tests
		ok, limited, retryAfter := 0, 0, 0
		start := time.Now()
		for range 40 {
			r := e.doKey(key, "GET", "/v1/tenant", nil)
			switch r.Status {
			case http.StatusOK:
				ok++
			case http.StatusTooManyRequests:
				limited++
				if p := r.problem(t); p.Slug != "rate_limited" {
					t.Fatalf("429 with problem %+v", p)
				}
				n, err := strconv.Atoi(r.Header.Get("Retry-After"))
				if err != nil || n < 1 {
					t.Fatalf("429 with Retry-After %q", r.Header.Get("Retry-After"))
				}
				retryAfter = n
			default:
				t.Fatalf("GET /v1/tenant: %d %s", r.Status, r.Body)
			}
		}
		// A burst of 10, plus what refills at 5/s while the 40 requests run.
		most := 10 + int(5*time.Since(start).Seconds()) + 1
		if ok < 10 || ok > most || limited == 0 {
			t.Fatalf("%d served (want 10 to %d) and %d limited of 40 at 5/s with a burst of 10", ok, most, limited)
		}
		// Another tenant is not affected.
		for range 5 {
			if r := e.doKey(other, "GET", "/v1/tenant", nil); r.Status != http.StatusOK {
				t.Fatalf("another tenant while the first is limited: %d %s", r.Status, r.Body)
			}
		}
		// Liveness and readiness are not rate limited.
		if r := e.doKey("", "GET", "/healthz", nil); r.Status != http.StatusOK {
			t.Fatalf("/healthz: %d", r.Status)
		}
		time.Sleep(time.Duration(retryAfter) * time.Second)
		if r := e.doKey(key, "GET", "/v1/tenant", nil); r.Status != http.StatusOK {
			t.Fatalf("after Retry-After: %d %s", r.Status, r.Body)
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

// TestAbuseSlowClients runs the server with a 1 s read timeout and opens
// slow connections: HTTP headers dribbled a byte at a time and an HTTP
// body dribbled. Every one is cut about a read timeout after it started,
// while a normal client keeps getting fast answers. (The ISO half, slow
// acquirers on the ISO port, is cmd/cardhost's TestAbuseSlowISOClients.)
func TestAbuseSlowClients(t *testing.T) {
	const readTimeout = time.Second
	e := newEnv(t, withConfig(func(c *rest.Config) { c.ReadTimeout = readTimeout }))
	key := e.key

	type slowConn struct {
		name string
		conn net.Conn
	}
	var slow []slowConn
	dialSlow := func(name string, first []byte) net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", e.addr(), 5*time.Second)
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
	body := `{"scopes":[]}`
	for i := range 10 {
		header := fmt.Sprintf("GET /v1/tenant HTTP/1.1\r\nHost: cardhost\r\nAuthorization: Bearer %s\r\nX-Slow: %d", key, i)
		c := dialSlow("HTTP headers dribbled", []byte(header[:10]))
		rest := []byte(header[10:])
		drip = append(drip, func() {
			if len(rest) > 0 {
				c.Write(rest[:1])
				rest = rest[1:]
			}
		})
		head := fmt.Sprintf("POST /v1/api-keys HTTP/1.1\r\nHost: cardhost\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", key, len(body))
		cb := dialSlow("HTTP body dribbled", []byte(head))
		restBody := []byte(body)
		drip = append(drip, func() {
			if len(restBody) > 1 { // never the last byte
				cb.Write(restBody[:1])
				restBody = restBody[1:]
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

	// A normal client, served fast meanwhile.
	for time.Since(started) < readTimeout+500*time.Millisecond {
		t0 := time.Now()
		if r := e.doKey(key, "GET", "/v1/tenant", nil); r.Status != http.StatusOK {
			t.Fatalf("normal REST client: %d %s", r.Status, r.Body)
		}
		if d := time.Since(t0); d > 500*time.Millisecond {
			t.Errorf("a REST call took %v among %d slow connections", d, len(slow))
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
