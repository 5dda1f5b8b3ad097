package rest

import (
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/bins"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/issuance/reissue"
	"github.com/cardhost/cardhost/issuance/subaccount"
	"github.com/cardhost/cardhost/issuance/webhook"
)

// opDoc is the reference text of one operation: its description, and the
// business problem slugs it can answer beyond those its shape implies
// (401 without a key, 404 for an id, 422 validation_failed for a body,
// idempotency conflicts...: openapi.go derives those). An operation may
// carry the same in its route's operation literal (Doc, Errors) instead.
type opDoc struct {
	Doc    string
	Errors []string
}

// operationDocs documents the operations of routes.go by operationId.
// TestOpenAPIReference fails, naming the operation, when one has no
// description.
var operationDocs = map[string]opDoc{
	"healthz":  {Doc: "Answers 200 while the process runs, without touching PostgreSQL or Kafka: a liveness probe. Use /readyz to decide whether to send traffic."},
	"readyz":   {Doc: "Runs every dependency check (PostgreSQL, the HSM's master key against the stored keys, the outbox lag) and answers 200 `ready` only when all pass, otherwise 503 `not_ready` with each check's error. Warnings (e.g. production on the embedded Kafka broker) never make it not ready."},
	"metrics":  {Doc: "Prometheus text exposition of the process, HTTP, ISO 8583, outbox and database metrics. Scrape it from inside your network: it needs no key."},
	"openapi":  {Doc: "The OpenAPI 3.1 document of this API, built from the same route table the server serves; `servers` names the address the request came to. `/docs` renders it for reading."},
	"apiDocs":  {Doc: "A readable reference of every operation of `/openapi.json`: descriptions, parameters, request and response examples and the problem answers each can give. Redoc (vendored, served from this address at `/docs/redoc-VERSION.standalone.js`; nothing is loaded from elsewhere) renders the document; without JavaScript the page shows the same reference rendered on the server, and `?static=1` serves that alone, with no script."},
	"apiIndex": {Doc: "Points to the API reference: a small page linking to `/docs`, `/openapi.json` and the health endpoints."},

	"getTenant":     {Doc: "Returns the tenant (issuer) that owns the calling API key: its id, name, whether it is a sandbox tenant and whether it signs its requests."},
	"updateTenant":  {Doc: "Changes the tenant's own settings. `idempotency_policy`: `optional` (default) or `required`, with which every operation that takes an Idempotency-Key (or x-idempotency-key) refuses a request without one, `400 idempotency_key_required`, before anything changes. `default_currency`: the ISO 4217 currency of a card product created without `currency` (default USD). Absent fields stay; answers the tenant.", Errors: []string{issuance.SlugNothingToUpdate}},
	"listAPIKeys":   {Doc: "Lists the tenant's API keys with their ids, names, scopes and status. Secrets are never shown again after creation: a lost key is revoked and replaced."},
	"createAPIKey":  {Doc: "Creates another API key for the calling tenant with at most the scopes the calling key holds. The secret is in this answer only; a replay with the same Idempotency-Key answers without it.", Errors: []string{issuance.SlugScopeNotHeld}},
	"listBINRanges": {Doc: "Lists the BIN ranges (IIN prefixes, 6 to 8 digits) the operator assigned to the tenant with `cardhost tenants add-bin`. The IINs of its data prep templates and the PANs it imports must lie in them; ranges never overlap between tenants."},
	"createSubAccount": {Doc: "Creates a sub-account of the calling tenant (UQPay's Create SubAccount): a tenant of its own, with its own catalog, cards, keys, balances and events, in its parent's mode. It has no API key: the parent acts for it by sending its `id` in the `x-on-behalf-of` header with any request (and may make it keys that way). Its data prep templates may use the parent's BIN ranges. One level deep: a sub-account cannot create one.",
		Errors: []string{subaccount.SlugNotAllowed}},
	"listSubAccounts": {Doc: "Lists the calling tenant's sub-accounts, newest first (UQPay's List Connected Accounts): their ids are the values of the `x-on-behalf-of` header.", Errors: []string{subaccount.SlugNotAllowed}},
	"getSubAccount":   {Doc: "Returns one of the calling tenant's sub-accounts. Any other id, another tenant's sub-account included, answers 404 `sub_account_not_found`.", Errors: []string{subaccount.SlugNotFound, subaccount.SlugNotAllowed}},
	"revokeAPIKey":    {Doc: "Revokes an API key of the tenant at once: requests with it answer 401 from then on. A key cannot be restored; create another."},

	"listCardAuthorizations": {Doc: "Lists the card's ISO 8583 records (authorizations, captures, reversals), newest first, with the response code, the reason slug and the amounts held.", Errors: []string{issuance.SlugCardNotFound}},
	"getAuthorization":       {Doc: "Returns one authorization, capture or reversal record by id, with its decision (response code and reason slug), amounts and the original it refers to."},
	"getCardSpend":           {Doc: "Returns what the card spent in each spending control's current window and against its card limit, and what remains available.", Errors: []string{issuance.SlugCardNotFound}},

	"simulateDeposit":     {Doc: "Sandbox mode only. Credits the tenant's program balance in a currency from its funding account, as a wire received would; answers the movement with the program balance before and after, and publishes `ledger.deposit`. In production the operator credits it with `cardhost funding credit`."},
	"simulateClearing":    {Doc: "Sandbox mode only. Clears an authorization through the host's clearing path, as a clearing file record would: a purchase presentment (for more than held: a tip, within the MCC's tolerance or flagged beyond it), a refund or a reversal; answers the authorization.", Errors: []string{issuance.SlugConflict}},
	"simulateExpiry":      {Doc: "Sandbox mode only. Expires a funded card's pending hold now, as the hold expiry job does when it is due: the money is available again, the authorization is EXPIRED and `ledger.hold_expired` is published.", Errors: []string{issuance.SlugConflict}},
	"listBalances":        {Doc: "Lists the tenant's program balance in each currency it has one: `available` (what SHARED cards and recharges can spend now), `pending` (held by authorizations) and `posted`."},
	"rechargeCard":        {Doc: "Moves money from the program balance (in the card's currency) to a PREPAID card's own balance, in one transaction; answers the transfer with the card's balance before and after and both balances, and publishes `ledger.recharge`.", Errors: []string{ledger.SlugCardNotPrepaid, issuance.SlugCardClosed, issuance.SlugInsufficientFunds}},
	"withdrawCard":        {Doc: "Moves money from a PREPAID card's available balance back to the program balance; answers the transfer with the card's balance before and after, and publishes `ledger.withdraw`. Possible whatever the card's status.", Errors: []string{ledger.SlugCardNotPrepaid, issuance.SlugInsufficientFunds}},
	"getCardBalance":      {Doc: "Returns what a funded card can spend: a PREPAID card's own balance, or for a SHARED card the program balance in its currency. LIMIT cards have no balance (their limits are in `/spend`).", Errors: []string{ledger.SlugCardNotFunded}},
	"listLedgerTransfers": {Doc: "Lists the tenant's ledger transfers, newest first: deposits, funding, recharges, withdrawals, fees, and the holds, posts, voids, expiries and postings of authorizations and clearing. Filter by card, account, kind and creation time."},
	"getSettlementReport": {Doc: "Returns the settlement of a day (UTC) per currency from the clearing records imported that day: presentments, refunds and reversals (count and amount), unmatched records, and the net owed to the networks."},

	"simulateAuthorization": {Doc: "Sandbox mode only. Builds an ISO 8583 0100 for the card (track 2 or chip data from its personalisation) and sends it through the host's own TCP port, as an acquirer would; answers the resulting record.", Errors: []string{issuance.SlugCardNotFound}},
	"simulateCapture":       {Doc: "Sandbox mode only. Sends an 0220 advice capturing (part of) an approved authorization through the host's TCP port; answers the capture record."},
	"simulateReversal":      {Doc: "Sandbox mode only. Sends an 0400 reversal of an authorization through the host's TCP port: full, or partial with `remaining_amount` (the amount that stays authorized); answers the reversal record."},

	"createCardBatch": {Doc: "Queues up to 1000 cards of one product for issuance and answers 202 with the batch; items are created in the background and the batch shows each item's card or error. A `request_id` already used answers the first batch with 200.", Errors: []string{issuance.SlugProductNotFound, issuance.SlugProductNotActive, issuance.SlugRequestIDReused}},
	"listCardBatches": {Doc: "Lists the tenant's card batches, newest first, with their progress."},
	"getCardBatch":    {Doc: "Returns a card batch with the result of each item: the card created, or the problem slug that stopped it."},

	"createCard":         {Doc: "Creates a card of a product: data prep generates the PAN, expiry, CVVs and chip keys from the product's template. A VIRTUAL card is ACTIVE at once; a PLASTIC card stays PROVISIONED until its embosser reports it issued.", Errors: []string{issuance.SlugProductNotFound, issuance.SlugProductNotActive, issuance.SlugCardholderNotFound, issuance.SlugCardholderNotReady, issuance.SlugReferenceIDTaken, issuance.SlugKeyNotConfigured}},
	"importCard":         {Doc: "Imports a card issued by another processor (portfolio migration) with its existing PAN, expiry, PAN sequence number, CVN and key reference, so that it keeps working; no embossing. The PAN must lie in one of the tenant's BIN ranges.", Errors: []string{issuance.SlugProductNotFound, bins.SlugPANOutside, issuance.SlugPANTaken, issuance.SlugReferenceIDTaken, issuance.SlugKeyNotConfigured}},
	"listCards":          {Doc: "Lists the tenant's cards, newest first; filter by status, product or reference_id. Cards show `last4` and a masked PAN only."},
	"getCard":            {Doc: "Returns a card with its status, controls, embossing status and masked PAN."},
	"updateCard":         {Doc: "Changes the card's spending and risk controls, card limit, metadata, `expiry_at` or, before embossing, its printed name. Send only the fields to change.", Errors: []string{issuance.SlugCardClosed, issuance.SlugPrintedNameLocked, issuance.SlugNothingToUpdate}},
	"freezeCard":         {Doc: "Moves an ACTIVE card to FROZEN: authorizations are declined (`card_frozen`) until it is unfrozen.", Errors: []string{issuance.SlugInvalidStatusTransition}},
	"unfreezeCard":       {Doc: "Moves a FROZEN card back to ACTIVE.", Errors: []string{issuance.SlugInvalidStatusTransition}},
	"blockCard":          {Doc: "Blocks a card for good with a reason (lost, stolen, fraud, other); authorizations answer 41, 43 or 62. A blocked card cannot be reactivated.", Errors: []string{issuance.SlugInvalidStatusTransition}},
	"activateCard":       {Doc: "Activates a PLASTIC card created with `activation_required` once its embosser made it (`embossing_status` ISSUED; its order waits with `issue_status` `activating`): PROVISIONED becomes ACTIVE and the order completes. Any other card answers `invalid_status_transition`.", Errors: []string{issuance.SlugInvalidStatusTransition}},
	"cancelCard":         {Doc: "Cancels a card (CANCELED, for good); a card not yet issued is taken out of embossing.", Errors: []string{issuance.SlugInvalidStatusTransition}},
	"setCardPIN":         {Doc: "Sets the card's PIN from an ISO format 4 PIN block enciphered under the key agreed with the HSM's ECDH key (the issuer certificate's key on the other side). The HSM keeps only verification data.", Errors: []string{issuance.SlugIncomingPEKNotFound, issuance.SlugPINBlockInvalid, issuance.SlugPINNotSupported, issuance.SlugCardClosed}},
	"resetCardCVV2Tries": {Doc: "Sets the card's count of consecutive wrong CVV2s back to zero, so that card-not-present authorizations declined `cvv2_tries_exceeded` (after the product's `cvv2_max_tries`) are decided again; audited, and published as `card.cvv2_tries_reset`.", Errors: []string{issuance.SlugCardNotFound}},
	"rotateCardCVV2":     {Doc: "Gives the card a new dynamic CVV2 now (Pismo's rotate call): the card's `cvv2_policy` becomes DYNAMIC if it was not, and its rotation counter moves on (docs/crypto.md, \"Dynamic CVV2\"). The previous CVV2 still verifies for 10 minutes; the reveal call shows the new one. Published as `card.cvv2_rotated` (never the CVV2).", Errors: []string{issuance.SlugCardClosed}},
	"reissueCard":        {Doc: "Reissues the card (docs/api.md, \"Reissue\"): a new card with a new PAN (replacement), or with `keep_pan` the same PAN, a new expiry and the next PAN sequence number (renewal). The new card takes the old card's product, cardholder, type, printed name, controls, metadata, addresses, embosser and lifecycle settings, and a PREPAID card's balance through a ledger transfer (`reissue`); plastics go to the embosser. The old card is CANCELED with reason `reissued` (a BLOCKED, EXPIRED or INOPERATIVE card keeps its status) and names the new one in `replaced_by`. Answers the new card.", Errors: []string{reissue.SlugAlreadyReissued, reissue.SlugNotReissuable}},
	"getCardAuditTrail":  {Doc: "Lists who accessed the card's secrets and when: reveals, sandbox personalisation exports and PIN changes, oldest first."},
	"revealCard":         {Doc: "Returns the full PAN, the CVV2 and the expiry (YYMM). Allowed to sandbox tenants and to API keys with the `reveal` scope; every call is written to the card's audit trail. Not idempotent on purpose: no copy of the answer is kept.", Errors: []string{issuance.SlugScopeNotHeld}},

	"createDataPrepTemplate": {Doc: "Creates a data prep template: the IIN (within one of the tenant's BIN ranges), network, CVN, AID, PAN length, service code and the references of the issuer master keys that cards of its products are derived from.", Errors: []string{bins.SlugIINOutside, issuance.SlugKeyNotConfigured}},
	"listDataPrepTemplates":  {Doc: "Lists the tenant's data prep templates (sandbox tenants get one per supported CVN)."},
	"getDataPrepTemplate":    {Doc: "Returns a data prep template."},
	"createEmbosser":         {Doc: "Creates an embosser that receives personalisation records encrypted under its transport key. LOOPBACK writes embossing files to the data folder and reports the card issued.", Errors: []string{issuance.SlugNoTransportKey}},
	"listEmbossers":          {Doc: "Lists the tenant's embossers."},
	"getEmbosser":            {Doc: "Returns an embosser."},
	"createCardLayout":       {Doc: "Creates a card layout: the artwork reference the embosser prints plastics with."},
	"listCardLayouts":        {Doc: "Lists the tenant's card layouts."},
	"getCardLayout":          {Doc: "Returns a card layout."},
	"createCardProduct":      {Doc: "Creates a card product from a layout, a data prep template and a default embosser, with the defaults its cards get: currency, card type, card limit, controls, validity.", Errors: []string{issuance.SlugLayoutNotFound, issuance.SlugTemplateNotFound, issuance.SlugEmbosserNotFound}},
	"listCardProducts":       {Doc: "Lists the tenant's card products; filter by status."},
	"getCardProduct":         {Doc: "Returns a card product."},
	"updateCardProduct":      {Doc: "Changes a product's status or defaults; cards already created keep theirs.", Errors: []string{issuance.SlugNothingToUpdate}},

	"createCardholder":           {Doc: "Creates a cardholder with the KYC fields; KYC starts PENDING, and cards need a VERIFIED cardholder.", Errors: []string{issuance.SlugReferenceIDTaken}},
	"listCardholders":            {Doc: "Lists the tenant's cardholders; filter by KYC status."},
	"getCardholder":              {Doc: "Returns a cardholder."},
	"updateCardholder":           {Doc: "Changes a cardholder. Changing identity fields sends a VERIFIED cardholder back to PENDING KYC.", Errors: []string{issuance.SlugNothingToUpdate}},
	"simulateCardholderVerified": {Doc: "Sandbox mode only. Completes the cardholder's KYC check successfully: PENDING or REJECTED becomes VERIFIED."},
	"simulateCardholderRejected": {Doc: "Sandbox mode only. Fails the cardholder's KYC check: the cardholder becomes REJECTED."},

	"createCertificate": {Doc: "Imports the issuer's certificate signing request (PKCS #10, ECC P-256, PEM base64-encoded) and answers the certificate cardhost's CA issued, valid 90 days, with the `hsm_key_reference` to use for PIN set."},
	"listCertificates":  {Doc: "Lists the tenant's issuer certificates."},
	"getCertificate":    {Doc: "Returns an issuer certificate with its PEM and validity."},
	"getHSMPublicKey":   {Doc: "Returns the HSM's ECDH P-256 public key (and its reference) that, with the issuer certificate's key, agrees the key PIN blocks are enciphered under.", Errors: []string{issuance.SlugKeyNotConfigured}},

	"listOrders": {Doc: "Lists card orders (one per card sent to an embosser), newest first; filter by status, card or batch."},
	"getOrder":   {Doc: "Returns a card order with its status, `issue_status` and the slug of its last error."},

	"putSigningKey":    {Doc: "Registers (or replaces) the tenant's public key for HTTP Message Signatures (RFC 9421). From then on every request must be signed over method, path, content-digest and idempotency-key."},
	"getSigningKey":    {Doc: "Returns the tenant's request-signing public key.", Errors: []string{issuance.SlugSigningKeyNotFound}},
	"deleteSigningKey": {Doc: "Removes the tenant's request-signing key: requests need no signature afterwards.", Errors: []string{issuance.SlugSigningKeyNotFound}},

	"simulateCardIssue": {Doc: "Sandbox mode only. Plays the embosser reporting the card issued: PROVISIONED becomes ACTIVE and the order completes. A card without plastic (VIRTUAL, TEMPORARY) was issued at creation: the call answers it unchanged (OffBlocks' walk calls it after every create).", Errors: []string{issuance.SlugInvalidEmbossingStatus}},
	"simulateCardFail":  {Doc: "Sandbox mode only. Plays the embosser failing the card: its embossing status becomes FAILED and the order fails. A card without plastic cannot fail embossing (`embossing_not_required`).", Errors: []string{issuance.SlugInvalidEmbossingStatus, issuance.SlugEmbossingNotRequired}},
	"exportCardPerso":   {Doc: "Sandbox mode only. Exports the card's personalisation record (track 2, CVV2, chip keys) sealed under the tenant's sandbox transport key, for termsim to act as the card. Audited.", Errors: []string{issuance.SlugNoTransportKey}},
	"simulateCardPIN":   {Doc: "Sandbox mode only. Sets the card's PIN from a clear test PIN; it is kept sealed for the personalisation export."},

	"createWebhookEndpoint":       {Doc: "Registers an HTTPS URL to receive the tenant's events of the given types (a type, or a group such as `card.*`), signed with the Standard Webhooks scheme (docs/webhooks.md). The `whsec_` secret is in this answer only; a replay with the same Idempotency-Key answers without it. Outside sandbox mode loopback, private and link-local addresses are refused.", Errors: []string{webhook.SlugEndpointLimit}},
	"listWebhookEndpoints":        {Doc: "Lists the tenant's webhook endpoints, newest first, with their event types and whether they are disabled (and why). Secrets are never shown again."},
	"getWebhookEndpoint":          {Doc: "Returns one webhook endpoint: URL, event types, description, disabled state and reason."},
	"updateWebhookEndpoint":       {Doc: "Changes the endpoint's URL, event types or description, or disables or enables it (`disabled`). Enabling an endpoint disabled after a 410 or five days of failures resumes its deliveries. Send only the fields to change."},
	"deleteWebhookEndpoint":       {Doc: "Deletes the endpoint; its pending deliveries are dropped and its past attempts stay readable under their events."},
	"rotateWebhookSecret":         {Doc: "Gives the endpoint a new `whsec_` secret, shown in this answer only. For 24 hours deliveries carry a signature under each secret (space-separated in `webhook-signature`), so the receiver can switch without losing one."},
	"recoverWebhookEndpoint":      {Doc: "Queues again, for this endpoint, every event of its types since `since` (within the 30 days events are kept) whose delivery to it failed or never succeeded; answers how many were queued.", Errors: []string{webhook.SlugEndpointDisabled}},
	"listEvents":                  {Doc: "Lists the tenant's events of the last 30 days, newest first, as CloudEvents; filter by type or group (`card.*`), card and creation time."},
	"getEvent":                    {Doc: "Returns one event as webhooks deliver it (CloudEvents JSON; the id is the `webhook-id` of every delivery)."},
	"listEventAttempts":           {Doc: "Lists every delivery attempt of the event: endpoint, time, HTTP status, duration and the error when it failed."},
	"putAuthorizationDecision":    {Doc: "Sets the URL the host POSTs to, for every authorization its own checks approved, to ask the tenant whether to approve it in real time (docs/webhooks.md, Authorization decisions): a request signed like a webhook delivery, answered `{\"approved\": bool, \"amount\"?, \"reason\"?}`. `timeout_ms` 100 to 3000 (default 2000); `default_action` APPROVE or DECLINE (default DECLINE) decides when no usable answer comes in time. The PUT that creates the endpoint answers its `whsec_` secret, in that answer only; later PUTs change the settings and keep it. The URL rules of webhook endpoints apply.", Errors: []string{issuance.SlugKeyNotConfigured}},
	"getAuthorizationDecision":    {Doc: "Returns the tenant's authorization decision endpoint: URL, timeout and default action (never its secret); 404 when it has none."},
	"deleteAuthorizationDecision": {Doc: "Removes the authorization decision endpoint: from the next request on, the host decides the tenant's authorizations alone (`decided_by: host`)."},
	"redeliverEvent":              {Doc: "Delivers the event again, now, to one endpoint (`endpoint_id`) or to every enabled endpoint subscribed to its type; the receiver sees the same `webhook-id`.", Errors: []string{webhook.SlugEndpointDisabled, webhook.SlugNotSubscribed}},
}

