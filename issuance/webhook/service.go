package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"time"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/whsig"
	"github.com/cardhost/cardhost/kafka"
)

// Deps are the Service's collaborators and settings.
type Deps struct {
	Store Store
	// Decisions keeps the decision endpoints (decision.go); default: the
	// Store, when it implements DecisionStore (the PostgreSQL one does).
	Decisions DecisionStore
	Vault     Vault
	// SealKeyRef is the HSM key that seals endpoint secrets (the
	// platform's PAN-DEK); "" answers key_not_configured to the calls that
	// make a secret.
	SealKeyRef string
	// Resolver looks URL hosts up at registration. Default
	// net.DefaultResolver.
	Resolver Resolver
	// Sandbox allows http and private addresses (laptop receivers).
	Sandbox bool
	// Retention is how long events are listed. Default DefaultRetention.
	Retention time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Service manages webhook endpoints and answers the Events API. Safe for
// concurrent use.
type Service struct{ d Deps }

// NewService returns the service over d.
func NewService(d Deps) *Service {
	if d.Resolver == nil {
		d.Resolver = net.DefaultResolver
	}
	if ds, ok := d.Store.(DecisionStore); ok && d.Decisions == nil {
		d.Decisions = ds
	}
	if d.Retention <= 0 {
		d.Retention = DefaultRetention
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{d: d}
}

func (s *Service) now() time.Time { return s.d.Now().UTC().Truncate(time.Microsecond) }

// secretBinding binds an endpoint's sealed secrets to the endpoint.
func secretBinding(endpointID string) string { return "webhook-endpoint:" + endpointID }

// seal makes a new secret and seals it for the endpoint.
func (s *Service) seal(ctx context.Context, tenantID, endpointID string) (whsig.Secret, []byte, error) {
	if s.d.SealKeyRef == "" {
		return nil, nil, issuance.Errorf(issuance.SlugKeyNotConfigured, "no HSM key is assigned to the platform role pan-dek, which seals webhook secrets")
	}
	secret := whsig.NewSecret()
	sealed, err := s.d.Vault.SealSecret(ctx, s.d.SealKeyRef, tenantID, secretBinding(endpointID), secret)
	if err != nil {
		return nil, nil, fmt.Errorf("sealing webhook secret: %w", err)
	}
	return secret, sealed, nil
}

// CreateEndpoint validates req, creates the endpoint and returns it with
// its secret (shown to the caller once, stored only sealed).
func (s *Service) CreateEndpoint(ctx context.Context, tenantID string, req EndpointRequest) (Endpoint, whsig.Secret, error) {
	var v issuance.Validator
	CheckURL(ctx, &v, "url", req.URL, s.d.Sandbox, s.d.Resolver)
	types := checkEventTypes(&v, req.EventTypes)
	checkDescription(&v, req.Description)
	if err := v.Err(); err != nil {
		return Endpoint{}, nil, err
	}
	now := s.now()
	e := Endpoint{ID: issuance.NewID(EndpointIDPrefix, now), TenantID: tenantID, URL: req.URL, Description: req.Description,
		EventTypes: types, CreatedAt: now, UpdatedAt: now, SealKeyRef: s.d.SealKeyRef}
	secret, sealed, err := s.seal(ctx, tenantID, e.ID)
	if err != nil {
		return Endpoint{}, nil, err
	}
	e.Sealed = sealed
	if err := s.d.Store.CreateEndpoint(ctx, e); err != nil {
		return Endpoint{}, nil, err
	}
	return e, secret, nil
}

// Endpoint returns one of the tenant's endpoints.
func (s *Service) Endpoint(ctx context.Context, tenantID, id string) (Endpoint, error) {
	if !issuance.ValidID(EndpointIDPrefix, id) {
		return Endpoint{}, issuance.ErrNotFound
	}
	return s.d.Store.Endpoint(ctx, tenantID, id)
}

// Endpoints lists a page of the tenant's endpoints, newest first.
func (s *Service) Endpoints(ctx context.Context, tenantID string, p issuance.PageRequest) ([]Endpoint, bool, error) {
	var v issuance.Validator
	issuance.ValidatePage(&v, p, EndpointIDPrefix)
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	return s.d.Store.Endpoints(ctx, tenantID, p)
}

// UpdateEndpoint applies a patch: a new URL is checked as at creation;
// disabled: true fails the pending deliveries, false enables the endpoint
// again.
func (s *Service) UpdateEndpoint(ctx context.Context, tenantID, id string, p EndpointPatch) (Endpoint, error) {
	if !issuance.ValidID(EndpointIDPrefix, id) {
		return Endpoint{}, issuance.ErrNotFound
	}
	var v issuance.Validator
	ch := Change{URL: p.URL, Description: p.Description, Disabled: p.Disabled, Reason: DisabledManual, Now: s.now()}
	if p.URL != nil {
		CheckURL(ctx, &v, "url", *p.URL, s.d.Sandbox, s.d.Resolver)
	}
	if p.EventTypes != nil {
		ch.EventTypes = checkEventTypes(&v, *p.EventTypes)
	}
	if p.Description != nil {
		checkDescription(&v, *p.Description)
	}
	if p.URL == nil && p.EventTypes == nil && p.Description == nil && p.Disabled == nil {
		return Endpoint{}, issuance.Errorf(issuance.SlugNothingToUpdate, "the request changes nothing: send url, event_types, description or disabled")
	}
	if err := v.Err(); err != nil {
		return Endpoint{}, err
	}
	return s.d.Store.UpdateEndpoint(ctx, tenantID, id, ch)
}

// RotateSecret gives the endpoint a new secret, returned once. The old
// one keeps signing beside it for SecretOverlap; a second rotation within
// that time drops the oldest.
func (s *Service) RotateSecret(ctx context.Context, tenantID, id string) (Endpoint, whsig.Secret, error) {
	if _, err := s.Endpoint(ctx, tenantID, id); err != nil {
		return Endpoint{}, nil, err
	}
	secret, sealed, err := s.seal(ctx, tenantID, id)
	if err != nil {
		return Endpoint{}, nil, err
	}
	now := s.now()
	e, err := s.d.Store.RotateSecret(ctx, tenantID, id, sealed, now.Add(SecretOverlap), now)
	if err != nil {
		return Endpoint{}, nil, err
	}
	return e, secret, nil
}

// DeleteEndpoint deletes the endpoint: nothing more is delivered to it.
func (s *Service) DeleteEndpoint(ctx context.Context, tenantID, id string) error {
	if !issuance.ValidID(EndpointIDPrefix, id) {
		return issuance.ErrNotFound
	}
	return s.d.Store.DeleteEndpoint(ctx, tenantID, id)
}

// eventIDRE is the form of an event id (a UUIDv7, kafka.NewID).
var eventIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ValidEventID reports whether id looks like an event id.
func ValidEventID(id string) bool { return eventIDRE.MatchString(id) }

// Events lists a page of the tenant's events of the retention period,
// newest first.
func (s *Service) Events(ctx context.Context, tenantID string, f EventFilter) ([]kafka.Event, bool, error) {
	var v issuance.Validator
	v.Check(f.Limit >= 0 && f.Limit <= issuance.MaxPageLimit, "limit", "out_of_range", fmt.Sprintf("between 1 and %d", issuance.MaxPageLimit))
	v.Check(f.StartingAfter == "" || ValidEventID(f.StartingAfter), "starting_after", "invalid", "an event id returned by this list")
	v.Check(f.Type == "" || ValidEventType(f.Type), "type", "unknown", "an event type of docs/events.md, or a group of them such as card.*")
	v.Check(f.CardID == "" || issuance.ValidID(issuance.CardIDPrefix, f.CardID), "card_id", "invalid", "a card id")
	if f.CreatedAfter != nil && f.CreatedBefore != nil {
		v.Check(f.CreatedAfter.Before(*f.CreatedBefore), "created_before", "invalid", "must be after created_after")
	}
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	f.Since = s.now().Add(-s.d.Retention)
	return s.d.Store.Events(ctx, tenantID, f)
}

// Event returns one of the tenant's events of the retention period.
func (s *Service) Event(ctx context.Context, tenantID, id string) (kafka.Event, error) {
	if !ValidEventID(id) {
		return kafka.Event{}, issuance.ErrNotFound
	}
	e, err := s.d.Store.Event(ctx, tenantID, id)
	if err == nil && e.Time.Before(s.now().Add(-s.d.Retention)) {
		return kafka.Event{}, issuance.ErrNotFound
	}
	return e, err
}

// AttemptList is the answer of an event's attempts.
type AttemptList struct {
	Data []Attempt `json:"data"`
}

// Attempts lists every delivery attempt of one of the tenant's events,
// oldest first.
func (s *Service) Attempts(ctx context.Context, tenantID, eventID string) (AttemptList, error) {
	if _, err := s.Event(ctx, tenantID, eventID); err != nil {
		return AttemptList{}, err
	}
	a, err := s.d.Store.Attempts(ctx, tenantID, eventID)
	if a == nil {
		a = []Attempt{}
	}
	return AttemptList{Data: a}, err
}

// RedeliverRequest names the endpoint to deliver to again; empty: every
// enabled endpoint that subscribes to the event's type.
type RedeliverRequest struct {
	EndpointID string `json:"endpoint_id" doc:"one endpoint (enabled, subscribed to the event's type); omitted: every enabled endpoint subscribed to it"`
}

// Redelivery is the answer of a redelivery: the endpoints a delivery is
// now pending for.
type Redelivery struct {
	EventID     string   `json:"event_id"`
	EndpointIDs []string `json:"endpoint_ids" doc:"the endpoints a delivery of the event is now pending for"`
}

// Redeliver sends one of the tenant's events again, with its own retry
// schedule, to one endpoint or to every enabled endpoint subscribed to
// its type. The webhook-id is the event id, as in the first delivery.
func (s *Service) Redeliver(ctx context.Context, tenantID, eventID string, r RedeliverRequest) (Redelivery, error) {
	ev, err := s.Event(ctx, tenantID, eventID)
	if err != nil {
		return Redelivery{}, err
	}
	var ids []string
	if r.EndpointID != "" {
		e, err := s.Endpoint(ctx, tenantID, r.EndpointID)
		if errors.Is(err, issuance.ErrNotFound) {
			return Redelivery{}, issuance.Errorf(issuance.SlugNotFound, "no webhook endpoint %s", r.EndpointID)
		}
		if err != nil {
			return Redelivery{}, err
		}
		if e.Disabled {
			return Redelivery{}, issuance.Errorf(SlugEndpointDisabled, "webhook endpoint %s is disabled: enable it first", e.ID)
		}
		if !e.Subscribes(ev.Type) {
			return Redelivery{}, issuance.Errorf(SlugNotSubscribed, "webhook endpoint %s does not subscribe to %s", e.ID, ev.Type)
		}
		ids = []string{e.ID}
	} else {
		all, _, err := s.d.Store.Endpoints(ctx, tenantID, issuance.PageRequest{Limit: MaxEndpoints})
		if err != nil {
			return Redelivery{}, err
		}
		for _, e := range all {
			if !e.Disabled && e.Subscribes(ev.Type) {
				ids = append(ids, e.ID)
			}
		}
	}
	pending, err := s.d.Store.Redeliver(ctx, tenantID, eventID, ids, s.now())
	if pending == nil {
		pending = []string{}
	}
	return Redelivery{EventID: eventID, EndpointIDs: pending}, err
}

// RecoverRequest asks to re-send what an endpoint missed since a time.
type RecoverRequest struct {
	Since string `json:"since" required:"true" doc:"RFC 3339 time within the last 30 days: events since then that the endpoint has not received are sent again"`
}

// Recovery is the answer of a recovery.
type Recovery struct {
	EndpointID string    `json:"endpoint_id"`
	Since      time.Time `json:"since"`
	Deliveries int       `json:"deliveries" doc:"how many events are now pending for the endpoint"`
}

// Recover re-sends to an enabled endpoint every event of its types since
// a time (within the retention period) that it has not received: failed,
// never attempted while it was disabled, or lost with a deleted delivery.
func (s *Service) Recover(ctx context.Context, tenantID, endpointID string, r RecoverRequest) (Recovery, error) {
	e, err := s.Endpoint(ctx, tenantID, endpointID)
	if err != nil {
		return Recovery{}, err
	}
	now := s.now()
	since, perr := time.Parse(time.RFC3339Nano, r.Since)
	var v issuance.Validator
	v.Check(perr == nil && !since.After(now) && !since.Before(now.Add(-s.d.Retention)), "since", "invalid", "an RFC 3339 time within the last 30 days")
	if err := v.Err(); err != nil {
		return Recovery{}, err
	}
	if e.Disabled {
		return Recovery{}, issuance.Errorf(SlugEndpointDisabled, "webhook endpoint %s is disabled: enable it first", e.ID)
	}
	n, err := s.d.Store.Recover(ctx, tenantID, e.ID, since.UTC(), now)
	return Recovery{EndpointID: e.ID, Since: since.UTC(), Deliveries: n}, err
}
