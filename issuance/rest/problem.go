package rest

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/alias"
	"github.com/cardhost/cardhost/issuance/bins"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/issuance/reissue"
	"github.com/cardhost/cardhost/issuance/subaccount"
	"github.com/cardhost/cardhost/issuance/webhook"
)

// Problem is an RFC 9457 problem details object, extended with a machine
// slug, the request id and per-field validation errors.
type Problem struct {
	Type      string                `json:"type"`
	Title     string                `json:"title"`
	Status    int                   `json:"status"`
	Detail    string                `json:"detail,omitempty"`
	Instance  string                `json:"instance,omitempty"`
	Slug      string                `json:"slug"`
	RequestID string                `json:"request_id,omitempty"`
	Errors    []issuance.FieldError `json:"errors,omitempty"`
	// Extra are extension members (RFC 9457 section 3.2): for
	// insufficient_funds the currency, amount, available and balances.
	Extra map[string]any `json:"-"`
}

// MarshalJSON writes the problem's members and its extension members
// beside them (never over them).
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	b, err := json.Marshal(plain(p))
	if err != nil || len(p.Extra) == 0 {
		return b, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range p.Extra {
		if _, taken := m[k]; !taken {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// problemTypeBase prefixes each slug to form the problem "type" URI; the
// page it names is docs/api.md#errors.
const problemTypeBase = "https://cardhost.dev/problems/"

// slugStatus is the one table from business slugs to HTTP statuses. A slug
// missing here answers 422; TestEverySlugHasStatus flags every domain slug
// missing here and keeps docs/api.md's Errors table equal to this one.
var slugStatus = map[string]int{
	issuance.SlugValidationFailed:        http.StatusUnprocessableEntity,
	issuance.SlugNotFound:                http.StatusNotFound,
	issuance.SlugUnauthorized:            http.StatusUnauthorized,
	issuance.SlugForbidden:               http.StatusForbidden,
	issuance.SlugInvalidStatusTransition: http.StatusConflict,
	issuance.SlugReferenceIDTaken:        http.StatusConflict,
	issuance.SlugIdempotencyKeyReused:    http.StatusUnprocessableEntity,
	issuance.SlugIdempotencyInProgress:   http.StatusConflict,
	issuance.SlugProductNotFound:         http.StatusNotFound,
	issuance.SlugProductNotActive:        http.StatusConflict,
	issuance.SlugCardholderNotFound:      http.StatusNotFound,
	issuance.SlugCardholderNotReady:      http.StatusConflict,
	issuance.SlugCardNotFound:            http.StatusNotFound,
	issuance.SlugInsufficientFunds:       http.StatusConflict,
	issuance.SlugConflict:                http.StatusConflict,
	issuance.SlugSandboxOnly:             http.StatusForbidden,
	issuance.SlugScopeNotHeld:            http.StatusForbidden,
	// Catalog, certificates and request signing.
	issuance.SlugTemplateNotFound:   http.StatusNotFound,
	issuance.SlugLayoutNotFound:     http.StatusNotFound,
	issuance.SlugEmbosserNotFound:   http.StatusNotFound,
	issuance.SlugKeyNotConfigured:   http.StatusServiceUnavailable,
	issuance.SlugSigningKeyNotFound: http.StatusNotFound,
	bins.SlugIINOutside:             http.StatusUnprocessableEntity,
	// Cards, PIN set, batches and the card simulator.
	issuance.SlugPrintedNameLocked:      http.StatusConflict,
	issuance.SlugIncomingPEKNotFound:    http.StatusUnprocessableEntity,
	issuance.SlugPINBlockInvalid:        http.StatusUnprocessableEntity,
	issuance.SlugPINNotSupported:        http.StatusConflict,
	issuance.SlugCardClosed:             http.StatusConflict,
	issuance.SlugInvalidEmbossingStatus: http.StatusConflict,
	issuance.SlugEmbossingNotRequired:   http.StatusConflict,
	reissue.SlugAlreadyReissued:         http.StatusConflict,
	reissue.SlugNotReissuable:           http.StatusConflict,
	issuance.SlugNoTransportKey:         http.StatusConflict,
	issuance.SlugPANTaken:               http.StatusConflict,
	bins.SlugPANOutside:                 http.StatusUnprocessableEntity,
	issuance.SlugNothingToUpdate:        http.StatusUnprocessableEntity,
	issuance.SlugRequestIDReused:        http.StatusUnprocessableEntity,
	// Webhook endpoints and events.
	webhook.SlugEndpointDisabled: http.StatusConflict,
	webhook.SlugNotSubscribed:    http.StatusConflict,
	webhook.SlugEndpointLimit:    http.StatusConflict,
	// Money (issuance/ledger).
	ledger.SlugCardNotPrepaid:     http.StatusConflict,
	ledger.SlugCardNotFunded:      http.StatusConflict,
	ledger.SlugDuplicateReference: http.StatusConflict,
	// Sub-accounts (issuance/subaccount).
	subaccount.SlugNotFound:   http.StatusNotFound,
	subaccount.SlugNotAllowed: http.StatusForbidden,
	// Transport-level slugs produced by this package.
	slugMalformedJSON:        http.StatusBadRequest,
	slugUnsupportedMediaType: http.StatusUnsupportedMediaType,
	slugBodyTooLarge:         http.StatusRequestEntityTooLarge,
	slugRouteNotFound:        http.StatusNotFound,
	slugMethodNotAllowed:     http.StatusMethodNotAllowed,
	slugInternal:             http.StatusInternalServerError,
	slugUnavailable:          http.StatusServiceUnavailable,
	slugRateLimited:          http.StatusTooManyRequests,
	slugBadRequest:           http.StatusBadRequest,
	slugRequestTimeout:       http.StatusRequestTimeout,
	slugSignatureInvalid:     http.StatusUnauthorized,
	// The seed guides' names (issuance/alias) and the tenant's policy.
	alias.SlugConflictingFields: http.StatusUnprocessableEntity,
	slugIdempotencyKeyRequired:  http.StatusBadRequest,
}

// Slugs that only the transport produces.
const (
	slugMalformedJSON        = "malformed_json"
	slugUnsupportedMediaType = "unsupported_media_type"
	slugBodyTooLarge         = "body_too_large"
	slugRouteNotFound        = "route_not_found"
	slugMethodNotAllowed     = "method_not_allowed"
	slugInternal             = "internal_error"
	slugUnavailable          = "service_unavailable"
	slugRateLimited          = "rate_limited"
	slugBadRequest           = "bad_request"
	slugRequestTimeout       = "request_timeout"
	// slugIdempotencyKeyRequired: a tenant whose idempotency_policy is
	// required sent an idempotent operation without a key.
	slugIdempotencyKeyRequired = "idempotency_key_required"
	slugSignatureInvalid       = "signature_invalid"
)

// statusOf returns the HTTP status for a slug (422 when unknown: a business
// rejection the table does not yet name).
func statusOf(slug string) int {
	if s, ok := slugStatus[slug]; ok {
		return s
	}
	return http.StatusUnprocessableEntity
}

// problemOf maps any error returned by a handler or middleware to a
// Problem. Only *issuance.Error and fiber's own errors carry text to the
// client; everything else is a 500 (or 503 when the database is
// unavailable) whose detail goes only to the log.
func (s *Server) problemOf(err error) (Problem, bool) {
	var ie *issuance.Error
	var fe *fiber.Error
	var extra interface{ ProblemExtra() map[string]any }
	switch {
	case errors.As(err, &ie):
		p := Problem{Slug: ie.Slug, Status: statusOf(ie.Slug), Detail: ie.Message, Errors: ie.Fields}
		if errors.As(err, &extra) {
			p.Extra = extra.ProblemExtra()
		}
		return p, false
	case errors.Is(err, issuance.ErrNotFound):
		return Problem{Slug: issuance.SlugNotFound, Status: http.StatusNotFound, Detail: "no such object"}, false
	case errors.As(err, &fe):
		slug := slugBadRequest
		detail := fe.Message
		switch fe.Code {
		case http.StatusNotFound:
			slug, detail = slugRouteNotFound, "no route matches this path"
		case http.StatusMethodNotAllowed:
			slug, detail = slugMethodNotAllowed, "this path does not accept this method"
		case http.StatusRequestEntityTooLarge:
			slug, detail = slugBodyTooLarge, "the request body is larger than the limit"
		case http.StatusRequestTimeout:
			slug, detail = slugRequestTimeout, "the request was not received in time"
		case http.StatusUnsupportedMediaType:
			slug = slugUnsupportedMediaType
		case http.StatusTooManyRequests:
			slug = slugRateLimited
		case http.StatusServiceUnavailable:
			slug = slugUnavailable
		case http.StatusUnauthorized:
			slug = issuance.SlugUnauthorized
		}
		if fe.Code >= 500 {
			detail = http.StatusText(fe.Code)
		}
		return Problem{Slug: slug, Status: fe.Code, Detail: detail}, fe.Code >= 500
	case s.isUnavailable(err):
		return Problem{Slug: slugUnavailable, Status: http.StatusServiceUnavailable, Detail: "a backing service is unavailable; retry later"}, true
	default:
		return Problem{Slug: slugInternal, Status: http.StatusInternalServerError, Detail: "an internal error occurred; it has been logged with the request id"}, true
	}
}

func (s *Server) isUnavailable(err error) bool {
	return s.deps.IsUnavailable != nil && s.deps.IsUnavailable(err)
}

// errorHandler is fiber's ErrorHandler: every error becomes problem+json.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	p, internal := s.problemOf(err)
	p.Type = problemTypeBase + p.Slug
	p.Title = http.StatusText(p.Status)
	p.Instance = c.Path()
	p.RequestID = requestID(c)
	if p.RequestID == "" { // rejected by the HTTP layer before any middleware ran
		p.RequestID = issuance.NewID("req", s.deps.Now())
		c.Set(headerRequestID, p.RequestID)
		// The metrics middleware never saw it (413 body too large): count
		// it here, under route "unmatched".
		s.metrics.requests.WithLabelValues(c.Method(), "unmatched", strconv.Itoa(p.Status)).Inc()
	}
	if internal {
		s.log.Error("request failed", "request_id", p.RequestID, "method", c.Method(), "route", routeOf(c), "status", p.Status, "err", err)
	}
	if p.Status == http.StatusServiceUnavailable || p.Status == http.StatusTooManyRequests {
		if c.GetRespHeader(fiber.HeaderRetryAfter) == "" {
			c.Set(fiber.HeaderRetryAfter, "1")
		}
	}
	body, _ := jsonLine(p)
	c.Set(fiber.HeaderContentType, "application/problem+json")
	return c.Status(p.Status).Send(body)
}
