package terminal

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/cardhost/cardhost/iso"
)

// Client is one ISO 8583 connection to a host. Many goroutines may Send
// on it at once: requests are written as they come (one writer goroutine
// batches what is queued into one write) and answers are matched to them
// by STAN (field 11) and terminal (field 41) as they arrive, in any order.
// A Client is safe for concurrent use.
//
// It is its own small connection layer rather than moov-io's
// iso8583-connection: v0.9.0 of that library can deadlock when a
// connection fails while an answer is being delivered (its error handler
// holds the pending-request lock while handing each pending request an
// error on an unbuffered channel), which hangs Close, and it leaks a
// goroutine per answer that arrives after its request gave up. A load
// generator meets both whenever a host drops connections.
type Client struct {
	nc   net.Conn
	opts Options
	addr string
	log  *slog.Logger
	stan atomic.Uint32

	out  chan []byte // frames for the writer
	done chan struct{}
	wg   sync.WaitGroup // reader and writer

	mu      sync.Mutex
	pending map[string]chan answer
	closed  bool
	closing bool // Close was called (errors after it are not logged)
	once    sync.Once
}

// Dial connects to the host at addr ("host:port"). The connection attempt
// ends with ctx or after Options.ConnectTimeout.
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, o.ConnectTimeout)
	defer cancel()
	var nc net.Conn
	d := &net.Dialer{}
	if o.TLSConfig != nil {
		nc, err = (&tls.Dialer{NetDialer: d, Config: o.TLSConfig}).DialContext(dctx, "tcp", addr)
	} else {
		nc, err = d.DialContext(dctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	c := &Client{
		nc: nc, opts: o, addr: addr, log: o.Logger.With("component", "termsim", "host", addr),
		out: make(chan []byte, 256), done: make(chan struct{}), pending: make(map[string]chan answer),
	}
	c.stan.Store(rand.Uint32N(maxSTAN)) // runs do not reuse each other's STANs
	c.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
	return c, nil
}

// Addr returns the host address the Client is connected to.
func (c *Client) Addr() string { return c.addr }

// Close closes the connection at once: Sends in flight and after Close
// return ErrClosed. To let requests in flight be answered, wait for their
// Send calls to return before calling Close.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	err := c.shutdown()
	c.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("closing connection to %s: %w", c.addr, err)
	}
	return nil
}

// shutdown closes the socket and fails what is in flight (once).
func (c *Client) shutdown() error {
	var err error
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		for k, ch := range c.pending {
			delete(c.pending, k)
			close(ch)
		}
		c.mu.Unlock()
		err = c.nc.Close()
		close(c.done)
	})
	return err
}

// fail ends the connection after a read or write error.
func (c *Client) fail(err error) {
	c.mu.Lock()
	quiet := c.closing || c.closed
	c.mu.Unlock()
	if !quiet {
		c.log.Warn("connection error", "error", err)
	}
	c.shutdown()
}

// Done is closed when the connection has closed, for any reason.
func (c *Client) Done() <-chan struct{} { return c.done }

// maxSTAN is the number of STAN values: 000001 to 999999.
const maxSTAN = 999_999

// NextSTAN returns the next STAN (field 11) of this Client: six digits,
// 000001 to 999999, then around again.
func (c *Client) NextSTAN() string {
	n := c.stan.Add(1)%maxSTAN + 1
	return fmt.Sprintf("%06d", n)
}

// Now returns the Client's clock (Options.Now).
func (c *Client) Now() time.Time { return c.opts.Now() }

// ErrInFlight: a request with the same STAN and terminal is already
// waiting for its answer on the connection (the answers could not be told
// apart).
var ErrInFlight = errors.New("termsim: a request with this STAN and terminal is in flight")

// answer is an answer and its bytes as received (without the header).
type answer struct {
	m   *iso8583.Message
	raw []byte
}

// Send writes m and waits for its answer: the message with the same STAN
// and terminal id. It waits at most Options.RequestTimeout or until ctx
// ends, and then returns an error matching ErrTimeout (and ctx's error when
// ctx ended it). It returns ErrClosed when the connection is or becomes
// closed, ErrInFlight when m's STAN and terminal are already in flight,
// and a *FieldError (package iso) when m cannot be packed.
func (c *Client) Send(ctx context.Context, m *iso8583.Message) (*iso8583.Message, error) {
	a, err := c.send(ctx, m)
	return a.m, err
}

// SendRaw is Send that also returns the answer's bytes as received
// (without the length header), for byte-for-byte comparisons.
func (c *Client) SendRaw(ctx context.Context, m *iso8583.Message) (*iso8583.Message, []byte, error) {
	a, err := c.send(ctx, m)
	return a.m, a.raw, err
}

