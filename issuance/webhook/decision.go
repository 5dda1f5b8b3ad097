package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/whsig"
)

// A tenant's real-time authorization decision endpoint (issue 14, point
// 4; docs/webhooks.md, "Authorization decisions"): where the host asks,
// for every authorization its own checks approved, whether to approve
// it. One per tenant; the host keeps them in memory (host/issuer.go).

// Decision endpoint limits and defaults.
const (
	DefaultDecisionTimeoutMS = 2000
	MinDecisionTimeoutMS     = 100
	MaxDecisionTimeoutMS     = 3000
	ActionApprove            = "APPROVE"
	ActionDecline            = "DECLINE"
)

// DecisionEndpoint is a tenant's decision endpoint.
type DecisionEndpoint struct {
	TenantID      string    `json:"-"`
	URL           string    `json:"url" doc:"where authorization decision requests are POSTed"`
	TimeoutMS     int       `json:"timeout_ms" doc:"how long the host waits for an answer (100 to 3000 ms)"`
	DefaultAction string    `json:"default_action" enum:"APPROVE,DECLINE" doc:"applied when the endpoint does not answer usably in time (stand-in)"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`

	// SealKeyRef is the HSM key that sealed the secret; Sealed the
	// secret, sealed. Never shown.
	SealKeyRef string `json:"-"`
	Sealed     []byte `json:"-"`
}

// DecisionRequest is the body of PUT /v1/authorization-decision.
type DecisionRequest struct {
	URL           string `json:"url" doc:"an https URL (http and private addresses in sandbox mode only)"`
	TimeoutMS     *int   `json:"timeout_ms,omitempty" doc:"100 to 3000; default 2000"`
	DefaultAction string `json:"default_action,omitempty" enum:"APPROVE,DECLINE" doc:"default DECLINE"`
}

// ErrDecisionExists: a decision endpoint was created for the tenant by a
// concurrent request.
var ErrDecisionExists = errors.New("the tenant's decision endpoint exists")

// DecisionStore keeps the decision endpoints; issuance/webhook/postgres
// implements it.
type DecisionStore interface {
	// PutDecisionEndpoint creates the tenant's endpoint (when e.Sealed is
	// set; ErrDecisionExists when it exists) or changes its URL, timeout and default action (keeping its
	// secret); it answers the endpoint as stored. Changing one that does
	// not exist answers issuance.ErrNotFound.
	PutDecisionEndpoint(ctx context.Context, e DecisionEndpoint) (DecisionEndpoint, error)
	DecisionEndpoint(ctx context.Context, tenantID string) (DecisionEndpoint, error)
	DeleteDecisionEndpoint(ctx context.Context, tenantID string) error
	// DecisionEndpoints returns every tenant's endpoint.
	DecisionEndpoints(ctx context.Context) ([]DecisionEndpoint, error)
}

// decisionBinding binds a tenant's sealed decision secret to its use.
func decisionBinding(tenantID string) string { return "authorization-decision:" + tenantID }

// PutDecision sets the tenant's decision endpoint. The first PUT makes
// its signing secret and answers it (shown once); a later PUT changes the
// URL, timeout and default action and keeps the secret (nil secret). A
// new secret: DELETE, then PUT.
func (s *Service) PutDecision(ctx context.Context, tenantID string, req DecisionRequest) (DecisionEndpoint, whsig.Secret, error) {
	var v issuance.Validator
	CheckURL(ctx, &v, "url", req.URL, s.d.Sandbox, s.d.Resolver)
	timeout := DefaultDecisionTimeoutMS
	if req.TimeoutMS != nil {
		timeout = *req.TimeoutMS
		v.Check(timeout >= MinDecisionTimeoutMS && timeout <= MaxDecisionTimeoutMS, "timeout_ms", "out_of_range",
			fmt.Sprintf("from %d to %d milliseconds", MinDecisionTimeoutMS, MaxDecisionTimeoutMS))
	}
	action := req.DefaultAction
	if action == "" {
		action = ActionDecline
	}
	v.Check(action == ActionApprove || action == ActionDecline, "default_action", "invalid", "APPROVE or DECLINE")
	if err := v.Err(); err != nil {
		return DecisionEndpoint{}, nil, err
	}
	now := s.now()
	e := DecisionEndpoint{TenantID: tenantID, URL: req.URL, TimeoutMS: timeout, DefaultAction: action, CreatedAt: now, UpdatedAt: now}
	if out, err := s.d.Decisions.PutDecisionEndpoint(ctx, e); err == nil {
		return out, nil, nil // changed; the secret stays
	} else if !errors.Is(err, issuance.ErrNotFound) {
		return DecisionEndpoint{}, nil, err
	}
	if s.d.SealKeyRef == "" {
		return DecisionEndpoint{}, nil, issuance.Errorf(issuance.SlugKeyNotConfigured, "no HSM key is assigned to the platform role pan-dek, which seals webhook secrets")
	}
	secret := whsig.NewSecret()
	sealed, err := s.d.Vault.SealSecret(ctx, s.d.SealKeyRef, tenantID, decisionBinding(tenantID), secret)
	if err != nil {
		return DecisionEndpoint{}, nil, fmt.Errorf("sealing decision secret: %w", err)
	}
	e.SealKeyRef, e.Sealed = s.d.SealKeyRef, sealed
	out, err := s.d.Decisions.PutDecisionEndpoint(ctx, e)
	if errors.Is(err, ErrDecisionExists) {
		// A concurrent first PUT made the secret: this one changes its
		// settings and shows none.
		e.SealKeyRef, e.Sealed = "", nil
		out, err = s.d.Decisions.PutDecisionEndpoint(ctx, e)
		return out, nil, err
	}
	if err != nil {
		return DecisionEndpoint{}, nil, err
	}
	return out, secret, nil
}

// Decision returns the tenant's decision endpoint (issuance.ErrNotFound
// when it has none).
func (s *Service) Decision(ctx context.Context, tenantID string) (DecisionEndpoint, error) {
	return s.d.Decisions.DecisionEndpoint(ctx, tenantID)
}

// DeleteDecision removes the tenant's decision endpoint: the host decides
// its authorizations alone again.
func (s *Service) DeleteDecision(ctx context.Context, tenantID string) error {
	return s.d.Decisions.DeleteDecisionEndpoint(ctx, tenantID)
}

// OpenDecision is a decision endpoint with its secret opened, for the
// host.
type OpenDecision struct {
	DecisionEndpoint
	Secret whsig.Secret
}

// OpenDecisions returns every tenant's decision endpoint with its secret
// opened (one that cannot be opened is left out and reported in err only
// when none could be read at all).
func (s *Service) OpenDecisions(ctx context.Context) ([]OpenDecision, error) {
	eps, err := s.d.Decisions.DecisionEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]OpenDecision, 0, len(eps))
	var firstErr error
	for _, e := range eps {
		secret, err := s.d.Vault.OpenSecret(ctx, e.SealKeyRef, e.TenantID, decisionBinding(e.TenantID), e.Sealed)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("opening the decision secret of tenant %s: %w", e.TenantID, err)
			}
			continue
		}
		out = append(out, OpenDecision{DecisionEndpoint: e, Secret: whsig.Secret(secret)})
	}
	if len(out) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}
