package sender

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/cardhost/cardhost/issuance/webhook"
)

// Config configures a Sender. The zero value of each field means its
// default.
type Config struct {
	// AllowPrivate lets the sender reach loopback and private addresses
	// (sandbox mode only).
	AllowPrivate bool
	// MaxBody is the most of an answer's body read. A longer body makes
	// the attempt fail. Default 64 KiB.
	MaxBody int64
	// DialTimeout bounds connecting. Default 10s (the attempt's own
	// deadline, from the dispatcher, bounds everything).
	DialTimeout time.Duration
	// MaxIdlePerHost is how many idle connections are kept per host.
	// Default 4 (webhook.Config.PerEndpoint's default).
	MaxIdlePerHost int
	// TLS is the TLS configuration (nil: the system's roots, TLS 1.2 or
	// later). Tests give their receivers' root here.
	TLS *tls.Config
	// UserAgent is sent with every request. Default "cardhost-webhooks/1".
	UserAgent string
}

// Errors of an attempt, as webhook.Result.Err. Their texts are stored in
// the attempt's history, so they say what happened and name no URL.
var (
	ErrBodyTooLarge = errors.New("the answer's body is over the limit")
	ErrTimeout      = errors.New("no answer before the timeout")
	ErrRefused      = errors.New("refused: the host is a loopback, private or reserved address")
)

// Sender POSTs webhook requests. Safe for concurrent use.
type Sender struct {
	cfg    Config
	client *http.Client
}

var _ webhook.Sender = (*Sender)(nil)

// New returns a sender.
func New(cfg Config) *Sender {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 64 << 10
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.MaxIdlePerHost <= 0 {
		cfg.MaxIdlePerHost = 4
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "cardhost-webhooks/1"
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLS != nil {
		tc = cfg.TLS.Clone()
	}
	d := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivate {
		d.Control = checkDialed
	}
	tr := &http.Transport{
		Proxy:               nil, // a proxy would dial for us, past the address check
		DialContext:         d.DialContext,
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: cfg.MaxIdlePerHost,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   true,
	}
	return &Sender{cfg: cfg, client: &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// checkDialed refuses to connect to an address webhook.CheckAddr refuses:
// it runs after DNS resolution, on the address being dialed.
func checkDialed(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return ErrRefused
	}
	if webhook.CheckAddr(ap.Addr()) != nil {
		return ErrRefused
	}
	return nil
}

// Close closes idle connections.
func (s *Sender) Close() { s.client.CloseIdleConnections() }

// Send POSTs r and reads at most MaxBody of the answer.
func (s *Sender) Send(ctx context.Context, r webhook.Request) webhook.Result {
	start := time.Now()
	res := s.send(ctx, r)
	res.Duration = time.Since(start)
	return res
}

func (s *Sender) send(ctx context.Context, r webhook.Request) webhook.Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return webhook.Result{Err: errors.New("the endpoint URL cannot be requested")}
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", s.cfg.UserAgent)
	resp, err := s.client.Do(req)
	if err != nil {
		return webhook.Result{Err: clean(ctx, err)}
	}
	defer resp.Body.Close()
	res := webhook.Result{StatusCode: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, s.cfg.MaxBody+1))
	switch {
	case n > s.cfg.MaxBody:
		res.Err = fmt.Errorf("%w (%d bytes)", ErrBodyTooLarge, s.cfg.MaxBody)
	case err != nil:
		res.Err = clean(ctx, err)
	}
	return res
}

// Call POSTs a request whose answer matters (a real-time authorization
// decision; host.IssuerCaller) and returns its status and body, read up
// to MaxBody (a longer body is ErrBodyTooLarge). Redirects are not
// followed: a 3xx is the answer. Errors name no URL.
func (s *Sender) Call(ctx context.Context, url string, header http.Header, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, errors.New("the endpoint URL cannot be requested")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", s.cfg.UserAgent)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, clean(ctx, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxBody+1))
	switch {
	case int64(len(answer)) > s.cfg.MaxBody:
		return resp.StatusCode, nil, fmt.Errorf("%w (%d bytes)", ErrBodyTooLarge, s.cfg.MaxBody)
	case err != nil:
		return resp.StatusCode, nil, clean(ctx, err)
	}
	return resp.StatusCode, answer, nil
}

// clean turns a client error into one that names no URL.
func clean(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, ErrRefused):
		return ErrRefused
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()):
		return ErrTimeout
	}
	return err
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110, section 10.2.3); 0 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(min(n, int64(365*24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
