package issuance

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/cardhost/cardhost/kafka"
)

// Tenant is an issuer using cardhost: every object it owns carries its id,
// and it sees nothing of other tenants.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Sandbox   bool      `json:"sandbox"`
	CreatedAt time.Time `json:"created_at"`
	// SigningKeyPEM, when set, is the tenant's registered public key: every
	// request must then carry an RFC 9421 signature made with it.
	SigningKeyPEM string `json:"-"`
	// SigningKeyID is the keyid the tenant puts in Signature-Input.
	SigningKeyID string `json:"-"`
	// RateLimit is the tenant's request rate limit per second (0: default).
	RateLimit int `json:"-"`
	// ParentID is the tenant that owns this one as a sub-account ("" for
	// a top-level tenant; package issuance/subaccount).
	ParentID       string `json:"parent_id,omitempty"`
	TenantSettings        // what the tenant changes itself (PATCH /v1/tenant)
}

// TenantSettings are a tenant's own settings (catalog.UpdateTenantSettings
// documents and checks them; docs/api.md "Tenant settings").
type TenantSettings struct {
	IdempotencyPolicy string `json:"idempotency_policy" enum:"optional,required"`
	DefaultCurrency   string `json:"default_currency" doc:"ISO 4217 alpha code: the currency of a card product created without one (default USD)"`
}

// API key scopes.
const (
	// ScopeReveal allows POST /v1/cards/{id}/reveal outside sandbox mode.
	ScopeReveal = "reveal"
)

// Operator is the actor of the operator's commands (cardhost tenants
// create-key): it holds every scope.
var Operator = Actor{Scopes: []string{ScopeReveal}}

// APIKey is a tenant's bearer credential. Only its SHA-256 hash is stored;
// the secret is shown once, when it is created.
type APIKey struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	// Name says what the key is for (KeyRequest.Name).
	Name      string     `json:"name"`
	Prefix    string     `json:"prefix"`
	Hash      []byte     `json:"-"`
	Scopes    []string   `json:"scopes"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// HasScope reports whether the key carries scope s.
func (k APIKey) HasScope(s string) bool {
	for _, have := range k.Scopes {
		if have == s {
			return true
		}
	}
	return false
}

// FirstKeyName names the key a tenant is created with.
const FirstKeyName = "first key"

// MaxKeyName is the longest API key name, in characters.
const MaxKeyName = 64

// KeyRequest is what a new API key is made from.
type KeyRequest struct {
	// Name says what the key is for, so that an issuer can tell its keys
	// apart in listings before it revokes one: 1 to MaxKeyName printable
	// ASCII characters, surrounding spaces trimmed.
	Name string `json:"name" required:"true" doc:"what the key is for, shown in listings: 1-64 printable ASCII characters (surrounding spaces are trimmed)"`
	// Scopes the key carries beyond the default ones.
	Scopes []string `json:"scopes" enum:"reveal" doc:"extra scopes; reveal allows POST /v1/cards/{id}/reveal outside sandbox"`
}

// validate trims the name and checks the request's fields.
func (r *KeyRequest) validate() error {
	var v Validator
	r.Name = strings.TrimSpace(r.Name)
	v.Check(r.Name != "" && len(r.Name) <= MaxKeyName && printable(r.Name), "name", "invalid", "1-64 printable ASCII characters")
	checkScopes(&v, r.Scopes)
	return v.Err()
}

// checkHeld refuses scopes that by does not hold: a key cannot give
// another key more than it has itself.
func (r KeyRequest) checkHeld(by Actor) error {
	var fields []FieldError
	for i, sc := range r.Scopes {
		if !by.has(sc) {
			fields = append(fields, FieldError{Field: "scopes[" + strconv.Itoa(i) + "]", Code: "not_held", Message: "the calling key does not hold this scope"})
		}
	}
	if fields == nil {
		return nil
	}
	return &Error{Slug: SlugScopeNotHeld, Message: "an API key can only create keys with scopes it holds itself", Fields: fields}
}

// checkScopes records an error for each unknown scope.
func checkScopes(v *Validator, scopes []string) {
	for i, sc := range scopes {
		v.Check(sc == ScopeReveal, "scopes["+strconv.Itoa(i)+"]", "invalid", "unknown scope")
	}
}

// apiKeyPrefix starts every secret so that leaked keys are easy to find by
// secret scanners.
const apiKeyPrefix = "chk_"

// NewAPIKey returns a new random secret for tenantID and the APIKey record
// to store (holding only the hash).
func NewAPIKey(tenantID, name string, scopes []string, now time.Time) (secret string, key APIKey) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	secret = apiKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, APIKey{
		ID:        NewID("key", now),
		TenantID:  tenantID,
		Name:      name,
		Prefix:    secret[:len(apiKeyPrefix)+6],
		Hash:      HashAPIKey(secret),
		Scopes:    scopes,
		CreatedAt: now.UTC(),
	}
}

// HashAPIKey returns the stored form of an API key secret. API keys carry
// 256 random bits, so a plain SHA-256 is a safe, fast lookup hash.
func HashAPIKey(secret string) []byte {
	h := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	return h[:]
}

// LooksLikeAPIKey is a cheap syntax check done before any database query.
func LooksLikeAPIKey(secret string) bool {
	return strings.HasPrefix(secret, apiKeyPrefix) && len(secret) == len(apiKeyPrefix)+43
}

// TenantStore persists tenants and their API keys.
type TenantStore interface {
	// CreateTenant stores t with its first key and writes its events to the
	// outbox, atomically.
	CreateTenant(ctx context.Context, t Tenant, key APIKey, events []kafka.Event) error
	// Tenants lists every tenant, oldest first.
	Tenants(ctx context.Context) ([]Tenant, error)
	// Tenant returns one tenant; ErrNotFound when missing.
	Tenant(ctx context.Context, id string) (Tenant, error)
	// Authenticate returns the tenant and key for an API key hash; ErrNotFound
	// when no active (unrevoked) key has it.
	Authenticate(ctx context.Context, hash []byte) (Tenant, APIKey, error)
	// CreateAPIKey stores another key for an existing tenant.
	CreateAPIKey(ctx context.Context, key APIKey) error
	// APIKeys lists a tenant's keys (never their secrets).
	APIKeys(ctx context.Context, tenantID string) ([]APIKey, error)
	// RevokeAPIKey revokes a key at once; ErrNotFound when the tenant has no
	// such active key.
	RevokeAPIKey(ctx context.Context, tenantID, keyID string, at time.Time) error
	// SetSigningKey registers (or, with an empty pem, removes) the tenant's
	// request-signing public key.
	SetSigningKey(ctx context.Context, tenantID, pem, keyID, alg string) error
	// SetTenantSettings replaces a tenant's settings; ErrNotFound if none.
	SetTenantSettings(ctx context.Context, tenantID string, s TenantSettings) (Tenant, error)
}