// tagDocs describes each tag of the document. TestOpenAPIReference fails,
// naming the tag, when an operation uses a tag without a description.
var tagDocs = map[string]string{
	"operations":     "Health, readiness, metrics and this reference: no API key needed.",
	"tenant":         "The calling tenant, its API keys and its request-signing key.",
	"cards":          "Cards: create, import, read, change controls, move between statuses, set the PIN, reveal.",
	"card-batches":   "Asynchronous issuance of many cards at once.",
	"catalog":        "What cards are made from: data prep templates, embossers, card layouts and card products.",
	"cardholders":    "Cardholders and their KYC status.",
	"certificates":   "Issuer certificates from cardhost's CA, and the HSM's public key for PIN set.",
	"orders":         "Card orders: each card's way through the embosser.",
	"authorizations": "What the ISO 8583 host decided for each card: authorizations, captures, reversals, spend.",
	"simulator":      "Sandbox mode only: play the acquirer, the embosser and the KYC provider.",
	"webhooks":       "Webhook endpoints: where cardhost POSTs the tenant's events, signed, at least once.",
	"events":         "The tenant's events of the last 30 days and their webhook delivery attempts.",
	"sub-accounts":   "Sub-accounts: tenants of their own that their parent creates, lists and acts for with the x-on-behalf-of header (UQPay's connected accounts).",
	"money":          "Balances and the ledger (docs/ledger.md): the program balance, PREPAID cards' balances, recharge and withdraw, transfers, settlement.",
}
