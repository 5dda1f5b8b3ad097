package rest

import (
	"github.com/cardhost/cardhost/issuance/ca"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/reissue"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cardhost/cardhost/issuance"
)

// route is one entry of the route table that both fiber and the OpenAPI
// document are built from.
type route struct {
	method, path string
	handler      fiber.Handler
	op           operation
}

const (
	get   = fiber.MethodGet
	post  = fiber.MethodPost
	put   = fiber.MethodPut
	patch = fiber.MethodPatch
	del   = fiber.MethodDelete
)

// routeTable lists every route of the API, in the order fiber matches
// them: method, path, handler, OpenAPI operation. A new resource adds its
// lines here; its handlers and types live in the resource's own file.
func (s *Server) routeTable() []route {
	routes := []route{
		// Operations (health.go).
		{get, "/healthz", s.healthz, operation{ID: "healthz", Summary: "Liveness: the process is up", Tag: "operations", Public: true, Response: healthResponse{}}},
		{get, "/readyz", s.readyz, operation{ID: "readyz", Summary: "Readiness: PostgreSQL and Kafka reachable", Tag: "operations", Public: true, Response: readyResponse{}}},
		{get, "/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})), operation{ID: "metrics", Summary: "Prometheus metrics", Tag: "operations", Public: true, ContentType: "text/plain"}},
		{get, "/openapi.json", s.serveOpenAPI, operation{ID: "openapi", Summary: "This OpenAPI 3.1 document", Tag: "operations", Public: true, ContentType: "application/json"}},
		{get, "/docs", s.serveDocs, operation{ID: "apiDocs", Summary: "The API reference: this document as a readable page", Tag: "operations", Public: true, ContentType: "text/html",
			Query: []queryParam{{Name: "static", Type: "string", Doc: "any value: the reference rendered on the server alone, without the renderer's script"}}}},
		{get, "/", s.serveIndex, operation{ID: "apiIndex", Summary: "Where to start: links to the API reference and the OpenAPI document", Tag: "operations", Public: true, ContentType: "text/html"}},

		// The tenant and its API keys (tenant.go).
		{get, "/v1/tenant", s.getTenant, operation{ID: "getTenant", Summary: "The tenant the API key belongs to", Tag: "tenant", Response: tenantResponse{}}},
		{patch, "/v1/tenant", s.updateTenant, operation{ID: "updateTenant", Summary: "Change the tenant's settings: idempotency_policy, default_currency", Tag: "tenant",
			Request: catalog.TenantSettingsUpdate{}, Response: tenantResponse{}}},
		{get, "/v1/api-keys", s.listAPIKeys, operation{ID: "listAPIKeys", Summary: "List the tenant's API keys (never their secrets)", Tag: "tenant", Response: apiKeyList{}}},
		// Idempotent, but the secret is shown once: the idempotency table
		// keeps the answer without it, and a replay answers that.
		{post, "/v1/api-keys", s.createAPIKey, operation{ID: "createAPIKey", Summary: "Create another API key with scopes the calling key holds; the secret is shown once", Tag: "tenant",
			Idempotent: true, SecretOnce: true, Request: issuance.KeyRequest{}, Response: apiKeyResponse{}}},
		{post, "/v1/api-keys/:id/revoke", s.revokeAPIKey, operation{ID: "revokeAPIKey", Summary: "Revoke an API key at once", Tag: "tenant", Status: fiber.StatusNoContent}},
		{get, "/v1/bin-ranges", s.listBINRanges, operation{ID: "listBINRanges", Summary: "The tenant's BIN ranges, assigned by the operator: templates' IINs and imported PANs must lie in them", Tag: "tenant",
			Response: binRangeList{}}},
	}

	// The host's records (authorization.go), when wired.
	if s.deps.Authorizations != nil {
		routes = append(routes,
			route{get, "/v1/cards/:id/authorizations", s.listCardAuthorizations, operation{ID: "listCardAuthorizations", Tag: "authorizations",
				Summary: "A card's authorizations, captures and reversals, newest first", Response: authorizationList{}, Query: pageQueryParams}},
			route{get, "/v1/authorizations/:id", getValid(issuance.AuthorizationIDPrefix, s.deps.Authorizations.TenantAuthorization, viewAuthorization), operation{ID: "getAuthorization", Tag: "authorizations",
				Summary: "One authorization, capture or reversal", Response: authorizationView{}}},
			route{get, "/v1/cards/:id/spend", getValid(issuance.CardIDPrefix, s.deps.Authorizations.TenantCard, s.spendNow), operation{ID: "getCardSpend", Tag: "authorizations",
				Summary: "What a card spent and has available against its card limit and each spending control", Response: spendView{}}},
		)
		// The ISO 8583 simulator (authorization.go), when wired.
		if s.deps.Simulator != nil {
			routes = append(routes,
				route{post, "/v1/simulator/authorizations", s.simulateAuthorization, operation{ID: "simulateAuthorization", Tag: "simulator", SandboxOnly: true, Idempotent: true,
					Summary: "Send an ISO 8583 authorization for a card through the host's own TCP port", Request: SimAuthorization{}, Response: authorizationView{}}},
				route{post, "/v1/simulator/authorizations/:id/capture", simulateOnAuthorization(checkCapture, s.simulateCapture), operation{ID: "simulateCapture", Tag: "simulator", SandboxOnly: true, Idempotent: true,
					Summary: "Send an 0220 capture of an authorization", Request: simCaptureRequest{}, Response: authorizationView{}}},
				route{post, "/v1/simulator/authorizations/:id/reversal", simulateOnAuthorization(checkReversal, s.simulateReversal), operation{ID: "simulateReversal", Tag: "simulator", SandboxOnly: true, Idempotent: true,
					Summary: "Send an 0400 reversal (full, or partial with remaining_amount) of an authorization", Request: simReversalRequest{}, Response: authorizationView{}}},
				route{post, "/v1/simulator/authorizations/:id/clearing", simulateOnAuthorization(checkClearing, s.simulateClearing), operation{ID: "simulateClearing", Tag: "simulator", SandboxOnly: true, Idempotent: true,
					Summary: "Clear an authorization through the clearing path: a presentment (more than held for a tip), a refund or a reversal", Request: SimClearing{}, Response: authorizationView{}}},
				route{post, "/v1/simulator/authorizations/:id/expire", simulateOnAuthorization(func(*issuance.Validator, simExpireRequest) {}, s.simulateExpiry), operation{ID: "simulateExpiry", Tag: "simulator", SandboxOnly: true, Idempotent: true,
					Summary: "Expire a funded card's hold now, as the hold expiry job does when it is due (ledger.hold_expired); answers the authorization", Request: simExpireRequest{}, Response: authorizationView{}}},
			)
		}
	}

	// Webhook endpoints and events (webhook.go), when wired.
	routes = append(routes, s.webhookRoutes()...)
	// Money (ledger.go), when wired.
	routes = append(routes, s.ledgerRoutes()...)
	// Sub-accounts (subaccount.go), when wired.
	routes = append(routes, s.subAccountRoutes()...)

	return append(routes, []route{
		// Card batches (batch.go).
		{post, "/v1/card-batches", s.createCardBatch, operation{ID: "createCardBatch", Summary: "Issue up to 1000 cards asynchronously (202; a repeated request_id answers the first batch with 200)", Tag: "card-batches",
			Idempotent: true, Status: fiber.StatusAccepted, Request: batchRequestDoc{}, Response: batchView{}}},
		{get, "/v1/card-batches", listHandler(s.deps.Service, noFilter, (*issuance.Service).Batches, viewBatch), operation{ID: "listCardBatches", Summary: "List card batches, newest first", Tag: "card-batches",
			Response: batchList{}, Query: pageQueryParams}},
		{get, "/v1/card-batches/:id", getHandler(s.deps.Service, (*issuance.Service).Batch, viewBatch), operation{ID: "getCardBatch", Summary: "Get a card batch with per-item results", Tag: "card-batches", Response: batchView{}}},

		// Cards (card.go).
		{post, "/v1/cards", createCardHandler(s, (*issuance.Service).CreateCard), operation{ID: "createCard", Summary: "Create a card (data prep; plastics go to the embosser, virtual cards are active at once)", Tag: "cards",
			Idempotent: true, Request: issuance.CardRequest{}, Response: cardCreated{}}},
		{post, "/v1/cards/import", createCardHandler(s, (*issuance.Service).ImportCard), operation{ID: "importCard", Summary: "Import a card from another processor (portfolio migration; no embossing)", Tag: "cards",
			Idempotent: true, Request: issuance.ImportRequest{}, Response: cardCreated{}}},
		{get, "/v1/cards", listHandler(s.deps.Service, cardFilterOf, (*issuance.Service).Cards, viewCard), operation{ID: "listCards", Summary: "List cards, newest first", Tag: "cards",
			Response: cardList{}, Query: append(append([]queryParam{}, pageQueryParams...), cardFilterQuery...)}},
		{get, "/v1/cards/:id", getHandler(s.deps.Service, (*issuance.Service).Card, viewCard), operation{ID: "getCard", Summary: "Get a card", Tag: "cards", Response: cardView{}}},
		{patch, "/v1/cards/:id", withCard(s.updateCard), operation{ID: "updateCard", Summary: "Change a card's controls, metadata, expiry_at or (before embossing) printed name", Tag: "cards",
			Request: cardPatch{}, Response: cardView{}}},
		{post, "/v1/cards/:id/freeze", s.changeCardStatus(issuance.ActionFreeze), statusMove.named("freezeCard", "Freeze an ACTIVE card (reversible; card.frozen)")},
		{post, "/v1/cards/:id/unfreeze", s.changeCardStatus(issuance.ActionUnfreeze), statusMove.named("unfreezeCard", "Unfreeze a FROZEN card (card.unfrozen)")},
		{post, "/v1/cards/:id/block", s.changeCardStatus(issuance.ActionBlock), statusMove.named("blockCard", "Block a card for good: lost, stolen, fraud or other (card.blocked)")},
		{post, "/v1/cards/:id/cancel", s.changeCardStatus(issuance.ActionCancel), statusMove.named("cancelCard", "Cancel a card (card.canceled); a card not yet issued leaves embossing")},
		{post, "/v1/cards/:id/activate", s.changeCardStatus(issuance.ActionActivate), statusMove.named("activateCard", "Activate a plastic made by its embosser that waits for activation: PROVISIONED -> ACTIVE (card.activated, order.completed)")},
		{post, "/v1/cards/:id/pin", withCard(s.setCardPIN), operation{ID: "setCardPIN", Summary: "Set the card's PIN from a format 4 PIN block under the ECDH-agreed key (card.pin_changed)", Tag: "cards",
			Idempotent: true, Status: fiber.StatusOK, Request: issuance.PINSetRequest{}, Response: cardView{}}},
		{post, "/v1/cards/:id/cvv2-tries/reset", s.resetCVV2Tries, operation{ID: "resetCardCVV2Tries", Tag: "cards", Idempotent: true, Status: fiber.StatusOK, Response: cardView{},
			Summary: "Reset the card's count of consecutive wrong CVV2s: its card-not-present requests are decided again (audited; card.cvv2_tries_reset)"}},
		{post, "/v1/cards/:id/cvv2/rotate", s.rotateCVV2, operation{ID: "rotateCardCVV2", Tag: "cards", Idempotent: true, Status: fiber.StatusOK, Response: cardView{},
			Summary: "Give the card a new dynamic CVV2 now (the CVV2 becomes dynamic; card.cvv2_rotated)"}},
		{post, "/v1/cards/:id/reissue", s.reissueCard, operation{ID: "reissueCard", Tag: "cards", Idempotent: true, Status: fiber.StatusCreated, Request: reissue.Request{}, Response: cardView{},
			Summary: "Reissue a card: a new card with a new PAN, or the same PAN and a new expiry; the old card is closed (card.reissued)"}},
		{get, "/v1/cards/:id/audit-trail", s.getCardAuditTrail, operation{ID: "getCardAuditTrail", Summary: "Who accessed the card's data or reset its CVV2 tries: reveals, sandbox exports and PINs, resets, oldest first", Tag: "cards",
			Response: auditTrailView{}}},
		// Not idempotent on purpose: a stored replay would keep the PAN and
		// CVV2 in the idempotency table. Each call is audited.
		{post, "/v1/cards/:id/reveal", cardSecret(s, (*issuance.Service).RevealCard, revealOf), operation{ID: "revealCard", Summary: "Reveal PAN, CVV2 and expiry (sandbox, or an API key with the reveal scope; audited)", Tag: "cards",
			Status: fiber.StatusOK, Response: revealView{}}},

		// The catalog (catalog.go): data prep templates, embossers, card
		// layouts, card products.
		{post, "/v1/data-prep-templates", createHandler(s.deps.Catalog, templateRequest.template, (*catalog.Service).CreateTemplate, same), operation{ID: "createDataPrepTemplate", Summary: "Create a data prep template (IIN, network, CVN, AID, key references)", Tag: "catalog",
			Idempotent: true, Request: templateRequest{}, Response: issuance.Template{}}},
		{get, "/v1/data-prep-templates", listHandler(s.deps.Catalog, noFilter, (*catalog.Service).Templates, same), operation{ID: "listDataPrepTemplates", Summary: "List the tenant's data prep templates", Tag: "catalog",
			Response: templateList{}, Query: pageQueryParams}},
		{get, "/v1/data-prep-templates/:id", getHandler(s.deps.Catalog, (*catalog.Service).Template, same), operation{ID: "getDataPrepTemplate", Summary: "Get a data prep template", Tag: "catalog", Response: issuance.Template{}}},
		{post, "/v1/embossers", createHandler(s.deps.Catalog, embosserRequest.embosser, (*catalog.Service).CreateEmbosser, same), operation{ID: "createEmbosser", Summary: "Create an embosser (LOOPBACK)", Tag: "catalog",
			Idempotent: true, Request: embosserRequest{}, Response: issuance.Embosser{}}},
		{get, "/v1/embossers", listHandler(s.deps.Catalog, noFilter, (*catalog.Service).Embossers, same), operation{ID: "listEmbossers", Summary: "List the tenant's embossers", Tag: "catalog", Response: embosserList{}, Query: pageQueryParams}},
		{get, "/v1/embossers/:id", getHandler(s.deps.Catalog, (*catalog.Service).Embosser, same), operation{ID: "getEmbosser", Summary: "Get an embosser", Tag: "catalog", Response: issuance.Embosser{}}},
		{post, "/v1/card-layouts", createHandler(s.deps.Catalog, layoutRequest.layout, (*catalog.Service).CreateLayout, same), operation{ID: "createCardLayout", Summary: "Create a card layout", Tag: "catalog",
			Idempotent: true, Request: layoutRequest{}, Response: issuance.Layout{}}},
		{get, "/v1/card-layouts", listHandler(s.deps.Catalog, noFilter, (*catalog.Service).Layouts, same), operation{ID: "listCardLayouts", Summary: "List the tenant's card layouts", Tag: "catalog", Response: layoutList{}, Query: pageQueryParams}},
		{get, "/v1/card-layouts/:id", getHandler(s.deps.Catalog, (*catalog.Service).Layout, same), operation{ID: "getCardLayout", Summary: "Get a card layout", Tag: "catalog", Response: issuance.Layout{}}},
		{post, "/v1/card-products", createHandler(s.deps.Catalog, productRequest.product, (*catalog.Service).CreateProduct, same), operation{ID: "createCardProduct", Summary: "Create a card product from a layout, a data prep template and an embosser", Tag: "catalog",
			Idempotent: true, Request: productRequest{}, Response: issuance.Product{}}},
		{get, "/v1/card-products", listHandler(s.deps.Catalog, productFilterOf, (*catalog.Service).Products, same), operation{ID: "listCardProducts", Summary: "List the tenant's card products", Tag: "catalog", Response: productList{},
			Query: append([]queryParam{{Name: "status", Type: "string", Doc: "ACTIVE or INACTIVE"}}, pageQueryParams...)}},
		{get, "/v1/card-products/:id", getHandler(s.deps.Catalog, (*catalog.Service).Product, same), operation{ID: "getCardProduct", Summary: "Get a card product", Tag: "catalog", Response: issuance.Product{}}},
		{patch, "/v1/card-products/:id", s.updateCardProduct, operation{ID: "updateCardProduct", Summary: "Change a card product's defaults (they apply to cards created afterwards)", Tag: "catalog",
			Request: productPatch{}, Response: issuance.Product{}}},

		// Cardholders (catalog.go).
		{post, "/v1/cardholders", createHandler(s.deps.Catalog, cardholderRequest.cardholder, (*catalog.Service).CreateCardholder, same), operation{ID: "createCardholder", Summary: "Create a cardholder (KYC starts PENDING)", Tag: "cardholders",
			Idempotent: true, Request: cardholderRequest{}, Response: issuance.Cardholder{}}},
		{get, "/v1/cardholders", listHandler(s.deps.Catalog, cardholderFilterOf, (*catalog.Service).Cardholders, same), operation{ID: "listCardholders", Summary: "List the tenant's cardholders", Tag: "cardholders", Response: cardholderList{},
			Query: append([]queryParam{{Name: "kyc_status", Type: "string", Doc: "PENDING, VERIFIED or REJECTED"}}, pageQueryParams...)}},
		{get, "/v1/cardholders/:id", getHandler(s.deps.Catalog, (*catalog.Service).Cardholder, same), operation{ID: "getCardholder", Summary: "Get a cardholder", Tag: "cardholders", Response: issuance.Cardholder{}}},
		{patch, "/v1/cardholders/:id", s.updateCardholder, operation{ID: "updateCardholder", Summary: "Change a cardholder (identity changes send a VERIFIED cardholder back to PENDING)", Tag: "cardholders",
			Request: cardholderPatch{}, Response: issuance.Cardholder{}}},
		{post, "/v1/simulator/cardholders/:id/verify", s.simulateKYC(issuance.KYCVerified), kycResult.named("simulateCardholderVerified", "Simulate a successful KYC check (PENDING or REJECTED -> VERIFIED)")},
		{post, "/v1/simulator/cardholders/:id/reject", s.simulateKYC(issuance.KYCRejected), kycResult.named("simulateCardholderRejected", "Simulate a failed KYC check (-> REJECTED)")},

		// Issuer certificates and the HSM public key (certificate.go).
		{post, "/v1/certificates", createHandler(s.deps.CA, certificateRequest.csr, (*ca.Service).CreateCertificate, certificateOut), operation{ID: "createCertificate", Summary: "Import an issuer CSR: issue an ECC P-256 certificate valid 90 days", Tag: "certificates",
			Idempotent: true, Request: certificateRequest{}, Response: certificateResponse{}}},
		{get, "/v1/certificates", listHandler(s.deps.CA, noFilter, (*ca.Service).Certificates, certificateOut), operation{ID: "listCertificates", Summary: "List the tenant's issuer certificates", Tag: "certificates",
			Response: certificateList{}, Query: pageQueryParams}},
		{get, "/v1/certificates/:id", getHandler(s.deps.CA, (*ca.Service).Certificate, certificateOut), operation{ID: "getCertificate", Summary: "Get an issuer certificate", Tag: "certificates", Response: certificateResponse{}}},
		{get, "/v1/hsm/public-key", s.getHSMPublicKey, operation{ID: "getHSMPublicKey", Summary: "The HSM's ECDH P-256 public key for PIN encryption", Tag: "certificates",
			Response: hsmPublicKeyResponse{}}},

		// Card orders (order.go).
		{get, "/v1/orders", listHandler(s.deps.Service, orderFilterOf, (*issuance.Service).Orders, viewOrder), operation{ID: "listOrders", Summary: "List card orders, newest first", Tag: "orders", Response: orderList{},
			Query: append(append([]queryParam{}, pageQueryParams...),
				queryParam{Name: "status", Type: "string", Doc: "new, processing, completed or failed"},
				queryParam{Name: "card_id", Type: "string", Doc: "the orders of this card"},
				queryParam{Name: "batch_id", Type: "string", Doc: "the orders of this batch"})}},
		{get, "/v1/orders/:id", getHandler(s.deps.Service, (*issuance.Service).Order, viewOrder), operation{ID: "getOrder", Summary: "Get a card order", Tag: "orders", Response: orderView{}}},

		// The tenant's request-signing key (signature_key.go).
		{put, "/v1/tenant/signing-key", s.putSigningKey, operation{ID: "putSigningKey", Summary: "Register or replace the tenant's request-signing public key (RFC 9421)", Tag: "tenant",
			Request: signingKeyRequest{}, Response: ca.SigningKey{}}},
		{get, "/v1/tenant/signing-key", s.getSigningKey, operation{ID: "getSigningKey", Summary: "The tenant's request-signing public key", Tag: "tenant", Response: ca.SigningKey{}}},
		{del, "/v1/tenant/signing-key", s.deleteSigningKey, operation{ID: "deleteSigningKey", Summary: "Remove the signing key: requests need no signature afterwards", Tag: "tenant", Status: fiber.StatusNoContent}},

		// The sandbox card simulator (simulator_card.go).
		{patch, "/v1/simulator/cards/:id/issue", s.simulateEmbossing(true), embosserAnswer.named("simulateCardIssue", "Simulate the embosser issuing a card: PROVISIONED -> ACTIVE (card.activated, order.completed)")},
		{patch, "/v1/simulator/cards/:id/fail", s.simulateEmbossing(false), embosserAnswer.named("simulateCardFail", "Simulate the embosser failing a card: embossing_status FAILED, order failed (order.failed)")},
		// Not idempotent on purpose: nothing changes, and each export is audited.
		{post, "/v1/simulator/cards/:id/perso", cardSecret(s, (*issuance.Service).ExportPerso, persoOf), operation{ID: "exportCardPerso", Summary: "Export the card's personalisation record sealed under the tenant's sandbox transport key (audited)", Tag: "simulator",
			SandboxOnly: true, Status: fiber.StatusOK, Response: persoView{}}},
		// Not idempotent on purpose: the idempotency table would keep a hash
		// of the body, from which a 4-digit PIN is found at once.
		{post, "/v1/simulator/cards/:id/pin", withCard(s.simulateCardPIN), operation{ID: "simulateCardPIN", Summary: "Set the card's PIN from a clear test PIN (sandbox; card.pin_changed; kept sealed for the personalisation export)", Tag: "simulator",
			SandboxOnly: true, Status: fiber.StatusOK, Request: issuance.SimulatorPINRequest{}, Response: cardView{}}},
	}...)
}

// Operations that several routes share but for their id and summary.
var (
	statusMove     = operation{Tag: "cards", Idempotent: true, Status: fiber.StatusOK, Request: statusRequest{}, Response: cardView{}}
	kycResult      = operation{Tag: "simulator", Idempotent: true, SandboxOnly: true, Status: fiber.StatusOK, Response: issuance.Cardholder{}}
	embosserAnswer = operation{Tag: "simulator", SandboxOnly: true, Idempotent: true, Status: fiber.StatusAccepted, Response: cardView{}}
)

// registerRoutes registers the route table with fiber: public routes run
// the handler directly; others authenticate first, sandbox-only routes
// check the mode, and idempotent POSTs pass through the idempotency
// middleware.
func (s *Server) registerRoutes() {
	for _, r := range s.routeTable() {
		if r.op.Status == 0 && r.op.Idempotent && r.method == fiber.MethodPost {
			r.op.Status = fiber.StatusCreated
		}
		s.routes = append(s.routes, r)
		chain := []fiber.Handler{}
		if !r.op.Public {
			chain = append(chain, s.authMiddleware)
		}
		if r.op.SandboxOnly {
			chain = append(chain, s.sandboxOnly)
		}
		if r.op.Idempotent {
			chain = append(chain, s.idempotency(r.op.SecretOnce))
		}
		s.app.Add(r.method, r.path, append(chain, r.handler)...)
	}
	// The reference page's renderer: an asset of /docs, not an operation.
	s.app.Get(docsScriptPath, s.serveDocsScript)
}

func (s *Server) sandboxOnly(c *fiber.Ctx) error {
	if !s.cfg.Sandbox && !tenantOf(c).Sandbox {
		return &issuance.Error{Slug: issuance.SlugSandboxOnly, Message: "this endpoint exists only in sandbox mode"}
	}
	return c.Next()
}
