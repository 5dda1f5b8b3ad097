package webhook

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/kafka"
)

// EndpointIDPrefix starts every webhook endpoint id.
const EndpointIDPrefix = "whe"

// Limits of an endpoint's fields and of a tenant's endpoints.
const (
	MaxURL            = 2048
	MaxDescription    = 256
	MaxEventTypes     = 32
	MaxEndpoints      = 20             // per tenant
	SecretOverlap     = 24 * time.Hour // the old secret keeps signing after a rotation
	DefaultRetention  = 30 * 24 * time.Hour
	DefaultDisableAge = 5 * 24 * time.Hour // failing this long disables an endpoint
)

// Why an endpoint is disabled.
const (
	DisabledManual  = "manual"  // the tenant set disabled: true
	DisabledGone    = "gone"    // the endpoint answered 410 Gone
	DisabledFailing = "failing" // every delivery failed for DisableAfter
)

// Slugs of the rejections of this package (each has a status in
// issuance/rest's table).
const (
	// SlugEndpointDisabled: a redelivery or recovery to a disabled
	// endpoint (409); enable it first.
	SlugEndpointDisabled = "webhook_endpoint_disabled"
	// SlugNotSubscribed: a redelivery to an endpoint that does not
	// subscribe to the event's type (409).
	SlugNotSubscribed = "webhook_endpoint_not_subscribed"
	// SlugEndpointLimit: the tenant has MaxEndpoints already (409).
	SlugEndpointLimit = "webhook_endpoint_limit"
)

// Endpoint is a tenant's webhook endpoint: where its events are POSTed.
type Endpoint struct {
	ID       string `json:"id"`
	TenantID string `json:"-"`
	URL      string `json:"url" doc:"where events are POSTed"`
	// Description is the tenant's own note.
	Description string `json:"description"`
	// EventTypes are catalogue types ("card.frozen") or groups
	// ("authorization.*").
	EventTypes []string `json:"event_types"`
	Disabled   bool     `json:"disabled" doc:"no delivery is attempted while true"`
	// DisabledReason is manual, gone (410) or failing (5 days of failures).
	DisabledReason string     `json:"disabled_reason,omitempty" enum:"manual,gone,failing"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	// FailingSince is the first failed attempt since the last delivered one.
	FailingSince *time.Time `json:"failing_since,omitempty" doc:"the first failed attempt since the last delivered one; 5 days of failures disable the endpoint"`
	// PreviousSecretExpiresAt is when the secret replaced by the last
	// rotation stops signing (nil: no previous secret).
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty" doc:"until then deliveries carry a signature with the secret replaced by the last rotation too"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`

	// SealKeyRef is the HSM key that sealed the secrets; Sealed and
	// SealedPrevious are the current and previous secrets, sealed. Never
	// shown.
	SealKeyRef     string `json:"-"`
	Sealed         []byte `json:"-"`
	SealedPrevious []byte `json:"-"`
}

// Subscribes reports whether the endpoint wants events of type typ.
func (e Endpoint) Subscribes(typ string) bool { return Matches(e.EventTypes, typ) }

// Matches reports whether an event type matches one of patterns: the type
// itself, or its group ("card.*" for "card.frozen"). The SQL of the
// PostgreSQL store applies the same rule (split_part(type, '.', 1) || '.*').
func Matches(patterns []string, typ string) bool {
	group, _, _ := strings.Cut(typ, ".")
	return slices.Contains(patterns, typ) || slices.Contains(patterns, group+".*")
}

// ValidEventType reports whether p is a catalogue event type or a group
// of them ("card.*").
func ValidEventType(p string) bool {
	if g, ok := strings.CutSuffix(p, ".*"); ok {
		return slices.Contains(Groups(), g)
	}
	_, ok := kafka.Lookup(p)
	return ok
}

// Groups returns the groups of the event catalogue ("card",
// "authorization"...), in catalogue order.
func Groups() []string {
	var out []string
	for _, s := range kafka.Catalogue() {
		if g, _, _ := strings.Cut(s.Type, "."); !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// EndpointRequest creates an endpoint.
type EndpointRequest struct {
	URL         string   `json:"url" required:"true" doc:"https URL (http and private addresses only in sandbox mode), at most 2048 characters, no user info or fragment"`
	EventTypes  []string `json:"event_types" required:"true" doc:"1 to 32 event types of docs/events.md (card.frozen) or groups (card.*)"`
	Description string   `json:"description" doc:"at most 256 characters"`
}

// EndpointPatch changes an endpoint; absent members keep their value.
type EndpointPatch struct {
	URL         *string   `json:"url" doc:"a new URL, checked as at creation"`
	EventTypes  *[]string `json:"event_types" doc:"the new list of event types"`
	Description *string   `json:"description"`
	Disabled    *bool     `json:"disabled" doc:"true stops deliveries (pending ones fail); false enables the endpoint again (use recover to re-send what it missed)"`
}

// checkEventTypes validates and de-duplicates a list of event types.
func checkEventTypes(v *issuance.Validator, types []string) []string {
	if len(types) == 0 || len(types) > MaxEventTypes {
		v.Add("event_types", "invalid", "1 to "+strconv.Itoa(MaxEventTypes)+" event types")
		return nil
	}
	var out []string
	for i, t := range types {
		if !ValidEventType(t) {
			v.Add("event_types["+strconv.Itoa(i)+"]", "unknown", "an event type of docs/events.md, or a group of them such as card.*")
			continue
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// checkDescription validates a description: printable, at most
// MaxDescription characters.
func checkDescription(v *issuance.Validator, d string) {
	ok := utf8.ValidString(d) && utf8.RuneCountInString(d) <= MaxDescription
	for _, r := range d {
		if r < 0x20 || r == 0x7f {
			ok = false
		}
	}
	v.Check(ok, "description", "invalid", "at most 256 printable characters")
}
