package rest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/alias"
	"github.com/cardhost/cardhost/issuance/catalog"
)

const (
	headerRequestID      = "X-Request-Id"
	headerIdempotencyKey = "Idempotency-Key"
	// headerAuthToken is UQPay's API key header, which cardhost does not
	// read (alias.Headers).
	headerAuthToken          = "X-Auth-Token"
	headerIdempotentReplayed = "Idempotent-Replayed"

	localRequestID = "request_id"
	localTenant    = "tenant"
	localAPIKey    = "api_key"
	localReplay    = "replay_body"
)

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}

// routeOf returns the matched route template ("/v1/cards/:id"), or
// "unmatched", so that metrics and logs never carry ids or card data.
func routeOf(c *fiber.Ctx) string {
	if r := c.Route(); r != nil && r.Path != "" && r.Path != "/" {
		return r.Path
	}
	return "unmatched"
}

// validRequestID accepts a client-supplied request id of safe characters.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func (s *Server) requestIDMiddleware(c *fiber.Ctx) error {
	id := c.Get(headerRequestID)
	if !validRequestID(id) {
		id = issuance.NewID("req", s.deps.Now())
	}
	c.Locals(localRequestID, id)
	c.Set(headerRequestID, id)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}

// queryMiddleware refuses a query parameter holding U+0000 (%00) or
// bytes that are not UTF-8: PostgreSQL cannot compare them with text (the
// statement fails, a 500), and no parameter of this API can mean them.
func (s *Server) queryMiddleware(c *fiber.Ctx) error {
	var bad string
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		if bad != "" || (utf8.Valid(k) && utf8.Valid(v) && bytes.IndexByte(k, 0) < 0 && bytes.IndexByte(v, 0) < 0) {
			return
		}
		if bad = strings.ReplaceAll(strings.ToValidUTF8(string(k), ""), "\x00", ""); bad == "" {
			bad = "(query)"
		}
	})
	if bad != "" {
		return &issuance.Error{Slug: issuance.SlugValidationFailed, Message: "the request has invalid parameters",
			Fields: []issuance.FieldError{{Field: bad, Code: "invalid", Message: "must be UTF-8 without U+0000 (%00)"}}}
	}
	return c.Next()
}

func (s *Server) recoverMiddleware(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			// Never print the panic value: it may hold request data.
			s.log.Error("handler panicked", "request_id", requestID(c), "route", routeOf(c), "panic_type", fmt.Sprintf("%T", r))
			err = fmt.Errorf("handler panicked")
		}
	}()
	return c.Next()
}

// statusOf is the status of the answer to c: the error handler runs after
// the middleware, so for an error it is the status the handler will use.
func (s *Server) statusOf(c *fiber.Ctx, err error) int {
	if err != nil {
		p, _ := s.problemOf(err)
		return p.Status
	}
	return c.Response().StatusCode()
}

func (s *Server) metricsMiddleware(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	status := s.statusOf(c, err)
	route := routeOf(c)
	s.metrics.requests.WithLabelValues(c.Method(), route, strconv.Itoa(status)).Inc()
	s.metrics.latency.WithLabelValues(c.Method(), route).Observe(time.Since(start).Seconds())
	return err
}

func (s *Server) logMiddleware(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	status := s.statusOf(c, err)
	attrs := []any{"request_id", requestID(c), "method", c.Method(), "route", routeOf(c), "status", status,
		"duration_ms", float64(time.Since(start).Microseconds()) / 1000}
	if t, ok := c.Locals(localTenant).(issuance.Tenant); ok {
		attrs = append(attrs, "tenant_id", t.ID)
	}
	if id := keyTenantIDOf(c); id != "" {
		attrs = append(attrs, "api_key_tenant_id", id)
	}
	s.log.Debug("request", attrs...)
	return err
}

