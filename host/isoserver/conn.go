package isoserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cardhost/cardhost/iso"
)

// conn serves one connection: a reader goroutine (serve/readLoop) that
// reads frames and hands them to a pool of at most MaxInFlight workers
// started on demand, and a writer goroutine that writes their responses.
type conn struct {
	s      *Server
	nc     net.Conn // the accepted connection: deadlines and closing
	rw     net.Conn // what messages are read from and written to: nc, or TLS over it
	remote string
	br     *bufio.Reader

	jobs    chan job      // unbuffered: idle workers wait on it
	slots   chan struct{} // in-flight requests; cap MaxInFlight
	out     chan []byte   // packed responses for the writer; cap MaxInFlight
	workers int           // workers started (reader goroutine only)
	wg      sync.WaitGroup
	written chan struct{} // closed when the writer is done

	mu          sync.Mutex  // guards idle, handshaking and read-deadline changes
	idle        bool        // the reader waits for a message to start
	handshaking bool        // the TLS handshake is running
	stopping    atomic.Bool // Shutdown: read no new message

	killed atomic.Bool
}

// job is one message read from the connection.
type job struct {
	buf      *[]byte // pooled frame buffer holding the message
	received time.Time
}

func newConn(s *Server, nc net.Conn) *conn {
	return &conn{
		s:       s,
		nc:      nc,
		remote:  nc.RemoteAddr().String(),
		jobs:    make(chan job),
		slots:   make(chan struct{}, s.cfg.MaxInFlight),
		out:     make(chan []byte, s.cfg.MaxInFlight),
		written: make(chan struct{}),
	}
}

// aLongTimeAgo is a deadline in the past: it makes blocked reads return.
var aLongTimeAgo = time.Unix(1, 0)

// stopReading makes the reader stop before the next message (Shutdown).
// A message being read is read to its end and answered.
func (c *conn) stopReading() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopping.Store(true)
	switch {
	case c.handshaking: // no request can be in flight yet
		c.nc.Close()
	case c.idle:
		c.nc.SetReadDeadline(aLongTimeAgo)
	}
}

// kill closes the connection at once (Shutdown gave up waiting).
func (c *conn) kill() {
	c.killed.Store(true)
	c.nc.Close()
}

// serve runs the connection to its end.
func (c *conn) serve() {
	defer c.s.connDone(c)
	log := c.s.log.With("remote", c.remote)

	if c.s.cfg.TLS != nil {
		tc := tls.Server(c.nc, c.s.cfg.TLS)
		c.mu.Lock()
		c.handshaking = !c.stopping.Load()
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(c.s.baseCtx, c.s.cfg.ReadTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		c.mu.Lock()
		c.handshaking = false
		c.mu.Unlock()
		if err == nil && c.stopping.Load() {
			err = ErrServerClosed
		}
		if err != nil {
			reason := reasonTLSHandshake
			if c.stopping.Load() {
				reason = reasonShutdown
			}
			c.s.m.rejected.WithLabelValues(reason).Inc()
			c.nc.Close()
			if reason == reasonTLSHandshake {
				log.Warn("TLS handshake failed", "error", err)
			}
			return
		}
		c.rw = tc
	} else {
		c.rw = c.nc
	}
	c.br = bufio.NewReaderSize(c.rw, 16<<10)
	log.Debug("connection opened")

	go c.writeLoop()
	reason := c.readLoop()

	// Answer what is in flight, then close.
	close(c.jobs)
	c.wg.Wait()
	close(c.out)
	<-c.written
	c.nc.Close()
	if c.killed.Load() {
		reason = closeShutdownKill
	}
	c.s.m.closed.WithLabelValues(reason).Inc()
	log.Debug("connection closed", "reason", reason)
}

// readLoop reads messages until the connection ends or must be closed,
// and returns why (a closed-connection reason).
func (c *conn) readLoop() string {
	s := c.s
	var hdr [iso.HeaderLen]byte
	for {
		if c.stopping.Load() {
			return closeShutdown
		}
		// The idle deadline covers the wait for a message's first byte;
		// from there the whole message (header included, so that half a
		// header cannot hold the connection) must arrive within
		// ReadTimeout.
		deadlineSet := false
		if c.br.Buffered() < iso.HeaderLen {
			if c.br.Buffered() == 0 {
				if !c.waitForMessage() {
					return closeShutdown
				}
				_, err := c.br.Peek(1)
				c.mu.Lock()
				c.idle = false
				c.mu.Unlock()
				if err != nil && c.stopping.Load() && isTimeout(err) {
					return closeShutdown
				}
				if err != nil {
					return c.readFailed(err, false)
				}
			}
			if c.br.Buffered() < iso.HeaderLen {
				c.nc.SetReadDeadline(s.cfg.Now().Add(s.cfg.ReadTimeout))
				deadlineSet = true
			}
		}
		if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
			return c.readFailed(err, true)
		}
		n, err := iso.DecodeHeader(hdr)
		if err != nil {
			reason := closeFrameTooBig
			if errors.Is(err, iso.ErrFrameEmpty) {
				reason = closeFrameEmpty
			}
			s.log.Warn("closing connection: bad length header", "remote", c.remote, "length", n, "max", iso.MaxMessageLen)
			return reason
		}
		if !deadlineSet && c.br.Buffered() < n {
			c.nc.SetReadDeadline(s.cfg.Now().Add(s.cfg.ReadTimeout))
		}
		buf := getBuffer(n)
		if _, err := io.ReadFull(c.br, *buf); err != nil {
			putBuffer(buf)
			return c.readFailed(err, true)
		}
		received := s.cfg.Now()
		if n < 4 || !iso.ValidMTI(string((*buf)[:4])) {
			putBuffer(buf)
			s.log.Warn("closing connection: unreadable MTI", "remote", c.remote, "length", n)
			return closeBadMTI
		}
		c.slots <- struct{}{} // waits while MaxInFlight requests are in flight
		s.m.inFlight.Inc()
		c.dispatch(job{buf: buf, received: received})
	}
}

