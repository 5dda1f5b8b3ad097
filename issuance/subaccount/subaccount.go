package subaccount

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/kafka"
)

// Problem slugs (issuance.Error slugs; the REST API maps them in its one
// problem table).
const (
	// SlugNotFound: the x-on-behalf-of header (or a sub-account route)
	// names no sub-account of the calling tenant: a malformed id, a
	// missing one, a top-level tenant, or another tenant's sub-account all
	// answer alike (404), as UQPay's sub_account_not_found.
	SlugNotFound = "sub_account_not_found"
	// SlugNotAllowed: a sub-account asked to own or act for another
	// tenant (403): sub-accounts are one level deep.
	SlugNotAllowed = "sub_accounts_not_allowed"
)

// Header is the request header naming the sub-account a request acts for
// (UQPay's name); absent or empty, the key's own tenant acts.
const Header = "x-on-behalf-of"

// MaxName is the longest sub-account name, in bytes (a tenant's).
const MaxName = 200

// Store keeps sub-accounts. Every method names the parent: a parent
// reaches only its own sub-accounts. Implementations must be safe for
// concurrent use.
type Store interface {
	// CreateSubTenant stores t (t.ParentID set) and its events,
	// atomically; issuance.ErrNotFound when the parent does not exist.
	CreateSubTenant(ctx context.Context, t issuance.Tenant, events []kafka.Event) error
	// SubTenants lists a parent's sub-accounts, newest first.
	SubTenants(ctx context.Context, parentID string, p issuance.PageRequest) ([]issuance.Tenant, bool, error)
	// SubTenant returns the parent's sub-account id; issuance.ErrNotFound
	// when the parent has none with that id.
	SubTenant(ctx context.Context, parentID, id string) (issuance.Tenant, error)
}

// Request is what a sub-account is made from.
type Request struct {
	// Name is the sub-account's display name (UQPay's account_name).
	Name string `json:"name" required:"true" doc:"the sub-account's display name, 1 to 200 characters (surrounding spaces trimmed); UQPay's account_name"`
}

// Service creates, lists and resolves sub-accounts. It holds no state of
// its own and is safe for concurrent use.
type Service struct {
	store Store
	d     issuance.Deps
}

// New returns a Service over store; d gives the clock and the logger.
func New(store Store, d issuance.Deps) *Service { return &Service{store: store, d: d.WithDefaults()} }

// notAllowed is the answer to a sub-account that asks to own or act for
// another tenant.
func notAllowed(t issuance.Tenant) error {
	return issuance.Errorf(SlugNotAllowed, "tenant %s is a sub-account: sub-accounts are one level deep and own or act for no other tenant", t.ID)
}

// errNotFound is the one answer to an id that names no sub-account of the
// parent, whatever it names (the id is not echoed: a header may hold
// anything).
func errNotFound() error {
	return &issuance.Error{Slug: SlugNotFound, Message: "no such sub-account of this tenant"}
}

// Create makes a sub-account of parent and publishes tenant.created (with
// its parent_id). The sub-account is in sandbox mode exactly when its
// parent is: a production tenant cannot reach the simulator through one.
// It has no API key: the parent acts for it with x-on-behalf-of (and may
// make it keys that way). Rejections: sub_accounts_not_allowed (parent is
// itself a sub-account), validation_failed (name).
func (s *Service) Create(ctx context.Context, parent issuance.Tenant, by issuance.Actor, r Request) (issuance.Tenant, error) {
	if parent.ParentID != "" {
		return issuance.Tenant{}, notAllowed(parent)
	}
	name := strings.TrimSpace(r.Name)
	var v issuance.Validator
	v.Check(name != "", "name", "required", "a sub-account needs a name")
	v.Check(len(name) <= MaxName, "name", "too_long", "at most 200 characters")
	if err := v.Err(); err != nil {
		return issuance.Tenant{}, err
	}
	now := s.d.UTCNow().Truncate(time.Microsecond) // as stored: the answer equals a later read
	t := issuance.Tenant{ID: issuance.NewID("ten", now), Name: name, Sandbox: parent.Sandbox, CreatedAt: now, ParentID: parent.ID}
	ev, err := kafka.NewEvent(kafka.TypeTenantCreated, t.ID, t.ID, kafka.TenantData{ID: t.ID, Name: t.Name, ParentID: parent.ID}, now)
	if err != nil {
		return issuance.Tenant{}, err
	}
	if err := s.store.CreateSubTenant(ctx, t, []kafka.Event{ev}); err != nil {
		return issuance.Tenant{}, err
	}
	s.d.Logger.Info("sub-account created", "tenant_id", t.ID, "parent_id", parent.ID, "api_key_id", by.APIKeyID, "request_id", by.RequestID)
	return t, nil
}

// List lists parent's sub-accounts, newest first. A sub-account has none:
// sub_accounts_not_allowed.
func (s *Service) List(ctx context.Context, parent issuance.Tenant, p issuance.PageRequest) ([]issuance.Tenant, bool, error) {
	if parent.ParentID != "" {
		return nil, false, notAllowed(parent)
	}
	var v issuance.Validator
	issuance.ValidatePage(&v, p, "ten")
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	return s.store.SubTenants(ctx, parent.ID, p)
}

// Get returns parent's sub-account id: sub_account_not_found when parent
// has none with that id, sub_accounts_not_allowed when parent is itself
// a sub-account.
func (s *Service) Get(ctx context.Context, parent issuance.Tenant, id string) (issuance.Tenant, error) {
	if parent.ParentID != "" {
		return issuance.Tenant{}, notAllowed(parent)
	}
	if !issuance.ValidID("ten", id) {
		return issuance.Tenant{}, errNotFound()
	}
	t, err := s.store.SubTenant(ctx, parent.ID, id)
	if errors.Is(err, issuance.ErrNotFound) {
		return issuance.Tenant{}, errNotFound()
	}
	return t, err
}

// ActFor resolves the x-on-behalf-of header of a request made with an API
// key of tenant by: the sub-account the request then acts as. The answers
// are Get's: a sub-account's key acts for no one (not its parent, not a
// sibling: sub_accounts_not_allowed, whatever the id), and any id that is
// not one of by's own sub-accounts is sub_account_not_found, the same for
// a missing, a top-level or another tenant's sub-account (no existence
// oracle).
func (s *Service) ActFor(ctx context.Context, by issuance.Tenant, id string) (issuance.Tenant, error) {
	return s.Get(ctx, by, id)
}
