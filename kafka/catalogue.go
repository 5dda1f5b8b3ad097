package kafka

import "reflect"

// Event types (the CloudEvents "type" attribute). The catalogue below says
// what each one carries.
const (
	TypeTenantCreated         = "tenant.created"
	TypeCardCreated           = "card.created"
	TypeCardActivated         = "card.activated"
	TypeCardFrozen            = "card.frozen"
	TypeCardUnfrozen          = "card.unfrozen"
	TypeCardBlocked           = "card.blocked"
	TypeCardCanceled          = "card.canceled"
	TypeCardExpired           = "card.expired"
	TypeCardControlsUpdated   = "card.controls_updated"
	TypeCardPINChanged        = "card.pin_changed"
	TypeCardCVV2TriesReset    = "card.cvv2_tries_reset"
	TypeAuthorizationApproved = "authorization.approved"
	TypeAuthorizationDeclined = "authorization.declined"
	TypeAuthorizationReversed = "authorization.reversed"
	TypeAuthorizationCaptured = "authorization.captured"
	TypeOrderCompleted        = "order.completed"
	TypeOrderFailed           = "order.failed"
	TypeCertificateCreated    = "certificate.created"
	TypeCertificateExpiring   = "certificate.expiring"
	// TypeWebhookEndpointDisabled: cardhost disabled a webhook endpoint
	// by itself (docs/webhooks.md).
	TypeWebhookEndpointDisabled = "webhook_endpoint.disabled"
	TypeMerchantBlocked         = "merchant.blocked"
)

// Event sources (the CloudEvents "source" attribute): the part of cardhost
// where the event happens.
const (
	SourceIssuance = "/cardhost/issuance" // REST API, card lifecycle, orders, certificates
	SourceHost     = "/cardhost/host"     // ISO 8583 authorization host
)

// Spec describes one event type of the catalogue.
type Spec struct {
	Type    string       // CloudEvents type, e.g. "card.frozen"
	Source  string       // CloudEvents source of every event of this type
	Subject string       // what the subject (and the record key) is
	Payload reflect.Type // the payload struct, e.g. CardData
	Doc     string       // when the event is published
}

// New returns a pointer to a new zero payload of the spec's type, ready to
// be decoded into.
func (s Spec) New() any { return reflect.New(s.Payload).Interface() }

// catalogue is the event catalogue: one row per event type, in the order of
// docs/events.md. Adding a type means adding a row here, a constant above and
// a section in docs/events.md (a test checks the docs).
var catalogue = []Spec{
	{TypeTenantCreated, SourceIssuance, "tenant id", reflect.TypeFor[TenantData](), "a tenant (issuer) was created"},
	{TypeCardCreated, SourceIssuance, "card id", reflect.TypeFor[CardData](), "a card was created or imported (status PROVISIONED, or ACTIVE for imports and sandbox)"},
	{TypeCardActivated, SourceIssuance, "card id", reflect.TypeFor[CardData](), "a card moved PROVISIONED -> ACTIVE"},
	{TypeCardFrozen, SourceIssuance, "card id", reflect.TypeFor[CardData](), "a card moved ACTIVE -> FROZEN"},
	{TypeCardUnfrozen, SourceIssuance, "card id", reflect.TypeFor[CardData](), "a card moved FROZEN -> ACTIVE"},
	{TypeCardBlocked, SourceIssuance, "card id", reflect.TypeFor[CardData](), "a card was blocked for good (reason lost, stolen, fraud or other)"},
	{TypeCardCanceled, SourceIssuance, "card id", reflect.TypeFor[CardData](), "a card was closed by the issuer, by a one-time card's trigger or by expiry_at"},
	{TypeCardExpired, SourceIssuance, "card id", reflect.TypeFor[CardData](), "a card passed its printed expiry"},
	{TypeCardControlsUpdated, SourceIssuance, "card id", reflect.TypeFor[CardData](), "a card's spending or risk controls or card_limit changed"},
	{TypeCardPINChanged, SourceIssuance, "card id", reflect.TypeFor[CardData](), "a card's PIN was set or changed (the PIN itself is never published)"},
	{TypeCardCVV2TriesReset, SourceIssuance, "card id", reflect.TypeFor[CardData](), "the issuer reset a card's count of consecutive wrong CVV2s"},
	{TypeAuthorizationApproved, SourceHost, "card id", reflect.TypeFor[AuthorizationData](), "an authorization or financial request was approved, fully or partially"},
	{TypeAuthorizationDeclined, SourceHost, "card id", reflect.TypeFor[AuthorizationData](), "an authorization or financial request for a known card was declined"},
	{TypeAuthorizationReversed, SourceHost, "card id", reflect.TypeFor[AuthorizationData](), "an authorization was reversed, fully or partially"},
	{TypeAuthorizationCaptured, SourceHost, "card id", reflect.TypeFor[AuthorizationData](), "an authorization was captured (completion advice)"},
	{TypeOrderCompleted, SourceIssuance, "card id, or order id when the order has no card", reflect.TypeFor[OrderData](), "a card order completed"},
	{TypeOrderFailed, SourceIssuance, "card id, or order id when the order has no card", reflect.TypeFor[OrderData](), "a card order failed"},
	{TypeCertificateCreated, SourceIssuance, "tenant id", reflect.TypeFor[CertificateData](), "an issuer certificate was issued from a CSR"},
	{TypeCertificateExpiring, SourceIssuance, "tenant id", reflect.TypeFor[CertificateData](), "an issuer certificate expires soon and should be rotated"},
	{TypeWebhookEndpointDisabled, SourceIssuance, "tenant id", reflect.TypeFor[WebhookEndpointData](), "cardhost disabled a webhook endpoint: it answered 410 Gone, or every delivery failed for 5 days"},
	{TypeMerchantBlocked, SourceHost, "acquirer id/merchant id", reflect.TypeFor[MerchantData](), "a merchant failed card-not-present verifications on many cards (a BIN attack): its card-not-present requests are declined for a while; one event per issuer whose cards it hit"},
}

// byType indexes the catalogue by type name.
var byType = func() map[string]Spec {
	m := make(map[string]Spec, len(catalogue))
	for _, s := range catalogue {
		m[s.Type] = s
	}
	return m
}()

// Lookup returns the catalogue entry for an event type.
func Lookup(typ string) (Spec, bool) {
	s, ok := byType[typ]
	return s, ok
}

// Catalogue returns every event type's spec, in catalogue order. The slice is
// a copy; changing it changes nothing.
func Catalogue() []Spec {
	out := make([]Spec, len(catalogue))
	copy(out, catalogue)
	return out
}
