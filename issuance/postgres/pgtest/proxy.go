package pgtest

import (
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// ProxyMode is what a Proxy does with traffic.
type ProxyMode int

// Proxy modes.
const (
	// Forward passes bytes both ways (after the configured delay).
	Forward ProxyMode = iota
	// Cut refuses new connections (the listener is closed: connection
	// refused) and resets the open ones: the database is down.
	Cut
	// Blackhole accepts new connections and keeps the open ones, but
	// passes nothing either way: a network partition or a hung server.
	// Bytes sent meanwhile are dropped.
	Blackhole
)

// String names the mode for test logs.
func (m ProxyMode) String() string {
	switch m {
	case Forward:
		return "forward"
	case Cut:
		return "cut"
	case Blackhole:
		return "blackhole"
	}
	return "unknown"
}

// Proxy is a TCP proxy between the code under test and PostgreSQL (or any
// TCP server) that a test can cut, blackhole and slow down, to simulate a
// database that is down, unreachable or slow without touching the real
// server, which other tests share. Build it with NewProxy; it is closed
// at the end of the test. Its methods are safe for concurrent use.
type Proxy struct {
	t      testing.TB
	target string
	addr   string

	mu      sync.Mutex
	ln      net.Listener // nil while cut
	mode    ProxyMode
	delay   time.Duration
	conns   map[*proxyConn]struct{}
	closed  bool
	changed chan struct{} // closed and replaced on every mode change
	wg      sync.WaitGroup
}

// proxyConn is one client connection and its upstream connection.
type proxyConn struct {
	client, server net.Conn
	// tainted: the connection lived through a blackhole, so bytes were
	// dropped and its protocol state is lost; Restore closes it.
	tainted bool
	// dead: closed by the proxy (Cut, Restore, Close).
	dead bool
}

// NewProxy starts a proxy on a free loopback port forwarding to target
// (host:port). It is closed when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: starting proxy: %v", err)
	}
	p := &Proxy{t: t, target: target, addr: ln.Addr().String(), ln: ln,
		conns: map[*proxyConn]struct{}{}, changed: make(chan struct{})}
	p.wg.Add(1)
	go p.accept(ln)
	t.Cleanup(p.Close)
	return p
}

// NewPostgresProxy starts a proxy in front of the server of connURL and
// returns it with connURL rewritten to go through it.
func NewPostgresProxy(t testing.TB, connURL string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(connURL)
	if err != nil {
		t.Fatalf("pgtest: parsing URL: %v", err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	p := NewProxy(t, target)
	u.Host = p.Addr()
	return p, u.String()
}

// Addr is the proxy's listen address (host:port); it stays the same
// across Cut and Restore.
func (p *Proxy) Addr() string { return p.addr }

// Mode returns the current mode.
func (p *Proxy) Mode() ProxyMode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// Conns returns how many client connections are open through the proxy.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Cut takes the database down: open connections are reset and new ones
// refused.
func (p *Proxy) Cut() {
	p.alter(func() {
		p.setMode(Cut)
		if p.ln != nil {
			p.ln.Close()
			p.ln = nil
		}
		for c := range p.conns {
			c.kill()
		}
	})
}

// Blackhole makes the database unreachable without closing anything:
// connections (open and new) stay up and nothing passes.
func (p *Proxy) Blackhole() {
	p.alter(func() {
		p.relisten()
		p.setMode(Blackhole)
		for c := range p.conns {
			c.tainted = true
		}
	})
}

// Slow delays every chunk of bytes by d in each direction (0: no delay).
// It applies in Forward mode and stays set across mode changes.
func (p *Proxy) Slow(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// Restore brings the database back: new connections are forwarded again.
// Connections that lived through a blackhole are closed (bytes were
// dropped, so they cannot be used again), as after a real partition; the
// client's pool reconnects.
func (p *Proxy) Restore() {
	p.alter(func() {
		p.relisten()
		for c := range p.conns {
			if c.tainted {
				c.kill()
			}
		}
		p.setMode(Forward)
	})
}

// alter runs fn under mu, unless the proxy is closed.
func (p *Proxy) alter(fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		fn()
	}
}

// Close stops the proxy and closes every connection. It is idempotent.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.kill()
	}
	p.setMode(Cut)
	p.mu.Unlock()
	p.wg.Wait()
}

// setMode changes the mode and wakes the goroutines waiting for a change.
// The caller holds mu.
func (p *Proxy) setMode(m ProxyMode) {
	p.mode = m
	close(p.changed)
	p.changed = make(chan struct{})
}

// relisten reopens the listener on the same address after a Cut. The
// caller holds mu.
func (p *Proxy) relisten() {
	if p.ln != nil {
		return
	}
	var err error
	for i := 0; i < 50; i++ { // the port may linger for a moment
		var ln net.Listener
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.ln = ln
			p.wg.Add(1)
			go p.accept(ln)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Errorf("pgtest: proxy cannot listen on %s again: %v", p.addr, err)
}

func (p *Proxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		client, err := ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.closed || p.ln != ln {
			p.mu.Unlock()
			client.Close()
			continue
		}
		c := &proxyConn{client: client, tainted: p.mode == Blackhole}
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(c)
	}
}

// serve connects c upstream (waiting while blackholed) and pumps bytes
// both ways until either side closes.
func (p *Proxy) serve(c *proxyConn) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		c.kill()
		p.mu.Unlock()
	}()
	// A blackholed connection is held open with no answer; it connects
	// upstream only if the proxy is restored before it is closed.
	if !p.waitForward(c) {
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	p.mu.Lock()
	c.server = server
	if c.dead {
		server.Close()
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { p.pump(c, server, c.client); done <- struct{}{} }()
	go func() { p.pump(c, c.client, server); done <- struct{}{} }()
	<-done
	p.mu.Lock()
	c.kill()
	p.mu.Unlock()
	<-done
}

// waitForward blocks while the proxy blackholes a new connection, and
// reports whether c may be connected upstream.
func (p *Proxy) waitForward(c *proxyConn) bool {
	for {
		p.mu.Lock()
		mode, changed, dead := p.mode, p.changed, c.dead
		p.mu.Unlock()
		switch {
		case dead || mode == Cut:
			return false
		case mode == Forward:
			return true
		}
		<-changed
	}
}

// pump copies src to dst chunk by chunk, applying the delay and dropping
// what arrives while blackholed.
func (p *Proxy) pump(c *proxyConn, dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			mode, delay := p.mode, p.delay
			if mode == Blackhole {
				c.tainted = true
			}
			p.mu.Unlock()
			switch mode {
			case Blackhole:
				continue // dropped
			case Cut:
				return
			}
			if delay > 0 {
				time.Sleep(delay)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or closed: serve closes both sides
		}
	}
}

// kill closes both sides of c; its pumps then end. The caller holds the
// proxy's mu.
func (c *proxyConn) kill() {
	c.dead = true
	c.client.Close()
	if c.server != nil {
		c.server.Close()
	}
}
