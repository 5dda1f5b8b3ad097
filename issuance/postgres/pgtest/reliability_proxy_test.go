package pgtest

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// echoServer answers every line with the same line.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip writes a line and waits up to wait for it to come back.
func roundTrip(c net.Conn, wait time.Duration) error {
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "ping\n" {
		return errors.New("wrong echo " + line)
	}
	return nil
}

func TestProxyModes(t *testing.T) {
	p := NewProxy(t, echoServer(t))
	dial := func() net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
		if err != nil {
			t.Fatalf("dialing the proxy: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	open := dial()
	if err := roundTrip(open, time.Second); err != nil {
		t.Fatalf("forward: %v", err)
	}

	// Slow: a round trip takes at least two delays (one each way).
	p.Slow(100 * time.Millisecond)
	start := time.Now()
	if err := roundTrip(open, 2*time.Second); err != nil {
		t.Fatalf("slow: %v", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("slow round trip took %v, want at least 200ms", d)
	}
	p.Slow(0)

	// Blackhole: open and new connections stay up and get nothing.
	p.Blackhole()
	if err := roundTrip(open, 300*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("blackholed open connection: %v, want a timeout", err)
	}
	held := dial()
	if err := roundTrip(held, 300*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("blackholed new connection: %v, want a timeout", err)
	}

	// Restore: the connections that lived through the blackhole are
	// closed, new ones work.
	p.Restore()
	if err := roundTrip(open, time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection from before the blackhole: %v, want it closed", err)
	}
	if err := roundTrip(held, time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection opened during the blackhole: %v, want it closed", err)
	}
	fresh := dial()
	if err := roundTrip(fresh, time.Second); err != nil {
		t.Fatalf("after restore: %v", err)
	}

	// Cut: open connections are reset, new ones refused.
	p.Cut()
	if err := roundTrip(fresh, time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection across a cut: %v, want it closed", err)
	}
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("a cut proxy accepted a connection")
	}
	if p.Mode() != Cut {
		t.Fatalf("mode %v, want cut", p.Mode())
	}

	// Back on the same address.
	p.Restore()
	if err := roundTrip(dial(), time.Second); err != nil {
		t.Fatalf("after a cut and restore: %v", err)
	}
}

func TestPostgresProxyRewritesTheURL(t *testing.T) {
	p, u := NewPostgresProxy(t, "postgres://postgres@127.0.0.1:5432/cardhost_test?sslmode=disable&search_path=t_1")
	want := "postgres://postgres@" + p.Addr() + "/cardhost_test?sslmode=disable&search_path=t_1"
	if u != want {
		t.Fatalf("URL %s, want %s", u, want)
	}
}