func (c *Client) send(ctx context.Context, m *iso8583.Message) (answer, error) {
	timeout := c.opts.RequestTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if err := ctx.Err(); err != nil {
		return answer{}, fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	if timeout <= 0 {
		return answer{}, fmt.Errorf("%w: %w", ErrTimeout, context.DeadlineExceeded)
	}
	key, err := requestKey(m)
	if err != nil {
		return answer{}, err
	}
	b, err := iso.Pack(m)
	if err != nil {
		return answer{}, fmt.Errorf("sending message: %w", err)
	}
	frame, err := iso.AppendFrame(make([]byte, 0, iso.HeaderLen+len(b)), b)
	if err != nil {
		return answer{}, fmt.Errorf("sending message: %w", err)
	}
	ch := make(chan answer, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return answer{}, ErrClosed
	}
	if _, dup := c.pending[key]; dup {
		c.mu.Unlock()
		return answer{}, fmt.Errorf("%w: STAN %s", ErrInFlight, key)
	}
	c.pending[key] = ch
	c.mu.Unlock()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case c.out <- frame:
	case <-c.done:
		return answer{}, ErrClosed
	case <-timer.C:
		return c.giveUp(key, ch, nil)
	case <-ctx.Done():
		return c.giveUp(key, ch, ctx.Err())
	}
	select {
	case a, ok := <-ch:
		if !ok {
			return answer{}, ErrClosed
		}
		return a, nil
	case <-timer.C:
		return c.giveUp(key, ch, nil)
	case <-ctx.Done():
		return c.giveUp(key, ch, ctx.Err())
	}
}

// giveUp forgets a request that got no answer in time: ErrTimeout, wrapping
// cause (the context's error) when there is one.
func (c *Client) giveUp(key string, ch chan answer, cause error) (answer, error) {
	c.forget(key, ch)
	if cause != nil {
		return answer{}, fmt.Errorf("%w: %w", ErrTimeout, cause)
	}
	return answer{}, ErrTimeout
}

// forget removes a request that gave up; an answer arriving later is
// logged as unmatched.
func (c *Client) forget(key string, ch chan answer) {
	c.mu.Lock()
	if c.pending[key] == ch {
		delete(c.pending, key)
	}
	c.mu.Unlock()
}

// requestKey is how answers are matched: STAN and terminal id (field 41
// when present: 0800 may omit it).
func requestKey(m *iso8583.Message) (string, error) {
	stan, _ := m.GetString(iso.FieldSTAN)
	if stan == "" {
		return "", errors.New("sending message: message has no STAN (field 11)")
	}
	terminal, _ := m.GetString(iso.FieldTerminal)
	return stan + "/" + terminal, nil
}

// writeLoop writes queued frames, gathering what is queued into one write.
func (c *Client) writeLoop() {
	defer c.wg.Done()
	bw := bufio.NewWriterSize(c.nc, 32<<10)
	for {
		var f []byte
		select {
		case f = <-c.out:
		case <-c.done:
			return
		}
		_, _ = bw.Write(f)
	more:
		for {
			select {
			case f = <-c.out:
				_, _ = bw.Write(f)
			default:
				break more
			}
		}
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.opts.RequestTimeout))
		if err := bw.Flush(); err != nil {
			c.fail(fmt.Errorf("writing: %w", err))
			return
		}
	}
}

// readLoop reads answers and hands each to the request waiting for it.
func (c *Client) readLoop() {
	defer c.wg.Done()
	br := bufio.NewReaderSize(c.nc, 32<<10)
	for {
		b, err := iso.ReadFrame(br, nil)
		if err != nil {
			c.fail(fmt.Errorf("reading: %w", err))
			return
		}
		m, err := iso.Unpack(b)
		if err != nil {
			// Never log the message itself: it may hold card data.
			c.log.Warn("unreadable answer", "error", err, "field", iso.FieldOf(err))
			continue
		}
		key, err := requestKey(m)
		if err != nil {
			c.log.Warn("answer without STAN")
			continue
		}
		c.mu.Lock()
		ch, ok := c.pending[key]
		if ok {
			delete(c.pending, key)
		}
		c.mu.Unlock()
		if !ok {
			mti, _ := m.GetMTI()
			stan, _ := m.GetString(iso.FieldSTAN)
			c.log.Warn("answer matches no request in flight", "mti", mti, "stan", stan)
			continue
		}
		ch <- answer{m, b} // buffered: never blocks
	}
}
