package rest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ca"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/cvv2"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/issuance/reissue"
	"github.com/cardhost/cardhost/issuance/subaccount"
	"github.com/cardhost/cardhost/issuance/webhook"
)

// Config configures the REST server. The zero value of each field means its
// default.
type Config struct {
	// BodyLimit is the largest accepted request body in bytes. Default 1 MiB.
	BodyLimit int
	// ReadTimeout bounds reading one request (headers and body), so slow
	// clients cannot hold connections. Default 10s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one response. Default 10s.
	WriteTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections. Default 60s.
	IdleTimeout time.Duration
	// RequestTimeout bounds handling one request (the handler's context).
	// Default 15s.
	RequestTimeout time.Duration
	// IdempotencyLock is how long a claimed Idempotency-Key blocks other
	// requests with the same key before it is considered abandoned.
	// Default 60s.
	IdempotencyLock time.Duration
	// RateLimit is the default per-tenant request rate (requests per second,
	// burst twice that); a tenant's own limit overrides it. Default 100;
	// negative disables rate limiting.
	RateLimit int
	// AuthFailureLimit is how many failed authentications (a missing,
	// malformed, unknown or revoked API key) one client address may make
	// per second, burst twice that; over it the address is answered 429
	// before its key is even looked up, valid or not. Default 10; it is off
	// when RateLimit is negative.
	AuthFailureLimit int
	// TrustedProxies are the load balancers (addresses or CIDR prefixes)
	// whose X-Forwarded-For header names the client address for the
	// failed-authentication limit: the nearest address in it that is not a
	// trusted proxy. Without them the peer's address is the client's.
	TrustedProxies []netip.Prefix
	// Sandbox enables the sandbox-only endpoints (simulator, reveal without
	// the reveal scope).
	Sandbox bool
	// Version is reported by /healthz.
	Version string
	// ReadyWarnings are reported by /readyz under "warnings" (name ->
	// message) without making it not ready: a way of running the operator
	// should know about, such as production on the embedded Kafka broker.
	// Default none.
	ReadyWarnings map[string]string
	// RequestHashKey keys the HMAC-SHA-256 that identifies an idempotent
	// request's body in the idempotency table, so that the stored digest
	// of a body holding card data (a card import's PAN) cannot be reversed
	// by trying every PAN of a BIN. Instances sharing a database must use
	// the same key. Default: a random key for this Server (one instance).
	RequestHashKey []byte
}

func (c *Config) setDefaults() {
	if c.BodyLimit == 0 {
		c.BodyLimit = 1 << 20
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 10 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 60 * time.Second
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 15 * time.Second
	}
	if c.IdempotencyLock == 0 {
		c.IdempotencyLock = 60 * time.Second
	}
	if c.RateLimit == 0 {
		c.RateLimit = 100
	}
	if c.AuthFailureLimit <= 0 {
		c.AuthFailureLimit = 10
	}
	if len(c.RequestHashKey) == 0 {
		c.RequestHashKey = make([]byte, 32)
		_, _ = rand.Read(c.RequestHashKey) // crypto/rand.Read never fails (Go 1.24+)
	}
}

// ReadyCheck is one dependency that /readyz checks.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// Deps are the server's collaborators.
type Deps struct {
	Tenants     issuance.TenantStore
	Idempotency issuance.IdempotencyStore
	// Service is the card domain (nil while only the skeleton is wired).
	Service *issuance.Service
	// Catalog manages templates, embossers, layouts, products and
	// cardholders (package issuance/catalog; nil while only the skeleton is
	// wired).
	Catalog *catalog.Service
	// CA issues issuer certificates and registers signing keys (package
	// issuance/ca; nil while only the skeleton is wired).
	CA *ca.Service
	// CVV2 resets cards' CVV2 tries (package issuance/cvv2; nil while only
	// the skeleton is wired).
	CVV2 *cvv2.Service
	// Reissue reissues cards (package issuance/reissue; nil while only the
	// skeleton is wired).
	Reissue *reissue.Service
	// Authorizations reads the host's records (nil: those routes are off).
	Authorizations AuthorizationReader
	// Simulator drives the host in sandbox mode (nil: no simulator routes).
	Simulator Simulator
	// Webhooks manages webhook endpoints and answers the Events API
	// (package issuance/webhook; nil: those routes are off).
	Webhooks *webhook.Service
	// DecisionsChanged, when set, is called after a decision endpoint is
	// set or removed (the host reads them again at once).
	DecisionsChanged func(ctx context.Context)
	// Ledger runs the money operations (package issuance/ledger; nil:
	// those routes are off).
	Ledger *ledger.Service
	// SubAccounts creates sub-accounts and resolves x-on-behalf-of
	// (package issuance/subaccount; nil: those routes are off and the
	// header names no sub-account).
	SubAccounts *subaccount.Service
	// Ready lists the checks /readyz runs (PostgreSQL, Kafka...).
	Ready []ReadyCheck
	// IsUnavailable reports whether an error means a backing service is
	// down (answered 503); typically postgres.IsUnavailable.
	IsUnavailable func(error) bool
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Server is the REST API. Safe for concurrent use once built.
type Server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	app     *fiber.App
	routes  []route
	metrics *httpMetrics
	limiter *rateLimiter
	// authFailures limits failed authentications per client address.
	authFailures *rateLimiter
	reg          prometheus.Gatherer
}

// New builds the REST server and registers every route. reg receives the
// HTTP metrics; gather (usually the same registry) is served at /metrics.
func New(cfg Config, deps Deps, logger *slog.Logger, reg prometheus.Registerer, gather prometheus.Gatherer) (*Server, error) {
	cfg.setDefaults()
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, deps: deps, log: logger.With("component", "rest"), reg: gather}
	m, err := newHTTPMetrics(reg)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	if cfg.RateLimit > 0 {
		s.limiter = newRateLimiter(cfg.RateLimit, deps.Now)
		s.authFailures = newRateLimiter(cfg.AuthFailureLimit, deps.Now)
	}
	s.app = fiber.New(fiber.Config{
		AppName:               "cardhost",
		BodyLimit:             cfg.BodyLimit,
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		ErrorHandler:          s.errorHandler,
		DisableStartupMessage: true,
		Immutable:             true,
		StrictRouting:         false,
		CaseSensitive:         true,
		ReadBufferSize:        16 << 10,
		JSONEncoder:           jsonLine,
	})
	s.app.Use(s.requestIDMiddleware, s.recoverMiddleware, s.metricsMiddleware, s.logMiddleware, s.queryMiddleware)
	s.registerRoutes()
	return s, nil
}

// jsonLine encodes v as JSON ending with a newline, as every JSON answer
// of the API does (a shell prompt after `curl` starts on its own line, and
// line-oriented tools read the answer whole).
func jsonLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	return append(b, '\n'), err
}

// Serve serves HTTP on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting connections and waits for in-flight requests to
// finish, or for ctx to end.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }

// App returns the fiber app (for tests that call app.Test).
func (s *Server) App() *fiber.App { return s.app }