// authMiddleware authenticates "Authorization: Bearer <key>" and stores the
// tenant and key in the context.
func (s *Server) authMiddleware(c *fiber.Ctx) error {
	if wait, blocked := s.AuthBlocked(c); blocked {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(wait.Seconds()+0.999)))
		return &issuance.Error{Slug: slugRateLimited, Message: "too many failed authentications from this address; retry after the Retry-After delay"}
	}
	failed := func(challenge, message string) error {
		s.AuthFailed(c)
		c.Set(fiber.HeaderWWWAuthenticate, challenge)
		return &issuance.Error{Slug: issuance.SlugUnauthorized, Message: message}
	}
	h := c.Get(fiber.HeaderAuthorization)
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || !issuance.LooksLikeAPIKey(strings.TrimSpace(secret)) {
		if h == "" && c.Get(headerAuthToken) != "" {
			return failed(`Bearer realm="cardhost"`, "missing bearer API key: "+headerAuthToken+" is not read; "+alias.Headers[headerAuthToken].Note)
		}
		return failed(`Bearer realm="cardhost"`, "missing or malformed bearer API key")
	}
	t, k, err := s.deps.Tenants.Authenticate(c.UserContext(), issuance.HashAPIKey(secret))
	if err != nil {
		if err == issuance.ErrNotFound {
			return failed(`Bearer realm="cardhost", error="invalid_token"`, "unknown or revoked API key")
		}
		return err
	}
	c.Locals(localTenant, t)
	c.Locals(localAPIKey, k)
	if wait, ok := s.TenantAllowed(t); !ok {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(wait.Seconds()+0.999)))
		return &issuance.Error{Slug: slugRateLimited, Message: "too many requests for this tenant; retry after the Retry-After delay"}
	}
	if t.SigningKeyPEM != "" {
		if err := verifySignature(c, t, s.deps.Now()); err != nil {
			return err
		}
	}
	if err := s.actFor(c, t); err != nil {
		return err
	}
	return c.Next()
}

// clientAddr is the address a request comes from: the peer's, or, when
// the peer is a trusted proxy, the nearest address of X-Forwarded-For (read
// from the right, where each proxy appends) that is not a trusted proxy.
// Addresses a client wrote into the header itself are left of the one its
// first proxy appended, so they are never reached.
func (s *Server) clientAddr(c *fiber.Ctx) string {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	peer = peer.Unmap()
	if !s.trustedProxy(peer) {
		return peer.String()
	}
	hops := strings.Split(string(c.Request().Header.Peek(fiber.HeaderXForwardedFor)), ",")
	addr := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // not an address: the client is the last proxy's peer
		}
		addr = a.Unmap()
		if !s.trustedProxy(addr) {
			break
		}
	}
	return addr.String()
}

