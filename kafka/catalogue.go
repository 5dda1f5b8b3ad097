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
	TypeCardInoperative       = "card.inoperative"
	TypeCardReissued          = "card.reissued"
	TypeCardCVV2Rotated       = "card.cvv2_rotated"
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
	// Money movements (issuance/ledger, docs/ledger.md).
	TypeLedgerDeposit       = "ledger.deposit"
	TypeLedgerFundingCredit = "ledger.funding_credit"
	TypeLedgerFundingDebit  = "ledger.funding_debit"
	TypeLedgerRecharge      = "ledger.recharge"
	TypeLedgerWithdraw      = "ledger.withdraw"
	TypeLedgerFee           = "ledger.fee"
	TypeLedgerHoldExpired   = "ledger.hold_expired"
	TypeLedgerCleared       = "ledger.cleared"
	TypeLedgerForcePosted   = "ledger.force_posted"
	TypeLedgerReissue       = "ledger.reissue"
)

// Event sources (the CloudEvents "source" attribute): the part of cardhost
// where the event happens.
const (
	SourceIssuance = "/cardhost/issuance" // REST API, card lifecycle, orders, certificates
	SourceHost     = "/cardhost/host"     // ISO 8583 authorization host
	SourceLedger   = "/cardhost/ledger"   // money movements: the REST money operations, hold expiry, clearing
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
	{TypeCardInoperative, SourceIssuance, "card id", reflect.TypeFor[CardData](), "a card's validity_period_hours ran out (valid_until passed): INOPERATIVE"},
	{TypeCardReissued, SourceIssuance, "card id", reflect.TypeFor[CardData](), "a card was reissued: published for the old card (reason reissued, replaced_by) and for the new one (replaces)"},
	{TypeCardCVV2Rotated, SourceIssuance, "card id", reflect.TypeFor[CardData](), "a card's dynamic CVV2 was rotated by the rotate call (never the CVV2 itself)"},
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
	{TypeLedgerDeposit, SourceLedger, "tenant id", reflect.TypeFor[MoneyData](), "a sandbox deposit credited the program balance"},
	{TypeLedgerFundingCredit, SourceLedger, "tenant id", reflect.TypeFor[MoneyData](), "an operator credited the program balance (cardhost funding credit)"},
	{TypeLedgerFundingDebit, SourceLedger, "tenant id", reflect.TypeFor[MoneyData](), "an operator debited the program balance (cardhost funding debit)"},
	{TypeLedgerRecharge, SourceLedger, "card id", reflect.TypeFor[MoneyData](), "money moved from the program balance to a PREPAID card"},
	{TypeLedgerWithdraw, SourceLedger, "card id", reflect.TypeFor[MoneyData](), "money moved from a PREPAID card back to the program balance"},
	{TypeLedgerFee, SourceLedger, "card id", reflect.TypeFor[MoneyData](), "a card's issue fee was debited from the program balance"},
	{TypeLedgerHoldExpired, SourceLedger, "card id", reflect.TypeFor[MoneyData](), "a hold was not posted in time and gave its money back"},
	{TypeLedgerCleared, SourceLedger, "card id", reflect.TypeFor[MoneyData](), "a clearing record was matched to its authorization and posted (or credited, for refunds and reversals)"},
	{TypeLedgerReissue, SourceLedger, "card id", reflect.TypeFor[MoneyData](), "a reissue moved a PREPAID card's available balance to its new card (subject: the new card)"},
	{TypeLedgerForcePosted, SourceLedger, "card id", reflect.TypeFor[MoneyData](), "a clearing record or capture that matched no live hold was posted anyway, flagged for review"},
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
