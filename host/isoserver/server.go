package isoserver

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Server is the ISO 8583 TCP server. Create it with New; it is safe for
// concurrent use.
type Server struct {
	cfg    Config
	engine Engine
	log    *slog.Logger
	m      *metrics
	macs   sync.Pool // hash.Hash: HMAC-SHA-256 under the fingerprint key
	// unavailable limits the log of 91 answers to one line a second: an
	// outage would otherwise log every request.
	unavailable logLimiter

	// baseCtx parents every Decide context; cancel ends them when a
	// Shutdown gives up waiting.
	baseCtx context.Context
	cancel  context.CancelFunc

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	addr      net.Addr
	closing   bool
	connWG    sync.WaitGroup
}

// New returns a Server that decides requests with engine, logs to logger
// (narrowed with component=isoserver; nil discards) and registers its
// metrics on reg (nil registers nothing). It fails on an invalid Config or
// when the metrics are already registered on reg.
func New(cfg Config, engine Engine, logger *slog.Logger, reg prometheus.Registerer) (*Server, error) {
	if engine == nil {
		return nil, ErrNoEngine
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	key := append([]byte(nil), cfg.FingerprintKey...)
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg:       cfg,
		engine:    engine,
		log:       logger.With("component", "isoserver"),
		m:         m,
		macs:      sync.Pool{New: func() any { return hmac.New(sha256.New, key) }},
		baseCtx:   ctx,
		cancel:    cancel,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
	}, nil
}

// Addr returns the address the server listens on (the first listener
// given to Serve), or nil before it listens. With Config.Addr ":0" this is
// how callers learn the port.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// ListenAndServe listens on Config.Addr and serves until ctx ends, then
// shuts down gracefully within Config.ShutdownTimeout. It returns nil after
// a clean shutdown, the Shutdown error when in-flight requests could not be
// answered in time, or the error that stopped it from listening or
// accepting.
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.cfg.Addr, err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err = s.Shutdown(sctx)
	<-served
	return err
}

// Serve accepts connections on ln and serves each in its own goroutines
// until Shutdown, when it returns ErrServerClosed. It closes ln. Any other
// accept error that is not transient is returned.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	if s.addr == nil {
		s.addr = ln.Addr()
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()

	s.log.Info("serving ISO 8583", "addr", ln.Addr().String(), "tls", s.cfg.TLS != nil)
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("accepting connections: %w", err)
			}
			// Transient (too many open files, aborted handshake...):
			// back off as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accepting connection", "error", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.accept(nc)
	}
}

// accept registers nc and starts serving it, or rejects it.
func (s *Server) accept(nc net.Conn) {
	s.mu.Lock()
	reason := ""
	switch {
	case s.closing:
		reason = reasonShutdown
	case len(s.conns) >= s.cfg.MaxConnections:
		reason = reasonMaxConnections
	}
	if reason != "" {
		s.mu.Unlock()
		s.m.rejected.WithLabelValues(reason).Inc()
		nc.Close()
		s.log.Warn("connection rejected", "remote", nc.RemoteAddr().String(), "reason", reason)
		return
	}
	c := newConn(s, nc)
	s.conns[c] = struct{}{}
	s.connWG.Add(1)
	s.mu.Unlock()
	s.m.open.Inc()
	go c.serve()
}

// connDone unregisters a closed connection.
func (s *Server) connDone(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.m.open.Dec()
	s.connWG.Done()
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Shutdown stops the server gracefully: it closes the listeners, stops
// reading new messages, lets every request already read be decided and
// answered, then closes the connections. If ctx ends first, it cancels the
// engine calls still running, closes every connection at once and returns
// ctx's error. Serve and ListenAndServe then return ErrServerClosed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	for _, c := range conns {
		c.stopReading()
	}
	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
	}
	s.cancel()
	s.mu.Lock()
	for c := range s.conns {
		c.kill()
	}
	s.mu.Unlock()
	// Connections whose engine calls ignore cancellation finish later.
	return fmt.Errorf("shutting down ISO 8583 server: %w", ctx.Err())
}

// mac returns a pooled HMAC-SHA-256 under the fingerprint key, reset.
func (s *Server) mac() hash.Hash {
	h := s.macs.Get().(hash.Hash)
	h.Reset()
	return h
}