// waitForMessage arms the idle deadline before a read that waits for the
// next message, unless the connection is stopping.
func (c *conn) waitForMessage() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping.Load() {
		return false
	}
	c.idle = true
	c.nc.SetReadDeadline(c.s.cfg.Now().Add(c.s.cfg.IdleTimeout))
	return true
}

// readFailed logs a read error and returns the closing reason.
func (c *conn) readFailed(err error, midMessage bool) string {
	log := c.s.log
	switch {
	case c.killed.Load():
		return closeShutdownKill
	case !midMessage && errors.Is(err, io.EOF):
		return closePeer
	case isTimeout(err) && !midMessage:
		log.Info("closing idle connection", "remote", c.remote, "idle_timeout", c.s.cfg.IdleTimeout)
		return closeIdle
	case isTimeout(err):
		log.Warn("closing connection: message not received in time", "remote", c.remote, "read_timeout", c.s.cfg.ReadTimeout)
		return closeReadTimeout
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		log.Warn("connection closed in the middle of a message", "remote", c.remote)
		return closeMidMessage
	case errors.Is(err, net.ErrClosed):
		return closeWriteError // the writer closed it after a write error
	default:
		log.Info("closing connection: read error", "remote", c.remote, "error", err)
		return closeReadError
	}
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// dispatch hands j to an idle worker, or starts one while fewer than
// MaxInFlight run. The caller holds a slot for j, so when all workers are
// started at least one of them is about to take the next job.
func (c *conn) dispatch(j job) {
	select {
	case c.jobs <- j:
		return
	default:
	}
	if c.workers < c.s.cfg.MaxInFlight {
		c.workers++
		c.wg.Add(1)
		go c.work(j)
		return
	}
	c.jobs <- j
}

// work handles jobs until the connection stops reading.
func (c *conn) work(j job) {
	defer c.wg.Done()
	for {
		if resp := c.s.handle(*j.buf, j.received, c.remote); resp != nil {
			c.out <- resp
		}
		putBuffer(j.buf)
		c.s.m.inFlight.Dec()
		<-c.slots
		var ok bool
		if j, ok = <-c.jobs; !ok {
			return
		}
	}
}

// writeLoop writes responses, each with its length header, through one
// buffer that it flushes when no more responses are queued. After a write
// error it closes the connection and discards what remains.
func (c *conn) writeLoop() {
	defer close(c.written)
	s := c.s
	bw := bufio.NewWriterSize(c.rw, 16<<10)
	failed := false
	for msg := range c.out {
		if failed {
			continue
		}
		start := s.cfg.Now()
		c.nc.SetWriteDeadline(start.Add(s.cfg.WriteTimeout))
		err := writeFrame(bw, msg)
		// Answers come in bursts: a commit group wakes all its decisions
		// at once. What is queued is written with msg; then one yield lets
		// the rest of the burst queue up, so that one syscall carries it.
		for yielded := false; err == nil; {
			more, ok := c.poll()
			if ok {
				err = writeFrame(bw, more)
				continue
			}
			if yielded {
				break
			}
			runtime.Gosched()
			yielded = true
		}
		if err == nil {
			err = bw.Flush()
		}
		s.m.write.Observe(s.cfg.Now().Sub(start).Seconds())
		if err != nil {
			failed = true
			if !c.killed.Load() {
				s.log.Info("closing connection: write error", "remote", c.remote, "error", err)
			}
			c.nc.Close()
		}
	}
}

// poll returns the next queued answer without waiting (false when none is
// queued, or the queue is closed).
func (c *conn) poll() ([]byte, bool) {
	select {
	case msg, ok := <-c.out:
		return msg, ok
	default:
		return nil, false
	}
}

// writeFrame writes msg's 2-byte length header and msg.
func writeFrame(bw *bufio.Writer, msg []byte) error {
	if err := bw.WriteByte(byte(len(msg) >> 8)); err != nil {
		return err
	}
	if err := bw.WriteByte(byte(len(msg))); err != nil {
		return err
	}
	_, err := bw.Write(msg)
	return err
}

// Frame buffers are pooled: most messages fit in pooledBufferSize.
const pooledBufferSize = 1024

var buffers = sync.Pool{New: func() any {
	b := make([]byte, pooledBufferSize)
	return &b
}}

func getBuffer(n int) *[]byte {
	if n > pooledBufferSize {
		b := make([]byte, n)
		return &b
	}
	b := buffers.Get().(*[]byte)
	*b = (*b)[:n]
	return b
}

func putBuffer(b *[]byte) {
	if cap(*b) == pooledBufferSize {
		buffers.Put(b)
	}
}