func (s *Server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func tenantOf(c *fiber.Ctx) issuance.Tenant {
	t, _ := c.Locals(localTenant).(issuance.Tenant)
	return t
}

func apiKeyOf(c *fiber.Ctx) issuance.APIKey {
	k, _ := c.Locals(localAPIKey).(issuance.APIKey)
	return k
}

// validIdempotencyKey: 1-255 visible ASCII characters.
func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// idempotencyKeyOf reads the Idempotency-Key header or a guide's name for
// it (alias.Headers: x-idempotency-key); two of them with different values
// are refused (422 conflicting_fields).
func idempotencyKeyOf(c *fiber.Ctx) (string, error) {
	key, from := c.Get(headerIdempotencyKey), headerIdempotencyKey
	for _, name := range idempotencyKeyAliases {
		v := c.Get(name)
		switch {
		case v == "" || v == key:
		case key != "":
			return "", &issuance.Error{Slug: alias.SlugConflictingFields, Message: "two idempotency key headers with different values: send one",
				Fields: []issuance.FieldError{{Field: name, Code: "conflicting", Message: "another name of " + headerIdempotencyKey + ", which differs from " + from}}}
		default:
			key, from = v, name
		}
	}
	return key, nil
}

// idempotencyKeyAliases are the guides' names of Idempotency-Key, from
// the alias table, sorted.
var idempotencyKeyAliases = func() []string {
	var names []string
	for name, e := range alias.Headers {
		if e.Native == headerIdempotencyKey {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}()

// keepForReplay sets the body that the idempotency table keeps of a
// success answer of a secretOnce route, in place of the answer sent: v is
// the answer without its secret.
func keepForReplay(c *fiber.Ctx, v any) error {
	b, err := jsonLine(v)
	if err != nil {
		return fmt.Errorf("encoding the answer kept for replay: %w", err)
	}
	c.Locals(localReplay, b)
	return nil
}

// idempotency returns the middleware of an idempotent route.
func (s *Server) idempotency(secretOnce bool) fiber.Handler {
	return func(c *fiber.Ctx) error { return s.idempotencyMiddleware(c, secretOnce) }
}

// idempotencyMiddleware implements DESIGN.md's Idempotency-Key semantics
// for the POST it wraps: claim, run, store the response; replay, 422 on a
// different body, 409 while in flight. Responses with status >= 500 are not
// stored: the key is released so the client can retry. For a secretOnce
// route a success answer is stored as the handler's keepForReplay body
// (without the secret), or, when there is none, not at all.
func (s *Server) idempotencyMiddleware(c *fiber.Ctx, secretOnce bool) error {
	key, err := idempotencyKeyOf(c)
	if err != nil {
		return err
	}
	if key == "" {
		if tenantOf(c).IdempotencyPolicy == catalog.IdempotencyRequired {
			return &issuance.Error{Slug: slugIdempotencyKeyRequired, Message: "this tenant's idempotency_policy is required: send an Idempotency-Key header (1-255 visible ASCII characters)"}
		}
		return c.Next()
	}
	if !validIdempotencyKey(key) {
		return &issuance.Error{Slug: issuance.SlugValidationFailed, Message: "invalid Idempotency-Key header",
			Fields: []issuance.FieldError{{Field: "Idempotency-Key", Code: "invalid", Message: "must be 1-255 visible ASCII characters"}}}
	}
	t := tenantOf(c)
	mac := hmac.New(sha256.New, s.cfg.RequestHashKey)
	mac.Write(c.Body())
	ctx := c.UserContext()
	outcome, stored, err := s.deps.Idempotency.Claim(ctx, issuance.IdempotencyClaim{
		TenantID: t.ID, Key: key, Method: c.Method(), Path: c.Path(), RequestHash: mac.Sum(nil),
		Now: s.deps.Now(), LockFor: s.cfg.IdempotencyLock,
	})
	if err != nil {
		return err
	}
	switch outcome {
	case issuance.IdempotencyReplay:
		c.Set(headerIdempotentReplayed, "true")
		c.Set(fiber.HeaderContentType, stored.ContentType)
		return c.Status(stored.Status).Send(stored.Body)
	case issuance.IdempotencyMismatch:
		return &issuance.Error{Slug: issuance.SlugIdempotencyKeyReused, Message: "this Idempotency-Key was used with a different request"}
	case issuance.IdempotencyInProgress:
		return &issuance.Error{Slug: issuance.SlugIdempotencyInProgress, Message: "a request with this Idempotency-Key is still being processed"}
	}
	err = c.Next()
	status := c.Response().StatusCode()
	body := c.Response().Body()
	ctype := string(c.Response().Header.ContentType())
	if err != nil {
		// Render the problem now so that the stored response is the one sent.
		if herr := s.errorHandler(c, err); herr != nil {
			return herr
		}
		status, body, ctype = c.Response().StatusCode(), c.Response().Body(), string(c.Response().Header.ContentType())
	}
	bg := context.WithoutCancel(ctx)
	if secretOnce && status < http.StatusBadRequest {
		replay, ok := c.Locals(localReplay).([]byte)
		if !ok {
			s.log.Error("an answer holding a secret has no body kept for replay: not stored", "request_id", requestID(c), "route", routeOf(c))
			status = http.StatusInternalServerError // released below
		}
		body = replay
	}
	if status >= http.StatusInternalServerError {
		if rerr := s.deps.Idempotency.Release(bg, t.ID, key); rerr != nil {
			s.log.Error("releasing idempotency key", "request_id", requestID(c), "err", rerr)
		}
		return nil
	}
	if cerr := s.deps.Idempotency.Complete(bg, t.ID, key, issuance.StoredResponse{Status: status, ContentType: ctype, Body: append([]byte(nil), body...)}); cerr != nil {
		s.log.Error("completing idempotency key", "request_id", requestID(c), "err", cerr)
	}
	return nil
}
