package loadgen

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/iso"
)

// BareServer is a bare ISO 8583 server: the same codec and framing as
// cardhost's host (iso.UnpackFields and iso.FieldValues, since the host
// left moov's field machinery on its hot path), and no decision. It answers every request
// with its response MTI (0100 -> 0110, 0200 -> 0210, 0800 -> 0810, ...),
// the echoed request fields and 39 = 00; a message with a readable MTI and
// a bad field gets 30; a bad frame or unreadable MTI closes the connection.
// Each connection is served by one goroutine that reads, answers and
// flushes when no more input is buffered.
//
// It is the baseline of `termsim load --baseline`: the throughput of the
// wire layer alone. It is safe for concurrent use.
type BareServer struct {
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// ErrServerClosed is returned by BareServer.Serve after Close.
var ErrServerClosed = errors.New("termsim: server closed")

// NewBareServer returns a BareServer; start it with Serve.
func NewBareServer() *BareServer {
	return &BareServer{conns: make(map[net.Conn]struct{})}
}

// StartBareServer listens on addr (e.g. "127.0.0.1:0") and serves a
// BareServer there in the background; its Addr is set on return. Close
// stops it.
func StartBareServer(addr string) (*BareServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("starting the bare server: %w", err)
	}
	s := NewBareServer()
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	go s.Serve(ln)
	return s, nil
}

// Serve accepts connections on ln until Close, then returns
// ErrServerClosed. It closes ln.
func (s *BareServer) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.ln = ln
	s.mu.Unlock()
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			return fmt.Errorf("accepting connections: %w", err)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			continue
		}
		s.conns[nc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(nc)
	}
}

// Addr returns the listener's address, or nil before Serve.
func (s *BareServer) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Close stops the server: it closes the listener and every connection and
// waits for their goroutines.
func (s *BareServer) Close() error {
	s.mu.Lock()
	s.closed = true
	if s.ln != nil {
		s.ln.Close()
	}
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *BareServer) serveConn(nc net.Conn) {
	defer func() {
		nc.Close()
		s.mu.Lock()
		delete(s.conns, nc)
		s.mu.Unlock()
		s.wg.Done()
	}()
	br := bufio.NewReaderSize(nc, 16<<10)
	bw := bufio.NewWriterSize(nc, 16<<10)
	buf := make([]byte, 1024)
	for {
		msg, err := iso.ReadFrame(br, buf)
		if err != nil {
			return
		}
		out, ok := bareAnswer(msg)
		if !ok {
			return
		}
		if out != nil {
			if err := bareWrite(bw, out); err != nil {
				return
			}
		}
		if br.Buffered() == 0 {
			if err := bw.Flush(); err != nil {
				return
			}
		}
	}
}

// bareAnswer returns the packed answer to msg (nil when nothing answers
// it), or false when the connection must be closed.
func bareAnswer(msg []byte) ([]byte, bool) {
	m, err := iso.UnpackFields(msg)
	code := iso.Approved
	if err != nil {
		var ue *iso.UnpackError
		if !errors.As(err, &ue) || !ue.MTIReadable() {
			return nil, false
		}
		code = iso.FormatError
	}
	respMTI, ok := iso.ResponseMTI(m.MTI())
	if !ok {
		return nil, true
	}
	r := iso.NewFieldValues(respMTI)
	for _, id := range terminal.EchoFields {
		if m.Get(id) != "" {
			r.Echo(m, id)
		}
	}
	r.Set(iso.FieldResponseCode, string(code))
	out, err := r.Pack()
	if err != nil {
		return nil, false
	}
	return out, true
}

func bareWrite(bw *bufio.Writer, msg []byte) error {
	if len(msg) > iso.MaxMessageLen {
		return iso.ErrFrameTooLarge
	}
	bw.WriteByte(byte(len(msg) >> 8))
	bw.WriteByte(byte(len(msg)))
	_, err := bw.Write(msg)
	return err
}
