package console

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/issuance/webhook"
)

// Config configures the console. The zero value of each field means its
// default.
type Config struct {
	// IdleTimeout ends a session that made no request for this long.
	// Default 30 minutes.
	IdleTimeout time.Duration
	// MaxAge ends a session this long after sign-in, used or not. Default
	// 12 hours; cmd/cardhost leaves it at that (no variable sets it).
	MaxAge time.Duration
	// Sandbox is the platform's mode: in sandbox mode every key may reveal
	// (as in the API).
	Sandbox bool
	// StreamPoll is how often the live stream looks for new records.
	// Default 1 second.
	StreamPoll time.Duration
	// StreamFor is how long one server-sent event stream lasts before the
	// browser reconnects (resuming after the last record it got), which
	// checks the session again: a session that ended stops streaming
	// within this time. Default 1 minute.
	StreamFor time.Duration
	// SecureCookie sets Secure on cookies even for requests that did not
	// come over TLS (a TLS-terminating proxy that is not a trusted proxy).
	// Default false: Secure is set when API.OverTLS says so.
	SecureCookie bool
}

func (c *Config) setDefaults() {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 30 * time.Minute
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 12 * time.Hour
	}
	if c.StreamPoll <= 0 {
		c.StreamPoll = time.Second
	}
	if c.StreamFor <= 0 {
		c.StreamFor = time.Minute
	}
}

// API is what the console borrows from the REST adapter so that both doors
// apply one set of rules (*rest.Server satisfies it).
type API interface {
	// AuthBlocked reports whether the client address is over the
	// failed-authentication limit, and for how long.
	AuthBlocked(c *fiber.Ctx) (time.Duration, bool)
	// AuthFailed counts a failed sign-in against the client address.
	AuthFailed(c *fiber.Ctx)
	// TenantAllowed takes a request from the tenant's rate limit.
	TenantAllowed(t issuance.Tenant) (time.Duration, bool)
	// StatusOf is the HTTP status the API answers err with.
	StatusOf(err error) int
	// OverTLS reports whether the request came over TLS.
	OverTLS(c *fiber.Ctx) bool
}

// SessionStore keeps sessions by the SHA-256 of their id
// (*postgres.DB satisfies it).
type SessionStore interface {
	// Authenticate returns the tenant and key of an API key's hash;
	// issuance.ErrNotFound when no active key has it.
	Authenticate(ctx context.Context, hash []byte) (issuance.Tenant, issuance.APIKey, error)
	// CreateConsoleSession stores a session and purges those idle since
	// before purgeBefore.
	CreateConsoleSession(ctx context.Context, idHash []byte, tenantID, keyID, csrf string, now, purgeBefore time.Time) error
	// ConsoleSession returns a live session's tenant, key and CSRF token and
	// marks it used at now; issuance.ErrNotFound when it is not live
	// (unknown, idle since before idleSince, created before createdSince,
	// or its key revoked).
	ConsoleSession(ctx context.Context, idHash []byte, now, idleSince, createdSince time.Time) (issuance.Tenant, issuance.APIKey, string, error)
	// DeleteConsoleSession ends a session.
	DeleteConsoleSession(ctx context.Context, idHash []byte) error
}

// Records reads the host's records of a tenant (*hostpg.Ledger satisfies
// it). Another tenant's ids answer issuance.ErrNotFound.
type Records interface {
	CardAuthorizations(ctx context.Context, tenantID, cardID string, p issuance.PageRequest) ([]*host.Authorization, bool, error)
	TenantAuthorization(ctx context.Context, tenantID, id string) (*host.Authorization, error)
	TenantCard(ctx context.Context, tenantID, cardID string) (*host.Card, error)
	Activity(ctx context.Context, tenantID string, since time.Time) (host.Activity, error)
	Feed(ctx context.Context, tenantID string, since time.Time, after string, limit int) ([]host.FeedEntry, error)
	LatestFeed(ctx context.Context, tenantID string, since time.Time, limit int) ([]host.FeedEntry, error)
}

// Deps are the console's collaborators; all are required.
type Deps struct {
	API      API
	Sessions SessionStore
	Service  *issuance.Service
	Catalog  *catalog.Service
	Records  Records
	// Webhooks lists events and their deliveries and redelivers them.
	Webhooks *webhook.Service
	// Money reads balances (package issuance/ledger; nil: none shown).
	Money *ledger.Service
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Console serves the operator console. Safe for concurrent use.
type Console struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	pages *pages

	// stop ends the live streams at shutdown (they would hold the HTTP
	// server's graceful shutdown for as long as they last).
	stopOnce sync.Once
	stop     chan struct{}
}

//go:embed templates static
var files embed.FS

// New builds the console.
func New(cfg Config, deps Deps, logger *slog.Logger) (*Console, error) {
	cfg.setDefaults()
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &Console{cfg: cfg, deps: deps, log: logger.With("component", "console"), pages: p, stop: make(chan struct{})}, nil
}

// Mount registers the console's routes under /console on r (the API's
// fiber app). They are not API routes: the OpenAPI document does not list
// them.
func (co *Console) Mount(r fiber.Router) {
	static, _ := fs.Sub(files, "static")
	g := r.Group(Prefix, co.headers)
	g.Get("/static/*", co.serveStatic(static))
	g.Get("/login", co.loginPage)
	g.Post("/login", co.login)

	// Everything else needs a session; POSTs need its CSRF token.
	a := g.Group("", co.session)
	a.Post("/logout", co.logout)
	a.Get("/", co.overview)
	a.Get("/stream", co.streamPage)
	a.Get("/stream/events", co.streamEvents)
	a.Get("/cards", co.cards)
	a.Get("/cards/:id", co.card)
	a.Post("/cards/:id/status/:action", co.cardStatus)
	a.Post("/cards/:id/controls", co.cardControls)
	a.Post("/cards/:id/reveal", co.cardReveal)
	a.Get("/authorizations/:id", co.authorization)
	a.Get("/products", co.products)
	a.Get("/events", co.events)
	a.Get("/events/:id", co.event)
	a.Post("/events/:id/redeliver", co.redeliver)
	a.Get("/keys", co.keys)
	a.Post("/keys", co.createKey)
	a.Post("/keys/:id/revoke", co.revokeKey)
	a.All("/*", func(c *fiber.Ctx) error { return co.fail(c, issuance.ErrNotFound) })
}

// Prefix is where the console is mounted.
const Prefix = "/console"

// Shutdown ends the open live streams; call it before the HTTP server's
// graceful shutdown. Safe to call more than once, and on a nil Console.
func (co *Console) Shutdown() {
	if co == nil {
		return
	}
	co.stopOnce.Do(func() { close(co.stop) })
}
